/*
 * tails.c -- exact log upper tails of the binomial, beta-binomial and
 * grouped Poisson-binomial distributions (see tails.h).
 *
 * Binomial / beta-binomial
 * ------------------------
 * The pmf is evaluated in log space at one or two anchor points (Loader's
 * saddle-point form for the binomial, Stirling-corrected rising factorials
 * for the beta-binomial, both free of the large lgamma cancellations) and the
 * tail is summed with the exact term ratio pmf(j+1)/pmf(j).  For both
 * families the sign of log(pmf(j+1)/pmf(j)) changes at most once in j (for
 * the beta-binomial the difference numerator - denominator of the ratio is
 * linear in j), so any range [a, b] splits into at most two monotone pieces.
 * Each piece is summed from its largest term outwards and stopped once
 * (current term) * (number of remaining terms) < 1e-17 * (partial sum),
 * which is a rigorous bound because the remaining terms are monotone.
 * When the upper tail exceeds 1/2 we return log1p(-lower tail) instead, so
 * log p-values near 0 keep their absolute accuracy.
 *
 * Grouped Poisson-binomial, X = sum_g Bin(n_g, p_g)
 * --------------------------------------------------
 * Exponential tilting.  With M(theta) = prod_g (q_g + p_g e^theta)^n_g,
 *     P(X = j) = M(theta) e^{-theta j} P_theta(X = j),
 * where under P_theta group g is Binomial(n_g, p_g e^theta/(q_g+p_g e^theta)).
 * This identity is exact for every theta; theta only decides where the
 * tilted distribution has its mass.  We choose theta so the tilted mean is
 * t = k (upper tail, k above the mean; theta > 0), or t = k-1 (lower tail,
 * theta < 0, then P(X >= k) = 1 - P(X <= k-1)).  Then
 *     P(X >= t) = M(theta) e^{-theta t} sum_{j>=t} P_theta(j) e^{-theta(j-t)}
 * and the sum only involves the bulk of the tilted distribution (width of a
 * few tilted standard deviations, never more than O(depth)), not all k+1
 * counts as in LoFreq's O(depth * k) dynamic programme.  The tilted pmfs of
 * the groups are computed in scaled linear space, truncated where terms drop
 * below 1e-22 of the group maximum (geometric bound on the neglected mass),
 * convolved one group at a time, and the running convolution is trimmed
 * below 1e-25 of its maximum.  Neglected mass is therefore < ~1e-20 per
 * group relative to a peak that is itself >= ~1/(10*sigma_theta) of the
 * sum kept, giving a relative error of the final probability well below
 * 1e-12 (and a far smaller relative error of its logarithm).  Everything
 * that can under/overflow is carried as a log scale factor, so results like
 * log p = -1e5 are exact to double precision.
 */
#include "tails.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DA_LN_2PI 1.8378770664093454836
#define DA_LN2 0.69314718055994530942
#define WALK_EPS 1e-17
#define GROUP_EPS 1e-22
#define CONV_TRIM 1e-25

/* ------------------------------------------------------------ helpers */

/* log(1 - exp(x)) for x <= 0 */
static double log1m_exp(double x)
{
    if (x >= 0.0) return -INFINITY;
    return (x > -DA_LN2) ? log(-expm1(x)) : log1p(-exp(x));
}

static double logaddexp(double a, double b)
{
    if (a == -INFINITY) return b;
    if (b == -INFINITY) return a;
    if (a > b) return a + log1p(exp(b - a));
    return b + log1p(exp(a - b));
}

/* log(1 + e^x) */
static double softplus(double x)
{
    if (x > 0.0) return x + log1p(exp(-x));
    return log1p(exp(x));
}

/* stirlerr(x) = lgamma(x+1) - [(x+0.5) log x - x + 0.5 log(2 pi)], x >= 1 */
static double stirlerr(double x)
{
    if (x <= 15.0) {
        return lgamma(x + 1.0) - (x + 0.5) * log(x) + x - 0.5 * DA_LN_2PI;
    }
    double x2 = 1.0 / (x * x);
    /* 1/12x - 1/360x^3 + 1/1260x^5 - 1/1680x^7 + 1/1188x^9 */
    return (1.0 / 12.0 - x2 * (1.0 / 360.0 - x2 * (1.0 / 1260.0 - x2 *
           (1.0 / 1680.0 - x2 * (1.0 / 1188.0))))) / x;
}

