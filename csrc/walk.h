/* deepamp C core: read-centric walk of one chunk of one region.
 *
 * Every record overlapping the chunk is seen once; its CIGAR is walked
 * into per-position observations (symbol, quality, indel anchored here),
 * overlapping mates are merged so the fragment counts once, and the result
 * is added straight into the chunk's slice of the count tensor.  Only the
 * first mates waiting for their mate grow with depth, and they are held
 * within a memory budget (mates.h). */
#ifndef DA_WALK_H
#define DA_WALK_H

#include <stddef.h>
#include <stdint.h>

#include <htslib/sam.h>

#include "counts.h"
#include "da_error.h"
#include "indel_table.h"

typedef struct {
    int min_mapq;           /* reads with MAPQ below are dropped */
    int min_bq;             /* bases with quality below are dropped */
    int min_alt_bq;         /* non-reference bases below are dropped (needs ref) */
    uint32_t flag_exclude;  /* reads with any of these flag bits are dropped */
    int merge_mates;        /* 1: overlapping mates count once per fragment */
    size_t mate_memory;     /* bytes of waiting mates held in memory per walker before
                             * whole name partitions move to temporary files; records kept
                             * for the next chunk get half as much again; 0: no limit */
    const char *tmpdir;     /* where those files go (NULL: /tmp) */
    int pad_shifts_query;   /* 1: as pysam's get_aligned_pairs (count_coverage), a CIGAR P
                             * moves the query offset on by its length, so later bases are
                             * read shifted and those shifted past the sequence end are not
                             * counted; the CIGAR is still checked against the sequence
                             * without the shift.  0: P consumes nothing (SAM) */
    int64_t sample_reads;   /* > 0: each chunk also keeps the first sample_reads records it is
                             * fed that overlap it (see da_chunk_t.sample_from), mapped, with no
                             * flag_exclude bit and MAPQ >= min_mapq, as rows of ends.h (the
                             * assay-shape sample); 0: none */
} da_params_t;

typedef struct {
    int tid;
    int64_t beg, end;       /* chunk window, 0-based half-open */
    int64_t own_from;       /* reads starting at or after this are this chunk's (read stats) */
    int64_t keep_from;      /* records reaching past this (the next chunk's start on the
                             * contig, else INT64_MAX) are kept by the stream for it */
    const char *ref;        /* upper-case reference bases of [beg, end), or NULL */
    uint32_t *counts;       /* counts of position beg (DA_NSYM * 2 per position) */
    uint32_t *qual_hist;    /* DA_NQUAL per position, or NULL */
    uint32_t *junction;     /* 2 per position (fwd, rev): fragments whose aligned bases or
                             * deletions cover both p and p+1 (what an indel anchored at p
                             * is tested against), or NULL */
    int64_t sample_from;    /* sampled records start here or later: INT64_MIN for a region's
                             * first chunk, else beg (earlier ones were its previous chunk's) */
} da_chunk_t;

typedef struct {
    uint64_t read_stats[DA_N_READ_STATS];
    uint64_t base_stats[DA_N_BASE_STATS];
    da_indel_table_t indels;
    int64_t *sample;        /* n_sample rows of DA_END_NCOL (ends.h), malloc'ed, or NULL */
    int64_t n_sample, cap_sample;
} da_chunk_result_t;

/* The walk of one chunk: its records are fed in file order (those an index
 * query for the chunk returns, and with mates merged the context records of
 * stream.h: reads ending before the chunk that only meet their mates, never
 * counted), in batches, possibly by different threads one after another;
 * then it is ended.  Results go to the chunk's slices of the count arrays
 * and to res. */
typedef struct da_walk da_walk_t;

/* Start a walk of ch into res (zeroed, its indel table initialised).
 * Returns DA_OK with *out set, or an error code (err filled). */
int da_walk_begin(da_walk_t **out, const da_params_t *par, const da_chunk_t *ch, da_chunk_result_t *res,
                  da_error_t *err);
/* Count the next n records of the chunk.  Returns DA_OK or an error code. */
int da_walk_feed(da_walk_t *walk, const bam1_t *const *recs, int n, da_error_t *err);
/* After the last record: count the mates still waiting (and those moved to
 * temporary files) and finish the junction depths. */
int da_walk_end(da_walk_t *walk, da_error_t *err);
void da_walk_free(da_walk_t *walk);

#endif
