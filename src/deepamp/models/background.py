"""A learned per-site error background: the file, its lookup and the background test.

The background holds, per panel position, alternative base and strand, the
error rate of that substitution at that site with its over-dispersion across
controls, and per indel event its rate (see :mod:`deepamp.models.background_fit`
for how they are learned from healthy controls).  :func:`background_tests`
tests a sample's alt counts against it.

Summary figure
--------------
Villa et al. 2024 summarised their controls as mismatches per mapped base
(0.0024) and used a flat 0.6 % VAF threshold, i.e. 2.5 x that figure.  The
background reports the same figure per control and pooled (non-reference
A/C/G/T bases / all counted A/C/G/T bases) and the flat threshold the same
ratio implies (``VILLA_THRESHOLD_RATIO`` x pooled figure).

File format (version 2)
-----------------------
A numpy ``.npz`` (no pickles) with arrays ``contig`` (str, P), ``pos``
(int64, P, 0-based), ``ref`` (str, P), ``rate`` (float64, P x 4 x 2: alt base
A/C/G/T x strand fwd/rev; the reference column is 0), ``dispersion``
(float64, P x 4), ``n_controls_used`` (int16, P x 4) and ``meta``: a JSON
string with ``format`` = "deepamp-background", ``version`` = 1,
``panel_sha256`` (hash of contig, position and reference base of every
position), the counting parameters, the controls and their summary figures,
and the excluded (control, site, alt) entries (``excluded_indels`` for
events).  Indel arrays: ``indel_contig``, ``indel_pos`` (anchor, 0-based),
``indel_length`` (> 0 insertion, < 0 deletion), ``indel_sequence``,
``indel_rate``, ``indel_dispersion``, ``indel_n_controls_used`` per event and
``junction_depth`` (int64, P: control fragments spanning p -> p+1, summed).
Version 1 files (no indel arrays) are rejected.  :func:`load` rejects other
formats and versions, and :meth:`Background.lookup` rejects counts from a
different panel or reference.
"""


from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from deepamp.errors import FormatError, InputFileError, ReferenceFileError
from deepamp.models.quality import SiteTests, alt_table, candidates, check_counts
from deepamp.options import CountOptions

FORMAT_NAME = "deepamp-background"
FORMAT_VERSION = 2
BASES = "ACGT"
INDEL_ARRAYS = ("indel_contig", "indel_pos", "indel_length", "indel_sequence", "indel_rate",
                "indel_dispersion", "indel_n_controls_used", "junction_depth")
#: Villa et al. 2024: 0.6 % flat VAF threshold / 0.0024 mismatches per mapped base.
VILLA_THRESHOLD_RATIO = 0.006 / 0.0024

__all__ = ["Background", "BackgroundParams", "background_tests", "load", "panel_hash", "mismatch_rate",
           "FORMAT_VERSION"]


def panel_hash(contig: np.ndarray, pos: np.ndarray, ref: np.ndarray) -> str:
    """SHA-256 of (contig, 0-based position, reference base) of every panel position."""
    h = hashlib.sha256()
    for c, p, r in zip(contig.tolist(), pos.tolist(), ref.tolist()):
        h.update(f"{c}\t{p}\t{r}\n".encode())
    return h.hexdigest()


def mismatch_rate(counts: np.ndarray, ref_code: np.ndarray) -> tuple[int, int]:
    """(non-reference A/C/G/T bases, all A/C/G/T bases) at sites with an A/C/G/T reference."""
    acgt = counts[:, :4, :].sum(axis=2, dtype=np.int64)
    ok = ref_code < 4
    total = int(acgt[ok].sum())
    refb = int(acgt[np.flatnonzero(ok), ref_code[ok]].sum())
    return total - refb, total


@dataclass(frozen=True)
class BackgroundParams:
    """Fitting options (principled defaults, not tuned to any data set)."""

    outlier_alpha: float = 0.001
    outlier_min_af: float = 0.01
    outlier_min_ratio: float = 5.0
    germline_af: float = 0.2
    max_rho: float = 0.2