/* bd0(x, M) = x log(x/M) + M - x, computed without cancellation */
static double bd0(double x, double M)
{
    if (x == 0.0) return M;
    if (M == 0.0) return INFINITY;
    if (fabs(x - M) < 0.1 * (x + M)) {
        double v = (x - M) / (x + M);
        double s = (x - M) * v;
        double ej = 2.0 * x * v;
        double v2 = v * v;
        for (int j = 1; j < 1000; j++) {
            ej *= v2;
            double s1 = s + ej / (double)(2 * j + 1);
            if (s1 == s) return s1;
            s = s1;
        }
        return s;
    }
    return x * log(x / M) + M - x;
}

/* log Binomial(n, p) pmf at j, given log p, log q (q = 1 - p) */
static double binom_lpmf(int64_t j, int64_t n, double lp, double lq)
{
    if (j < 0 || j > n) return -INFINITY;
    if (j == 0) return n == 0 ? 0.0 : (double)n * lq;
    if (j == n) return (double)n * lp;
    if (lp == -INFINITY || lq == -INFINITY) return -INFINITY;
    double dn = (double)n, dj = (double)j, dk = (double)(n - j);
    double r = stirlerr(dn) - stirlerr(dj) - stirlerr(dk)
               - bd0(dj, dn * exp(lp)) - bd0(dk, dn * exp(lq));
    return r + 0.5 * (log(dn / (dj * dk)) - DA_LN_2PI);
}

/* omega(x) = lgamma(x) - [(x-0.5) log x - x + 0.5 log(2 pi)], x > 0 */
static double omega(double x)
{
    if (x < 10.0) {
        return lgamma(x) - ((x - 0.5) * log(x) - x + 0.5 * DA_LN_2PI);
    }
    double x2 = 1.0 / (x * x);
    return (1.0 / 12.0 - x2 * (1.0 / 360.0 - x2 * (1.0 / 1260.0 - x2 *
           (1.0 / 1680.0)))) / x;
}

/* log rising factorial: lgamma(a + j) - lgamma(a), a > 0, j >= 0 */
static double lrising(double a, double j)
{
    if (j == 0.0) return 0.0;
    if (a < 10.0) return lgamma(a + j) - lgamma(a);
    return (a + j - 0.5) * log1p(j / a) + j * (log(a) - 1.0)
           + omega(a + j) - omega(a);
}

/* log C(n, j) */
static double lchoose(int64_t n, int64_t j)
{
    if (j <= 0 || j >= n) return 0.0;
    double dn = (double)n, dj = (double)j, dk = (double)(n - j);
    return dj * log(dn / dj) - dk * log1p(-dj / dn)
           + 0.5 * log(dn / (dj * dk)) - 0.5 * DA_LN_2PI
           + stirlerr(dn) - stirlerr(dj) - stirlerr(dk);
}

/* ---------------------------------------------- generic discrete tails */

enum { D_BINOM = 0, D_BETABINOM = 1 };

typedef struct {
    int kind;
    int64_t n;
    double lp, lq, odds;       /* binomial */
    double a, b, lnorm;        /* beta-binomial: -lrising(a+b, n) */
    int valley;                /* 1: pmf decreases then increases */
    int64_t turn;              /* mode (peak) or valley location */
} dist_t;

static double dist_lpmf(const dist_t *d, int64_t j)
{
    if (d->kind == D_BINOM) return binom_lpmf(j, d->n, d->lp, d->lq);
    return lchoose(d->n, j) + lrising(d->a, (double)j)
           + lrising(d->b, (double)(d->n - j)) + d->lnorm;
}

/* pmf(j + dir) / pmf(j), dir = +1 or -1 */
static double dist_ratio(const dist_t *d, int64_t j, int dir)
{
    double dn = (double)d->n, dj = (double)j;
    if (d->kind == D_BINOM) {
        if (dir > 0) return (dn - dj) / (dj + 1.0) * d->odds;
        return dj / (dn - dj + 1.0) / d->odds;
    }
    if (dir > 0)
        return (dn - dj) * (dj + d->a) / ((dj + 1.0) * (dn - dj - 1.0 + d->b));
    return dj * (dn - dj + d->b) / ((dn - dj + 1.0) * (dj - 1.0 + d->a));
}

static int64_t clamp64(double x, int64_t lo, int64_t hi)
{
    if (!(x > (double)lo)) return lo;   /* also catches NaN */
    if (x >= (double)hi) return hi;
    return (int64_t)x;
}

/* Sum of pmf(j)/pmf(c) for j = c+dir, ..., end (inclusive), assuming the
 * terms decrease monotonically away from c. */
static double walk(const dist_t *d, int64_t c, int dir, int64_t end)
{
    double term = 1.0, s = 0.0;
    int64_t j = c;
    while (j != end) {
        term *= dist_ratio(d, j, dir);
        j += dir;
        s += term;
        if (!(term > 0.0)) break;
        double remaining = (double)(dir > 0 ? end - j : j - end);
        if (term * remaining <= WALK_EPS * (1.0 + s)) break;
    }
    return s;
}

