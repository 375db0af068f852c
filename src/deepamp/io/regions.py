"""Regions: ``chr:start-end`` strings and BED files, merged into sorted,
disjoint intervals (0-based, half-open) for the pileup kernel."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from deepamp.errors import FormatError, InputFileError, RegionError


@dataclass(frozen=True, order=True)
class Region:
    """A 0-based half-open interval on a contig, with an optional name."""

    contig: str
    start: int
    end: int
    name: str = ""

    def __len__(self) -> int:
        return self.end - self.start

    def __str__(self) -> str:
        return f"{self.contig}:{self.start + 1}-{self.end}"


_REGION_RE = re.compile(r"^(?P<contig>[^:]+|\{.+\})(?::(?P<start>[0-9,]+)(?:-(?P<end>[0-9,]+))?)?$")


def parse_region(text: str, contig_lengths: dict[str, int] | None = None) -> Region:
    """Parse a samtools-style region (``chr2:29220700-29220840``, 1-based inclusive).

    ``chr2`` alone means the whole contig and ``chr2:100`` one position from 100
    to the end of the contig; both need ``contig_lengths``.

    Raises
    ------
    RegionError
        Malformed text, an empty interval, or a contig not in ``contig_lengths``.
    """
    m = _REGION_RE.match(text.strip())
    if not m:
        raise RegionError(f"region {text!r}: expected CONTIG[:START[-END]]")
    contig = m["contig"].strip("{}")
    length = None
    if contig_lengths is not None:
        if contig not in contig_lengths:
            raise RegionError(f"region {text!r}: contig {contig!r} is not in the BAM header")
        length = contig_lengths[contig]
    start = int(m["start"].replace(",", "")) - 1 if m["start"] else 0
    if m["end"]:
        end = int(m["end"].replace(",", ""))
    elif length is not None:
        end = length
    else:
        raise RegionError(f"region {text!r}: needs an end coordinate")
    if length is not None:
        end = min(end, length)
    if start < 0 or end <= start:
        raise RegionError(f"region {text!r} is empty")
    return Region(contig, start, end)


def read_bed(path: str | os.PathLike[str]) -> list[Region]:
    """Read a BED file (0-based half-open; ``track``/``browser``/``#`` lines skipped).

    Raises
    ------
    InputFileError
        The file does not exist or cannot be read.
    FormatError
        A malformed line; the message names the file and the line number.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            lines = fh.readlines()
    except FileNotFoundError:
        raise InputFileError(f"{path}: BED file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read BED file ({exc})") from None
    regions = []
    for lineno, line in enumerate(lines, 1):
        if not line.strip() or line.startswith(("#", "track", "browser")):
            continue
        fields = line.rstrip("\r\n").split("\t")
        if len(fields) < 3:
            fields = line.split()
        if len(fields) < 3:
            raise FormatError(f"{path}:{lineno}: BED line needs at least 3 columns (chrom, start, end)")
        try:
            start, end = int(fields[1]), int(fields[2])
        except ValueError:
            raise FormatError(f"{path}:{lineno}: BED start/end must be integers") from None
        if start < 0 or end <= start:
            raise FormatError(f"{path}:{lineno}: empty or negative BED interval {start}-{end}")
        regions.append(Region(fields[0], start, end, fields[3] if len(fields) > 3 else ""))
    if not regions:
        raise FormatError(f"{path}: BED file has no intervals")
    return regions


def merge_regions(regions: list[Region], contig_order: list[str]) -> list[Region]:
    """Sort by ``contig_order`` then start, and merge overlapping/adjacent intervals.

    Names of merged intervals are joined with ``+``.
    """
    rank = {c: i for i, c in enumerate(contig_order)}
    ordered = sorted(regions, key=lambda r: (rank.get(r.contig, len(rank)), r.start, r.end))
    merged: list[Region] = []
    for r in ordered:
        if merged and merged[-1].contig == r.contig and r.start <= merged[-1].end:
            last = merged[-1]
            name = "+".join(n for n in (last.name, r.name) if n)
            merged[-1] = Region(r.contig, last.start, max(last.end, r.end), name)
        else:
            merged.append(r)
    return merged
