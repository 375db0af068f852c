"""Counting from BAM/CRAM: exact per-position x symbol x strand counts by the C kernel.

:func:`count` is the general entry point (regions, read and base filters,
mate-overlap merging, threads); :func:`count_coverage` is a drop-in for pysam's
``AlignmentFile.count_coverage`` that returns the same numbers.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
from typing import Any, Callable, Sequence

import numpy as np

import deepamp._core as _core
from deepamp.counting.result import CountResult, IndelEvents
from deepamp.errors import OptionError, RegionError
from deepamp.io.alignment import AlignmentInfo, check_reference, inspect_alignment
from deepamp.io.reference import Reference
from deepamp.io.regions import Region, merge_regions, parse_region, read_bed
from deepamp.options import (DEFAULT_MATE_MEMORY, FLAG_DUPLICATE, FLAG_QCFAIL, FLAG_SECONDARY, FLAG_UNMAPPED,
                             CountOptions)

__all__ = ["count", "count_coverage", "resolve_regions", "count_options"]


def count_options(options: CountOptions | None = None, **overrides: Any) -> CountOptions:
    """``options`` (default CountOptions()) with keyword overrides of its fields.

    Raises
    ------
    OptionError
        An unknown option name or an invalid value.
    """
    options = options or CountOptions()
    if not overrides:
        return options
    names = {f.name for f in dataclasses.fields(CountOptions)}
    unknown = set(overrides) - names
    if unknown:
        raise OptionError(f"unknown counting option {sorted(unknown)[0]!r}")
    return dataclasses.replace(options, **overrides)


def resolve_regions(info: AlignmentInfo, regions: Sequence[str | Region] | str | None = None,
                    bed: str | os.PathLike[str] | None = None) -> list[Region]:
    """Turn region strings / a BED file into merged regions checked against the header.

    With neither, every contig of the header is counted.

    Raises
    ------
    RegionError
        A region on a contig absent from the BAM, or beyond its end.
    """
    lengths = info.contig_lengths
    wanted: list[Region] = []
    if bed is not None:
        wanted.extend(read_bed(bed))
    if isinstance(regions, str):
        regions = [regions]
    for r in regions or ():
        try:
            wanted.append(r if isinstance(r, Region) else parse_region(r, lengths))
        except RegionError as exc:
            raise RegionError(f"{info.path}: {exc}") from None
    if bed is None and not regions:
        wanted = [Region(c, 0, n) for c, n in lengths.items() if n > 0]
    for r in wanted:
        if r.contig not in lengths:
            src = f"{os.fspath(bed)}: " if bed is not None else ""
            raise RegionError(f"{src}contig {r.contig!r} of region {r} is not in {info.path}")
        if r.end > lengths[r.contig]:
            raise RegionError(f"region {r} extends past the end of {r.contig} "
                              f"({lengths[r.contig]} bp in {info.path})")
    return merge_regions(wanted, list(info.contigs))


def count(bam: str | os.PathLike[str], regions: Sequence[str | Region] | str | None = None, *,
          bed: str | os.PathLike[str] | None = None, reference: str | os.PathLike[str] | None = None,
          options: CountOptions | None = None, threads: int = 1, qual_hist: bool = True,
          mate_memory: int = DEFAULT_MATE_MEMORY, **overrides: Any) -> CountResult:
    """Count every base of every read over the regions, with no depth cap.

    Parameters
    ----------
    bam : indexed, coordinate-sorted BAM or CRAM
    regions : region strings (``chr2:29220700-29220840``, 1-based) or Region objects
    bed : BED file of regions (both may be given; intervals are merged)
    reference : FASTA; enables the alt-quality filter and fills ``ref`` (needed for CRAM)
    options : which reads and bases count (:class:`deepamp.options.CountOptions`:
        ``min_bq``, ``min_alt_bq``, ``min_mapq``, ``flag_exclude``, ``merge_mates``);
        its fields may also be given as keywords (``min_bq=10``), overriding ``options``
    threads : worker threads (regions are split into fixed chunks, so results
        are identical for any value)
    qual_hist : also return per-position base-quality histograms
    mate_memory : bytes of first mates each chunk being counted holds while
        they wait for their overlapping mate (one chunk at a time with one
        thread, at most ``threads + 1`` with more); beyond it, whole groups of read names wait in
        an unlinked temporary file (in :func:`tempfile.gettempdir`) instead,
        so memory does not grow with depth.  Reads that reach from one
        region (or 16 kb chunk) into the next are kept for it within half
        this budget again; beyond that the next region is read afresh from
        the index.  Counts are identical for any value; 0 means no limit.

    Returns
    -------
    CountResult

    Raises
    ------
    InputFileError, IndexFileError, UnsortedError, TruncatedFileError,
    ReferenceFileError, RegionError
        See :mod:`deepamp.errors`; every message names the file.
    OptionError
        An invalid option value (``threads < 1``, a negative quality, ...).
    """
    return _count(bam, regions, bed=bed, reference=reference, options=options, threads=threads, qual_hist=qual_hist,
                  mate_memory=mate_memory, **overrides)[0]


def _count(bam, regions=None, *, bed=None, reference=None, options=None, threads=1, qual_hist=True,
           mate_memory=DEFAULT_MATE_MEMORY, sample_reads: int = 0, **overrides):
    """:func:`count`, and with ``sample_reads`` > 0 the assay-shape sample of each counted region
    (:func:`deepamp.counting.assay_shape.shapes_from_sample`), taken in the same pass: (CountResult,
    list of arrays or None)."""
    opts = count_options(options, **overrides)
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise OptionError(f"threads must be an integer >= 1, not {threads!r}")
    if isinstance(mate_memory, bool) or not isinstance(mate_memory, int) or mate_memory < 0:
        raise OptionError(f"mate_memory must be a number of bytes >= 0, not {mate_memory!r}")
    bam = os.fspath(bam)
    ref_path = os.fspath(reference) if reference is not None else None
    info = inspect_alignment(bam, ref_path)
    merged = resolve_regions(info, regions, bed)
    if not merged:
        raise RegionError(f"{bam}: no regions to count")
    refs: list[str | None] = [None] * len(merged)
    if ref_path is not None:
        with Reference(ref_path) as ref:
            check_reference(info, ref, {r.contig for r in merged})
            refs = [ref.fetch(r.contig, r.start, r.end) for r in merged]
    tid_of = {c: i for i, c in enumerate(info.contigs)}
    raw = _core.pileup(
        bam, [tid_of[r.contig] for r in merged], [r.start for r in merged], [r.end for r in merged],
        refs, reference_path=ref_path, min_mapq=opts.min_mapq, min_bq=opts.min_bq,
        min_alt_bq=opts.alt_bq, flag_exclude=opts.flag_exclude,
        merge_mates=opts.merge_mates, threads=threads, qual_hist=qual_hist,
        mate_memory=mate_memory, tmpdir=tempfile.gettempdir(), sample_reads=sample_reads)
    contig = np.concatenate([np.full(len(r), r.contig, dtype=object) for r in merged]).astype(str)
    pos = np.concatenate([np.arange(r.start, r.end, dtype=np.int64) for r in merged])
    ref_arr = np.array(list("".join(s if s is not None else "N" * len(r) for s, r in zip(refs, merged))))
    names = np.array(info.contigs)
    indels = IndelEvents(names[raw["indel_tid"]] if len(raw["indel_tid"]) else np.array([], dtype=str),
                         raw["indel_pos"], raw["indel_len"], np.array(raw["indel_seq"], dtype=str),
                         raw["indel_count"])
    source = {"bam": bam, "reference": ref_path, "sample": info.sample}
    return CountResult(merged, contig, pos, ref_arr, raw["counts"], raw["qual_hist"],
                       raw["read_stats"], raw["base_stats"], indels, opts, source,
                       tuple(zip(info.contigs, info.lengths)), raw["junction"]), raw.get("sample")


_CALLBACK_FLAGS = {"all": FLAG_UNMAPPED | FLAG_SECONDARY | FLAG_QCFAIL | FLAG_DUPLICATE, "nofilter": 0}


def count_coverage(bam: str | os.PathLike[str], contig: str | None = None, start: int | None = None,
                   stop: int | None = None, region: str | None = None, quality_threshold: int = 15,
                   read_callback: str | Callable[..., bool] = "all", reference: str | None = None,
                   end: int | None = None, *, threads: int = 1,
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Drop-in for ``pysam.AlignmentFile.count_coverage``: same arguments, same numbers.

    Returns four uint32 arrays (A, C, G, T) of length ``stop - start``,
    counting aligned (M/=/X) bases with quality >= ``quality_threshold`` of
    reads passing ``read_callback`` ("all": not unmapped/secondary/QC-fail/
    duplicate; "nofilter": every read).  Like pysam, both overlapping mates
    are counted and N bases and deletions are not, and bases after a CIGAR
    ``P`` are read as pysam reads them: its query offset steps over the pad
    although a pad holds no base.  Where that shift runs past the end of a
    read's sequence pysam raises IndexError; those bases are not counted here.

    Raises
    ------
    TypeError
        ``read_callback`` is a Python callable (not supported by the compiled core).
    RegionError, InputFileError, IndexFileError
        As for :func:`count`.
    """
    if callable(read_callback):
        raise TypeError("count_coverage: callable read_callback is not supported; use 'all' or 'nofilter'")
    if read_callback not in _CALLBACK_FLAGS:
        raise ValueError(f"count_coverage: read_callback must be 'all' or 'nofilter', not {read_callback!r}")
    stop = stop if stop is not None else end
    bam = os.fspath(bam)
    info = inspect_alignment(bam, reference)
    if region is not None:
        try:
            r = parse_region(region, info.contig_lengths)
        except RegionError as exc:
            raise RegionError(f"{bam}: {exc}") from None
    else:
        if contig is None:
            raise RegionError(f"{bam}: count_coverage needs contig (and start/stop) or region")
        if contig not in info.contig_lengths:
            raise RegionError(f"{bam}: contig {contig!r} is not in the BAM header")
        s = 0 if start is None else int(start)
        e = info.contig_lengths[contig] if stop is None else int(stop)
        if s < 0 or e <= s:
            raise RegionError(f"{bam}: empty region {contig}:{s}-{e}")
        r = Region(contig, s, e)
    raw = _core.pileup(bam, [info.contigs.index(r.contig)], [r.start], [r.end], [None],
                       reference_path=reference, min_mapq=0, min_bq=quality_threshold,
                       min_alt_bq=quality_threshold, flag_exclude=_CALLBACK_FLAGS[read_callback],
                       merge_mates=False, threads=threads, qual_hist=False, pad_shifts_query=True)
    c = raw["counts"].sum(axis=2, dtype=np.uint32)
    return (c[:, 0].copy(), c[:, 1].copy(), c[:, 2].copy(), c[:, 3].copy())
