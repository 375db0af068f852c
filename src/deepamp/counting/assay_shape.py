"""What kind of assay made the reads of a region: PCR amplicons or hybrid capture.

Amplicon reads start and end where the primers sit, so a few 5' positions hold
most reads of a region; capture fragments start anywhere.  The shape decides
which strand-bias test is right (amplicon ends are read from one strand only
by design: the amplicon-aware test; capture: LoFreq's Fisher test) and
whether a read-orientation (F1R2 / F2R1) artefact test makes sense (capture
only: in amplicon data orientation is fixed by the primers), and it tells
when a high share of identical fragments is suspicious (capture: unmarked
PCR duplicates; amplicon: by design).

The shape is read from a sample of up to ``SAMPLE_READS`` reads per region
(the ones the counting options keep): 5' ends are put in ``BIN``-base bins per
strand, and the share of reads in bins holding at least ``HOT_BIN`` of the
reads is the region's end concentration.  A region is ``amplicon`` when it is
at least ``AMPLICON_SHARE`` (primer ends: typically > 0.8, for any number of
amplicons in a region; capture: about 0, since fragments start anywhere over
the target and its flanks, each bin holding well under 2 % of the reads).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from deepamp.io.regions import Region
from deepamp.options import CountOptions

__all__ = ["AssayShape", "assay_shapes", "shapes_from_sample", "SAMPLE_READS", "BIN", "HOT_BIN", "AMPLICON_SHARE", "DUPLICATE_WARNING"]

SAMPLE_READS = 4000
BIN = 5
HOT_BIN = 0.02
AMPLICON_SHARE = 0.5
#: Share of identical fragments (same ends, strand) in capture data above which unmarked duplicates are suspected.
DUPLICATE_WARNING = 0.3


@dataclass(frozen=True)
class AssayShape:
    """The shape of one region's reads.

    Attributes
    ----------
    region : the region
    kind : "amplicon", "capture" or "unknown" (too few reads to tell)
    end_share : share of sampled reads whose 5' end is one of the most frequent ones
    duplicate_share : share of sampled fragments identical to another one (ends, strand),
        among reads not flagged as duplicates
    reads : reads sampled
    """

    region: Region
    kind: str
    end_share: float
    duplicate_share: float
    reads: int

    def describe(self) -> str:
        return (f"{self.region}:{self.kind}(ends={self.end_share:.2f},identical_fragments="
                f"{self.duplicate_share:.2f},reads={self.reads})")


def _shape(region: Region, reads: np.ndarray) -> AssayShape:
    """The shape from the sampled reads of a region (rows as csrc/ends.h describes them)."""
    n = len(reads)
    if n < 50:
        return AssayShape(region, "unknown", 0.0, 0.0, n)
    _, per_bin = np.unique(reads[:, 0] + 2 * (reads[:, 1] // BIN), return_counts=True)   # (strand, 5' bin)
    share = int(per_bin[per_bin >= HOT_BIN * n].sum()) / n
    frag = reads[reads[:, 2] == 1][:, [3, 4, 5, 0]]               # (start, mate start or end, tlen, strand)
    total = len(frag)
    per_fragment = np.unique(frag, axis=0, return_counts=True)[1] if total else np.zeros(0, np.int64)
    dup = int((per_fragment[per_fragment > 1] - 1).sum()) / total if total else 0.0
    return AssayShape(region, "amplicon" if share >= AMPLICON_SHARE else "capture", share, dup, n)


def assay_shapes(bam: str | os.PathLike[str], regions: Sequence[Region], *, reference: str | None = None,
                 options: CountOptions | None = None) -> list[AssayShape]:
    """The assay shape of every counted region (overlapping regions merged, as counting merges them;
    see the module docstring).

    The sample is the one ``deepamp call`` takes while counting (the first :data:`SAMPLE_READS`
    kept reads of each region's index query), so this counts the regions too; errors are
    counting's.
    """
    from deepamp.counting.bam import _count

    counts, reads = _count(bam, list(regions), reference=reference, options=options or CountOptions(),
                           qual_hist=False, sample_reads=SAMPLE_READS)
    return shapes_from_sample(counts.regions, reads)


def shapes_from_sample(regions: Sequence[Region], sample: Sequence[np.ndarray]) -> list[AssayShape]:
    """The shapes from each region's sampled reads, as counting takes them
    (``_core.pileup(sample_reads=SAMPLE_READS)``)."""
    return [_shape(r, rows) for r, rows in zip(regions, sample)]
