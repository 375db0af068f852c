#include "stream.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

enum { AHEAD_NONE = 0, AHEAD_RECORD = 1, AHEAD_EOF = 2 };

static void carry_clear(da_carry_t *c)
{
    for (int i = 0; i < c->n; i++)
        if (c->rec[i]) bam_destroy1(c->rec[i]);
    c->n = 0;
    c->bytes = 0;
}

static void carry_free(da_carry_t *c)
{
    carry_clear(c);
    free(c->rec);
    memset(c, 0, sizeof *c);
}

/* Append rec (owned from here on) to c, unless that takes c past budget (0:
 * no limit): then c is emptied, rec freed and *full set. */
static int carry_add(da_carry_t *c, size_t budget, bam1_t *rec, int *full)
{
    size_t need = sizeof *rec + rec->m_data;
    if (*full || (budget && c->bytes + need > budget)) {
        bam_destroy1(rec);
        carry_clear(c);
        *full = 1;
        return DA_OK;
    }
    if (c->n == c->m) {
        int m = c->m ? 2 * c->m : 64;
        bam1_t **grown = realloc(c->rec, sizeof *grown * (size_t)m);
        if (!grown) {
            bam_destroy1(rec);
            return DA_ERR_NOMEM;
        }
        c->rec = grown;
        c->m = m;
    }
    c->rec[c->n++] = rec;
    c->bytes += need;
    return DA_OK;
}

/* Keep rec (owned from here on) for later windows, unless over budget:
 * then nothing is kept and the next window seeks. */
static int carry_push(da_stream_t *s, bam1_t *rec)
{
    return carry_add(&s->out, s->carry_budget, rec, &s->carry_full);
}

static void swap_records(bam1_t *a, bam1_t *b)
{
    bam1_t t = *a;
    *a = *b;
    *b = t;
}

/* Forget the sequential position: the next window seeks. */
static int lose_place(da_stream_t *s, int rc)
{
    s->tid = -1;
    s->ahead = AHEAD_NONE;
    return rc;
}

int da_stream_init(da_stream_t *s, da_reader_t *r, size_t carry_budget, int context)
{
    memset(s, 0, sizeof *s);
    s->r = r;
    s->context = context;
    s->carry_budget = carry_budget;
    s->tid = -1;
    s->look = bam_init1();
    return s->look ? DA_OK : DA_ERR_NOMEM;
}

void da_stream_free(da_stream_t *s)
{
    if (s->itr) hts_itr_destroy(s->itr);
    if (s->look) bam_destroy1(s->look);
    carry_free(&s->in);
    carry_free(&s->out);
    memset(s, 0, sizeof *s);
}

static int out_of_order(da_stream_t *s, const bam1_t *b, da_error_t *err)
{
    return lose_place(s, da_fail(err, DA_ERR_UNSORTED,
                                 "%s: read %s at %s:%" PRId64 " is out of coordinate order",
                                 s->r->path, bam_get_qname(b), sam_hdr_tid2name(s->r->hdr, b->core.tid),
                                 (int64_t)b->core.pos + 1));
}

/* The next record from where the stream stands, in file order, checked for
 * order: 1 (b holds it, *off its virtual offset for BAM), 0 at the end of the
 * file (CRAM: of the iterator), < 0 error code. */
static int read_raw(da_stream_t *s, bam1_t *b, uint64_t *off, da_error_t *err)
{
    if (s->ahead == AHEAD_EOF) return 0;
    if (s->ahead == AHEAD_RECORD) {
        swap_records(b, s->look);
        *off = s->look_off;
        s->ahead = AHEAD_NONE;
        return 1;
    }
    if (s->itr) {  /* CRAM: htslib's iterator, checked for order */
        *off = 0;
        int rc = da_reader_next(s->r, s->itr, b, err);
        if (rc <= 0) {
            if (rc == 0) s->ahead = AHEAD_EOF;
            return rc < 0 ? lose_place(s, rc) : 0;
        }
        if (b->core.pos < s->last_pos) return out_of_order(s, b, err);
        s->last_pos = b->core.pos;
        return 1;
    }
    *off = da_reader_tell(s->r);
    int rc = da_reader_read(s->r, b, err);
    if (rc < 0) return lose_place(s, rc);
    if (rc == 0) {
        s->ahead = AHEAD_EOF;
        s->look_off = *off;
        return 0;
    }
    const bam1_core_t *c = &b->core;
    if (c->tid >= 0 && (c->tid < s->last_tid || (c->tid == s->last_tid && c->pos < s->last_pos)))
        return out_of_order(s, b, err);
    s->last_tid = c->tid;
    s->last_pos = c->pos;
    return 1;
}