/* log sum_{j=a}^{b} pmf(j), 0 <= a <= b <= n */
static double sum_range(const dist_t *d, int64_t a, int64_t b)
{
    if (!d->valley) {
        int64_t c = d->turn < a ? a : (d->turn > b ? b : d->turn);
        double l0 = dist_lpmf(d, c);
        if (l0 == -INFINITY) return -INFINITY;
        double s = 1.0 + walk(d, c, +1, b) + walk(d, c, -1, a);
        return l0 + log(s);
    }
    int64_t v = d->turn;
    if (v <= a) {              /* increasing on [a, b]: largest at b */
        double l0 = dist_lpmf(d, b);
        return l0 + log(1.0 + walk(d, b, -1, a));
    }
    if (v >= b) {              /* decreasing on [a, b]: largest at a */
        double l0 = dist_lpmf(d, a);
        return l0 + log(1.0 + walk(d, a, +1, b));
    }
    double l1 = dist_lpmf(d, a) + log(1.0 + walk(d, a, +1, v));
    double l2 = dist_lpmf(d, b) + log(1.0 + walk(d, b, -1, v + 1));
    return logaddexp(l1, l2);
}

static double dist_logsf(const dist_t *d, int64_t k)
{
    double lu = sum_range(d, k, d->n);
    if (lu < -DA_LN2) return lu;
    double ll = sum_range(d, 0, k - 1);
    if (!(ll < 0.0)) return lu > 0.0 ? 0.0 : lu;
    return log1m_exp(ll);
}

double da_logsf_binom(int64_t k, int64_t n, double p)
{
    if (k <= 0) return 0.0;
    if (k > n) return -INFINITY;
    if (!(p > 0.0)) return -INFINITY;
    if (p >= 1.0) return 0.0;
    dist_t d;
    memset(&d, 0, sizeof d);
    d.kind = D_BINOM;
    d.n = n;
    d.lp = log(p);
    d.lq = log1p(-p);
    d.odds = p / (1.0 - p);
    d.valley = 0;
    d.turn = clamp64(floor(((double)n + 1.0) * p), 0, n);
    return dist_logsf(&d, k);
}

double da_logsf_betabinom(int64_t k, int64_t n, double alpha, double beta)
{
    if (k <= 0) return 0.0;
    if (k > n) return -INFINITY;
    dist_t d;
    memset(&d, 0, sizeof d);
    d.kind = D_BETABINOM;
    d.n = n;
    d.a = alpha;
    d.b = beta;
    d.lnorm = -lrising(alpha + beta, (double)n);
    /* pmf(j+1) > pmf(j)  <=>  s*j + c0 > 0 */
    double dn = (double)n;
    double s = 2.0 - alpha - beta;
    double c0 = alpha * dn - beta + 1.0 - dn;
    if (s < 0.0) {             /* unimodal: mode = first j with s*j+c0 <= 0 */
        d.valley = 0;
        d.turn = clamp64(ceil(c0 / -s), 0, n);
    } else if (s > 0.0) {      /* U-shaped: valley = first j with s*j+c0 >= 0 */
        d.valley = 1;
        d.turn = clamp64(ceil(-c0 / s), 0, n);
    } else {                   /* monotone */
        d.valley = 0;
        d.turn = c0 > 0.0 ? n : 0;
    }
    return dist_logsf(&d, k);
}

/* ------------------------------------------- grouped Poisson-binomial */

typedef struct {
    int64_t n;
    double p, lp, lq, x;       /* p, log p, log q, logit p */
} grp_t;

typedef struct {
    double *v;
    size_t cap;
} buf_t;

static int buf_reserve(buf_t *b, size_t n)
{
    if (n <= b->cap) return 0;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < n) cap *= 2;
    double *nv = (double *)realloc(b->v, cap * sizeof(double));
    if (!nv) return -1;
    b->v = nv;
    b->cap = cap;
    return 0;
}

/* sum_g n_g sigmoid(x_g + theta) and its derivative */
static void tilted_mean(const grp_t *g, int ng, double th, double *mean,
                        double *var)
{
    double m = 0.0, v = 0.0;
    for (int i = 0; i < ng; i++) {
        double x = g[i].x + th;
        double p, q;
        if (x >= 0.0) { double e = exp(-x); p = 1.0 / (1.0 + e); q = e / (1.0 + e); }
        else          { double e = exp(x);  p = e / (1.0 + e);   q = 1.0 / (1.0 + e); }
        m += (double)g[i].n * p;
        v += (double)g[i].n * p * q;
    }
    *mean = m;
    *var = v;
}

