"""Multiple-testing corrections and p-value scales, in natural-log space.

Every p-value is carried as a natural log (``logp``) so that values such as
1e-4000 never underflow to 0.  One module serves the callers (Bonferroni with
LoFreq's dynamic factor, Benjamini-Hochberg) and the filters (``lofreq
filter``'s ``bonf``, ``holm-bonf`` and ``fdr``).

* :func:`bonferroni`: ``min(0, logp + log m)``.
* :func:`holm`: Holm's step-down Bonferroni (monotone).
* :func:`benjamini_hochberg`: BH q-values; tests not passed in are taken to
  have p = 1, which ranks them last and leaves the others' q-values unchanged.
* :func:`adjust`: one of them by name (``bonferroni``/``bonf``, ``holm``/``holm-bonf``,
  ``fdr``/``bh``, ``none``).
* :func:`phred` and :func:`format_p`: the finite Phred score (QUAL) and an
  exact decimal text of any log p-value (``1.8e-65``, ``3e-4000``).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["bonferroni", "holm", "benjamini_hochberg", "adjust", "effective_tests", "phred", "format_p",
           "PHRED_CAP", "METHODS"]

#: Upper bound returned by :func:`phred` (p <= 1e-10000 all map here).
PHRED_CAP = 100000.0
_LN10 = math.log(10.0)

#: Accepted method names and what they mean.
METHODS = {"bonferroni": "bonferroni", "bonf": "bonferroni", "holm": "holm", "holm-bonf": "holm",
           "fdr": "fdr", "bh": "fdr", "none": "none"}


def _check_logp(logp, m):
    lp = np.asarray(logp, dtype=np.float64)
    if lp.ndim != 1:
        raise ValueError("logp must be 1-D")
    if np.any(np.isnan(lp)) or np.any(lp > 0):
        raise ValueError("logp must be <= 0 and not NaN")
    if int(m) != m or m < max(1, lp.shape[0]):
        raise ValueError("m must be an integer >= max(1, len(logp))")
    return lp, int(m)


def bonferroni(logp, m) -> np.ndarray:
    """Bonferroni-adjusted log p-values: ``min(0, logp + log m)``.

    Parameters
    ----------
    logp : 1-D array of natural-log p-values (<= 0).
    m : int >= 1, the factor: normally the number of tests; a fixed factor (LoFreq's
        ``-b N``) may be smaller than ``len(logp)`` and is used as given.

    Returns
    -------
    numpy.ndarray of adjusted log p-values.

    Raises
    ------
    ValueError
        If logp contains NaN/positive values or m is not an integer >= 1.
    """
    lp, _ = _check_logp(logp, max(1, np.asarray(logp).shape[0]) if np.ndim(logp) == 1 else 1)
    if int(m) != m or m < 1:
        raise ValueError("m must be an integer >= 1")
    return np.minimum(lp + math.log(int(m)), 0.0)


def holm(logp, m) -> np.ndarray:
    """Holm's step-down adjusted log p-values (``p_(i) * (m - i + 1)``, made monotone).

    Parameters and errors as :func:`bonferroni`; tests not passed in have p = 1
    and rank last.
    """
    lp, m = _check_logp(logp, m)
    n = lp.shape[0]
    if n == 0:
        return lp.copy()
    order = np.argsort(lp, kind="stable")
    ranks = np.arange(1, n + 1, dtype=np.float64)
    adj = np.maximum.accumulate(lp[order] + np.log(m - ranks + 1))
    out = np.empty(n, np.float64)
    out[order] = np.minimum(adj, 0.0)
    return out


def benjamini_hochberg(logp, m) -> np.ndarray:
    """Benjamini-Hochberg q-values (log scale) for the given tests.

    Tests not passed in (m - len(logp) of them) are taken to have p = 1;
    they rank last and therefore do not change the q-values of these.

    Parameters
    ----------
    logp : 1-D array of natural-log p-values (<= 0).
    m : int, total number of tests (>= len(logp)).

    Returns
    -------
    numpy.ndarray of log q-values, aligned with ``logp``.

    Raises
    ------
    ValueError
        If logp contains NaN/positive values or m < len(logp).
    """
    lp, m = _check_logp(logp, m)
    n = lp.shape[0]
    if n == 0:
        return lp.copy()
    order = np.argsort(lp, kind="stable")
    ranks = np.arange(1, n + 1, dtype=np.float64)
    adj = lp[order] + math.log(m) - np.log(ranks)
    adj = np.minimum.accumulate(adj[::-1])[::-1]
    out = np.empty(n, np.float64)
    out[order] = np.minimum(adj, 0.0)
    return out


def effective_tests(m: int | None, n: int, method: str) -> int:
    """The number of tests a method uses: ``m`` as given for Bonferroni (a fixed factor may be
    below ``n``), at least ``n`` for Holm and Benjamini-Hochberg, ``n`` when ``m`` is None."""
    m = n if m is None else int(m)
    if n == 0:
        return max(m, 0)
    return max(m, 1) if METHODS.get(method) in ("bonferroni", "none") else max(m, n, 1)


def adjust(logp, m: int | None, method: str) -> np.ndarray:
    """Adjusted log p-values by ``method`` (see :data:`METHODS`) over ``m`` tests.

    ``m`` None means ``len(logp)``; see :func:`effective_tests` for the number used.

    Raises
    ------
    ValueError
        An unknown method, or logp with NaN/positive values.
    """
    lp = np.asarray(logp, dtype=np.float64)
    try:
        kind = METHODS[method]
    except KeyError:
        raise ValueError(f"unknown multiple-testing correction {method!r}") from None
    if kind == "none" or lp.size == 0:
        _check_logp(lp, max(1, lp.size))
        return lp.copy()
    m = effective_tests(m, lp.size, method)
    return {"bonferroni": bonferroni, "holm": holm, "fdr": benjamini_hochberg}[kind](lp, m)


def phred(logp) -> np.ndarray:
    """Phred-scaled QUAL ``-10 log10(p)`` from natural-log p-values.

    The result is finite: values are capped at :data:`PHRED_CAP` (100000,
    i.e. p <= 1e-10000, including p = 0 / logp = -inf) and p = 1 gives
    exactly 0.0 (never -0.0).

    Parameters
    ----------
    logp : array of natural-log p-values (<= 0).

    Returns
    -------
    numpy.ndarray of float64 QUAL values in [0, PHRED_CAP].

    Raises
    ------
    ValueError
        If logp contains NaN or positive values.
    """
    lp = np.asarray(logp, dtype=np.float64)
    if np.any(np.isnan(lp)) or np.any(lp > 0):
        raise ValueError("logp must be <= 0 and not NaN")
    q = np.minimum(-10.0 * lp / _LN10, PHRED_CAP)
    return q + 0.0


def format_p(logp: float, digits: int = 2) -> str:
    """The p-value ``exp(logp)`` as decimal text with ``digits`` significant digits.

    Exact far below double precision (``format_p(-4000 * ln 10)`` is ``1e-4000``),
    so a VCF keeps every p-value as written; p = 0 (``logp = -inf``) is ``0``.
    """
    if math.isnan(logp) or logp > 0:
        raise ValueError("logp must be <= 0 and not NaN")
    if logp == -math.inf:
        return "0"
    if logp > -700:
        return f"{math.exp(logp):.{digits}g}"
    log10 = logp / _LN10
    exponent = math.floor(log10)
    mantissa = 10.0 ** (log10 - exponent)
    text = f"{mantissa:.{digits - 1}f}".rstrip("0").rstrip(".")
    if text == "10":
        text, exponent = "1", exponent + 1
    return f"{text}e{exponent}"
