#include "mates.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SLOT_EMPTY = -1, SLOT_DELETED = -2 };

/* The allocator's header on each record (glibc: 8 bytes, 16-byte aligned). */
#define MALLOC_OVERHEAD 16

/* stdio buffer of each spill file: few system calls, little memory. */
#define SPILL_BUFFER (16 * 1024)

/* FNV-1a of the name, then a 64-bit finaliser so that every bit range (slot
 * index, tag, partition of each level) is well mixed. */
uint64_t da_name_hash(const char *qname)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)qname; *p; p++) {
        h ^= *p;
        h *= 1099511628211ULL;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static int part_of(const da_mates_t *m, uint64_t h)
{
    return (int)((h >> (60 - 4 * m->level)) & (DA_MATE_PARTS - 1));
}

/* Read-1 / read-2 bits of a flag field. */
static int mate_bits(uint16_t flag)
{
    return flag & (BAM_FREAD1 | BAM_FREAD2);
}

/* The mate bits a read's partner carries. */
static int partner_bits(int bits)
{
    if (bits == BAM_FREAD1) return BAM_FREAD2;
    if (bits == BAM_FREAD2) return BAM_FREAD1;
    return bits;
}

static uint32_t slot_tag(uint64_t h)
{
    return (uint32_t)(h >> 32);
}

/* ------------------------------------------------------------------ waiting records */

#define PACK_MAX_QUAL 50

/* Bytes of name and CIGAR. */
static size_t head_len(uint16_t l_qname, uint32_t n_cigar)
{
    return (size_t)l_qname + 4 * (size_t)n_cigar;
}

/* Bytes of data of a waiting record: name, CIGAR, then one byte per base or
 * BAM's sequence and qualities. */
static size_t data_len(uint16_t l_qname, uint32_t n_cigar, int32_t l_qseq, int packed)
{
    size_t L = l_qseq < 0 ? 0 : (size_t)l_qseq;
    return head_len(l_qname, n_cigar) + (packed ? L : (L + 1) / 2 + L);
}

static size_t wait_len(const da_wait_t *w)
{
    return data_len(w->l_qname, w->n_cigar, w->l_qseq, w->packed);
}

static int has_insertion(const bam1_t *b)
{
    const uint32_t *cigar = bam_get_cigar(b);
    for (uint32_t i = 0; i < b->core.n_cigar; i++)
        if (bam_cigar_op(cigar[i]) == BAM_CINS) return 1;
    return 0;
}

/* Write b's bases one byte each to out; 0 if some base cannot be packed
 * (out then holds garbage).  One pass, no branch per base: this runs on
 * every waiting read. */
static int pack_bases(uint8_t *restrict out, const bam1_t *b)
{
    const uint8_t *restrict seq = bam_get_seq(b), *restrict qual = bam_get_qual(b);
    size_t L = (size_t)b->core.l_qseq;
    int bad = 0;  /* 50 - q < 0 above 50 */
    for (size_t j = 0; j < L / 2; j++) {
        int q0 = qual[2 * j], q1 = qual[2 * j + 1];
        int s0 = da_nt16_sym(seq[j] >> 4), s1 = da_nt16_sym(seq[j] & 15);
        bad |= (PACK_MAX_QUAL - q0) | (PACK_MAX_QUAL - q1);
        out[2 * j] = (uint8_t)(5 * q0 + s0);
        out[2 * j + 1] = (uint8_t)(5 * q1 + s1);
    }
    if (L & 1) {
        int q = qual[L - 1], sym = da_nt16_sym(seq[L / 2] >> 4);
        bad |= PACK_MAX_QUAL - q;
        out[L - 1] = (uint8_t)(5 * q + sym);
    }
    return bad >= 0;
}

static int grow_wait(da_wait_t **wp, size_t *cap, size_t need)
{
    if (need <= *cap) return DA_OK;
    da_wait_t *w = realloc(*wp, need);
    if (!w) return DA_ERR_NOMEM;
    *wp = w;
    *cap = need;
    return DA_OK;
}

/* b's waiting record in *wp, grown to fit (from NULL: allocated at its exact
 * size).  packed: b's bases as da_mates_record gives them, or NULL. */
static int build_wait(da_wait_t **wp, size_t *cap, const bam1_t *b, const uint8_t *packed, uint32_t seq,
                      int state)
{
    const bam1_core_t *c = &b->core;
    size_t head = head_len(c->l_qname, c->n_cigar), L = (size_t)c->l_qseq;
    int pack = packed || !has_insertion(b);
    if (grow_wait(wp, cap, sizeof **wp + head + (pack ? L : (L + 1) / 2 + L))) return DA_ERR_NOMEM;
    da_wait_t *w = *wp;
    w->pos = c->pos;
    w->mpos = c->mpos;
    w->tid = c->tid;
    w->l_qseq = c->l_qseq;
    w->n_cigar = c->n_cigar;
    w->flag = c->flag;
    w->l_qname = c->l_qname;
    w->l_extranul = c->l_extranul;
    w->qual = c->qual;
    w->seq = seq;
    w->state = (uint8_t)state;
    memcpy(w->data, b->data, head);
    w->packed = 1;
    if (packed) {
        memcpy(w->data + head, packed, L);
        return DA_OK;
    }
    if (pack && pack_bases(w->data + head, b)) return DA_OK;
    w->packed = 0;
    if (grow_wait(wp, cap, sizeof **wp + wait_len(w))) return DA_ERR_NOMEM;
    w = *wp;
    memcpy(w->data + head, bam_get_seq(b), (L + 1) / 2 + L);  /* seq and qual are adjacent */
    return DA_OK;
}

/* w as a record (pointing into w); its packed bases or NULL. */
static const uint8_t *wait_view(const da_wait_t *w, bam1_t *out)
{
    memset(&out->core, 0, sizeof out->core);
    out->core.pos = w->pos;
    out->core.mpos = w->mpos;
    out->core.tid = out->core.mtid = w->tid;  /* a waiting read's mate is on its contig */
    out->core.l_qseq = w->l_qseq;
    out->core.n_cigar = w->n_cigar;
    out->core.flag = w->flag;
    out->core.l_qname = w->l_qname;
    out->core.l_extranul = w->l_extranul;
    out->core.qual = w->qual;
    out->data = (uint8_t *)w->data;  /* read only: counting never writes a record */
    out->l_data = (int)wait_len(w);
    out->m_data = (uint32_t)out->l_data;
    return w->packed ? w->data + head_len(w->l_qname, w->n_cigar) : NULL;
}

static const char *wait_qname(const da_wait_t *w)
{
    return (const char *)w->data;
}

/* Bytes of one waiting record (m->bytes and the partitions count these). */
static size_t entry_bytes(const da_wait_t *w)
{
    return sizeof *w + wait_len(w) + MALLOC_OVERHEAD;
}

/* Bytes held: the records and the tables at their allocated sizes. */
static size_t held_bytes(const da_mates_t *m)
{
    return m->bytes + sizeof *m->pool * (size_t)m->mpool + sizeof *m->free_idx * (size_t)m->mfree +
           sizeof *m->slot * (size_t)m->nslot + sizeof *m->heap * (size_t)m->mheap;
}

/* ------------------------------------------------------------------ table */

static int slot_rebuild(da_mates_t *m, int64_t nslot)
{
    da_slot_t *slot = malloc(sizeof *slot * (size_t)nslot);
    if (!slot) return DA_ERR_NOMEM;
    for (int64_t i = 0; i < nslot; i++) slot[i].idx = SLOT_EMPTY;
    uint64_t mask = (uint64_t)nslot - 1;
    int64_t live = 0;
    for (int64_t i = 0; i < m->nslot; i++) {
        if (m->slot[i].idx < 0) continue;
        uint64_t j = m->pool[m->slot[i].idx].hash & mask;
        while (slot[j].idx != SLOT_EMPTY) j = (j + 1) & mask;
        slot[j] = m->slot[i];
        live++;
    }
    free(m->slot);
    m->slot = slot;
    m->nslot = nslot;
    m->nused = live;
    return DA_OK;
}

/* Hash slots for live entries: at most a third full after a rebuild, and
 * rebuilt when live plus deleted slots pass half, so a rebuild (linear in
 * the slots) are at least a sixth of the slots in adds apart. */
static int64_t slots_for(int64_t live)
{
    int64_t nslot = 1024;
    while (nslot < 3 * live) nslot *= 2;
    return nslot;
}

int da_mates_init(da_mates_t *m, size_t budget, int level, const char *tmpdir)
{
    memset(m, 0, sizeof *m);
    m->budget = budget;
    m->level = level;
    m->tmpdir = tmpdir && *tmpdir ? tmpdir : "/tmp";
    return slot_rebuild(m, 1024);
}

void da_mates_release_memory(da_mates_t *m)
{
    for (int64_t i = 0; i < m->npool; i++) free(m->pool[i].w);
    free(m->pool);
    free(m->free_idx);
    free(m->slot);
    free(m->heap);
    m->pool = NULL;
    m->free_idx = NULL;
    m->slot = NULL;
    m->heap = NULL;
    m->npool = m->mpool = m->nfree = m->mfree = m->nslot = m->nused = m->nheap = m->mheap = 0;
    m->bytes = 0;
    memset(m->part_bytes, 0, sizeof m->part_bytes);
}

void da_mates_free(da_mates_t *m)
{
    da_mates_release_memory(m);
    free(m->scratch);
    m->scratch = NULL;
    m->scratch_cap = 0;
    for (int p = 0; p < DA_MATE_PARTS; p++) {
        if (m->spill[p]) fclose(m->spill[p]);
        m->spill[p] = NULL;
    }
}

static void heap_sift_down(da_heap_item_t *heap, int64_t n, int64_t i)
{
    da_heap_item_t it = heap[i];
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && heap[c + 1].mpos < heap[c].mpos) c++;
        if (it.mpos <= heap[c].mpos) break;
        heap[i] = heap[c];
        i = c;
    }
    heap[i] = it;
}