/* b ends the records before the window's beg: it is the next one read. */
static void put_back(da_stream_t *s, bam1_t *b, uint64_t off)
{
    swap_records(b, s->look);
    s->ahead = AHEAD_RECORD;
    s->look_off = off;
}

/* Lower *from to where b's pair began if b is a mate whose pair began before beg. */
static void note_pair(const da_stream_t *s, const bam1_t *b, int64_t *from)
{
    const bam1_core_t *c = &b->core;
    if (!(c->flag & BAM_FPAIRED) || (c->flag & (BAM_FUNMAP | BAM_FMUNMAP | BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) ||
        c->mtid != c->tid || c->mpos >= s->beg)
        return;
    int64_t start = c->pos < c->mpos ? c->pos : c->mpos;
    if (start < *from) *from = start;
}

/* Read the window again from the index offset of min(from, beg); records
 * ending by beg are yielded from `from` on (INT64_MAX: none). */
static int reread(da_stream_t *s, int64_t from, da_error_t *err)
{
    int64_t lo = from < s->beg ? from : s->beg;
    if (lo < 0) lo = 0;  /* a mate position below 0 in a malformed record */
    carry_clear(&s->in);
    s->in_next = 0;
    s->context_from = from;
    s->ahead = AHEAD_NONE;
    s->last_tid = -1;
    s->last_pos = -1;
    if (s->itr) {
        hts_itr_destroy(s->itr);
        s->itr = da_reader_query(s->r, s->tid, lo, s->end, err);
        return s->itr ? DA_OK : lose_place(s, err->code);
    }
    uint64_t first = 0, last = 0;
    int any = da_reader_offsets(s->r, s->tid, lo, s->end, &first, &last, err);
    if (any == 0)
        any = da_fail(err, DA_ERR_INDEX, "%s: its index has no records on %s from %" PRId64 " where the file "
                      "has some (re-index it: samtools index %s)", s->r->path,
                      sam_hdr_tid2name(s->r->hdr, s->tid), lo + 1, s->r->path);
    if (any < 0) return lose_place(s, any);
    int rc = da_reader_seek(s->r, first, err);
    if (rc) return lose_place(s, rc);
    s->scan_from = first;
    return DA_OK;
}

/* Context on: read the records before beg now.  Those reaching into the
 * window are kept (after the ones carried from the last window) and yielded
 * first; if some pair began before beg and reaches into the window, or they
 * do not fit the budget, the window reads again from where that pair began. */
static int prime(da_stream_t *s, da_error_t *err)
{
    int64_t from = INT64_MAX;
    int full = 0, rc = DA_OK;
    for (int i = 0; i < s->in.n; i++) note_pair(s, s->in.rec[i], &from);
    bam1_t *b = bam_init1();
    if (!b) return lose_place(s, da_fail(err, DA_ERR_NOMEM, "out of memory"));
    for (;;) {
        uint64_t off;
        int got = read_raw(s, b, &off, err);
        if (got <= 0) {
            rc = got;
            break;
        }
        if (b->core.tid != s->tid || b->core.pos >= s->beg) {
            put_back(s, b, off);
            break;
        }
        if (bam_endpos(b) <= s->beg) continue;
        note_pair(s, b, &from);
        bam1_t *keep = full ? NULL : bam_dup1(b);
        if (!full && (!keep || carry_add(&s->in, s->carry_budget, keep, &full))) {
            rc = lose_place(s, da_fail(err, DA_ERR_NOMEM, "out of memory"));
            break;
        }
    }
    bam_destroy1(b);
    if (rc || (from == INT64_MAX && !full)) return rc;
    return reread(s, from, err);
}

int da_stream_window(da_stream_t *s, int tid, int64_t beg, int64_t end, int64_t keep_from,
                     da_error_t *err)
{
    /* The previous window ended on this contig before this one, with the
     * file position and everything reaching past it in hand. */
    int can_go_on = s->tid == tid && beg >= s->end && s->ahead != AHEAD_NONE && !s->carry_full;
    s->tid = -1;
    if (s->itr) hts_itr_destroy(s->itr);
    s->itr = NULL;
    carry_clear(&s->in);
    da_carry_t kept = s->out;
    s->out = s->in;
    s->in = kept;
    s->in_next = 0;
    s->carry_full = 0;
    s->beg = beg;
    s->end = end;
    s->keep_from = keep_from;
    s->context_from = INT64_MAX;
    s->last_pos = -1;

    if (!da_reader_is_bam(s->r)) {
        carry_clear(&s->in);
        s->ahead = AHEAD_NONE;
        s->itr = da_reader_query(s->r, tid, beg, end, err);
        if (!s->itr) return lose_place(s, err->code);
        s->tid = tid;
        return s->context ? prime(s, err) : DA_OK;
    }
    uint64_t first = 0, last = 0;
    int any = da_reader_offsets(s->r, tid, beg, end, &first, &last, err);
    if (any < 0) return lose_place(s, any);
    if (!any) {
        /* No record overlaps the window, so none kept can reach it or
         * anything after it; the file position stays valid. */
        carry_clear(&s->in);
        s->tid = tid;
        s->beg = s->end = end;  /* an empty window: next() sees nothing */
        return DA_OK;
    }
    /* Every record overlapping the window lies at or after `first`.  If
     * that is inside what this sequential read has covered, those before
     * the stop are among the kept ones (they reach past an earlier
     * window's end, so they were kept there). */
    if (!(can_go_on && s->scan_from <= first && first <= s->look_off)) {
        carry_clear(&s->in);
        int rc = da_reader_seek(s->r, first, err);
        if (rc) return lose_place(s, rc);
        s->scan_from = first;
        s->ahead = AHEAD_NONE;
        s->last_tid = -1;
    }
    s->tid = tid;
    return s->context ? prime(s, err) : DA_OK;
}

/* b is delivered: keep a copy when it reaches past keep_from. */
static int deliver(da_stream_t *s, const bam1_t *b, int64_t endpos, da_error_t *err)
{
    if (endpos > s->keep_from && !s->carry_full) {
        bam1_t *c = bam_dup1(b);
        if (!c || carry_push(s, c)) return lose_place(s, da_fail(err, DA_ERR_NOMEM, "out of memory"));
    }
    return 1;
}

int da_stream_next(da_stream_t *s, bam1_t *b, da_error_t *err)
{
    if (s->tid < 0) return da_fail(err, DA_ERR_ARG, "record stream used without a window");
    if (s->beg >= s->end) return 0;

    while (s->in_next < s->in.n) {
        bam1_t *c = s->in.rec[s->in_next];
        s->in.rec[s->in_next++] = NULL;
        int64_t e = bam_endpos(c);
        if (e <= s->beg) {
            bam_destroy1(c);
            continue;
        }
        if (!bam_copy1(b, c)) {
            bam_destroy1(c);
            return lose_place(s, da_fail(err, DA_ERR_NOMEM, "out of memory"));
        }
        if (e <= s->keep_from || s->itr) bam_destroy1(c);
        else if (carry_push(s, c)) return lose_place(s, da_fail(err, DA_ERR_NOMEM, "out of memory"));
        return 1;
    }

    for (;;) {
        uint64_t off;
        int got = read_raw(s, b, &off, err);
        if (got <= 0) return got;
        if (b->core.tid != s->tid || b->core.pos >= s->end) {  /* the first record after the window */
            put_back(s, b, off);
            return 0;
        }
        int64_t e = bam_endpos(b);
        if (e > s->beg) return s->itr ? 1 : deliver(s, b, e, err);
        if (b->core.pos >= s->context_from) return 1;      /* a context record */
    }
}
