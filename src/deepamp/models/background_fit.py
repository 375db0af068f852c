"""Learning the per-site error background from healthy-control BAMs.

Model
-----
Every control is counted with the same kernel and options as ``deepamp call``
(:func:`deepamp.counting.bam.count`).  For each panel position, alternative base and
strand the background is the error rate of that substitution at that site:

1. **Outlier controls.**  A control that carries a real variant at a site
   (germline SNP, contamination) must not inflate the background.  Its alt
   count is tested against the pooled rate of the *other* controls (binomial
   upper tail, Bonferroni over sites x alts x controls at ``outlier_alpha``),
   and it is excluded for that (site, alt) when the test is significant *and*
   the effect is large (alt fraction >= ``outlier_min_af`` and
   >= ``outlier_min_ratio`` x the others' rate).  An alt fraction >=
   ``germline_af`` is excluded whatever the other controls show (no error
   process reaches it; this also covers a single control).
2. **Shrinkage prior.**  Sites are pooled by trinucleotide context
   (reference strand) x alt base x read strand.  Within each class the site
   rates get a beta prior by the method of moments (mean and between-site
   variance, depth-weighted); each site's rate is the posterior mean
   ``(k + M mu) / (n + M)``, so shallow or few controls fall back on the class
   rate and deep ones speak for themselves.  The prior's weight ``M`` is
   capped at the site's own control depth ``n``: where most sites of a class
   show no error the moment estimate of the between-site variance is zero or
   noise and ``M`` would be unbounded, pulling a site with its own errors far
   below them (anti-conservative: the leave-one-out calibration of the
   benchmarks showed p-values of 1e-8 at such sites in healthy controls).
3. **Over-dispersion.**  The beta-binomial intra-class correlation ``rho``
   across included controls (method of moments on the strand-combined alt
   fraction), floored by the rate's sample-to-sample variation pooled over
   the substitution type (:func:`_relative_dispersion`), plus the posterior
   uncertainty of the rate itself (``1 / (n + M + 1)``), is stored per (site,
   alt) and used by :func:`deepamp.models.background.background_tests`.

The per-site loops over sites x controls run in numba (``@njit(cache=True)``),
imported only when a background is learned.

Indel events
------------
Every control's indel events are left-normalised and merged as in
:mod:`deepamp.calling.indels`; for each distinct (anchor, event) seen in any control
the depth is the control's fragments spanning the junction.  Controls that
carry the event as a real variant are excluded with the same rules and
thresholds as for substitutions (germline-level fraction, or a Bonferroni
binomial outlier against the other controls over events x controls).  The
rate is the posterior mean ``(k + 1/2) / (n + 1)`` over the included controls
(Jeffreys prior) and the dispersion is the method-of-moments beta-binomial
rho across controls plus the posterior uncertainty ``1 / (n + 2)``, capped at
``max_rho``.  Events never seen in the controls get the same posterior with
k = 0 over the controls' total junction depth at the anchor (stored per
position), so a tumour event is always tested against what the controls
could have shown.

File format: see :mod:`deepamp.models.background`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from deepamp.errors import InputFileError, ReferenceFileError
from deepamp.options import DEFAULT_MATE_MEMORY, CountOptions
from deepamp.models.background import (BASES, FORMAT_NAME, FORMAT_VERSION, VILLA_THRESHOLD_RATIO, Background,
                                       BackgroundParams, mismatch_rate, panel_hash)

__all__ = ["learn", "learn_from_counts"]


def _kernels():
    """Compile (or load from cache) the numba kernels; numba is imported only here."""
    from numba import njit

    @njit(cache=True)
    def class_prior(ks_all, ns_all, cls, ncls):
        """Per (class, strand) method-of-moments beta prior (mean, pseudo-depth M)."""
        P = ks_all.shape[0]
        K = np.zeros((ncls, 2))
        N = np.zeros((ncls, 2))
        S = np.zeros((ncls, 2))     # sum n_site * r_site^2
        W = np.zeros((ncls, 2))     # number of sites
        for p in range(P):
            for a in range(4):
                c = cls[p, a]
                if c < 0:
                    continue
                for s in range(2):
                    ks = ks_all[p, a, s]
                    ns = ns_all[p, a, s]
                    if ns > 0:
                        K[c, s] += ks
                        N[c, s] += ns
                        S[c, s] += ks * ks / ns
                        W[c, s] += 1.0
        mu = np.zeros((ncls, 2))
        M = np.zeros((ncls, 2))
        for c in range(ncls):
            for s in range(2):
                if N[c, s] <= 0:
                    continue
                m = (K[c, s] + 0.5) / (N[c, s] + 1.0)
                mu[c, s] = m
                # depth-weighted between-site variance, minus the binomial part
                var = S[c, s] / N[c, s] - (K[c, s] / N[c, s]) ** 2
                nbar = N[c, s] / W[c, s]
                between = var - m * (1.0 - m) / nbar
                if between <= 0.0:
                    M[c, s] = 1e6
                else:
                    M[c, s] = min(max(m * (1.0 - m) / between - 1.0, 10.0), 1e6)
        return mu, M

    @njit(cache=True)
    def site_fit(k, n, include, ks_all, ns_all, cls, mu, M, cv2, max_rho):
        """Posterior-mean rates (P,4,2) and beta-binomial rho (P,4) per site and alt; ``cv2`` (P,4) is
        the squared coefficient of variation of the rate between controls pooled over the substitution
        type, the floor of the site's own estimate."""
        P = k.shape[0]
        J = k.shape[3]
        rate = np.zeros((P, 4, 2))
        rho = np.zeros((P, 4))
        used = np.zeros((P, 4), np.int16)
        for p in range(P):
            for a in range(4):
                c = cls[p, a]
                if c < 0:
                    continue
                ntot = 0.0
                rsum = 0.0
                for s in range(2):
                    ks = ks_all[p, a, s]
                    ns = ns_all[p, a, s]
                    prior_m = M[c, s] if mu[c, s] > 0 else 1.0
                    if ns > 0:
                        prior_m = min(prior_m, ns)      # the class never outweighs the site's own controls
                    prior_mu = mu[c, s] if mu[c, s] > 0 else 1e-6
                    rate[p, a, s] = (ks + prior_m * prior_mu) / (ns + prior_m)
                    ntot += ns + prior_m
                    rsum += rate[p, a, s] * (ns + prior_m)
                r_site = rsum / ntot
                # method-of-moments rho over controls (strands combined)
                nj = 0
                sk = 0.0
                sn = 0.0
                sn2 = 0.0
                for j in range(J):
                    if include[p, a, j] and n[p, 0, j] + n[p, 1, j] > 0:
                        nj += 1
                        sk += k[p, a, 0, j] + k[p, a, 1, j]
                        dn = n[p, 0, j] + n[p, 1, j]
                        sn += dn
                        sn2 += dn * dn
                used[p, a] = nj
                r_between = 0.0
                if nj >= 2 and sk > 0:
                    pbar = sk / sn
                    ss = 0.0
                    for j in range(J):
                        dn = n[p, 0, j] + n[p, 1, j]
                        if include[p, a, j] and dn > 0:
                            x = (k[p, a, 0, j] + k[p, a, 1, j]) / dn - pbar
                            ss += dn * x * x
                    # E[ss] = pbar(1-pbar) [(J-1) + rho (sn - sn2/sn - (J-1))]
                    denom = pbar * (1.0 - pbar)
                    extra = sn - sn2 / sn - (nj - 1)
                    if denom > 0 and extra > 0:
                        r_between = (ss / denom - (nj - 1)) / extra
                # multiplicative sample-to-sample variation of the rate: rho = cv2 r / (1 - r)
                r_between = min(max(r_between, cv2[p, a] * r_site / (1.0 - r_site), 0.0), max_rho)
                rho[p, a] = min(r_between + 1.0 / (ntot + 1.0), max_rho)
        return rate, rho, used

    return class_prior, site_fit


