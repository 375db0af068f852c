"""The panel-level inputs of a report: count table, amplicons, background and per-site LOD, checked together.

* The count table is the ``.npz`` written by ``deepamp count -o SAMPLE.npz``
  (:func:`deepamp.load_counts`); it gives the depth along every amplicon.
* The amplicons come from a BED (names in column 4); without one, every
  counted region is an amplicon named by its coordinates.
* The background is the file of ``deepamp background``
  (:func:`deepamp.load_background`): per-site error rates of the controls.
* A limit of detection per site is shown when the count file holds an array
  named :data:`LOD_ARRAY` (one VAF per counted position, NaN where none is
  known), or when a loaded count result carries a ``lod`` attribute of that
  shape.  Without it no LOD is drawn: the report never makes one up.

A count file of another panel, a background of another panel or reference,
or a count file of another BAM than the VCF's is refused with one line naming
the file.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepamp.counting.result import CountResult, load_counts
from deepamp.errors import FormatError, OptionError
from deepamp.io.npz import open_npz
from deepamp.io.regions import Region, read_bed
from deepamp.models.background import Background
from deepamp.models.background import load as load_background
from deepamp.report.inputs import VcfSummary

__all__ = ["LOD_ARRAY", "PanelData", "load_panel", "site_lod"]

#: Name of the optional per-site limit-of-detection array (VAF, shape (P,)) in a count file.
LOD_ARRAY = "lod"


@dataclass
class PanelData:
    """Counts, amplicons, background and LOD of one sample, consistent with each other.

    Attributes
    ----------
    amplicons : the amplicons (0-based half-open), in BED or counted order
    counts, counts_path : the count table and its file (None when not given)
    bed_path : the BED the amplicons came from (None: the counted regions)
    background : the learned background (None when not given)
    lod : per counted position limit of detection (VAF), NaN where unknown; None when absent
    """

    amplicons: list[Region]
    counts: CountResult | None = None
    counts_path: str | None = None
    bed_path: str | None = None
    background: Background | None = None
    lod: np.ndarray | None = None

    def __post_init__(self) -> None:
        self._rows: dict[tuple[str, int], int] = {}
        if self.counts is not None:
            self._rows = {(c, int(p)): i for i, (c, p) in
                          enumerate(zip(self.counts.contig.tolist(), self.counts.pos.tolist()))}
        self._bg_rows: dict[tuple[str, int], int] = {}
        if self.background is not None:
            self._bg_rows = {(str(c), int(p)): i for i, (c, p) in
                             enumerate(zip(self.background.contig.tolist(), self.background.pos.tolist()))}

    def row(self, contig: str, pos1: int) -> int | None:
        """Row of the 1-based position in the count table (None if not counted)."""
        return self._rows.get((contig, pos1 - 1))

    def rows(self, region: Region) -> np.ndarray:
        """Rows of the count table covering ``region`` (in position order)."""
        return np.array([self._rows[(region.contig, p)] for p in range(region.start, region.end)
                         if (region.contig, p) in self._rows], dtype=np.int64)

    def background_row(self, contig: str, pos1: int) -> int | None:
        """Row of the 1-based position in the background (None if not in it)."""
        return self._bg_rows.get((contig, pos1 - 1))

    def background_rows(self, region: Region) -> tuple[np.ndarray, np.ndarray]:
        """(0-based positions, background rows) of the background sites in ``region``."""
        pos = [p for p in range(region.start, region.end) if (region.contig, p) in self._bg_rows]
        return np.array(pos, dtype=np.int64), np.array([self._bg_rows[(region.contig, p)] for p in pos],
                                                       dtype=np.int64)

    def lod_at(self, contig: str, pos1: int) -> float | None:
        """Limit of detection (VAF) at a 1-based position, if the count file has one there."""
        if self.lod is None:
            return None
        i = self.row(contig, pos1)
        if i is None or not np.isfinite(self.lod[i]):
            return None
        return float(self.lod[i])

    def depth_at(self, contig: str, pos1: int) -> int | None:
        """Counted bases at a 1-based position (None if not counted)."""
        i = self.row(contig, pos1)
        return None if i is None or self.counts is None else int(self.counts.depth[i])


def site_lod(counts: CountResult, path: str | None) -> np.ndarray | None:
    """The per-site limit of detection of a count table, if it has one.

    Looked up as a ``lod`` attribute of ``counts``, else as the array
    :data:`LOD_ARRAY` of the count file at ``path``.

    Returns
    -------
    float64 array (P,) of VAFs, NaN where unknown; None when there is none.

    Raises
    ------
    FormatError
        The array does not have one finite fraction in [0, 1] (or NaN) per counted position.
    """
    where = path or "count table"
    lod = getattr(counts, "lod", None)
    if lod is None and path is not None:
        with open_npz(path, "count file") as z:
            lod = z[LOD_ARRAY] if LOD_ARRAY in z.files else None
    if lod is None:
        return None
    arr = np.asarray(lod)
    if arr.shape != (len(counts.pos),) or arr.dtype.kind not in "fiu":
        raise FormatError(f"{where}: '{LOD_ARRAY}' must hold one number per counted position "
                          f"({len(counts.pos)}), not shape {arr.shape}")
    arr = arr.astype(np.float64)
    ok = np.isnan(arr) | ((arr >= 0) & (arr <= 1))
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise FormatError(f"{where}: '{LOD_ARRAY}' at {counts.contig[i]}:{int(counts.pos[i]) + 1} is "
                          f"{float(arr[i]):g}, not a VAF in [0, 1] (NaN where unknown)")
    return arr


def _covered(rows: dict[tuple[str, int], int] | set[tuple[str, int]], region: Region) -> int:
    return sum((region.contig, p) in rows for p in range(region.start, region.end))


def load_panel(*, counts: str | None = None, bed: str | None = None, background: str | None = None,
               vcf: VcfSummary | None = None) -> PanelData:
    """Load and cross-check the panel-level inputs of a report.

    Parameters
    ----------
    counts : count table ``.npz`` (``deepamp count -o SAMPLE.npz``)
    bed : amplicons (BED; needs ``counts`` or ``background``)
    background : background file (``deepamp background``)
    vcf : the sample's VCF, to check that the count table is of the same BAM and panel

    Returns
    -------
    PanelData

    Raises
    ------
    OptionError
        A BED without a count table or background to measure it with.
    InputFileError, FormatError, ReferenceFileError
        A missing or malformed file; a count table that does not cover an amplicon, that
        saw another number of reads than the VCF's, or that has a malformed LOD array; a
        background of another panel or reference.
    """
    if bed is not None and counts is None and background is None:
        raise OptionError("--bed gives the amplicons of the count table: give --counts SAMPLE.npz too")
    res = load_counts(counts) if counts is not None else None
    bg = load_background(background) if background is not None else None
    if bed is not None:
        amplicons = read_bed(bed)
    elif res is not None:
        amplicons = list(res.regions)
    elif bg is not None:
        amplicons = _runs(bg)
    else:
        amplicons = []
    data = PanelData(amplicons, res, counts, bed, bg, None)
    if res is not None:
        rows = data._rows
        for region in amplicons:
            n = _covered(rows, region)
            if n < len(region):
                name = f"{region.name} ({region})" if region.name else str(region)
                raise FormatError(f"{counts}: count table covers {n} of the {len(region)} positions of amplicon "
                                  f"{name} from {bed} (counts of another panel?)")
        if vcf is not None and "seen" in vcf.reads and "seen" in res.read_stats \
                and vcf.reads["seen"] != res.read_stats["seen"]:
            raise FormatError(f"{counts}: counted {res.read_stats['seen']:,} reads, {vcf.path} "
                              f"{vcf.reads['seen']:,}: not counted from the same BAM and panel")
        data.lod = site_lod(res, counts)
    if bg is not None:
        for region in amplicons:
            n = _covered(data._bg_rows, region)
            if n < len(region):
                name = f"{region.name} ({region})" if region.name else str(region)
                raise FormatError(f"{background}: background covers {n} of the {len(region)} positions of amplicon "
                                  f"{name} (learned on another panel?)")
        if res is not None and amplicons:
            idx = np.concatenate([data.rows(r) for r in amplicons])
            bg.lookup(res.contig[idx], res.pos[idx], res.ref[idx])     # same reference bases, or one line
    return data


def _runs(bg: Background) -> list[Region]:
    """The runs of consecutive positions of a background (its panel's regions)."""
    contig, pos = bg.contig.astype(str), bg.pos.astype(np.int64)
    if not len(pos):
        return []
    brk = np.flatnonzero((contig[1:] != contig[:-1]) | (pos[1:] != pos[:-1] + 1)) + 1
    starts = np.concatenate(([0], brk))
    ends = np.concatenate((brk, [len(pos)]))
    return [Region(str(contig[a]), int(pos[a]), int(pos[b - 1]) + 1) for a, b in zip(starts, ends)]
