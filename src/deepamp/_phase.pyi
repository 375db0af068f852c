from collections.abc import Sequence

import numpy as np

ALLELES: tuple[str, ...]
STATS: tuple[str, ...]

Site = tuple[int, int, str, str]

def count_pairs(path: str, pairs: Sequence[tuple[Site, Site]], *, reference_path: str | None = ...,
                min_mapq: int = ..., min_bq: int = ...,
                flag_exclude: int = ...) -> tuple[np.ndarray, np.ndarray]: ...