def _context_classes(ref: np.ndarray, contig: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, int]:
    """Class index (P,4) = trinucleotide context (ref strand) x alt; -1 for the ref base / N sites."""
    P = len(ref)
    code = {b: i for i, b in enumerate("ACGT")}
    r = [code.get(str(b).upper(), 4) for b in ref.tolist()]
    cls = np.full((P, 4), -1, np.int64)
    for i in range(P):
        if r[i] > 3:
            continue
        left = r[i - 1] if i > 0 and contig[i - 1] == contig[i] and pos[i - 1] == pos[i] - 1 else 4
        right = r[i + 1] if i + 1 < P and contig[i + 1] == contig[i] and pos[i + 1] == pos[i] + 1 else 4
        base = ((left * 4 + r[i]) * 5 + right) * 4
        for a in range(4):
            if a != r[i]:
                cls[i, a] = base + a
    return cls, 5 * 4 * 5 * 4


def _relative_dispersion(k: np.ndarray, n: np.ndarray, include: np.ndarray, ref_code: np.ndarray) -> np.ndarray:
    """(P, 4) squared coefficient of variation of the error rate between controls, per substitution type.

    A sample's error rate at a site varies from library to library by a factor
    (polymerase lot, input, cluster density), so the between-control variance
    grows with the square of the rate: ``Var(r_j) = cv2 r^2``.  A site's own
    method-of-moments estimate rests on a handful of controls and is often
    zero by chance; pooled over every site of a substitution type (reference
    x alt base) the unbiased, unclamped site estimates give ``cv2`` stably, as
    deepSNV estimates one over-dispersion for all sites (Gerstung et al. 2012,
    Nat Commun 3:811, Methods).  It floors each site's over-dispersion
    (``rho >= cv2 r / (1 - r)``); with fewer than two controls it is 0.
    """
    P, _, _, J = k.shape
    out = np.zeros((P, 4))
    if J < 2:
        return out
    kc = (k.sum(axis=2) * include).astype(np.float64)                    # (P,4,J) alt per control
    nc = (n.sum(axis=1)[:, None, :] * include).astype(np.float64)        # (P,4,J) depth per control
    used = (nc > 0).sum(axis=2)
    sk, sn = kc.sum(axis=2), nc.sum(axis=2)
    sn2 = (nc ** 2).sum(axis=2)
    pbar = np.divide(sk, sn, out=np.zeros(sk.shape), where=sn > 0)
    x = np.divide(kc, nc, out=np.zeros(kc.shape), where=nc > 0) - pbar[:, :, None]
    ss = (nc * x * x).sum(axis=2)
    # Var between controls of the rate, beyond sampling, from E[ss] (see site_fit):
    # ss = (used - 1) pbar (1 - pbar) + rho pbar (1 - pbar) (sn - sn2/sn - (used - 1))
    extra = sn - np.divide(sn2, sn, out=np.zeros(sn.shape), where=sn > 0) - (used - 1)
    denom = pbar * (1 - pbar)
    ok = (used >= 2) & (sk > 0) & (extra > 0) & (denom > 0)
    var_between = np.zeros(sk.shape)
    var_between[ok] = (ss[ok] - (used[ok] - 1) * denom[ok]) / extra[ok]      # = rho pbar (1 - pbar), unclamped
    alt = np.arange(4)[None, :]
    kind = np.where((ref_code[:, None] < 4) & (alt != ref_code[:, None]), np.minimum(ref_code, 3)[:, None] * 4 + alt,
                    -1)
    for t in np.unique(kind[ok & (kind >= 0)]):
        sel = ok & (kind == t)
        num, den = var_between[sel].sum(), (pbar[sel] ** 2).sum()
        if den > 0:
            out[kind == t] = max(num / den, 0.0)
    return out


