/* deepamp C core: the distinct indel events of one chunk, with their counts
 * per strand (an open-addressing hash table over an array of events, the
 * inserted bases in one arena), sorted once counting is done. */
#ifndef DA_INDEL_TABLE_H
#define DA_INDEL_TABLE_H

#include <stdint.h>

/* One distinct indel event: at anchor position pos (the reference base
 * before the event), len > 0 inserted bases (sequence in the arena) or
 * len < 0 deleted bases. */
typedef struct {
    int64_t pos;
    int32_t len;
    uint32_t seq_off;       /* offset of the inserted bases in the arena */
    uint32_t count[2];      /* forward, reverse */
} da_indel_t;

typedef struct {
    da_indel_t *ev;
    int64_t n, m;
    int64_t *slot;          /* open addressing: index into ev, -1 empty */
    int64_t nslot;
    char *seq;              /* arena of inserted bases */
    int64_t seq_n, seq_m;
} da_indel_table_t;

int da_indel_table_init(da_indel_table_t *t);
void da_indel_table_free(da_indel_table_t *t);
/* Add one observation; returns 0 or DA_ERR_NOMEM. */
int da_indel_add(da_indel_table_t *t, int64_t pos, int32_t len, const char *ins, int strand);
/* Sort events by (pos, len, sequence) so output is independent of read order.
 * Touches only t: tables of different calls may be sorted concurrently. */
void da_indel_sort(da_indel_table_t *t);

#endif
