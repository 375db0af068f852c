#include "pileup.h"

#include "ends.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "indel_table.h"
#include "stream.h"

/* Decoded records go from the worker that read them to the one that counts
 * them in batches; each worker adds a fixed number of batches to the pool,
 * which bounds the records in flight. */
enum { BATCH_RECS = 128, BATCHES_PER_WORKER = 32 };

typedef struct batch {
    struct batch *next;         /* in the free list or the queue */
    int64_t chunk;              /* slot of the chunk its records belong to */
    int n;                      /* records held */
    int last;                   /* the chunk's records end with these */
    bam1_t *rec[BATCH_RECS];    /* allocated on first use, reused */
} batch_t;

typedef struct {
    da_chunk_t chunk;
    da_chunk_result_t res;
    da_error_t err;
    da_walk_t *walk;            /* from the start of its decoding to its last batch */
    int busy;                   /* a worker is feeding its walk (under lock) */
    int64_t group_end;          /* end of the chunks the index cannot tell from it */
} chunk_slot_t;

/* The chunks a worker has still to decode, in position order: [next, end). */
typedef struct {
    int64_t next, end;
} run_t;

typedef struct {
    const da_job_t *job;
    chunk_slot_t *slots;
    int64_t nslots;
    double *cum;                /* nslots + 1 prefix sums of estimated decoding work */
    int nworkers;
    int extra_threads;          /* decompression threads per reader */
    /* under lock */
    pthread_mutex_t lock;
    pthread_cond_t changed;
    run_t *runs;                /* one per worker */
    double *cur_left;           /* per worker: decoding work left in its current chunk */
    int64_t ndone;              /* chunks whose walk has ended */
    int live;                   /* walks begun and not ended */
    int max_live;               /* 1 for one worker, else nworkers + 1: a worker may begin
                                 * decoding its next chunk while the others count the end of
                                 * its last one; each walk holds at most one mate budget */
    int abort;                  /* set when any chunk failed */
    batch_t *pool;              /* every batch (nworkers * BATCHES_PER_WORKER) */
    batch_t *free_batches;
    batch_t *head, *tail;       /* decoded and waiting to be counted, in decoding order */
} queue_t;

typedef struct {
    queue_t *q;
    int id;                     /* index of its run */
    da_reader_t reader;         /* opened on the first chunk it decodes, unless preset */
    int reader_open;
    da_stream_t stream;         /* its records, carried from chunk to chunk */
    int stream_ready;
    int64_t cur;                /* chunk it is decoding, or -1 */
    int fresh;                  /* cur is taken but its decoding has not begun */
    uint64_t cur_from;          /* virtual offset where cur's decoding began */
    da_error_t err;             /* reader-open failure */
} worker_t;

/* A cut of [from, to) at a group boundary near mid (in (from, to)), or -1. */
static int64_t group_cut(const queue_t *q, int64_t from, int64_t to, int64_t mid)
{
    for (int64_t d = 0; mid - d > from || mid + d < to; d++) {
        int64_t k = mid + d;
        if (k > from && k < to && q->slots[k - 1].group_end == k) return k;
        k = mid - d;
        if (d && k > from && k < to && q->slots[k - 1].group_end == k) return k;
    }
    return -1;
}

/* Next chunk for worker w to decode (under lock): the next of its own run,
 * so that its stream reads on through neighbouring chunks; when the run is
 * done, the second half of the longest run left becomes its own (work
 * stealing), cut where the index separates the chunks, so that no records
 * are decoded twice. */
static int64_t take_chunk(queue_t *q, int w)
{
    run_t *own = &q->runs[w];
    if (own->next >= own->end) {
        run_t *victim = NULL;
        int64_t cut = -1;
        for (int v = 0; v < q->nworkers; v++) {
            run_t *r = &q->runs[v];
            int64_t left = r->end - r->next;
            if (left < 2 || (victim && left <= victim->end - victim->next)) continue;
            int64_t k = group_cut(q, r->next, r->end, r->end - left / 2);
            if (k >= 0) {
                victim = r;
                cut = k;
            }
        }
        if (!victim) return -1;
        own->next = cut;
        own->end = victim->end;
        victim->end = cut;
    }
    return own->next < own->end ? own->next++ : -1;
}

/* Decoding work that worker w has left (under lock). */
static double work_left(const queue_t *q, int w)
{
    return q->cum[q->runs[w].end] - q->cum[q->runs[w].next] + q->cur_left[w];
}

/* Does worker w have the most decoding left (ties to the lower id)?  It
 * then keeps decoding and leaves the counting to the others. */
static int leads(const queue_t *q, int w)
{
    double mine = work_left(q, w);
    for (int v = 0; v < q->nworkers; v++) {
        double other = work_left(q, v);
        if (v != w && (other > mine || (other == mine && v < w))) return 0;
    }
    return 1;
}

