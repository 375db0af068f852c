# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Vectorised log upper-tail probabilities (thin binding of csrc/tails.c).

All functions return natural-log p-values ``log P(X >= k)`` as float64
arrays; inputs are broadcast against each other (numpy broadcasting rules)
and validated here, the C kernel assumes valid input.
"""
from libc.stdint cimport int64_t, uint32_t
from libc.math cimport isfinite

import numpy as np

cdef extern from "tails.h" nogil:
    double da_logsf_binom(int64_t k, int64_t n, double p)
    double da_logsf_betabinom(int64_t k, int64_t n, double alpha, double beta)
    double da_logsf_poibin_groups(int64_t k, int ngroups, const int64_t *n,
                                  const double *p)

_NQUAL_MAX = 256


def _as_int64(name, x):
    a = np.asarray(x)
    if a.dtype.kind == "b" or (a.dtype.kind not in "iu" and a.size and
                               not np.all(np.isfinite(a))):
        raise ValueError(f"{name} must be integer")
    if a.dtype.kind not in "iu":
        if a.size and not np.all(a == np.round(a)):
            raise ValueError(f"{name} must be integer-valued")
    if a.dtype.kind == "u" and a.size and a.max() > np.iinfo(np.int64).max:
        raise ValueError(f"{name} exceeds the int64 range")
    return a.astype(np.int64, copy=False)


def logsf_binom(k, n, p):
    """log P(X >= k) for X ~ Binomial(n, p), elementwise with broadcasting."""
    ka, na, pa = np.broadcast_arrays(_as_int64("k", k), _as_int64("n", n),
                                     np.asarray(p, dtype=np.float64))
    shape = ka.shape
    cdef const int64_t[::1] kv = np.ascontiguousarray(ka).ravel()
    cdef const int64_t[::1] nv = np.ascontiguousarray(na).ravel()
    cdef const double[::1] pv = np.ascontiguousarray(pa).ravel()
    if nv.shape[0] and np.min(nv) < 0:
        raise ValueError("n must be >= 0")
    if pv.shape[0] and not (np.all(np.asarray(pv) >= 0.0) and np.all(np.asarray(pv) <= 1.0)):
        raise ValueError("p must lie in [0, 1]")
    out = np.empty(kv.shape[0], dtype=np.float64)
    cdef double[::1] ov = out
    cdef Py_ssize_t i, m = kv.shape[0]
    with nogil:
        for i in range(m):
            ov[i] = da_logsf_binom(kv[i], nv[i], pv[i])
    return out.reshape(shape)


def logsf_betabinom(k, n, alpha, beta):
    """log P(X >= k) for X ~ BetaBinomial(n, alpha, beta), elementwise."""
    ka, na, aa, ba = np.broadcast_arrays(
        _as_int64("k", k), _as_int64("n", n),
        np.asarray(alpha, dtype=np.float64), np.asarray(beta, dtype=np.float64))
    shape = ka.shape
    cdef const int64_t[::1] kv = np.ascontiguousarray(ka).ravel()
    cdef const int64_t[::1] nv = np.ascontiguousarray(na).ravel()
    cdef const double[::1] av = np.ascontiguousarray(aa).ravel()
    cdef const double[::1] bv = np.ascontiguousarray(ba).ravel()
    if nv.shape[0] and np.min(nv) < 0:
        raise ValueError("n must be >= 0")
    for name, arr in (("alpha", av), ("beta", bv)):
        a = np.asarray(arr)
        if a.size and not (np.all(np.isfinite(a)) and np.all(a > 0.0)):
            raise ValueError(f"{name} must be finite and > 0")
    out = np.empty(kv.shape[0], dtype=np.float64)
    cdef double[::1] ov = out
    cdef Py_ssize_t i, m = kv.shape[0]
    with nogil:
        for i in range(m):
            ov[i] = da_logsf_betabinom(kv[i], nv[i], av[i], bv[i])
    return out.reshape(shape)


def logsf_poibin_qhist(k, qual_hist, rows=None):
    """log P(X >= k[m]) where X is the quality-aware Poisson-binomial of row
    ``rows[m]`` (or row m when ``rows`` is None) of ``qual_hist``.

    ``qual_hist[r, q]`` is the number of bases with Phred quality q, each
    with error probability 10**(-q/10).
    """
    kv_np = _as_int64("k", k)
    if kv_np.ndim != 1:
        raise ValueError("k must be 1-D")
    qh = np.asarray(qual_hist)
    if qh.ndim != 2:
        raise ValueError("qual_hist must be 2-D (rows, qualities)")
    if qh.dtype.kind not in "iu":
        raise ValueError("qual_hist must have an integer dtype")
    if qh.size and qh.min() < 0:
        raise ValueError("qual_hist must be non-negative")
    nq = qh.shape[1]
    if nq > _NQUAL_MAX:
        raise ValueError(f"at most {_NQUAL_MAX} quality bins are supported")
    cdef const int64_t[:, ::1] hv = np.ascontiguousarray(qh, dtype=np.int64)
    cdef Py_ssize_t nrows = qh.shape[0]
    if rows is None:
        if kv_np.shape[0] != nrows:
            raise ValueError("k and qual_hist must have the same number of rows")
        rows_np = np.arange(nrows, dtype=np.int64)
    else:
        rows_np = _as_int64("rows", rows)
        if rows_np.ndim != 1 or rows_np.shape[0] != kv_np.shape[0]:
            raise ValueError("rows must be 1-D with the same length as k")
        if rows_np.size and (rows_np.min() < 0 or rows_np.max() >= nrows):
            raise ValueError("rows out of range")
    cdef const int64_t[::1] kv = np.ascontiguousarray(kv_np)
    cdef const int64_t[::1] rv = np.ascontiguousarray(rows_np)
    perr = np.power(10.0, -np.arange(nq, dtype=np.float64) / 10.0)
    cdef const double[::1] pv = perr
    out = np.empty(kv.shape[0], dtype=np.float64)
    cdef double[::1] ov = out
    cdef Py_ssize_t i, m = kv.shape[0]
    cdef int nqi = <int>nq
    with nogil:
        for i in range(m):
            ov[i] = da_logsf_poibin_groups(kv[i], nqi, &hv[rv[i], 0], &pv[0])
    return out


def logsf_poibin(k, n, p):
    """log P(X >= k[m]) for X = sum_g Binomial(n[g], p[g]) (one shared set of
    groups, many thresholds k)."""
    kv_np = _as_int64("k", k)
    if kv_np.ndim != 1:
        raise ValueError("k must be 1-D")
    n_np = _as_int64("n", n)
    p_np = np.asarray(p, dtype=np.float64)
    if n_np.ndim != 1 or p_np.shape != n_np.shape:
        raise ValueError("n and p must be 1-D arrays of equal length")
    if n_np.size and n_np.min() < 0:
        raise ValueError("n must be >= 0")
    if p_np.size and not (np.all(p_np >= 0.0) and np.all(p_np <= 1.0)):
        raise ValueError("p must lie in [0, 1]")
    if n_np.shape[0] > 2**31 - 1:
        raise ValueError("too many groups")
    cdef const int64_t[::1] kv = np.ascontiguousarray(kv_np)
    cdef const int64_t[::1] nv = np.ascontiguousarray(n_np)
    cdef const double[::1] pv = np.ascontiguousarray(p_np)
    out = np.empty(kv.shape[0], dtype=np.float64)
    cdef double[::1] ov = out
    cdef Py_ssize_t i, m = kv.shape[0]
    cdef int ng = <int>nv.shape[0]
    if ng == 0:
        out[:] = np.where(kv_np <= 0, 0.0, -np.inf)
        return out
    with nogil:
        for i in range(m):
            ov[i] = da_logsf_poibin_groups(kv[i], ng, &nv[0], &pv[0])
    return out
