/* deepamp C core: the records of one reader's consecutive windows.
 *
 * An index query starts at the first block of its window's 16 kb BAI bin,
 * so windows that share a bin (amplicons a few hundred bases apart) would
 * decode the same records again for every window: n(n+1)/2 amplicons' worth
 * for n amplicons in one bin.  A stream reads a BAM sequentially instead.
 * For the next window on the same contig it goes on from where it stopped
 * whenever the index places the window's first record between the point
 * where this sequential read began and that stop; records of earlier
 * windows that reach into the next one are kept (within a byte budget) and
 * delivered first.  Otherwise it seeks to the index offset.
 *
 * Either way a window yields exactly the records an index query returns
 * (those overlapping it, by bam_endpos), in file order, and every record
 * read is checked for coordinate order.  CRAM goes through htslib's
 * iterator.
 *
 * With context on (mates are merged), a window also yields, in file order
 * among the others, the records that start in [S, beg) and end before beg,
 * where S is the earliest start of the pairs that began before beg and
 * reach into the window (both mates start before beg): which of several
 * reads of one name pair with which is decided first in, first out among
 * all reads of that name and positions (mates.h), also those that do not
 * reach the window.  The records before beg are read first (those reaching
 * into the window are kept, within the budget); only when such a pair is
 * found (or the budget is exceeded) does the window read again from the
 * index offset of S. */
#ifndef DA_STREAM_H
#define DA_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include <htslib/sam.h>

#include "da_error.h"
#include "region.h"

typedef struct {
    bam1_t **rec;
    int n, m;
    size_t bytes;
} da_carry_t;

typedef struct {
    da_reader_t *r;
    int context;             /* 1: yield the context records described above */
    size_t carry_budget;     /* bytes of kept records; beyond them (reads crossing a chunk
                              * boundary at extreme depth) nothing is kept and the next
                              * window seeks, so memory stays independent of depth.
                              * 0: no limit */
    /* the current window */
    int tid;                 /* -1: none yet (the next window seeks) */
    int64_t beg, end, keep_from;
    int64_t context_from;    /* records ending by beg are yielded if they start here or later */
    hts_itr_t *itr;          /* CRAM: htslib's iterator over the window */
    /* sequential reading (BAM) */
    int64_t last_tid, last_pos;  /* of the last record read, for the order check */
    uint64_t scan_from;      /* virtual offset where this sequential read began */
    int ahead;               /* 1: `look` holds the next record (the one that ended the last
                              * window, or the first at or after beg), 2: the file (CRAM: the
                              * iterator) ended there, 0: neither (BAM: seek next) */
    uint64_t look_off;       /* virtual offset of that record (or of the end) */
    bam1_t *look;
    da_carry_t in;           /* kept by earlier windows, delivered first */
    int in_next;
    da_carry_t out;          /* kept by this window for later ones */
    int carry_full;          /* out went over budget: the next window seeks */
} da_stream_t;

/* Attach a stream to an open reader (context: see above).  Returns DA_OK or DA_ERR_NOMEM. */
int da_stream_init(da_stream_t *s, da_reader_t *r, size_t carry_budget, int context);
void da_stream_free(da_stream_t *s);

/* Start window [beg, end) of contig tid (after the previous window on that
 * contig, if any).  Records reaching past keep_from (INT64_MAX: none) are
 * kept for later windows.  Returns DA_OK or an error code (err filled). */
int da_stream_window(da_stream_t *s, int tid, int64_t beg, int64_t end, int64_t keep_from,
                     da_error_t *err);

/* Next record of the window into b: 1 when b holds one, 0 at the end of the
 * window, < 0 error code.  After an error the next window seeks.  A context
 * record is one that ends at or before the window's beg. */
int da_stream_next(da_stream_t *s, bam1_t *b, da_error_t *err);

#endif
