/* deepamp C core: a sample of the reads of each region for the assay shape
 * (src/deepamp/counting/assay_shape.py reduces it). */
#ifndef DA_ENDS_H
#define DA_ENDS_H

#include <stdint.h>

#include <htslib/sam.h>

/* Columns of one sampled read (the assay-shape sample taken while counting, da_params_t.sample_reads):
 * reverse strand (0/1); 5' end (end position if reverse, else start); 1 unless the read is the
 * second mate of a pair; start; the mate's start if paired, else the end position; template length.
 * The end position is htslib's bam_endpos. */
enum { DA_END_REV, DA_END_FIVE, DA_END_FRAGMENT, DA_END_START, DA_END_OTHER, DA_END_TLEN, DA_END_NCOL };

/* Write b's row (stop: its bam_endpos). */
void da_end_row(int64_t *row, const bam1_t *b, int64_t stop);

#endif