static int heap_push(da_mates_t *m, da_heap_item_t it)
{
    if (m->nheap == m->mheap) {
        int64_t n = m->mheap ? m->mheap * 2 : 256;
        da_heap_item_t *h = realloc(m->heap, sizeof *h * (size_t)n);
        if (!h) return DA_ERR_NOMEM;
        m->heap = h;
        m->mheap = n;
    }
    int64_t i = m->nheap++;
    while (i > 0) {
        int64_t parent = (i - 1) / 2;
        if (m->heap[parent].mpos <= it.mpos) break;
        m->heap[i] = m->heap[parent];
        i = parent;
    }
    m->heap[i] = it;
    return DA_OK;
}

static da_heap_item_t heap_pop(da_mates_t *m)
{
    da_heap_item_t top = m->heap[0];
    m->heap[0] = m->heap[--m->nheap];
    if (m->nheap > 0) heap_sift_down(m->heap, m->nheap, 0);
    return top;
}

static int is_live(const da_mates_t *m, da_heap_item_t it)
{
    return m->pool[it.idx].gen == it.gen && m->pool[it.idx].w;
}

/* Drop heap items of freed entries (after a partition moved to disk). */
static void heap_compact(da_mates_t *m)
{
    int64_t n = 0;
    for (int64_t i = 0; i < m->nheap; i++)
        if (is_live(m, m->heap[i])) m->heap[n++] = m->heap[i];
    m->nheap = n;
    for (int64_t i = n / 2 - 1; i >= 0; i--) heap_sift_down(m->heap, n, i);
}

