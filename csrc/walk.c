#include "walk.h"

#include "mates.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The inner counting loops stay out of line: inlined into the big walk
 * function their locals spill to the stack.  DA_PREFETCH is only a hint. */
#if defined(__GNUC__) || defined(__clang__)
#define DA_NOINLINE __attribute__((noinline))
#define DA_PREFETCH(p) __builtin_prefetch(p)
#else
#define DA_NOINLINE
#define DA_PREFETCH(p) ((void)(p))
#endif

_Static_assert(DA_SYM_A == 0 && DA_SYM_C == 1 && DA_SYM_G == 2 && DA_SYM_T == 3 && DA_SYM_N == 4,
               "packed waiting mates (mates.h) number A C G T N as enum da_symbol does");

#define SYM_NONE 255
#define QUAL_MISSING 255

/* What one read shows at one reference position of the chunk (4 bytes, so
 * filling and merging stay in cache).  Indels are rare: a flag here, the
 * details in the read's short side list. */
enum { OBS_INS = 1, OBS_DEL = 2 };

typedef struct {
    uint8_t sym;       /* enum da_symbol (A..N, DEL) or SYM_NONE */
    uint8_t qual;      /* base quality (QUAL_MISSING when '*') */
    uint8_t flags;     /* OBS_INS / OBS_DEL: an indel event is anchored here */
    uint8_t pad;
} obs_t;

typedef struct {
    int64_t pos;       /* anchor: reference base before the event */
    int32_t len;       /* > 0 inserted bases, < 0 deleted bases */
    int32_t qpos;      /* query offset of the inserted bases */
} indel_obs_t;

/* One read's observations over the chunk. */
typedef struct {
    obs_t *o;          /* indexed by position - chunk begin */
    indel_obs_t *ind;
    int n_ind, m_ind;
} read_obs_t;

/* Junctions p -> p+1 observed by a read, for s <= p < e. */
typedef struct {
    int64_t s, e;
} span_t;

typedef struct {
    const da_params_t *par;
    const da_chunk_t *ch;
    da_chunk_result_t *res;
    int64_t len;            /* chunk length */
    uint8_t *ref_sym;       /* per chunk position: 0..3, or 4 (no alt filter) */
    read_obs_t r1, r2;      /* scratch observations of one or two mates */
    char *ins_buf;
    int64_t ins_cap;
    int32_t *jdiff;         /* 2 x (len + 1): difference array of junction spans, by strand */
    span_t *spans;          /* scratch: the junction spans of one fragment */
    int nspans, mspans;
    obs_t packed_obs[256];  /* the observation of each packed base byte */
} walker_t;

static const uint8_t nt16_to_sym[16] = {
    DA_SYM_N, DA_SYM_A, DA_SYM_C, DA_SYM_N, DA_SYM_G, DA_SYM_N, DA_SYM_N, DA_SYM_N,
    DA_SYM_T, DA_SYM_N, DA_SYM_N, DA_SYM_N, DA_SYM_N, DA_SYM_N, DA_SYM_N, DA_SYM_N};

/* ------------------------------------------------------------------ CIGAR walk */

/* Does an op that consumes the reference follow op i? (insertion anchored on the right) */
static int ref_op_follows(const uint32_t *cigar, uint32_t n, uint32_t i)
{
    for (uint32_t j = i + 1; j < n; j++) {
        int op = bam_cigar_op(cigar[j]);
        if (op == BAM_CMATCH || op == BAM_CEQUAL || op == BAM_CDIFF || op == BAM_CDEL) return 1;
        if (op == BAM_CREF_SKIP) return 0;
    }
    return 0;
}

static int add_indel_obs(read_obs_t *ro, int64_t pos, int32_t len, int32_t qpos)
{
    if (ro->n_ind == ro->m_ind) {
        int m = ro->m_ind ? ro->m_ind * 2 : 8;
        indel_obs_t *ind = realloc(ro->ind, sizeof *ind * (size_t)m);
        if (!ind) return DA_ERR_NOMEM;
        ro->ind = ind;
        ro->m_ind = m;
    }
    indel_obs_t *e = &ro->ind[ro->n_ind++];
    e->pos = pos;
    e->len = len;
    e->qpos = qpos;
    return DA_OK;
}

/* The insertion (want > 0) or deletion (want < 0) anchored at pos, or NULL. */
static const indel_obs_t *find_indel(const read_obs_t *ro, int64_t pos, int want)
{
    for (int i = 0; i < ro->n_ind; i++)
        if (ro->ind[i].pos == pos && (want > 0) == (ro->ind[i].len > 0)) return &ro->ind[i];
    return NULL;
}

/* Write a base observation (no indel flags) with one 4-byte store. */
static inline void store_obs(obs_t *o, uint8_t sym, uint8_t qual)
{
    obs_t v = {sym, qual, 0, 0};
    uint32_t word;
    memcpy(&word, &v, sizeof word);
    memcpy(o, &word, sizeof word);
}

