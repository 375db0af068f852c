#include "walk.h"

#include "ends.h"

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

/* What one read shows at one reference position of the chunk.  Indels are
 * rare: a flag here, the details in the read's short side list. */
enum { OBS_INS = 1, OBS_DEL = 2 };

typedef struct {
    uint8_t sym;       /* enum da_symbol (A..N, DEL) or SYM_NONE */
    uint8_t qual;      /* base quality (QUAL_MISSING when '*') */
    uint8_t flags;     /* OBS_INS / OBS_DEL: an indel event is anchored here */
} obs_t;

typedef struct {
    int64_t pos;       /* anchor: reference base before the event */
    int32_t len;       /* > 0 inserted bases, < 0 deleted bases */
    int32_t qpos;      /* query offset of the inserted bases */
} indel_obs_t;

/* One read's observations over the chunk, as one byte array per field of
 * obs_t (indexed by position - chunk begin), so that deciding which
 * positions take the inline counting path runs on whole vectors. */
typedef struct {
    uint8_t *sym, *qual, *flags;
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
    uint8_t *plain;         /* scratch: 1 where a position takes the inline path */
    uint32_t seq;           /* arrival number of the next read that may meet a mate */
} walker_t;

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

/* Symbols of n BAM bases from query offset q (whole bytes in the loop, so
 * that it vectorises). */
static void seq_to_sym(const uint8_t *restrict seq, int64_t q, uint8_t *restrict sym, int64_t n)
{
    if (n <= 0) return;
    if (q & 1) {
        *sym++ = da_nt16_sym(seq[q >> 1] & 15);
        q++;
        n--;
    }
    const uint8_t *restrict s = seq + (q >> 1);
    int64_t pairs = n / 2;
    for (int64_t j = 0; j < pairs; j++) {
        sym[2 * j] = da_nt16_sym(s[j] >> 4);
        sym[2 * j + 1] = da_nt16_sym(s[j] & 15);
    }
    if (n & 1) sym[n - 1] = da_nt16_sym(s[pairs] >> 4);
}

/* Symbols and qualities of n packed bases. */
static void unpack_bases(const uint8_t *restrict in, uint8_t *restrict sym, uint8_t *restrict qual, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        sym[i] = da_packed_sym(in[i]);
        qual[i] = da_packed_qual(in[i]);
    }
}

static obs_t obs_at(const read_obs_t *ro, int64_t k)
{
    obs_t o = {ro->sym[k], ro->qual[k], ro->flags[k]};
    return o;
}

static int read_obs_alloc(read_obs_t *ro, int64_t len)
{
    ro->sym = malloc((size_t)len + 1);
    ro->qual = malloc((size_t)len + 1);
    ro->flags = malloc((size_t)len + 1);
    return ro->sym && ro->qual && ro->flags ? DA_OK : DA_ERR_NOMEM;
}