static double solve_theta(const grp_t *g, int ng, double t)
{
    double lo = -1.0, hi = 1.0, m, v;
    for (int it = 0; it < 64; it++) {
        tilted_mean(g, ng, lo, &m, &v);
        if (m <= t) break;
        lo *= 2.0;
    }
    for (int it = 0; it < 64; it++) {
        tilted_mean(g, ng, hi, &m, &v);
        if (m >= t) break;
        hi *= 2.0;
    }
    double th = 0.0;
    if (th < lo || th > hi) th = 0.5 * (lo + hi);
    for (int it = 0; it < 200; it++) {
        tilted_mean(g, ng, th, &m, &v);
        double f = m - t;
        if (fabs(f) <= 1e-10 * (1.0 + t)) break;
        if (f > 0.0) hi = th; else lo = th;
        double nt = (v > 0.0) ? th - f / v : 0.5 * (lo + hi);
        if (!(nt > lo && nt < hi)) nt = 0.5 * (lo + hi);
        if (hi - lo < 1e-13 * (1.0 + fabs(th))) { th = nt; break; }
        th = nt;
    }
    return th;
}

/* Relative pmf of Binomial(n, p') (p' given by its logs) truncated to its
 * bulk.  Fills out[0..len) with pmf(lo + i) / pmf(mode); returns log
 * pmf(mode) and sets *lo_out, *len_out.  Returns NAN on allocation failure. */
static double group_pmf(int64_t n, double lp, double lq, buf_t *out,
                        buf_t *tmp, int64_t *lo_out, size_t *len_out)
{
    dist_t d;
    memset(&d, 0, sizeof d);
    d.kind = D_BINOM;
    d.n = n;
    d.lp = lp;
    d.lq = lq;
    double p = exp(lp);
    d.odds = exp(lp - lq);
    int64_t m = clamp64(floor(((double)n + 1.0) * p), 0, n);
    double lmode = binom_lpmf(m, n, lp, lq);

    /* right side into out (starting with the mode), left side into tmp */
    size_t nr = 0, nl = 0;
    double term = 1.0;
    if (buf_reserve(out, 64)) return NAN;
    out->v[nr++] = 1.0;
    for (int64_t j = m; j < n; j++) {
        double r = d.odds == INFINITY ? INFINITY : dist_ratio(&d, j, +1);
        term *= r;
        if (!(term > 0.0)) break;
        if (term > 1.0) term = 1.0;  /* rounding at the mode */
        if (buf_reserve(out, nr + 1)) return NAN;
        out->v[nr++] = term;
        if (term < GROUP_EPS) {
            double rn = dist_ratio(&d, j + 1, +1);
            double rem = (double)(n - j - 1);
            double bound = rn < 1.0 ? term * rn / (1.0 - rn) : term * rem;
            if (bound > term * rem) bound = term * rem;
            if (bound < GROUP_EPS) break;
        }
    }
    term = 1.0;
    for (int64_t j = m; j > 0; j--) {
        double r = dist_ratio(&d, j, -1);
        term *= r;
        if (!(term > 0.0)) break;
        if (term > 1.0) term = 1.0;
        if (buf_reserve(tmp, nl + 1)) return NAN;
        tmp->v[nl++] = term;
        if (term < GROUP_EPS) {
            double rn = dist_ratio(&d, j - 1, -1);
            double rem = (double)(j - 1);
            double bound = rn < 1.0 ? term * rn / (1.0 - rn) : term * rem;
            if (bound > term * rem) bound = term * rem;
            if (bound < GROUP_EPS) break;
        }
    }
    if (buf_reserve(out, nr + nl)) return NAN;
    memmove(out->v + nl, out->v, nr * sizeof(double));
    for (size_t i = 0; i < nl; i++) out->v[i] = tmp->v[nl - 1 - i];
    *lo_out = m - (int64_t)nl;
    *len_out = nr + nl;
    return lmode;
}

/* log P(X >= t) (upper != 0) or log P(X <= t) (upper == 0) by tilting;
 * 0 < t < N, all groups with 0 < p < 1 and n > 0. */