/* Fill ro over [*lo, *hi) = the read's reference span clipped to the chunk.
 * Every position of the span is written by exactly one reference-consuming
 * op, so no initialisation pass is needed.  Counts soft-clipped and
 * unanchored inserted bases into *clipped.  packed: b's bases one byte each
 * (a waiting mate's form, see mates.h), or NULL to read b's own. */
static int read_to_obs(walker_t *w, const bam1_t *b, const uint8_t *packed, read_obs_t *ro,
                       int64_t *lo, int64_t *hi, uint64_t *clipped, da_error_t *err)
{
    const da_chunk_t *ch = w->ch;
    const uint32_t *cigar = bam_get_cigar(b);
    const uint8_t *seq = bam_get_seq(b);
    const uint8_t *qual = bam_get_qual(b);
    uint32_t ncig = b->core.n_cigar;
    int64_t pos = b->core.pos;
    int64_t end = pos + bam_cigar2rlen((int)ncig, cigar);
    int64_t a = pos > ch->beg ? pos : ch->beg;
    int64_t z = end < ch->end ? end : ch->end;
    int missing_qual = !packed && b->core.l_qseq > 0 && qual[0] == 0xff;
    obs_t *obs = ro->o - ch->beg;  /* obs[p] for reference position p */
    if (z < a) z = a;
    *lo = a;
    *hi = z;
    ro->n_ind = 0;
    int64_t rpos = pos, qpos = 0;
    int ref_seen = 0;
    for (uint32_t i = 0; i < ncig; i++) {
        int op = bam_cigar_op(cigar[i]);
        int64_t len = bam_cigar_oplen(cigar[i]);
        switch (op) {
        case BAM_CMATCH:
        case BAM_CEQUAL:
        case BAM_CDIFF: {
            if (qpos + len > b->core.l_qseq)
                return da_fail(err, DA_ERR_CORRUPT, "read %s: CIGAR longer than its sequence",
                               bam_get_qname(b));
            int64_t s = rpos > a ? rpos : a, e = rpos + len < z ? rpos + len : z;
            int64_t q = qpos + (s - rpos);
            if (packed) {
                for (int64_t p = s; p < e; p++, q++) obs[p] = w->packed_obs[packed[q]];
            } else if (missing_qual) {
                for (int64_t p = s; p < e; p++, q++)
                    store_obs(&obs[p], nt16_to_sym[bam_seqi(seq, q)], QUAL_MISSING);
            } else {
                for (int64_t p = s; p < e; p++, q++)
                    store_obs(&obs[p], nt16_to_sym[bam_seqi(seq, q)], qual[q]);
            }
            rpos += len;
            qpos += len;
            ref_seen = 1;
            break;
        }
        case BAM_CINS:
            if (qpos + len > b->core.l_qseq)
                return da_fail(err, DA_ERR_CORRUPT, "read %s: CIGAR longer than its sequence",
                               bam_get_qname(b));
            if (ref_seen && ref_op_follows(cigar, ncig, i)) {
                if (rpos - 1 >= a && rpos - 1 < z) {
                    if (add_indel_obs(ro, rpos - 1, (int32_t)len, (int32_t)qpos))
                        return da_fail(err, DA_ERR_NOMEM, "out of memory");
                    obs[rpos - 1].flags |= OBS_INS;
                }
            } else {
                *clipped += (uint64_t)len;
            }
            qpos += len;
            break;
        case BAM_CDEL:
        case BAM_CREF_SKIP: {
            if (op == BAM_CDEL && ref_seen && rpos - 1 >= a && rpos - 1 < z) {
                if (add_indel_obs(ro, rpos - 1, -(int32_t)len, 0))
                    return da_fail(err, DA_ERR_NOMEM, "out of memory");
                obs[rpos - 1].flags |= OBS_DEL;
            }
            int64_t s = rpos > a ? rpos : a, e = rpos + len < z ? rpos + len : z;
            uint8_t sym = op == BAM_CDEL ? DA_SYM_DEL : SYM_NONE;
            for (int64_t p = s; p < e; p++) {
                obs[p].sym = sym;
                obs[p].qual = 0;
                obs[p].flags = 0;
            }
            rpos += len;
            if (op == BAM_CDEL) ref_seen = 1;
            break;
        }
        case BAM_CSOFT_CLIP:
            *clipped += (uint64_t)len;
            qpos += len;
            break;
        case BAM_CHARD_CLIP:
        case BAM_CPAD:
            break;
        default:
            return da_fail(err, DA_ERR_CORRUPT, "read %s: unsupported CIGAR operation %d",
                           bam_get_qname(b), op);
        }
    }
    if (qpos != b->core.l_qseq)
        return da_fail(err, DA_ERR_CORRUPT, "read %s: CIGAR covers %" PRId64
                       " bases but the sequence has %d", bam_get_qname(b), qpos, b->core.l_qseq);
    return DA_OK;
}

