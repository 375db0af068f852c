"""Counting API: exact per-position x symbol x strand counts from a BAM/CRAM.

``count`` is the general entry point (regions, filters, mate-overlap merging,
threads); ``count_coverage`` is a drop-in for pysam's
``AlignmentFile.count_coverage`` that returns the same numbers.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from . import _core
from .alignment import AlignmentInfo, check_reference, inspect_alignment
from .errors import FormatError, InputFileError, RegionError
from .reference import Reference
from .regions import Region, merge_regions, parse_region, read_bed

SYMBOLS = _core.SYMBOLS                 # A C G T N DEL INS
BASES = "ACGTN"
NQUAL = _core.NQUAL

# SAM flag bits
FLAG_UNMAPPED, FLAG_SECONDARY, FLAG_QCFAIL, FLAG_DUPLICATE, FLAG_SUPPLEMENTARY = 0x4, 0x100, 0x200, 0x400, 0x800
DEFAULT_FLAG_EXCLUDE = FLAG_UNMAPPED | FLAG_SECONDARY | FLAG_QCFAIL | FLAG_DUPLICATE | FLAG_SUPPLEMENTARY
#: Bytes of waiting first mates held in memory per chunk being counted (see ``count(mate_memory=...)``).
DEFAULT_MATE_MEMORY = 8 << 20

COUNT_FORMAT_VERSION = 1


@dataclass(frozen=True)
class IndelEvents:
    """Distinct indel events, anchored at the reference base before the event.

    ``length`` > 0 is an insertion of ``sequence``; < 0 a deletion of that many
    reference bases.  ``count`` is (n, 2): forward, reverse fragments.
    """

    contig: np.ndarray      # str per event
    pos: np.ndarray         # int64, 0-based anchor
    length: np.ndarray      # int32
    sequence: np.ndarray    # str per event ("" for deletions)
    count: np.ndarray       # uint32 (n, 2)

    def __len__(self) -> int:
        return len(self.pos)


@dataclass
class CountResult:
    """Counts over the (merged, sorted) regions, flattened along positions.

    Attributes
    ----------
    regions : list of Region, in the order of the position axis
    contig, pos : per position contig name and 0-based coordinate
    ref : per position upper-case reference base ("N" if no reference was given)
    counts : uint32 (P, 7, 2), symbols A C G T N DEL INS x strand (forward, reverse)
    qual_hist : uint32 (P, 64) or None, counted A/C/G/T bases by Phred quality (clipped at 63)
    read_stats, base_stats : what was used and what was dropped, by reason
    indels : IndelEvents
    params : the arguments the counts were made with
    header_contigs : (name, length) of every contig in the alignment header
    junction : uint32 (P, 2) or None, fragments whose aligned bases or deletions
        cover both position p and p+1, by strand (what an indel anchored at p is
        tested against); None for counts that did not come from the kernel
    """

    regions: list[Region]
    contig: np.ndarray
    pos: np.ndarray
    ref: np.ndarray
    counts: np.ndarray
    qual_hist: np.ndarray | None
    read_stats: dict[str, int]
    base_stats: dict[str, int]
    indels: IndelEvents
    params: dict[str, Any] = field(default_factory=dict)
    header_contigs: tuple[tuple[str, int], ...] = ()
    junction: np.ndarray | None = None

    @property
    def depth(self) -> np.ndarray:
        """Bases counted per position (A+C+G+T+N, both strands)."""
        return self.counts[:, :5, :].sum(axis=(1, 2), dtype=np.int64)

    @property
    def depth_with_deletions(self) -> np.ndarray:
        """Bases plus deletions per position (LoFreq/samtools-style coverage)."""
        return self.counts[:, :6, :].sum(axis=(1, 2), dtype=np.int64)

    @property
    def ref_code(self) -> np.ndarray:
        """int8 per position: 0..3 for A, C, G, T; 4 for anything else."""
        lut = np.full(256, 4, dtype=np.int8)
        for i, b in enumerate(b"ACGT"):
            lut[b] = i
        return lut[self.ref.astype("S1").view(np.uint8)]

    def index_of(self, contig: str, pos: int) -> int:
        """Row of 0-based ``pos`` on ``contig``; KeyError if not counted."""
        hits = np.flatnonzero((self.pos == pos) & (self.contig == contig))
        if not len(hits):
            raise KeyError(f"{contig}:{pos + 1} is not in the counted regions")
        return int(hits[0])

    def write_tsv(self, path: str | os.PathLike[str]) -> None:
        """Write the count table as TSV (1-based positions), atomically."""
        from .io import atomic_output

        names = [f"{s}_{d}" for s in SYMBOLS for d in ("fwd", "rev")]
        flat = self.counts.reshape(len(self.pos), -1)
        with atomic_output(path, "w") as fh:
            fh.write("#deepamp count table v%d\n" % COUNT_FORMAT_VERSION)
            fh.write("#params\t" + ";".join(f"{k}={v}" for k, v in sorted(self.params.items())) + "\n")
            fh.write("\t".join(["contig", "pos", "ref", *names, "depth"]) + "\n")
            depth = self.depth
            for i in range(len(self.pos)):
                row = "\t".join(map(str, flat[i].tolist()))
                fh.write(f"{self.contig[i]}\t{self.pos[i] + 1}\t{self.ref[i]}\t{row}\t{depth[i]}\n")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Save in the compact binary form (numpy .npz), atomically; see :func:`load_counts`."""
        from .io import atomic_output

        ind = self.indels
        arrays = dict(
            format_version=np.array(COUNT_FORMAT_VERSION),
            region_contig=np.array([r.contig for r in self.regions]),
            region_start=np.array([r.start for r in self.regions], dtype=np.int64),
            region_end=np.array([r.end for r in self.regions], dtype=np.int64),
            region_name=np.array([r.name for r in self.regions]),
            contig=self.contig, pos=self.pos, ref=self.ref, counts=self.counts,
            read_stats_names=np.array(list(self.read_stats)),
            read_stats=np.array(list(self.read_stats.values()), dtype=np.int64),
            base_stats_names=np.array(list(self.base_stats)),
            base_stats=np.array(list(self.base_stats.values()), dtype=np.int64),
            indel_contig=ind.contig, indel_pos=ind.pos, indel_length=ind.length,
            indel_sequence=ind.sequence, indel_count=ind.count,
            params=np.array(repr(sorted(self.params.items()))),
        )
        if self.qual_hist is not None:
            arrays["qual_hist"] = self.qual_hist
        if self.junction is not None:
            arrays["junction"] = self.junction
        with atomic_output(path, "wb") as fh:
            np.savez_compressed(fh, **arrays)


