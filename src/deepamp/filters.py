"""Variant filters with ``lofreq filter`` meanings (``deepamp filter``; also applied by ``call``).

Filters (each failing one adds its own FILTER name, declared by a ##FILTER line;
records failing none are PASS):

=================  ===============================  =====================================
option             test                              FILTER name
=================  ===============================  =====================================
``-v/--cov-min``   INFO/DP < v                       ``min_dp_<v>``
``-V/--cov-max``   INFO/DP > V                       ``max_dp_<V>``
``-a/--af-min``    INFO/AF < a                       ``min_af_<a>``
``-A/--af-max``    INFO/AF > A                       ``max_af_<A>``
``-Q``             QUAL < Q                          ``min_snvqual_<Q>`` / ``min_indelqual_<Q>``
``--snvqual-*``    QUAL as p-value, corrected        ``snvqual_<mtc>`` / ``indelqual_<mtc>``
``--sb-*``         strand bias p-value, corrected    ``sb_<mtc>`` (LoFreq SB) or
                                                     ``sba_<mtc>`` (amplicon-aware SBA)
``--max-pop-af``   population AF > max               ``popaf_<max>``
=================  ===============================  =====================================

Indel records (INFO/INDEL, or REF and ALT of different lengths) get every
filter; as in LoFreq, their QUAL is judged in its own family (LoFreq's
``indelqual`` filters, same thresholds here): the corrected QUAL filter
ranks indels among indels only (``--snvqual-ntests`` applies to SNVs).

Every filter is evaluated on its own: unlike ``lofreq filter`` run in one
pass (whose AF filter is silently skipped for records with a huge QUAL),
a record fails ``min_af`` whenever its AF is below the threshold.

Defaults as LoFreq's: ``-v 10`` and strand-bias FDR at 0.001;
``--no-defaults`` switches both off.  Strand bias defaults to the
amplicon-aware test (``--sb-test amplicon``): amplicon ends are read from one
strand only by design, so the alt allele's strand ratio is compared with the
*reference* allele's ratio at the same site (conditional test on DP4), and
only an odds ratio beyond ``--sb-min-or`` (effect-size floor, default 3)
counts as bias: the p-value is the larger of the two one-sided noncentral
hypergeometric tails at odds ratio ``F`` and ``1/F`` (doubled, capped at 1).
Its Phred value is written as INFO/SBA (always finite; no sentinels).
``--sb-test lofreq`` uses INFO/SB (LoFreq's two-sided Fisher test) instead.

Population filter: ``--population-vcf`` (bgzip + tabix/csi index, INFO/AF);
records of it are split into one per ALT allele and trimmed to their minimal
representation (an indel never matches an SNV; left-normalised indels match
left-normalised indels), contig
names ``chr2`` and ``2`` are mapped onto each other.  The matched AF is
written as INFO/POPAF.

Unlike ``lofreq filter`` the output keeps failing records (with their FILTER
names); ``--pass-only`` drops them.
"""

from __future__ import annotations

import argparse
import gzip
import math
import os
import sys
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from deepamp.errors import FormatError, IndexFileError, InputFileError
from deepamp.normalise import trim_alleles

MTC = ("bonf", "holm-bonf", "fdr")
SB_TESTS = ("amplicon", "lofreq")
_LN10 = math.log(10.0)

__all__ = ["FilterParams", "PRESETS", "VcfLine", "read_vcf", "is_indel", "sba_logp", "sba_phred", "mtc_adjust",
           "PopulationVcf", "apply_filters", "filter_vcf", "configure_parser", "run",
           "add_filter_options", "params_from_args"]


@dataclass(frozen=True)
class FilterParams:
    """Thresholds; None switches a filter off."""

    min_cov: int | None = 10
    max_cov: int | None = None
    min_af: float | None = None
    max_af: float | None = None
    min_snvqual: float | None = None
    snvqual_alpha: float | None = None
    snvqual_mtc: str = "bonf"
    snvqual_ntests: int | None = None
    sb_alpha: float | None = 0.001
    sb_mtc: str = "fdr"
    sb_ntests: int | None = None
    sb_test: str = "amplicon"
    sb_min_or: float = 3.0
    max_population_af: float | None = None
    population_vcf: str | None = None

    def __post_init__(self) -> None:
        for name in ("snvqual_mtc", "sb_mtc"):
            if getattr(self, name) not in MTC:
                raise FormatError(f"--{name.replace('_', '-')}: expected one of {', '.join(MTC)}")
        if self.sb_test not in SB_TESTS:
            raise FormatError(f"--sb-test: expected one of {', '.join(SB_TESTS)}")
        for name in ("snvqual_alpha", "sb_alpha"):
            v = getattr(self, name)
            if v is not None and not 0 < v <= 1:
                raise FormatError(f"--{name.replace('_', '-')} must be in (0, 1]")
        if not self.sb_min_or >= 1:
            raise FormatError("--sb-min-or must be >= 1")