/* ------------------------------------------------------------------ counting */

enum { ST_PASS, ST_LOW_BQ, ST_NO_QUAL };

static inline int base_status(const walker_t *w, const obs_t *o)
{
    if (o->sym == DA_SYM_DEL) return ST_PASS;
    if (o->qual == QUAL_MISSING) return w->par->min_bq > 0 ? ST_NO_QUAL : ST_PASS;
    return o->qual < w->par->min_bq ? ST_LOW_BQ : ST_PASS;
}

static inline void drop_base(walker_t *w, int status)
{
    w->res->base_stats[status == ST_NO_QUAL ? DA_BASE_NO_QUAL : DA_BASE_LOW_BQ]++;
}

/* Count symbol sym (quality q) at reference position p on strand. */
static inline void count_symbol(walker_t *w, int64_t p, int sym, int q, int strand)
{
    int64_t k = p - w->ch->beg;
    if (sym != DA_SYM_DEL) {
        int ref = w->ref_sym[k];
        if (ref < 4 && sym != ref && q != QUAL_MISSING && q < w->par->min_alt_bq) {
            w->res->base_stats[DA_BASE_LOW_ALT_BQ]++;
            return;
        }
        w->res->base_stats[DA_BASE_COUNTED]++;
        if (w->ch->qual_hist && sym != DA_SYM_N)  /* N bases carry no error model (as in LoFreq) */
            w->ch->qual_hist[(size_t)k * DA_NQUAL + (q >= DA_NQUAL ? DA_NQUAL - 1 : q)]++;
    }
    w->ch->counts[((size_t)k * DA_NSYM + sym) * 2 + strand]++;
}

static int count_insertion(walker_t *w, const bam1_t *b, const indel_obs_t *e, int strand)
{
    if (e->len > w->ins_cap) {
        int64_t cap = (int64_t)e->len * 2;
        char *buf = realloc(w->ins_buf, (size_t)cap);
        if (!buf) return DA_ERR_NOMEM;
        w->ins_buf = buf;
        w->ins_cap = cap;
    }
    const uint8_t *seq = bam_get_seq(b);
    for (int32_t i = 0; i < e->len; i++) w->ins_buf[i] = seq_nt16_str[bam_seqi(seq, e->qpos + i)];
    w->ch->counts[((size_t)(e->pos - w->ch->beg) * DA_NSYM + DA_SYM_INS) * 2 + strand]++;
    return da_indel_add(&w->res->indels, e->pos, e->len, w->ins_buf, strand);
}

static int count_event(walker_t *w, const bam1_t *b, const indel_obs_t *e, int strand)
{
    return e->len > 0 ? count_insertion(w, b, e, strand)
                      : da_indel_add(&w->res->indels, e->pos, e->len, NULL, strand);
}

/* Count one read's observation at position p, alone. */
static int count_solo(walker_t *w, const bam1_t *b, const read_obs_t *ro, int64_t p, const obs_t *o,
                      int strand)
{
    if (o->sym != SYM_NONE) {
        int st = base_status(w, o);
        if (st == ST_PASS) count_symbol(w, p, o->sym, o->qual, strand);
        else drop_base(w, st);
    }
    if (o->flags) {
        for (int i = 0; i < ro->n_ind; i++) {
            if (ro->ind[i].pos != p) continue;
            int rc = count_event(w, b, &ro->ind[i], strand);
            if (rc) return rc;
        }
    }
    return DA_OK;
}

static int same_insertion(const bam1_t *b1, const indel_obs_t *e1, const bam1_t *b2, const indel_obs_t *e2)
{
    if (e1->len != e2->len) return 0;
    const uint8_t *s1 = bam_get_seq(b1), *s2 = bam_get_seq(b2);
    for (int32_t i = 0; i < e1->len; i++)
        if (bam_seqi(s1, e1->qpos + i) != bam_seqi(s2, e2->qpos + i)) return 0;
    return 1;
}

/* One kind of indel event (insertion: kind > 0, deletion: kind < 0) anchored
 * at p in a merged pair: agree -> once (read 1's strand); one mate only ->
 * counted if the other mate does not read across the junction, else masked. */
static int merge_event(walker_t *w, int kind, int64_t p,
                       const bam1_t *bx, const read_obs_t *rx, int sx, int x_next,
                       const bam1_t *by, const read_obs_t *ry, int sy, int y_next)
{
    const indel_obs_t *ex = find_indel(rx, p, kind), *ey = find_indel(ry, p, kind);
    if (!ex && !ey) return DA_OK;
    if (ex && ey) {
        int same = kind > 0 ? same_insertion(bx, ex, by, ey) : ex->len == ey->len;
        if (same) return count_event(w, bx, ex, sx);
    } else if (ex && !y_next) {
        return count_event(w, bx, ex, sx);
    } else if (ey && !x_next) {
        return count_event(w, by, ey, sy);
    }
    w->res->base_stats[DA_INDEL_OVERLAP_DISCORDANT]++;
    return DA_OK;
}

