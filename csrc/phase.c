/* deepamp C core: fragment alleles at SNV sites and the tables of site pairs
 * in one pass over the reads (see phase.h). */
#include "phase.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <htslib/khash.h>
#include <htslib/sam.h>

#include "mates.h"
#include "read_select.h"
#include "region.h"
#include "stream.h"

/* An active site (one in a pair), in (contig, position, caller's index) order. */
typedef struct {
    int64_t pos;
    int64_t in;             /* index in the caller's sites */
    int32_t tid;
    uint8_t ref, alt;       /* enum da_symbol, 0..3 */
} site_t;

/* A pair as seen from its lower-ranked site. */
typedef struct {
    int64_t pair;           /* index in the caller's pairs */
    uint32_t lo, hi;        /* ranks of its sites */
    uint8_t swap;           /* 1: the caller's site a is hi */
} part_t;

/* One read's observation of a site: a base (symbol, quality) or a deletion. */
typedef struct {
    uint32_t site;          /* rank */
    uint8_t sym, qual;      /* enum da_symbol (DA_SYM_DEL for a deletion), quality */
} obs_t;

/* A fragment's alleles at the sites, for the pair tables, are one word per
 * site: rank << 2 | allele (REF, ALT or OTHER), in rank order. */
#define WORD_SITE(w) ((w) >> 2)
#define WORD_ALLELE(w) ((w) & 3)

/* Distinct allele patterns of fragments and how many fragments had each.
 * Amplicon fragments mostly repeat a few patterns (all REF, each clone), so
 * the pairs of a pattern are counted once per pattern, not once per
 * fragment.  The table is bounded (PAT_MAX_*): when full it is added to the
 * pair tables and emptied, so memory does not grow with depth. */
typedef struct {
    uint64_t hash, count;
    int64_t off;            /* first word in the arena */
    int32_t len;
} pattern_t;

enum { PAT_MAX_PATTERNS = 1 << 15, PAT_SLOTS = 2 * PAT_MAX_PATTERNS, PAT_MAX_WORDS = 1 << 20 };

typedef struct {
    int32_t *slot;          /* PAT_SLOTS: index of a pattern, -1 empty */
    pattern_t *pat;
    int64_t npat, mpat;
    uint32_t *word;         /* arena */
    int64_t nword, mword;
} patterns_t;

/* A used read waiting for its mate. */
typedef struct {
    int64_t pos, end, mpos;
    char *name;             /* points into the same allocation */
    int32_t nobs;
    uint16_t bits;          /* BAM_FREAD1 / BAM_FREAD2 */
    uint8_t joined;         /* its mate came: only the heap still refers to it */
    obs_t obs[];
} pend_t;

KHASH_MAP_INIT_STR(da_ph_wait, pend_t *)

typedef struct {
    const da_phase_opts_t *o;
    const char *path;
    da_phase_out_t *out;
    site_t *site;           /* active sites, sorted */
    int64_t nsite;
    int64_t *part_off;      /* nsite + 1: partners of rank s are part[part_off[s] .. part_off[s+1]) */
    part_t *part;           /* sorted by (lo, hi, pair) */
    int64_t c_lo, c_hi;     /* ranks of the current contig's active sites */
    khash_t(da_ph_wait) *wait;
    pend_t **heap;          /* waiting reads, min-heap on mpos */
    int64_t nheap, mheap;
    obs_t *obs;             /* scratch: one read's observations (nsite) */
    uint32_t *frag;         /* scratch: one fragment's alleles (nsite words) */
    patterns_t pats;
} ph_t;

static int valid_base(char c)
{
    return c == 'A' || c == 'C' || c == 'G' || c == 'T';
}

static uint8_t base_sym(char c)
{
    return c == 'A' ? DA_SYM_A : c == 'C' ? DA_SYM_C : c == 'G' ? DA_SYM_G : DA_SYM_T;
}

/* ------------------------------------------------------------------ setup */

static int cmp_site(const void *x, const void *y)
{
    const site_t *a = x, *b = y;
    if (a->tid != b->tid) return a->tid < b->tid ? -1 : 1;
    if (a->pos != b->pos) return a->pos < b->pos ? -1 : 1;
    return (a->in > b->in) - (a->in < b->in);
}