NO_DEFAULTS = FilterParams(min_cov=None, sb_alpha=None)

#: Villa et al. 2024: coverage >= 5000, AF >= 0.6 %, QUAL and strand-bias FDR < 0.001,
#: population AF < 1e-5 (min base quality 6 is a counting option of ``call``).
PRESETS: dict[str, FilterParams] = {
    "villa2024": FilterParams(min_cov=5000, min_af=0.006, snvqual_alpha=0.001, snvqual_mtc="fdr",
                              sb_alpha=0.001, sb_mtc="fdr", max_population_af=1e-5),
}


# ---------------------------------------------------------------- VCF input

@dataclass
class VcfLine:
    """A parsed data line; ``info`` values are strings (True for flags)."""

    contig: str
    pos: int
    id: str
    ref: str
    alt: str
    qual: float | None
    filters: list[str]
    info: dict[str, Any]
    line_no: int = 0


def _open_text(path: str):
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
    except FileNotFoundError:
        raise InputFileError(f"{path}: VCF not found") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    if magic == b"\x1f\x8b":
        return gzip.open(path, "rt", encoding="ascii", errors="replace")
    return open(path, encoding="ascii", errors="replace")


def read_vcf(path: str) -> tuple[list[str], list[VcfLine]]:
    """Header lines (``##`` and ``#CHROM``) and data lines of a (b)gzipped or plain VCF.

    Raises
    ------
    InputFileError / FormatError
        Missing file, no ``#CHROM`` header, a line with fewer than 8 columns or
        a non-numeric POS/QUAL.
    """
    header: list[str] = []
    recs: list[VcfLine] = []
    try:
        with _open_text(path) as fh:
            for no, line in enumerate(fh, 1):
                line = line.rstrip("\n\r")
                if not line:
                    continue
                if line.startswith("#"):
                    header.append(line)
                    continue
                f = line.split("\t")
                if len(f) < 8:
                    raise FormatError(f"{path}: line {no}: expected 8 tab-separated VCF columns")
                try:
                    pos = int(f[1])
                    qual = None if f[5] == "." else float(f[5])
                except ValueError:
                    raise FormatError(f"{path}: line {no}: bad POS or QUAL") from None
                info: dict[str, Any] = {}
                if f[7] != ".":
                    for item in f[7].split(";"):
                        k, eq, v = item.partition("=")
                        info[k] = v if eq else True
                filters = [] if f[6] in (".", "PASS") else f[6].split(";")
                recs.append(VcfLine(f[0], pos, f[2], f[3], f[4], qual, filters, info, no))
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputFileError(f"{path}: cannot read VCF ({exc})") from None
    if not header or not header[-1].startswith("#CHROM"):
        raise FormatError(f"{path}: not a VCF (no #CHROM header line)")
    return header, recs


# ---------------------------------------------------------------- statistics

def _logsumexp(x: np.ndarray) -> float:
    top = float(np.max(x))
    if not math.isfinite(top):
        return top
    return top + math.log(float(np.sum(np.exp(x - top))))


def _nc_hypergeom_logpmf(n_fwd: int, n_rev: int, n_alt: int, log_psi: float) -> tuple[int, np.ndarray]:
    """(lowest x, log pmf over x = lo..hi) of alt-forward count given margins, odds ratio e^log_psi."""
    lo, hi = max(0, n_alt - n_rev), min(n_alt, n_fwd)
    x = np.arange(lo, hi, dtype=np.float64)
    step = (np.log(n_alt - x) + np.log(n_fwd - x) - np.log(x + 1) - np.log(n_rev - n_alt + x + 1)) + log_psi
    logpmf = np.concatenate(([0.0], np.cumsum(step)))
    return lo, logpmf - _logsumexp(logpmf)


