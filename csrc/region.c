#include "region.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <htslib/bgzf.h>
#include <htslib/faidx.h>
#include <htslib/kstring.h>

int da_reader_open(da_reader_t *r, const char *path, const char *ref_path,
                   int extra_threads, da_error_t *err)
{
    memset(r, 0, sizeof *r);
    r->path = path;
    r->ref_path = ref_path && *ref_path ? ref_path : NULL;
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
    if (fmt->format == bam) r->data_start = (uint64_t)bgzf_tell(r->fp->fp.bgzf);
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

/* MD5 (lower-case hex) of sequence name of fai, upper-cased as the M5 tag
 * of a header is: DA_OK, or an error code (err filled). */
static int contig_md5(const da_reader_t *r, faidx_t *fai, const char *name, int64_t len, char hex[33],
                      da_error_t *err)
{
    enum { PIECE = 1 << 20 };
    hts_md5_context *md5 = hts_md5_init();
    char *seq = NULL;
    int rc = DA_OK;
    if (!md5) {
        rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int64_t beg = 0; beg < len; beg += PIECE) {
        int64_t end = beg + PIECE < len ? beg + PIECE : len, got = 0;
        free(seq);
        seq = faidx_fetch_seq64(fai, name, beg, end - 1, &got);
        if (!seq || got != end - beg) {
            rc = da_fail(err, DA_ERR_REFERENCE, "%s: cannot read %s from reference %s", r->path, name,
                         r->ref_path);
            goto out;
        }
        for (int64_t i = 0; i < got; i++)
            if (seq[i] >= 'a' && seq[i] <= 'z') seq[i] = (char)(seq[i] - 'a' + 'A');
        hts_md5_update(md5, seq, (unsigned long)got);
    }
    unsigned char digest[16];
    hts_md5_final(digest, md5);
    hts_md5_hex(hex, digest);
out:
    free(seq);
    if (md5) hts_md5_destroy(md5);
    return rc;
}

/* CRAM data of contig tid could not be decoded: say why when the reference
 * shows it (no such sequence, another length, another MD5 than the header's
 * M5), else that the file or its reference is at fault. */
static int cram_failure(const da_reader_t *r, int tid, da_error_t *err)
{
    const char *name = tid >= 0 && tid < sam_hdr_nref(r->hdr) ? sam_hdr_tid2name(r->hdr, tid) : "?";
    faidx_t *fai = r->ref_path ? fai_load3(r->ref_path, NULL, NULL, 0) : NULL;
    kstring_t m5 = KS_INITIALIZE;
    char hex[33];
    int rc;
    if (!fai) {
        rc = da_fail(err, DA_ERR_REFERENCE, "%s: cannot decode CRAM data of %s: reference %s has no "
                     "usable .fai index", r->path, name, r->ref_path ? r->ref_path : "(none)");
        goto out;
    }
    if (!faidx_has_seq(fai, name)) {
        rc = da_fail(err, DA_ERR_REFERENCE, "%s: cannot decode CRAM data of %s: reference %s has no "
                     "sequence named %s (CRAM needs the whole contig under its header name)",
                     r->path, name, r->ref_path, name);
        goto out;
    }
#ifndef DA_NO_FAIDX_SEQ_LEN64
    int64_t len = faidx_seq_len64(fai, name);
#else       /* an htslib without it (see CMakeLists.txt) */
    int64_t len = faidx_seq_len(fai, name);
#endif
    int64_t want = (int64_t)sam_hdr_tid2len(r->hdr, tid);
    if (len != want) {
        rc = da_fail(err, DA_ERR_REFERENCE, "%s: reference %s is not the one the CRAM was written with: "
                     "%s has %" PRId64 " bases there, %" PRId64 " in the CRAM header",
                     r->path, r->ref_path, name, len, want);
        goto out;
    }
    if (sam_hdr_find_tag_id(r->hdr, "SQ", "SN", name, "M5", &m5) == 0 && m5.l == 32) {
        rc = contig_md5(r, fai, name, len, hex, err);
        if (rc) goto out;
        for (size_t i = 0; i < 32; i++)  /* hts_md5_hex writes lower case */
            if (m5.s[i] >= 'A' && m5.s[i] <= 'F') m5.s[i] = (char)(m5.s[i] - 'A' + 'a');
        if (memcmp(hex, m5.s, 32) != 0) {
            rc = da_fail(err, DA_ERR_REFERENCE, "%s: reference %s is not the one the CRAM was written "
                         "with: %s has MD5 %s there, %s in the CRAM header (M5)",
                         r->path, r->ref_path, name, hex, m5.s);
            goto out;
        }
    }
    rc = da_fail(err, DA_ERR_TRUNCATED, "%s: cannot decode CRAM data of %s (a damaged file, or reference "
                 "%s differs from the one it was written with)", r->path, name, r->ref_path);
out:
    ks_free(&m5);
    if (fai) fai_destroy(fai);
    return rc;
}

/* 1, 0 or an error code for an htslib read result (tid: the contig read, for CRAM). */
static int read_status(const da_reader_t *r, int ret, int tid, da_error_t *err)
{
    if (ret >= 0) return 1;
    if (ret == -1) return 0;
    if (hts_get_format(r->fp)->format == cram) return cram_failure(r, tid, err);
    if (ret == -2)
        return da_fail(err, DA_ERR_TRUNCATED, "%s: truncated or corrupt compressed block", r->path);
    return da_fail(err, DA_ERR_CORRUPT, "%s: malformed alignment record (htslib code %d)", r->path, ret);
}

int da_reader_next(da_reader_t *r, hts_itr_t *itr, bam1_t *b, da_error_t *err)
{
    return read_status(r, sam_itr_next(r->fp, itr, b), itr->tid, err);
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
    return read_status(r, sam_read1(r->fp, r->hdr, b), -1, err);
}

/* ------------------------------------------------------------------ index check */

/* Where the index places contig tid's records: 1 with [*first, *last), 0 none. */
static int indexed_span(da_reader_t *r, int tid, uint64_t *first, uint64_t *last, da_error_t *err)
{
    if (tid >= hts_idx_nseq(r->idx)) return 0;
    return da_reader_offsets(r, tid, 0, HTS_POS_MAX, first, last, err);
}

/* The record at virtual offset off: 1 (b holds it), 0 the end of the file, -1 unreadable. */
static int record_at(da_reader_t *r, uint64_t off, bam1_t *b)
{
    if (bgzf_seek(r->fp->fp.bgzf, (int64_t)off, SEEK_SET) < 0) return -1;
    int ret = sam_read1(r->fp, r->hdr, b);
    return ret >= 0 ? 1 : ret == -1 ? 0 : -1;
}

/* What record_at found, in words (for messages). */
static const char *found(const da_reader_t *r, int got, const bam1_t *b, char *buf, size_t n)
{
    if (got < 0) return "no readable record";
    if (got == 0) return "the end of the file";
    if (b->core.tid < 0) return "unplaced reads";
    snprintf(buf, n, "reads of %s", sam_hdr_tid2name(r->hdr, b->core.tid));
    return buf;
}

/* The first contig after tid that the index has records of: its id, nref if
 * none, or an error code. */
static int next_indexed(da_reader_t *r, int tid, da_error_t *err)
{
    int nref = sam_hdr_nref(r->hdr);
    for (int t = tid + 1; t < nref; t++) {
        uint64_t a, z;
        int any = indexed_span(r, t, &a, &z, err);
        if (any) return any < 0 ? any : t;
    }
    return nref;
}

#define OTHER_INDEX "(an index of another file? re-index it: samtools index %s)"

int da_reader_check_index(da_reader_t *r, const int32_t *tids, int n, da_error_t *err)
{
    if (!da_reader_is_bam(r)) return DA_OK;
    int nref = sam_hdr_nref(r->hdr);
    if (hts_idx_nseq(r->idx) != nref)
        return da_fail(err, DA_ERR_INDEX, "%s: its index does not match it: the index is for %d contigs, "
                       "the header has %d " OTHER_INDEX, r->path, hts_idx_nseq(r->idx), nref, r->path);
    bam1_t *b = bam_init1();
    int rc = b ? DA_OK : da_fail(err, DA_ERR_NOMEM, "out of memory");
    for (int i = 0; i < n && !rc; i++) {
        int tid = tids[i];
        if (tid < 0 || tid >= nref || (i > 0 && tid == tids[i - 1])) continue;
        uint64_t first, last;
        int any = indexed_span(r, tid, &first, &last, err);
        if (any < 0) {
            rc = any;
            break;
        }
        char seen[160], expect[160];
        /* the records the file has after the last one the index places up to tid */
        uint64_t after = r->data_start;
        int after_tid = -1;
        if (any) {
            int got = record_at(r, first, b);
            if (got != 1 || b->core.tid != tid) {
                rc = da_fail(err, DA_ERR_INDEX, "%s: its index does not match it: where the index puts the "
                             "first read of %s the file has %s " OTHER_INDEX, r->path,
                             sam_hdr_tid2name(r->hdr, tid), found(r, got, b, seen, sizeof seen), r->path);
                break;
            }
            after = last;
            after_tid = tid;
        } else {
            for (int t = tid - 1; t >= 0 && !rc; t--) {
                uint64_t a, z;
                int prev = indexed_span(r, t, &a, &z, err);
                if (prev < 0) rc = prev;
                if (prev > 0) {
                    after = z;
                    after_tid = t;
                    break;
                }
            }
            if (rc) break;
        }
        int want = next_indexed(r, after_tid, err);
        if (want < 0) {
            rc = want;
            break;
        }
        int got = record_at(r, after, b);
        if (got == 1 ? (b->core.tid < 0 ? want == nref : b->core.tid == want) : got == 0 && want == nref)
            continue;
        if (want < nref) snprintf(expect, sizeof expect, "reads of %s", sam_hdr_tid2name(r->hdr, want));
        else snprintf(expect, sizeof expect, "no more placed reads");
        if (after_tid < 0)
            rc = da_fail(err, DA_ERR_INDEX, "%s: its index does not match it: the file starts with %s where "
                         "the index expects %s " OTHER_INDEX, r->path, found(r, got, b, seen, sizeof seen), expect,
                         r->path);
        else
            rc = da_fail(err, DA_ERR_INDEX, "%s: its index does not match it: after the reads the index "
                         "puts on %s the file has %s where the index expects %s " OTHER_INDEX, r->path,
                         sam_hdr_tid2name(r->hdr, after_tid), found(r, got, b, seen, sizeof seen), expect,
                         r->path);
    }
    if (b) bam_destroy1(b);
    return rc;
}
