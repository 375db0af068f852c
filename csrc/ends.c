#include "ends.h"

#include <htslib/sam.h>

#include "region.h"

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
    for (int i = 0; i < n && rc == DA_OK; i++) {
        n_out[i] = 0;
        int tid = sam_hdr_name2tid(r.hdr, contig[i]);
        if (tid < 0) {
            rc = da_fail(err, DA_ERR_CONTIG, "%s: contig %s is not in the header", path, contig[i]);
            break;
        }
        hts_itr_t *itr = da_reader_query(&r, tid, beg[i], end[i], err);
        if (!itr) {
            rc = err->code;
            break;
        }
        int64_t *row = out + i * max_reads * DA_END_NCOL;
        int got = 0;
        while (n_out[i] < max_reads && (got = da_reader_next(&r, itr, b, err)) > 0) {
            const bam1_core_t *c = &b->core;
            if ((c->flag & flag_exclude) || c->qual < min_mapq || (c->flag & BAM_FUNMAP))
                continue;
            int rev = (c->flag & BAM_FREVERSE) != 0;
            int64_t stop = bam_endpos(b);
            int paired = (c->flag & BAM_FPAIRED) != 0;
            row[DA_END_REV] = rev;
            row[DA_END_FIVE] = rev ? stop : c->pos;
            row[DA_END_FRAGMENT] = !(paired && (c->flag & BAM_FREAD2));
            row[DA_END_START] = c->pos;
            row[DA_END_OTHER] = paired ? c->mpos : stop;
            row[DA_END_TLEN] = c->isize;
            row += DA_END_NCOL;
            n_out[i]++;
        }
        hts_itr_destroy(itr);
        if (got < 0) rc = got;
    }
    bam_destroy1(b);
    da_reader_close(&r);
    return rc;
}
