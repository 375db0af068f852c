/* deepamp C core: the alleles fragments carry at a set of SNV sites, and the
 * fragment table of every requested pair of sites (phasing).
 *
 * One pass over the reads: the sites that belong to a pair are sorted and
 * merged into windows (sites less than DA_PH_WINDOW_GAP apart share one),
 * and each window's records are read once, in file order, by the record
 * stream (stream.h: windows sharing BAM blocks are read on, not queried
 * again).  A record overlapping two windows is used in the first only.
 *
 * Reads and bases are selected by the counting rule (read_select.h).  Every
 * used read gets an observation (base and quality, or a deletion) at each
 * site its alignment covers; its mate, joined by query name (the READ1/READ2
 * partner whose position is the read's mate position), waits in a table
 * while it is still to come and leaves it when it arrives or can no longer
 * arrive (the reads have passed its position), so memory does not grow with
 * depth beyond the mates being paired.  Secondary and supplementary
 * alignments (when flag_exclude admits them) are fragments of their own.
 * A fragment then has one outcome at each site it covers (enum below; mates
 * merged as the counting walk merges them) and an allele: REF, ALT, OTHER
 * (another base or a deletion) or NONE (N, discordant mates, or every base
 * dropped by quality).  A pair's 4x4 table counts the fragments by (allele
 * at a, allele at b) over the fragments with an allele other than NONE at a
 * or b; NONE/NONE stays 0.  The result is what querying the pair's span
 * alone would give.  Fragments with the same alleles at the same sites (in
 * amplicons, most fragments repeat a few patterns) are counted into the
 * pair tables once per distinct pattern, from a table of bounded size. */
#ifndef DA_PHASE_H
#define DA_PHASE_H

#include <stdint.h>

#include "counts.h"
#include "da_error.h"

enum { DA_PH_REF = 0, DA_PH_ALT = 1, DA_PH_OTHER = 2, DA_PH_NONE = 3, DA_PH_NALLELE = 4 };

/* What a fragment shows at a site it covers: exactly one of the first
 * DA_PH_NOUTCOME per fragment and site (index into site_frags). */
enum {
    DA_PH_OUT_REF = 0,
    DA_PH_OUT_ALT,
    DA_PH_OUT_OTHER_BASE,      /* an A/C/G/T that is neither REF nor ALT */
    DA_PH_OUT_DELETION,
    DA_PH_OUT_N,               /* an N (or IUPAC code) base */
    DA_PH_OUT_DISCORDANT,      /* both mates passed and disagree */
    DA_PH_OUT_LOW_BQ,          /* every covering base below min_bq */
    DA_PH_OUT_LOW_ALT_BQ,      /* the (merged) non-reference base below min_alt_bq */
    DA_PH_OUT_NO_QUAL,         /* every covering base has QUAL '*' and min_bq > 0 */
    DA_PH_NOUTCOME,
    DA_PH_SITE_BOTH_MATES = DA_PH_NOUTCOME,   /* not an outcome: fragments whose two
                                               * mates both covered the site */
    DA_PH_SITE_NSTATS
};

/* Reads overlapping a site (index into site_reads): DA_READ_SEEN,
 * DA_READ_USED and the drop reasons up to DA_READ_NO_SEQUENCE (counts.h). */
#define DA_PH_NREAD DA_READ_MATES_MERGED

/* Totals of the pass: every record once (DA_READ_SEEN .. DA_READ_NO_SEQUENCE), then: */
enum {
    DA_PH_TOTAL_FRAGMENTS = DA_PH_NREAD,   /* fragments with an outcome at a site */
    DA_PH_TOTAL_MATES_JOINED,              /* of them, made of two mates */
    DA_PH_NTOTAL
};

/* Sites less than this many bases apart are read as one window. */
#define DA_PH_WINDOW_GAP 1000

typedef struct {
    int32_t tid;
    int64_t pos0;   /* 0-based reference position */
    char ref;       /* A/C/G/T (upper case) */
    char alt;       /* A/C/G/T, != ref */
} da_phase_site_t;

typedef struct {
    int min_mapq;           /* reads with MAPQ below are dropped */
    int min_bq;             /* bases with quality below are dropped */
    int min_alt_bq;         /* non-reference bases below are dropped */
    uint32_t flag_exclude;  /* reads with any of these flag bits are dropped */
    int max_patterns;       /* distinct fragment allele patterns held before they are added
                             * to the pair tables (0 or above the default: the default,
                             * 32768); results are identical for any value */
} da_phase_opts_t;

/* Caller-owned outputs, overwritten (zeroed first). */
typedef struct {
    uint64_t *counts;       /* npairs x 4 x 4: [pair][allele at a][allele at b] */
    uint64_t *site_reads;   /* nsites x DA_PH_NREAD: reads overlapping the site */
    uint64_t *site_frags;   /* nsites x DA_PH_SITE_NSTATS: fragments by outcome */
    int64_t *site_reach;    /* nsites: longest fragment (first to last reference base of
                             * the mates it was built from) with an outcome at the site */
    uint64_t totals[DA_PH_NTOTAL];
} da_phase_out_t;

/* Tables of npairs pairs (sites[pair_a[i]], sites[pair_b[i]]), two different
 * sites on one contig, from the indexed BAM/CRAM at path (ref_path for CRAM,
 * may be NULL).  Sites in no pair are not read (their outputs stay 0).
 * Returns DA_OK or a DA_ERR_* code with a one-line message naming the file. */
int da_phase_count(const char *path, const char *ref_path, const da_phase_site_t *sites, int64_t nsites,
                   const int64_t *pair_a, const int64_t *pair_b, int64_t npairs,
                   const da_phase_opts_t *opts, da_phase_out_t *out, da_error_t *err);

#endif
