#include "pileup.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    da_chunk_t chunk;
    da_chunk_result_t res;
    da_error_t err;
    int done;
} chunk_slot_t;

/* The chunks a worker has still to take, in position order: [next, end). */
typedef struct {
    int64_t next, end;
} run_t;

typedef struct {
    const da_job_t *job;
    chunk_slot_t *slots;
    int64_t nslots;
    run_t *runs;                /* one per worker (under lock) */
    int nruns;
    int abort;                  /* set when any chunk failed (under lock) */
    pthread_mutex_t lock;
    int extra_threads;          /* decompression threads per reader */
} queue_t;

typedef struct {
    queue_t *q;
    int id;                     /* index of its run */
    da_reader_t reader;         /* opened by the worker unless preset */
    int reader_open;
    da_stream_t stream;         /* the worker's records, carried from chunk to chunk */
    da_error_t err;             /* reader-open failure */
} worker_t;

/* Next chunk for worker w: the next of its own run, so that its stream reads
 * on through neighbouring chunks; when the run is done, the second half of
 * the longest run left becomes its own (work stealing). */
static int64_t take_chunk(queue_t *q, int w)
{
    pthread_mutex_lock(&q->lock);
    int64_t i = -1;
    run_t *own = &q->runs[w];
    if (!q->abort && own->next >= own->end) {
        run_t *victim = NULL;
        for (int v = 0; v < q->nruns; v++)
            if (q->runs[v].end - q->runs[v].next > (victim ? victim->end - victim->next : 0))
                victim = &q->runs[v];
        if (victim) {
            int64_t left = victim->end - victim->next, k = left > 1 ? left / 2 : 1;
            own->next = victim->end - k;
            own->end = victim->end;
            victim->end -= k;
        }
    }
    if (!q->abort && own->next < own->end) i = own->next++;
    pthread_mutex_unlock(&q->lock);
    return i;
}

/* Cut the chunks into one run per worker of about equal work, estimated by
 * the compressed bytes the index places each chunk's records in.  A BAI
 * only resolves 16 kb bins, so chunks that the index gives the same blocks
 * (amplicons in one bin) share those bytes equally, and blocks already
 * counted for the chunks before are not counted again.  Without a usable
 * estimate (CRAM, an index query failing: the walk reports that) chunks
 * weigh one. */
static int split_runs(queue_t *q, da_reader_t *r)
{
    int64_t n = q->nslots;
    double *cost = malloc(sizeof *cost * (size_t)(n ? n : 1)), total = 0;
    uint64_t *span = malloc(sizeof *span * 2 * (size_t)(n ? n : 1));  /* first, last; 0, 0: unknown */
    if (!cost || !span) {
        free(cost);
        free(span);
        return DA_ERR_NOMEM;
    }
    int use_index = q->nruns > 1 && da_reader_is_bam(r);
    for (int64_t i = 0; i < n; i++) {
        const da_chunk_t *c = &q->slots[i].chunk;
        da_error_t ignored;
        span[2 * i] = span[2 * i + 1] = 0;
        if (use_index && da_reader_offsets(r, c->tid, c->beg, c->end, &span[2 * i], &span[2 * i + 1],
                                           &ignored) <= 0)
            span[2 * i] = span[2 * i + 1] = 0;
    }
    uint64_t counted = 0;  /* blocks before this are counted already (same contig) */
    for (int64_t i = 0, g; i < n; i = g) {
        uint64_t first = span[2 * i], last = span[2 * i + 1];
        int tid = q->slots[i].chunk.tid;
        if (i == 0 || tid != q->slots[i - 1].chunk.tid) counted = 0;
        /* the group: this chunk and the next ones the index cannot tell apart */
        for (g = i + 1; g < n && last && q->slots[g].chunk.tid == tid && span[2 * g] == first &&
                        span[2 * g + 1] == last; g++) {}
        uint64_t from = first > counted ? first : counted;
        double bytes = last > from ? (double)((last >> 16) - (from >> 16)) : 0;
        if (last > counted) counted = last;
        for (int64_t k = i; k < g; k++) total += cost[k] = 1 + bytes / (double)(g - i);
    }
    free(span);
    int64_t at = 0;
    double done = 0;
    for (int k = 0; k < q->nruns; k++) {
        q->runs[k].next = at;
        double target = total * (k + 1) / q->nruns;
        int64_t keep = q->nruns - 1 - k;  /* at least one chunk for each later run */
        while (at < n - keep && (k == q->nruns - 1 || at == q->runs[k].next || done + cost[at] / 2 <= target))
            done += cost[at++];
        q->runs[k].end = at;
    }
    free(cost);
    return DA_OK;
}

static void abort_queue(queue_t *q)
{
    pthread_mutex_lock(&q->lock);
    q->abort = 1;
    pthread_mutex_unlock(&q->lock);
}