static double tilted_tail(const grp_t *g, int ng, int64_t t, int upper)
{
    double th = solve_theta(g, ng, (double)t);
    buf_t cur = {0}, nxt = {0}, gp = {0}, tmp = {0};
    double res = NAN;
    double logm = 0.0, ls = 0.0;
    int64_t clo = 0;
    size_t clen = 0;

    if (buf_reserve(&cur, 1)) goto done;
    cur.v[0] = 1.0;
    clen = 1;
    for (int i = 0; i < ng; i++) {
        double x = g[i].x + th;
        double lp = -softplus(-x), lq = -softplus(x);
        logm += (double)g[i].n * (g[i].lq + softplus(x));
        int64_t glo;
        size_t glen;
        double gl = group_pmf(g[i].n, lp, lq, &gp, &tmp, &glo, &glen);
        if (isnan(gl)) goto done;
        size_t olen = clen + glen - 1;
        if (buf_reserve(&nxt, olen)) goto done;
        memset(nxt.v, 0, olen * sizeof(double));
        for (size_t a = 0; a < clen; a++) {
            double ca = cur.v[a];
            if (ca == 0.0) continue;
            double *o = nxt.v + a;
            const double *gv = gp.v;
            for (size_t b = 0; b < glen; b++) o[b] += ca * gv[b];
        }
        double mx = 0.0;
        for (size_t a = 0; a < olen; a++) if (nxt.v[a] > mx) mx = nxt.v[a];
        if (!(mx > 0.0)) goto done;
        size_t s0 = 0, s1 = olen;
        double thr = CONV_TRIM * mx;
        while (s0 < s1 && nxt.v[s0] < thr) s0++;
        while (s1 > s0 && nxt.v[s1 - 1] < thr) s1--;
        double inv = 1.0 / mx;
        if (buf_reserve(&cur, s1 - s0)) goto done;
        for (size_t a = s0; a < s1; a++) cur.v[a - s0] = nxt.v[a] * inv;
        clen = s1 - s0;
        clo = clo + glo + (int64_t)s0;
        ls += gl + log(mx);
    }
    {
        /* S = sum over the tail side of P_theta(j) e^{-theta (j - t)} */
        double s = 0.0;
        double step = exp(upper ? -th : th);
        int64_t chi = clo + (int64_t)clen - 1;
        if (upper) {
            int64_t j0 = t > clo ? t : clo;
            double w = exp(-th * (double)(j0 - t));
            for (int64_t j = j0; j <= chi; j++) {
                s += cur.v[j - clo] * w;
                w *= step;
                if (w == 0.0) break;
            }
        } else {
            int64_t j0 = t < chi ? t : chi;
            double w = exp(-th * (double)(j0 - t));
            for (int64_t j = j0; j >= clo; j--) {
                s += cur.v[j - clo] * w;
                w *= step;
                if (w == 0.0) break;
            }
        }
        res = (s > 0.0) ? logm - th * (double)t + ls + log(s) : -INFINITY;
    }
done:
    free(cur.v);
    free(nxt.v);
    free(gp.v);
    free(tmp.v);
    return res;
}

double da_logsf_poibin_groups(int64_t k, int ngroups, const int64_t *n,
                              const double *p)
{
    if (k <= 0) return 0.0;
    int64_t shift = 0, total = 0;
    int nact = 0;
    for (int i = 0; i < ngroups; i++) {
        if (n[i] <= 0 || !(p[i] > 0.0)) continue;
        if (p[i] >= 1.0) shift += n[i];
        else { total += n[i]; nact++; }
    }
    k -= shift;
    if (k <= 0) return 0.0;
    if (k > total) return -INFINITY;

    grp_t stackg[64];
    grp_t *g = nact <= 64 ? stackg : (grp_t *)malloc((size_t)nact * sizeof(grp_t));
    if (!g) return NAN;
    int ng = 0;
    double mean = 0.0, lall = 0.0, lnone = 0.0;
    for (int i = 0; i < ngroups; i++) {
        if (n[i] <= 0 || !(p[i] > 0.0) || p[i] >= 1.0) continue;
        g[ng].n = n[i];
        g[ng].p = p[i];
        g[ng].lp = log(p[i]);
        g[ng].lq = log1p(-p[i]);
        g[ng].x = g[ng].lp - g[ng].lq;
        mean += (double)n[i] * p[i];
        lall += (double)n[i] * g[ng].lp;
        lnone += (double)n[i] * g[ng].lq;
        ng++;
    }
    double res;
    if (ng == 1) {
        res = da_logsf_binom(k, g[0].n, g[0].p);
    } else if (k == total) {
        res = lall;
    } else if ((double)k > mean) {
        res = tilted_tail(g, ng, k, 1);
    } else {
        double ll = (k == 1) ? lnone : tilted_tail(g, ng, k - 1, 0);
        if (isnan(ll)) res = NAN;
        else res = (ll < 0.0) ? log1m_exp(ll) : -INFINITY;
    }
    if (g != stackg) free(g);
    return res;
}
