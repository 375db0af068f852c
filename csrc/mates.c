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
static const int8_t nt16_pack[16] = {-1, 0, 1, -1, 2, -1, -1, -1, 3, -1, -1, -1, -1, -1, -1, 4};
static const uint8_t pack_nt16[5] = {1, 2, 4, 8, 15};

/* Bytes of name and CIGAR. */
static size_t head_len(const bam1_core_t *c)
{
    return (size_t)c->l_qname + 4 * (size_t)c->n_cigar;
}

/* Can b's bases and qualities go one byte per base?  (Branch-free loops:
 * this runs on every waiting read.) */
static int packable(const bam1_t *b)
{
    const uint8_t *seq = bam_get_seq(b), *qual = bam_get_qual(b);
    size_t L = (size_t)b->core.l_qseq;
    uint8_t qmax = 0;
    for (size_t i = 0; i < L; i++) qmax = qual[i] > qmax ? qual[i] : qmax;
    int bad = 0;  /* nt16_pack is -1 (all bits) for anything but A, C, G, T, N */
    for (size_t j = 0; j < L / 2; j++) bad |= nt16_pack[seq[j] >> 4] | nt16_pack[seq[j] & 15];
    if (L & 1) bad |= nt16_pack[seq[L / 2] >> 4];
    return qmax <= PACK_MAX_QUAL && bad >= 0;
}

/* Size of b's waiting record in packed form if pack and possible, else in
 * BAM form; *packed says which. */
static size_t wait_size(const bam1_t *b, int pack, int *packed)
{
    size_t L = (size_t)b->core.l_qseq;
    *packed = pack && packable(b);
    return sizeof(da_wait_t) + head_len(&b->core) + (*packed ? L : (L + 1) / 2 + L);
}

static void fill_wait(da_wait_t *w, size_t size, const bam1_t *b, int packed)
{
    size_t head = head_len(&b->core), L = (size_t)b->core.l_qseq;
    w->core = b->core;
    w->n = (uint32_t)(size - sizeof *w);
    w->packed = (uint32_t)packed;
    memcpy(w->data, b->data, head);
    if (!packed) {
        memcpy(w->data + head, bam_get_seq(b), (L + 1) / 2 + L);  /* seq and qual are adjacent */
        return;
    }
    const uint8_t *seq = bam_get_seq(b), *qual = bam_get_qual(b);
    uint8_t *out = w->data + head;
    for (size_t i = 0; i < L; i++) out[i] = (uint8_t)(5 * qual[i]);
    for (size_t j = 0; j < L / 2; j++) {
        out[2 * j] += (uint8_t)nt16_pack[seq[j] >> 4];
        out[2 * j + 1] += (uint8_t)nt16_pack[seq[j] & 15];
    }
    if (L & 1) out[L - 1] += (uint8_t)nt16_pack[seq[L / 2] >> 4];
}

/* Packed byte -> BAM nucleotide code and quality. */
static uint8_t unpack_nt16[256], unpack_qual[256];
static pthread_once_t unpack_once = PTHREAD_ONCE_INIT;

static void unpack_init(void)
{
    for (int v = 0; v < 256; v++) {
        unpack_nt16[v] = pack_nt16[v % 5];
        unpack_qual[v] = (uint8_t)(v / 5);
    }
}

