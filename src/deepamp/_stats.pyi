"""Type stub for the compiled ``deepamp._stats`` module (csrc/tails.c).

All functions return natural-log upper-tail probabilities log P(X >= k)
as float64 arrays: 0.0 for k <= 0 and -inf for k > n.  Invalid inputs
raise ValueError.
"""
from typing import Optional

import numpy as np
import numpy.typing as npt

def logsf_binom(
    k: npt.ArrayLike, n: npt.ArrayLike, p: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """log P(X >= k), X ~ Binomial(n, p); k, n, p broadcast together.

    Raises ValueError if n < 0, p outside [0, 1] or k/n not integer.
    """

def logsf_betabinom(
    k: npt.ArrayLike, n: npt.ArrayLike, alpha: npt.ArrayLike, beta: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """log P(X >= k), X ~ BetaBinomial(n, alpha, beta); broadcast together.

    Raises ValueError if n < 0 or alpha/beta are not finite and > 0.
    """

def logsf_poibin_qhist(
    k: npt.ArrayLike,
    qual_hist: npt.ArrayLike,
    rows: Optional[npt.ArrayLike] = None,
) -> npt.NDArray[np.float64]:
    """log P(X >= k[m]) for the quality-aware Poisson-binomial of one row.

    k: int64[M]; qual_hist: integer [R, Q] (Q <= 256), qual_hist[r, q] =
    number of bases with Phred quality q, error probability 10**(-q/10);
    rows: optional int64[M] selecting the histogram row for each k (default
    row m for k[m], which then requires R == M).
    """

def logsf_poibin(
    k: npt.ArrayLike, n: npt.ArrayLike, p: npt.ArrayLike
) -> npt.NDArray[np.float64]:
    """log P(X >= k[m]) for X = sum_g Binomial(n[g], p[g]) (shared groups).

    k: int64[M]; n: int64[G] >= 0; p: float64[G] in [0, 1].
    """
