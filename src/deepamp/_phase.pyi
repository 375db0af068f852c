"""Type stub for the compiled ``deepamp._phase`` module (csrc/phase.c)."""
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

ALLELES: tuple[str, ...]
SITE_OUTCOMES: tuple[str, ...]
READ_STATS: tuple[str, ...]
TOTALS: tuple[str, ...]
WINDOW_GAP: int

Site = tuple[int, int, str, str]

def count_pairs(path: str, sites: Sequence[Site], pair_a: npt.ArrayLike, pair_b: npt.ArrayLike, *,
                reference_path: str | None = ..., min_mapq: int = ..., min_bq: int = ...,
                min_alt_bq: int = ..., flag_exclude: int = ...,
                max_patterns: int = ...) -> dict[str, np.ndarray]:
    """Fragment tables of the pairs (sites[pair_a[i]], sites[pair_b[i]]) in one pass.

    Returns ``counts`` (P, 4, 4), ``site_reads`` (S, 9), ``site_frags`` (S, 10),
    ``site_reach`` (S,) and ``totals`` (11,).
    """
