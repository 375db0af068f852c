/* libFuzzer harness for the deepamp C core (the csrc C files).
 *
 * Input layout:
 *   byte 0        option bits: 1 merge mates (else reads alone, a CIGAR P shifting the
 *                 query as pysam's count_coverage reads it), 2 pass reference bases, 4 two threads,
 *                 8 quality histogram, 16 min_bq 0 (else 13), 32 keep every flag,
 *                 64 mate budget of 1 byte (every waiting mate goes through a spill file),
 *                 128 the region cut into three (the record stream reads on between them)
 *   bytes 1..\n   a region string ("chr1:100-900", "chr1", "{chr1}:5", ...) parsed
 *                 against the header with sam_parse_region, at most 127 bytes;
 *                 with a leading '@' the region is phased instead of counted
 *                 (csrc/phase.c): sites every 3 + (option bits 1|2|4) * 5 bases
 *                 of the region (at most 48, REF/ALT from a fixed pattern), every
 *                 pair of them; option 16 min_bq 0, 32 every flag kept, 64 the
 *                 allele-pattern table flushed after each pattern, 128 a second
 *                 allele at every third site's position
 *   the rest      a BAM file: if it starts with the gzip magic it is written as
 *                 is (BGZF-level fuzzing); otherwise it is taken as the
 *                 *uncompressed* BAM stream and BGZF-compressed here, so that
 *                 mutations reach the header and record decoding instead of
 *                 dying on a CRC check.
 *
 * The bytes go to a temporary file, are indexed with sam_index_build (files
 * that htslib cannot index are skipped), and the region is counted with
 * da_pileup, which opens its own readers (da_reader_open), decodes every
 * chunk's records (stream.c) and feeds them to the chunk's walk (walk.c,
 * mates.c), which adds indel events to its table (indel_table.c).  Any
 * return code is fine; memory errors, UB, leaks and crashes are what the
 * sanitizers report. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <htslib/bgzf.h>
#include <htslib/hts.h>
#include <htslib/sam.h>

#include "phase.h"
#include "pileup.h"

#define MAX_REGION_LEN 200000

static char bam_path[64], bai_path[80];

static int write_input(const uint8_t *data, size_t size)
{
    if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
        FILE *f = fopen(bam_path, "wb");
        if (!f) return -1;
        size_t n = fwrite(data, 1, size, f);
        fclose(f);
        return n == size ? 0 : -1;
    }
    BGZF *z = bgzf_open(bam_path, "w");
    if (!z) return -1;
    int bad = size && bgzf_write(z, data, size) != (ssize_t)size;
    if (bgzf_close(z) != 0) bad = 1;
    return bad ? -1 : 0;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* htslib's bam_hdr_read allocates l_text, n_ref pointers and each l_name as
 * the header says, before reading them, and bam_read1 reallocs a record's
 * block_size: a header claiming 2^31 contigs makes it calloc 16 GB, which
 * libFuzzer reports as an out-of-memory in htslib, not in deepamp.  Skip
 * inputs whose decompressed stream (its first 2 MB) declares sizes larger
 * than the bytes that follow (each contig needs at least 9). */
static int header_sizes_sane(void)
{
    enum { CAP = 1 << 21 };
    static uint8_t buf[CAP];
    BGZF *z = bgzf_open(bam_path, "r");
    if (!z) return 1;                       /* htslib rejects it before allocating */
    ssize_t n = bgzf_read(z, buf, CAP);
    bgzf_close(z);
    if (n < 8 || memcmp(buf, "BAM\1", 4) != 0) return 1;   /* htslib fails before allocating */
    size_t len = (size_t)n, off = 4;
    uint32_t l_text = le32(buf + off);
    if (l_text > len - 8) return 0;
    off += 4 + l_text;
    if (off + 4 > len) return 1;
    uint32_t n_ref = le32(buf + off);
    off += 4;
    if (n_ref > (len - off) / 9) return 0;
    for (uint32_t i = 0; i < n_ref; i++) {
        if (off + 4 > len) return 1;
        uint32_t l_name = le32(buf + off);
        if (l_name > len - off - 4) return 0;
        off += 4 + (size_t)l_name + 4;
    }
    /* bam_read1 likewise reallocs each record's block_size before reading it */
    while (off + 4 <= len) {
        uint32_t block_size = le32(buf + off);
        if (block_size > len - off - 4) return n == CAP;   /* unknown beyond the cap */
        off += 4 + (size_t)block_size;
    }
    return 1;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    snprintf(bam_path, sizeof bam_path, "/tmp/deepamp-fuzz-%ld.bam", (long)getpid());
    snprintf(bai_path, sizeof bai_path, "%s.bai", bam_path);
    hts_set_log_level(HTS_LOG_OFF);
    return 0;
}

