# cython: language_level=3, boundscheck=False, wraparound=False, initializedcheck=False
"""Thin binding of the deepamp C core: argument checks and output allocation
with the GIL, the whole BAM walk without it, C status codes mapped to Python
exceptions in one place (:func:`_raise`).  No algorithm lives here."""

from cpython.bytes cimport PyBytes_AS_STRING
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

import numpy as np

from . import _status
from .errors import DeepampError, RegionError

NSYM = DA_NSYM
NQUAL = DA_NQUAL
CHUNK_LEN = DA_CHUNK_LEN
SYMBOLS = ("A", "C", "G", "T", "N", "DEL", "INS")
READ_STATS = ("seen", "used", "unmapped", "secondary", "supplementary", "qcfail",
              "duplicate", "low_mapq", "no_sequence", "mates_merged", "ambiguous_mates")
BASE_STATS = ("counted", "low_base_quality", "low_alt_base_quality", "no_quality",
              "overlap_merged", "overlap_discordant", "soft_clipped",
              "indel_overlap_discordant")
assert len(READ_STATS) == DA_N_READ_STATS and len(BASE_STATS) == DA_N_BASE_STATS


# The code -> exception table lives in deepamp._status (shared with _phase);
# check at import that its copy of the C enum has not drifted from da_error.h.
for _name, _value in (("DA_ERR_NOMEM", DA_ERR_NOMEM), ("DA_ERR_OPEN", DA_ERR_OPEN),
                      ("DA_ERR_FORMAT", DA_ERR_FORMAT), ("DA_ERR_HEADER", DA_ERR_HEADER),
                      ("DA_ERR_INDEX", DA_ERR_INDEX), ("DA_ERR_CONTIG", DA_ERR_CONTIG),
                      ("DA_ERR_REGION", DA_ERR_REGION), ("DA_ERR_TRUNCATED", DA_ERR_TRUNCATED),
                      ("DA_ERR_CORRUPT", DA_ERR_CORRUPT), ("DA_ERR_UNSORTED", DA_ERR_UNSORTED),
                      ("DA_ERR_REFERENCE", DA_ERR_REFERENCE), ("DA_ERR_THREAD", DA_ERR_THREAD),
                      ("DA_ERR_ARG", DA_ERR_ARG), ("DA_ERR_TEMP", DA_ERR_TEMP)):
    if getattr(_status, _name) != _value:
        raise ImportError(f"deepamp._status.{_name} != {_value} (csrc/da_error.h)")


# htslib's log level is process-wide.  It is silenced while any call is in
# the core (errors come back through da_error_t, not stderr) and restored by
# the last call to leave, so calls from several threads never leave it off.
# Only touched with the GIL held.
cdef int _quiet_calls = 0
cdef int _saved_log_level = 0


cdef void _quiet_htslib():
    global _quiet_calls, _saved_log_level
    if _quiet_calls == 0:
        _saved_log_level = hts_get_log_level()
        hts_set_log_level(HTS_LOG_OFF)
    _quiet_calls += 1


cdef void _restore_htslib():
    global _quiet_calls
    _quiet_calls -= 1
    if _quiet_calls == 0:
        hts_set_log_level(_saved_log_level)


cdef class HtslibSilenced:
    """``with HtslibSilenced():`` htslib logs nothing inside (pysam calls that
    report through exceptions); the same count as the core's calls."""

    def __enter__(self):
        _quiet_htslib()
        return self

    def __exit__(self, *exc):
        _restore_htslib()
        return False


cdef int _raise(const da_error_t *err) except -1:
    """The one place where C status codes become Python exceptions."""
    cdef bytes msg = err.msg
    _status.raise_for_status(err.code, msg.decode("utf-8", "replace") or da_strerror(err.code).decode())
    raise DeepampError(f"deepamp core error {err.code}")   # not reached: code is never DA_OK here