/* The oldest decoded batch whose chunk no other worker is feeding (under
 * lock); *prev is its predecessor in the queue. */
static batch_t *countable(const queue_t *q, batch_t **prev)
{
    *prev = NULL;
    for (batch_t *b = q->head; b; *prev = b, b = b->next)
        if (!q->slots[b->chunk].busy) return b;
    return NULL;
}

/* Cut the chunks into one run per worker of about equal decoding work,
 * estimated by the compressed bytes the index places each chunk's records
 * in.  A BAI only resolves 16 kb bins, so chunks that the index gives the
 * same blocks (amplicons in one bin) form a group: they share those bytes
 * equally, are never split between runs (a worker starting inside would
 * decode the group's earlier records again), and blocks already counted
 * for the chunks before are not counted again.  Without a usable estimate
 * (CRAM, an index query failing: the walk reports that) chunks weigh one.
 * Counting is balanced separately, batch by batch. */
static int split_runs(queue_t *q, da_reader_t *r)
{
    int64_t n = q->nslots;
    uint64_t *span = malloc(sizeof *span * 2 * (size_t)(n ? n : 1));  /* first, last; 0, 0: unknown */
    if (!span) return DA_ERR_NOMEM;
    int use_index = q->nworkers > 1 && da_reader_is_bam(r);
    for (int64_t i = 0; i < n; i++) {
        const da_chunk_t *c = &q->slots[i].chunk;
        da_error_t ignored;
        span[2 * i] = span[2 * i + 1] = 0;
        if (use_index && da_reader_offsets(r, c->tid, c->beg, c->end, &span[2 * i], &span[2 * i + 1],
                                           &ignored) <= 0)
            span[2 * i] = span[2 * i + 1] = 0;
    }
    uint64_t counted = 0;  /* blocks before this are counted already (same contig) */
    q->cum[0] = 0;
    for (int64_t i = 0, g; i < n; i = g) {
        uint64_t first = span[2 * i], last = span[2 * i + 1];
        int tid = q->slots[i].chunk.tid;
        if (i == 0 || tid != q->slots[i - 1].chunk.tid) counted = 0;
        for (g = i + 1; g < n && last && q->slots[g].chunk.tid == tid && span[2 * g] == first &&
                        span[2 * g + 1] == last; g++) {}
        uint64_t from = first > counted ? first : counted;
        double bytes = last > from ? (double)((last >> 16) - (from >> 16)) : 0;
        if (last > counted) counted = last;
        for (int64_t k = i; k < g; k++) {
            q->slots[k].group_end = g;
            q->cum[k + 1] = q->cum[k] + 1 + bytes / (double)(g - i);
        }
    }
    free(span);
    double total = q->cum[n];
    int64_t at = 0;
    for (int k = 0; k < q->nworkers; k++) {
        q->runs[k].next = at;
        double target = total * (k + 1) / q->nworkers;
        while (at < n) {
            int64_t g = q->slots[at].group_end;
            if (k < q->nworkers - 1 && (q->cum[at] + q->cum[g]) / 2 > target) break;
            at = g;
        }
        q->runs[k].end = at;
    }
    return DA_OK;
}

static void fail_locked(queue_t *q)
{
    q->abort = 1;
    pthread_cond_broadcast(&q->changed);
}

/* Fill b with the next records of the worker's chunk (outside the lock);
 * the chunk's walk and window start with its first batch. */
static int decode_batch(worker_t *wk, batch_t *b)
{
    queue_t *q = wk->q;
    chunk_slot_t *s = &q->slots[wk->cur];
    b->chunk = wk->cur;
    b->n = 0;
    b->last = 0;
    if (!wk->reader_open) {
        if (da_reader_open(&wk->reader, q->job->path, q->job->ref_path, q->extra_threads, &wk->err))
            return wk->err.code;
        wk->reader_open = 1;
    }
    if (!wk->stream_ready) {
        /* Records kept for the next chunk get half the per-thread budget of
         * waiting mates, on top of it. */
        size_t budget = q->job->params.mate_memory;
        wk->stream_ready = 1;
        if (da_stream_init(&wk->stream, &wk->reader, budget > 1 ? budget / 2 : budget,
                           q->job->params.merge_mates))
            return da_fail(&s->err, DA_ERR_NOMEM, "out of memory");
    }
    if (wk->fresh) {
        wk->fresh = 0;
        int rc = da_walk_begin(&s->walk, &q->job->params, &s->chunk, &s->res, &s->err);
        if (!rc) rc = da_stream_window(&wk->stream, s->chunk.tid, s->chunk.beg, s->chunk.end,
                                       s->chunk.keep_from, &s->err);
        if (rc) return rc;
        wk->cur_from = da_reader_is_bam(&wk->reader) ? da_reader_tell(&wk->reader) : 0;
    }
    while (b->n < BATCH_RECS) {
        if (!b->rec[b->n] && !(b->rec[b->n] = bam_init1())) return da_fail(&s->err, DA_ERR_NOMEM, "out of memory");
        int got = da_stream_next(&wk->stream, b->rec[b->n], &s->err);
        if (got < 0) return got;
        if (got == 0) {
            b->last = 1;
            break;
        }
        b->n++;
    }
    return DA_OK;
}