/* Both mates cover p: merge.  x is read 1 of the fragment (its strand is used). */
static int count_merged(walker_t *w, const bam1_t *bx, const read_obs_t *rx, const obs_t *ox, int sx,
                        const bam1_t *by, const read_obs_t *ry, const obs_t *oy, int sy,
                        int x_next, int y_next, int64_t p)
{
    int stx = base_status(w, ox), sty = base_status(w, oy);
    int is_base_x = ox->sym != DA_SYM_DEL, is_base_y = oy->sym != DA_SYM_DEL;
    if (stx == ST_PASS && sty == ST_PASS) {
        if (ox->sym == oy->sym) {
            int q = ox->qual;
            if (is_base_x && oy->qual != QUAL_MISSING && (q == QUAL_MISSING || oy->qual > q)) q = oy->qual;
            count_symbol(w, p, ox->sym, q, sx);
            if (is_base_x) w->res->base_stats[DA_BASE_OVERLAP_MERGED]++;
        } else {
            w->res->base_stats[DA_BASE_OVERLAP_DISCORDANT] += (uint64_t)(is_base_x + is_base_y);
        }
    } else if (stx == ST_PASS) {
        count_symbol(w, p, ox->sym, ox->qual, sx);
        drop_base(w, sty);
    } else if (sty == ST_PASS) {
        count_symbol(w, p, oy->sym, oy->qual, sy);
        drop_base(w, stx);
    } else {
        drop_base(w, stx);
        drop_base(w, sty);
    }
    if (!((ox->flags | oy->flags) & (OBS_INS | OBS_DEL))) return DA_OK;
    int rc = merge_event(w, 1, p, bx, rx, sx, x_next, by, ry, sy, y_next);
    if (!rc) rc = merge_event(w, -1, p, bx, rx, sx, x_next, by, ry, sy, y_next);
    return rc;
}

/* Is this read's alignment counted in this chunk's read statistics? */
static int owns(const walker_t *w, const bam1_t *b)
{
    return b->core.pos >= w->ch->own_from;
}

/* Does the read align a base or a deletion at reference position pos?
 * (Used for junctions just past the chunk, where there are no observations.) */
static int covers_ref(const bam1_t *b, int64_t pos)
{
    const uint32_t *cigar = bam_get_cigar(b);
    int64_t rpos = b->core.pos;
    for (uint32_t i = 0; i < b->core.n_cigar && rpos <= pos; i++) {
        int op = bam_cigar_op(cigar[i]);
        int64_t len = bam_cigar_oplen(cigar[i]);
        if (!(bam_cigar_type(op) & 2)) continue;           /* consumes no reference */
        if (pos < rpos + len) return op != BAM_CREF_SKIP;  /* M, =, X or D */
        rpos += len;
    }
    return 0;
}

static int strand_of(const bam1_t *b)
{
    return bam_is_rev(b) ? 1 : 0;
}

/* What the inline counting loops need, in registers. */
typedef struct {
    uint32_t *counts, *hist;
    const uint8_t *ref_sym;
    int min_bq, min_alt_bq;
} fast_t;

static fast_t fast_of(const walker_t *w)
{
    fast_t f = {w->ch->counts, w->ch->qual_hist, w->ref_sym, w->par->min_bq, w->par->min_alt_bq};
    return f;
}

/* Is o a plain observation: an A/C/G/T base of good quality (q), no indel anchored? */
static inline int plain(const fast_t *f, obs_t o, int q, int64_t k)
{
    return o.sym < DA_SYM_N && !o.flags && q != QUAL_MISSING && q >= f->min_bq &&
           (f->ref_sym[k] == o.sym || f->ref_sym[k] > 3 || q >= f->min_alt_bq);
}

static inline void count_plain(const fast_t *f, int64_t k, int sym, int q, int strand)
{
    f->counts[((size_t)k * DA_NSYM + sym) * 2 + strand]++;
    if (f->hist) f->hist[(size_t)k * DA_NQUAL + (q >= DA_NQUAL ? DA_NQUAL - 1 : q)]++;
}

/* Count the plain positions of one read from chunk offset k on (o indexed by
 * offset); return the first offset < kend that is not plain, or kend. */
DA_NOINLINE static int64_t solo_fast(fast_t f, const obs_t *o, int64_t k, int64_t kend, int strand)
{
    for (; k < kend; k++) {
        obs_t x = o[k];
        if (!plain(&f, x, x.qual, k)) break;
        count_plain(&f, k, x.sym, x.qual, strand);
    }
    return k;
}

/* The same for both mates of a pair over their overlap: the same plain base
 * in both counts once, with the higher quality, on read 1's strand sx. */