def sba_logp(ref_fwd: int, ref_rev: int, alt_fwd: int, alt_rev: int, min_or: float = 3.0) -> float:
    """Natural-log p-value of amplicon-aware strand bias.

    H0: the alt allele's forward/reverse odds are within a factor ``min_or``
    of the reference allele's at the same site.  Conditional on the margins
    the alt-forward count is noncentral hypergeometric; the p-value is twice
    the smaller of P(X >= obs | OR = min_or) and P(X <= obs | OR = 1/min_or),
    capped at 1.  ``min_or = 1`` is the ordinary (doubled one-sided) Fisher test.
    """
    ref_fwd, ref_rev, alt_fwd, alt_rev = (int(v) for v in (ref_fwd, ref_rev, alt_fwd, alt_rev))
    if min(ref_fwd, ref_rev, alt_fwd, alt_rev) < 0:
        raise ValueError("DP4 counts must be non-negative")
    if min_or < 1:
        raise ValueError("min_or must be >= 1")
    n_fwd, n_rev, n_alt = ref_fwd + alt_fwd, ref_rev + alt_rev, alt_fwd + alt_rev
    lo, hi = max(0, n_alt - n_rev), min(n_alt, n_fwd)
    if hi <= lo:
        return 0.0
    f = math.log(min_or)
    lo_u, up = _nc_hypergeom_logpmf(n_fwd, n_rev, n_alt, f)
    lo_l, dn = _nc_hypergeom_logpmf(n_fwd, n_rev, n_alt, -f)
    i = alt_fwd - lo
    p_upper = _logsumexp(up[i:])
    p_lower = _logsumexp(dn[: i + 1])
    return min(0.0, math.log(2.0) + min(p_upper, p_lower))


def sba_phred(ref_fwd: int, ref_rev: int, alt_fwd: int, alt_rev: int, min_or: float = 3.0) -> float:
    """INFO/SBA: Phred of :func:`sba_logp`, rounded to 2 decimals (finite)."""
    return round(-10.0 * sba_logp(ref_fwd, ref_rev, alt_fwd, alt_rev, min_or) / _LN10, 2) + 0.0


def mtc_adjust(logp: np.ndarray, mtc: str, m: int | None = None) -> np.ndarray:
    """Adjusted natural-log p-values: "bonf", "holm-bonf" (Holm) or "fdr" (Benjamini-Hochberg)."""
    lp = np.asarray(logp, dtype=np.float64)
    n = lp.size
    if n == 0:
        return lp.copy()
    m = max(int(m) if m else n, n)
    if mtc == "bonf":
        return np.minimum(lp + math.log(m), 0.0)
    order = np.argsort(lp, kind="stable")
    ranks = np.arange(1, n + 1, dtype=np.float64)
    if mtc == "holm-bonf":
        adj = lp[order] + np.log(m - ranks + 1)
        adj = np.maximum.accumulate(adj)
    elif mtc == "fdr":
        adj = lp[order] + math.log(m) - np.log(ranks)
        adj = np.minimum.accumulate(adj[::-1])[::-1]
    else:
        raise ValueError(f"unknown multiple-testing correction {mtc!r}")
    out = np.empty(n)
    out[order] = np.minimum(adj, 0.0)
    return out


def _fmt_thr(v: float) -> str:
    return f"{v:g}"


# ---------------------------------------------------------------- population VCF

