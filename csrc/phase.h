/* deepamp C core: fragment-level co-occurrence of two SNV sites (phasing).
 *
 * For each pair of sites (same contig), every fragment (a read pair counts
 * once; mates are joined by query name) overlapping either site is given an
 * allele at each site -- REF, ALT, OTHER (another base or a deletion) or NONE
 * (not covered, base below min_bq, base N, reference skip, or the two mates
 * show different passing alleles) -- and the 4x4 table of (allele at A,
 * allele at B) is counted.  NONE/NONE fragments are not counted.
 * Unmapped, secondary and supplementary records are always skipped (they
 * would count a fragment twice); flag_exclude adds further flags. */
#ifndef DA_PHASE_H
#define DA_PHASE_H

#include <stdint.h>

#include "da_error.h"

enum { DA_PH_REF = 0, DA_PH_ALT = 1, DA_PH_OTHER = 2, DA_PH_NONE = 3, DA_PH_NALLELE = 4 };

/* Per-pair read statistics (index into da_phase_result_t.stats). */
enum {
    DA_PH_READS_SEEN = 0,      /* records returned by the index query */
    DA_PH_READS_USED,          /* passing flags/MAPQ and with a sequence */
    DA_PH_FRAGMENTS,           /* fragments counted (allele at one site or both) */
    DA_PH_MATES_JOINED,        /* fragments built from two mates */
    DA_PH_DISCORDANT,          /* fragment-sites where the mates disagreed (-> NONE) */
    DA_PH_NSTATS
};

typedef struct {
    int32_t tid;
    int64_t pos0;   /* 0-based reference position */
    char ref;       /* A/C/G/T (upper case) */
    char alt;       /* A/C/G/T, != ref */
} da_phase_site_t;

typedef struct {
    int min_mapq;
    int min_bq;
    uint32_t flag_exclude;
} da_phase_opts_t;

typedef struct {
    uint64_t counts[DA_PH_NALLELE][DA_PH_NALLELE];  /* [allele at a][allele at b] */
    uint64_t stats[DA_PH_NSTATS];
} da_phase_result_t;

/* Count fragments for npairs pairs (a[i], b[i]) of sites on the same contig
 * in the indexed BAM/CRAM at path (ref_path for CRAM, may be NULL).
 * res must hold npairs zero-initialised or not results (they are cleared).
 * Returns DA_OK or a DA_ERR_* code with err filled. */
int da_phase_count(const char *path, const char *ref_path,
                   const da_phase_site_t *a, const da_phase_site_t *b, int64_t npairs,
                   const da_phase_opts_t *opts, da_phase_result_t *res, da_error_t *err);

#endif
