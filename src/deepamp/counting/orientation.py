"""Bases by fragment orientation at chosen sites: the evidence of oxidation-type artefacts.

A fragment is F1R2 when its read 1 maps forward (read 2 reverse) and F2R1
otherwise; a single-end read takes its own strand.  Damage of one template
strand before amplification (8-oxo-guanine: G>T / C>A; Costello et al. 2013,
Nucleic Acids Res 41:e67) shows up in one orientation only, whatever the read
strand, while a real variant is carried by fragments of both orientations in
the proportion of the reference allele.  Counting by orientation needs the
read pairing, so it is done for a few sites (the candidate calls of capture
regions) by reading those sites again, with the counting options' read and
base filters; both mates of a fragment count once, and a fragment whose mates
disagree at the site is not counted.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pysam

from deepamp.options import CountOptions

__all__ = ["orientation_counts", "F1R2", "F2R1"]

F1R2, F2R1 = 0, 1
_CODE = {"A": 0, "C": 1, "G": 2, "T": 3}


def _orientation(read: pysam.AlignedSegment) -> int:
    if not read.is_paired:
        return F2R1 if read.is_reverse else F1R2
    forward_read1 = (read.is_read1 and not read.is_reverse) or (read.is_read2 and read.is_reverse)
    return F1R2 if forward_read1 else F2R1


def orientation_counts(bam: str | os.PathLike[str], sites: Sequence[tuple[str, int]], *, reference: str | None = None,
                       ref_bases: Sequence[str] | None = None, options: CountOptions | None = None) -> np.ndarray:
    """uint32 (S, 4, 2): fragments per site, base A C G T and orientation (F1R2, F2R1).

    Parameters
    ----------
    bam : the indexed alignment file
    sites : (contig, 0-based position) per site
    reference : FASTA for CRAM
    ref_bases : the reference base per site (for the alt-quality filter); None: every base uses ``min_bq``
    options : the CountOptions of the counts (flags, MAPQ, base qualities)
    """
    options = options or CountOptions()
    out = np.zeros((len(sites), 4, 2), np.uint32)
    verbosity = pysam.set_verbosity(0)
    try:
        with pysam.AlignmentFile(os.fspath(bam), reference_filename=reference) as fh:
            for i, (contig, pos) in enumerate(sites):
                ref = ref_bases[i].upper() if ref_bases is not None else None
                seen: dict[str, tuple[int, int]] = {}
                for read in fh.fetch(contig, pos, pos + 1):
                    if read.flag & options.flag_exclude or read.is_unmapped or \
                            read.mapping_quality < options.min_mapq or read.query_sequence is None:
                        continue
                    qpos = _query_position(read, pos)
                    if qpos is None:
                        continue
                    base = read.query_sequence[qpos].upper()
                    code = _CODE.get(base)
                    if code is None:
                        continue
                    q = read.query_qualities[qpos] if read.query_qualities is not None else 255
                    if q < (options.min_bq if base == ref or ref is None else options.alt_bq):
                        continue
                    obs = (code, _orientation(read))
                    name = read.query_name
                    if name in seen:
                        if seen[name] != obs:
                            seen[name] = (-1, -1)      # mates disagree: not counted
                        continue
                    seen[name] = obs
                for code, orient in seen.values():
                    if code >= 0:
                        out[i, code, orient] += 1
    finally:
        pysam.set_verbosity(verbosity)
    return out


def _query_position(read: pysam.AlignedSegment, pos: int) -> int | None:
    """The query index aligned to reference ``pos`` (None for a deletion, skip or clip)."""
    qpos, rpos = 0, read.reference_start
    for op, length in read.cigartuples or ():
        if op in (0, 7, 8):                     # M = X
            if rpos <= pos < rpos + length:
                return qpos + pos - rpos
            qpos += length
            rpos += length
        elif op in (1, 4):                      # I S
            qpos += length
        elif op in (2, 3):                      # D N
            if rpos <= pos < rpos + length:
                return None
            rpos += length
        if rpos > pos:
            return None
    return None