@dataclass
class Background:
    """A learned background; see the module docstring for the meaning of each array."""

    contig: np.ndarray
    pos: np.ndarray
    ref: np.ndarray
    rate: np.ndarray            # (P, 4, 2)
    dispersion: np.ndarray      # (P, 4)
    n_controls_used: np.ndarray  # (P, 4)
    meta: dict[str, Any] = field(default_factory=dict)
    path: str = "<memory>"
    indels: dict[str, np.ndarray] = field(default_factory=dict)   # indel_* arrays, junction_depth

    @property
    def pooled_mismatch_rate(self) -> float:
        return float(self.meta["summary"]["pooled_mismatch_rate"])

    @property
    def flat_vaf_threshold(self) -> float:
        return float(self.meta["summary"]["flat_vaf_threshold"])

    @property
    def panel_sha256(self) -> str:
        return str(self.meta["panel_sha256"])

    @property
    def count_options(self) -> CountOptions | None:
        """The CountOptions the controls were counted with (None if the file does not say)."""
        stored = self.meta.get("count_options")
        if stored is None:
            old = self.meta.get("count_params", {})
            keys = ("min_bq", "min_alt_bq", "min_mapq", "flag_exclude", "merge_mates")
            if not all(k in old for k in keys):
                return None
            stored = {k: old[k] for k in keys}
        return CountOptions.from_dict(stored)

    def check_counted_like(self, options: CountOptions | None, what: str = "the sample") -> None:
        """Refuse counts made with other counting options than the controls'.

        Raises
        ------
        ReferenceFileError
            ``<background>: controls were counted with min_bq 6 vs 10 ...``.
        """
        mine = self.count_options
        if mine is None or options is None:
            return
        diff = mine.differences(options)
        if diff:
            raise ReferenceFileError(f"{self.path}: the controls were counted with other options than {what} "
                                     f"({'; '.join(diff)}); count both alike or learn the background again")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the versioned ``.npz`` atomically."""
        import io

        from deepamp.io.outputs import output_bytes

        buf = io.BytesIO()
        np.savez_compressed(buf, contig=self.contig.astype(str), pos=self.pos.astype(np.int64),
                            ref=self.ref.astype(str), rate=self.rate, dispersion=self.dispersion,
                            n_controls_used=self.n_controls_used.astype(np.int16),
                            meta=np.array(json.dumps(self.meta, sort_keys=True)), **self.indels)
        output_bytes(path, buf.getvalue())

    def lookup(self, contig: np.ndarray, pos: np.ndarray, ref: np.ndarray
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(rate_fwd (P,4), rate_rev (P,4), dispersion (P,4)) for the given panel positions.

        Raises
        ------
        ReferenceFileError
            A position is not in the background (other panel) or its reference
            base differs (other reference).
        """
        index = {(c, int(p)): i for i, (c, p) in enumerate(zip(self.contig.tolist(), self.pos.tolist()))}
        rows = np.empty(len(pos), np.int64)
        missing = 0
        first_missing = None
        for j, (c, p) in enumerate(zip(contig.tolist(), pos.tolist())):
            i = index.get((c, int(p)), -1)
            rows[j] = i
            if i < 0:
                missing += 1
                first_missing = first_missing or f"{c}:{int(p) + 1}"
        if missing:
            raise ReferenceFileError(
                f"{self.path}: background does not match the panel: {missing} of {len(pos)} positions "
                f"(first {first_missing}) were not in its controls; learn it with the same BED")
        bad = np.flatnonzero(self.ref[rows].astype(str) != np.asarray(ref).astype(str))
        if bad.size:
            j = int(bad[0])
            raise ReferenceFileError(
                f"{self.path}: background was learned on another reference: {contig[j]}:{int(pos[j]) + 1} "
                f"is {self.ref[rows[j]]} there but {ref[j]} in this reference")
        return (self.rate[rows, :, 0].copy(), self.rate[rows, :, 1].copy(), self.dispersion[rows].copy())

    def indel_lookup(self, keys: list[tuple[str, int, int, str]]) -> tuple[np.ndarray, np.ndarray]:
        """(rate, dispersion) per (contig, anchor, length, sequence) of normalised indel events.

        Events not seen in the controls get the zero-count posterior over the
        controls' junction depth at the anchor (see the module docstring).

        Raises
        ------
        ReferenceFileError
            An anchor is not a position of the background's panel.
        """
        ind = self.indels
        known = {k: i for i, k in enumerate(zip(ind["indel_contig"].astype(str).tolist(),
                                                 ind["indel_pos"].tolist(), ind["indel_length"].tolist(),
                                                 ind["indel_sequence"].astype(str).tolist()))}
        row = {(c, int(p)): i for i, (c, p) in enumerate(zip(self.contig.astype(str).tolist(),
                                                             self.pos.tolist()))}
        max_rho = float(self.meta.get("fit_params", {}).get("max_rho", BackgroundParams.max_rho))
        rate = np.empty(len(keys))
        rho = np.empty(len(keys))
        for j, key in enumerate(keys):
            i = known.get((key[0], int(key[1]), int(key[2]), key[3]))
            if i is not None:
                rate[j], rho[j] = ind["indel_rate"][i], ind["indel_dispersion"][i]
                continue
            r = row.get((key[0], int(key[1])))
            if r is None:
                raise ReferenceFileError(f"{self.path}: background does not match the panel: indel anchor "
                                         f"{key[0]}:{int(key[1]) + 1} was not in its controls")
            n = float(ind["junction_depth"][r])
            rate[j], rho[j] = 0.5 / (n + 1.0), min(1.0 / (n + 2.0), max_rho)
        return rate, rho

    def summary_lines(self) -> list[str]:
        """Human-readable summary (per control, pooled, implied threshold, exclusions)."""
        s = self.meta["summary"]
        out = []
        for c in self.meta["controls"]:
            out.append(f"control {c['name']}: {c['mismatches']} mismatches / {c['bases']} bases = "
                       f"{c['mismatch_rate']:.5f} per mapped base")
        out.append(f"pooled: {s['pooled_mismatch_rate']:.5f} mismatches per mapped base "
                   f"(Villa 2024: 0.0024 -> flat 0.6% VAF); implied flat VAF threshold "
                   f"{s['flat_vaf_threshold']:.4f}")
        ex = self.meta["excluded"]
        out.append(f"excluded {len(ex)} (control, site, alt) entries as real variants")
        for e in ex[:20]:
            out.append(f"  excluded {e['control']} at {e['contig']}:{e['pos'] + 1} {e['ref']}>{e['alt']} "
                       f"(alt fraction {e['af']:.4f}, others {e['others_rate']:.2e}, {e['reason']})")
        if len(ex) > 20:
            out.append(f"  ... and {len(ex) - 20} more (see the file's metadata)")
        exi = self.meta.get("excluded_indels", [])
        out.append(f"indel events: {len(self.indels.get('indel_pos', ()))} learned, {len(exi)} "
                   f"(control, event) entries excluded as real variants")
        for e in exi[:20]:
            out.append(f"  excluded {e['control']} at {e['contig']}:{e['pos'] + 1} {e['ref']}>{e['alt']} "
                       f"(fraction {e['af']:.4f}, others {e['others_rate']:.2e}, {e['reason']})")
        return out