/* The BAM form of w in out (pointing into w, or unpacked into *buf). */
static int to_bam(const da_wait_t *w, bam1_t *out, uint8_t **buf, size_t *cap)
{
    out->core = w->core;
    if (!w->packed) {
        out->data = (uint8_t *)w->data;  /* read only: counting never writes a record */
        out->l_data = (int)w->n;
        out->m_data = w->n;
        return DA_OK;
    }
    size_t head = head_len(&w->core), L = (size_t)w->core.l_qseq, need = head + (L + 1) / 2 + L;
    if (need > *cap) {
        uint8_t *d = realloc(*buf, need);
        if (!d) return DA_ERR_NOMEM;
        *buf = d;
        *cap = need;
    }
    pthread_once(&unpack_once, unpack_init);
    uint8_t *seq = *buf + head, *qual = seq + (L + 1) / 2;
    const uint8_t *in = w->data + head;
    memcpy(*buf, w->data, head);
    for (size_t j = 0; j < L / 2; j++)
        seq[j] = (uint8_t)(unpack_nt16[in[2 * j]] << 4 | unpack_nt16[in[2 * j + 1]]);
    if (L & 1) seq[L / 2] = (uint8_t)(unpack_nt16[in[L - 1]] << 4);
    for (size_t i = 0; i < L; i++) qual[i] = unpack_qual[in[i]];
    out->data = *buf;
    out->l_data = (int)need;
    out->m_data = (uint32_t)*cap;
    return DA_OK;
}

static const char *wait_qname(const da_wait_t *w)
{
    return (const char *)w->data;
}

/* Bytes of one waiting record (m->bytes and the partitions count these). */
static size_t entry_bytes(const da_wait_t *w)
{
    return sizeof *w + w->n + MALLOC_OVERHEAD;
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
    free(m->view_buf);
    free(m->scratch);
    m->view_buf = NULL;
    m->scratch = NULL;
    m->view_cap = m->scratch_cap = 0;
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
        int64_t *f = realloc(m->free_idx, sizeof *f * (size_t)n);
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
    m->free_idx[m->nfree++] = idx;
    return DA_OK;
}

int64_t da_mates_take(da_mates_t *m, const bam1_t *b, uint64_t h)
{
    if (m->npool == m->nfree) return -1;
    int bits = partner_bits(mate_bits(b->core.flag));
    const char *qname = bam_get_qname(b);
    uint32_t tag = slot_tag(h);
    uint64_t mask = (uint64_t)m->nslot - 1, j = h & mask;
    for (; m->slot[j].idx != SLOT_EMPTY; j = (j + 1) & mask) {
        int64_t idx = m->slot[j].idx;
        if (idx < 0 || m->slot[j].tag != tag) continue;
        const da_wait_t *c = m->pool[idx].w;
        if (mate_bits(c->core.flag) == bits && m->pool[idx].mpos == b->core.pos &&
            strcmp(wait_qname(c), qname) == 0) {
            m->slot[j].idx = SLOT_DELETED;
            return idx;
        }
    }
    return -1;
}

const bam1_t *da_mates_record(da_mates_t *m, int64_t idx)
{
    return to_bam(m->pool[idx].w, &m->view, &m->view_buf, &m->view_cap) ? NULL : &m->view;
}

int64_t da_mates_expired(da_mates_t *m, int64_t before)
{
    while (m->nheap > 0 && m->heap[0].mpos < before) {
        da_heap_item_t it = heap_pop(m);
        if (!is_live(m, it)) continue;  /* already merged */
        unhash(m, it.idx);
        return it.idx;
    }
    return -1;
}

/* ------------------------------------------------------------------ spill files */

/* On disk a record is its da_wait_t, as in memory. */
static int write_wait(da_mates_t *m, FILE *fp, const da_wait_t *w, da_error_t *err)
{
    if (fwrite(w, sizeof *w + w->n, 1, fp) != 1)
        return da_fail(err, DA_ERR_TEMP, "cannot write a temporary file of waiting mates in %s: %s",
                       m->tmpdir, strerror(errno));
    m->spilled++;
    return DA_OK;
}

