#!/usr/bin/env python3
"""atheris harness for deepamp's Python entry points.

Each input is split (atheris.FuzzedDataProvider) into a region string, a BED
text, a FASTA text and an uncompressed BAM stream (raw, appended to a valid
seed BAM, or the seed's reads under a header whose SAM text is fuzzed).  The BAM is BGZF-compressed
and indexed with pysam (inputs pysam cannot index are skipped), then
``deepamp.counting.bam.count`` (regions and BED, with and without the FASTA),
``count_coverage`` and ``deepamp.cli.main(["count", ...])`` run on them.
The only exceptions allowed are deepamp.errors.DeepampError subclasses (and
for the CLI, an exit code of 0 or 1 with a one-line message); anything else
-- IndexError, UnicodeDecodeError, a crash -- is reported by atheris.

    PYTHONPATH=src python tests/fuzz/fuzz_api.py CORPUS_DIR -max_total_time=60
"""
from __future__ import annotations

import contextlib
import io
import struct
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    from deepamp import errors
    from deepamp.counting import bam as pileup
    from deepamp.io import regions
    from deepamp.cli import main as cli_main

import pysam

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from make_malformed import bam_header, bam_record, bgzf, reference_seq  # noqa: E402

TMP = Path(tempfile.mkdtemp(prefix="deepamp-atheris-"))
BAM, BED, FA, OUT = TMP / "in.bam", TMP / "in.bed", TMP / "ref.fa", TMP / "out.tsv"
REF = reference_seq(400, seed=9)
HEADER = bam_header({"chr1": 400})


def _seed_records() -> bytes:
    return b"".join(bam_record(f"r{i}", 16 if i % 3 else 0, 0, 5 + 15 * i, 60, "30M", REF[5 + 15 * i:35 + 15 * i])
                    for i in range(20))


def _seed_bam() -> bytes:
    return HEADER + _seed_records()


def _header_with_text(text: bytes) -> bytes:
    """A BAM header whose SAM text is ``text`` and whose binary contig list is chr1 (400 bp)."""
    return (b"BAM\x01" + struct.pack("<i", len(text)) + text + struct.pack("<i", 1)
            + struct.pack("<i", 5) + b"chr1\0" + struct.pack("<i", 400))


def _prepare(raw: bytes) -> bool:
    for p in (BAM, Path(str(BAM) + ".bai")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    BAM.write_bytes(bgzf(raw))
    verbosity = pysam.set_verbosity(0)
    try:
        pysam.index(str(BAM), catch_stdout=False)
    except Exception:
        return False
    finally:
        pysam.set_verbosity(verbosity)
    return True


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    region = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 40))
    bed = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 120))
    fasta_mode = fdp.ConsumeIntInRange(0, 3)
    threads = fdp.ConsumeIntInRange(1, 3)
    mode = fdp.ConsumeIntInRange(0, 2)   # 0 raw BAM, 1 seed BAM + raw, 2 fuzzed header text + seed reads
    text = b"@HD\tVN:1.6\tSO:coordinate\n" + fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 120)) if mode == 2 else b""
    raw = fdp.ConsumeBytes(fdp.remaining_bytes())
    if mode == 1:
        raw = _seed_bam() + raw
    elif mode == 2:
        raw = _header_with_text(text) + _seed_records() + raw
    if not _prepare(raw):
        return
    BED.write_text(bed, errors="surrogatepass")
    if fasta_mode == 0:
        FA.write_text(f">chr1\n{REF}\n")
    elif fasta_mode == 1:
        FA.write_text(f">chr1\n{REF[:200]}\n")
    elif fasta_mode == 2:
        FA.write_text(">chr1\n" + "".join("ACGTNRYKM"[b % 9] for b in raw[:400].ljust(400, b"\0")) + "\n")
    else:
        FA.write_text(bed)
    for p in (Path(str(FA) + ".fai"),):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    calls = [
        lambda: pileup.count(BAM, region, threads=threads),
        lambda: pileup.count(BAM, None, bed=BED, reference=FA, threads=threads),
        lambda: pileup.count(BAM, region or "chr1", reference=FA, merge_mates=False),
        lambda: pileup.count_coverage(BAM, region=region or "chr1"),
        lambda: regions.parse_region(region, {"chr1": 400}),
        lambda: regions.read_bed(BED),
    ]
    for fn in calls:
        try:
            fn()
        except errors.DeepampError as exc:
            msg = str(exc)
            if not msg or "\n" in msg:
                raise AssertionError(f"error message not one line: {msg!r}")
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc = cli_main(["count", str(BAM), f"--region={region or 'chr1'}", "-f", str(FA), "-o", str(OUT), "--quiet",
                       "--threads", str(threads)])
    if rc not in (0, 1) or (rc == 1 and len(err.getvalue().splitlines()) != 1):
        raise AssertionError(f"cli rc={rc} stderr={err.getvalue()!r}")


if __name__ == "__main__":
    corpus = next((a for a in sys.argv[1:] if not a.startswith("-")), None)
    if corpus and not Path(corpus).is_file():   # a file argument replays one input
        Path(corpus).mkdir(parents=True, exist_ok=True)
        seed = Path(corpus) / "seed0"
        if not seed.exists():
            seed.write_bytes(b"\x0bchr1:10-300" + b"\x40chr1\t5\t200\n" + b"\x00" * 8 + _seed_bam())
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()