def _outliers(k: np.ndarray, n: np.ndarray, ref_code: np.ndarray, params: BackgroundParams
              ) -> np.ndarray:
    """Boolean (P, 4, J): control j carries a real variant for (site, alt)."""
    import deepamp._stats as _stats

    kc = k.sum(axis=2).astype(np.int64)          # (P,4,J)
    nc = n.sum(axis=1).astype(np.int64)          # (P,J)
    P, _, J = kc.shape
    ncb = np.broadcast_to(nc[:, None, :], kc.shape)
    af = np.divide(kc, ncb, out=np.zeros(kc.shape), where=ncb > 0)
    out = af >= params.germline_af
    alt_ok = np.ones((P, 4), bool)
    alt_ok[np.arange(P), np.minimum(ref_code, 3)] = False
    alt_ok &= (ref_code < 4)[:, None]
    out &= alt_ok[:, :, None]
    if J >= 2:
        k_oth = kc.sum(axis=2, keepdims=True) - kc
        n_oth = ncb.sum(axis=2, keepdims=True) - ncb
        r_oth = (k_oth + 0.5) / (n_oth + 1.0)
        cand = alt_ok[:, :, None] & (ncb > 0) & (af >= params.outlier_min_af) & \
            (af >= params.outlier_min_ratio * r_oth)
        idx = np.nonzero(cand)
        if idx[0].size:
            logp = _stats.logsf_binom(kc[idx], ncb[idx], np.minimum(r_oth[idx], 1.0))
            m = max(1, 3 * P * J)
            sig = logp + math.log(m) < math.log(params.outlier_alpha)
            out[tuple(i[sig] for i in idx)] = True
    return out


