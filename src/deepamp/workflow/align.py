"""FASTQ -> aligner -> sorted, indexed BAM (``deepamp align``).

Villa et al. 2024 (Methods, "NGS and bioinformatic analysis") aligned every
sample twice, with BWA-MEM (default settings) and with Bowtie2
(``--very-sensitive-local``), called both and kept the variants that passed
in both ("strong evidence", see :mod:`deepamp.concordance`).  This module runs
one of those alignments:

1. **Validate the FASTQs** in one streaming pass over R1 and R2 together
   (missing file, not FASTQ, truncated record, sequence/quality length
   mismatch, different read counts or read names in R1 and R2); with
   ``trim_5p`` the same pass writes 5'-trimmed copies to the work directory.
2. **Find or build the aligner index.**  An up-to-date index next to the
   reference (``ref.fa.bwt`` ...; ``ref.fa.1.bt2`` or ``ref.1.bt2``) is used
   as is.  Otherwise the index is built in a cache directory (default
   ``$XDG_CACHE_HOME/deepamp/index``, else ``~/.cache/deepamp/index``) from the
   FASTA's *sequence pieces* (:mod:`deepamp.workflow.index_pieces`: slice
   records placed on their contig, long runs of N left out), in a
   sub-directory named by the SHA-256 of the FASTA contents and of the piece
   rule, next to the FASTA of the pieces that was indexed and a manifest of
   where each piece sits; the reference directory is never written to.  The
   directory is built under a temporary name and renamed when complete, and
   stderr says where it is.
3. **Align** with ``bwa mem`` or ``bowtie2 --very-sensitive-local`` as a
   subprocess, with a read group (``ID`` = ``SM`` = the sample name).
4. **Lift** the aligner's SAM, in one streaming pass, from index pieces to
   contig coordinates (:mod:`deepamp.workflow.lift`): a BAM aligned to the
   shipped slice ``chr2:29191796-29223795`` says ``chr2`` (LN 242,193,529),
   as the panel's BED and VCFs do.  With ``primers`` the same pass clips
   primer bases (:mod:`deepamp.workflow.primers`).
5. **Sort and index** with pysam's samtools (no samtools binary needed); the
   BAM and its ``.bai`` appear atomically, only when every step succeeded.

A child that exits non-zero raises :class:`~deepamp.errors.PipelineError`
with one line naming the tool, its exit code and the last line it wrote to
stderr.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import re
import shutil
import subprocess
import zlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import pysam

from deepamp._version import __version__
from deepamp.errors import DeepampError, FormatError, InputFileError, OutputError, ReferenceFileError
from deepamp.io.outputs import check_writable, staged, work_directory
from deepamp.workflow.index_pieces import (PIECE_RULE, PieceTable, pieces_from_header, read_manifest,
                                           write_index_fasta, write_manifest)
from deepamp.workflow.lift import ContigLift, resolve_contig_lengths
from deepamp.workflow.primers import (TOLERANCE, ClipStats, PrimerClipper, PrimerScheme, check_primer_contigs,
                                     log_stats, read_primer_bed)

logger = logging.getLogger("deepamp.align")

ALIGNERS = ("bwa", "bowtie2")
_BWA_SUFFIXES = (".amb", ".ann", ".bwt", ".pac", ".sa")
_BT2_SUFFIXES = (".1.bt2", ".2.bt2", ".3.bt2", ".4.bt2", ".rev.1.bt2", ".rev.2.bt2")
_SAMPLE_RE = re.compile(r"^[A-Za-z0-9_.:+-]+$")


class PipelineError(DeepampError, RuntimeError):
    """An external tool (aligner, indexer) is missing or exited with an error."""


@dataclass(frozen=True)
class FastqStats:
    """What the validating pass saw in a pair of FASTQ files."""

    pairs: int
    bases: int


@dataclass(frozen=True)
class AlignResult:
    """What :func:`align` did: the input pairs, the contigs of the BAM header (name -> length) and,
    with primers, what primer clipping did."""

    fastq: FastqStats
    contigs: dict[str, int]
    clipping: ClipStats | None = None

    @property
    def pairs(self) -> int:
        """Read pairs in the FASTQs."""
        return self.fastq.pairs


# ------------------------------------------------------------------ FASTQ

def _open_fastq(path: str):
    if not os.path.isfile(path):
        raise InputFileError(f"{path}: FASTQ not found")
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="ascii", errors="replace", newline=None)
    return open(path, encoding="ascii", errors="replace")


def _records(path: str, fh):
    """Yield (name, header, seq, plus, qual) per record; FormatError on malformed input.

    Blank lines after the last record are accepted (bwa and bowtie2 accept them);
    a blank line followed by more records is not.
    """
    lineno = 0
    try:
        while True:
            header = fh.readline()
            if not header:
                return
            if not header.strip():
                for n, line in enumerate(fh, start=lineno + 2):
                    if line.strip():
                        raise FormatError(f"{path}: not FASTQ (blank line {lineno + 1} before line {n})")
                return
            lines = [fh.readline() for _ in range(3)]
            lineno += 4
            if not header.startswith("@"):
                raise FormatError(f"{path}: not FASTQ (line {lineno - 3} does not start with '@')")
            if not lines[2]:
                raise FormatError(f"{path}: truncated FASTQ record at line {lineno - 3}")
            seq, plus, qual = (x.rstrip("\r\n") for x in lines)
            if not plus.startswith("+"):
                raise FormatError(f"{path}: not FASTQ (line {lineno - 1} does not start with '+')")
            if len(seq) != len(qual):
                raise FormatError(f"{path}: sequence and quality lengths differ in the record "
                                  f"at line {lineno - 3}")
            name = header[1:].split(None, 1)[0] if header[1:].strip() else ""
            if name.endswith(("/1", "/2")):
                name = name[:-2]
            yield name, header, seq, plus, qual
    except (OSError, EOFError, zlib.error) as exc:
        raise FormatError(f"{path}: corrupt or truncated gzip stream ({exc})") from None


def validate_fastq_pair(r1: str, r2: str, trim_5p: int = 0,
                        out1: str | None = None, out2: str | None = None) -> FastqStats:
    """Check that ``r1``/``r2`` are matching FASTQ files, optionally writing 5'-trimmed copies.

    Parameters
    ----------
    r1, r2 : path
        Read 1 and read 2 FASTQ files (plain or gzip).
    trim_5p : int
        Bases removed from the 5' end of every read (reads keep at least one base).
    out1, out2 : path, optional
        Where to write the trimmed copies (plain FASTQ); required when ``trim_5p > 0``.

    Returns
    -------
    FastqStats

    Raises
    ------
    InputFileError
        A file is missing or unreadable.
    FormatError
        A file is not FASTQ, a record is malformed, or R1 and R2 differ in
        read count or read names.
    """
    if trim_5p < 0:
        raise FormatError("--trim-5p must be >= 0")
    if trim_5p and (out1 is None or out2 is None):
        raise ValueError("trimmed copies need out1 and out2")
    for path in (r1, r2):
        if not os.path.isfile(path):
            raise InputFileError(f"{path}: FASTQ not found")
    if os.path.samefile(r1, r2):
        raise FormatError(f"{r2}: is the same file as R1 ({r1}); give the read 1 and read 2 files of the pair")
    pairs = bases = same = too_short = 0
    with _open_fastq(r1) as f1, _open_fastq(r2) as f2:
        w1 = open(out1, "w", encoding="ascii") if trim_5p else None
        w2 = open(out2, "w", encoding="ascii") if trim_5p else None
        try:
            it1, it2 = _records(r1, f1), _records(r2, f2)
            while True:
                a, b = next(it1, None), next(it2, None)
                if a is None or b is None:
                    if a is not None or b is not None:
                        longer, shorter = (r1, r2) if a is not None else (r2, r1)
                        raise FormatError(f"{shorter}: has fewer reads than {longer} "
                                          f"({pairs} pairs matched); R1 and R2 must list the same pairs")
                    break
                if a[0] != b[0]:
                    raise FormatError(f"{r2}: read {pairs + 1} is {b[0]!r} but {r1} has {a[0]!r} "
                                      f"(R1 and R2 out of step)")
                pairs += 1
                bases += len(a[2]) + len(b[2])
                same += a[2] == b[2]
                too_short += (len(a[2]) <= trim_5p) + (len(b[2]) <= trim_5p)
                if trim_5p:
                    for w, (_, header, seq, plus, qual) in ((w1, a), (w2, b)):
                        cut = min(trim_5p, len(seq) - 1) if seq else 0
                        w.write(f"{header.rstrip()}\n{seq[cut:]}\n+\n{qual[cut:]}\n")
        finally:
            for w in (w1, w2):
                if w is not None:
                    w.close()
    if pairs == 0:
        raise FormatError(f"{r1}: no reads")
    if same == pairs and pairs >= 10:
        raise FormatError(f"{r2}: every read repeats its mate in {r1}; R2 looks like a copy of R1")
    if trim_5p and too_short > pairs:          # most of the 2 x pairs reads
        raise FormatError(f"--trim-5p {trim_5p} would remove whole reads (mean read length "
                          f"{bases / (2 * pairs):.0f}); it is meant for UMIs or primers at the 5' end")
    return FastqStats(pairs, bases)


# ------------------------------------------------------------------ tools

def require_tool(name: str) -> str:
    """Path of executable ``name``; PipelineError if it is not on PATH."""
    path = shutil.which(name)
    if path is None:
        raise PipelineError(f"{name}: not found on PATH (install it, e.g. `apt-get install "
                            f"{'bowtie2' if name.startswith('bowtie2') else name}`)")
    return path


def run_tool(cmd: Sequence[str], stdout_path: str | None = None, cwd: str | None = None) -> None:
    """Run ``cmd``; on a non-zero exit raise PipelineError with the tool and its last stderr line.

    ``stdout_path`` receives the child's stdout; stderr is captured.
    """
    tool = os.path.basename(cmd[0])
    out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
    try:
        proc = subprocess.run(list(cmd), stdout=out, stderr=subprocess.PIPE, cwd=cwd, check=False)
    except OSError as exc:
        raise PipelineError(f"{tool}: cannot run ({exc.strerror})") from None
    finally:
        if stdout_path:
            out.close()
    if proc.returncode != 0:
        lines = [x.strip() for x in proc.stderr.decode(errors="replace").splitlines() if x.strip()]
        last = lines[-1] if lines else "no message on stderr"
        how = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else f"exit {proc.returncode}"
        raise PipelineError(f"{tool} failed ({how}): {last}")


def _last_line(text: str) -> str:
    text = text.split("stderr=", 1)[-1].replace("\\n", "\n")
    lines = [x.strip(" '\"") for x in text.splitlines() if x.strip(" '\"")]
    return lines[-1] if lines else "no message"


# ------------------------------------------------------------------ index

def default_cache_dir() -> str:
    """``$XDG_CACHE_HOME/deepamp/index`` or ``~/.cache/deepamp/index``."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "deepamp", "index")


