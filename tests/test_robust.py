"""Bad and unusual inputs at the seams: nothing destroyed, nothing silently wrong.

One test (or table) per failure class: special files and symlinks as outputs,
an output that is an input, a stale or inconsistent .fai, an indel running off
the reference, hotspots of another build, the same control twice, a full disk,
foreign VCFs (no header lines, <DEL>, samples, plain gzip, unsorted), broken
JSON, unreadable index, Ctrl-C at start-up, several slices of one contig,
bad FASTQ pairs and the order in which a .vcf.gz and its index appear.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import shutil
import signal
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pysam
import pytest

import deepamp
from deepamp import cli
from deepamp.errors import OutputError

from conftest import ref_fasta, sam_header, sam_to_bam

PKG_PARENT = str(Path(deepamp.__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([PKG_PARENT, os.environ.get("PYTHONPATH", "")]))


def _digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _deepamp(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "deepamp", *argv], capture_output=True, text=True, env=ENV, **kw)


@pytest.fixture(scope="module")
def calls_vcf(amplicon_run, tmp_path_factory) -> str:
    vcf = str(tmp_path_factory.mktemp("robust") / "calls.vcf")
    assert cli.main(["call", "-f", amplicon_run.ref, "-l", amplicon_run.bed, "--quiet", "-o", vcf,
                     amplicon_run.tumour]) == 0
    return vcf


def _commands(run, vcf: str, out: str) -> dict[str, list[str]]:
    """Every command that writes one file, with ``out`` as that file."""
    return {
        "call": ["call", "-f", run.ref, "-l", run.bed, "-o", out, "--quiet", run.tumour],
        "count": ["count", "-f", run.ref, "-l", run.bed, "-o", out, "--quiet", run.tumour],
        "filter": ["filter", "-i", vcf, "-o", out, "--quiet"],
        "concordance": ["concordance", "-o", out, "--quiet", vcf, vcf],
        "phase": ["phase", "-i", vcf, "-o", out, "--quiet", run.tumour],
    }


# ---------------------------------------------------------------- 1. special files and symlinks

@pytest.mark.parametrize("command", ["call", "count", "filter", "concordance", "phase"])
def test_special_outputs_are_written_through_never_replaced(amplicon_run, calls_vcf, tmp_path, command):
    # /dev/null stays the character device
    assert cli.main(_commands(amplicon_run, calls_vcf, "/dev/null")[command]) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode) and not os.path.islink("/dev/null")
    # a symlink to a special file: the link and the device stay
    link = tmp_path / "to_null"
    link.symlink_to("/dev/null")
    assert cli.main(_commands(amplicon_run, calls_vcf, str(link))[command]) == 0
    assert link.is_symlink() and os.readlink(link) == "/dev/null"
    # a symlink to a regular file: the link stays, the file it names gets the output
    target = tmp_path / "target.out"
    target.write_text("old\n")
    link2 = tmp_path / "link.out"
    link2.symlink_to(target)
    assert cli.main(_commands(amplicon_run, calls_vcf, str(link2))[command]) == 0
    assert link2.is_symlink() and target.read_text() != "old\n" and len(target.read_text()) > 100
    # a FIFO: the reader gets the output, the FIFO stays a FIFO
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    reader.start()
    assert cli.main(_commands(amplicon_run, calls_vcf, str(fifo))[command]) == 0
    reader.join(timeout=60)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode) and len(got[0]) > 100
    assert sorted(p.name for p in tmp_path.iterdir()) == ["link.out", "pipe", "target.out", "to_null"]


def test_dash_means_standard_output(amplicon_run, calls_vcf, tmp_path):
    for command, argv in _commands(amplicon_run, calls_vcf, "-").items():
        if command == "phase":
            continue
        res = _deepamp(*argv, cwd=tmp_path)
        assert res.returncode == 0 and len(res.stdout) > 100, (command, res.stderr)
        assert list(tmp_path.iterdir()) == [] and res.stderr == ""



def test_outputs_get_the_mode_of_a_new_file_under_the_umask(tmp_path):
    """A staged output is made 0666 less the umask, as a file opened for writing would be."""
    from deepamp.io.outputs import output_text

    old = os.umask(0o027)
    try:
        output_text(str(tmp_path / "a.txt"), "x\n")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "a.txt").st_mode) == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_an_output_directory_gets_the_mode_of_a_new_directory_under_the_umask(tmp_path):
    """A cohort directory is made 0777 less the umask (the kernel applies it; the process umask is
    never changed, which another thread could see), scratch directories 0700."""
    from deepamp.io.outputs import work_directory
    from deepamp.workflow.cohort_bams import _staging

    old = os.umask(0o027)
    try:
        with _staging(str(tmp_path / "cohort")) as tmp:
            assert os.umask(0o027) == 0o027
            with work_directory(tmp_path / "x.bam") as scratch:
                assert stat.S_IMODE(os.stat(scratch).st_mode) == 0o700
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "cohort").st_mode) == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cohort"]

# ---------------------------------------------------------------- 2. an output that is an input

def test_an_output_equal_to_an_input_is_refused_before_any_work(amplicon_run, calls_vcf, tmp_path, capsys):
    run = amplicon_run
    bed = tmp_path / "amplicons.bed"
    shutil.copy(run.bed, bed)
    vcf = tmp_path / "sample.vcf"
    shutil.copy(calls_vcf, vcf)
    cases = [
        ["call", "-f", run.ref, "-l", str(bed), "-o", run.tumour, run.tumour],
        ["call", "-f", run.ref, "-l", str(bed), "-o", run.ref, run.tumour],
        ["call", "-f", run.ref, "-l", str(bed), "-o", str(bed), run.tumour],
        ["count", "-l", str(bed), "-o", run.tumour, run.tumour],
        ["background", "-f", run.ref, "-l", str(bed), "-o", run.controls[0], *run.controls],
        ["filter", "-i", str(vcf), "-o", str(vcf)],
        ["phase", "-i", str(vcf), "-o", str(vcf), run.tumour],
        ["concordance", "-o", str(vcf), str(vcf), calls_vcf],
        ["annotate", "-o", str(tmp_path / "sample"), str(vcf)],          # PREFIX.vcf is the input
        ["report", "--vcf", str(vcf), "--annotation", "a.json", "-o", str(vcf)],
    ]
    before = {p: _digest(p) for p in (run.tumour, run.ref, str(bed), run.controls[0], str(vcf))}
    for argv in cases:
        assert cli.main(argv) == 1, argv
        err = capsys.readouterr().err
        assert "output would overwrite the input" in err and err.count("\n") == 1, err
    assert {p: _digest(p) for p in before} == before


# ---------------------------------------------------------------- 3. stale or inconsistent .fai

def _rewrap(src: str, dst: Path, width: int) -> None:
    lines = Path(src).read_text().splitlines()
    seq = "".join(lines[1:])
    dst.write_text("\n".join([lines[0]] + [seq[i:i + width] for i in range(0, len(seq), width)]) + "\n")


def test_fai_older_than_the_fasta_is_rebuilt(amplicon_run, tmp_path, capsys):
    run = amplicon_run
    fa = tmp_path / "ref.fa"
    shutil.copy(run.ref, fa)
    pysam.faidx(str(fa))                                    # indexed at 60 columns ...
    _rewrap(run.ref, fa, 50)                                # ... then edited to 50
    past = time.time() - 100
    os.utime(str(fa) + ".fai", (past, past))
    out = tmp_path / "a.vcf"
    assert cli.main(["call", "-f", str(fa), "-l", run.bed, "-o", str(out), run.tumour]) == 0
    assert "older than" in capsys.readouterr().err
    want = tmp_path / "b.vcf"
    assert cli.main(["call", "-f", run.ref, "-l", run.bed, "-o", str(want), "--quiet", run.tumour]) == 0

    def strip(p):
        return [x for x in Path(p).read_text().splitlines() if not x.startswith(("##fileDate", "##comm", "##ref"))]
    assert strip(out) == strip(want)


def test_fai_that_does_not_match_the_fasta_is_an_error(amplicon_run, tmp_path, capsys):
    run = amplicon_run
    fa = tmp_path / "ref.fa"
    _rewrap(run.ref, fa, 50)
    fai = Path(run.ref + ".fai").read_text()                     # the 60-column index, newer than the file
    (tmp_path / "ref.fa.fai").write_text(fai)
    out = tmp_path / "a.vcf"
    assert cli.main(["call", "-f", str(fa), "-l", run.bed, "-o", str(out), run.tumour]) == 1
    err = capsys.readouterr().err
    assert "does not match" in err and "delete the index" in err and err.count("\n") == 1
    assert not out.exists()


# ---------------------------------------------------------------- 5. an indel running off the reference

def test_a_deletion_past_the_reference_is_counted_not_invented(tmp_path, capsys):
    seq = ("ACGTTGCA" * 40)[:300]
    fa = ref_fasta(tmp_path, {"chrS:1001-1300": seq})              # a slice ending at 1300 of a long contig
    read = seq[150:225] + seq[225:300]
    reads = [f"r{i}\t0\tchrS\t1151\t60\t75M1000000D75M\t*\t0\t0\t{read}\t{'I' * 150}" for i in range(30)]
    reads += [f"s{i}\t0\tchrS\t1151\t60\t150M\t*\t0\t0\t{seq[150:300]}\t{'I' * 150}" for i in range(30)]
    bam = sam_to_bam(tmp_path, sam_header({"chrS": 5_000_000}) + "\n".join(reads))
    out = tmp_path / "c.vcf"
    assert cli.main(["call", "-f", fa, "-r", "chrS:1101-1300", "-o", str(out), bam]) == 0
    err = capsys.readouterr().err
    assert "not tested: deleted bases unknown" in err
    body = [ln for ln in out.read_text().splitlines() if not ln.startswith("#")]
    assert all(len(ln.split("\t")[3]) < 1000 and "N" not in ln.split("\t")[3] for ln in body)


# ---------------------------------------------------------------- 7. hotspots of another build

def test_hotspots_whose_ref_is_not_the_reference_are_named(amplicon_run, tmp_path, capsys):
    run = amplicon_run
    hs = tmp_path / "hs.tsv"
    hs.write_text("contig\tpos\tref\talt\nchr2\t29220747\tG\tT\nchr2\t29220765\tG\tT\n")   # 29220747 is C
    out = tmp_path / "c.vcf"
    assert cli.main(["call", "-f", run.ref, "-l", run.bed, "--hotspots", str(hs), "-o", str(out), "--quiet",
                     run.tumour]) == 0
    err = capsys.readouterr().err
    assert "hotspots: 1 alleles have another REF than the reference (first: chr2:29220747 G>T, the " \
           "reference has C)" in err


# ---------------------------------------------------------------- 8. the same control twice

def test_the_same_control_twice_is_refused(amplicon_run, tmp_path, capsys, monkeypatch):
    run = amplicon_run
    monkeypatch.chdir(Path(run.controls[0]).parent)
    twice = [run.controls[0], "./" + Path(run.controls[0]).name]
    assert cli.main(["background", "-f", run.ref, "-l", run.bed, "-o", str(tmp_path / "bg.npz"), *twice]) == 1
    assert "given twice" in capsys.readouterr().err
    ctl = [a for c in twice for a in ("--control", c)]
    assert cli.main(["call", "-f", run.ref, "-l", run.bed, *ctl, "-o", str(tmp_path / "c.vcf"), run.tumour]) == 1
    assert "given twice" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


# ---------------------------------------------------------------- 9. disk full

def _unshare_works() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "-m", "true"], capture_output=True).returncode == 0


@pytest.mark.parametrize("name", ["calls.vcf", "calls.vcf.gz", "counts.tsv", "counts.npz"])
def test_disk_full_is_one_line_and_leaves_nothing(amplicon_run, tmp_path, name):
    run = amplicon_run
    command = "call" if "vcf" in name else "count"
    argv = [command, "-f", run.ref, "-l", run.bed, "--quiet"]
    # /dev/full: every write fails with ENOSPC (the written-through path)
    res = _deepamp(*argv, "-o", "/dev/full", run.tumour)
    assert res.returncode == 1 and "No space left on device" in res.stderr and res.stderr.count("\n") == 1
    if not _unshare_works():
        pytest.skip("cannot mount a tmpfs in a private mount namespace here (unshare -m refused)")
    mnt = tmp_path / "small"
    mnt.mkdir()
    # a 64 KiB tmpfs, filled up but for one page: every output outgrows it
    script = (f"mount -t tmpfs -o size=64k tmpfs {mnt} && dd if=/dev/zero of={mnt}/fill bs=4k count=15 "
              f"2>/dev/null && {sys.executable} -m deepamp " + " ".join(argv)
              + f" -o {mnt}/{name} {run.tumour}; rc=$?; ls -A {mnt}; exit $rc")
    res = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, env=ENV)
    assert res.returncode == 1, res.stderr
    assert "No space left on device" in res.stderr and res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert res.stdout.split() == ["fill"]                           # nothing left on the full file system


# ---------------------------------------------------------------- 10-12. foreign VCFs

def test_phase_on_a_vcf_with_symbolic_alleles_samples_and_undeclared_keys(amplicon_run, tmp_path):
    run = amplicon_run
    vcf = tmp_path / "odd.vcf"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tS1\n"
                   "chr2\t29209816\t.\tC\tG\t50\tPASS\tXX=1;DP=3000\tGT:AD\t0/1:10,2\n"
                   "chr2\t29220700\t.\tA\t<DEL>\t.\tPASS\tSVTYPE=DEL;END=29220720\tGT\t0/1\n"
                   "chr2\t29220747\t.\tC\tT\t50\tPASS\tYY\tGT\t0/1\n")
    out = tmp_path / "out" / "p.vcf.gz"
    out.parent.mkdir()
    assert cli.main(["phase", "-i", str(vcf), "-o", str(out), "--quiet", run.tumour]) == 0
    with pysam.VariantFile(str(out)) as fh:
        recs = list(fh)
        assert list(fh.header.samples) == ["S1"] and recs[1].stop == 29220720
    assert sorted(p.name for p in out.parent.iterdir()) == ["p.vcf.gz", "p.vcf.gz.tbi"]


def test_plain_gzip_vcfs_are_read_everywhere(amplicon_run, calls_vcf, tmp_path):
    run = amplicon_run
    gz = tmp_path / "plain.vcf.gz"
    gz.write_bytes(gzip.compress(Path(calls_vcf).read_bytes()))     # gzip, not bgzip
    assert cli.main(["annotate", "-o", str(tmp_path / "a"), str(gz)]) == 0
    assert cli.main(["phase", "-i", str(gz), "-o", str(tmp_path / "p.vcf"), "--quiet", run.tumour]) == 0
    assert cli.main(["concordance", "-o", str(tmp_path / "c.vcf"), "--quiet", str(gz), calls_vcf]) == 0
    assert cli.main(["report", "--vcf", str(gz), "--annotation", str(tmp_path / "a.json"),
                     "-o", str(tmp_path / "r.html")]) == 0


def test_unsorted_vcf_to_an_indexed_output_is_sorted(calls_vcf, tmp_path):
    lines = Path(calls_vcf).read_text().splitlines()
    head = [x for x in lines if x.startswith("#")]
    body = [x for x in lines if not x.startswith("#")]
    unsorted = tmp_path / "u.vcf"
    unsorted.write_text("\n".join(head + body[::-1]) + "\n")
    out = tmp_path / "f.vcf.gz"
    assert cli.main(["filter", "-i", str(unsorted), "-o", str(out), "--quiet"]) == 0
    with pysam.VariantFile(str(out)) as fh:
        pos = [r.pos for r in fh]
        assert pos == sorted(pos) and len(pos) == len(body)
        assert [r.pos for r in fh.fetch("chr2", pos[0] - 1, pos[0])] == [pos[0]]


# ---------------------------------------------------------------- 13. broken JSON, unreadable index, Ctrl-C

def test_report_with_a_null_position(calls_vcf, tmp_path, capsys):
    assert cli.main(["annotate", "-o", str(tmp_path / "a"), "--quiet", calls_vcf]) == 0
    text = (tmp_path / "a.json").read_text().replace('"pos": 29220747', '"pos": null', 1)
    (tmp_path / "a.json").write_text(text)
    assert cli.main(["report", "--vcf", calls_vcf, "--annotation", str(tmp_path / "a.json"),
                     "-o", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert "pos must be a positive integer, not None" in err and err.count("\n") == 1
    assert not (tmp_path / "r.html").exists()


def without_dac_override(argv: list[str], **kw) -> subprocess.CompletedProcess:
    """Run deepamp without root's right to ignore file modes (as root: capabilities dropped by setpriv)."""
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + [sys.executable, "-m", "deepamp", *argv], capture_output=True, text=True,
                          env=ENV, **kw)