static int cmp_part(const void *x, const void *y)
{
    const part_t *a = x, *b = y;
    if (a->lo != b->lo) return a->lo < b->lo ? -1 : 1;
    if (a->hi != b->hi) return a->hi < b->hi ? -1 : 1;
    return (a->pair > b->pair) - (a->pair < b->pair);
}

static int check_input(const da_reader_t *rd, const da_phase_site_t *sites, int64_t nsites,
                       const int64_t *pa, const int64_t *pb, int64_t npairs, da_error_t *err)
{
    for (int64_t i = 0; i < nsites; i++) {
        const da_phase_site_t *s = &sites[i];
        if (s->tid < 0 || s->tid >= sam_hdr_nref(rd->hdr))
            return da_fail(err, DA_ERR_CONTIG, "%s: site %" PRId64 ": contig id %d is not in the header",
                           rd->path, i, (int)s->tid);
        int64_t len = sam_hdr_tid2len(rd->hdr, s->tid);
        if (s->pos0 < 0 || s->pos0 >= len)
            return da_fail(err, DA_ERR_REGION, "%s: site %" PRId64 ": position %" PRId64
                           " is outside %s (length %" PRId64 ")", rd->path, i, s->pos0 + 1,
                           sam_hdr_tid2name(rd->hdr, s->tid), len);
        if (!valid_base(s->ref) || !valid_base(s->alt) || s->ref == s->alt)
            return da_fail(err, DA_ERR_ARG, "%s: site %" PRId64 ": REF/ALT must be two different bases of ACGT",
                           rd->path, i);
    }
    for (int64_t i = 0; i < npairs; i++) {
        if (pa[i] < 0 || pa[i] >= nsites || pb[i] < 0 || pb[i] >= nsites || pa[i] == pb[i])
            return da_fail(err, DA_ERR_ARG, "%s: pair %" PRId64 ": needs two different sites of %" PRId64,
                           rd->path, i, nsites);
        if (sites[pa[i]].tid != sites[pb[i]].tid)
            return da_fail(err, DA_ERR_ARG, "%s: pair %" PRId64 ": sites are on different contigs", rd->path, i);
    }
    return DA_OK;
}

/* The index must be this file's (as counting checks it) on every contig with a site. */
static int check_index(da_reader_t *rd, const da_phase_site_t *sites, int64_t nsites, da_error_t *err)
{
    int nref = sam_hdr_nref(rd->hdr);
    int32_t *tids = malloc(sizeof *tids * (size_t)(nref > 0 ? nref : 1));
    char *seen = calloc((size_t)(nref > 0 ? nref : 1), 1);
    int n = 0, rc;
    if (!tids || !seen) {
        free(tids);
        free(seen);
        return da_fail(err, DA_ERR_NOMEM, "%s: out of memory", rd->path);
    }
    for (int64_t i = 0; i < nsites; i++)
        if (!seen[sites[i].tid]) {
            seen[sites[i].tid] = 1;
            tids[n++] = sites[i].tid;
        }
    rc = da_reader_check_index(rd, tids, n, err);
    free(tids);
    free(seen);
    return rc;
}

