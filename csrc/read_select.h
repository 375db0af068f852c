/* deepamp C core: which reads and which bases are used -- the counting rule
 * (README, "Counting rules"), in one place so that every pass over the reads
 * (the counting walk, phasing) selects alike.
 *
 * Reads, first matching reason: unmapped; secondary, supplementary, QC-fail,
 * duplicate (each only if its bit is in flag_exclude); MAPQ below min_mapq;
 * no sequence.  Bases: a base below min_bq is dropped (a '*' quality counts
 * as below any min_bq > 0); a deletion always passes.  Where two mates of a
 * fragment cover one position, both passing and agreeing gives that symbol
 * with the higher known quality, both passing and disagreeing masks the
 * position (discordant), one passing gives that one.  Last, a base that is
 * not the reference base (N included) is dropped below min_alt_bq unless its
 * quality is '*'.
 *
 * Header-only (static inline), no state. */
#ifndef DA_READ_SELECT_H
#define DA_READ_SELECT_H

#include <stdint.h>

#include <htslib/sam.h>

#include "counts.h"

/* Quality of every base of a read whose QUAL is '*'. */
#define DA_QUAL_MISSING 255

/* Why read b is not used: an enum da_read_stat reason (DA_READ_UNMAPPED ..
 * DA_READ_NO_SEQUENCE), or -1 when it is used. */
static inline int da_read_drop_reason(const bam1_t *b, uint32_t flag_exclude, int min_mapq)
{
    uint32_t f = b->core.flag & flag_exclude;
    if (b->core.flag & BAM_FUNMAP) return DA_READ_UNMAPPED;  /* nothing aligned to count */
    if (f & BAM_FSECONDARY) return DA_READ_SECONDARY;
    if (f & BAM_FSUPPLEMENTARY) return DA_READ_SUPPLEMENTARY;
    if (f & BAM_FQCFAIL) return DA_READ_QCFAIL;
    if (f & BAM_FDUP) return DA_READ_DUPLICATE;
    if (b->core.qual < min_mapq) return DA_READ_LOW_MAPQ;
    if (b->core.l_qseq == 0) return DA_READ_NO_SEQUENCE;
    return -1;
}

/* 1 when b's QUAL is '*': every base then has quality DA_QUAL_MISSING. */
static inline int da_read_qual_missing(const bam1_t *b)
{
    return b->core.l_qseq > 0 && bam_get_qual(b)[0] == 0xff;
}

/* Status of one read's observation of a position. */
enum { DA_OBS_PASS = 0, DA_OBS_LOW_BQ, DA_OBS_NO_QUAL };

/* Does an observation (a deletion, or a base of quality qual) pass min_bq? */
static inline int da_obs_status(int is_deletion, int qual, int min_bq)
{
    if (is_deletion) return DA_OBS_PASS;
    if (qual == DA_QUAL_MISSING) return min_bq > 0 ? DA_OBS_NO_QUAL : DA_OBS_PASS;
    return qual < min_bq ? DA_OBS_LOW_BQ : DA_OBS_PASS;
}

/* Quality of an agreeing base seen by both mates: the higher known one
 * (qx for deletions, whose quality means nothing). */
static inline int da_merged_qual(int is_deletion, int qx, int qy)
{
    if (!is_deletion && qy != DA_QUAL_MISSING && (qx == DA_QUAL_MISSING || qy > qx)) return qy;
    return qx;
}

/* Is a passing base (symbol sym, enum da_symbol; not a deletion) of quality
 * qual dropped by min_alt_bq at a position whose reference symbol is
 * ref_sym (0..3; 4 or more: unknown, no alt filter)? */
static inline int da_alt_base_dropped(int sym, int ref_sym, int qual, int min_alt_bq)
{
    return ref_sym < 4 && sym != ref_sym && qual != DA_QUAL_MISSING && qual < min_alt_bq;
}

/* Outcome of da_cigar_check. */
enum { DA_CIGAR_OK = 0, DA_CIGAR_BAD_OP, DA_CIGAR_LONGER, DA_CIGAR_LENGTH };

/* Is b's CIGAR one the counting walk can use?  DA_CIGAR_BAD_OP: an
 * operation that is none of M I D N S H P = X (*bad_op); DA_CIGAR_LONGER:
 * M/=/X/I reach past the sequence; DA_CIGAR_LENGTH: the query operations
 * cover *qlen bases, not l_qseq. */
static inline int da_cigar_check(const bam1_t *b, int *bad_op, int64_t *qlen)
{
    const uint32_t *cigar = bam_get_cigar(b);
    int64_t q = 0;
    for (uint32_t i = 0; i < b->core.n_cigar; i++) {
        int op = bam_cigar_op(cigar[i]);
        int64_t len = bam_cigar_oplen(cigar[i]);
        if (op > BAM_CDIFF) {
            *bad_op = op;
            return DA_CIGAR_BAD_OP;
        }
        if (op == BAM_CSOFT_CLIP) {
            q += len;
        } else if (bam_cigar_type(op) & 1) {
            if (q + len > b->core.l_qseq) return DA_CIGAR_LONGER;
            q += len;
        }
    }
    *qlen = q;
    return q == b->core.l_qseq ? DA_CIGAR_OK : DA_CIGAR_LENGTH;
}

#endif