static void *worker_main(void *arg)
{
    worker_t *wk = arg;
    queue_t *q = wk->q;
    if (!wk->reader_open) {
        if (da_reader_open(&wk->reader, q->job->path, q->job->ref_path, q->extra_threads, &wk->err)) {
            abort_queue(q);
            return NULL;
        }
        wk->reader_open = 1;
    }
    /* Records kept for the next chunk get half the per-thread budget of
     * waiting mates, on top of it. */
    size_t budget = q->job->params.mate_memory;
    if (da_stream_init(&wk->stream, &wk->reader, budget > 1 ? budget / 2 : budget)) {
        da_stream_free(&wk->stream);
        da_fail(&wk->err, DA_ERR_NOMEM, "out of memory");
        abort_queue(q);
        return NULL;
    }
    int64_t i;
    while ((i = take_chunk(q, wk->id)) >= 0) {
        chunk_slot_t *s = &q->slots[i];
        int rc = da_walk_chunk(&wk->stream, &q->job->params, &s->chunk, &s->res, &s->err);
        s->done = 1;
        if (rc) abort_queue(q);
    }
    da_stream_free(&wk->stream);
    return NULL;
}

static int validate(const da_job_t *job, da_error_t *err)
{
    if (!job->path || job->n_regions < 0 || job->threads < 1 || !job->counts)
        return da_fail(err, DA_ERR_ARG, "invalid pileup job");
    for (int i = 0; i < job->n_regions; i++) {
        if (job->beg[i] < 0 || job->end[i] <= job->beg[i])
            return da_fail(err, DA_ERR_REGION, "%s: region %d is empty (%" PRId64 "-%" PRId64 ")",
                           job->path, i, job->beg[i], job->end[i]);
        if (i > 0 && (job->tid[i] < job->tid[i - 1] ||
                      (job->tid[i] == job->tid[i - 1] && job->beg[i] < job->end[i - 1])))
            return da_fail(err, DA_ERR_REGION, "%s: regions must be sorted and disjoint", job->path);
    }
    return DA_OK;
}

/* Split regions into chunks (fixed length, so chunking never depends on threads). */
static chunk_slot_t *make_chunks(const da_job_t *job, int64_t *n_out)
{
    int64_t n = 0;
    for (int i = 0; i < job->n_regions; i++)
        n += (job->end[i] - job->beg[i] + DA_CHUNK_LEN - 1) / DA_CHUNK_LEN;
    chunk_slot_t *slots = calloc((size_t)(n ? n : 1), sizeof *slots);
    if (!slots) return NULL;
    int64_t k = 0, offset = 0;
    for (int i = 0; i < job->n_regions; i++) {
        int64_t prev_end = (i > 0 && job->tid[i - 1] == job->tid[i]) ? job->end[i - 1] : 0;
        for (int64_t b = job->beg[i]; b < job->end[i]; b += DA_CHUNK_LEN, k++) {
            da_chunk_t *c = &slots[k].chunk;
            c->tid = job->tid[i];
            c->beg = b;
            c->end = b + DA_CHUNK_LEN < job->end[i] ? b + DA_CHUNK_LEN : job->end[i];
            c->own_from = b == job->beg[i] ? prev_end : b;
            c->keep_from = c->end < job->end[i] ? c->end
                           : (i + 1 < job->n_regions && job->tid[i + 1] == job->tid[i]) ? job->beg[i + 1]
                           : INT64_MAX;
            c->ref = (job->ref && job->ref[i]) ? job->ref[i] + (b - job->beg[i]) : NULL;
            int64_t at = offset + (b - job->beg[i]);
            c->counts = job->counts + (size_t)at * DA_NSYM * 2;
            c->qual_hist = job->qual_hist ? job->qual_hist + (size_t)at * DA_NQUAL : NULL;
            c->junction = job->junction ? job->junction + (size_t)at * 2 : NULL;
        }
        offset += job->end[i] - job->beg[i];
    }
    *n_out = n;
    return slots;
}

