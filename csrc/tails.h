/*
 * tails.h -- log upper-tail probabilities for the deepamp error model.
 *
 * All functions return the natural log of P(X >= k):
 *   0.0        for k <= 0,
 *   -INFINITY  for k > n (or when the event is impossible),
 *   NAN        only if a working buffer could not be allocated.
 * Inputs are assumed valid (validation happens in the Cython layer):
 * n >= 0, 0 <= p <= 1, alpha > 0, beta > 0, all finite.
 * Nothing here prints, allocates global state or uses Python.
 */
#ifndef DEEPAMP_TAILS_H
#define DEEPAMP_TAILS_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* log P(X >= k), X ~ Binomial(n, p). */
double da_logsf_binom(int64_t k, int64_t n, double p);

/* log P(X >= k), X ~ BetaBinomial(n, alpha, beta).  Any alpha, beta > 0,
 * including the U/J-shaped (non-log-concave) cases alpha < 1 or beta < 1. */
double da_logsf_betabinom(int64_t k, int64_t n, double alpha, double beta);

/* log P(X >= k), X = sum_g Binomial(n[g], p[g]) (Poisson-binomial whose
 * success probabilities come in ngroups groups, e.g. one per Phred score).
 * Groups with n[g] <= 0 are ignored; p[g] == 0 and p[g] == 1 are allowed.
 * Exact up to truncation of terms below ~1e-22 of the local maximum
 * (relative error of the result well below 1e-10); see tails.c. */
double da_logsf_poibin_groups(int64_t k, int ngroups, const int64_t *n,
                              const double *p);

#ifdef __cplusplus
}
#endif

#endif /* DEEPAMP_TAILS_H */
