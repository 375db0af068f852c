"""Which htslib deepamp links: pysam's (the default; zlib inflate) or a system htslib (libdeflate).

    python benchmarks/htslib_choice.py --system-python VENV/bin/python [--rounds 9]

``--system-python`` is an interpreter whose deepamp was built against the system htslib::

    apt-get install libhts-dev libdeflate-dev          # htslib built with libdeflate
    python3 -m venv VENV && VENV/bin/pip install scikit-build-core cython numpy cmake ninja pysam
    VENV/bin/pip install --no-build-isolation -C cmake.define.DEEPAMP_HTSLIB=system .

and this interpreter (``--pysam-python``, default: the one running this file) has the default
build.  Each round runs, back to back in rotating order, ``samtools view -c`` and ``deepamp count``
and ``deepamp call`` (1 thread) of both builds, on the 4 x 25,000-pair sample (benchmarks/datagen.py)
and the 48-amplicon panel at 25,000 pairs (benchmarks/panel.py); medians of the rounds and the
median of the paired ratios.  Before timing, both builds call each BAM once and the VCF bodies
and the count arrays must be identical (the choice of htslib must not change a number).

Results: ``results/htslib.json`` and ``results/htslib.md``, with the load average and the
libraries each build's extension links.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import datagen  # noqa: E402
from measure import run_timed, write_results  # noqa: E402

_WHICH = ("import deepamp, deepamp._core as c, deepamp._version as v; "
          "print(c.__file__); print(v.__version__)")


def _build_info(python: str, env: dict[str, str]) -> dict[str, str]:
    """The extension module's path and the htslib / inflate libraries it links (ldd)."""
    out = subprocess.run([python, "-c", _WHICH], capture_output=True, text=True, check=True, cwd="/",
                         env=env).stdout.split()
    so, version = out[0], out[1]
    ldd = subprocess.run(["ldd", so], capture_output=True, text=True).stdout
    libs = sorted({line.split()[0] for line in ldd.splitlines()
                   if any(k in line for k in ("hts", "deflate", "libz."))})
    if "hts" not in " ".join(libs):         # pysam's htslib is linked by file name
        libs = sorted({line.split()[0] for line in ldd.splitlines() if "chtslib" in line}) or libs
    return {"python": python, "extension": so, "version": version, "links": " ".join(libs)}