static void unhash(da_mates_t *m, int64_t idx)
{
    uint64_t mask = (uint64_t)m->nslot - 1;
    uint64_t j = m->pool[idx].hash & mask;
    for (; m->slot[j].idx != SLOT_EMPTY; j = (j + 1) & mask) {
        if (m->slot[j].idx == idx) {
            m->slot[j].idx = SLOT_DELETED;
            return;
        }
    }
}

int da_mates_release(da_mates_t *m, int64_t idx)
{
    if (m->nfree == m->mfree) {
        int64_t n = m->mfree ? m->mfree * 2 : 256;
        int32_t *f = realloc(m->free_idx, sizeof *f * (size_t)n);
        if (!f) return DA_ERR_NOMEM;
        m->free_idx = f;
        m->mfree = n;
    }
    da_wait_t *w = m->pool[idx].w;
    size_t nb = entry_bytes(w);
    m->bytes -= nb;
    m->part_bytes[part_of(m, m->pool[idx].hash)] -= nb;
    free(w);
    m->pool[idx].w = NULL;
    m->pool[idx].gen++;
    m->free_idx[m->nfree++] = (int32_t)idx;
    return DA_OK;
}

/* Is waiting read c a mate of arriving read b (see da_mate_match_t)?  c
 * waits, so it is primary, mapped and its mate is on its contig. */