class PopulationVcf:
    """Allele frequencies from a bgzipped, indexed VCF with INFO/AF.

    Raises
    ------
    InputFileError / IndexFileError / FormatError
        Missing file, missing .tbi/.csi index, no INFO/AF in the header.
    """

    def __init__(self, path: str):
        import pysam

        self.path = path
        if not os.path.exists(path):
            raise InputFileError(f"{path}: population VCF not found")
        if not (os.path.exists(path + ".tbi") or os.path.exists(path + ".csi")):
            raise IndexFileError(f"{path}: population VCF has no tabix index (.tbi/.csi); "
                                 f"bgzip it and run `tabix -p vcf {path}`")
        try:
            self._tbx = pysam.TabixFile(path)
        except (OSError, ValueError) as exc:
            raise InputFileError(f"{path}: cannot open population VCF ({exc})") from None
        if not any(h.startswith("##INFO=<ID=AF,") for h in self._tbx.header):
            raise FormatError(f"{path}: population VCF has no INFO/AF field in its header")
        self.contigs = set(self._tbx.contigs)
        self._cache: dict[tuple[str, int], dict[tuple[str, str], float]] = {}

    def map_contig(self, contig: str) -> str | None:
        """The file's name for ``contig`` (``chr2`` <-> ``2``), or None if absent."""
        if contig in self.contigs:
            return contig
        alt = contig[3:] if contig.startswith("chr") else "chr" + contig
        if alt in self.contigs:
            return alt
        if contig in ("chrM", "MT"):
            other = "MT" if contig == "chrM" else "chrM"
            return other if other in self.contigs else None
        return None

    def lookup(self, contig: str, pos: int, ref: str, alt: str) -> float | None:
        """AF of the allele (1-based ``pos``) after normalisation, None if not listed."""
        pos, ref, alt = trim_alleles(pos, ref.upper(), alt.upper())
        name = self.map_contig(contig)
        if name is None:
            return None
        key = (name, pos)
        if key not in self._cache:
            table: dict[tuple[str, str], float] = {}
            for line in self._tbx.fetch(name, max(0, pos - 51), pos + 50):
                f = line.split("\t")
                if len(f) < 8:
                    continue
                afs = next((kv[3:].split(",") for kv in f[7].split(";") if kv.startswith("AF=")), None)
                if afs is None:
                    continue
                for a, af in zip(f[4].split(","), afs):
                    p2, r2, a2 = trim_alleles(int(f[1]), f[3].upper(), a.upper())
                    if p2 == pos:
                        try:
                            v = float(af)
                        except ValueError:
                            continue
                        table[(r2, a2)] = max(v, table.get((r2, a2), 0.0))
            self._cache[key] = table
        return self._cache[key].get((ref, alt))


# ---------------------------------------------------------------- applying

def _num(rec_info: dict[str, Any], key: str, where: str, kind=float):
    v = rec_info.get(key)
    if v is None or v is True:
        raise FormatError(f"{where}: INFO/{key} missing")
    try:
        if isinstance(v, (list, tuple)):
            return tuple(int(x) for x in v)
        if kind is tuple:
            return tuple(int(x) for x in str(v).split(","))
        return kind(float(str(v).split(",")[0])) if kind is int else kind(str(v).split(",")[0])
    except ValueError:
        raise FormatError(f"{where}: INFO/{key}={v} is not numeric") from None


def filter_headers(params: FilterParams) -> dict[str, str]:
    """FILTER name -> description of every active filter (for ##FILTER lines)."""
    out: dict[str, str] = {}
    if params.min_cov is not None:
        out[f"min_dp_{params.min_cov}"] = f"Minimum Coverage {params.min_cov}"
    if params.max_cov is not None:
        out[f"max_dp_{params.max_cov}"] = f"Maximum Coverage {params.max_cov}"
    if params.min_af is not None:
        out[f"min_af_{_fmt_thr(params.min_af)}"] = f"Minimum allele frequency {params.min_af:g}"
    if params.max_af is not None:
        out[f"max_af_{_fmt_thr(params.max_af)}"] = f"Maximum allele frequency {params.max_af:g}"
    if params.min_snvqual is not None:
        out[f"min_snvqual_{params.min_snvqual:g}"] = f"Minimum SNV Quality (Phred) {params.min_snvqual:g}"
    if params.snvqual_alpha is not None:
        out[f"snvqual_{params.snvqual_mtc}"] = (f"SNV Quality: {params.snvqual_mtc}-corrected p >= "
                                               f"{params.snvqual_alpha:g}")
    if params.sb_alpha is not None:
        desc = ("Strand-Bias (LoFreq SB)" if params.sb_test == "lofreq" else
                f"Amplicon-aware strand bias (alt vs ref strand ratio, odds-ratio floor {params.sb_min_or:g})")
        out[("sb_" if params.sb_test == "lofreq" else "sba_") + params.sb_mtc] = \
            f"{desc}: {params.sb_mtc}-corrected p < {params.sb_alpha:g}"
    if params.max_population_af is not None and params.population_vcf:
        out[f"popaf_{_fmt_thr(params.max_population_af)}"] = \
            f"Population allele frequency > {params.max_population_af:g}"
    return out


