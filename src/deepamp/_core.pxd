# C declarations of the deepamp core (csrc/).  No logic here.
from libc.stdint cimport int32_t, int64_t, uint32_t, uint64_t

cdef extern from "da_error.h" nogil:
    ctypedef struct da_error_t:
        int code
        char msg[320]
    const char *da_strerror(int code)
    enum:
        DA_OK
        DA_ERR_NOMEM
        DA_ERR_OPEN
        DA_ERR_FORMAT
        DA_ERR_HEADER
        DA_ERR_INDEX
        DA_ERR_CONTIG
        DA_ERR_REGION
        DA_ERR_TRUNCATED
        DA_ERR_CORRUPT
        DA_ERR_UNSORTED
        DA_ERR_REFERENCE
        DA_ERR_THREAD
        DA_ERR_ARG
        DA_ERR_TEMP

cdef extern from "counts.h" nogil:
    enum:
        DA_NSYM
        DA_NQUAL
        DA_N_READ_STATS
        DA_N_BASE_STATS

cdef extern from "walk.h" nogil:
    ctypedef struct da_params_t:
        int min_mapq
        int min_bq
        int min_alt_bq
        uint32_t flag_exclude
        int merge_mates
        size_t mate_memory
        const char *tmpdir
        int pad_shifts_query
        int64_t sample_reads

cdef extern from "pileup.h" nogil:
    enum:
        DA_CHUNK_LEN
    ctypedef struct da_job_t:
        const char *path
        const char *ref_path
        int n_regions
        const int32_t *tid
        const int64_t *beg
        const int64_t *end
        const char *const *ref
        da_params_t params
        int threads
        uint32_t *counts
        uint32_t *qual_hist
        uint32_t *junction

    ctypedef struct da_result_t:
        uint64_t read_stats[DA_N_READ_STATS]
        uint64_t base_stats[DA_N_BASE_STATS]
        int64_t n_indels
        int32_t *indel_tid
        int64_t *indel_pos
        int32_t *indel_len
        uint32_t *indel_count
        int64_t *indel_seq_off
        char *indel_seq
        int64_t *sample
        int64_t *n_sample

    int da_pileup(const da_job_t *job, da_result_t *res, da_error_t *err)
    void da_result_free(da_result_t *res)

cdef extern from "htslib/hts_log.h" nogil:
    int hts_get_log_level()
    void hts_set_log_level(int level)
    enum:
        HTS_LOG_OFF

cdef extern from "ends.h" nogil:
    enum:
        DA_END_NCOL
