#include "region.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <htslib/bgzf.h>

int da_reader_open(da_reader_t *r, const char *path, const char *ref_path,
                   int extra_threads, da_error_t *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    errno = 0;
    r->fp = hts_open(path, "r");
    if (!r->fp)
        return da_fail(err, DA_ERR_OPEN, "%s: cannot open (%s)", path,
                       errno ? strerror(errno) : "unrecognised file");
    const htsFormat *fmt = hts_get_format(r->fp);
    if (fmt->category != sequence_data || (fmt->format != bam && fmt->format != cram)) {
        da_reader_close(r);
        return da_fail(err, DA_ERR_FORMAT, "%s: not a BAM or CRAM file", path);
    }
    if (fmt->format == cram) {
        if (!ref_path || !*ref_path) {
            da_reader_close(r);
            return da_fail(err, DA_ERR_REFERENCE, "%s: CRAM input needs a reference FASTA", path);
        }
        if (hts_set_fai_filename(r->fp, ref_path) != 0) {
            da_reader_close(r);
            return da_fail(err, DA_ERR_REFERENCE, "%s: cannot use reference %s", path, ref_path);
        }
    }
    if (hts_check_EOF(r->fp) == 0) {
        da_reader_close(r);
        return da_fail(err, DA_ERR_TRUNCATED, "%s: truncated file (no end-of-file marker)", path);
    }
    if (extra_threads > 0 && hts_set_threads(r->fp, extra_threads) != 0) {
        da_reader_close(r);
        return da_fail(err, DA_ERR_THREAD, "%s: cannot start decompression threads", path);
    }
    r->hdr = sam_hdr_read(r->fp);
    if (!r->hdr) {
        da_reader_close(r);
        return da_fail(err, DA_ERR_HEADER, "%s: unreadable header", path);
    }
    r->idx = sam_index_load(r->fp, path);
    if (!r->idx) {
        da_reader_close(r);
        return da_fail(err, DA_ERR_INDEX, "%s: index missing or unreadable (run samtools index)", path);
    }
    return DA_OK;
}

void da_reader_close(da_reader_t *r)
{
    if (r->idx) hts_idx_destroy(r->idx);
    if (r->hdr) sam_hdr_destroy(r->hdr);
    if (r->fp) hts_close(r->fp);
    r->idx = NULL;
    r->hdr = NULL;
    r->fp = NULL;
}

hts_itr_t *da_reader_query(da_reader_t *r, int tid, int64_t beg, int64_t end, da_error_t *err)
{
    if (tid < 0 || tid >= sam_hdr_nref(r->hdr)) {
        da_fail(err, DA_ERR_CONTIG, "%s: contig id %d not in header", r->path, tid);
        return NULL;
    }
    if (beg < 0 || end <= beg) {
        da_fail(err, DA_ERR_REGION, "%s: empty or negative region %" PRId64 "-%" PRId64,
                r->path, beg, end);
        return NULL;
    }
    hts_itr_t *itr = sam_itr_queryi(r->idx, tid, beg, end);
    if (!itr) da_fail(err, DA_ERR_NOMEM, "%s: cannot create region iterator", r->path);
    return itr;
}

/* 1, 0 or an error code for an htslib read result. */
static int read_status(const da_reader_t *r, int ret, da_error_t *err)
{
    if (ret >= 0) return 1;
    if (ret == -1) return 0;
    if (ret == -2)
        return da_fail(err, DA_ERR_TRUNCATED, "%s: truncated or corrupt compressed block", r->path);
    return da_fail(err, DA_ERR_CORRUPT, "%s: malformed alignment record (htslib code %d)", r->path, ret);
}

int da_reader_next(da_reader_t *r, hts_itr_t *itr, bam1_t *b, da_error_t *err)
{
    return read_status(r, sam_itr_next(r->fp, itr, b), err);
}

int da_reader_is_bam(const da_reader_t *r)
{
    return hts_get_format(r->fp)->format == bam;
}

int da_reader_offsets(da_reader_t *r, int tid, int64_t beg, int64_t end, uint64_t *first,
                      uint64_t *last, da_error_t *err)
{
    hts_itr_t *itr = da_reader_query(r, tid, beg, end, err);
    if (!itr) return err->code;
    /* htslib sorts the chunk list by start and merges overlaps. */
    int any = itr->n_off > 0 && !itr->finished;
    if (any) {
        *first = itr->off[0].u;
        *last = 0;
        for (int i = 0; i < itr->n_off; i++)
            if (itr->off[i].v > *last) *last = itr->off[i].v;
    }
    hts_itr_destroy(itr);
    return any;
}

int da_reader_seek(da_reader_t *r, uint64_t off, da_error_t *err)
{
    if (bgzf_seek(r->fp->fp.bgzf, (int64_t)off, SEEK_SET) < 0)
        return da_fail(err, DA_ERR_TRUNCATED, "%s: cannot seek to a block the index points to "
                       "(truncated file or stale index)", r->path);
    return DA_OK;
}

uint64_t da_reader_tell(const da_reader_t *r)
{
    return (uint64_t)bgzf_tell(r->fp->fp.bgzf);
}

int da_reader_read(da_reader_t *r, bam1_t *b, da_error_t *err)
{
    return read_status(r, sam_read1(r->fp, r->hdr, b), err);
}