static int is_mate(const da_wait_t *c, const bam1_t *b)
{
    const bam1_core_t *x = &b->core;
    return mate_bits(c->flag) == partner_bits(mate_bits(x->flag)) && c->tid == x->tid &&
           x->mtid == x->tid && c->mpos == x->pos && x->mpos == c->pos &&
           !(c->flag & BAM_FMREVERSE) == !(x->flag & BAM_FREVERSE) &&
           !(x->flag & BAM_FMREVERSE) == !(c->flag & BAM_FREVERSE);
}

/* Is waiting read c a copy of b: same contig, positions and flags that decide mates? */
static int is_copy(const da_wait_t *c, const bam1_t *b)
{
    const bam1_core_t *x = &b->core;
    const uint16_t bits = BAM_FREAD1 | BAM_FREAD2 | BAM_FREVERSE | BAM_FMREVERSE;
    return c->tid == x->tid && c->pos == x->pos && c->mpos == x->mpos && (c->flag & bits) == (x->flag & bits);
}

/* Does arrival a come before b (arrival numbers modulo 2^32)? */
static int earlier(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

void da_mates_match(da_mates_t *m, const bam1_t *b, uint64_t h, da_mate_match_t *out)
{
    memset(out, 0, sizeof *out);
    out->take = -1;
    if (m->npool == m->nfree) return;
    const char *qname = bam_get_qname(b);
    uint32_t tag = slot_tag(h);
    uint64_t mask = (uint64_t)m->nslot - 1, j = h & mask;
    for (; m->slot[j].idx != SLOT_EMPTY; j = (j + 1) & mask) {
        int64_t idx = m->slot[j].idx;
        if (idx < 0 || m->slot[j].tag != tag) continue;
        const da_wait_t *c = m->pool[idx].w;
        if (strcmp(wait_qname(c), qname) != 0) continue;
        int taken = c->state & DA_WAIT_TAKEN;
        if (is_mate(c, b)) {
            if (taken) {
                out->mates_taken++;
            } else {
                out->mates_waiting++;
                if (out->take < 0 || earlier(c->seq, m->pool[out->take].w->seq)) out->take = idx;
            }
        } else if (taken && is_copy(c, b)) {
            out->copies_taken++;
        }
    }
    if (out->take >= 0) m->pool[out->take].w->state |= DA_WAIT_TAKEN;
}

void da_mates_counted(da_mates_t *m, int64_t idx)
{
    da_wait_t *w = m->pool[idx].w;
    size_t before = entry_bytes(w);
    w->n_cigar = 0;   /* the name stays first in data */
    w->l_qseq = 0;
    w->packed = 1;
    da_wait_t *small = realloc(w, sizeof *w + wait_len(w));
    if (small) m->pool[idx].w = w = small;  /* else it keeps its block: nothing lost but memory */
    size_t freed = before - entry_bytes(w);
    m->bytes -= freed;
    m->part_bytes[part_of(m, m->pool[idx].hash)] -= freed;
}

const bam1_t *da_mates_record(da_mates_t *m, int64_t idx, const uint8_t **packed)
{
    *packed = wait_view(m->pool[idx].w, &m->view);
    return &m->view;
}

int64_t da_mates_expired(da_mates_t *m, int64_t before)
{
    while (m->nheap > 0 && m->heap[0].mpos < before) {
        da_heap_item_t it = heap_pop(m);
        if (!is_live(m, it)) continue;  /* moved to disk */
        unhash(m, it.idx);
        if (!(m->pool[it.idx].w->state & DA_WAIT_TAKEN)) return it.idx;
        if (da_mates_release(m, it.idx)) return DA_ERR_NOMEM;  /* merged with its mate: done */
    }
    return -1;
}

/* ------------------------------------------------------------------ spill files */

/* On disk a record is its da_wait_t, as in memory. */
static int write_wait(da_mates_t *m, FILE *fp, const da_wait_t *w, da_error_t *err)
{
    if (fwrite(w, sizeof *w + wait_len(w), 1, fp) != 1)
        return da_fail(err, DA_ERR_TEMP, "cannot write a temporary file of waiting mates in %s: %s",
                       m->tmpdir, strerror(errno));
    m->spilled++;
    return DA_OK;
}

int da_mates_write(da_mates_t *m, FILE *fp, const bam1_t *b, const uint8_t *packed, uint32_t seq,
                   int state, da_error_t *err)
{
    if (build_wait(&m->scratch, &m->scratch_cap, b, packed, seq, state))
        return da_fail(err, DA_ERR_NOMEM, "out of memory");
    return write_wait(m, fp, m->scratch, err);
}

int da_mates_read(da_mates_t *m, FILE *fp, da_mate_buf_t *buf, da_error_t *err)
{
    da_wait_t head;
    if (fread(&head, sizeof head, 1, fp) != 1) {
        if (feof(fp) && !ferror(fp)) return 0;
        return da_fail(err, DA_ERR_TEMP, "cannot read a temporary file of waiting mates in %s: %s",
                       m->tmpdir, strerror(errno));
    }
    if (head.l_qseq < 0 || head.packed > 1 || head.state > (DA_WAIT_TAKEN | DA_WAIT_MOVED))
        return da_fail(err, DA_ERR_TEMP, "temporary file of waiting mates in %s is damaged", m->tmpdir);
    size_t n = wait_len(&head), size = sizeof head + n;
    if (size > buf->raw_cap) {
        da_wait_t *w = realloc(buf->raw, size);
        if (!w) return da_fail(err, DA_ERR_NOMEM, "out of memory");
        buf->raw = w;
        buf->raw_cap = size;
    }
    *buf->raw = head;
    if (n && fread(buf->raw->data, n, 1, fp) != 1)
        return da_fail(err, DA_ERR_TEMP, "temporary file of waiting mates in %s ends early", m->tmpdir);
    buf->packed = wait_view(buf->raw, &buf->b);
    return 1;
}

void da_mate_buf_free(da_mate_buf_t *buf)
{
    free(buf->raw);
    memset(buf, 0, sizeof *buf);
}

/* An anonymous file in tmpdir: unlinked at once, so it vanishes with the process. */
static FILE *open_spill(const da_mates_t *m, da_error_t *err)
{
    size_t n = strlen(m->tmpdir) + sizeof "/deepamp-mates-XXXXXX";
    char *path = malloc(n);
    if (!path) {
        da_fail(err, DA_ERR_NOMEM, "out of memory");
        return NULL;
    }
    snprintf(path, n, "%s/deepamp-mates-XXXXXX", m->tmpdir);
    int fd = mkstemp(path);
    FILE *fp = NULL;
    if (fd >= 0) {
        unlink(path);
        fp = fdopen(fd, "w+b");
        if (!fp) close(fd);
        else setvbuf(fp, NULL, _IOFBF, SPILL_BUFFER);
    }
    if (!fp)
        da_fail(err, DA_ERR_TEMP, "cannot create a temporary file for waiting mates in %s: %s",
                m->tmpdir, strerror(errno));
    free(path);
    return fp;
}

/* Arrival order (the entries of a table span far less than 2^31 arrivals). */
static int by_arrival(const void *a, const void *b)
{
    const da_wait_t *x = *(da_wait_t *const *)a, *y = *(da_wait_t *const *)b;
    return earlier(x->seq, y->seq) ? -1 : earlier(y->seq, x->seq);
}

/* Move partition p to a new spill file: its reads, waiting or taken, are
 * written in arrival order (so in coordinate order, before any record still
 * to come), marked as moved, and freed. */
static int spill_partition(da_mates_t *m, int p, da_error_t *err)
{
    FILE *fp = open_spill(m, err);
    if (!fp) return err->code;
    m->spill[p] = fp;
    int64_t n = 0;
    for (int64_t i = 0; i < m->npool; i++)
        if (m->pool[i].w && part_of(m, m->pool[i].hash) == p) n++;
    int64_t *idx = malloc(sizeof *idx * (size_t)(n ? n : 1));
    da_wait_t **rec = malloc(sizeof *rec * (size_t)(n ? n : 1));
    int rc = DA_OK;
    if (!idx || !rec) {
        rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
        goto out;
    }
    n = 0;
    for (int64_t i = 0; i < m->npool; i++)
        if (m->pool[i].w && part_of(m, m->pool[i].hash) == p) idx[n++] = i;
    for (int64_t i = 0; i < n; i++) rec[i] = m->pool[idx[i]].w;
    qsort(rec, (size_t)n, sizeof *rec, by_arrival);
    for (int64_t i = 0; i < n && !rc; i++) {
        rec[i]->state |= DA_WAIT_MOVED;
        rc = write_wait(m, fp, rec[i], err);
    }
    for (int64_t i = 0; i < n && !rc; i++) {
        unhash(m, idx[i]);
        if (da_mates_release(m, idx[i])) rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
    }
    if (!rc) {
        heap_compact(m);
        /* the freed entries left deleted slots that every probe would step over */
        if (slot_rebuild(m, slots_for(m->npool - m->nfree))) rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
    }
out:
    free(idx);
    free(rec);
    return rc;
}

/* While over budget, move the largest partition still in memory to disk. */
static int enforce_budget(da_mates_t *m, da_error_t *err)
{
    while (m->budget && held_bytes(m) > m->budget && m->level < DA_MATE_LEVELS - 1) {
        int best = -1;
        for (int p = 0; p < DA_MATE_PARTS; p++)
            if (!m->spill[p] && m->part_bytes[p] && (best < 0 || m->part_bytes[p] > m->part_bytes[best]))
                best = p;
        if (best < 0) break;
        int rc = spill_partition(m, best, err);
        if (rc) return rc;
    }
    return DA_OK;
}

int da_mates_add(da_mates_t *m, const bam1_t *b, const uint8_t *packed, uint64_t h, uint32_t seq,
                 int state, da_error_t *err)
{
    if ((m->nused + 1) * 2 > m->nslot) {
        /* size from the live entries, so deleted slots never make it grow */
        if (slot_rebuild(m, slots_for(m->npool - m->nfree + 1))) return da_fail(err, DA_ERR_NOMEM, "out of memory");
    }
    int64_t idx;
    if (m->nfree) {
        idx = m->free_idx[--m->nfree];
    } else {
        if (m->npool == INT32_MAX) return da_fail(err, DA_ERR_NOMEM, "too many waiting mates");
        if (m->npool == m->mpool) {
            int64_t n = m->mpool ? m->mpool * 2 : 256;
            if (n > INT32_MAX) n = INT32_MAX;
            da_pend_t *pool = realloc(m->pool, sizeof *pool * (size_t)n);
            if (!pool) return da_fail(err, DA_ERR_NOMEM, "out of memory");
            m->pool = pool;
            m->mpool = n;
        }
        idx = m->npool++;
        m->pool[idx].gen = 0;
    }
    da_wait_t *c = NULL;
    size_t cap = 0;
    if (build_wait(&c, &cap, b, packed, seq, state & DA_WAIT_TAKEN)) {
        free(c);
        m->pool[idx].w = NULL;
        return da_fail(err, DA_ERR_NOMEM, "out of memory");
    }
    da_pend_t *p = &m->pool[idx];
    p->w = c;
    p->hash = h;
    uint64_t mask = (uint64_t)m->nslot - 1, j = h & mask;
    while (m->slot[j].idx >= 0) j = (j + 1) & mask;
    if (m->slot[j].idx == SLOT_EMPTY) m->nused++;
    m->slot[j].tag = slot_tag(h);
    m->slot[j].idx = (int32_t)idx;
    size_t nb = entry_bytes(c);
    m->bytes += nb;
    m->part_bytes[part_of(m, h)] += nb;
    da_heap_item_t it = {c->mpos, (int32_t)idx, p->gen};
    if (heap_push(m, it)) return da_fail(err, DA_ERR_NOMEM, "out of memory");
    return enforce_budget(m, err);
}
