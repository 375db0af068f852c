/* deepamp C core: a sample of the reads of each region for the assay shape
 * (src/deepamp/counting/assay_shape.py reduces it). */
#ifndef DA_ENDS_H
#define DA_ENDS_H

#include <stdint.h>

#include <htslib/sam.h>

#include "da_error.h"

/* Columns of one sampled read in da_read_ends' output. */
enum { DA_END_REV, DA_END_FIVE, DA_END_FRAGMENT, DA_END_START, DA_END_OTHER, DA_END_TLEN, DA_END_NCOL };

/* Write b's row (stop: its bam_endpos). */
void da_end_row(int64_t *row, const bam1_t *b, int64_t stop);

/* For each region i ([beg[i], end[i]) of contig[i]; sorted by contig and start
 * as counted, so that regions the index cannot tell apart are read in one
 * pass), the first max_reads records an index query of it returns that are
 * mapped, have no flag of
 * flag_exclude and mapping quality >= min_mapq, one row of DA_END_NCOL
 * int64 each in out[(i * max_reads + j) * DA_END_NCOL ...]: reverse strand
 * (0/1); 5' end (end position if reverse, else start); 1 unless the read is
 * the second mate of a pair; start; the mate's start if paired, else the end
 * position; template length.  n_out[i] = rows written.  The end position is
 * htslib's bam_endpos.  DA_OK or an error code (err says which file and why). */
int da_read_ends(const char *path, const char *ref_path, int n, const char *const *contig,
                 const int64_t *beg, const int64_t *end, uint32_t flag_exclude, int min_mapq,
                 int64_t max_reads, int64_t *out, int64_t *n_out, da_error_t *err);

#endif