int da_mates_write(da_mates_t *m, FILE *fp, const bam1_t *b, da_error_t *err)
{
    int packed;
    size_t size = wait_size(b, 1, &packed);
    if (size > m->scratch_cap) {
        da_wait_t *w = realloc(m->scratch, size);
        if (!w) return da_fail(err, DA_ERR_NOMEM, "out of memory");
        m->scratch = w;
        m->scratch_cap = size;
    }
    fill_wait(m->scratch, size, b, packed);
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
    size_t L = head.core.l_qseq < 0 ? 0 : (size_t)head.core.l_qseq;
    if (head.core.l_qseq < 0 || head.n != head_len(&head.core) + (head.packed ? L : (L + 1) / 2 + L))
        return da_fail(err, DA_ERR_TEMP, "temporary file of waiting mates in %s is damaged", m->tmpdir);
    size_t size = sizeof head + head.n;
    if (size > buf->raw_cap) {
        da_wait_t *w = realloc(buf->raw, size);
        if (!w) return da_fail(err, DA_ERR_NOMEM, "out of memory");
        buf->raw = w;
        buf->raw_cap = size;
    }
    *buf->raw = head;
    if (head.n && fread(buf->raw->data, head.n, 1, fp) != 1)
        return da_fail(err, DA_ERR_TEMP, "temporary file of waiting mates in %s ends early", m->tmpdir);
    if (to_bam(buf->raw, &buf->b, &buf->bam_buf, &buf->bam_cap))
        return da_fail(err, DA_ERR_NOMEM, "out of memory");
    return 1;
}

void da_mate_buf_free(da_mate_buf_t *buf)
{
    free(buf->bam_buf);
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

static int by_position(const void *a, const void *b)
{
    const da_wait_t *x = *(da_wait_t *const *)a, *y = *(da_wait_t *const *)b;
    if (x->core.pos != y->core.pos) return x->core.pos < y->core.pos ? -1 : 1;
    return x < y ? -1 : x > y;
}

/* Move partition p to a new spill file: its waiting mates are written in
 * coordinate order (all precede any record still to come) and freed. */
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
    qsort(rec, (size_t)n, sizeof *rec, by_position);
    for (int64_t i = 0; i < n && !rc; i++) rc = write_wait(m, fp, rec[i], err);
    for (int64_t i = 0; i < n && !rc; i++) {
        unhash(m, idx[i]);
        if (da_mates_release(m, idx[i])) rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
    }
    if (!rc) {
        heap_compact(m);
        /* the freed entries left deleted slots that every probe would step over */
        int64_t nslot = 1024;
        while (nslot < 4 * (m->npool - m->nfree)) nslot *= 2;
        if (slot_rebuild(m, nslot)) rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
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

int da_mates_add(da_mates_t *m, const bam1_t *b, uint64_t h, da_error_t *err)
{
    if ((m->nused + 1) * 2 > m->nslot) {
        /* size from the live entries, so deleted slots never make it grow */
        int64_t live = m->npool - m->nfree + 1, nslot = 1024;
        while (nslot < 4 * live) nslot *= 2;
        if (slot_rebuild(m, nslot)) return da_fail(err, DA_ERR_NOMEM, "out of memory");
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
    /* packing costs time: only under memory pressure */
    int packed;
    size_t size = wait_size(b, m->budget && m->bytes > m->budget / 2, &packed);
    da_wait_t *c = malloc(size);
    if (!c) {
        m->pool[idx].w = NULL;
        return da_fail(err, DA_ERR_NOMEM, "out of memory");
    }
    fill_wait(c, size, b, packed);
    da_pend_t *p = &m->pool[idx];
    p->w = c;
    p->mpos = b->core.mpos;
    p->hash = h;
    uint64_t mask = (uint64_t)m->nslot - 1, j = h & mask;
    while (m->slot[j].idx >= 0) j = (j + 1) & mask;
    if (m->slot[j].idx == SLOT_EMPTY) m->nused++;
    m->slot[j].tag = slot_tag(h);
    m->slot[j].idx = (int32_t)idx;
    size_t nb = entry_bytes(c);
    m->bytes += nb;
    m->part_bytes[part_of(m, h)] += nb;
    da_heap_item_t it = {p->mpos, idx, p->gen};
    if (heap_push(m, it)) return da_fail(err, DA_ERR_NOMEM, "out of memory");
    return enforce_budget(m, err);
}