def _learn_indels(counts_list: list, names: list[str], params: BackgroundParams
                  ) -> tuple[dict[str, np.ndarray], list[dict[str, Any]]]:
    """Indel arrays (see the module docstring) and the excluded (control, event) entries."""
    import deepamp._stats as _stats
    from deepamp.counting.indel_table import collect_events

    tables = [collect_events(c) for c in counts_list]
    jd = np.stack([c.junction_depth().sum(axis=1) for c in counts_list], axis=-1)     # (P, J)
    first = counts_list[0]
    row = {(c, int(p)): i for i, (c, p) in enumerate(zip(first.contig.astype(str).tolist(), first.pos.tolist()))}
    info: dict[tuple[str, int, int, str], tuple[str, str]] = {}
    for t in tables:
        for key, r, a in zip(t.keys(), t.ref.tolist(), t.alt.tolist()):
            info.setdefault(key, (r, a))
    keys = sorted(info, key=lambda k: (row[(k[0], k[1])], k[2] < 0, abs(k[2]), k[3]))
    E, J = len(keys), len(counts_list)
    index = {k: e for e, k in enumerate(keys)}
    rows = np.array([row[(k[0], k[1])] for k in keys], dtype=np.int64)
    k = np.zeros((E, J), np.int64)
    n = jd[rows].astype(np.int64) if E else np.zeros((0, J), np.int64)
    for j, t in enumerate(tables):
        for key, cnt, dep in zip(t.keys(), t.count.sum(axis=1), t.depth.sum(axis=1)):
            e = index[key]
            k[e, j] = cnt
            n[e, j] = max(n[e, j], dep)
    af = np.divide(k, n, out=np.zeros(k.shape), where=n > 0)
    outl = af >= params.germline_af
    if J >= 2 and E:
        k_oth = k.sum(axis=1, keepdims=True) - k
        n_oth = n.sum(axis=1, keepdims=True) - n
        r_oth = (k_oth + 0.5) / (n_oth + 1.0)
        cand = (n > 0) & (af >= params.outlier_min_af) & (af >= params.outlier_min_ratio * r_oth)
        idx = np.nonzero(cand)
        if idx[0].size:
            logp = _stats.logsf_binom(k[idx], n[idx], np.minimum(r_oth[idx], 1.0))
            sig = logp + math.log(max(1, E * J)) < math.log(params.outlier_alpha)
            outl[tuple(i[sig] for i in idx)] = True
    inc = ~outl
    ks, ns = (k * inc).sum(axis=1), (n * inc).sum(axis=1)
    rate = (ks + 0.5) / (ns + 1.0)
    # method-of-moments beta-binomial rho across the included controls (as for substitutions)
    used = (inc & (n > 0)).sum(axis=1)
    pbar = np.divide(ks, ns, out=np.zeros(E), where=ns > 0)
    x = np.divide(k, n, out=np.zeros(k.shape), where=n > 0) - pbar[:, None]
    ss = (n * x * x * (inc & (n > 0))).sum(axis=1)
    sn2 = (n.astype(np.float64) ** 2 * inc).sum(axis=1)
    denom = pbar * (1.0 - pbar)
    extra = ns - np.divide(sn2, ns, out=np.zeros(E), where=ns > 0) - (used - 1)
    ok = (used >= 2) & (ks > 0) & (denom > 0) & (extra > 0)
    between = np.zeros(E)
    between[ok] = (ss[ok] / denom[ok] - (used[ok] - 1)) / extra[ok]
    rho = np.minimum(np.clip(between, 0.0, params.max_rho) + 1.0 / (ns + 2.0), params.max_rho)
    excluded = []
    for e, j in zip(*np.nonzero(outl)):
        key = keys[e]
        n_o = int(n[e].sum() - n[e, j])
        excluded.append({"control": names[j], "contig": key[0], "pos": key[1], "ref": info[key][0],
                         "alt": info[key][1], "af": float(af[e, j]),
                         "others_rate": float((k[e].sum() - k[e, j]) / n_o) if n_o else 0.0,
                         "reason": "germline-level alt fraction" if af[e, j] >= params.germline_af
                         else "binomial outlier vs other controls"})
    arrays = {"indel_contig": np.array([kk[0] for kk in keys], dtype=str),
              "indel_pos": np.array([kk[1] for kk in keys], dtype=np.int64),
              "indel_length": np.array([kk[2] for kk in keys], dtype=np.int64),
              "indel_sequence": np.array([kk[3] for kk in keys], dtype=str),
              "indel_rate": rate.astype(np.float64), "indel_dispersion": rho.astype(np.float64),
              "indel_n_controls_used": used.astype(np.int16),
              "junction_depth": jd.sum(axis=1).astype(np.int64)}
    return arrays, excluded