def _same_numbers(builds: dict[str, tuple[str, dict[str, str]]], bam: str, ref: str, bed: str, work: str) -> None:
    """Both builds' VCF bodies and count arrays are identical, or stop."""
    import numpy as np

    vcfs, counts = {}, {}
    for name, (python, env) in builds.items():
        vcf, npz = os.path.join(work, f"{name}.vcf"), os.path.join(work, f"{name}.npz")
        for cmd, out in (("call", vcf), ("count", npz)):
            subprocess.run([python, "-m", "deepamp", cmd, "-f", ref, "-l", bed, "-o", out, "--quiet", bam],
                           check=True, cwd="/", env=env)
        with open(vcf) as fh:
            vcfs[name] = [x for x in fh if not x.startswith("##")]
        with np.load(npz) as z:
            counts[name] = {k: z[k] for k in z.files}
    (a, va), (b, vb) = vcfs.items()
    if va != vb:
        raise SystemExit(f"{bam}: the {a} and {b} builds write different VCF records")
    ca, cb = counts.values()
    if ca.keys() != cb.keys() or any(not np.array_equal(ca[k], cb[k]) for k in ca if ca[k].dtype != object):
        raise SystemExit(f"{bam}: the {a} and {b} builds count differently")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--system-python", required=True, help="interpreter with deepamp built against a system htslib")
    ap.add_argument("--pysam-python", default=sys.executable, help="interpreter with the default build")
    ap.add_argument("--rounds", type=int, default=9)
    ap.add_argument("--out", default=os.path.join(HERE, "results"))
    args = ap.parse_args(argv)

    import panel

    # the system build's interpreter must not see a snapshot of the default build on PYTHONPATH
    # (benchmarks/run.sh puts one there)
    plain = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    builds = {"pysam htslib": (args.pysam_python, dict(os.environ)), "system htslib": (args.system_python, plain)}
    info = {name: _build_info(py, env) for name, (py, env) in builds.items()}
    if info["pysam htslib"]["extension"] == info["system htslib"]["extension"]:
        raise SystemExit("both interpreters load the same deepamp extension")
    ref, bed, _ = panel.build_panel(os.path.join(panel.DATA, "panel"))
    samples = {
        "4 amplicons x 25,000 pairs": (datagen.make_bam(25000)["bam"], datagen.REF, datagen.BED),
        "48-amplicon panel x 25,000 pairs": (panel.simulate_bam(ref, bed, panel.MAIN, f"panel_{panel.MAIN}"), ref, bed),
    }
    samtools = shutil.which("samtools")
    rss = os.path.join(datagen.DATA, "maxrss.txt")
    results: dict = {"builds": info, "rounds": args.rounds, "loadavg_start": os.getloadavg(), "samples": {}}
    for label, (bam, ref_, bed_) in samples.items():
        with tempfile.TemporaryDirectory() as work:
            _same_numbers(builds, bam, ref_, bed_, work)
        procs = {"samtools view -c": ([samtools, "view", "-c", bam], plain)} if samtools else {}
        for name, (python, env) in builds.items():
            for cmd in ("count", "call"):
                procs[f"deepamp {cmd} ({name})"] = ([python, "-m", "deepamp", cmd, "-f", ref_, "-l", bed_,
                                                      "-o", os.devnull, "--quiet", bam], env)
        times: dict[str, dict[str, list[float]]] = {k: {"wall": [], "cpu": []} for k in procs}
        keys = list(procs)
        for r in range(args.rounds):
            for k in keys[r % len(keys):] + keys[:r % len(keys)]:
                wall, cpu, _, _ = run_timed(*procs[k], rss)
                times[k]["wall"].append(wall)
                times[k]["cpu"].append(cpu)
        paired = {cmd: statistics.median(p / s for p, s in zip(times[f"deepamp {cmd} (pysam htslib)"]["wall"],
                                                                times[f"deepamp {cmd} (system htslib)"]["wall"]))
                  for cmd in ("count", "call")}
        results["samples"][label] = {"bam": bam, "times": times, "pysam_over_system_paired_wall": paired}
        print(label, {k: round(statistics.median(v["wall"]), 3) for k, v in times.items()}, flush=True)
    results["loadavg_end"] = os.getloadavg()

    la, lb = results["loadavg_start"], results["loadavg_end"]
    lines = ["# pysam's htslib or a system htslib with libdeflate", "",
             f"{args.rounds} rounds (order rotating), 1 thread, {os.cpu_count()} CPUs; load average "
             f"{la[0]:.2f} / {la[1]:.2f} / {la[2]:.2f} at start, {lb[0]:.2f} / {lb[1]:.2f} / {lb[2]:.2f} at end.", ""]
    for name, d in info.items():
        lines.append(f"* {name}: deepamp {d['version']}, `{os.path.basename(d['extension'])}` links {d['links']}")
    lines += ["", "Both builds wrote identical VCF records and count arrays on both samples.", ""]
    for label, s in results["samples"].items():
        sam = s["times"].get("samtools view -c")
        lines += [f"## {label}", "", "| process | wall s | CPU s | x samtools view -c (wall) |", "|---|---|---|---|"]
        for k, v in s["times"].items():
            w, c = statistics.median(v["wall"]), statistics.median(v["cpu"])
            x = f"{w / statistics.median(sam['wall']):.2f}" if sam else "-"
            lines.append(f"| {k} | {w:.3f} | {c:.3f} | {x} |")
        p = s["pysam_over_system_paired_wall"]
        lines += ["", f"pysam-htslib build / system-htslib build, paired median of wall times: count {p['count']:.2f}x, "
                      f"call {p['call']:.2f}x.", ""]
    write_results(args.out, "htslib", results, lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