/* Concatenate per-chunk results (chunk order = position order). */
static int merge_results(const chunk_slot_t *slots, int64_t n, da_result_t *res)
{
    int64_t nev = 0, nseq = 0;
    for (int64_t i = 0; i < n; i++) {
        for (int s = 0; s < DA_N_READ_STATS; s++) res->read_stats[s] += slots[i].res.read_stats[s];
        for (int s = 0; s < DA_N_BASE_STATS; s++) res->base_stats[s] += slots[i].res.base_stats[s];
        nev += slots[i].res.indels.n;
        for (int64_t e = 0; e < slots[i].res.indels.n; e++)
            if (slots[i].res.indels.ev[e].len > 0) nseq += slots[i].res.indels.ev[e].len;
    }
    res->n_indels = nev;
    res->indel_tid = malloc(sizeof *res->indel_tid * (size_t)(nev + 1));
    res->indel_pos = malloc(sizeof *res->indel_pos * (size_t)(nev + 1));
    res->indel_len = malloc(sizeof *res->indel_len * (size_t)(nev + 1));
    res->indel_count = malloc(sizeof *res->indel_count * (size_t)(2 * nev + 2));
    res->indel_seq_off = malloc(sizeof *res->indel_seq_off * (size_t)(nev + 1));
    res->indel_seq = malloc((size_t)nseq + 1);
    if (!res->indel_tid || !res->indel_pos || !res->indel_len || !res->indel_count ||
        !res->indel_seq_off || !res->indel_seq)
        return DA_ERR_NOMEM;
    int64_t k = 0, off = 0;
    for (int64_t i = 0; i < n; i++) {
        const da_indel_table_t *t = &slots[i].res.indels;
        for (int64_t e = 0; e < t->n; e++, k++) {
            const da_indel_t *ev = &t->ev[e];
            res->indel_tid[k] = slots[i].chunk.tid;
            res->indel_pos[k] = ev->pos;
            res->indel_len[k] = ev->len;
            res->indel_count[2 * k] = ev->count[0];
            res->indel_count[2 * k + 1] = ev->count[1];
            res->indel_seq_off[k] = off;
            if (ev->len > 0) {
                memcpy(res->indel_seq + off, t->seq + ev->seq_off, (size_t)ev->len);
                off += ev->len;
            }
        }
    }
    res->indel_seq_off[nev] = off;
    res->indel_seq[off] = '\0';
    return DA_OK;
}

void da_result_free(da_result_t *res)
{
    free(res->indel_tid);
    free(res->indel_pos);
    free(res->indel_len);
    free(res->indel_count);
    free(res->indel_seq_off);
    free(res->indel_seq);
    memset(res, 0, sizeof *res);
}

int da_pileup(const da_job_t *job, da_result_t *res, da_error_t *err)
{
    memset(res, 0, sizeof *res);
    int rc = validate(job, err);
    if (rc) return rc;

    queue_t q;
    memset(&q, 0, sizeof q);
    q.job = job;
    worker_t *workers = NULL;
    pthread_t *tids = NULL;
    int nworkers = 0, started = 0;

    q.slots = make_chunks(job, &q.nslots);
    if (!q.slots) return da_fail(err, DA_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; i < q.nslots; i++) {
        if (da_indel_table_init(&q.slots[i].res.indels)) {
            for (int64_t j = 0; j < i; j++) da_indel_table_free(&q.slots[j].res.indels);
            free(q.slots);
            return da_fail(err, DA_ERR_NOMEM, "out of memory");
        }
    }
    pthread_mutex_init(&q.lock, NULL);

    nworkers = job->threads < q.nslots ? job->threads : (int)(q.nslots ? q.nslots : 1);
    q.extra_threads = (job->threads - nworkers) / nworkers;
    workers = calloc((size_t)nworkers, sizeof *workers);
    tids = calloc((size_t)nworkers, sizeof *tids);
    q.runs = calloc((size_t)nworkers, sizeof *q.runs);
    q.nruns = nworkers;
    if (!workers || !tids || !q.runs) {
        rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
        goto out;
    }
    /* The first reader is opened here so that open errors are reported
     * before any thread starts, identically for every thread count. */
    for (int i = 0; i < nworkers; i++) {
        workers[i].q = &q;
        workers[i].id = i;
    }
    if ((rc = da_reader_open(&workers[0].reader, job->path, job->ref_path, q.extra_threads, err)))
        goto out;
    workers[0].reader_open = 1;
    if (split_runs(&q, &workers[0].reader)) {
        rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 1; i < nworkers; i++) {
        if (pthread_create(&tids[i], NULL, worker_main, &workers[i]) != 0) {
            abort_queue(&q);
            rc = da_fail(err, DA_ERR_THREAD, "cannot start worker thread");
            break;
        }
        started = i;
    }
    if (rc == DA_OK) worker_main(&workers[0]);
    for (int i = 1; i <= started; i++) pthread_join(tids[i], NULL);
    if (rc) goto out;

    for (int i = 0; i < nworkers; i++)
        if (workers[i].err.code) {
            *err = workers[i].err;
            rc = err->code;
            goto out;
        }
    for (int64_t i = 0; i < q.nslots; i++)
        if (q.slots[i].err.code) {  /* first failing chunk in position order */
            *err = q.slots[i].err;
            rc = err->code;
            goto out;
        }
    for (int64_t i = 0; i < q.nslots; i++) da_indel_sort(&q.slots[i].res.indels);
    if (merge_results(q.slots, q.nslots, res)) {
        da_result_free(res);
        rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
    }
out:
    for (int i = 0; i < nworkers && workers; i++)
        if (workers[i].reader_open) da_reader_close(&workers[i].reader);
    for (int64_t i = 0; i < q.nslots; i++) da_indel_table_free(&q.slots[i].res.indels);
    free(q.slots);
    free(workers);
    free(tids);
    free(q.runs);
    pthread_mutex_destroy(&q.lock);
    return rc;
}