DA_NOINLINE static int64_t overlap_fast(fast_t f, const obs_t *ox, const obs_t *oy, int64_t k, int64_t kend,
                                        int sx)
{
    for (; k < kend; k++) {
        obs_t x = ox[k], y = oy[k];
        int q = x.qual > y.qual ? x.qual : y.qual;
        if (x.sym != y.sym || y.flags || y.qual < f.min_bq || !plain(&f, x, q, k) || x.qual < f.min_bq) break;
        count_plain(&f, k, x.sym, q, sx);
    }
    return k;
}

/* Count positions [s, e) of one read alone: plain ones inline, the rest by count_solo. */
static int count_solo_run(walker_t *w, const bam1_t *b, const read_obs_t *ro, int64_t s, int64_t e, int strand)
{
    const fast_t f = fast_of(w);
    const int64_t beg = w->ch->beg;
    uint64_t n_fast = 0;
    for (int64_t k = s - beg, kend = e - beg; k < kend; k++) {
        int64_t stop = solo_fast(f, ro->o, k, kend, strand);
        n_fast += (uint64_t)(stop - k);
        if (stop == kend) break;
        k = stop;
        int rc = count_solo(w, b, ro, beg + k, &ro->o[k], strand);
        if (rc) return rc;
    }
    w->res->base_stats[DA_BASE_COUNTED] += n_fast;
    return DA_OK;
}

/* ------------------------------------------------------------------ junctions */

static int push_span(walker_t *w, int64_t s, int64_t e)
{
    if (e <= s) return DA_OK;
    if (w->nspans == w->mspans) {
        int m = w->mspans ? w->mspans * 2 : 8;
        span_t *p = realloc(w->spans, sizeof *p * (size_t)m);
        if (!p) return DA_ERR_NOMEM;
        w->spans = p;
        w->mspans = m;
    }
    w->spans[w->nspans].s = s;
    w->spans[w->nspans].e = e;
    w->nspans++;
    return DA_OK;
}

/* Append b's junction spans: each run of M/=/X/D not broken by N observes
 * the junctions inside it (insertions do not break a run). */
static int add_read_spans(walker_t *w, const bam1_t *b)
{
    const uint32_t *cigar = bam_get_cigar(b);
    int64_t rpos = b->core.pos, run = rpos;
    for (uint32_t i = 0; i < b->core.n_cigar; i++) {
        int op = bam_cigar_op(cigar[i]);
        int64_t len = bam_cigar_oplen(cigar[i]);
        if (op == BAM_CREF_SKIP) {
            if (push_span(w, run, rpos - 1)) return DA_ERR_NOMEM;
            run = rpos + len;
        }
        if (bam_cigar_type(op) & 2) rpos += len;
    }
    return push_span(w, run, rpos - 1);
}

/* Add delta on strand over the junctions [s, e), clipped to the chunk. */
static void add_span(walker_t *w, int64_t s, int64_t e, int strand, int delta)
{
    int32_t *d = w->jdiff + (size_t)strand * (size_t)(w->len + 1);
    if (s < w->ch->beg) s = w->ch->beg;
    if (e > w->ch->end) e = w->ch->end;
    if (s >= e) return;
    d[s - w->ch->beg] += delta;
    d[e - w->ch->beg] -= delta;
}

/* Junction spans of one read (b2 NULL, strand s1), or of a merged pair as
 * bases are counted: junctions read 1 (b1) observes on its strand s1, those
 * only read 2 observes on read 2's strand s2. */
static int count_spans(walker_t *w, const bam1_t *b1, int s1, const bam1_t *b2, int s2)
{
    if (!w->ch->junction) return DA_OK;
    w->nspans = 0;
    if (add_read_spans(w, b1)) return DA_ERR_NOMEM;
    int n1 = w->nspans;
    if (b2 && add_read_spans(w, b2)) return DA_ERR_NOMEM;
    const span_t *sp = w->spans;
    for (int i = 0; i < n1; i++) add_span(w, sp[i].s, sp[i].e, s1, 1);
    for (int j = n1; j < w->nspans; j++) {
        add_span(w, sp[j].s, sp[j].e, s2, 1);
        for (int i = 0; i < n1; i++) {      /* runs of one read are disjoint */
            int64_t s = sp[i].s > sp[j].s ? sp[i].s : sp[j].s;
            int64_t e = sp[i].e < sp[j].e ? sp[i].e : sp[j].e;
            if (s < e) add_span(w, s, e, s2, -1);
        }
    }
    return DA_OK;
}

/* Add the chunk's junction counts (prefix sums of the difference arrays). */
static void finish_junctions(walker_t *w)
{
    if (!w->ch->junction) return;
    for (int strand = 0; strand < 2; strand++) {
        const int32_t *d = w->jdiff + (size_t)strand * (size_t)(w->len + 1);
        int64_t run = 0;
        for (int64_t k = 0; k < w->len; k++) {
            run += d[k];
            w->ch->junction[(size_t)k * 2 + strand] += (uint32_t)run;
        }
    }
}

