#include "indel_table.h"

#include <stdlib.h>
#include <string.h>

#include "da_error.h"

int da_indel_table_init(da_indel_table_t *t)
{
    memset(t, 0, sizeof *t);
    t->nslot = 256;
    t->slot = malloc(sizeof *t->slot * (size_t)t->nslot);
    if (!t->slot) return DA_ERR_NOMEM;
    for (int64_t i = 0; i < t->nslot; i++) t->slot[i] = -1;
    return DA_OK;
}

void da_indel_table_free(da_indel_table_t *t)
{
    free(t->ev);
    free(t->slot);
    free(t->seq);
    memset(t, 0, sizeof *t);
}

static uint64_t event_hash(int64_t pos, int32_t len, const char *ins)
{
    uint64_t h = 1469598103934665603ULL ^ (uint64_t)pos;
    h *= 1099511628211ULL;
    h ^= (uint64_t)(uint32_t)len;
    h *= 1099511628211ULL;
    for (int32_t i = 0; i < len; i++) {
        h ^= (unsigned char)ins[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static int event_equal(const da_indel_table_t *t, const da_indel_t *e,
                       int64_t pos, int32_t len, const char *ins)
{
    if (e->pos != pos || e->len != len) return 0;
    return len <= 0 || memcmp(t->seq + e->seq_off, ins, (size_t)len) == 0;
}

static int grow_slots(da_indel_table_t *t)
{
    int64_t nslot = t->nslot * 2;
    int64_t *slot = malloc(sizeof *slot * (size_t)nslot);
    if (!slot) return DA_ERR_NOMEM;
    for (int64_t i = 0; i < nslot; i++) slot[i] = -1;
    for (int64_t i = 0; i < t->n; i++) {
        const da_indel_t *e = &t->ev[i];
        uint64_t h = event_hash(e->pos, e->len, t->seq + e->seq_off) & (uint64_t)(nslot - 1);
        while (slot[h] >= 0) h = (h + 1) & (uint64_t)(nslot - 1);
        slot[h] = i;
    }
    free(t->slot);
    t->slot = slot;
    t->nslot = nslot;
    return DA_OK;
}

int da_indel_add(da_indel_table_t *t, int64_t pos, int32_t len, const char *ins, int strand)
{
    uint64_t mask = (uint64_t)(t->nslot - 1);
    uint64_t h = event_hash(pos, len, ins) & mask;
    while (t->slot[h] >= 0) {
        da_indel_t *e = &t->ev[t->slot[h]];
        if (event_equal(t, e, pos, len, ins)) {
            e->count[strand]++;
            return DA_OK;
        }
        h = (h + 1) & mask;
    }
    if (t->n == t->m) {
        int64_t m = t->m ? t->m * 2 : 64;
        da_indel_t *ev = realloc(t->ev, sizeof *ev * (size_t)m);
        if (!ev) return DA_ERR_NOMEM;
        t->ev = ev;
        t->m = m;
    }
    uint32_t off = (uint32_t)t->seq_n;
    if (len > 0) {
        if (t->seq_n + len > t->seq_m) {
            int64_t m = t->seq_m ? t->seq_m : 1024;
            while (t->seq_n + len > m) m *= 2;
            char *seq = realloc(t->seq, (size_t)m);
            if (!seq) return DA_ERR_NOMEM;
            t->seq = seq;
            t->seq_m = m;
        }
        memcpy(t->seq + t->seq_n, ins, (size_t)len);
        t->seq_n += len;
    }
    da_indel_t *e = &t->ev[t->n];
    e->pos = pos;
    e->len = len;
    e->seq_off = off;
    e->count[0] = e->count[1] = 0;
    e->count[strand] = 1;
    t->slot[h] = t->n++;
    if (t->n * 2 > t->nslot) return grow_slots(t);
    return DA_OK;
}

/* Order of two events: (pos, len, inserted bases in the arena). */
static int cmp_event(const da_indel_t *x, const da_indel_t *y, const char *arena)
{
    if (x->pos != y->pos) return x->pos < y->pos ? -1 : 1;
    if (x->len != y->len) return x->len < y->len ? -1 : 1;
    if (x->len > 0) return memcmp(arena + x->seq_off, arena + y->seq_off, (size_t)x->len);
    return 0;
}

static void sift_down(da_indel_t *ev, int64_t n, int64_t i, const char *arena)
{
    da_indel_t it = ev[i];
    for (;;) {
        int64_t c = 2 * i + 1;
        if (c >= n) break;
        if (c + 1 < n && cmp_event(&ev[c + 1], &ev[c], arena) > 0) c++;
        if (cmp_event(&it, &ev[c], arena) >= 0) break;
        ev[i] = ev[c];
        i = c;
    }
    ev[i] = it;
}

void da_indel_sort(da_indel_table_t *t)
{
    /* Heapsort: in place, and the arena is an argument (C99's qsort has no
     * context pointer, and a file-scope one would be shared by concurrent
     * calls).  Events are distinct, so stability does not matter. */
    int64_t n = t->n;
    for (int64_t i = n / 2 - 1; i >= 0; i--) sift_down(t->ev, n, i, t->seq);
    for (int64_t end = n - 1; end > 0; end--) {
        da_indel_t top = t->ev[0];
        t->ev[0] = t->ev[end];
        t->ev[end] = top;
        sift_down(t->ev, end, 0, t->seq);
    }
    /* slots are stale after sorting: the table is read-only from here on */
    for (int64_t i = 0; i < t->nslot; i++) t->slot[i] = -1;
}