/* Sorted active sites and the partner lists. */
static int build_sites(ph_t *p, const da_phase_site_t *sites, int64_t nsites, const int64_t *pa,
                       const int64_t *pb, int64_t npairs)
{
    int64_t *rank = malloc(sizeof *rank * (size_t)(nsites ? nsites : 1));
    if (!rank) return DA_ERR_NOMEM;
    for (int64_t i = 0; i < nsites; i++) rank[i] = -1;
    for (int64_t i = 0; i < npairs; i++) rank[pa[i]] = rank[pb[i]] = 0;
    int64_t n = 0;
    for (int64_t i = 0; i < nsites; i++) n += rank[i] == 0;
    p->site = malloc(sizeof *p->site * (size_t)(n ? n : 1));
    p->part = malloc(sizeof *p->part * (size_t)(npairs ? npairs : 1));
    p->part_off = calloc((size_t)n + 1, sizeof *p->part_off);
    /* a read, and a fragment, covers each active site at most once */
    p->obs = malloc(sizeof *p->obs * (size_t)(n ? n : 1));
    p->frag = malloc(sizeof *p->frag * (size_t)(n ? n : 1));
    p->pats.slot = malloc(sizeof *p->pats.slot * PAT_SLOTS);
    if (!p->site || !p->part || !p->part_off || !p->obs || !p->frag || !p->pats.slot || n > (INT64_C(1) << 30)) {
        free(rank);
        return DA_ERR_NOMEM;
    }
    p->nsite = 0;
    for (int64_t i = 0; i < nsites; i++) {
        if (rank[i] < 0) continue;
        site_t *s = &p->site[p->nsite++];
        s->pos = sites[i].pos0;
        s->in = i;
        s->tid = sites[i].tid;
        s->ref = base_sym(sites[i].ref);
        s->alt = base_sym(sites[i].alt);
    }
    qsort(p->site, (size_t)p->nsite, sizeof *p->site, cmp_site);
    for (int64_t r = 0; r < p->nsite; r++) rank[p->site[r].in] = r;
    for (int64_t i = 0; i < npairs; i++) {
        int64_t ra = rank[pa[i]], rb = rank[pb[i]];
        part_t *e = &p->part[i];
        e->pair = i;
        e->lo = (uint32_t)(ra < rb ? ra : rb);
        e->hi = (uint32_t)(ra < rb ? rb : ra);
        e->swap = ra > rb;
    }
    free(rank);
    for (int i = 0; i < PAT_SLOTS; i++) p->pats.slot[i] = -1;
    qsort(p->part, (size_t)npairs, sizeof *p->part, cmp_part);
    for (int64_t i = 0; i < npairs; i++) p->part_off[p->part[i].lo + 1]++;
    for (int64_t r = 0; r < p->nsite; r++) p->part_off[r + 1] += p->part_off[r];
    return DA_OK;
}

/* ------------------------------------------------------------------ fragments */

/* Outcome of a fragment at site s from its mates' observations (x or y may be NULL). */
static int outcome(const ph_t *p, const site_t *s, const obs_t *x, const obs_t *y)
{
    const int min_bq = p->o->min_bq;
    int sym, q;
    if (x && y) {
        int dx = x->sym == DA_SYM_DEL, dy = y->sym == DA_SYM_DEL;
        int stx = da_obs_status(dx, x->qual, min_bq), sty = da_obs_status(dy, y->qual, min_bq);
        if (stx == DA_OBS_PASS && sty == DA_OBS_PASS) {
            if (x->sym != y->sym) return DA_PH_OUT_DISCORDANT;
            sym = x->sym;
            q = da_merged_qual(dx, x->qual, y->qual);
        } else if (stx == DA_OBS_PASS) {
            sym = x->sym;
            q = x->qual;
        } else if (sty == DA_OBS_PASS) {
            sym = y->sym;
            q = y->qual;
        } else {
            return stx == DA_OBS_LOW_BQ || sty == DA_OBS_LOW_BQ ? DA_PH_OUT_LOW_BQ : DA_PH_OUT_NO_QUAL;
        }
    } else {
        const obs_t *o = x ? x : y;
        int st = da_obs_status(o->sym == DA_SYM_DEL, o->qual, min_bq);
        if (st != DA_OBS_PASS) return st == DA_OBS_LOW_BQ ? DA_PH_OUT_LOW_BQ : DA_PH_OUT_NO_QUAL;
        sym = o->sym;
        q = o->qual;
    }
    if (sym == DA_SYM_DEL) return DA_PH_OUT_DELETION;
    if (da_alt_base_dropped(sym, s->ref, q, p->o->min_alt_bq)) return DA_PH_OUT_LOW_ALT_BQ;
    if (sym == s->ref) return DA_PH_OUT_REF;
    if (sym == s->alt) return DA_PH_OUT_ALT;
    return sym == DA_SYM_N ? DA_PH_OUT_N : DA_PH_OUT_OTHER_BASE;
}

static int allele_of(int out)
{
    switch (out) {
    case DA_PH_OUT_REF: return DA_PH_REF;
    case DA_PH_OUT_ALT: return DA_PH_ALT;
    case DA_PH_OUT_OTHER_BASE:
    case DA_PH_OUT_DELETION: return DA_PH_OTHER;
    default: return DA_PH_NONE;
    }
}

