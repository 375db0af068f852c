/* deepamp C core: first mates waiting for their overlapping mate.
 *
 * In coordinate order all first mates of an amplicon come before any second
 * mate, so merging mates in one pass has to hold them.  This table holds them
 * in memory up to a byte budget.  Beyond it, whole partitions of read names
 * (by hash) move to an unlinked temporary file, and every later record of a
 * moved partition goes there too (a hybrid hash join).  The caller replays
 * each file afterwards through a fresh table one level down.  Each file is
 * in arrival order: first the reads that were in the table (waiting or taken,
 * marked DA_WAIT_MOVED, put back as they were), then the later ones, which
 * arrive in the replay as they would have in memory; so the replay pairs
 * exactly the mates the in-memory pass would have paired, first in, first
 * out, whatever the budget.  Counts are sums, so the order in which fragments
 * are counted never changes a result.  Memory stays within the budget at any
 * depth; the disk holds the rest.
 *
 * Which reads are mates (da_mate_match_t) is decided over the whole file,
 * never by the table's layout: a read takes the earliest waiting read that is
 * its mate, and a taken read stays (without its bases) until its mate
 * position is passed, so later copies of the same name see that its slot was
 * filled. */
#ifndef DA_MATES_H
#define DA_MATES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <htslib/sam.h>

#include "da_error.h"

#define DA_MATE_PARTS 16      /* partitions per level */
#define DA_MATE_LEVELS 3      /* levels 0..2; the last never spills */

/* A waiting read, in one allocation: the core fields counting uses, then its
 * name and CIGAR as in BAM, then either one byte per base (symbol + 5 x
 * quality, symbols 0..4 = A C G T N, any other IUPAC code as N, quality <=
 * 50), or, for a read with an insertion (whose bases are reported) or a
 * quality above 50 (or missing), its BAM sequence and qualities.  No aux fields: counting never reads them.  The packed form is
 * a third smaller than BAM's, so a 25,000-pair amplicon fits the default
 * budget. */
typedef struct {
    int64_t pos, mpos;
    int32_t tid, l_qseq;
    uint32_t n_cigar;
    uint32_t seq;      /* arrival number in the walk (mod 2^32): first in, first out */
    uint16_t flag, l_qname;
    uint8_t l_extranul, qual;
    uint8_t packed;    /* 1: one byte per base */
    uint8_t state;     /* DA_WAIT_TAKEN, DA_WAIT_MOVED */
    uint8_t data[];
} da_wait_t;

/* A taken read stays in the table until its mate position is passed, so
 * that later reads of its name see that its mate slot was filled. */
#define DA_WAIT_TAKEN 1
/* In a spill file: a read that was in the table (waiting or taken) when its
 * partition moved to disk; the replay puts it back as it was.  Records
 * without it reached the file on arrival and are processed in the replay. */
#define DA_WAIT_MOVED 2

/* Symbol (0..4 = A C G T N) of a BAM base code: every code but A, C, G and
 * T counts as N.  Arithmetic rather than a table, so loops over bases
 * vectorise. */
static inline uint8_t da_nt16_sym(uint8_t c)
{
    return (uint8_t)(4 - 4 * (c == 1) - 3 * (c == 2) - 2 * (c == 4) - (c == 8));
}

/* Symbol and quality of a packed base. */
static inline uint8_t da_packed_sym(uint8_t v) { return (uint8_t)(v % 5); }
static inline uint8_t da_packed_qual(uint8_t v) { return (uint8_t)(v / 5); }

typedef struct {
    da_wait_t *w;
    uint64_t hash;     /* of the name (rehashing without touching the record) */
    uint32_t gen;      /* bumped when the entry is freed (invalidates heap items) */
} da_pend_t;

typedef struct {
    uint32_t tag;      /* 32 bits of the name's hash: most mismatches never touch the record */
    int32_t idx;       /* >= 0 pool index, or empty / deleted */
} da_slot_t;

typedef struct {
    int64_t mpos;      /* where the mate starts */
    int32_t idx;
    uint32_t gen;
} da_heap_item_t;

