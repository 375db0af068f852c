"""Quality control shown first on a report: reads and bases used or dropped, and coverage per amplicon.

Reads and bases come from the VCF's ``##deepamp_reads`` / ``##deepamp_bases``
/ ``##deepamp_sites`` lines (what ``deepamp call`` counted), each as one
compact line.  An amplicon passes when every one of its positions has at
least the minimum coverage (``-C``; the study used 5,000): a site below it
could not be called at the study's threshold.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from deepamp.io.regions import Region
from deepamp.report.panel import PanelData

__all__ = ["DEFAULT_MIN_COV", "AmpliconCoverage", "amplicon_coverage", "reads_line", "bases_line", "sites_line"]

#: Minimum coverage of Villa et al. 2024 (and of ``deepamp filter --preset villa2024``).
DEFAULT_MIN_COV = 5000
#: Read counters that are not reasons for dropping a read.
_READ_INFO = ("seen", "used", "mates_merged")


def _items(counts: dict[str, int], skip: tuple[str, ...]) -> str:
    return ", ".join(f"{k} {v:,}" for k, v in counts.items() if k not in skip and v)


def reads_line(reads: dict[str, int]) -> str | None:
    """``reads: 100,000 seen, 99,000 used (mates merged 48,000); dropped: duplicate 500, low_mapq 500``.

    Returns None when the VCF has no ``##deepamp_reads`` line.
    """
    if not reads:
        return None
    text = f"reads: {reads.get('seen', 0):,} seen, {reads.get('used', 0):,} used"
    if reads.get("mates_merged"):
        text += f" (overlapping mates merged: {reads['mates_merged']:,})"
    return text + "; dropped: " + (_items(reads, _READ_INFO) or "none")


def bases_line(bases: dict[str, int]) -> str | None:
    """``bases: 3,937,170 counted; not counted: low_base_quality 53,250, overlap_merged ...``; None if absent."""
    if not bases:
        return None
    return f"bases: {bases.get('counted', 0):,} counted; not counted: " + (_items(bases, ("counted",)) or "none")


def sites_line(sites: dict[str, int]) -> str | None:
    """``sites: 658 positions, 658 tested; not tested: below_min_cov 3``; None if absent."""
    if not sites:
        return None
    text = f"sites: {sites.get('positions', 0):,} positions, {sites.get('tested', 0):,} tested"
    rest = _items(sites, ("positions", "tested"))
    return text + (f"; not tested: {rest}" if rest else "")


@dataclass(frozen=True)
class AmpliconCoverage:
    """Depth along one amplicon against the minimum coverage.

    Attributes
    ----------
    region : the amplicon (0-based half-open; ``name`` from the BED)
    pos : 0-based positions
    depth : counted bases per position (A, C, G, T, N on both strands)
    min_cov : the minimum coverage
    """

    region: Region
    pos: np.ndarray
    depth: np.ndarray
    min_cov: int

    @property
    def name(self) -> str:
        """The BED name, else the coordinates."""
        return self.region.name or str(self.region)

    @property
    def below(self) -> int:
        """Positions below the minimum coverage."""
        return int((self.depth < self.min_cov).sum())

    @property
    def passed(self) -> bool:
        """Every position has at least the minimum coverage."""
        return len(self.depth) > 0 and self.below == 0

    @property
    def minimum(self) -> int:
        return int(self.depth.min()) if len(self.depth) else 0

    @property
    def median(self) -> float:
        return float(np.median(self.depth)) if len(self.depth) else 0.0

    @property
    def mean(self) -> float:
        return float(self.depth.mean()) if len(self.depth) else 0.0


def amplicon_coverage(panel: PanelData, min_cov: int) -> list[AmpliconCoverage]:
    """Depth along every amplicon of the panel (empty without a count table).

    Parameters
    ----------
    panel : the checked panel inputs (every amplicon is covered by the count table)
    min_cov : minimum coverage

    Returns
    -------
    One AmpliconCoverage per amplicon, in panel order.
    """
    if panel.counts is None:
        return []
    depth = panel.counts.depth
    out = []
    for region in panel.amplicons:
        rows = panel.rows(region)
        out.append(AmpliconCoverage(region, panel.counts.pos[rows].astype(np.int64), depth[rows].astype(np.int64),
                                    min_cov))
    return out