/* Add count fragments with the alleles f[0..nf) to the tables of the pairs
 * they cover: each site's partner list (sorted by the partner's rank) is
 * walked along the fragment's later sites. */
static void count_pairs_of(const ph_t *p, const uint32_t *f, int64_t nf, uint64_t count)
{
    uint64_t *counts = p->out->counts;
    for (int64_t u = 0; u + 1 < nf; u++) {
        uint32_t su = WORD_SITE(f[u]), last = WORD_SITE(f[nf - 1]);
        const part_t *e = p->part + p->part_off[su], *stop = p->part + p->part_off[su + 1];
        int64_t v = u + 1;
        for (; e < stop && e->hi <= last; e++) {
            while (WORD_SITE(f[v]) < e->hi) v++;     /* stops at nf - 1 at the latest */
            if (WORD_SITE(f[v]) != e->hi) continue;
            uint32_t x = WORD_ALLELE(f[u]), y = WORD_ALLELE(f[v]);
            uint64_t *c = counts + (size_t)e->pair * DA_PH_NALLELE * DA_PH_NALLELE;
            if (e->swap) c[y * DA_PH_NALLELE + x] += count;
            else c[x * DA_PH_NALLELE + y] += count;
        }
    }
}

/* Add every pattern to the pair tables and empty the table. */
static void patterns_flush(ph_t *p)
{
    patterns_t *t = &p->pats;
    for (int64_t i = 0; i < t->npat; i++)
        count_pairs_of(p, t->word + t->pat[i].off, t->pat[i].len, t->pat[i].count);
    for (int i = 0; i < PAT_SLOTS; i++) t->slot[i] = -1;
    t->npat = 0;
    t->nword = 0;
}

static uint64_t hash_words(const uint32_t *w, int64_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15u ^ (uint64_t)n;
    for (int64_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= 0xff51afd7ed558ccdu;
        h ^= h >> 32;
    }
    return h;
}

/* One more fragment with the alleles f[0..nf) (nf >= 2). */
static int patterns_add(ph_t *p, const uint32_t *f, int64_t nf)
{
    patterns_t *t = &p->pats;
    uint64_t h = hash_words(f, nf);
    uint32_t k = (uint32_t)h & (PAT_SLOTS - 1);
    for (; t->slot[k] >= 0; k = (k + 1) & (PAT_SLOTS - 1)) {
        pattern_t *q = &t->pat[t->slot[k]];
        if (q->hash == h && q->len == nf && memcmp(t->word + q->off, f, sizeof *f * (size_t)nf) == 0) {
            q->count++;
            return DA_OK;
        }
    }
    int64_t max_pat = p->o->max_patterns > 0 && p->o->max_patterns < PAT_MAX_PATTERNS ? p->o->max_patterns
                                                                                      : PAT_MAX_PATTERNS;
    if (t->npat >= max_pat || t->nword + nf > PAT_MAX_WORDS) {
        if (nf > PAT_MAX_WORDS) {           /* larger than the arena: counted on its own */
            count_pairs_of(p, f, nf, 1);
            return DA_OK;
        }
        patterns_flush(p);
        k = (uint32_t)h & (PAT_SLOTS - 1);
    }
    if (t->npat == t->mpat) {
        int64_t m = t->mpat ? 2 * t->mpat : 256;
        pattern_t *q = realloc(t->pat, sizeof *q * (size_t)m);
        if (!q) return DA_ERR_NOMEM;
        t->pat = q;
        t->mpat = m;
    }
    if (t->nword + nf > t->mword) {
        int64_t m = t->mword ? 2 * t->mword : 4096;
        while (m < t->nword + nf) m *= 2;
        if (m > PAT_MAX_WORDS) m = PAT_MAX_WORDS;
        uint32_t *w = realloc(t->word, sizeof *w * (size_t)m);
        if (!w) return DA_ERR_NOMEM;
        t->word = w;
        t->mword = m;
    }
    pattern_t *q = &t->pat[t->npat];
    q->hash = h;
    q->count = 1;
    q->off = t->nword;
    q->len = (int32_t)nf;
    memcpy(t->word + t->nword, f, sizeof *f * (size_t)nf);
    t->nword += nf;
    t->slot[k] = (int32_t)t->npat++;
    return DA_OK;
}

