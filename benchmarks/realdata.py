"""Real reads through the whole deepamp pipeline: align (bwa, bowtie2), call, concordance,
and a pseudo-control background experiment.

Usage (from the checkout root)::

    PYTHONPATH=src python3 benchmarks/realdata.py [--testdata ../shared/testdata] [--work DIR]

Datasets (see ../shared/testdata/README.md; nothing is copied into the repository):

* ``pik3ca``: sfilges/umierrorcorrect2 sample P001, ~86k read pairs of PIK3CA amplicons
  (UMIs and primers at the 5' ends, adapter read-through at the 3' ends), reference
  contig ``3`` = GRCh38 chr3:179,147,514-179,240,693;
* ``mageri``: mikessh/mageri SPIKE1, ~22k read pairs of one 92-bp amplicon, ``refs.fa``
  with IUPAC codes.

Per dataset, every step runs as a ``python -m deepamp`` subprocess (wall time measured):

1. ``deepamp align`` with bwa and with bowtie2 (index built in the work directory's cache);
2. regions = the runs of reference positions with >= ``--min-depth`` counted bases in the
   bwa alignment (the datasets' BEDs list hotspot windows, not amplicons); mean depth there;
3. ``deepamp call`` (quality model, default options) on both BAMs and ``deepamp concordance``;
4. **pseudo-control experiment**: each BAM's read pairs are split into 5 parts by a hash of
   the read name; ``deepamp background`` learns from parts 0-3 and part 4 is called with
   and without ``--background``.  The parts are the same library, so this is not a real
   healthy-control background: a real variant present in every part is *in* the
   "controls" and is excluded from the background as a carrying control (see
   ``deepamp.models.background``), and every part shares the library's PCR errors.  The
   expectation checked is only that the background model does not call more than the
   quality model.

Writes ``benchmarks/results/realdata.json`` and ``benchmarks/results/realdata.md``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np
import pysam

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"
PARTS = 5

DATASETS = {
    "pik3ca": {"dir": "pik3ca_umi_amplicon", "ref": "ref.fa",
               "r1": "P001_start_R1_001.fastq.gz", "r2": "P001_start_R2_001.fastq.gz"},
    "mageri": {"dir": "mageri_amplicon", "ref": "refs.fa",
               "r1": "1_23_R1.fastq.gz", "r2": "1_23_R2.fastq.gz"},
}


def deepamp(*args: str) -> dict:
    """Run ``python -m deepamp ARGS``; wall time, exit code and stderr (a failure is a finding)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "deepamp", *args], env=env, capture_output=True, text=True)
    step = {"command": "deepamp " + " ".join(args), "seconds": round(time.perf_counter() - t0, 2),
            "exit": proc.returncode, "stderr": proc.stderr.strip().splitlines()[-6:]}
    if proc.returncode != 0:
        print(f"FAILED ({proc.returncode}): {step['command']}\n  {proc.stderr.strip()}", file=sys.stderr)
    return step


def covered_regions(bam: str, ref: str, min_depth: int, bed: Path) -> tuple[int, float]:
    """Write the runs of positions with >= min_depth counted bases as a BED; (bases, mean depth)."""
    from deepamp.counting.bam import count

    with pysam.FastaFile(ref) as fa:
        contigs = [f"{name}:1-{length}" for name, length in zip(fa.references, fa.lengths)]
    res = count(bam, contigs, reference=ref)
    depth = np.asarray(res.depth)
    keep = depth >= min_depth
    lines = []
    contig, pos = np.asarray(res.contig).astype(str), np.asarray(res.pos)
    start = None
    for i in range(len(pos) + 1):
        inside = i < len(pos) and keep[i] and (start is None or (contig[i] == contig[i - 1] and pos[i] == pos[i - 1] + 1))
        if start is not None and not inside:
            lines.append(f"{contig[start]}\t{pos[start]}\t{pos[i - 1] + 1}\n")
            start = None
        if i < len(pos) and keep[i] and start is None:
            start = i
    bed.write_text("".join(lines))
    return int(keep.sum()), float(depth[keep].mean()) if keep.any() else 0.0


def split_bam(bam: str, out_prefix: str) -> list[str]:
    """Split ``bam`` into PARTS BAMs by crc32(read name) % PARTS (mates stay together); indexed."""
    paths = [f"{out_prefix}.part{k}.bam" for k in range(PARTS)]
    with pysam.AlignmentFile(bam) as src:
        outs = [pysam.AlignmentFile(p, "wb", template=src) for p in paths]
        try:
            for read in src.fetch(until_eof=True):
                outs[zlib.crc32(read.query_name.encode()) % PARTS].write(read)
        finally:
            for o in outs:
                o.close()
    for p in paths:
        pysam.index(p)
    return paths


