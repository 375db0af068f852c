# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Thin binding of csrc/phase.c: fragment allele tables of site pairs.

Status codes become exceptions through :mod:`deepamp._status` (the shared
table).  No algorithm lives here."""

from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc

import numpy as np

from ._status import raise_for_status

cdef extern from "da_error.h":
    ctypedef struct da_error_t:
        int code
        char msg[320]
    const char *da_strerror(int code)

cdef extern from "phase.h":
    enum:
        DA_PH_NALLELE
        DA_PH_NSTATS
    ctypedef struct da_phase_site_t:
        int32_t tid
        int64_t pos0
        char ref
        char alt
    ctypedef struct da_phase_opts_t:
        int min_mapq
        int min_bq
        uint32_t flag_exclude
    ctypedef struct da_phase_result_t:
        uint64_t counts[4][4]
        uint64_t stats[5]
    int da_phase_count(const char *path, const char *ref_path,
                       const da_phase_site_t *a, const da_phase_site_t *b, int64_t npairs,
                       const da_phase_opts_t *opts, da_phase_result_t *res, da_error_t *err) nogil

ALLELES = ("ref", "alt", "other", "none")
STATS = ("reads_seen", "reads_used", "fragments", "mates_joined", "discordant")
assert len(ALLELES) == DA_PH_NALLELE and len(STATS) == DA_PH_NSTATS


cdef int _fill(da_phase_site_t *s, site) except -1:
    tid, pos0, ref, alt = site
    if len(ref) != 1 or len(alt) != 1:
        raise ValueError(f"site {site!r}: REF and ALT must be single bases")
    s.tid = tid
    s.pos0 = pos0
    s.ref = ord(ref.upper())
    s.alt = ord(alt.upper())
    return 0


def count_pairs(str path, pairs, *, str reference_path=None, int min_mapq=0, int min_bq=0,
                unsigned int flag_exclude=0xF04):
    """Fragment tables for ``pairs`` = [((tid, pos0, ref, alt), (tid, pos0, ref, alt)), ...].

    Returns (counts, stats): uint64 arrays of shape (n, 4, 4) indexed
    [pair, allele at A, allele at B] with alleles in :data:`ALLELES` order,
    and (n, 5) in :data:`STATS` order.
    """
    cdef Py_ssize_t n = len(pairs), i
    cdef da_phase_site_t *a = <da_phase_site_t *>malloc(max(n, 1) * sizeof(da_phase_site_t))
    cdef da_phase_site_t *b = <da_phase_site_t *>malloc(max(n, 1) * sizeof(da_phase_site_t))
    cdef da_phase_result_t *res = <da_phase_result_t *>malloc(max(n, 1) * sizeof(da_phase_result_t))
    cdef da_phase_opts_t opts
    cdef da_error_t err
    cdef int rc
    cdef bytes bpath = path.encode()
    cdef bytes bref = reference_path.encode() if reference_path is not None else None
    cdef const char *cpath = bpath
    cdef const char *cref = NULL
    if bref is not None:
        cref = bref
    err.code = 0
    err.msg[0] = 0
    opts.min_mapq = min_mapq
    opts.min_bq = min_bq
    opts.flag_exclude = flag_exclude
    try:
        if a == NULL or b == NULL or res == NULL:
            raise MemoryError()
        for i in range(n):
            _fill(&a[i], pairs[i][0])
            _fill(&b[i], pairs[i][1])
        with nogil:
            rc = da_phase_count(cpath, cref, a, b, n, &opts, res, &err)
        if rc != 0:
            msg = (<bytes>err.msg).decode("utf-8", "replace") or da_strerror(rc).decode()
            raise_for_status(rc, msg)
        counts = np.zeros((n, 4, 4), dtype=np.uint64)
        stats = np.zeros((n, 5), dtype=np.uint64)
        for i in range(n):
            counts[i] = [[res[i].counts[x][y] for y in range(4)] for x in range(4)]
            stats[i] = [res[i].stats[k] for k in range(5)]
        return counts, stats
    finally:
        free(a)
        free(b)
        free(res)
