"""Variant filters with ``lofreq filter`` meanings, as functions over arrays.

:func:`apply_filters` takes one array per field (DP, AF, QUAL, DP4, SB, indel
flag) and returns, per FILTER name, which records fail; ``deepamp call``
applies it to its calls before anything is written, and ``deepamp filter``
(the ``lofreq filter`` drop-in, :func:`filter_vcf`) to the records of a VCF.

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
``--no-defaults`` switches them off.  The strand-bias test suits the assay
(``--sb-test auto``, the default): in amplicon regions the amplicon-aware
test (:func:`deepamp.models.strand_bias.sba_logp`, INFO/SBA, always finite),
because amplicon ends are read from one strand only by design; in capture
regions LoFreq's two-sided Fisher test on INFO/SB, with LoFreq's compound
rule (a record fails only when its alt bases also sit > 85 % on one strand;
``--sb-no-compound`` drops the rule).  The shape of each region comes from
the ``##deepamp_assay`` header line that ``deepamp call`` writes (amplicon
when a VCF has none); ``--sb-test amplicon`` / ``lofreq`` force one test.
In capture regions calls are also tested for read-orientation artefacts
(8-oxo-G; :mod:`deepamp.models.orientation_bias`, FILTER ``orientation_bias``,
INFO/OBP) by ``deepamp call``, which has the reads.  The population filter
reads INFO/AF of ``--population-vcf`` (:class:`deepamp.io.population.PopulationVcf`)
and writes the matched AF as INFO/POPAF.

Unlike ``lofreq filter`` the output keeps failing records (with their FILTER
names); ``pass_only`` drops them.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from deepamp.errors import FormatError
from deepamp.models.multiple_testing import adjust
from deepamp.models.strand_bias import sba_logp
from deepamp.options import FilterOptions

__all__ = ["FilterOutcome", "apply_filters", "filter_descriptions", "filter_vcf"]

_LN10 = math.log(10.0)
log = logging.getLogger("deepamp.filter")


def _thr(v: float) -> str:
    return f"{v:g}"


def _as_stored(v: float) -> float:
    """A threshold at the precision VCF values are held in (BCF's 32-bit Float), so that
    ``AF=0.01`` read from a file is not below a threshold of 0.01."""
    return float(np.float32(v))


#: Share of alt bases on one strand above which LoFreq's compound strand-bias rule lets SB fail a record.
ALT_STRAND_SHARE = 0.85


def _sb_name(o: FilterOptions, test: str) -> tuple[str, str]:
    """(FILTER name, description) of a strand-bias test: "lofreq" or "amplicon"."""
    if test == "lofreq":
        rule = f" and > {ALT_STRAND_SHARE:g} of alt bases on one strand" if o.sb_compound else ""
        return f"sb_{o.sb_mtc}", f"Strand-Bias (LoFreq SB, Fisher): {o.sb_mtc}-corrected p < {o.sb_alpha:g}{rule}"
    return f"sba_{o.sb_mtc}", (f"Amplicon-aware strand bias (alt vs ref strand ratio, odds-ratio floor "
                               f"{o.sb_min_or:g}): {o.sb_mtc}-corrected p < {o.sb_alpha:g}")


def filter_descriptions(o: FilterOptions, *, population: bool = True, tests: Sequence[str] = ()) -> dict[str, str]:
    """FILTER name -> description of every active filter (for ``##FILTER`` lines).

    ``tests``: the strand-bias tests in use ("amplicon", "lofreq"); empty = the ones ``o`` names.
    """
    if not tests:
        tests = ("amplicon",) if o.sb_test in ("auto", "amplicon") else ("lofreq",)
    out: dict[str, str] = {}
    if o.min_cov is not None:
        out[f"min_dp_{o.min_cov}"] = f"Minimum Coverage {o.min_cov}"
    if o.max_cov is not None:
        out[f"max_dp_{o.max_cov}"] = f"Maximum Coverage {o.max_cov}"
    if o.min_af is not None:
        out[f"min_af_{_thr(o.min_af)}"] = f"Minimum allele frequency {o.min_af:g}"
    if o.max_af is not None:
        out[f"max_af_{_thr(o.max_af)}"] = f"Maximum allele frequency {o.max_af:g}"
    for kind, label in (("snv", "SNV"), ("indel", "Indel")):
        if o.min_snvqual is not None:
            out[f"min_{kind}qual_{o.min_snvqual:g}"] = f"Minimum {label} Quality (Phred) {o.min_snvqual:g}"
        if o.snvqual_alpha is not None:
            out[f"{kind}qual_{o.snvqual_mtc}"] = (f"{label} Quality: {o.snvqual_mtc}-corrected p >= "
                                                 f"{o.snvqual_alpha:g}")
    if o.sb_alpha is not None:
        for test in ("amplicon", "lofreq"):
            if o.sb_test in (test, "auto") and (test in tests or not tests):
                name, desc = _sb_name(o, test)
                out[name] = desc
    if o.orientation_posterior is not None and "lofreq" in tests:
        out["orientation_bias"] = (f"Read-orientation artefact (F1R2/F2R1, e.g. 8-oxo-G): posterior probability "
                                   f"> {o.orientation_posterior:g}")
    threshold = o.population_af_threshold
    if threshold is not None and population and o.population_vcf:
        out[f"popaf_{_thr(threshold)}"] = f"Population allele frequency > {threshold:g}"
    return out


@dataclass
class FilterOutcome:
    """Which records fail which filter, and the INFO values the filters computed.

    Attributes
    ----------
    failed : FILTER name -> bool array (True = the record fails it), in filter order
    descriptions : FILTER name -> description, for every active filter
    sba : float array, INFO/SBA per record (NaN when the amplicon test did not run)
    popaf : float array, INFO/POPAF per record (NaN when not listed or not looked up)
    obp : float array, INFO/OBP: posterior probability of a read-orientation artefact (NaN: not tested)
    """

    failed: dict[str, np.ndarray]
    descriptions: dict[str, str]
    sba: np.ndarray
    popaf: np.ndarray
    obp: np.ndarray
    notes: list[str] = field(default_factory=list)

    def names(self, i: int) -> list[str]:
        """FILTER names failed by record ``i`` (empty = PASS)."""
        return [name for name, mask in self.failed.items() if mask[i]]

    @property
    def passing(self) -> np.ndarray:
        """bool array: records that fail no filter."""
        n = len(self.sba)
        out = np.ones(n, bool)
        for mask in self.failed.values():
            out &= ~mask
        return out


def apply_filters(options: FilterOptions, *, dp: Sequence[int] | np.ndarray, af: Sequence[float] | np.ndarray,
                  qual: Sequence[float] | np.ndarray, dp4: np.ndarray | None = None,
                  sb: Sequence[float] | np.ndarray | None = None, is_indel: Sequence[bool] | np.ndarray | None = None,
                  alleles: Sequence[tuple[str, int, str, str]] | None = None, population=None,
                  assay: Sequence[str] | None = None, orientation: Sequence[float] | np.ndarray | None = None,
                  where: Sequence[str] | None = None) -> FilterOutcome:
    """Evaluate every active filter of ``options`` on arrays of n records.

    Parameters
    ----------
    options : the thresholds (None = off)
    dp, af, qual : INFO/DP, INFO/AF and QUAL per record (NaN = missing)
    dp4 : (n, 4) INFO/DP4 (ref-fwd, ref-rev, alt-fwd, alt-rev); needed by the amplicon strand-bias test
    sb : INFO/SB (Phred) per record; needed by the LoFreq strand-bias test
    is_indel : per record; indels are their own QUAL family (all SNVs when None)
    alleles : (chrom, 1-based pos, ref, alt) per record, for the population filter
    population : a :class:`deepamp.io.population.PopulationVcf` (the population filter runs only with it)
    assay : per record, the shape of its region ("amplicon", "capture", "unknown"); decides the
        strand-bias test when ``sb_test`` is "auto" (None: amplicon)
    orientation : per record, the posterior probability of a read-orientation artefact (NaN: not tested)
    where : per record, how to name it in an error message (``file: line N``)

    Raises
    ------
    FormatError
        A field that an active filter needs is missing for a record.
    """
    o = options
    dp_a = np.asarray(dp, dtype=np.float64)
    n = dp_a.shape[0]
    af_a = np.asarray(af, dtype=np.float64)
    q_a = np.asarray(qual, dtype=np.float64)
    indel = np.zeros(n, bool) if is_indel is None else np.asarray(is_indel, dtype=bool)
    names = list(where) if where is not None else [f"record {i + 1}" for i in range(n)]

    def need(values: np.ndarray, what: str) -> None:
        bad = np.flatnonzero(np.isnan(values))
        if bad.size:
            raise FormatError(f"{names[int(bad[0])]}: {what} missing (needed by the filters asked for)")

    failed: dict[str, np.ndarray] = {}
    if o.sb_test == "auto":
        kinds = np.array(["lofreq" if a == "capture" else "amplicon" for a in (assay or ["amplicon"] * n)])
    else:
        kinds = np.full(n, o.sb_test)
    in_use = tuple(k for k in ("amplicon", "lofreq") if (kinds == k).any()) or \
        (("lofreq",) if o.sb_test == "lofreq" else ("amplicon",))
    descriptions = filter_descriptions(o, population=population is not None, tests=in_use)
    if o.min_cov is not None or o.max_cov is not None:
        need(dp_a, "INFO/DP")
        if o.min_cov is not None:
            failed[f"min_dp_{o.min_cov}"] = dp_a < o.min_cov
        if o.max_cov is not None:
            failed[f"max_dp_{o.max_cov}"] = dp_a > o.max_cov
    if o.min_af is not None or o.max_af is not None:
        need(af_a, "INFO/AF")
        if o.min_af is not None:
            failed[f"min_af_{_thr(o.min_af)}"] = af_a < _as_stored(o.min_af)
        if o.max_af is not None:
            failed[f"max_af_{_thr(o.max_af)}"] = af_a > _as_stored(o.max_af)
    if o.min_snvqual is not None or o.snvqual_alpha is not None:
        need(q_a, "QUAL")
        for kind, fam in (("snv", ~indel), ("indel", indel)):
            if o.min_snvqual is not None:
                failed[f"min_{kind}qual_{o.min_snvqual:g}"] = fam & (q_a < _as_stored(o.min_snvqual))
            if o.snvqual_alpha is not None:
                mask = np.zeros(n, bool)
                sel = np.flatnonzero(fam)
                if sel.size:
                    ntests = o.snvqual_ntests if kind == "snv" else None
                    adj = adjust(np.minimum(-q_a[sel] / 10.0 * _LN10, 0.0), ntests, o.snvqual_mtc)
                    mask[sel] = ~(adj < math.log(o.snvqual_alpha))
                failed[f"{kind}qual_{o.snvqual_mtc}"] = mask
    sba = np.full(n, np.nan)
    if o.sb_alpha is not None and n:
        logp = np.zeros(n)
        fisher = kinds == "lofreq"
        if fisher.any():
            if sb is None:
                raise FormatError(f"{names[0]}: INFO/SB missing (needed by LoFreq's strand-bias test)")
            sb_a = np.asarray(sb, dtype=np.float64)
            need(np.where(fisher, sb_a, 0.0), "INFO/SB")
            logp[fisher] = np.minimum(-sb_a[fisher] / 10.0 * _LN10, 0.0)
        if (~fisher).any():
            if dp4 is None:
                raise FormatError(f"{names[0]}: INFO/DP4 missing (needed by the amplicon strand-bias test)")
            d4 = np.asarray(dp4, dtype=np.float64).reshape(n, -1)
            if d4.shape[1] != 4:
                raise FormatError(f"{names[0]}: INFO/DP4 must have 4 values")
            need(np.where(~fisher, d4.sum(axis=1), 0.0), "INFO/DP4")
            sel = np.flatnonzero(~fisher)
            logp[sel] = [sba_logp(*row, min_or=o.sb_min_or) for row in d4[sel].astype(np.int64).tolist()]
            sba[sel] = np.round(-10.0 * logp[sel] / _LN10, 2) + 0.0
        biased = adjust(np.minimum(logp, 0.0), o.sb_ntests, o.sb_mtc) < math.log(o.sb_alpha)
        if fisher.any() and o.sb_compound:
            d4 = np.asarray(dp4, dtype=np.float64).reshape(n, -1) if dp4 is not None else None
            if d4 is None or np.isnan(d4[fisher]).any():
                raise FormatError(f"{names[0]}: INFO/DP4 missing (needed by the compound strand-bias rule)")
            alt_total = np.maximum(d4[:, 2] + d4[:, 3], 1)
            one_strand = np.maximum(d4[:, 2], d4[:, 3]) / alt_total > ALT_STRAND_SHARE
            biased &= ~fisher | one_strand
        for test in in_use:
            failed[_sb_name(o, test)[0]] = biased & (kinds == test)
    obp = np.full(n, np.nan) if orientation is None else np.asarray(orientation, dtype=np.float64)
    if o.orientation_posterior is not None and orientation is not None and "lofreq" in in_use:
        failed["orientation_bias"] = ~np.isnan(obp) & (obp > o.orientation_posterior)
    popaf = np.full(n, np.nan)
    threshold = o.population_af_threshold
    if threshold is not None and population is not None:
        if alleles is None:
            raise FormatError("the population filter needs the alleles of the records")
        for i, (chrom, pos, ref, alt) in enumerate(alleles):
            afs = [population.lookup(chrom, int(pos), ref, a) for a in alt.split(",")]
            afs = [a for a in afs if a is not None]
            if afs:
                popaf[i] = max(afs)
        failed[f"popaf_{_thr(threshold)}"] = popaf > threshold
    notes = []
    if threshold is not None and o.population_vcf is None:
        notes.append("population filter not applied (no population VCF)")
    return FilterOutcome(failed, descriptions, sba, popaf, obp, notes)


_ASSAY_RE = re.compile(r"([^;:]+):(\d+)-(\d+):(amplicon|capture|unknown)")


def assay_header_line(shapes) -> str:
    """``##deepamp_assay=`` line recording each region's assay shape (see :mod:`deepamp.counting.assay_shape`)."""
    return "##deepamp_assay=" + ";".join(s.describe() for s in shapes)


def assay_of_header(header):
    """A function (contig, 1-based pos) -> assay shape, from a VCF's ``##deepamp_assay`` line ("amplicon" if none)."""
    spans = []
    for rec in header.records:
        if rec.key == "deepamp_assay" and rec.value:
            spans += [(c, int(a), int(b), k) for c, a, b, k in _ASSAY_RE.findall(rec.value)]

    def shape(contig: str, pos: int) -> str:
        return next((k for c, a, b, k in spans if c == contig and a <= pos <= b), "amplicon")
    return shape


def _number(value, default: float = math.nan) -> float:
    if value is None:
        return default
    if isinstance(value, tuple):
        value = value[0] if value else None
        if value is None:
            return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def filter_vcf(vcf_in: str, out: str, options: FilterOptions, *, pass_only: bool = False,
               command: str | None = None) -> tuple[int, int]:
    """Filter the records of ``vcf_in`` into ``out`` (``lofreq filter``); returns (records, PASS records).

    Nothing is written on error.

    Raises
    ------
    InputFileError, FormatError
        An unreadable or malformed VCF (the line is named), or a field an active filter needs is missing.
    OutputError
        ``out`` cannot be written.
    """
    from deepamp.io.population import PopulationVcf
    from deepamp.io.vcf import INFO_DEFS, filter_names, is_indel_record, read_vcf, write_vcf

    data = read_vcf(vcf_in)
    population = PopulationVcf(options.population_vcf) if options.population_vcf else None
    recs = data.records
    n = len(recs)

    def col(key: str) -> np.ndarray:
        return np.array([_number(r.info.get(key)) if key in r.header.info else math.nan for r in recs])

    dp4 = np.full((n, 4), np.nan)
    for i, r in enumerate(recs):
        v = r.info.get("DP4") if "DP4" in r.header.info else None
        if v is not None:
            if len(v) != 4:
                raise FormatError(f"{data.where(i)}: INFO/DP4 must have 4 values")
            dp4[i] = [np.nan if x is None else x for x in v]
    shapes = assay_of_header(data.header)
    res = apply_filters(options, dp=col("DP"), af=col("AF"),
                        qual=np.array([math.nan if r.qual is None else r.qual for r in recs]),
                        dp4=dp4, sb=col("SB"), is_indel=[is_indel_record(r) for r in recs],
                        alleles=[(r.chrom, r.pos, r.ref, ",".join(r.alts or ())) for r in recs],
                        population=population, assay=[shapes(r.chrom, r.pos) for r in recs],
                        where=[data.where(i) for i in range(n)])
    header = data.header.copy()
    for name, desc in res.descriptions.items():
        if name not in header.filters:
            header.add_line(f'##FILTER=<ID={name},Description="{desc}">')
    for key, values in (("SBA", res.sba), ("POPAF", res.popaf)):
        if np.any(~np.isnan(values)) and key not in header.info:
            number, typ, desc = INFO_DEFS[key]
            header.add_line(f'##INFO=<ID={key},Number={number},Type={typ},Description="{desc}">')
    header.add_line(f'##deepamp_filterCommand="{command or "deepamp filter"}"')
    out_recs = []
    n_pass = 0
    for i, r in enumerate(recs):
        r.translate(header)
        old = filter_names(r) or []
        new = [x for x in res.names(i) if x not in old]
        if not old and not new:
            n_pass += 1
            r.filter.clear()
            r.filter.add("PASS")
        elif pass_only:
            continue
        else:
            for name in new:
                r.filter.add(name)
        if not math.isnan(res.sba[i]):
            r.info["SBA"] = float(res.sba[i])
        if not math.isnan(res.popaf[i]):
            r.info["POPAF"] = float(res.popaf[i])
        out_recs.append(r)
    for note in res.notes:
        log.warning(note)
    write_vcf(out, header, out_recs)
    return n, n_pass