/* Decoding work left in the worker's current chunk, from the bytes read. */
static double chunk_left(const worker_t *wk, const batch_t *b)
{
    const queue_t *q = wk->q;
    if (b->last) return 0;
    double left = q->cum[wk->cur + 1] - q->cum[wk->cur];
    if (da_reader_is_bam(&wk->reader))
        left -= (double)((da_reader_tell(&wk->reader) >> 16) - (wk->cur_from >> 16));
    return left > 0 ? left : 0;
}

/* Feed b to its chunk's walk (outside the lock); the walk ends with the
 * chunk's last batch.  A malformed record is reported with the file's name. */
static int count_batch(queue_t *q, batch_t *b)
{
    chunk_slot_t *s = &q->slots[b->chunk];
    int rc = da_walk_feed(s->walk, (const bam1_t *const *)b->rec, b->n, &s->err);
    if (!rc && b->last) {
        rc = da_walk_end(s->walk, &s->err);
        da_walk_free(s->walk);
        s->walk = NULL;
    }
    if (rc == DA_ERR_CORRUPT) da_error_prefix(&s->err, q->job->path);
    return rc;
}

/* Each worker decodes its run and counts batches, whichever is more useful:
 * the one with the most decoding left keeps decoding while the others count
 * the oldest batches (one worker counts each batch it decoded at once).
 * A chunk's batches are counted in decoding order, one at a time. */
static void *worker_main(void *arg)
{
    worker_t *wk = arg;
    queue_t *q = wk->q;
    pthread_mutex_lock(&q->lock);
    while (!q->abort && q->ndone < q->nslots) {
        if (wk->cur < 0 && q->live < q->max_live) {
            int64_t i = take_chunk(q, wk->id);
            if (i >= 0) {
                wk->cur = i;
                wk->fresh = 1;
                q->cur_left[wk->id] = q->cum[i + 1] - q->cum[i];
                q->live++;
            }
        }
        batch_t *prev, *ready = countable(q, &prev);
        if (wk->cur >= 0 && q->free_batches && (!ready || (q->nworkers > 1 && leads(q, wk->id)))) {
            batch_t *b = q->free_batches;
            q->free_batches = b->next;
            pthread_mutex_unlock(&q->lock);
            int rc = decode_batch(wk, b);
            double left = rc ? 0 : chunk_left(wk, b);
            pthread_mutex_lock(&q->lock);
            if (rc) {
                b->next = q->free_batches;
                q->free_batches = b;
                fail_locked(q);
                break;
            }
            b->next = NULL;
            if (q->tail) q->tail->next = b;
            else q->head = b;
            q->tail = b;
            q->cur_left[wk->id] = left;
            if (b->last) wk->cur = -1;
            pthread_cond_broadcast(&q->changed);
        } else if (ready) {
            if (prev) prev->next = ready->next;
            else q->head = ready->next;
            if (q->tail == ready) q->tail = prev;
            chunk_slot_t *s = &q->slots[ready->chunk];
            s->busy = 1;
            pthread_mutex_unlock(&q->lock);
            int rc = count_batch(q, ready);
            pthread_mutex_lock(&q->lock);
            s->busy = 0;
            if (ready->last && !rc) {
                q->ndone++;
                q->live--;
            }
            ready->next = q->free_batches;
            q->free_batches = ready;
            if (rc) {
                fail_locked(q);
                break;
            }
            pthread_cond_broadcast(&q->changed);
        } else {
            pthread_cond_wait(&q->changed, &q->lock);
        }
    }
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->lock);
    if (wk->stream_ready) da_stream_free(&wk->stream);
    wk->stream_ready = 0;
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
    if (job->params.sample_reads < 0) return da_fail(err, DA_ERR_ARG, "sample_reads must be >= 0");
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
            c->sample_from = b == job->beg[i] ? INT64_MIN : b;
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

