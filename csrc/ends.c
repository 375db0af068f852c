#include "ends.h"

#include <htslib/sam.h>

void da_end_row(int64_t *row, const bam1_t *b, int64_t stop)
{
    const bam1_core_t *c = &b->core;
    int rev = (c->flag & BAM_FREVERSE) != 0;
    int paired = (c->flag & BAM_FPAIRED) != 0;
    row[DA_END_REV] = rev;
    row[DA_END_FIVE] = rev ? stop : c->pos;
    row[DA_END_FRAGMENT] = !(paired && (c->flag & BAM_FREAD2));
    row[DA_END_START] = c->pos;
    row[DA_END_OTHER] = paired ? c->mpos : stop;
    row[DA_END_TLEN] = c->isize;
}