def vcf_calls(path: str) -> list[dict]:
    """The records of a VCF as small dicts (empty when the file is missing)."""
    if not os.path.isfile(path):
        return []
    out = []
    with pysam.VariantFile(path) as vf:
        for r in vf:
            d = {"chrom": r.chrom, "pos": r.pos, "ref": r.ref, "alt": r.alts[0],
                 "af": round(float(r.info["AF"][0] if isinstance(r.info.get("AF"), tuple) else r.info.get("AF", 0)), 5),
                 "dp": r.info.get("DP")}
            if "EVIDENCE" in r.info:
                d["evidence"] = r.info["EVIDENCE"]
            out.append(d)
    return out


def fastq_pairs(path: str) -> int:
    """Read count of a (gzip) FASTQ."""
    import gzip

    with gzip.open(path, "rt") as fh:
        return sum(1 for _ in fh) // 4


def run_dataset(name: str, spec: dict, testdata: Path, work: Path, threads: int, min_depth: int) -> dict:
    """All steps for one dataset; returns its JSON entry."""
    d = testdata / spec["dir"]
    ref, r1, r2 = str(d / spec["ref"]), str(d / spec["r1"]), str(d / spec["r2"])
    wd = work / name
    wd.mkdir(parents=True, exist_ok=True)
    cache = str(work / "index-cache")
    entry: dict = {"pairs": fastq_pairs(r1), "steps": {}, "calls": {}, "findings": []}

    def step(key: str, *args: str) -> bool:
        entry["steps"][key] = s = deepamp(*args)
        if s["exit"] != 0:
            entry["findings"].append({"command": s["command"], "exit": s["exit"],
                                      "message": s["stderr"][-1] if s["stderr"] else ""})
        return s["exit"] == 0

    bams = {}
    for aligner in ("bwa", "bowtie2"):
        bam = str(wd / f"{name}.{aligner}.bam")
        if step(f"align_{aligner}", "align", "-f", ref, "-1", r1, "-2", r2, "--aligner", aligner,
                "--threads", str(threads), "--index-cache", cache, "-o", bam):
            bams[aligner] = bam
    if "bwa" not in bams:
        return entry
    bed = wd / "covered.bed"
    t0 = time.perf_counter()
    entry["covered_bases"], entry["mean_depth"] = covered_regions(bams["bwa"], ref, min_depth, bed)
    entry["regions"] = bed.read_text().splitlines()
    entry["steps"]["regions"] = {"seconds": round(time.perf_counter() - t0, 2)}
    with pysam.AlignmentFile(bams["bwa"]) as fh:
        entry["mapped_reads_bwa"] = fh.mapped

    vcfs = {}
    for aligner, bam in bams.items():
        vcf = str(wd / f"{name}.{aligner}.quality.vcf")
        if step(f"call_quality_{aligner}", "call", "-f", ref, "-l", str(bed), "--threads", str(threads),
                "-o", vcf, bam):
            vcfs[aligner] = vcf
            entry["calls"][f"quality_{aligner}"] = vcf_calls(vcf)
    if len(vcfs) == 2:
        conc = str(wd / f"{name}.concordance.vcf")
        if step("concordance", "concordance", "--labels", "bwa,bowtie2", "-o", conc, vcfs["bwa"], vcfs["bowtie2"]):
            calls = vcf_calls(conc)
            entry["calls"]["concordance"] = calls
            entry["evidence"] = {k: sum(1 for c in calls if c["evidence"] == k) for k in ("strong", "weak", "none")}

    entry["pseudo_control"] = {}
    for aligner, bam in bams.items():
        t0 = time.perf_counter()
        parts = split_bam(bam, str(wd / f"{name}.{aligner}"))
        pc: dict = {"split_seconds": round(time.perf_counter() - t0, 2)}
        bg = str(wd / f"{name}.{aligner}.bg.npz")
        ok = step(f"background_{aligner}", "background", "-f", ref, "-l", str(bed), "--threads", str(threads),
                  "-o", bg, *parts[:PARTS - 1])
        if ok:
            from deepamp.models.background import load

            b = load(bg)
            pc["pooled_mismatch_rate"] = b.pooled_mismatch_rate
            pc["per_part_mismatch_rate"] = [c["mismatch_rate"] for c in b.meta["controls"]]
            pc["flat_vaf_threshold"] = b.flat_vaf_threshold
            pc["excluded_as_carrying"] = len(b.meta["excluded"])
        for mode, extra in (("quality", []), ("background", ["--background", bg])):
            if mode == "background" and not ok:
                continue
            vcf = str(wd / f"{name}.{aligner}.part{PARTS - 1}.{mode}.vcf")
            if step(f"call_part_{mode}_{aligner}", "call", "-f", ref, "-l", str(bed), "--threads", str(threads),
                    *extra, "-o", vcf, parts[-1]):
                pc[f"calls_{mode}"] = vcf_calls(vcf)
        entry["pseudo_control"][aligner] = pc
    return entry


