# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Thin binding of csrc/phase.c: fragment alleles at SNV sites and the tables of site pairs.

Status codes become exceptions through :mod:`deepamp._status` (the shared
table).  No algorithm lives here.  The outputs are numpy arrays allocated
here and written by the kernel while the GIL is released."""

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
        DA_PH_NOUTCOME
        DA_PH_SITE_NSTATS
        DA_PH_NREAD
        DA_PH_NTOTAL
        DA_PH_WINDOW_GAP
    ctypedef struct da_phase_site_t:
        int32_t tid
        int64_t pos0
        char ref
        char alt
    ctypedef struct da_phase_opts_t:
        int min_mapq
        int min_bq
        int min_alt_bq
        uint32_t flag_exclude
        int max_patterns
    ctypedef struct da_phase_out_t:
        uint64_t *counts
        uint64_t *site_reads
        uint64_t *site_frags
        int64_t *site_reach
        uint64_t totals[DA_PH_NTOTAL]
    int da_phase_count(const char *path, const char *ref_path, const da_phase_site_t *sites, int64_t nsites,
                       const int64_t *pair_a, const int64_t *pair_b, int64_t npairs,
                       const da_phase_opts_t *opts, da_phase_out_t *out, da_error_t *err) nogil

#: Allele order of the tables' axes.
ALLELES = ("ref", "alt", "other", "none")
#: Columns of ``site_frags``: what a fragment shows at a site, then fragments whose two mates both covered it.
SITE_OUTCOMES = ("ref", "alt", "other_base", "deletion", "n", "discordant", "low_base_quality",
                 "low_alt_base_quality", "no_quality", "both_mates")
#: Columns of ``site_reads``: reads overlapping the site (as ``deepamp.counting.bam.count``'s read_stats).
READ_STATS = ("seen", "used", "unmapped", "secondary", "supplementary", "qcfail", "duplicate",
              "low_mapq", "no_sequence")
#: ``totals``: every record once, then fragments with an outcome at a site and those made of two mates.
TOTALS = READ_STATS + ("fragments", "mates_joined")
#: Sites less than this many bases apart are read as one window.
WINDOW_GAP = DA_PH_WINDOW_GAP
assert len(ALLELES) == DA_PH_NALLELE and len(SITE_OUTCOMES) == DA_PH_SITE_NSTATS
assert len(READ_STATS) == DA_PH_NREAD and len(TOTALS) == DA_PH_NTOTAL


cdef int _fill(da_phase_site_t *s, site) except -1:
    tid, pos0, ref, alt = site
    if len(ref) != 1 or len(alt) != 1:
        raise ValueError(f"site {site!r}: REF and ALT must be single bases")
    s.tid = tid
    s.pos0 = pos0
    s.ref = ord(ref.upper())
    s.alt = ord(alt.upper())
    return 0


def count_pairs(str path, sites, pair_a, pair_b, *, str reference_path=None, int min_mapq=0, int min_bq=6,
                int min_alt_bq=6, unsigned int flag_exclude=0xF04, int max_patterns=0):
    """Fragment tables of the pairs (sites[pair_a[i]], sites[pair_b[i]]) in one pass over ``path``.

    ``sites`` = [(tid, pos0, ref, alt), ...]; ``pair_a``, ``pair_b``: site
    indices (two different sites on one contig per pair).

    Returns a dict of numpy arrays: ``counts`` uint64 (P, 4, 4) indexed
    [pair, allele at a, allele at b] in :data:`ALLELES` order;
    ``site_reads`` uint64 (S, 9) in :data:`READ_STATS` order;
    ``site_frags`` uint64 (S, 10) in :data:`SITE_OUTCOMES` order;
    ``site_reach`` int64 (S,): longest fragment with an outcome at the site;
    ``totals`` uint64 (11,) in :data:`TOTALS` order.  ``max_patterns``: distinct
    fragment allele patterns held before they are added to the tables (0:
    the kernel's default); the results are the same for any value.

    Raises the :mod:`deepamp.errors` exception of the kernel's status code
    (every message names the file), or ValueError for a malformed site.
    """
    cdef Py_ssize_t n = len(sites), i
    cdef int64_t[::1] pa = np.ascontiguousarray(pair_a, dtype=np.int64)
    cdef int64_t[::1] pb = np.ascontiguousarray(pair_b, dtype=np.int64)
    cdef Py_ssize_t npairs = pa.shape[0]
    if pb.shape[0] != npairs:
        raise ValueError("pair_a and pair_b differ in length")
    counts = np.empty((npairs, DA_PH_NALLELE, DA_PH_NALLELE), dtype=np.uint64)
    site_reads = np.empty((n, DA_PH_NREAD), dtype=np.uint64)
    site_frags = np.empty((n, DA_PH_SITE_NSTATS), dtype=np.uint64)
    site_reach = np.empty(n, dtype=np.int64)
    cdef uint64_t[:, :, ::1] c_counts = counts
    cdef uint64_t[:, ::1] c_reads = site_reads
    cdef uint64_t[:, ::1] c_frags = site_frags
    cdef int64_t[::1] c_reach = site_reach
    cdef da_phase_site_t *cs = <da_phase_site_t *>malloc(max(n, 1) * sizeof(da_phase_site_t))
    cdef da_phase_opts_t opts
    cdef da_phase_out_t out
    cdef da_error_t err
    cdef int rc
    cdef bytes bpath = path.encode()
    cdef bytes bref = reference_path.encode() if reference_path is not None else None
    cdef const char *cpath = bpath
    cdef const char *cref = NULL
    cdef const int64_t *ppa = &pa[0] if npairs > 0 else NULL
    cdef const int64_t *ppb = &pb[0] if npairs > 0 else NULL
    if bref is not None:
        cref = bref
    err.code = 0
    err.msg[0] = 0
    opts.min_mapq = min_mapq
    opts.min_bq = min_bq
    opts.min_alt_bq = min_alt_bq
    opts.flag_exclude = flag_exclude
    opts.max_patterns = max_patterns
    out.counts = &c_counts[0, 0, 0] if npairs > 0 else NULL
    out.site_reads = &c_reads[0, 0] if n > 0 else NULL
    out.site_frags = &c_frags[0, 0] if n > 0 else NULL
    out.site_reach = &c_reach[0] if n > 0 else NULL
    try:
        if cs == NULL:
            raise MemoryError()
        for i in range(n):
            _fill(&cs[i], sites[i])
        with nogil:
            rc = da_phase_count(cpath, cref, cs, n, ppa, ppb, npairs, &opts, &out, &err)
        if rc != 0:
            msg = (<bytes>err.msg).decode("utf-8", "replace") or da_strerror(rc).decode()
            raise_for_status(rc, msg)
        totals = np.array([out.totals[i] for i in range(DA_PH_NTOTAL)], dtype=np.uint64)
        return {"counts": counts, "site_reads": site_reads, "site_frags": site_frags,
                "site_reach": site_reach, "totals": totals}
    finally:
        free(cs)