static int count_read(walker_t *w, const bam1_t *b, const uint8_t *packed, da_error_t *err)
{
    int64_t lo, hi;
    uint64_t clipped = 0;
    int rc = read_to_obs(w, b, packed, &w->r1, &lo, &hi, &clipped, err);
    if (rc) return rc;
    if (owns(w, b)) w->res->base_stats[DA_BASE_SOFT_CLIPPED] += clipped;
    rc = count_solo_run(w, b, &w->r1, lo, hi, strand_of(b));
    if (!rc) rc = count_spans(w, b, strand_of(b), NULL, 0);
    return rc ? da_fail(err, rc, "out of memory counting indels") : DA_OK;
}

/* Count the overlap [ob, oe) of a pair: plain agreeing positions inline,
 * anything else by count_merged (or count_solo where one mate skips it). */
static int count_overlap(walker_t *w, const bam1_t *bx, const read_obs_t *rx, int sx, int64_t hix,
                         const bam1_t *by, const read_obs_t *ry, int sy, int64_t hiy,
                         int64_t ob, int64_t oe)
{
    const fast_t f = fast_of(w);
    const int64_t beg = w->ch->beg;
    const obs_t *ox_arr = rx->o - beg, *oy_arr = ry->o - beg;
    uint64_t n_fast = 0;
    int rc = DA_OK;
    for (int64_t k = ob - beg, kend = oe - beg; k < kend && !rc; k++) {
        int64_t stop = overlap_fast(f, rx->o, ry->o, k, kend, sx);
        n_fast += (uint64_t)(stop - k);
        if (stop == kend) break;
        k = stop;
        int64_t p = beg + k;
        const obs_t *ox = ox_arr[p].sym != SYM_NONE ? &ox_arr[p] : NULL;
        const obs_t *oy = oy_arr[p].sym != SYM_NONE ? &oy_arr[p] : NULL;
        if (ox && oy) {
            int x_next = p + 1 < hix ? ox_arr[p + 1].sym != SYM_NONE : covers_ref(bx, p + 1);
            int y_next = p + 1 < hiy ? oy_arr[p + 1].sym != SYM_NONE : covers_ref(by, p + 1);
            rc = count_merged(w, bx, rx, ox, sx, by, ry, oy, sy, x_next, y_next, p);
        } else if (ox) {
            rc = count_solo(w, bx, rx, p, ox, sx);
        } else if (oy) {
            rc = count_solo(w, by, ry, p, oy, sy);
        }
    }
    w->res->base_stats[DA_BASE_COUNTED] += n_fast;
    w->res->base_stats[DA_BASE_OVERLAP_MERGED] += n_fast;
    return rc;
}

/* first and second as read_to_obs takes them, with their packed bases. */
static int count_pair(walker_t *w, const bam1_t *first, const uint8_t *first_packed,
                      const bam1_t *second, const uint8_t *second_packed, da_error_t *err)
{
    int64_t lo1, hi1, lo2, hi2;
    uint64_t clipped1 = 0, clipped2 = 0;
    int rc = read_to_obs(w, first, first_packed, &w->r1, &lo1, &hi1, &clipped1, err);
    if (!rc) rc = read_to_obs(w, second, second_packed, &w->r2, &lo2, &hi2, &clipped2, err);
    if (rc) return rc;
    if (owns(w, first)) w->res->base_stats[DA_BASE_SOFT_CLIPPED] += clipped1;
    if (owns(w, second)) w->res->base_stats[DA_BASE_SOFT_CLIPPED] += clipped2;
    /* read 1 of the fragment decides the strand of merged observations */
    int second_is_x = (second->core.flag & BAM_FREAD1) && !(first->core.flag & BAM_FREAD1);
    const bam1_t *bx = second_is_x ? second : first, *by = second_is_x ? first : second;
    const read_obs_t *rx = second_is_x ? &w->r2 : &w->r1, *ry = second_is_x ? &w->r1 : &w->r2;
    int64_t lox = second_is_x ? lo2 : lo1, hix = second_is_x ? hi2 : hi1;
    int64_t loy = second_is_x ? lo1 : lo2, hiy = second_is_x ? hi1 : hi2;
    int sx = strand_of(bx), sy = strand_of(by);
    int64_t ob = lox > loy ? lox : loy, oe = hix < hiy ? hix : hiy;  /* overlap */
    if (oe <= ob) {
        rc = count_solo_run(w, bx, rx, lox, hix, sx);
        if (!rc) rc = count_solo_run(w, by, ry, loy, hiy, sy);
    } else {
        /* each mate alone before and after the overlap, then the overlap */
        rc = count_solo_run(w, bx, rx, lox, ob, sx);
        if (!rc) rc = count_solo_run(w, by, ry, loy, ob, sy);
        if (!rc) rc = count_solo_run(w, bx, rx, oe, hix, sx);
        if (!rc) rc = count_solo_run(w, by, ry, oe, hiy, sy);
        if (!rc) rc = count_overlap(w, bx, rx, sx, hix, by, ry, sy, hiy, ob, oe);
    }
    if (!rc) rc = count_spans(w, bx, sx, by, sy);
    return rc ? da_fail(err, rc, "out of memory counting indels") : DA_OK;
}