/* Count one fragment made of observations a[0..na) and b[0..nb) (each in
 * rank order; na may be 0) whose mates reach over `reach` reference bases. */
static int emit(ph_t *p, const obs_t *a, int64_t na, const obs_t *b, int64_t nb, int64_t reach, int joined)
{
    da_phase_out_t *out = p->out;
    int64_t i = 0, j = 0, nf = 0;
    while (i < na || j < nb) {
        const obs_t *x = NULL, *y = NULL;
        if (j >= nb || (i < na && a[i].site < b[j].site)) x = &a[i++];
        else if (i >= na || b[j].site < a[i].site) y = &b[j++];
        else x = &a[i++], y = &b[j++];
        uint32_t r = x ? x->site : y->site;
        const site_t *s = &p->site[r];
        int o = outcome(p, s, x, y);
        uint64_t *fr = out->site_frags + (size_t)s->in * DA_PH_SITE_NSTATS;
        fr[o]++;
        if (x && y) fr[DA_PH_SITE_BOTH_MATES]++;
        if (out->site_reach[s->in] < reach) out->site_reach[s->in] = reach;
        int al = allele_of(o);
        if (al != DA_PH_NONE) p->frag[nf++] = r << 2 | (uint32_t)al;
    }
    out->totals[DA_PH_TOTAL_FRAGMENTS]++;
    if (joined) out->totals[DA_PH_TOTAL_MATES_JOINED]++;
    return nf >= 2 ? patterns_add(p, p->frag, nf) : DA_OK;
}

/* ------------------------------------------------------------------ waiting mates */

static void heap_push(ph_t *p, pend_t *e)
{
    int64_t i = p->nheap++;
    while (i > 0) {
        int64_t up = (i - 1) / 2;
        if (p->heap[up]->mpos <= e->mpos) break;
        p->heap[i] = p->heap[up];
        i = up;
    }
    p->heap[i] = e;
}

static pend_t *heap_pop(ph_t *p)
{
    pend_t *top = p->heap[0], *last = p->heap[--p->nheap];
    int64_t i = 0;
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= p->nheap) break;
        if (c + 1 < p->nheap && p->heap[c + 1]->mpos < p->heap[c]->mpos) c++;
        if (last->mpos <= p->heap[c]->mpos) break;
        p->heap[i] = p->heap[c];
        i = c;
    }
    if (p->nheap > 0) p->heap[i] = last;
    return top;
}

/* Count alone every waiting read whose mate would have come before position
 * `before` (INT64_MAX: all), and free the entries of joined ones. */
static int expire(ph_t *p, int64_t before)
{
    int rc = DA_OK;
    while (rc == DA_OK && p->nheap > 0 && p->heap[0]->mpos < before) {
        pend_t *e = heap_pop(p);
        if (!e->joined) {
            khint_t k = kh_get(da_ph_wait, p->wait, e->name);
            if (k != kh_end(p->wait)) kh_del(da_ph_wait, p->wait, k);
            rc = emit(p, NULL, 0, e->obs, e->nobs, e->end - e->pos, 0);
        }
        free(e);
    }
    return rc;
}

static int wait_add(ph_t *p, const bam1_t *b, int64_t end, int64_t nobs)
{
    const char *qname = bam_get_qname(b);
    size_t lname = strlen(qname);
    pend_t *e = malloc(sizeof *e + sizeof(obs_t) * (size_t)nobs + lname + 1);
    if (!e) return DA_ERR_NOMEM;
    if (p->nheap == p->mheap) {
        int64_t m = p->mheap ? 2 * p->mheap : 1024;
        pend_t **h = realloc(p->heap, sizeof *h * (size_t)m);
        if (!h) {
            free(e);
            return DA_ERR_NOMEM;
        }
        p->heap = h;
        p->mheap = m;
    }
    e->pos = b->core.pos;
    e->end = end;
    e->mpos = b->core.mpos;
    e->nobs = (int32_t)nobs;
    e->bits = b->core.flag & (BAM_FREAD1 | BAM_FREAD2);
    e->joined = 0;
    memcpy(e->obs, p->obs, sizeof(obs_t) * (size_t)nobs);
    e->name = (char *)(e->obs + nobs);
    memcpy(e->name, qname, lname + 1);
    int absent;
    khint_t k = kh_put(da_ph_wait, p->wait, e->name, &absent);
    if (absent < 0) {
        free(e);
        return DA_ERR_NOMEM;
    }
    kh_val(p->wait, k) = e;
    heap_push(p, e);
    return DA_OK;
}