/* Each region's sample: its chunks' samples in chunk order, up to sample_reads rows. */
static int merge_samples(const da_job_t *job, const chunk_slot_t *slots, int64_t n, da_result_t *res)
{
    int64_t cap = job->params.sample_reads, total = 0;
    res->n_sample = calloc((size_t)job->n_regions + 1, sizeof *res->n_sample);
    if (!res->n_sample) return DA_ERR_NOMEM;
    int region = -1;
    for (int64_t i = 0; i < n; i++) {            /* rows per region */
        if (slots[i].chunk.sample_from == INT64_MIN) region++;
        int64_t take = slots[i].res.n_sample, room = cap - res->n_sample[region];
        take = take < room ? take : room;
        res->n_sample[region] += take;
        total += take;
    }
    res->sample = malloc(sizeof *res->sample * (size_t)(total * DA_END_NCOL + 1));
    if (!res->sample) return DA_ERR_NOMEM;
    int64_t at = 0, done = 0;
    region = -1;
    for (int64_t i = 0; i < n; i++) {            /* the rows, region after region */
        if (slots[i].chunk.sample_from == INT64_MIN) region++, done = 0;
        int64_t take = slots[i].res.n_sample, room = res->n_sample[region] - done;
        take = take < room ? take : room;
        if (take <= 0) continue;
        memcpy(res->sample + at * DA_END_NCOL, slots[i].res.sample, sizeof *res->sample * (size_t)(take * DA_END_NCOL));
        at += take;
        done += take;
    }
    return DA_OK;
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
    free(res->sample);
    free(res->n_sample);
    memset(res, 0, sizeof *res);
}

static void free_batches(batch_t *pool, int n)
{
    for (int i = 0; pool && i < n; i++)
        for (int k = 0; k < BATCH_RECS; k++)
            if (pool[i].rec[k]) bam_destroy1(pool[i].rec[k]);
    free(pool);
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
    int started = 0, nbatches = 0;

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
    pthread_cond_init(&q.changed, NULL);

    /* One worker more than chunks can still count while the others decode;
     * threads beyond that decompress for the readers. */
    q.nworkers = job->threads < q.nslots + 1 ? job->threads : (int)(q.nslots + 1);
    q.extra_threads = (job->threads - q.nworkers) / q.nworkers;
    q.max_live = q.nworkers > 1 ? q.nworkers + 1 : 1;
    nbatches = q.nworkers * BATCHES_PER_WORKER;
    workers = calloc((size_t)q.nworkers, sizeof *workers);
    tids = calloc((size_t)q.nworkers, sizeof *tids);
    q.runs = calloc((size_t)q.nworkers, sizeof *q.runs);
    q.cur_left = calloc((size_t)q.nworkers, sizeof *q.cur_left);
    q.cum = calloc((size_t)q.nslots + 1, sizeof *q.cum);
    q.pool = calloc((size_t)nbatches, sizeof *q.pool);
    if (!workers || !tids || !q.runs || !q.cur_left || !q.cum || !q.pool) {
        rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 0; i < nbatches; i++) {
        q.pool[i].next = q.free_batches;
        q.free_batches = &q.pool[i];
    }
    for (int i = 0; i < q.nworkers; i++) {
        workers[i].q = &q;
        workers[i].id = i;
        workers[i].cur = -1;
    }
    /* The first reader is opened here so that open errors are reported
     * before any thread starts, identically for every thread count. */
    if ((rc = da_reader_open(&workers[0].reader, job->path, job->ref_path, q.extra_threads, err)))
        goto out;
    workers[0].reader_open = 1;
    if ((rc = da_reader_check_index(&workers[0].reader, job->tid, job->n_regions, err))) goto out;
    if (split_runs(&q, &workers[0].reader)) {
        rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (int i = 1; i < q.nworkers; i++) {
        if (pthread_create(&tids[i], NULL, worker_main, &workers[i]) != 0) {
            pthread_mutex_lock(&q.lock);
            fail_locked(&q);
            pthread_mutex_unlock(&q.lock);
            rc = da_fail(err, DA_ERR_THREAD, "cannot start worker thread");
            break;
        }
        started = i;
    }
    if (rc == DA_OK) worker_main(&workers[0]);
    for (int i = 1; i <= started; i++) pthread_join(tids[i], NULL);
    if (rc) goto out;

    for (int i = 0; i < q.nworkers; i++)
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
    if (merge_results(q.slots, q.nslots, res) ||
        (job->params.sample_reads > 0 && merge_samples(job, q.slots, q.nslots, res))) {
        da_result_free(res);
        rc = da_fail(err, DA_ERR_NOMEM, "out of memory");
    }
out:
    for (int i = 0; i < q.nworkers && workers; i++)
        if (workers[i].reader_open) da_reader_close(&workers[i].reader);
    for (int64_t i = 0; i < q.nslots; i++) {
        da_walk_free(q.slots[i].walk);
        da_indel_table_free(&q.slots[i].res.indels);
        free(q.slots[i].res.sample);
    }
    free_batches(q.pool, nbatches);
    free(q.slots);
    free(workers);
    free(tids);
    free(q.runs);
    free(q.cur_left);
    free(q.cum);
    pthread_cond_destroy(&q.changed);
    pthread_mutex_destroy(&q.lock);
    return rc;
}
