#include "ends.h"

#include <htslib/sam.h>

#include "region.h"

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

/* Regions [i, j) (same contig, sorted by start) share the index's first
 * offset, so an index query of each would decode the same records again
 * (amplicons in one 16 kb BAI bin).  One query over their span reads them
 * once; each record goes to every region it overlaps that is not full, which
 * gives each region the records of its own query, in the same order. */
static int sample_group(da_reader_t *r, bam1_t *b, int tid, int i, int j, const int64_t *beg,
                        const int64_t *end, uint32_t flag_exclude, int min_mapq, int64_t max_reads,
                        int64_t *out, int64_t *n_out, da_error_t *err)
{
    int64_t span_end = end[i];
    for (int g = i; g < j; g++) {
        n_out[g] = 0;
        if (end[g] > span_end) span_end = end[g];
    }
    hts_itr_t *itr = da_reader_query(r, tid, beg[i], span_end, err);
    if (!itr) return err->code;
    int open = max_reads > 0 ? j - i : 0, got = 0;     /* regions not yet full */
    while (open > 0 && (got = da_reader_next(r, itr, b, err)) > 0) {
        const bam1_core_t *c = &b->core;
        if ((c->flag & flag_exclude) || c->qual < min_mapq || (c->flag & BAM_FUNMAP))
            continue;
        int64_t stop = bam_endpos(b);
        for (int g = i; g < j; g++) {
            if (n_out[g] >= max_reads || c->pos >= end[g] || stop <= beg[g]) continue;
            da_end_row(out + (g * max_reads + n_out[g]) * DA_END_NCOL, b, stop);
            if (++n_out[g] == max_reads) open--;
        }
    }
    hts_itr_destroy(itr);
    return open > 0 && got < 0 ? got : DA_OK;
}

int da_read_ends(const char *path, const char *ref_path, int n, const char *const *contig,
                 const int64_t *beg, const int64_t *end, uint32_t flag_exclude, int min_mapq,
                 int64_t max_reads, int64_t *out, int64_t *n_out, da_error_t *err)
{
    da_reader_t r;
    int rc = da_reader_open(&r, path, ref_path, 0, err);
    if (rc != DA_OK) return rc;
    bam1_t *b = bam_init1();
    if (!b) {
        da_reader_close(&r);
        return da_fail(err, DA_ERR_NOMEM, "%s: out of memory", path);
    }
    int bam = da_reader_is_bam(&r);
    for (int i = 0, j; i < n && rc == DA_OK; i = j) {
        int tid = sam_hdr_name2tid(r.hdr, contig[i]);
        if (tid < 0) {
            rc = da_fail(err, DA_ERR_CONTIG, "%s: contig %s is not in the header", path, contig[i]);
            break;
        }
        uint64_t first = 0, last, first_j, last_j;
        int placed = bam ? da_reader_offsets(&r, tid, beg[i], end[i], &first, &last, err) : 0;
        if (placed < 0) {
            rc = placed;
            break;
        }
        /* the group: the next regions on this contig, in order, that the index starts at the same offset */
        for (j = i + 1; placed == 1 && j < n && beg[j] >= beg[j - 1] && end[j] > beg[j]; j++) {
            if (sam_hdr_name2tid(r.hdr, contig[j]) != tid) break;
            int p = da_reader_offsets(&r, tid, beg[j], end[j], &first_j, &last_j, err);
            if (p < 0) {
                rc = p;
                break;
            }
            if (p == 0 || first_j != first) break;
        }
        if (rc == DA_OK)
            rc = sample_group(&r, b, tid, i, j, beg, end, flag_exclude, min_mapq, max_reads, out, n_out, err);
    }
    bam_destroy1(b);
    da_reader_close(&r);
    return rc;
}
