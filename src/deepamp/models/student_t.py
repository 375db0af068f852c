"""Student's t distribution: upper tail and quantile, in pure Python (no SciPy at run time).

The tail is the regularised incomplete beta function,
``P(T > t) = I_{df / (df + t^2)}(df / 2, 1 / 2) / 2`` for ``t >= 0``, evaluated by
its continued fraction (modified Lentz algorithm; Press et al., Numerical Recipes,
3rd ed., 2007, section 6.4).  The quantile inverts the tail by bisection on a
monotone function, to about 1e-12 relative accuracy.
"""

from __future__ import annotations

import math

__all__ = ["t_sf", "t_two_sided", "t_quantile"]

_EPS = 1e-15
_TINY = 1e-300


def _betacf(a: float, b: float, x: float) -> float:
    """Continued fraction of the incomplete beta function (converges for x < (a + 1) / (a + b + 2))."""
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > _TINY else _TINY)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > _TINY else _TINY)
        c = 1.0 + aa / c
        c = c if abs(c) > _TINY else _TINY
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < _EPS:
            break
    return h


def _betainc(a: float, b: float, x: float) -> float:
    """Regularised incomplete beta function ``I_x(a, b)`` for a, b > 0 and 0 <= x <= 1."""
    if x <= 0.0:
        return 0.0
    if x >= 1.0:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x))
    if x < (a + 1.0) / (a + b + 2.0):
        return front * _betacf(a, b, x) / a
    return 1.0 - front * _betacf(b, a, 1.0 - x) / b


def _check_df(df: float) -> None:
    if isinstance(df, bool) or not isinstance(df, (int, float)) or not df > 0 or not math.isfinite(df):
        raise ValueError(f"degrees of freedom must be a finite number > 0, not {df!r}")


def t_sf(t: float, df: float) -> float:
    """``P(T > t)`` for Student's t with ``df`` degrees of freedom (``t`` may be +-inf).

    Raises
    ------
    ValueError
        ``df`` is not a finite number > 0, or ``t`` is NaN.
    """
    _check_df(df)
    if math.isnan(t):
        raise ValueError("t must not be NaN")
    if math.isinf(t):
        return 0.0 if t > 0 else 1.0
    tail = 0.5 * _betainc(df / 2.0, 0.5, df / (df + t * t))
    return tail if t >= 0 else 1.0 - tail


def t_two_sided(t: float, df: float) -> float:
    """Two-sided p-value ``P(|T| >= |t|)``."""
    return min(1.0, 2.0 * t_sf(abs(t), df))


def t_quantile(q: float, df: float) -> float:
    """The ``q`` quantile of Student's t (``t_quantile(0.975, 7)`` = 2.3646...).

    Raises
    ------
    ValueError
        ``q`` is not in (0, 1) or ``df`` is invalid.
    """
    _check_df(df)
    if not 0.0 < q < 1.0:
        raise ValueError(f"q must be in (0, 1), not {q!r}")
    if q == 0.5:
        return 0.0
    upper = 1.0 - q if q > 0.5 else q      # the tail beyond |t|
    lo, hi = 0.0, 1.0
    while t_sf(hi, df) > upper:
        hi *= 2.0
        if hi > 1e300:
            break
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if t_sf(mid, df) > upper:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-13 * max(1.0, hi):
            break
    t = 0.5 * (lo + hi)
    return t if q > 0.5 else -t
