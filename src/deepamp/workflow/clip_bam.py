"""Primer-clip a BAM the user already has (``deepamp clip``): collate by name, clip, sort, index.

The records of each read name are brought together with pysam's ``samtools
collate``, clipped by :class:`~deepamp.workflow.primers.PrimerClipper` (mates
fixed together), sorted by coordinate and indexed.  The BAM and its ``.bai``
appear only when every step succeeded.
"""

from __future__ import annotations

import logging
import os

import pysam

from deepamp._version import __version__
from deepamp.errors import InputFileError, OutputError
from deepamp.io.outputs import check_distinct, staged, work_directory
from deepamp.workflow.lift import add_programs
from deepamp.workflow.primers import (TOLERANCE, ClipStats, PrimerClipper, PrimerScheme, check_primer_contigs,
                                     log_stats, read_primer_bed)

__all__ = ["clip_bam"]

log = logging.getLogger("deepamp.primers")


def _last_line(exc: Exception) -> str:
    lines = [x.strip() for x in str(exc).replace("\\n", "\n").splitlines() if x.strip()]
    return lines[-1] if lines else "no message"


def clip_bam(in_bam: str | os.PathLike[str], out_bam: str | os.PathLike[str], primers: PrimerScheme | str, *,
             tolerance: int = TOLERANCE, threads: int = 1) -> ClipStats:
    """Soft-clip primer bases from ``in_bam`` into a sorted, indexed ``out_bam``.

    Parameters
    ----------
    in_bam : path
        SAM or BAM, in any order.
    out_bam : path
        Output BAM; ``out_bam + ".bai"`` is written next to it.  Both appear only on success.
    primers : PrimerScheme or path
        The primers (:func:`~deepamp.workflow.primers.load_primers`), or a primer BED whose
        names pair its primers.
    tolerance : int
        Bases a read's 5' end may lie outside its primer (module docstring of
        :mod:`deepamp.workflow.primers`).
    threads : int
        Collate and sort threads.

    Returns
    -------
    ClipStats

    Raises
    ------
    InputFileError
        The input is missing or not SAM/BAM.
    FormatError
        Bad primers, or no primer on a contig of the input.
    OutputError
        The output cannot be written, or collating/sorting failed.
    """
    in_bam, out_bam = os.fspath(in_bam), os.fspath(out_bam)
    scheme = read_primer_bed(primers) if isinstance(primers, (str, os.PathLike)) else primers
    check_distinct([out_bam, out_bam + ".bai"], [in_bam])
    if not os.path.isfile(in_bam):
        raise InputFileError(f"{in_bam}: alignment file not found")
    try:
        with pysam.AlignmentFile(in_bam) as fh:
            if fh.is_cram:
                raise InputFileError(f"{in_bam}: CRAM input is not supported by deepamp clip; convert it to BAM")
            header = str(fh.header)
            contigs = list(fh.references)
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{in_bam}: cannot read it as SAM/BAM ({exc})") from None
    check_primer_contigs(scheme, contigs, in_bam)
    clipper = PrimerClipper(scheme, tolerance)
    text = add_programs(header.splitlines(keepends=True), [{"ID": "deepamp-clip", "PN": "deepamp", "VN": __version__,
                                "DS": f"primer bases soft-clipped ({scheme.source}; start tolerance {tolerance})",
                                "CL": f"deepamp clip {in_bam} -o {out_bam}"}])
    out_header = pysam.AlignmentHeader.from_text("".join(text))
    with staged(out_bam, out_bam + ".bai", suffixes=[".bam", ""]) as (tmp_bam, tmp_bai), \
            work_directory(out_bam) as work:
        collated, clipped = os.path.join(work, "collated.bam"), os.path.join(work, "clipped.bam")
        try:
            pysam.collate("-@", str(threads), "-l", "1", "-o", collated, in_bam, os.path.join(work, "collate"),
                          catch_stdout=False)
        except pysam.SamtoolsError as exc:
            raise InputFileError(f"{in_bam}: collating the reads by name failed: {_last_line(exc)}") from None
        with pysam.AlignmentFile(collated) as fin, pysam.AlignmentFile(clipped, "wb", header=out_header,
                                                                       threads=threads) as fout:
            for read in clipper.clip_records(fin.fetch(until_eof=True)):
                fout.write(read)
        try:
            pysam.sort("-@", str(threads), "-T", os.path.join(work, "sort"), "-o", tmp_bam, clipped,
                       catch_stdout=False)
            pysam.index("-o", tmp_bai, tmp_bam, catch_stdout=False)
        except pysam.SamtoolsError as exc:
            raise OutputError(f"{out_bam}: sorting/indexing the clipped reads failed: {_last_line(exc)}") from None
    log_stats(clipper.stats)
    return clipper.stats