def load_counts(path: str | os.PathLike[str]) -> CountResult:
    """Load a count table written by :meth:`CountResult.save`.

    Raises
    ------
    InputFileError
        The file is missing or not a deepamp count file.
    FormatError
        A count file of another format version.
    """
    from .io import open_npz

    path = os.fspath(path)
    with open_npz(path, "count file") as z:
        if "format_version" not in z:
            raise InputFileError(f"{path}: not a deepamp count file")
        version = int(z["format_version"])
        if version != COUNT_FORMAT_VERSION:
            raise FormatError(f"{path}: count file version {version}, this deepamp reads {COUNT_FORMAT_VERSION}")
        regions = [Region(str(c), int(s), int(e), str(n)) for c, s, e, n in
                   zip(z["region_contig"], z["region_start"], z["region_end"], z["region_name"])]
        indels = IndelEvents(z["indel_contig"], z["indel_pos"], z["indel_length"],
                             z["indel_sequence"], z["indel_count"])
        return CountResult(
            regions, z["contig"], z["pos"], z["ref"], z["counts"],
            z["qual_hist"] if "qual_hist" in z else None,
            dict(zip(map(str, z["read_stats_names"]), map(int, z["read_stats"]))),
            dict(zip(map(str, z["base_stats_names"]), map(int, z["base_stats"]))),
            indels, {"loaded_from": path},
            junction=z["junction"] if "junction" in z else None)


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
          min_mapq: int = 0, min_bq: int = 6, min_alt_bq: int | None = None,
          flag_exclude: int = DEFAULT_FLAG_EXCLUDE, merge_mates: bool = True,
          threads: int = 1, qual_hist: bool = True,
          mate_memory: int = DEFAULT_MATE_MEMORY) -> CountResult:
    """Count every base of every read over the regions, with no depth cap.

    Parameters
    ----------
    bam : indexed, coordinate-sorted BAM or CRAM
    regions : region strings (``chr2:29220700-29220840``, 1-based) or Region objects
    bed : BED file of regions (both may be given; intervals are merged)
    reference : FASTA; enables the alt-quality filter and fills ``ref`` (needed for CRAM)
    min_mapq : reads with lower mapping quality are dropped
    min_bq : bases with lower base quality are dropped (default 6, as in Villa 2024)
    min_alt_bq : non-reference bases below this are dropped (default: ``min_bq``)
    flag_exclude : reads with any of these SAM flag bits are dropped
        (default: unmapped, secondary, QC-fail, duplicate, supplementary)
    merge_mates : count the overlap of two mates once per fragment; where the
        mates disagree the position is masked and counted as discordant
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
    """
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
        refs, reference_path=ref_path, min_mapq=min_mapq, min_bq=min_bq,
        min_alt_bq=min_bq if min_alt_bq is None else min_alt_bq, flag_exclude=flag_exclude,
        merge_mates=merge_mates, threads=threads, qual_hist=qual_hist,
        mate_memory=mate_memory, tmpdir=tempfile.gettempdir())
    contig = np.concatenate([np.full(len(r), r.contig, dtype=object) for r in merged]).astype(str)
    pos = np.concatenate([np.arange(r.start, r.end, dtype=np.int64) for r in merged])
    ref_arr = np.array(list("".join(s if s is not None else "N" * len(r) for s, r in zip(refs, merged))))
    names = np.array(info.contigs)
    indels = IndelEvents(names[raw["indel_tid"]] if len(raw["indel_tid"]) else np.array([], dtype=str),
                         raw["indel_pos"], raw["indel_len"], np.array(raw["indel_seq"], dtype=str),
                         raw["indel_count"])
    params = dict(bam=bam, reference=ref_path, min_mapq=min_mapq, min_bq=min_bq,
                  min_alt_bq=min_bq if min_alt_bq is None else min_alt_bq,
                  flag_exclude=flag_exclude, merge_mates=merge_mates, sample=info.sample)
    return CountResult(merged, contig, pos, ref_arr, raw["counts"], raw["qual_hist"],
                       raw["read_stats"], raw["base_stats"], indels, params,
                       tuple(zip(info.contigs, info.lengths)), raw["junction"])


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