def load(path: str | os.PathLike[str]) -> Background:
    """Load a background file.

    Raises
    ------
    InputFileError
        Missing or not a deepamp background file.
    FormatError
        A background file of another format version.
    """
    from deepamp.io.npz import open_npz

    path = os.fspath(path)
    with open_npz(path, "background file") as z:
        if "meta" not in z.files:
            raise InputFileError(f"{path}: not a deepamp background file (no metadata)")
        try:
            meta = json.loads(str(z["meta"]))
        except ValueError:
            raise InputFileError(f"{path}: not a deepamp background file (bad metadata)") from None
        if meta.get("format") != FORMAT_NAME:
            raise InputFileError(f"{path}: not a deepamp background file")
        if meta.get("version") != FORMAT_VERSION:
            raise FormatError(f"{path}: background file format version {meta.get('version')}; this deepamp "
                              f"reads version {FORMAT_VERSION}: re-run deepamp background on the controls")
        need = ("contig", "pos", "ref", "rate", "dispersion", "n_controls_used") + INDEL_ARRAYS
        if any(k not in z.files for k in need):
            raise FormatError(f"{path}: background file is missing arrays")
        bg = Background(z["contig"], z["pos"], z["ref"], z["rate"], z["dispersion"], z["n_controls_used"],
                        meta, path, {k: z[k] for k in INDEL_ARRAYS})
    P = len(bg.pos)
    E = len(bg.indels["indel_pos"])
    if bg.rate.shape != (P, 4, 2) or bg.dispersion.shape != (P, 4) or \
            bg.indels["junction_depth"].shape != (P,) or \
            any(bg.indels[k].shape[:1] != (E,) for k in INDEL_ARRAYS if k != "junction_depth"):
        raise FormatError(f"{path}: background arrays have inconsistent shapes")
    if panel_hash(bg.contig.astype(str), bg.pos, bg.ref.astype(str)) != meta.get("panel_sha256"):
        raise FormatError(f"{path}: background file is corrupt (panel hash does not match its positions)")
    return bg


