/* deepamp C core: open an indexed BAM/CRAM and iterate the records of a region. */
#ifndef DA_REGION_H
#define DA_REGION_H

#include <stdint.h>

#include <htslib/hts.h>
#include <htslib/sam.h>

#include "da_error.h"

typedef struct {
    htsFile *fp;
    sam_hdr_t *hdr;
    hts_idx_t *idx;
    const char *path;
    const char *ref_path;    /* CRAM: the reference FASTA, else NULL */
    uint64_t data_start;     /* virtual offset of the first record (BAM) */
} da_reader_t;

/* Open path (BAM or CRAM; CRAM needs ref_path), check the EOF marker, read
 * the header and load the index.  extra_threads > 0 adds htslib
 * decompression threads.  On failure everything opened is closed. */
int da_reader_open(da_reader_t *r, const char *path, const char *ref_path,
                   int extra_threads, da_error_t *err);
void da_reader_close(da_reader_t *r);

/* Does the index belong to this BAM?  An index of another file points at
 * other places, so for each of the contigs tids[0..n) the records the index
 * places first on it, and the ones after its last, must be where the file
 * has them: the first record of that contig, and the first record of the
 * next contig the index has records of (or unplaced reads, or the end).  A
 * contig the index has no records of must have none in the file either.
 * DA_OK or DA_ERR_INDEX (err says where they disagree); CRAM: DA_OK.  Moves
 * the read position (seek before reading on). */
int da_reader_check_index(da_reader_t *r, const int32_t *tids, int n, da_error_t *err);

/* Iterator over records overlapping [beg, end) of contig tid. */
hts_itr_t *da_reader_query(da_reader_t *r, int tid, int64_t beg, int64_t end, da_error_t *err);

/* Next record: 1 when b holds a record, 0 at the end, < 0 error code.  CRAM
 * data that cannot be decoded is reported with its reason where the
 * reference shows it (no such sequence, another length or MD5). */
int da_reader_next(da_reader_t *r, hts_itr_t *itr, bam1_t *b, da_error_t *err);

/* Sequential access to a BAM (not CRAM). */
int da_reader_is_bam(const da_reader_t *r);
/* Where the index places the records overlapping [beg, end) of tid: they
 * all lie in [*first, *last) (virtual offsets).  1 with both set, 0 when the
 * index has no record there, < 0 error code. */
int da_reader_offsets(da_reader_t *r, int tid, int64_t beg, int64_t end, uint64_t *first,
                      uint64_t *last, da_error_t *err);
int da_reader_seek(da_reader_t *r, uint64_t off, da_error_t *err);
/* Virtual offset of the next record. */
uint64_t da_reader_tell(const da_reader_t *r);
/* The record at the current offset: 1, 0 at the end of the file, < 0 error code. */
int da_reader_read(da_reader_t *r, bam1_t *b, da_error_t *err);

#endif