@dataclass
class FilterResult:
    filters: list[list[str]]
    info: list[dict[str, Any]]
    headers: dict[str, str] = field(default_factory=dict)      # FILTER name -> description
    info_headers: list[str] = field(default_factory=list)


def is_indel(record) -> bool:
    """Whether a record is an indel (INFO/INDEL flag, or REF and ALT of different lengths)."""
    if record.info.get("INDEL") is True:
        return True
    return any(len(a) != len(record.ref) for a in str(record.alt).split(",") if not a.startswith("<"))


def apply_filters(records: list, params: FilterParams, source: str = "<records>",
                  population: PopulationVcf | None = None) -> FilterResult:
    """FILTER names per record (empty = PASS) and INFO additions (SBA, POPAF).

    ``records`` are :class:`VcfLine` or :class:`deepamp.io.vcf.VcfRecord` (anything
    with contig, pos, ref, alt, qual and an ``info`` dict holding DP, AF, SB, DP4).

    Raises
    ------
    FormatError
        A field an active filter needs is missing (message names ``source`` and the record).
    """
    n = len(records)
    fails: list[list[str]] = [[] for _ in range(n)]
    adds: list[dict[str, Any]] = [{} for _ in range(n)]
    heads: dict[str, str] = {}
    where = [f"{source}: line {r.line_no} ({r.contig}:{r.pos})" if getattr(r, "line_no", 0)
             else f"{source}: record {i + 1} ({r.contig}:{r.pos})" for i, r in enumerate(records)]

    def flag(i: int, name: str, desc: str) -> None:
        heads[name] = desc
        fails[i].append(name)

    if params.min_cov is not None or params.max_cov is not None:
        for i, r in enumerate(records):
            dp = _num(r.info, "DP", where[i], int)
            if params.min_cov is not None and dp < params.min_cov:
                flag(i, f"min_dp_{params.min_cov}", f"Minimum Coverage {params.min_cov}")
            if params.max_cov is not None and dp > params.max_cov:
                flag(i, f"max_dp_{params.max_cov}", f"Maximum Coverage {params.max_cov}")
    if params.min_af is not None or params.max_af is not None:
        for i, r in enumerate(records):
            af = _num(r.info, "AF", where[i])
            if params.min_af is not None and af < params.min_af:
                flag(i, f"min_af_{_fmt_thr(params.min_af)}", f"Minimum allele frequency {params.min_af:g}")
            if params.max_af is not None and af > params.max_af:
                flag(i, f"max_af_{_fmt_thr(params.max_af)}", f"Maximum allele frequency {params.max_af:g}")
    if params.min_snvqual is not None or params.snvqual_alpha is not None:
        quals = []
        for i, r in enumerate(records):
            if r.qual is None:
                raise FormatError(f"{where[i]}: QUAL missing ('.')")
            quals.append(float(r.qual))
        indel = np.array([is_indel(r) for r in records], dtype=bool)
        for kind, fam in (("snv", ~indel), ("indel", indel)):
            label = "SNV" if kind == "snv" else "Indel"
            if params.min_snvqual is not None:
                name = f"min_{kind}qual_{params.min_snvqual:g}"
                for i in np.flatnonzero(fam):
                    if quals[i] < params.min_snvqual:
                        flag(int(i), name, f"Minimum {label} Quality (Phred) {params.min_snvqual:g}")
            if params.snvqual_alpha is not None and fam.any():
                sel = np.flatnonzero(fam)
                ntests = params.snvqual_ntests if kind == "snv" else None
                adj = mtc_adjust(-np.array(quals)[sel] / 10.0 * _LN10, params.snvqual_mtc, ntests)
                name = f"{kind}qual_{params.snvqual_mtc}"
                for i in sel[~(adj < math.log(params.snvqual_alpha))]:
                    flag(int(i), name, f"{label} Quality: {params.snvqual_mtc}-corrected p >= "
                                       f"{params.snvqual_alpha:g}")
    if params.sb_alpha is not None and n:
        logp = np.empty(n)
        for i, r in enumerate(records):
            if params.sb_test == "lofreq":
                logp[i] = -_num(r.info, "SB", where[i]) / 10.0 * _LN10
            else:
                dp4 = _num(r.info, "DP4", where[i], tuple)
                if len(dp4) != 4:
                    raise FormatError(f"{where[i]}: INFO/DP4 must have 4 values")
                logp[i] = sba_logp(*dp4, min_or=params.sb_min_or)
                adds[i]["SBA"] = round(-10.0 * logp[i] / _LN10, 2) + 0.0
        adj = mtc_adjust(np.minimum(logp, 0.0), params.sb_mtc, params.sb_ntests)
        name = ("sb_" if params.sb_test == "lofreq" else "sba_") + params.sb_mtc
        desc = ("Strand-Bias (LoFreq SB)" if params.sb_test == "lofreq" else
                f"Amplicon-aware strand bias (alt vs ref strand ratio, odds-ratio floor {params.sb_min_or:g})")
        for i in np.flatnonzero(adj < math.log(params.sb_alpha)):
            flag(int(i), name, f"{desc}: {params.sb_mtc}-corrected p < {params.sb_alpha:g}")
    if params.max_population_af is not None and population is not None:
        for i, r in enumerate(records):
            best = None
            for alt in str(r.alt).split(","):
                af = population.lookup(r.contig, int(r.pos), str(r.ref), alt)
                if af is not None:
                    best = af if best is None else max(best, af)
            if best is not None:
                adds[i]["POPAF"] = best
                if best > params.max_population_af:
                    flag(i, f"popaf_{_fmt_thr(params.max_population_af)}",
                         f"Population allele frequency > {params.max_population_af:g}")
    return FilterResult(fails, adds, heads)