/* Count alone every waiting first mate whose mate should have arrived before pos. */
static int flush_pending(walker_t *w, da_mates_t *m, int64_t before, da_error_t *err)
{
    int64_t idx;
    while ((idx = da_mates_expired(m, before)) >= 0) {
        const uint8_t *packed;
        const bam1_t *first = da_mates_record(m, idx, &packed);
        int rc = count_read(w, first, packed, err);
        if (rc) return rc;
        if (da_mates_release(m, idx)) return da_fail(err, DA_ERR_NOMEM, "out of memory");
    }
    return DA_OK;
}

/* Reason a read is not used, or -1 if it is. */
static int read_drop_reason(const walker_t *w, const bam1_t *b)
{
    uint32_t f = b->core.flag & w->par->flag_exclude;
    if (b->core.flag & BAM_FUNMAP) return DA_READ_UNMAPPED;  /* nothing aligned to count */
    if (f & BAM_FSECONDARY) return DA_READ_SECONDARY;
    if (f & BAM_FSUPPLEMENTARY) return DA_READ_SUPPLEMENTARY;
    if (f & BAM_FQCFAIL) return DA_READ_QCFAIL;
    if (f & BAM_FDUP) return DA_READ_DUPLICATE;
    if (b->core.qual < w->par->min_mapq) return DA_READ_LOW_MAPQ;
    if (b->core.l_qseq == 0) return DA_READ_NO_SEQUENCE;
    return -1;
}

/* Should this read wait for an overlapping mate that comes later in the file? */
static int waits_for_mate(const walker_t *w, const bam1_t *b, int64_t end)
{
    const bam1_core_t *c = &b->core;
    return w->par->merge_mates && (c->flag & BAM_FPAIRED) && !(c->flag & BAM_FMUNMAP) &&
           !(c->flag & (BAM_FSUPPLEMENTARY | BAM_FSECONDARY | BAM_FUNMAP)) &&
           c->mtid == c->tid && c->mpos >= c->pos && c->mpos < end && c->mpos < w->ch->end;
}

/* Hash of b's name when b may meet its mate in the pending table, else 0. */
static uint64_t mate_hash(const walker_t *w, const bam1_t *b)
{
    return w->par->merge_mates && (b->core.flag & BAM_FPAIRED) ? da_name_hash(bam_get_qname(b)) : 0;
}

/* Count a used read b (mate_hash h; packed: its bases when it comes from a
 * spill file, or NULL): merged with its waiting mate, queued for a mate still
 * to come, sent to its partition's spill file, or alone. */
static int pair_or_count(walker_t *w, da_mates_t *m, const bam1_t *b, const uint8_t *packed, uint64_t h,
                         da_error_t *err)
{
    if (h) {
        FILE *spill = da_mates_spill_of(m, h);
        if (spill) return da_mates_write(m, spill, b, packed, err);
        int64_t idx = da_mates_take(m, b, h);
        if (idx >= 0) {
            const uint8_t *first_packed;
            const bam1_t *first = da_mates_record(m, idx, &first_packed);
            int rc = count_pair(w, first, first_packed, b, packed, err);
            if (rc) return rc;
            if (owns(w, b)) w->res->read_stats[DA_READ_MATES_MERGED] += 2;
            return da_mates_release(m, idx) ? da_fail(err, DA_ERR_NOMEM, "out of memory") : DA_OK;
        }
        if (waits_for_mate(w, b, bam_endpos(b))) return da_mates_add(m, b, packed, h, err);
    }
    return count_read(w, b, packed, err);
}

/* Count (or queue) b, whose mate_hash is h. */
static int process(walker_t *w, da_mates_t *m, const bam1_t *b, uint64_t h, da_error_t *err)
{
    int own = owns(w, b);
    if (own) w->res->read_stats[DA_READ_SEEN]++;
    int reason = read_drop_reason(w, b);
    if (reason >= 0) {
        if (own) w->res->read_stats[reason]++;
        return DA_OK;
    }
    if (own) w->res->read_stats[DA_READ_USED]++;
    return pair_or_count(w, m, b, NULL, h, err);
}

/* After the walk: pair the reads of every partition that went to disk, by
 * replaying its file (in coordinate order) through a table one level down. */