static void read_obs_free(read_obs_t *ro)
{
    free(ro->sym);
    free(ro->qual);
    free(ro->flags);
    free(ro->ind);
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
    const int64_t beg = ch->beg;
    if (z < a) z = a;
    *lo = a;
    *hi = z;
    ro->n_ind = 0;
    int64_t rpos = pos, qpos = 0;
    int64_t shift = 0;  /* pad_shifts_query: P lengths so far; bases are read at qpos + shift */
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
            if (s < e) {
                int64_t q = qpos + shift + (s - rpos), k = s - beg, n = e - s;
                uint8_t *osym = ro->sym + k, *oqual = ro->qual + k;
                memset(ro->flags + k, 0, (size_t)n);
                int64_t past = q + n - b->core.l_qseq;  /* bases a P shifted past the sequence */
                if (past > 0) {
                    if (past > n) past = n;
                    n -= past;
                    memset(osym + n, SYM_NONE, (size_t)past);
                    memset(oqual + n, 0, (size_t)past);
                }
                if (n > 0 && packed) {
                    unpack_bases(packed + q, osym, oqual, n);
                } else if (n > 0) {
                    seq_to_sym(seq, q, osym, n);
                    if (missing_qual) memset(oqual, QUAL_MISSING, (size_t)n);
                    else memcpy(oqual, qual + q, (size_t)n);
                }
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
                if (rpos - 1 >= a && rpos - 1 < z && qpos + shift + len <= b->core.l_qseq) {
                    if (add_indel_obs(ro, rpos - 1, (int32_t)len, (int32_t)(qpos + shift)))
                        return da_fail(err, DA_ERR_NOMEM, "out of memory");
                    ro->flags[rpos - 1 - beg] |= OBS_INS;
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
                ro->flags[rpos - 1 - beg] |= OBS_DEL;
            }
            int64_t s = rpos > a ? rpos : a, e = rpos + len < z ? rpos + len : z;
            if (s < e) {
                memset(ro->sym + (s - beg), op == BAM_CDEL ? DA_SYM_DEL : SYM_NONE, (size_t)(e - s));
                memset(ro->qual + (s - beg), 0, (size_t)(e - s));
                memset(ro->flags + (s - beg), 0, (size_t)(e - s));
            }
            rpos += len;
            if (op == BAM_CDEL) ref_seen = 1;
            break;
        }
        case BAM_CSOFT_CLIP:
            *clipped += (uint64_t)len;
            qpos += len;
            break;
        case BAM_CPAD:
            if (w->par->pad_shifts_query) shift += len;
            break;
        case BAM_CHARD_CLIP:
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

/* Is b a context read: one that does not reach the chunk, delivered only so
 * that the reads of its name pair as they do in the whole file (stream.h)? */
static int is_context(const walker_t *w, const bam1_t *b)
{
    return b->core.pos < w->ch->beg && bam_endpos(b) <= w->ch->beg;
}

/* Is this read's alignment counted in this chunk's read statistics? */
static int owns(const walker_t *w, const bam1_t *b)
{
    return b->core.pos >= w->ch->own_from && !is_context(w, b);
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

/* What the inline counting loops need, in registers.  The quality
 * thresholds are clamped to 0..255, which decides every byte quality the
 * same way as the int thresholds do. */
typedef struct {
    uint32_t *counts, *hist;
    const uint8_t *ref_sym;
    uint8_t min_bq, min_alt_bq;
} fast_t;

static uint8_t clamp_qual(int q)
{
    return (uint8_t)(q < 0 ? 0 : q > 255 ? 255 : q);
}

static fast_t fast_of(const walker_t *w)
{
    fast_t f = {w->ch->counts, w->ch->qual_hist, w->ref_sym, clamp_qual(w->par->min_bq),
                clamp_qual(w->par->min_alt_bq)};
    return f;
}

/* plain[j] = 1 for j in [k, kend) where both mates x and y show the same
 * plain observation: an A/C/G/T base of known quality, no indel anchored,
 * the lower quality passing min_bq and the higher (the one counted) passing
 * min_alt_bq if the base is not the reference.  For one read alone pass it
 * as both mates.  No early exit and byte lanes: this loop is vectorised. */
DA_NOINLINE static void classify(const fast_t *f, const read_obs_t *rx, const read_obs_t *ry, int64_t k,
                                 int64_t kend, uint8_t *restrict plain)
{
    const uint8_t *restrict sx = rx->sym, *restrict qx = rx->qual, *restrict fx = rx->flags;
    const uint8_t *restrict sy = ry->sym, *restrict qy = ry->qual, *restrict fy = ry->flags;
    const uint8_t *restrict ref = f->ref_sym;
    const uint8_t min_bq = f->min_bq, min_alt_bq = f->min_alt_bq;
    for (int64_t j = k; j < kend; j++) {
        uint8_t x = sx[j], a = qx[j], b = qy[j], r = ref[j];
        uint8_t lo = a < b ? a : b, hi = a < b ? b : a;
        plain[j] = (uint8_t)((x == sy[j]) & (x < 4) & ((fx[j] | fy[j]) == 0) & (hi != QUAL_MISSING) &
                             (lo >= min_bq) & ((r == x) | (r > 3) | (hi >= min_alt_bq)));
    }
}

static inline uint32_t hist_bin(int q)
{
    return (uint32_t)(q >= DA_NQUAL ? DA_NQUAL - 1 : q);
}

/* Count the positions from k on while plain[k], each once with the higher
 * of the two qualities, on strand (read 1's for a pair; one read alone is
 * passed as both mates); the first offset < kend that is not plain, or kend. */
DA_NOINLINE static int64_t count_plain(fast_t f, const read_obs_t *rx, const read_obs_t *ry,
                                       const uint8_t *plain, int64_t k, int64_t kend, int strand)
{
    const uint8_t *sym = rx->sym, *qx = rx->qual, *qy = ry->qual;
    uint32_t *cnt = f.counts + (size_t)k * DA_NSYM * 2 + strand;
    if (!f.hist) {
        for (; k < kend && plain[k]; k++, cnt += DA_NSYM * 2) cnt[sym[k] * 2]++;
        return k;
    }
    uint32_t *hist = f.hist + (size_t)k * DA_NQUAL;
    for (; k < kend && plain[k]; k++, cnt += DA_NSYM * 2, hist += DA_NQUAL) {
        cnt[sym[k] * 2]++;
        hist[hist_bin(qx[k] > qy[k] ? qx[k] : qy[k])]++;
    }
    return k;
}

/* Count positions [s, e) of one read alone: plain ones inline, the rest by count_solo. */
static int count_solo_run(walker_t *w, const bam1_t *b, const read_obs_t *ro, int64_t s, int64_t e, int strand)
{
    const fast_t f = fast_of(w);
    const int64_t beg = w->ch->beg, kend = e - beg;
    uint64_t n_fast = 0;
    classify(&f, ro, ro, s - beg, kend, w->plain);
    for (int64_t k = s - beg; k < kend; k++) {
        int64_t stop = count_plain(f, ro, ro, w->plain, k, kend, strand);
        n_fast += (uint64_t)(stop - k);
        if (stop == kend) break;
        k = stop;
        obs_t o = obs_at(ro, k);
        int rc = count_solo(w, b, ro, beg + k, &o, strand);
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
    const int64_t beg = w->ch->beg, kend = oe - beg;
    uint64_t n_fast = 0;
    int rc = DA_OK;
    classify(&f, rx, ry, ob - beg, kend, w->plain);
    for (int64_t k = ob - beg; k < kend && !rc; k++) {
        int64_t stop = count_plain(f, rx, ry, w->plain, k, kend, sx);
        n_fast += (uint64_t)(stop - k);
        if (stop == kend) break;
        k = stop;
        int64_t p = beg + k;
        obs_t x = obs_at(rx, k), y = obs_at(ry, k);
        const obs_t *ox = x.sym != SYM_NONE ? &x : NULL;
        const obs_t *oy = y.sym != SYM_NONE ? &y : NULL;
        if (ox && oy) {
            int x_next = p + 1 < hix ? rx->sym[k + 1] != SYM_NONE : covers_ref(bx, p + 1);
            int y_next = p + 1 < hiy ? ry->sym[k + 1] != SYM_NONE : covers_ref(by, p + 1);
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
    return idx < -1 ? da_fail(err, DA_ERR_NOMEM, "out of memory") : DA_OK;
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

/* May b have a mate to merge with: paired, primary, mapped, its mate mapped
 * on the same contig? */
static int mergeable(const bam1_t *b)
{
    const bam1_core_t *c = &b->core;
    return (c->flag & BAM_FPAIRED) && !(c->flag & (BAM_FMUNMAP | BAM_FUNMAP | BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) &&
           c->mtid == c->tid;
}

/* Should this mergeable read wait for an overlapping mate that comes later in the file? */
static int waits_for_mate(const walker_t *w, const bam1_t *b, int64_t end)
{
    const bam1_core_t *c = &b->core;
    return c->mpos >= c->pos && c->mpos < end && c->mpos < w->ch->end;
}

/* Hash of b's name when b may meet its mate in the pending table, else 0. */
static uint64_t mate_hash(const walker_t *w, const bam1_t *b)
{
    return w->par->merge_mates && mergeable(b) ? da_name_hash(bam_get_qname(b)) : 0;
}

/* Count a used read b (mate_hash h, arrival number seq; packed: its bases
 * when it comes from a spill file, or NULL): merged with the earliest of its
 * waiting mates, queued for a mate still to come, sent to its partition's
 * spill file, or alone.  A read whose mate starts at or before it and that
 * meets copies -- more than one of its mates came before it, or the only one
 * was taken by a copy of it -- is counted as an ambiguous mate. */
static int pair_or_count(walker_t *w, da_mates_t *m, const bam1_t *b, const uint8_t *packed, uint64_t h,
                         uint32_t seq, da_error_t *err)
{
    if (h) {
        FILE *spill = da_mates_spill_of(m, h);
        if (spill) return da_mates_write(m, spill, b, packed, seq, 0, err);
        da_mate_match_t mt;
        da_mates_match(m, b, h, &mt);
        int own = owns(w, b);
        if (own && b->core.mpos <= b->core.pos) {
            int came = mt.mates_waiting + mt.mates_taken + mt.copies_taken;
            if (came >= 2 || (came == 1 && mt.mates_waiting == 0)) w->res->read_stats[DA_READ_AMBIGUOUS_MATES]++;
        }
        if (mt.take >= 0) {
            const uint8_t *first_packed;
            const bam1_t *first = da_mates_record(m, mt.take, &first_packed);
            int rc = count_pair(w, first, first_packed, b, packed, err);
            if (rc) return rc;
            if (own && !is_context(w, first)) w->res->read_stats[DA_READ_MATES_MERGED] += 2;
            /* the mate stays in the table, taken, until its mate position is passed */
            da_mates_counted(m, mt.take);
            return DA_OK;
        }
        if (waits_for_mate(w, b, bam_endpos(b))) return da_mates_add(m, b, packed, h, seq, 0, err);
    }
    return count_read(w, b, packed, err);
}

/* Count (or queue) b, whose mate_hash is h.  A context read only meets its mates. */
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
    if (!h && is_context(w, b)) return DA_OK;
    return pair_or_count(w, m, b, NULL, h, h ? w->seq++ : 0, err);
}

/* After the walk: pair the reads of every partition that went to disk, by
 * replaying its file (in arrival order) through a table one level down: the
 * reads that were in the table go back as they were, the others arrive. */
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
            uint64_t h = da_name_hash(bam_get_qname(&buf.b));
            rc = flush_pending(w, &sub, buf.b.core.pos, err);
            if (rc) break;
            if (buf.raw->state & DA_WAIT_MOVED)
                rc = da_mates_add(&sub, &buf.b, buf.packed, h, buf.raw->seq, buf.raw->state, err);
            else
                rc = pair_or_count(w, &sub, &buf.b, buf.packed, h, buf.raw->seq, err);
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
    read_obs_free(&w->r1);
    read_obs_free(&w->r2);
    free(w->plain);
    free(w->ref_sym);
    free(w->ins_buf);
    free(w->jdiff);
    free(w->spans);
}

struct da_walk {
    walker_t w;
    da_mates_t mates;       /* zeroed or initialised: da_mates_free is safe either way */
};

void da_walk_free(da_walk_t *walk)
{
    if (!walk) return;
    da_mates_free(&walk->mates);
    walker_free(&walk->w);
    free(walk);
}

int da_walk_begin(da_walk_t **out, const da_params_t *par, const da_chunk_t *ch, da_chunk_result_t *res,
                  da_error_t *err)
{
    *out = NULL;
    da_walk_t *walk = calloc(1, sizeof *walk);
    if (!walk) return da_fail(err, DA_ERR_NOMEM, "out of memory");
    walker_t *w = &walk->w;
    w->par = par;
    w->ch = ch;
    w->res = res;
    w->len = ch->end - ch->beg;
    int obs_rc = read_obs_alloc(&w->r1, w->len) | read_obs_alloc(&w->r2, w->len);
    w->plain = malloc((size_t)w->len + 1);
    w->ref_sym = malloc((size_t)w->len + 1);
    w->jdiff = calloc(2 * (size_t)(w->len + 1), sizeof *w->jdiff);
    int mates_rc = da_mates_init(&walk->mates, par->mate_memory, 0, par->tmpdir);
    if (obs_rc || !w->plain || !w->ref_sym || !w->jdiff || mates_rc) {
        da_walk_free(walk);
        return da_fail(err, DA_ERR_NOMEM, "out of memory");
    }
    for (int64_t k = 0; k < w->len; k++) {
        switch (ch->ref ? ch->ref[k] : 'N') {
        case 'A': w->ref_sym[k] = DA_SYM_A; break;
        case 'C': w->ref_sym[k] = DA_SYM_C; break;
        case 'G': w->ref_sym[k] = DA_SYM_G; break;
        case 'T': w->ref_sym[k] = DA_SYM_T; break;
        default: w->ref_sym[k] = DA_SYM_N;
        }
    }
    *out = walk;
    return DA_OK;
}

/* Keep b in the chunk's assay-shape sample (da_params_t.sample_reads). */
static int sample_read(walker_t *w, const bam1_t *b, da_error_t *err)
{
    const bam1_core_t *c = &b->core;
    da_chunk_result_t *res = w->res;
    if (res->n_sample >= w->par->sample_reads || (c->flag & w->par->flag_exclude) || (c->flag & BAM_FUNMAP) ||
        c->qual < w->par->min_mapq || c->pos < w->ch->sample_from || c->pos >= w->ch->end)
        return DA_OK;
    int64_t stop = bam_endpos(b);
    if (stop <= w->ch->beg) return DA_OK;        /* a context record: ends before the chunk */
    if (res->n_sample == res->cap_sample) {     /* grows with the reads seen, up to sample_reads */
        int64_t cap = res->cap_sample ? 2 * res->cap_sample : 256;
        if (cap > w->par->sample_reads) cap = w->par->sample_reads;
        int64_t *grown = realloc(res->sample, sizeof *grown * (size_t)cap * DA_END_NCOL);
        if (!grown) return da_fail(err, DA_ERR_NOMEM, "out of memory");
        res->sample = grown;
        res->cap_sample = cap;
    }
    da_end_row(res->sample + res->n_sample++ * DA_END_NCOL, b, stop);
    return DA_OK;
}

int da_walk_feed(da_walk_t *walk, const bam1_t *const *recs, int n, da_error_t *err)
{
    walker_t *w = &walk->w;
    da_mates_t *m = &walk->mates;
    if (w->par->sample_reads > 0)
        for (int i = 0; i < n; i++) {
            int rc = sample_read(w, recs[i], err);
            if (rc) return rc;
        }
    /* The next read's hash slot is prefetched while this one is counted
     * (the pending table is larger than the caches). */
    uint64_t h = n > 0 ? mate_hash(w, recs[0]) : 0;
    for (int i = 0; i < n; i++) {
        uint64_t h_next = i + 1 < n ? mate_hash(w, recs[i + 1]) : 0;
        if (h_next) DA_PREFETCH(da_mates_slot_of(m, h_next));
        int rc = flush_pending(w, m, recs[i]->core.pos, err);
        if (!rc) rc = process(w, m, recs[i], h, err);
        if (rc) return rc;
        h = h_next;
    }
    return DA_OK;
}

int da_walk_end(da_walk_t *walk, da_error_t *err)
{
    int rc = flush_pending(&walk->w, &walk->mates, INT64_MAX, err);
    if (!rc) rc = replay_spills(&walk->w, &walk->mates, err);
    if (!rc) finish_junctions(&walk->w);
    return rc;
}