def learn_from_counts(counts_list: list, names: list[str], params: BackgroundParams | None = None
                      ) -> Background:
    """Learn a background from CountResults of the controls (same panel and reference).

    Raises
    ------
    ReferenceFileError
        Controls were counted on different panels or references.
    InputFileError
        A control has no coverage on the panel.
    """
    params = params or BackgroundParams()
    if not counts_list:
        raise InputFileError("deepamp background needs at least one control BAM")
    first = counts_list[0]
    for c, name in zip(counts_list[1:], names[1:]):
        if c.options is not None and first.options is not None and c.options != first.options:
            raise ReferenceFileError(f"{name}: control was counted with other options than {names[0]} "
                                     f"({'; '.join(c.options.differences(first.options))})")
    h0 = panel_hash(first.contig.astype(str), first.pos, first.ref.astype(str))
    for c, name in zip(counts_list, names):
        if len(c.pos) != len(first.pos) or panel_hash(c.contig.astype(str), c.pos, c.ref.astype(str)) != h0:
            raise ReferenceFileError(f"{name}: control was counted on another panel or reference than "
                                     f"{names[0]}")
        if int(c.counts[:, :4, :].sum()) == 0:
            raise InputFileError(f"{name}: control has no coverage on the panel (no counted bases)")
    ref_code = first.ref_code.astype(np.int64)
    k = np.stack([c.counts[:, :4, :].astype(np.int64) for c in counts_list], axis=-1)   # (P,4,2,J)
    n = k.sum(axis=1)                                                                     # (P,2,J)
    outl = _outliers(k, n, ref_code, params)
    include = ~outl
    cls, ncls = _context_classes(first.ref.astype(str), first.contig.astype(str), first.pos)
    class_prior, site_fit = _kernels()
    # alt and depth counts per site x alt x strand, pooled over the included controls
    inc = include[:, :, None, :]
    ks_all = (k * inc).sum(axis=3).astype(np.float64)                        # (P,4,2)
    ns_all = (n[:, None, :, :] * inc).sum(axis=3).astype(np.float64)         # (P,4,2)
    mu, M = class_prior(ks_all, ns_all, cls, ncls)
    cv2 = _relative_dispersion(k, n, include, ref_code)
    rate, rho, used = site_fit(k, n, include, ks_all, ns_all, cls, mu, M, cv2, params.max_rho)
    indel_arrays, excluded_indels = _learn_indels(counts_list, names, params)

    controls = []
    tot_mm = tot_b = 0
    for j, (c, name) in enumerate(zip(counts_list, names)):
        mm, b = mismatch_rate(c.counts, ref_code)
        mm -= int(k[..., j].sum(axis=2)[outl[:, :, j]].sum())   # real variants are not errors
        tot_mm += mm
        tot_b += b
        controls.append({"name": name, "mismatches": mm, "bases": b, "mismatch_rate": mm / b if b else 0.0,
                         "mean_depth": float(c.depth.mean()) if len(c.pos) else 0.0})
    pooled = tot_mm / tot_b if tot_b else 0.0
    excluded = []
    kc = k.sum(axis=2)
    nc = n.sum(axis=1)
    others = kc.sum(axis=2)
    for p, a, j in zip(*np.nonzero(outl)):
        n_oth = int(nc[p].sum() - nc[p, j])
        excluded.append({"control": names[j], "contig": str(first.contig[p]), "pos": int(first.pos[p]),
                         "ref": str(first.ref[p]), "alt": BASES[a], "af": float(kc[p, a, j] / nc[p, j]),
                         "others_rate": float((others[p, a] - kc[p, a, j]) / n_oth) if n_oth else 0.0,
                         "reason": "germline-level alt fraction" if kc[p, a, j] / nc[p, j] >= params.germline_af
                         else "binomial outlier vs other controls"})
    meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION, "panel_sha256": h0,
            "count_options": None if first.options is None else first.options.to_dict(),
            "fit_params": params.__dict__, "controls": controls, "excluded": excluded,
            "excluded_indels": excluded_indels,
            "summary": {"pooled_mismatch_rate": pooled, "flat_vaf_threshold": VILLA_THRESHOLD_RATIO * pooled,
                        "villa2024_mismatch_rate": 0.0024, "villa2024_flat_vaf_threshold": 0.006},
            "description": "per-site x alt x strand background error rates and per-event indel "
                           "rates; see deepamp.models.background"}
    return Background(first.contig.astype(str), first.pos.astype(np.int64), first.ref.astype(str),
                      rate, rho, used, meta, indels=indel_arrays)