static int replay_spills(walker_t *w, da_mates_t *m, da_error_t *err)
{
    da_mates_release_memory(m);  /* empty by now: the replay gets the budget */
    for (int p = 0; p < DA_MATE_PARTS; p++) {
        FILE *fp = m->spill[p];
        if (!fp) continue;
        da_mates_t sub;
        da_mate_buf_t buf;
        memset(&buf, 0, sizeof buf);
        int rc = da_mates_init(&sub, m->budget, m->level + 1, m->tmpdir);
        if (rc) rc = da_fail(err, rc, "out of memory");
        if (!rc && (fflush(fp) != 0 || fseek(fp, 0, SEEK_SET) != 0))
            rc = da_fail(err, DA_ERR_TEMP, "cannot rewind a temporary file of waiting mates in %s",
                         m->tmpdir);
        int got = 0;
        while (!rc && (got = da_mates_read(m, fp, &buf, err)) > 0) {
            rc = flush_pending(w, &sub, buf.b.core.pos, err);
            if (!rc) rc = pair_or_count(w, &sub, &buf.b, buf.packed, da_name_hash(bam_get_qname(&buf.b)), err);
        }
        if (!rc && got < 0) rc = got;
        if (!rc) rc = flush_pending(w, &sub, INT64_MAX, err);
        if (!rc) rc = replay_spills(w, &sub, err);
        da_mates_free(&sub);
        da_mate_buf_free(&buf);
        fclose(fp);
        m->spill[p] = NULL;
        if (rc) return rc;
    }
    return DA_OK;
}

static void walker_free(walker_t *w)
{
    free(w->r1.o);
    free(w->r2.o);
    free(w->r1.ind);
    free(w->r2.ind);
    free(w->ref_sym);
    free(w->ins_buf);
    free(w->jdiff);
    free(w->spans);
}

int da_walk_chunk(da_stream_t *s, const da_params_t *par, const da_chunk_t *ch,
                  da_chunk_result_t *res, da_error_t *err)
{
    walker_t w;
    da_mates_t mates;
    memset(&w, 0, sizeof w);
    bam1_t *b = NULL, *next = NULL;
    int rc = DA_OK;
    w.par = par;
    w.ch = ch;
    w.res = res;
    w.len = ch->end - ch->beg;
    w.r1.o = malloc(sizeof *w.r1.o * (size_t)(w.len + 1));
    w.r2.o = malloc(sizeof *w.r2.o * (size_t)(w.len + 1));
    w.ref_sym = malloc((size_t)w.len + 1);
    w.jdiff = calloc(2 * (size_t)(w.len + 1), sizeof *w.jdiff);
    b = bam_init1();
    next = bam_init1();
    int mates_rc = da_mates_init(&mates, par->mate_memory, 0, par->tmpdir);
    if (!w.r1.o || !w.r2.o || !w.ref_sym || !w.jdiff || !b || !next || mates_rc) {
        rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int v = 0; v < 256; v++) {
        obs_t o = {(uint8_t)da_packed_sym((uint8_t)v), (uint8_t)da_packed_qual((uint8_t)v), 0, 0};
        w.packed_obs[v] = o;
    }
    for (int64_t k = 0; k < w.len; k++) {
        switch (ch->ref ? ch->ref[k] : 'N') {
        case 'A': w.ref_sym[k] = DA_SYM_A; break;
        case 'C': w.ref_sym[k] = DA_SYM_C; break;
        case 'G': w.ref_sym[k] = DA_SYM_G; break;
        case 'T': w.ref_sym[k] = DA_SYM_T; break;
        default: w.ref_sym[k] = DA_SYM_N;
        }
    }
    if ((rc = da_stream_window(s, ch->tid, ch->beg, ch->end, ch->keep_from, err))) goto out;
    /* One record of look-ahead: the next read's hash slot is prefetched while
     * this one is counted (the pending table is larger than the caches). */
    int got = da_stream_next(s, b, err);
    uint64_t h = got > 0 ? mate_hash(&w, b) : 0;
    while (got > 0) {
        int got_next = da_stream_next(s, next, err);
        uint64_t h_next = got_next > 0 ? mate_hash(&w, next) : 0;
        if (h_next) DA_PREFETCH(da_mates_slot_of(&mates, h_next));
        if ((rc = flush_pending(&w, &mates, b->core.pos, err))) goto out;
        if ((rc = process(&w, &mates, b, h, err))) goto out;
        bam1_t *t = b;
        b = next;
        next = t;
        got = got_next;
        h = h_next;
    }
    if (got < 0) {
        rc = got;
        goto out;
    }
    rc = flush_pending(&w, &mates, INT64_MAX, err);
    if (!rc) rc = replay_spills(&w, &mates, err);
    if (!rc) finish_junctions(&w);
out:
    if (b) bam_destroy1(b);
    if (next) bam_destroy1(next);
    da_mates_free(&mates);
    walker_free(&w);
    return rc;
}