def _fresh(prefix: str, suffixes: Sequence[str], reference: str) -> bool:
    files = [prefix + s for s in suffixes]
    if not all(os.path.isfile(f) for f in files):
        return False
    return min(os.path.getmtime(f) for f in files) >= os.path.getmtime(reference)


def _existing_index(reference: str, aligner: str) -> str | None:
    if aligner == "bwa":
        return reference if _fresh(reference, _BWA_SUFFIXES, reference) else None
    stem = os.path.splitext(reference[:-3] if reference.endswith(".gz") else reference)[0]
    return next((p for p in (reference, stem) if _fresh(p, _BT2_SUFFIXES, reference)), None)


def _cache_key(path: str) -> str:
    """SHA-256 of the FASTA's bytes and of the piece rule (what a cached index was built from)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    h.update(b"\0" + PIECE_RULE.encode())
    return h.hexdigest()


def _manifest(prefix: str) -> str:
    return prefix + ".pieces.tsv"


def aligner_index(reference: str, aligner: str, cache_dir: str | None = None,
                  threads: int = 1) -> str:
    """Index prefix for ``aligner`` on ``reference``, building it in the cache when missing.

    An up-to-date index next to the reference is used as it is.  A cached index
    is built from the FASTA's pieces (:func:`~deepamp.workflow.index_pieces.write_index_fasta`);
    its directory holds ``ref.fa`` (the pieces that were indexed) and
    ``ref.fa.pieces.tsv`` (where they sit on their contigs).

    Returns
    -------
    str
        The prefix to give ``bwa mem`` / ``bowtie2 -x``.

    Raises
    ------
    ReferenceFileError
        The reference is missing or not a FASTA.
    PipelineError
        The indexer is missing or failed.
    OutputError
        The cache directory cannot be created.
    """
    if not os.path.isfile(reference):
        raise ReferenceFileError(f"{reference}: reference FASTA not found")
    found = _existing_index(reference, aligner)
    if found is not None:
        return found
    cache_dir = cache_dir or default_cache_dir()
    target = os.path.join(os.path.abspath(cache_dir), _cache_key(reference), aligner)
    prefix = os.path.join(target, "ref.fa")
    suffixes = _BWA_SUFFIXES if aligner == "bwa" else _BT2_SUFFIXES
    if _fresh(prefix, suffixes, prefix) and os.path.isfile(_manifest(prefix)):
        return prefix
    indexer = require_tool("bwa" if aligner == "bwa" else "bowtie2-build")
    try:
        os.makedirs(os.path.dirname(target), exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{cache_dir}: cannot create the index cache ({exc.strerror})") from None
    with work_directory(target, "index") as work:      # renamed to target when complete
        table = write_index_fasta(reference, os.path.join(work, "ref.fa"))
        write_manifest(os.path.join(work, "ref.fa.pieces.tsv"), table)
        logger.info(f"building the {aligner} index of {reference} ({len(table.pieces)} sequence "
                    f"piece{'s' if len(table.pieces) != 1 else ''}, "
                    f"{sum(p.length for p in table.pieces):,} bases) in {target}")
        if aligner == "bwa":
            run_tool([indexer, "index", "ref.fa"], cwd=work)
        else:
            run_tool([indexer, "--threads", str(threads), "-q", "ref.fa", "ref.fa"], cwd=work)
        try:
            os.rename(work, target)
        except OSError:          # another process finished the same index first (ours is removed)
            if not os.path.isdir(target):
                raise
    return prefix


def index_pieces(prefix: str) -> PieceTable | None:
    """Where the records of the index at ``prefix`` sit on their contigs, if deepamp built it (else None)."""
    return read_manifest(_manifest(prefix)) if os.path.isfile(_manifest(prefix)) else None


def _header_pieces(header: Sequence[str]) -> PieceTable:
    """The pieces of an index deepamp did not build: its ``@SQ`` records as they are."""
    sq = []
    for line in header:
        if line.startswith("@SQ"):
            tags = dict(f.split(":", 1) for f in line.rstrip("\n").split("\t")[1:] if ":" in f)
            sq.append((tags["SN"], int(tags["LN"])))
    return pieces_from_header(sq)


# ------------------------------------------------------------------ align

def _sample_name(out_bam: str, sample: str | None) -> str:
    name = sample or re.sub(r"\.bam$", "", os.path.basename(out_bam)) or "sample"
    if not _SAMPLE_RE.match(name):
        raise FormatError(f"sample name {name!r}: use letters, digits and _.:+- only (or --sample)")
    return name


def _lift_and_write(sam: str, out_sam: str, table: PieceTable | None, lengths: dict[str, int] | None,
                    reference: str, aligner: str, given_lengths: Mapping[str, int] | None,
                    command: str, clipper: PrimerClipper | None) -> dict[str, int]:
    """Stream the aligner's SAM into ``out_sam`` in contig coordinates (primer-clipped with ``clipper``).

    Without ``table`` (an index deepamp did not build) the pieces are the aligner's ``@SQ`` records.
    Returns the contigs' lengths.
    """
    # latin-1 passes every byte through unchanged (read names and tags are not ours to judge)
    with open(sam, encoding="latin-1") as fin, open(out_sam, "w", encoding="latin-1") as fout:
        header: list[str] = []
        line = fin.readline()
        while line.startswith("@"):
            header.append(line)
            line = fin.readline()
        if table is None or lengths is None:
            table = _header_pieces(header)
            lengths = resolve_contig_lengths(table, reference, given_lengths)
            if clipper is not None:
                check_primer_contigs(clipper.scheme, list(lengths), reference)
        lift = ContigLift(table, lengths, aligner)
        moved = [p for p in table.pieces if p.offset or p.name != p.contig]
        what = ", ".join(f"{p.name} -> {p.contig}+{p.offset}" for p in moved[:3]) + (" ..." if len(moved) > 3 else "")
        programs = [{"ID": "deepamp-lift", "PN": "deepamp", "VN": __version__, "CL": command,
                     "DS": f"positions lifted from the {len(table.pieces)} index pieces of "
                           f"{os.path.basename(reference)} to contig coordinates ({what or 'no piece moved'})"}]
        if clipper is not None:
            programs.append({"ID": "deepamp-clip", "PN": "deepamp", "VN": __version__, "CL": command,
                             "DS": f"primer bases soft-clipped ({clipper.scheme.source}; start tolerance "
                                   f"{clipper.tolerance})"})
        new_header = lift.header(header, programs)
        fout.writelines(new_header)
        records = (lift.record(x) for x in _rest(line, fin))
        if clipper is not None:
            records = clipper.clip_sam_lines(records, pysam.AlignmentHeader.from_text("".join(new_header)))
        fout.writelines(records)
    return lengths


def _rest(first: str, fh) -> Iterator[str]:
    """``first`` and the lines after it."""
    if first:
        yield first
    yield from fh


def align(reference: str, r1: str, r2: str, out_bam: str, aligner: str = "bwa", *,
          threads: int = 1, trim_5p: int = 0, sample: str | None = None,
          cache_dir: str | None = None, contig_lengths: Mapping[str, int] | None = None,
          primers: PrimerScheme | str | os.PathLike[str] | None = None,
          primer_tolerance: int = TOLERANCE) -> AlignResult:
    """Align paired FASTQs with ``aligner`` into a coordinate-sorted, indexed BAM in contig coordinates.

    Parameters
    ----------
    reference : path
        Reference FASTA (plain, gzip or bgzip; slice records such as
        ``chr2:29191796-29223795`` and N padding work, see the module docstring).
    r1, r2 : path
        Paired FASTQ files (plain or gzip).
    out_bam : path
        Output BAM; ``out_bam + ".bai"`` is written next to it.  Both appear only on success.
    aligner : {"bwa", "bowtie2"}
        ``bwa mem`` (default settings) or ``bowtie2 --very-sensitive-local`` (Villa et al. 2024).
    threads : int
        Aligner and sort threads.
    trim_5p : int
        Bases removed from the 5' end of every read before alignment (e.g. a UMI).
    sample : str, optional
        Read group ID and SM; default: the output name without ``.bam``.
    cache_dir : path, optional
        Where missing indexes are built (default :func:`default_cache_dir`).
    contig_lengths : mapping, optional
        ``@SQ LN`` of contigs the FASTA holds only slices of (default: their
        GRCh38 length when known, :data:`deepamp.io.contigs.GRCH38_LENGTHS`).
    primers : PrimerScheme or path, optional
        Soft-clip primer bases in the lift pass, before sorting (:mod:`deepamp.workflow.primers`;
        a path is a primer BED whose names pair its primers, see
        :func:`~deepamp.workflow.primers.load_primers` for the other ways).
    primer_tolerance : int
        Bases a read's 5' end may lie outside its primer.

    Returns
    -------
    AlignResult
        Read pairs and bases in the input, contigs of the BAM header, primer clipping statistics.

    Raises
    ------
    InputFileError, FormatError
        Missing or malformed FASTQ, bad options.
    ReferenceFileError
        Missing or non-FASTA reference; a slice whose contig length is unknown.
    PipelineError
        A tool is missing or failed (the message names it and its last stderr line).
    OutputError
        The output or the index cache cannot be written.
    """
    if aligner not in ALIGNERS:
        raise FormatError(f"--aligner {aligner!r}: expected one of {', '.join(ALIGNERS)}")
    if threads < 1:
        raise FormatError("--threads must be >= 1")
    check_writable(out_bam)
    name = _sample_name(out_bam, sample)
    exe = require_tool("bwa" if aligner == "bwa" else "bowtie2")
    if not os.path.isfile(reference):
        raise ReferenceFileError(f"{reference}: reference FASTA not found")
    scheme = read_primer_bed(primers) if isinstance(primers, (str, os.PathLike)) else primers
    clipper = PrimerClipper(scheme, primer_tolerance) if scheme is not None else None
    with work_directory(out_bam) as work:
        fq1, fq2 = r1, r2
        if trim_5p:
            fq1, fq2 = os.path.join(work, "R1.fastq"), os.path.join(work, "R2.fastq")
        stats = validate_fastq_pair(r1, r2, trim_5p, fq1 if trim_5p else None, fq2 if trim_5p else None)
        prefix = aligner_index(reference, aligner, cache_dir, threads)
        table = index_pieces(prefix)    # known now for a cached index: a missing contig length fails early
        lengths = resolve_contig_lengths(table, reference, contig_lengths) if table is not None else None
        if lengths is not None and scheme is not None:
            check_primer_contigs(scheme, list(lengths), reference)
        sam = os.path.join(work, "aligned.sam")
        if aligner == "bwa":
            cmd = [exe, "mem", "-t", str(threads), "-R", f"@RG\\tID:{name}\\tSM:{name}", prefix, fq1, fq2]
            run_tool(cmd, stdout_path=sam)
        else:
            cmd = [exe, "--very-sensitive-local", "-p", str(threads), "--rg-id", name, "--rg", f"SM:{name}",
                   "-x", prefix, "-1", fq1, "-2", fq2, "-S", sam]
            run_tool(cmd)
        command = " ".join(["deepamp align -f", reference, "-1", r1, "-2", r2, "--aligner", aligner,
                            *(f"--contig-length {k}={v}" for k, v in (contig_lengths or {}).items()),
                            *(["--trim-5p", str(trim_5p)] if trim_5p else []), "-o", out_bam])
        lifted = os.path.join(work, "lifted.sam")
        lengths = _lift_and_write(sam, lifted, table, lengths, reference, aligner, contig_lengths, command, clipper)
        os.unlink(sam)
        with staged(out_bam, out_bam + ".bai", suffixes=[".bam", ""]) as (tmp_bam, tmp_bai):
            try:
                pysam.sort("-@", str(threads), "-T", os.path.join(work, "sort"), "-o", tmp_bam, lifted,
                           catch_stdout=False)
                pysam.index("-o", tmp_bai, tmp_bam, catch_stdout=False)
            except pysam.SamtoolsError as exc:
                raise PipelineError(f"samtools sort/index failed: {_last_line(str(exc))}") from None
            with pysam.AlignmentFile(tmp_bam, index_filename=tmp_bai) as fh:
                mapped = sum(s.mapped for s in fh.get_index_statistics())
            if mapped == 0:
                raise PipelineError(f"{out_bam}: none of the {stats.pairs} read pairs aligned to {reference} "
                                    f"with {aligner} (another reference, or reads of another panel?)")
    if clipper is not None:
        log_stats(clipper.stats)
    return AlignResult(stats, lengths, clipper.stats if clipper is not None else None)


__all__ = ["ALIGNERS", "AlignResult", "FastqStats", "PipelineError", "align", "aligner_index", "default_cache_dir",
           "index_pieces", "validate_fastq_pair", "require_tool", "run_tool"]