typedef struct {
    size_t budget;           /* bytes of waiting mates kept in memory; 0: no limit */
    int level;               /* which hash bits choose the partition */
    const char *tmpdir;      /* where spill files are created */
    size_t bytes;            /* bytes of the records held now (the tables are counted
                              * at their allocated sizes on top) */
    size_t part_bytes[DA_MATE_PARTS];
    FILE *spill[DA_MATE_PARTS];  /* non-NULL: the partition lives in this file */
    uint64_t spilled;        /* records written to spill files */
    da_pend_t *pool;
    int64_t npool, mpool;
    int32_t *free_idx;
    int64_t nfree, mfree;
    da_slot_t *slot;         /* open addressing on the name hash */
    int64_t nslot, nused;    /* nused counts live + deleted slots */
    da_heap_item_t *heap;    /* min-heap on mpos: who should have met a mate by now */
    int64_t nheap, mheap;
    bam1_t view;             /* the entry last returned by da_mates_record */
    da_wait_t *scratch;      /* packing buffer for records written straight to disk */
    size_t scratch_cap;
} da_mates_t;

/* A reusable record for reading spill files back: b and packed as
 * da_mates_record gives them. */
typedef struct {
    bam1_t b;
    const uint8_t *packed;
    da_wait_t *raw;
    size_t raw_cap;
} da_mate_buf_t;

/* Hash of a read name; mates share it. */
uint64_t da_name_hash(const char *qname);

int da_mates_init(da_mates_t *m, size_t budget, int level, const char *tmpdir);
/* Free everything, closing (and so deleting) the spill files. */
void da_mates_free(da_mates_t *m);
/* Free the in-memory table once it is empty; the spill files stay. */
void da_mates_release_memory(da_mates_t *m);

/* The spill file of the partition of hash h, or NULL while it is in memory. */
static inline FILE *da_mates_spill_of(const da_mates_t *m, uint64_t h)
{
    return m->spill[(h >> (60 - 4 * m->level)) & (DA_MATE_PARTS - 1)];
}

static inline const void *da_mates_slot_of(const da_mates_t *m, uint64_t h)
{
    return &m->slot[h & (uint64_t)(m->nslot - 1)];
}

/* Queue b (name hash h, arrival number seq, state 0 or DA_WAIT_TAKEN;
 * packed: its bases as da_mates_record gives them, or NULL) until its mate
 * arrives; may move partitions to disk. */
int da_mates_add(da_mates_t *m, const bam1_t *b, const uint8_t *packed, uint64_t h, uint32_t seq,
                 int state, da_error_t *err);
/* Append b (packed as for da_mates_add; state as stored) to a spill file. */
int da_mates_write(da_mates_t *m, FILE *fp, const bam1_t *b, const uint8_t *packed, uint32_t seq,
                   int state, da_error_t *err);

/* Reads are mates when they have the same name, one is read 1 and the other
 * read 2 (or both neither / both), both are primary, mapped and on the same
 * contig as their mate, each one's mate position is the other's position
 * and each one's mate-reverse flag the other's reverse flag.  Copies are
 * reads with the same name, contig, position, mate position and read-1/2
 * and strand flags. */
typedef struct {
    int64_t take;        /* pool index of the earliest waiting mate of b, now taken; -1: none */
    int mates_waiting;   /* mates of b waiting (before the take) */
    int mates_taken;     /* mates of b already taken */
    int copies_taken;    /* copies of b (waiting for b's key, as b) already taken */
} da_mate_match_t;

/* Look at the reads named as b (hash h) and take the earliest waiting mate
 * of b: it stays, taken, until its mate position is passed. */
void da_mates_match(da_mates_t *m, const bam1_t *b, uint64_t h, da_mate_match_t *out);
/* The pair of taken entry idx has been counted: keep only what later reads of
 * its name are compared by (its bases and CIGAR are freed). */
void da_mates_counted(da_mates_t *m, int64_t idx);
/* The next waiting read whose mate should have started before pos, unlinked:
 * its pool index, -1 none, or DA_ERR_NOMEM.  Taken reads are freed on the way. */
int64_t da_mates_expired(da_mates_t *m, int64_t before);
/* A taken or expired entry as a record whose core, name and CIGAR are those
 * of the read, valid until the next call or da_mates_release.  *packed: its
 * bases one byte each, or NULL when the record holds BAM sequence and
 * qualities.  With *packed set the record has no BAM sequence: read the
 * bases from *packed (such a read has no insertion). */
const bam1_t *da_mates_record(da_mates_t *m, int64_t idx, const uint8_t **packed);
/* Free a taken or expired entry. */
int da_mates_release(da_mates_t *m, int64_t idx);

/* Read the next record of a spill file into buf (as da_mates_record gives
 * it, with its seq and state in buf->raw): 1, 0 at the end, or an error code. */
int da_mates_read(da_mates_t *m, FILE *fp, da_mate_buf_t *buf, da_error_t *err);
void da_mate_buf_free(da_mate_buf_t *buf);

#endif
