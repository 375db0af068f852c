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
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import pysam

from deepamp.io.regions import Region
from deepamp.options import CountOptions

__all__ = ["AssayShape", "assay_shapes", "SAMPLE_READS", "BIN", "HOT_BIN", "AMPLICON_SHARE", "DUPLICATE_WARNING"]

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


def _shape(fh: pysam.AlignmentFile, region: Region, options: CountOptions) -> AssayShape:
    ends: Counter = Counter()
    fragments: Counter = Counter()
    n = 0
    for read in fh.fetch(region.contig, region.start, region.end):
        if read.flag & options.flag_exclude or read.mapping_quality < options.min_mapq or read.is_unmapped:
            continue
        rev = read.is_reverse
        five = read.reference_end if rev else read.reference_start
        ends[(rev, five // BIN)] += 1
        if not (read.is_paired and read.is_read2):
            key = (read.reference_start, read.next_reference_start if read.is_paired else read.reference_end,
                   read.template_length, rev)
            fragments[key] += 1
        n += 1
        if n >= SAMPLE_READS:
            break
    if n < 50:
        return AssayShape(region, "unknown", 0.0, 0.0, n)
    share = sum(c for c in ends.values() if c >= HOT_BIN * n) / n
    total = sum(fragments.values())
    dup = sum(c - 1 for c in fragments.values() if c > 1) / total if total else 0.0
    return AssayShape(region, "amplicon" if share >= AMPLICON_SHARE else "capture", share, dup, n)


def assay_shapes(bam: str | os.PathLike[str], regions: Sequence[Region], *, reference: str | None = None,
                 options: CountOptions | None = None) -> list[AssayShape]:
    """The assay shape of every region (see the module docstring).

    The BAM was checked by counting before, so errors here are not expected;
    an unreadable file still raises (``InputFileError`` from pysam's OSError is
    the caller's to map).
    """
    options = options or CountOptions()
    verbosity = pysam.set_verbosity(0)
    try:
        with pysam.AlignmentFile(os.fspath(bam), reference_filename=reference) as fh:
            return [_shape(fh, r, options) for r in regions]
    finally:
        pysam.set_verbosity(verbosity)