def test_an_unreadable_index_is_one_line(amplicon_run, tmp_path):
    run = amplicon_run
    if os.geteuid() == 0 and shutil.which("setpriv") is None:
        pytest.fail("running as root without setpriv: cannot test file modes")
    bam = tmp_path / "t.bam"
    shutil.copy(run.tumour, bam)
    shutil.copy(run.tumour + ".bai", str(bam) + ".bai")
    os.chmod(str(bam) + ".bai", 0)
    res = without_dac_override(["count", "-l", run.bed, "-o", "-", str(bam)])
    assert res.returncode == 1 and "cannot read its index" in res.stderr and "Permission denied" in res.stderr
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr


@pytest.mark.parametrize("delay", [0.2, 0.25, 0.3, 0.35])
def test_ctrl_c_during_start_up_is_exit_130_without_traceback(amplicon_run, delay):
    """Interrupted while importing, parsing or counting: the shell sees 130 (exit status 130, or
    death by SIGINT, which the shell reports as 130), one line, no traceback, no partial output."""
    run = amplicon_run
    proc = subprocess.Popen([sys.executable, "-m", "deepamp", "call", "-f", run.ref, "-l", run.bed, "-o", "-",
                             run.tumour], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    time.sleep(delay)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    if err.startswith("Fatal Python error: init_import_site"):    # a loaded machine: the interpreter's
        assert proc.returncode != 0 and out == ""                  # own start-up, before deepamp runs
        return
    assert "Traceback" not in err, err
    assert proc.returncode in (0, 130, -signal.SIGINT), err
    if "interrupted; no output written" in err:
        assert proc.returncode != 0 and out == "" and err.strip().splitlines()[-1].endswith("no output written")
    else:                      # the signal came after the work (or while the interpreter exited)
        assert out.startswith("##fileformat") and out.endswith("\n")


def test_the_deepamp_command_reports_an_interrupt_while_loading_in_one_line(monkeypatch, capsys):
    """The console script goes through deepamp.__main__.console: Ctrl-C while the command line is still
    being imported (before the CLI handles interrupts) is one line and exit 130, not a traceback."""
    import importlib.abc
    import tomllib

    import deepamp.__main__ as entry

    with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as fh:
        assert tomllib.load(fh)["project"]["scripts"]["deepamp"] == "deepamp.__main__:console"

    class Interrupting(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path, target=None):
            if name == "deepamp.cli":
                raise KeyboardInterrupt
            return None

    monkeypatch.delitem(sys.modules, "deepamp.cli")
    monkeypatch.setattr(sys, "meta_path", [Interrupting(), *sys.meta_path])
    assert entry.console() == 130
    assert capsys.readouterr().err == "deepamp: interrupted; no output written\n"


_DROPPED_INTERRUPT = r"""
import ctypes, gc, signal, sys
from deepamp.cli import Interrupted, _Signals
signals = _Signals()
signal.signal(signal.SIGINT, signals)
sys.unraisablehook = signals.unraisable
where = sys.argv[1]
def interrupt_me():
    signal.raise_signal(signal.SIGINT)      # the handler runs here, inside the callback
class Finalised:
    def __del__(self):
        interrupt_me()
try:
    if where == "ctypes":                   # numba's compiler calls back into Python like this
        callback = ctypes.CFUNCTYPE(None)(interrupt_me)
        callback()
    else:
        Finalised()
        gc.collect()
    for _ in range(10_000_000):             # the deferred interrupt lands here
        pass
    print("lost")
except Interrupted:
    print("interrupted")
"""


@pytest.mark.parametrize("where", ["ctypes", "finaliser"])
def test_an_interrupt_in_a_callback_that_drops_exceptions_is_not_lost(where):
    """Ctrl-C while Python runs a callback whose exceptions it prints and drops (a ctypes callback,
    as numba's compiler makes; a finaliser): no "Exception ignored" traceback, and the interrupt
    still ends the command once the callback has returned."""
    res = subprocess.run([sys.executable, "-c", _DROPPED_INTERRUPT, where], capture_output=True, text=True,
                         env=ENV, timeout=60)
    assert res.stdout == "interrupted\n" and res.stderr == "", res.stderr


# ---------------------------------------------------------------- 16. several slices of one contig

def test_a_fasta_of_several_slices_of_one_contig(amplicon_run, tmp_path):
    run = amplicon_run
    slices = tmp_path / "slices.fa"
    with pysam.FastaFile(run.ref) as fa:          # samtools faidx ref.fa chr2:a-b chr2:c-d > slices.fa
        whole = fa.fetch(fa.references[0])
    offset = 29191795
    pieces = [(29209700, 29210000), (29220600, 29221000)]
    slices.write_text("".join(f">chr2:{a}-{b}\n{whole[a - 1 - offset:b - offset]}\n" for a, b in pieces))
    regions = ["chr2:29209750-29209950", "chr2:29220650-29220950"]
    a, b = tmp_path / "a.vcf", tmp_path / "b.vcf"
    args = [x for r in regions for x in ("-r", r)]
    assert cli.main(["call", "-f", str(slices), *args, "-o", str(a), "--quiet", run.tumour]) == 0
    assert cli.main(["call", "-f", run.ref, *args, "-o", str(b), "--quiet", run.tumour]) == 0
    body = lambda p: [x for x in Path(p).read_text().splitlines() if not x.startswith("#")]
    assert body(a) == body(b) and len(body(a)) >= 2
    # a region across the gap between the slices is one line
    assert cli.main(["call", "-f", str(slices), "-r", "chr2:29209900-29220700", "-o", str(a), run.tumour]) == 1


# ---------------------------------------------------------------- 17. FASTQ pairs

def test_fastq_pairs_that_cannot_be_aligned_are_refused(tmp_path, capsys):
    r1 = tmp_path / "r1.fq"
    r1.write_text("".join(f"@p{i}/1\n{'ACGT' * 37}AC\n+\n{'I' * 150}\n" for i in range(50)))
    r2 = tmp_path / "r2.fq"
    r2.write_text("".join(f"@p{i}/2\n{'TTGCA' * 30}\n+\n{'I' * 150}\n" for i in range(50)))
    from deepamp.errors import FormatError
    from deepamp.workflow.align import validate_fastq_pair

    with pytest.raises(FormatError, match="same file as R1"):
        validate_fastq_pair(str(r1), str(r1))
    copy = tmp_path / "copy.fq"
    shutil.copy(r1, copy)
    with pytest.raises(FormatError, match="R2 looks like a copy of R1"):
        validate_fastq_pair(str(r1), str(copy))
    with pytest.raises(FormatError, match="--trim-5p 1000 would remove whole reads"):
        validate_fastq_pair(str(r1), str(r2), 1000, str(tmp_path / "t1"), str(tmp_path / "t2"))
    assert validate_fastq_pair(str(r1), str(r2)).pairs == 50


# ---------------------------------------------------------------- 18. a .vcf.gz and its index

def test_an_interrupted_commit_never_pairs_a_new_vcf_with_an_old_index(calls_vcf, tmp_path, monkeypatch):
    from deepamp.io import outputs

    out = tmp_path / "f.vcf.gz"
    assert cli.main(["filter", "-i", calls_vcf, "-o", str(out), "--quiet"]) == 0
    old_tbi = _digest(str(out) + ".tbi")
    real = os.replace
    calls = []

    def replace(src, dst):
        calls.append(dst)
        if str(dst).endswith(".tbi"):
            raise KeyboardInterrupt            # killed between the two renames
        real(src, dst)

    from deepamp.filters import filter_vcf

    monkeypatch.setattr(outputs.os, "replace", replace)
    with pytest.raises(KeyboardInterrupt):
        filter_vcf(calls_vcf, str(out), deepamp.FilterOptions(min_cov=100000))
    assert [Path(c).name for c in calls] == ["f.vcf.gz", "f.vcf.gz.tbi"]
    assert not os.path.exists(str(out) + ".tbi") or _digest(str(out) + ".tbi") != old_tbi
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f.vcf.gz"]


# ---------------------------------------------------------------- 19. scratch directories and clean-up under interrupts

def test_clean_up_finishes_every_step_when_an_interrupt_lands_in_one():
    from deepamp.io.outputs import clean_up

    done, hits = [], []

    def flaky():
        hits.append(1)
        if len(hits) == 1:
            raise KeyboardInterrupt        # a second Ctrl-C inside the first step
        done.append("a")

    with pytest.raises(KeyboardInterrupt):
        clean_up(flaky, lambda: done.append("b"))
    assert done == ["a", "b"] and len(hits) == 2
    clean_up(lambda: done.append("c"))
    assert done[-1] == "c"


@pytest.mark.parametrize("where", ["after_mkdir", "in_block", "in_rmtree", "none"])
def test_a_work_directory_is_gone_however_the_block_ends(tmp_path, monkeypatch, where):
    """Made next to its output, hidden, and removed on success, on an error, on an interrupt right after
    it was made (TemporaryDirectory's gap), and when a second interrupt lands in the removal."""
    from deepamp.io import outputs

    target = tmp_path / "out.bam"
    if where == "after_mkdir":
        real_mkdir = os.mkdir

        def mkdir(path, mode=0o777):
            real_mkdir(path, mode)
            raise KeyboardInterrupt

        monkeypatch.setattr(outputs.os, "mkdir", mkdir)
    if where == "in_rmtree":
        real_rmtree, calls = shutil.rmtree, []

        def rmtree(path, ignore_errors=False):
            calls.append(path)
            if len(calls) == 1:
                raise KeyboardInterrupt
            real_rmtree(path, ignore_errors=ignore_errors)

        monkeypatch.setattr(outputs.shutil, "rmtree", rmtree)
    seen = []
    try:
        with outputs.work_directory(target) as work:
            seen.append(work)
            assert os.path.isdir(work) and os.path.dirname(work) == str(tmp_path)
            assert os.path.basename(work).startswith(".out.bam.")
            (Path(work) / "partial.sam").write_text("x")
            if where == "in_block":
                raise KeyboardInterrupt
    except KeyboardInterrupt:
        assert where != "none"
    assert list(tmp_path.iterdir()) == []
    assert (where == "after_mkdir") == (seen == [])


def test_a_work_directory_never_takes_over_a_name_that_exists(tmp_path, monkeypatch):
    from deepamp.io import outputs

    names = iter(["aaaa", "bbbb", "cccc"])
    monkeypatch.setattr(outputs.secrets, "token_hex", lambda n: next(names))
    theirs = tmp_path / ".out.bam.aaaa.work"
    theirs.mkdir()
    (theirs / "keep").write_text("x")
    with outputs.work_directory(tmp_path / "out.bam") as work:
        assert os.path.basename(work) == ".out.bam.bbbb.work"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".out.bam.aaaa.work"] and (theirs / "keep").exists()
    with pytest.raises(OutputError, match="cannot write in"):
        with outputs.work_directory(tmp_path / "missing" / "out.bam"):
            pass


def test_the_package_makes_scratch_files_only_through_work_directory():
    """tempfile's named files and directories can outlive an interrupt (see work_directory): the
    package makes none of them."""
    import ast

    leaky = {"mkstemp", "mkdtemp", "TemporaryDirectory", "NamedTemporaryFile"}
    root = Path(deepamp.__file__).parent
    found = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [node.attr] if isinstance(node, ast.Attribute) else \
                [a.name for a in node.names] if isinstance(node, ast.ImportFrom) and node.module == "tempfile" else []
            if leaky & set(names):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert len(list(root.rglob("*.py"))) > 50 and found == []