/* The mate bits a read's partner carries. */
static uint16_t partner_bits(uint16_t flag)
{
    uint16_t bits = flag & (BAM_FREAD1 | BAM_FREAD2);
    return bits == BAM_FREAD1 ? BAM_FREAD2 : bits == BAM_FREAD2 ? BAM_FREAD1 : bits;
}

/* ------------------------------------------------------------------ reads */

/* First rank in [lo, hi) whose site lies at or after pos. */
static int64_t first_site_at(const ph_t *p, int64_t lo, int64_t hi, int64_t pos)
{
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        if (p->site[mid].pos < pos) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

/* Observations of used read b at the active sites of ranks [k, khi) (those
 * within its alignment), into p->obs; the CIGAR is checked as the counting
 * walk checks it (read_select.h). */
static int read_obs(ph_t *p, const bam1_t *b, int64_t k, int64_t khi, int64_t *nobs, da_error_t *err)
{
    int bad_op = 0;
    int64_t lq = 0;
    switch (da_cigar_check(b, &bad_op, &lq)) {
    case DA_CIGAR_BAD_OP:
        return da_fail(err, DA_ERR_CORRUPT, "%s: read %s: unsupported CIGAR operation %d",
                       p->path, bam_get_qname(b), bad_op);
    case DA_CIGAR_LONGER:
        return da_fail(err, DA_ERR_CORRUPT, "%s: read %s: CIGAR longer than its sequence", p->path,
                       bam_get_qname(b));
    case DA_CIGAR_LENGTH:
        return da_fail(err, DA_ERR_CORRUPT, "%s: read %s: CIGAR covers %" PRId64 " bases but the sequence has %d",
                       p->path, bam_get_qname(b), lq, b->core.l_qseq);
    default:
        break;
    }
    const uint32_t *cig = bam_get_cigar(b);
    const uint8_t *seq = bam_get_seq(b), *qual = bam_get_qual(b);
    const int missing = da_read_qual_missing(b);
    int64_t rpos = b->core.pos, qpos = 0, n = 0;
    for (uint32_t i = 0; i < b->core.n_cigar && k < khi; i++) {
        int op = bam_cigar_op(cig[i]), type = bam_cigar_type(op);
        int64_t len = bam_cigar_oplen(cig[i]);
        for (; (type & 2) && k < khi && p->site[k].pos < rpos + len; k++) {
            obs_t *o = &p->obs[n];
            if (op == BAM_CREF_SKIP) continue;          /* not covered */
            o->site = (uint32_t)k;
            if (type & 1) {                               /* M = X: a base */
                int64_t q = qpos + (p->site[k].pos - rpos);
                o->sym = da_nt16_sym(bam_seqi(seq, q));
                o->qual = missing ? DA_QUAL_MISSING : qual[q];
            } else {                                      /* D */
                o->sym = DA_SYM_DEL;
                o->qual = 0;
            }
            n++;
        }
        if (type & 1) qpos += len;
        if (type & 2) rpos += len;
    }
    *nobs = n;
    return DA_OK;
}

/* One record of the current contig, in coordinate order. */
static int process(ph_t *p, const bam1_t *b, int64_t end, da_error_t *err)
{
    const bam1_core_t *c = &b->core;
    if (expire(p, c->pos)) return da_fail(err, DA_ERR_NOMEM, "%s: out of memory", p->path);
    int64_t k = first_site_at(p, p->c_lo, p->c_hi, c->pos);
    int64_t khi = first_site_at(p, k, p->c_hi, end);
    int reason = da_read_drop_reason(b, p->o->flag_exclude, p->o->min_mapq);
    int stat = reason >= 0 ? reason : DA_READ_USED;
    da_phase_out_t *out = p->out;
    out->totals[DA_READ_SEEN]++;
    out->totals[stat]++;
    for (int64_t r = k; r < khi; r++) {
        uint64_t *rs = out->site_reads + (size_t)p->site[r].in * DA_PH_NREAD;
        rs[DA_READ_SEEN]++;
        rs[stat]++;
    }
    if (reason >= 0) return DA_OK;
    int64_t n = 0;
    int rc = read_obs(p, b, k, khi, &n, err);
    if (rc) return rc;
    int pairable = (c->flag & BAM_FPAIRED) && !(c->flag & (BAM_FMUNMAP | BAM_FSECONDARY | BAM_FSUPPLEMENTARY)) &&
                   c->mtid == c->tid;
    if (pairable) {
        khint_t it = kh_get(da_ph_wait, p->wait, bam_get_qname(b));
        if (it != kh_end(p->wait)) {
            pend_t *e = kh_val(p->wait, it);
            if (e->bits == partner_bits(c->flag) && e->mpos == c->pos) {
                kh_del(da_ph_wait, p->wait, it);
                e->joined = 1;
                int64_t lo = e->pos < c->pos ? e->pos : c->pos, hi = e->end > end ? e->end : end;
                if (emit(p, e->obs, e->nobs, p->obs, n, hi - lo, 1))
                    return da_fail(err, DA_ERR_NOMEM, "%s: out of memory", p->path);
                return DA_OK;
            }
        } else if (n > 0 && c->mpos >= c->pos && p->c_hi > p->c_lo && c->mpos <= p->site[p->c_hi - 1].pos) {
            /* its mate is still to come and may cover a site */
            if (wait_add(p, b, end, n)) return da_fail(err, DA_ERR_NOMEM, "%s: out of memory", p->path);
            return DA_OK;
        }
    }
    if (n > 0 && emit(p, NULL, 0, p->obs, n, end - c->pos, 0))
        return da_fail(err, DA_ERR_NOMEM, "%s: out of memory", p->path);
    return DA_OK;
}

/* Make sure the message names the file. */
static int name_file(da_error_t *err, const char *path, int rc)
{
    if (strncmp(err->msg, path, strlen(path)) != 0) da_error_prefix(err, path);
    return rc;
}

/* Read the windows of the active sites; a window's records that overlap the
 * previous window on the contig were used there. */
static int walk_windows(ph_t *p, da_stream_t *st, bam1_t *b, da_error_t *err)
{
    int rc = DA_OK;
    int64_t w = 0, prev_beg = -1, prev_end = -1;
    int32_t tid = -1;
    while (w < p->nsite && rc == DA_OK) {
        const site_t *s = &p->site[w];
        if (s->tid != tid) {
            if (expire(p, INT64_MAX)) return da_fail(err, DA_ERR_NOMEM, "%s: out of memory", p->path);
            tid = s->tid;
            p->c_lo = w;
            for (p->c_hi = w; p->c_hi < p->nsite && p->site[p->c_hi].tid == tid; p->c_hi++) continue;
            prev_beg = prev_end = -1;
        }
        int64_t beg = s->pos, e = w + 1;
        while (e < p->c_hi && p->site[e].pos - p->site[e - 1].pos < DA_PH_WINDOW_GAP) e++;
        int64_t end = p->site[e - 1].pos + 1;
        rc = da_stream_window(st, tid, beg, end, INT64_MAX, err);
        int got = 0;
        while (rc == DA_OK && (got = da_stream_next(st, b, err)) == 1) {
            int64_t rend = bam_endpos(b);
            if (b->core.pos < prev_end && rend > prev_beg) continue;
            rc = process(p, b, rend, err);
        }
        if (rc == DA_OK && got < 0) rc = got;
        prev_beg = beg;
        prev_end = end;
        w = e;
    }
    if (rc == DA_OK && expire(p, INT64_MAX)) rc = da_fail(err, DA_ERR_NOMEM, "%s: out of memory", p->path);
    if (rc == DA_OK) patterns_flush(p);
    return rc;
}

/* counts[x][NONE] and counts[NONE][y] from the sites' allele totals: every
 * fragment with allele x at a is in row x, those without one at b in column NONE. */
static void fill_none(const da_phase_out_t *out, const int64_t *pa, const int64_t *pb, int64_t npairs)
{
    for (int64_t i = 0; i < npairs; i++) {
        uint64_t *c = out->counts + (size_t)i * DA_PH_NALLELE * DA_PH_NALLELE;
        const uint64_t *fa = out->site_frags + (size_t)pa[i] * DA_PH_SITE_NSTATS;
        const uint64_t *fb = out->site_frags + (size_t)pb[i] * DA_PH_SITE_NSTATS;
        uint64_t na[3] = {fa[DA_PH_OUT_REF], fa[DA_PH_OUT_ALT], fa[DA_PH_OUT_OTHER_BASE] + fa[DA_PH_OUT_DELETION]};
        uint64_t nb[3] = {fb[DA_PH_OUT_REF], fb[DA_PH_OUT_ALT], fb[DA_PH_OUT_OTHER_BASE] + fb[DA_PH_OUT_DELETION]};
        for (int x = 0; x < 3; x++) {
            uint64_t row = 0, col = 0;
            for (int y = 0; y < 3; y++) {
                row += c[x * DA_PH_NALLELE + y];
                col += c[y * DA_PH_NALLELE + x];
            }
            c[x * DA_PH_NALLELE + DA_PH_NONE] = na[x] - row;
            c[DA_PH_NONE * DA_PH_NALLELE + x] = nb[x] - col;
        }
    }
}

int da_phase_count(const char *path, const char *ref_path, const da_phase_site_t *sites, int64_t nsites,
                   const int64_t *pair_a, const int64_t *pair_b, int64_t npairs,
                   const da_phase_opts_t *opts, da_phase_out_t *out, da_error_t *err)
{
    if (!path || !opts || !out || nsites < 0 || npairs < 0 || (nsites > 0 && !sites) ||
        (npairs > 0 && (!pair_a || !pair_b || !out->counts)) ||
        (nsites > 0 && (!out->site_reads || !out->site_frags || !out->site_reach)))
        return da_fail(err, DA_ERR_ARG, "%s: invalid arguments to da_phase_count", path ? path : "(no file)");
    if (npairs > 0) memset(out->counts, 0, sizeof *out->counts * (size_t)npairs * DA_PH_NALLELE * DA_PH_NALLELE);
    if (nsites > 0) {
        memset(out->site_reads, 0, sizeof *out->site_reads * (size_t)nsites * DA_PH_NREAD);
        memset(out->site_frags, 0, sizeof *out->site_frags * (size_t)nsites * DA_PH_SITE_NSTATS);
        memset(out->site_reach, 0, sizeof *out->site_reach * (size_t)nsites);
    }
    memset(out->totals, 0, sizeof out->totals);

    ph_t p;
    memset(&p, 0, sizeof p);
    p.o = opts;
    p.path = path;
    p.out = out;
    da_reader_t rd;
    da_stream_t st;
    int rd_open = 0, st_open = 0;
    bam1_t *b = NULL;
    int rc = da_reader_open(&rd, path, ref_path, 0, err);
    if (rc) goto done;
    rd_open = 1;
    if ((rc = check_input(&rd, sites, nsites, pair_a, pair_b, npairs, err))) goto done;
    if ((rc = check_index(&rd, sites, nsites, err))) goto done;
    if ((rc = build_sites(&p, sites, nsites, pair_a, pair_b, npairs))) {
        rc = da_fail(err, rc, "%s: out of memory", path);
        goto done;
    }
    p.wait = kh_init(da_ph_wait);
    b = bam_init1();
    rc = da_stream_init(&st, &rd, 0, 0);   /* phase pairs mates by name itself: no context reads */
    st_open = 1;
    if (rc || !p.wait || !b) {
        rc = da_fail(err, DA_ERR_NOMEM, "%s: out of memory", path);
        goto done;
    }
    rc = walk_windows(&p, &st, b, err);
    if (rc) {
        rc = name_file(err, path, rc);
        goto done;
    }
    fill_none(out, pair_a, pair_b, npairs);
done:
    while (p.nheap > 0) free(heap_pop(&p));
    if (p.wait) kh_destroy(da_ph_wait, p.wait);
    free(p.heap);
    free(p.obs);
    free(p.frag);
    free(p.pats.slot);
    free(p.pats.pat);
    free(p.pats.word);
    free(p.site);
    free(p.part);
    free(p.part_off);
    if (b) bam_destroy1(b);
    if (st_open) da_stream_free(&st);
    if (rd_open) da_reader_close(&rd);
    return rc;
}