# ---------------------------------------------------------------- CLI

def add_filter_options(p: argparse.ArgumentParser, *, for_call: bool = False) -> None:
    """Filter flags (LoFreq spellings); with ``for_call`` no filter is on unless asked for."""
    g = p.add_argument_group("filters" + (" (none unless given; see deepamp filter)" if for_call else ""))
    g.add_argument("--preset", choices=sorted(PRESETS), help="villa2024: cov>=5000, AF>=0.006, QUAL & SB FDR<0.001, pop AF<1e-5")
    def opt(short: str, long: str) -> tuple[str, ...]:
        return (long,) if for_call else (short, long)

    g.add_argument(*opt("-v", "--cov-min"), dest="f_min_cov", type=int, metavar="INT",
                   help="min INFO/DP" + ("" if for_call else " (default 10)"))
    g.add_argument(*opt("-V", "--cov-max"), dest="f_max_cov", type=int, metavar="INT", help="max INFO/DP")
    g.add_argument(*opt("-a", "--af-min"), dest="f_min_af", type=float, metavar="FLOAT", help="min INFO/AF")
    g.add_argument(*opt("-A", "--af-max"), dest="f_max_af", type=float, metavar="FLOAT", help="max INFO/AF")
    g.add_argument(*opt("-Q", "--snvqual-thresh"), dest="f_min_snvqual", type=float, metavar="FLOAT",
                   help="min QUAL")
    g.add_argument("--snvqual-alpha", dest="f_snvqual_alpha", type=float, metavar="FLOAT")
    g.add_argument("--snvqual-mtc", dest="f_snvqual_mtc", choices=MTC)
    g.add_argument("--snvqual-ntests", dest="f_snvqual_ntests", type=int, metavar="INT")
    g.add_argument("--sb-alpha", dest="f_sb_alpha", type=float, metavar="FLOAT",
                   help="strand-bias significance" + ("" if for_call else " (default 0.001)"))
    g.add_argument("--sb-mtc", dest="f_sb_mtc", choices=MTC, help="(default fdr)")
    g.add_argument("--sb-ntests", dest="f_sb_ntests", type=int, metavar="INT")
    g.add_argument("--sb-test", dest="f_sb_test", choices=SB_TESTS, help="amplicon (INFO/SBA, default) or lofreq (INFO/SB)")
    g.add_argument("--sb-min-or", dest="f_sb_min_or", type=float, metavar="FLOAT",
                   help="odds-ratio floor of the amplicon-aware test (default 3)")
    g.add_argument("--population-vcf", dest="f_population_vcf", metavar="FILE.vcf.gz",
                   help="bgzipped + indexed VCF with INFO/AF")
    g.add_argument("--max-population-af", dest="f_max_population_af", type=float, metavar="FLOAT",
                   help="max population AF (default 1e-5 with --population-vcf)")
    if not for_call:
        g.add_argument("--no-defaults", action="store_true", help="switch off the default filters")


