"""Type stub of the compiled binding deepamp._core."""

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

NSYM: int
NQUAL: int
CHUNK_LEN: int
SYMBOLS: tuple[str, ...]
READ_STATS: tuple[str, ...]
BASE_STATS: tuple[str, ...]

class HtslibSilenced:
    """htslib logs nothing inside ``with``; nests across threads."""

    def __enter__(self) -> "HtslibSilenced": ...
    def __exit__(self, *exc: object) -> bool: ...

def pileup(
    path: str,
    tids: Sequence[int] | npt.ArrayLike,
    begs: Sequence[int] | npt.ArrayLike,
    ends: Sequence[int] | npt.ArrayLike,
    refs: Sequence[str | bytes | None],
    *,
    reference_path: str | None = ...,
    min_mapq: int = ...,
    min_bq: int = ...,
    min_alt_bq: int = ...,
    flag_exclude: int = ...,
    merge_mates: bool = ...,
    threads: int = ...,
    qual_hist: bool = ...,
    mate_memory: int = ...,
    tmpdir: str | None = ...,
    pad_shifts_query: bool = ...,
    sample_reads: int = ...,
) -> dict[str, Any]:
    """Raw pileup: dict with counts (P, 7, 2) uint32, qual_hist (P, 64) uint32
    or None, junction (P, 2) uint32, read_stats, base_stats, and indel_* arrays."""
