/* deepamp C core: count a set of regions of one BAM/CRAM with N threads.
 *
 * Regions are split into fixed-length chunks (independent of the thread
 * count).  Decoding and counting are separate steps.  Each worker opens its
 * own reader and decodes a run of neighbouring chunks, reading on from one
 * to the next (stream.h); the runs are cut to about equal decoding work by
 * the index and never inside a group of chunks the index cannot tell apart
 * (amplicons sharing a 16 kb BAI bin), so no record is decoded twice, and a
 * worker whose run is done takes over the second half of the longest run
 * left.  Decoded records go in batches to a queue; each chunk's batches are
 * counted in order, one at a time, by whichever worker is free: the worker
 * with the most decoding left keeps decoding and the others count.  Walks
 * write into disjoint slices of the caller's count arrays; per-chunk
 * statistics and indel events are merged in chunk order, so the result is
 * identical for any number of threads. */
#ifndef DA_PILEUP_H
#define DA_PILEUP_H

#include <stdint.h>

#include "counts.h"
#include "da_error.h"
#include "walk.h"

#define DA_CHUNK_LEN 16384

typedef struct {
    const char *path;           /* BAM or CRAM */
    const char *ref_path;       /* FASTA for CRAM decoding, or NULL */
    int n_regions;              /* sorted by (tid, beg), not overlapping */
    const int32_t *tid;
    const int64_t *beg, *end;   /* 0-based half-open */
    const char *const *ref;     /* per region: end-beg upper-case bases, or NULL entries/array */
    da_params_t params;
    int threads;                /* total threads (>= 1): workers (at most one more than
                                 * chunks), the rest decompress for their readers */
    uint32_t *counts;           /* caller-owned, zeroed: sum(end-beg) * DA_NSYM * 2 */
    uint32_t *qual_hist;        /* caller-owned, zeroed: sum(end-beg) * DA_NQUAL, or NULL */
    uint32_t *junction;         /* caller-owned, zeroed: sum(end-beg) * 2, or NULL */
} da_job_t;

typedef struct {
    uint64_t read_stats[DA_N_READ_STATS];
    uint64_t base_stats[DA_N_BASE_STATS];
    int64_t n_indels;
    int32_t *indel_tid;
    int64_t *indel_pos;         /* anchor: 0-based reference base before the event */
    int32_t *indel_len;         /* > 0 inserted, < 0 deleted bases */
    uint32_t *indel_count;      /* 2 per event: forward, reverse */
    int64_t *indel_seq_off;     /* n_indels + 1 offsets into indel_seq */
    char *indel_seq;            /* inserted bases, concatenated */
    int64_t *sample;            /* params.sample_reads > 0: rows of DA_END_NCOL (ends.h), region
                                 * after region, up to sample_reads per region: the first records
                                 * an index query of the region returns that pass the sample's
                                 * filters (walk.h) */
    int64_t *n_sample;          /* rows per region */
} da_result_t;

/* Run the job.  On success res owns malloc'ed arrays (free with
 * da_result_free); on failure res is empty and err says why. */
int da_pileup(const da_job_t *job, da_result_t *res, da_error_t *err);
void da_result_free(da_result_t *res);

#endif