_FIELDS = ("min_cov", "max_cov", "min_af", "max_af", "min_snvqual", "snvqual_alpha", "snvqual_mtc",
           "snvqual_ntests", "sb_alpha", "sb_mtc", "sb_ntests", "sb_test", "sb_min_or", "population_vcf",
           "max_population_af")


def params_from_args(args: argparse.Namespace, *, for_call: bool = False) -> FilterParams | None:
    """FilterParams from the parsed flags; None when ``for_call`` and no filter was asked for."""
    given = {f: getattr(args, "f_" + f) for f in _FIELDS if getattr(args, "f_" + f, None) is not None}
    if args.preset:
        base = PRESETS[args.preset]
    elif for_call:
        if not given:
            return None
        base = NO_DEFAULTS
    else:
        base = NO_DEFAULTS if args.no_defaults else FilterParams()
    params = replace(base, **given)
    if params.population_vcf and params.max_population_af is None:
        params = replace(params, max_population_af=1e-5)
    return params


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp filter`` (``lofreq filter`` spellings)."""
    p.add_argument("-i", "--in", dest="vcf_in", required=True, metavar="IN.vcf", help="deepamp or LoFreq VCF (.gz ok)")
    p.add_argument("-o", "--out", default="-", metavar="OUT.vcf", help="output VCF (.vcf.gz: bgzip + tabix; default stdout)")
    p.add_argument("--pass-only", action="store_true", help="write only PASS records (lofreq filter's default)")
    p.add_argument("--print-all", action="store_true", help="accepted for LoFreq compatibility (deepamp keeps all records)")
    add_filter_options(p)


def filter_vcf(vcf_in: str, out: str, params: FilterParams, *, pass_only: bool = False,
               command: str | None = None) -> tuple[int, int]:
    """Filter ``vcf_in`` into ``out``; returns (records, PASS records).  Nothing is written on error."""
    from deepamp.io.outputs import check_writable

    if out != "-":
        check_writable(out)
    header, recs = read_vcf(vcf_in)
    population = PopulationVcf(params.population_vcf) if params.population_vcf else None
    res = apply_filters(recs, params, vcf_in, population)
    lines = [h for h in header[:-1]]
    have = set(lines)
    new = []
    for name, desc in {**filter_headers(params), **res.headers}.items():
        new.append(f'##FILTER=<ID={name},Description="{desc}">')
    from deepamp.io.vcf import INFO_DEFS
    for key in ("SBA", "POPAF"):
        if any(key in a for a in res.info) and not any(l.startswith(f"##INFO=<ID={key},") for l in lines):
            num, typ, desc = INFO_DEFS[key]
            new.append(f'##INFO=<ID={key},Number={num},Type={typ},Description="{desc}">')
    new.append(f'##deepamp_filterCommand="{command or "deepamp filter"}"')
    out_lines = lines + [x for x in new if x not in have] + [header[-1]]
    n_pass = 0
    for r, names, add in zip(recs, res.filters, res.info):
        flt = r.filters + [x for x in names if x not in r.filters]
        if not flt:
            n_pass += 1
        elif pass_only:
            continue
        info = dict(r.info)
        info.update(add)
        info_s = ";".join(k if v is True else f"{k}={v:.6g}" if isinstance(v, float) else f"{k}={v}"
                          for k, v in info.items()) or "."
        qual = "." if r.qual is None else (f"{r.qual:.0f}" if r.qual == int(r.qual) else f"{r.qual:g}")
        out_lines.append("\t".join([r.contig, str(r.pos), r.id, r.ref, r.alt, qual,
                                    ";".join(flt) if flt else "PASS", info_s]))
    from deepamp.io.vcf import write_vcf_text

    write_vcf_text(out, "\n".join(out_lines) + "\n")
    return len(recs), n_pass


def run(args: argparse.Namespace) -> int:
    """``deepamp filter``."""
    params = params_from_args(args)
    assert params is not None
    n, n_pass = filter_vcf(args.vcf_in, args.out, params, pass_only=args.pass_only,
                           command="deepamp " + " ".join(sys.argv[1:]))
    print(f"deepamp filter: {n_pass} of {n} records PASS", file=sys.stderr)
    return 0
