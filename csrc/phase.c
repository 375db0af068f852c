/* deepamp C core: fragment-level allele co-occurrence of site pairs (see phase.h). */
#include "phase.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <htslib/khash.h>
#include <htslib/sam.h>

#include "region.h"

/* query name -> alleles of the first mate seen (a | b << 2) */
KHASH_MAP_INIT_STR(da_ph_mates, uint8_t)

static int valid_base(char c)
{
    return c == 'A' || c == 'C' || c == 'G' || c == 'T';
}

/* Allele of read b at reference position p. */
static int read_allele(const bam1_t *b, int64_t p, char ref, char alt, int min_bq)
{
    const bam1_core_t *c = &b->core;
    if (p < c->pos) return DA_PH_NONE;
    const uint32_t *cig = bam_get_cigar(b);
    int64_t rpos = c->pos, qpos = 0;
    for (uint32_t i = 0; i < c->n_cigar; i++) {
        int op = bam_cigar_op(cig[i]);
        int64_t len = bam_cigar_oplen(cig[i]);
        int type = bam_cigar_type(op);
        if ((type & 2) && p < rpos + len) {
            if (op == BAM_CREF_SKIP) return DA_PH_NONE;
            if (!(type & 1)) return DA_PH_OTHER;   /* deletion over the site */
            int64_t qp = qpos + (p - rpos);
            if (qp >= c->l_qseq) return DA_PH_NONE;
            uint8_t q = bam_get_qual(b)[qp];
            if (min_bq > 0 && (q == 0xff || q < min_bq)) return DA_PH_NONE;
            char base = seq_nt16_str[bam_seqi(bam_get_seq(b), qp)];
            if (base == ref) return DA_PH_REF;
            if (base == alt) return DA_PH_ALT;
            if (!valid_base(base)) return DA_PH_NONE;
            return DA_PH_OTHER;
        }
        if (type & 1) qpos += len;
        if (type & 2) rpos += len;
    }
    return DA_PH_NONE;
}

static int merge_allele(int x, int y, da_phase_result_t *r)
{
    if (x == DA_PH_NONE) return y;
    if (y == DA_PH_NONE || x == y) return x;
    r->stats[DA_PH_DISCORDANT]++;
    return DA_PH_NONE;
}

static void emit(da_phase_result_t *r, int x, int y)
{
    if (x == DA_PH_NONE && y == DA_PH_NONE) return;
    r->counts[x][y]++;
    r->stats[DA_PH_FRAGMENTS]++;
}

static void flush_pending(khash_t(da_ph_mates) *h, da_phase_result_t *r)
{
    for (khint_t k = kh_begin(h); k != kh_end(h); k++) {
        if (!kh_exist(h, k)) continue;
        if (r) emit(r, kh_val(h, k) & 3, kh_val(h, k) >> 2);
        free((char *)kh_key(h, k));
    }
    kh_clear(da_ph_mates, h);
}

static int check_site(const da_reader_t *rd, const da_phase_site_t *s, int64_t i, char which,
                      da_error_t *err)
{
    if (s->tid < 0 || s->tid >= sam_hdr_nref(rd->hdr))
        return da_fail(err, DA_ERR_CONTIG, "%s: pair %" PRId64 " site %c: contig id %d is not in the header",
                       rd->path, i, which, (int)s->tid);
    int64_t len = sam_hdr_tid2len(rd->hdr, s->tid);
    if (s->pos0 < 0 || s->pos0 >= len)
        return da_fail(err, DA_ERR_REGION, "%s: pair %" PRId64 " site %c: position %" PRId64
                       " is outside %s (length %" PRId64 ")", rd->path, i, which, s->pos0 + 1,
                       sam_hdr_tid2name(rd->hdr, s->tid), len);
    if (!valid_base(s->ref) || !valid_base(s->alt) || s->ref == s->alt)
        return da_fail(err, DA_ERR_ARG, "pair %" PRId64 " site %c: REF/ALT must be two different bases of ACGT",
                       i, which);
    return DA_OK;
}