def background_tests(counts, ref_code, rate_fwd, rate_rev, dispersion=None) -> SiteTests:
    """Test alt counts against a per-site, per-strand background error rate.

    Strands are combined by testing the total alt count on the total
    A+C+G+T depth ``d = d_f + d_r`` at the depth-weighted rate
    ``r = (d_f r_f + d_r r_r) / d``.  This has the same mean as the exact
    sum of the two per-strand binomials and a variance at least as large,
    so its tail is never anti-conservative in the far tail relevant here.
    Without ``dispersion`` the null is Binomial(d, r); with a dispersion
    (intra-class correlation) rho it is BetaBinomial(d, a, b) with
    ``a = r (1-rho)/rho``, ``b = (1-r)(1-rho)/rho`` (mean r, overdispersed
    variance ``d r (1-r) (1 + (d-1) rho)``).  A rate of 0 makes any alt
    observation impossible under the null (log p = -inf, QUAL capped).

    Parameters
    ----------
    counts : (P, 7, 2) integer array
    ref_code : (P,) integer array
    rate_fwd, rate_rev : (P, 4) float arrays in [0, 1]
        Background probability that a forward/reverse read shows base b at
        the site in error (columns indexed by alt code; the reference
        column is ignored).
    dispersion : (P, 4) float array in (0, 1), optional
        Beta-binomial rho per site and alt; rho = 0 entries use the
        binomial.

    Returns
    -------
    SiteTests
        Tests with alt count > 0.  ``m`` = 3 x number of testable sites
        (reference A/C/G/T and depth > 0), i.e. zero-count alts are counted
        in the burden (conservative).

    Raises
    ------
    ValueError
        On malformed shapes or rates/dispersions outside their ranges.
    """
    counts, ref_code = check_counts(counts, ref_code)
    P = counts.shape[0]
    rf = np.asarray(rate_fwd, dtype=np.float64)
    rr = np.asarray(rate_rev, dtype=np.float64)
    for name, a in (("rate_fwd", rf), ("rate_rev", rr)):
        if a.shape != (P, 4):
            raise ValueError(f"{name} must have shape (P, 4)")
    if dispersion is not None:
        rho = np.asarray(dispersion, dtype=np.float64)
        if rho.shape != (P, 4):
            raise ValueError("dispersion must have shape (P, 4)")
    testable, depth, acgt = alt_table(counts, ref_code)
    pos, alt, _, _ = candidates(testable, acgt, ref_code)
    m = 3 * int(testable.sum())
    k = acgt[pos, alt].astype(np.int64)
    d = depth[pos].astype(np.int64)
    if pos.size == 0:
        return SiteTests(pos, alt, k, d, np.zeros(0, np.float64), m)

    r_f = rf[pos, alt]
    r_r = rr[pos, alt]
    if not (np.all(np.isfinite(r_f)) and np.all(np.isfinite(r_r))
            and np.all((r_f >= 0) & (r_f <= 1)) and np.all((r_r >= 0) & (r_r <= 1))):
        raise ValueError("background rates must be finite and in [0, 1]")
    d_f = counts[pos, :4, 0].sum(axis=1).astype(np.float64)
    d_r = counts[pos, :4, 1].sum(axis=1).astype(np.float64)
    rate = np.clip((d_f * r_f + d_r * r_r) / (d_f + d_r), 0.0, 1.0)

    import deepamp._stats as st
    logp = st.logsf_binom(k, d, rate)
    if dispersion is not None:
        rh = rho[pos, alt]
        if not (np.all(np.isfinite(rh)) and np.all((rh >= 0) & (rh < 1))):
            raise ValueError("dispersion must be finite and in [0, 1)")
        use = (rh > 0) & (rate > 0) & (rate < 1)
        if np.any(use):
            s = (1.0 - rh[use]) / rh[use]
            logp[use] = st.logsf_betabinom(k[use], d[use], rate[use] * s,
                                           (1.0 - rate[use]) * s)
    return SiteTests(pos, alt, k, d, logp, m)