def pileup(str path, tids, begs, ends, refs, *, str reference_path=None,
           int min_mapq=0, int min_bq=0, int min_alt_bq=0,
           unsigned int flag_exclude=0xF04, bint merge_mates=True,
           int threads=1, bint qual_hist=True, Py_ssize_t mate_memory=0, str tmpdir=None,
           bint pad_shifts_query=False, Py_ssize_t sample_reads=0):
    """Count bases per position x symbol x strand over sorted, disjoint regions.

    See :func:`deepamp.counting.bam.count` for the meaning of every argument;
    ``pad_shifts_query`` reads bases after a CIGAR P as pysam's
    count_coverage does (see :func:`deepamp.counting.bam.count_coverage`).  This
    function is the raw binding and returns a dict of numpy arrays.
    ``sample_reads`` > 0 also returns ``sample``: per region, the first
    ``sample_reads`` reads it holds (rows of csrc/ends.h's ``da_end_row``; taken
    while counting, so no record is read again).
    """
    cdef Py_ssize_t n = len(tids), i
    if len(begs) != n or len(ends) != n or len(refs) != n:
        raise ValueError("tids, begs, ends and refs must have the same length")
    if threads < 1:
        raise ValueError("threads must be >= 1")
    if mate_memory < 0:
        raise ValueError("mate_memory must be >= 0")
    if sample_reads < 0:
        raise ValueError("sample_reads must be >= 0")
    if n == 0:
        raise RegionError(f"{path}: no regions to count")
    cdef int32_t[::1] tid_v = np.ascontiguousarray(tids, dtype=np.int32)
    cdef int64_t[::1] beg_v = np.ascontiguousarray(begs, dtype=np.int64)
    cdef int64_t[::1] end_v = np.ascontiguousarray(ends, dtype=np.int64)
    cdef int64_t total = 0
    for i in range(n):
        if end_v[i] <= beg_v[i] or beg_v[i] < 0:
            raise RegionError(f"{path}: empty region {beg_v[i]}-{end_v[i]}")
        if refs[i] is not None and len(refs[i]) != end_v[i] - beg_v[i]:
            raise ValueError(f"reference bases of region {i} have the wrong length")
        total += end_v[i] - beg_v[i]

    counts = np.zeros((total, DA_NSYM, 2), dtype=np.uint32)
    hist = np.zeros((total, DA_NQUAL), dtype=np.uint32) if qual_hist else None
    junction = np.zeros((total, 2), dtype=np.uint32)
    cdef uint32_t[:, :, ::1] counts_v = counts
    cdef uint32_t[:, ::1] junction_v = junction
    cdef uint32_t[:, ::1] hist_v
    cdef bytes bpath = path.encode()
    cdef bytes bref = reference_path.encode() if reference_path else b""
    cdef bytes btmp = tmpdir.encode() if tmpdir else b""
    ref_keep = [r if r is None else (r.encode("ascii") if isinstance(r, str) else bytes(r)) for r in refs]
    cdef const char **ref_ptrs = <const char **>malloc(sizeof(char *) * (n + 1))
    if ref_ptrs == NULL:
        raise MemoryError()
    for i in range(n):
        ref_ptrs[i] = NULL if ref_keep[i] is None else PyBytes_AS_STRING(ref_keep[i])

    cdef da_job_t job
    cdef da_result_t res
    cdef da_error_t err
    err.code = 0
    err.msg[0] = 0
    job.path = bpath
    job.ref_path = <const char *>bref if bref else NULL
    job.n_regions = <int>n
    job.tid = &tid_v[0]
    job.beg = &beg_v[0]
    job.end = &end_v[0]
    job.ref = ref_ptrs
    job.params.min_mapq = min_mapq
    job.params.min_bq = min_bq
    job.params.min_alt_bq = min_alt_bq
    job.params.flag_exclude = flag_exclude
    job.params.merge_mates = merge_mates
    job.params.mate_memory = <size_t>mate_memory
    job.params.tmpdir = <const char *>btmp if btmp else NULL
    job.params.pad_shifts_query = pad_shifts_query
    job.params.sample_reads = sample_reads
    job.threads = threads
    job.counts = &counts_v[0, 0, 0]
    job.junction = &junction_v[0, 0]
    job.qual_hist = NULL
    if qual_hist:
        hist_v = hist
        job.qual_hist = &hist_v[0, 0]
    cdef int rc
    _quiet_htslib()
    try:
        with nogil:
            rc = da_pileup(&job, &res, &err)
    finally:
        _restore_htslib()
        free(ref_ptrs)
    if rc != 0:
        _raise(&err)
    try:
        out = _wrap(&res, counts, hist, junction)
        if sample_reads > 0:
            out["sample"] = _samples(&res, n)
        return out
    finally:
        da_result_free(&res)


cdef list _samples(const da_result_t *res, Py_ssize_t n):
    """Copy each region's sample rows into an int64 array (rows x DA_END_NCOL)."""
    cdef Py_ssize_t i, total = 0
    for i in range(n):
        total += res.n_sample[i]
    rows = np.empty((total, DA_END_NCOL), dtype=np.int64)
    cdef int64_t[:, ::1] rows_v = rows
    if total:
        memcpy(&rows_v[0, 0], res.sample, sizeof(int64_t) * total * DA_END_NCOL)
    out, at = [], 0
    for i in range(n):
        out.append(rows[at:at + res.n_sample[i]])
        at += res.n_sample[i]
    return out


cdef dict _wrap(const da_result_t *res, counts, hist, junction):
    """Copy the C-owned results into numpy arrays (no view on C memory)."""
    cdef int64_t m = res.n_indels, k
    tid = np.empty(m, dtype=np.int32)
    pos = np.empty(m, dtype=np.int64)
    length = np.empty(m, dtype=np.int32)
    count = np.empty((m, 2), dtype=np.uint32)
    cdef int32_t[::1] tid_v = tid
    cdef int64_t[::1] pos_v = pos
    cdef int32_t[::1] len_v = length
    cdef uint32_t[:, ::1] cnt_v = count
    seqs = []
    cdef bytes all_seq = res.indel_seq[:res.indel_seq_off[m]] if m else b""
    for k in range(m):
        tid_v[k] = res.indel_tid[k]
        pos_v[k] = res.indel_pos[k]
        len_v[k] = res.indel_len[k]
        cnt_v[k, 0] = res.indel_count[2 * k]
        cnt_v[k, 1] = res.indel_count[2 * k + 1]
        seqs.append(all_seq[res.indel_seq_off[k]:res.indel_seq_off[k + 1]].decode("ascii"))
    return {
        "counts": counts,
        "qual_hist": hist,
        "junction": junction,
        "read_stats": {name: int(res.read_stats[j]) for j, name in enumerate(READ_STATS)},
        "base_stats": {name: int(res.base_stats[j]) for j, name in enumerate(BASE_STATS)},
        "indel_tid": tid,
        "indel_pos": pos,
        "indel_len": length,
        "indel_count": count,
        "indel_seq": seqs,
    }