def learn(bams: Sequence[str | os.PathLike[str]], *, reference: str | os.PathLike[str],
          bed: str | os.PathLike[str] | None = None, regions: Sequence[str] | None = None,
          options: CountOptions | None = None, params: BackgroundParams | None = None, threads: int = 1,
          mate_memory: int = DEFAULT_MATE_MEMORY, progress: Callable[[int, int, str], None] | None = None,
          **overrides: Any) -> Background:
    """Count every control BAM with :func:`deepamp.count` (same options) and learn the background.

    Parameters
    ----------
    bams : the healthy-control BAM/CRAM files (each counted once)
    reference, bed, regions : the panel, as for :func:`deepamp.count`
    options : CountOptions of the controls (keyword overrides of its fields allowed); a
        sample tested against this background must be counted alike
    params : BackgroundParams of the fit
    threads, mate_memory : as for :func:`deepamp.count`
    progress : called as ``progress(done, total, bam)`` after each control

    Raises
    ------
    InputFileError
        No control, the same control twice, or any error of counting a control.
    """
    from deepamp.counting.bam import count, count_options

    if not bams:
        raise InputFileError("a background needs at least one control BAM")
    paths = [os.fspath(b) for b in bams]
    seen: dict[str, str] = {}
    for p in paths:
        key = os.path.realpath(p)
        if key in seen:
            raise InputFileError(f"{p}: the same control is given twice (also as {seen[key]}); "
                                 "each control must be counted once")
        seen[key] = p
    opts = count_options(options, **overrides)
    counts = []
    for i, b in enumerate(paths):
        counts.append(count(b, regions or None, bed=bed, reference=reference, options=opts, qual_hist=False,
                            threads=threads, mate_memory=mate_memory))
        if progress is not None:
            progress(i + 1, len(paths), b)
    return learn_from_counts(counts, paths, params)
