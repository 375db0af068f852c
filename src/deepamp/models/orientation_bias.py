"""Read-orientation artefacts (F1R2 / F2R1): how likely is a call one, given the sample's own errors?

Damage of one template strand before amplification -- above all the
oxidation of guanine to 8-oxo-G, read as G>T / C>A (Costello et al. 2013,
Nucleic Acids Res 41:e67) -- puts the artefactual base into fragments of one
orientation only, whereas a real variant is carried by both orientations in the
proportion of the reference allele at the site.  Following the idea of GATK's
read-orientation model (a prior learned from the whole sample, then a
per-site posterior), simplified to what a panel needs:

1. For each substitution type (reference base > alt base, 12 types), the
   alt fragments of every candidate site of the sample are pooled by
   orientation.  The type's *artefact share* ``w`` is the excess of alt
   fragments in the more frequent orientation over the reference fragments'
   share in it: ``w = max(0, (f - q) / (1 - q))`` (``f`` the alt share, ``q``
   the ref share in that orientation).  No artefact process: ``w`` near 0.
2. For a call with ``a`` alt fragments, ``a*`` of them in that orientation, and a
   reference share ``q_s`` in it at the site, the likelihoods are
   ``real: q_s^a* (1-q_s)^(a-a*)`` and ``artefact: t^a* (1-t)^(a-a*)`` with
   ``t = 0.98`` (a little leakage), and the posterior probability of an
   artefact is ``w L_art / (w L_art + (1-w) L_real)``.

A call is flagged (FILTER ``orientation_bias``) when that posterior exceeds a
threshold (default 0.5) for a type whose artefact share is at least
``MIN_SHARE``.  Only meaningful for capture data: in amplicon data the
orientation of every read is fixed by the primers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["TypeArtefacts", "type_artefacts", "artefact_posterior", "LEAKAGE", "MIN_SHARE"]

#: Share of an artefact's fragments allowed in the other orientation.
LEAKAGE = 0.02
#: Artefact share of a substitution type below which no call of it is flagged.
MIN_SHARE = 0.2


@dataclass(frozen=True)
class TypeArtefacts:
    """Per substitution type (ref * 4 + alt): the artefact orientation (0 F1R2, 1 F2R1) and share."""

    orientation: np.ndarray     # int8 (16,)
    share: np.ndarray           # float64 (16,)
    alt_fragments: np.ndarray   # int64 (16,) alt fragments pooled


def type_artefacts(ref_code: np.ndarray, alt_code: np.ndarray, counts: np.ndarray) -> TypeArtefacts:
    """Artefact orientation and share per substitution type, pooled over candidate sites.

    Parameters
    ----------
    ref_code, alt_code : (S,) base codes 0..3 of the sites' reference and candidate alt
    counts : (S, 4, 2) fragments by base and orientation (:func:`deepamp.counting.orientation.orientation_counts`)
    """
    ref_code = np.asarray(ref_code, np.int64)
    alt_code = np.asarray(alt_code, np.int64)
    c = np.asarray(counts, np.int64)
    idx = np.arange(len(ref_code))
    alt = c[idx, alt_code] if len(idx) else np.zeros((0, 2), np.int64)
    ref = c[idx, ref_code] if len(idx) else np.zeros((0, 2), np.int64)
    types = ref_code * 4 + alt_code
    orientation = np.zeros(16, np.int8)
    share = np.zeros(16)
    pooled = np.zeros(16, np.int64)
    for t in np.unique(types):
        sel = types == t
        a, r = alt[sel].sum(axis=0), ref[sel].sum(axis=0)
        if a.sum() == 0 or r.sum() == 0:
            continue
        o = int(np.argmax(a / a.sum() - r / r.sum()))
        f, q = a[o] / a.sum(), r[o] / r.sum()
        orientation[t], share[t], pooled[t] = o, max(0.0, (f - q) / (1.0 - q)) if q < 1 else 0.0, a.sum()
    return TypeArtefacts(orientation, share, pooled)


def artefact_posterior(ref_code: np.ndarray, alt_code: np.ndarray, counts: np.ndarray,
                       types: TypeArtefacts) -> np.ndarray:
    """Posterior probability that each call is an orientation artefact (0 where its type shows none)."""
    ref_code = np.asarray(ref_code, np.int64)
    alt_code = np.asarray(alt_code, np.int64)
    c = np.asarray(counts, np.float64)
    n = len(ref_code)
    out = np.zeros(n)
    if n == 0:
        return out
    idx = np.arange(n)
    t = ref_code * 4 + alt_code
    o = types.orientation[t].astype(np.int64)
    w = types.share[t]
    a_in = c[idx, alt_code, o]
    a_out = c[idx, alt_code, 1 - o]
    r_in = c[idx, ref_code, o]
    r_out = c[idx, ref_code, 1 - o]
    q = (r_in + 0.5) / (r_in + r_out + 1.0)                         # the site's reference share, smoothed
    log_real = a_in * np.log(q) + a_out * np.log1p(-q)
    log_art = a_in * np.log1p(-LEAKAGE) + a_out * np.log(LEAKAGE)
    use = w >= MIN_SHARE
    w_u = np.clip(w[use], 1e-9, 1 - 1e-9)
    num = np.log(w_u) + log_art[use]
    den = np.logaddexp(num, np.log1p(-w_u) + log_real[use])
    out[use] = np.exp(num - den)
    return out