/* Phase the region [beg, end) of tid (the '@' inputs). */
static void fuzz_phase(unsigned opts, int32_t tid, int64_t beg, int64_t end)
{
    enum { MAX_SITES = 48 };
    static const char bases[] = "ACGT";
    da_phase_site_t sites[MAX_SITES];
    int64_t step = 3 + (int64_t)(opts & 7) * 5, n = 0;
    for (int64_t p = beg; p < end && n < MAX_SITES; p += step) {
        int r = (int)((p * 7 + (p >> 3)) & 3);
        sites[n++] = (da_phase_site_t){tid, p, bases[r], bases[(r + 1 + (p & 1)) & 3]};
        if ((opts & 128) && n % 3 == 0 && n < MAX_SITES)
            sites[n++] = (da_phase_site_t){tid, p, bases[r], bases[(r + 3) & 3]};
    }
    int64_t npairs = n * (n - 1) / 2, k = 0;
    int64_t *pa = malloc(sizeof *pa * (size_t)(npairs ? npairs : 1));
    int64_t *pb = malloc(sizeof *pb * (size_t)(npairs ? npairs : 1));
    uint64_t *counts = malloc(sizeof *counts * (size_t)(npairs ? npairs : 1) * DA_PH_NALLELE * DA_PH_NALLELE);
    uint64_t *reads = malloc(sizeof *reads * (size_t)(n ? n : 1) * DA_PH_NREAD);
    uint64_t *frags = malloc(sizeof *frags * (size_t)(n ? n : 1) * DA_PH_SITE_NSTATS);
    int64_t *reach = malloc(sizeof *reach * (size_t)(n ? n : 1));
    if (pa && pb && counts && reads && frags && reach) {
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = i + 1; j < n; j++, k++) {
                pa[k] = (k & 1) ? j : i;   /* both orientations */
                pb[k] = (k & 1) ? i : j;
            }
        da_phase_opts_t po = {
            .min_mapq = 0,
            .min_bq = (opts & 16) ? 0 : 13,
            .min_alt_bq = (opts & 16) ? 0 : 20,
            .flag_exclude = (opts & 32) ? 0 : 0xf04,
            .max_patterns = (opts & 64) ? 1 : 0,
        };
        da_phase_out_t out = {.counts = counts, .site_reads = reads, .site_frags = frags, .site_reach = reach};
        da_error_t err;
        memset(&err, 0, sizeof err);
        if (da_phase_count(bam_path, NULL, sites, n, pa, pb, npairs, &po, &out, &err) == DA_OK) {
            /* a pair's table never holds more fragments than its sites saw */
            for (int64_t i = 0; i < npairs; i++) {
                uint64_t t = 0;
                for (int c = 0; c < DA_PH_NALLELE * DA_PH_NALLELE; c++) t += counts[i * 16 + c];
                if (t > out.totals[DA_PH_TOTAL_FRAGMENTS]) abort();
            }
        } else if (err.msg[0] == '\0' || strchr(err.msg, '\n') || !strstr(err.msg, bam_path)) {
            abort();  /* every failure must carry a one-line message naming the file */
        }
    }
    free(pa);
    free(pb);
    free(counts);
    free(reads);
    free(frags);
    free(reach);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    unsigned opts = data[0];
    const uint8_t *nl = memchr(data + 1, '\n', size - 1 < 128 ? size - 1 : 128);
    if (!nl) return 0;
    char region[129];
    size_t rlen = (size_t)(nl - (data + 1));
    memcpy(region, data + 1, rlen);
    region[rlen] = '\0';
    const uint8_t *bam = nl + 1;
    size_t bam_size = size - (size_t)(bam - data);
    int phase = region[0] == '@';

    unlink(bai_path);
    if (write_input(bam, bam_size) != 0) return 0;
    if (!header_sizes_sane()) return 0;
    if (sam_index_build(bam_path, 0) != 0) return 0;

    /* Resolve the region against the header (the Python layer does the same
     * with its own parser; here htslib's keeps the harness small). */
    samFile *fp = sam_open(bam_path, "r");
    if (!fp) return 0;
    sam_hdr_t *hdr = sam_hdr_read(fp);
    int32_t tid = -1;
    hts_pos_t beg = 0, end = 0;
    if (hdr && sam_parse_region(hdr, region + phase, &tid, &beg, &end, 0) && tid >= 0) {
        hts_pos_t len = sam_hdr_tid2len(hdr, tid);
        if (end > len) end = len;
    } else {
        tid = -1;
    }
    if (hdr) sam_hdr_destroy(hdr);
    sam_close(fp);
    if (tid < 0 || beg < 0 || end <= beg || end - beg > MAX_REGION_LEN) return 0;
    if (phase) {
        fuzz_phase(opts, tid, beg, end);
        return 0;
    }

    /* Option 128 cuts the region into three with one-base gaps, so that the
     * record stream reads on from one region to the next (csrc/stream.c). */
    int nreg = (opts & 128) && end - beg >= 8 ? 3 : 1;
    int32_t tids[3] = {tid, tid, tid};
    int64_t begs[3], ends[3], n = 0;
    for (int k = 0; k < nreg; k++) {
        begs[k] = beg + (end - beg) * k / nreg + (k > 0);
        ends[k] = beg + (end - beg) * (k + 1) / nreg;
        n += ends[k] - begs[k];
    }
    char *ref = NULL;
    const char *refs[3] = {NULL, NULL, NULL};
    if (opts & 2) {
        ref = malloc((size_t)n);
        if (!ref) return 0;
        for (int64_t i = 0; i < n; i++)        /* mostly ACGT, some N and IUPAC */
            ref[i] = "ACGTACGTACGTNRYA"[(i * 7 + (i >> 3)) & 15];
        for (int k = 0, at = 0; k < nreg; at += (int)(ends[k] - begs[k]), k++) refs[k] = ref + at;
    }
    uint32_t *counts = calloc((size_t)n * DA_NSYM * 2, sizeof *counts);
    uint32_t *qh = (opts & 8) ? calloc((size_t)n * DA_NQUAL, sizeof *qh) : NULL;
    if (!counts || ((opts & 8) && !qh)) {
        free(counts);
        free(qh);
        free(ref);
        return 0;
    }
    da_job_t job = {
        .path = bam_path,
        .ref_path = NULL,
        .n_regions = nreg,
        .tid = tids,
        .beg = begs,
        .end = ends,
        .ref = refs,
        .params = {
            .min_mapq = 0,
            .min_bq = (opts & 16) ? 0 : 13,
            .min_alt_bq = (opts & 16) ? 0 : 20,
            .flag_exclude = (opts & 32) ? 0 : 0xf04,
            .merge_mates = (opts & 1) != 0,
            .mate_memory = (opts & 64) ? 1 : 0,  /* 1 byte: every waiting mate goes through a spill
                                                  * file and no record is kept between regions */
            .tmpdir = NULL,
            .pad_shifts_query = (opts & 1) == 0,  /* count_coverage's pysam reading of P */
        },
        .threads = (opts & 4) ? 2 : 1,
        .counts = counts,
        .qual_hist = qh,
    };
    da_result_t res;
    da_error_t err;
    memset(&res, 0, sizeof res);
    memset(&err, 0, sizeof err);
    if (da_pileup(&job, &res, &err) == DA_OK) {
        /* touch the results so the sanitizer checks their extent */
        uint64_t sum = 0;
        for (int64_t i = 0; i < res.n_indels; i++)
            sum += res.indel_count[2 * i] + (uint64_t)res.indel_len[i] +
                   (uint64_t)(res.indel_seq_off[i + 1] - res.indel_seq_off[i]);
        if (res.n_indels && res.indel_seq_off[res.n_indels] > 0)
            sum += (uint8_t)res.indel_seq[res.indel_seq_off[res.n_indels] - 1];
        (void)sum;
        da_result_free(&res);
    } else if (err.msg[0] == '\0' || strchr(err.msg, '\n')) {
        abort();  /* every failure must carry a one-line message */
    }
    free(counts);
    free(qh);
    free(ref);
    return 0;
}