def write_markdown(result: dict, path: Path) -> None:
    """A short human-readable summary of the JSON."""
    out = ["# Real reads: align, call, concordance, pseudo-control background",
           "", f"Run {result['date']} on {result['machine']} (commit {result['commit']}); "
           "produced by `benchmarks/realdata.py`, details in `realdata.json`.", ""]
    out += ["| dataset | pairs | covered bases | mean depth | quality calls bwa / bowtie2 | strong / weak / none |"
            " part 5 quality / background calls (bwa; bowtie2) | pooled mismatches per mapped base (bwa) |",
            "|---|---|---|---|---|---|---|---|"]
    for name, e in result["datasets"].items():
        q = e.get("calls", {})
        ev = e.get("evidence", {})
        pc = e.get("pseudo_control", {})

        def n(x):
            return "fail" if x is None else str(len(x))
        parts = "; ".join(f"{n(pc.get(a, {}).get('calls_quality'))} / {n(pc.get(a, {}).get('calls_background'))}"
                          for a in ("bwa", "bowtie2"))
        rate = pc.get("bwa", {}).get("pooled_mismatch_rate")
        out.append(f"| {name} | {e['pairs']} | {e.get('covered_bases', '-')} | {e.get('mean_depth', 0):.0f} | "
                   f"{n(q.get('quality_bwa'))} / {n(q.get('quality_bowtie2'))} | "
                   f"{ev.get('strong', '-')} / {ev.get('weak', '-')} / {ev.get('none', '-')} | {parts} | "
                   f"{'-' if rate is None else f'{rate:.5f}'} |")
    out += ["", "Wall times (s):", ""]
    for name, e in result["datasets"].items():
        out.append(f"- {name}: " + ", ".join(f"{k} {v['seconds']}" for k, v in e["steps"].items()))
    out += ["", "Concordance calls (quality model, whole sample; AF in the bwa / bowtie2 VCF):", ""]
    for name, e in result["datasets"].items():
        calls = e.get("calls", {}).get("concordance", [])
        afs = {a: {(c["pos"], c["ref"], c["alt"]): c["af"] for c in e["calls"].get(f"quality_{a}", [])}
               for a in ("bwa", "bowtie2")}
        out.append(f"- {name}: " + (", ".join(
            f"{c['chrom']}:{c['pos']} {c['ref']}>{c['alt']} {c['evidence']} "
            f"({afs['bwa'].get((c['pos'], c['ref'], c['alt']), '-')} / "
            f"{afs['bowtie2'].get((c['pos'], c['ref'], c['alt']), '-')})" for c in calls) or "none"))
    out += ["", "Findings (deepamp commands that failed on these inputs):", ""]
    findings = [(name, f) for name, e in result["datasets"].items() for f in e["findings"]]
    out += [f"- {name}: `{f['command']}` exit {f['exit']}: {f['message']}" for name, f in findings] or ["- none"]
    path.write_text("\n".join(out) + "\n")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--testdata", default=str(ROOT.parent / "shared" / "testdata"))
    p.add_argument("--work", help="work directory (default: a temporary directory, removed)")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--min-depth", type=int, default=500, help="covered-region depth threshold")
    p.add_argument("--out", default=str(RESULTS / "realdata.json"))
    args = p.parse_args(argv)
    testdata = Path(args.testdata)
    if not testdata.is_dir():
        print(f"realdata: {testdata} not found (the shared real-read datasets)", file=sys.stderr)
        return 1
    commit = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True).stdout.strip()
    result = {"date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "machine": f"{platform.machine()} {os.cpu_count()} cpus, {platform.python_version()}",
              "commit": commit, "threads": args.threads, "min_depth": args.min_depth,
              "call_options": "deepamp call defaults (quality model, -q 6, -a 0.01, dynamic Bonferroni, no filters)",
              "datasets": {}}
    with tempfile.TemporaryDirectory(prefix="deepamp-realdata.") as tmp:
        work = Path(args.work or tmp)
        for name, spec in DATASETS.items():
            print(f"realdata: {name}", file=sys.stderr)
            result["datasets"][name] = run_dataset(name, spec, testdata, work, args.threads, args.min_depth)
    out = Path(args.out)
    out.write_text(json.dumps(result, indent=1) + "\n")
    write_markdown(result, out.with_suffix(".md"))
    print(f"realdata: wrote {out} and {out.with_suffix('.md')}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
