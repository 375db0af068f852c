/* deepamp C core: count tensor layout and the read / base drop reasons.
 *
 * Per reference position p (flattened over all regions):
 *   counts[(p * DA_NSYM + sym) * 2 + strand]   uint32
 *   qual_hist[p * DA_NQUAL + q]                uint32 (optional)
 * sym: A C G T N, DEL (position deleted in the read), INS (an insertion
 * follows this position); strand 0 = forward, 1 = reverse.
 * qual_hist counts the A/C/G/T bases that were counted, by Phred quality
 * (clipped at DA_NQUAL - 1), pooled over symbols and strands.             */
#ifndef DA_COUNTS_H
#define DA_COUNTS_H

#include <stdint.h>

enum da_symbol { DA_SYM_A, DA_SYM_C, DA_SYM_G, DA_SYM_T, DA_SYM_N, DA_SYM_DEL, DA_SYM_INS, DA_NSYM };
#define DA_NQUAL 64

/* Why a read was not used (each read counted once, in the first matching reason). */
enum da_read_stat {
    DA_READ_SEEN,           /* records returned by the index for the regions */
    DA_READ_USED,           /* reads whose bases were counted */
    DA_READ_UNMAPPED,
    DA_READ_SECONDARY,
    DA_READ_SUPPLEMENTARY,
    DA_READ_QCFAIL,
    DA_READ_DUPLICATE,
    DA_READ_LOW_MAPQ,
    DA_READ_NO_SEQUENCE,    /* SEQ is '*' */
    DA_READ_MATES_MERGED,   /* used reads whose overlap with their mate was merged */
    DA_READ_AMBIGUOUS_MATES,/* used reads that met copies when paired: more than one of their
                             * mates (same name, flags and positions) came before them, or the
                             * only one was taken by a copy of them (walk.c, mates.h) */
    DA_N_READ_STATS
};

/* What happened to aligned query bases inside the regions. */
enum da_base_stat {
    DA_BASE_COUNTED,            /* A/C/G/T/N bases added to counts */
    DA_BASE_LOW_BQ,             /* below the minimum base quality */
    DA_BASE_LOW_ALT_BQ,         /* non-reference base below the minimum alt quality */
    DA_BASE_NO_QUAL,            /* QUAL is '*' and a minimum base quality is set */
    DA_BASE_OVERLAP_MERGED,     /* second copy of an agreeing mate-overlap base */
    DA_BASE_OVERLAP_DISCORDANT, /* both copies where overlapping mates disagree */
    DA_BASE_SOFT_CLIPPED,       /* soft-clipped (and unanchored inserted) bases of used reads */
    DA_INDEL_OVERLAP_DISCORDANT,/* indel events masked because the mates disagree */
    DA_N_BASE_STATS
};

#endif