static int count_pair(da_reader_t *rd, const da_phase_site_t *sa, const da_phase_site_t *sb,
                      const da_phase_opts_t *o, khash_t(da_ph_mates) *h, bam1_t *b,
                      da_phase_result_t *r, da_error_t *err)
{
    int64_t lo = sa->pos0 < sb->pos0 ? sa->pos0 : sb->pos0;
    int64_t hi = (sa->pos0 > sb->pos0 ? sa->pos0 : sb->pos0) + 1;
    hts_itr_t *itr = da_reader_query(rd, sa->tid, lo, hi, err);
    if (!itr) return err->code ? err->code : da_fail(err, DA_ERR_REGION, "%s: query failed", rd->path);
    uint32_t skip = o->flag_exclude | BAM_FUNMAP | BAM_FSECONDARY | BAM_FSUPPLEMENTARY;
    int rc;
    while ((rc = da_reader_next(rd, itr, b, err)) == 1) {
        const bam1_core_t *c = &b->core;
        r->stats[DA_PH_READS_SEEN]++;
        if ((c->flag & skip) || c->qual < o->min_mapq || c->l_qseq == 0) continue;
        r->stats[DA_PH_READS_USED]++;
        int x = read_allele(b, sa->pos0, sa->ref, sa->alt, o->min_bq);
        int y = read_allele(b, sb->pos0, sb->ref, sb->alt, o->min_bq);
        if (x == DA_PH_NONE && y == DA_PH_NONE) continue;   /* its mate alone decides */
        if (!(c->flag & BAM_FPAIRED) || (c->flag & BAM_FMUNMAP)) {
            emit(r, x, y);
            continue;
        }
        const char *qname = bam_get_qname(b);
        khint_t k = kh_get(da_ph_mates, h, qname);
        if (k != kh_end(h)) {
            uint8_t v = kh_val(h, k);
            int mx = merge_allele(v & 3, x, r), my = merge_allele(v >> 2, y, r);
            free((char *)kh_key(h, k));
            kh_del(da_ph_mates, h, k);
            r->stats[DA_PH_MATES_JOINED]++;
            emit(r, mx, my);
            continue;
        }
        char *key = strdup(qname);
        int absent;
        if (!key) { rc = da_fail(err, DA_ERR_NOMEM, "out of memory"); break; }
        k = kh_put(da_ph_mates, h, key, &absent);
        if (absent < 0) { free(key); rc = da_fail(err, DA_ERR_NOMEM, "out of memory"); break; }
        kh_val(h, k) = (uint8_t)(x | (y << 2));
    }
    hts_itr_destroy(itr);
    flush_pending(h, rc < 0 ? NULL : r);
    return rc < 0 ? rc : DA_OK;
}

int da_phase_count(const char *path, const char *ref_path,
                   const da_phase_site_t *a, const da_phase_site_t *b, int64_t npairs,
                   const da_phase_opts_t *opts, da_phase_result_t *res, da_error_t *err)
{
    if (!path || !opts || npairs < 0 || (npairs > 0 && (!a || !b || !res)))
        return da_fail(err, DA_ERR_ARG, "invalid arguments to da_phase_count");
    if (npairs > 0) memset(res, 0, (size_t)npairs * sizeof(*res));
    da_reader_t rd;
    int rc = da_reader_open(&rd, path, ref_path, 0, err);
    if (rc) return rc;
    for (int64_t i = 0; i < npairs && rc == DA_OK; i++) {
        if ((rc = check_site(&rd, &a[i], i, 'A', err)) || (rc = check_site(&rd, &b[i], i, 'B', err))) break;
        if (a[i].tid != b[i].tid)
            rc = da_fail(err, DA_ERR_ARG, "pair %" PRId64 ": sites are on different contigs", i);
    }
    khash_t(da_ph_mates) *h = NULL;
    bam1_t *rec = NULL;
    if (rc == DA_OK) {
        h = kh_init(da_ph_mates);
        rec = bam_init1();
        if (!h || !rec) rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
    }
    for (int64_t i = 0; i < npairs && rc == DA_OK; i++)
        rc = count_pair(&rd, &a[i], &b[i], opts, h, rec, &res[i], err);
    if (h) kh_destroy(da_ph_mates, h);
    if (rec) bam_destroy1(rec);
    da_reader_close(&rd);
    return rc;
}
