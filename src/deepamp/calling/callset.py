"""What calling a sample gives: :class:`Call` records and the :class:`CallSet` around them.

A CallSet holds the sample's counts, every call (SNVs and indels, in position
order) with its evidence, the options, the number of tests of each family and
what happened to every site.  ``CallSet.write_vcf`` writes the VCF that
``deepamp call`` writes; iterating a CallSet yields its calls.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from deepamp.counting.result import CountResult
from deepamp.models.multiple_testing import format_p, phred
from deepamp.models.strand_bias import strand_bias_phred
from deepamp.options import CallOptions

if TYPE_CHECKING:
    from deepamp.calling.detection import DetectionLimits

__all__ = ["Call", "CallSet"]


@dataclass
class Call:
    """One called allele with its evidence.

    Attributes
    ----------
    chrom, pos, ref, alt : the VCF allele (``pos`` 1-based; indels VCF-anchored)
    dp : depth tested (bases for SNVs, fragments spanning the junction for indels)
    alt_count : alt bases / fragments
    dp4 : ref-forward, ref-reverse, alt-forward, alt-reverse
    logp, logp_adj : natural log of the p-value, uncorrected and corrected
    model : "quality", "context" (indels) or "background"
    family : testing family: "panel", "hotspot" or "indel"
    kind : "snv" or "indel"
    row : index of the (anchor) position in the sample's CountResult
    rate : the null's error rate (INFO BGRATE for the background model, IDRATE for indels' context model)
    hrun : LoFreq's HRUN (indels)
    filters : FILTER names failed (empty = PASS)
    sba, popaf : INFO SBA / POPAF when the filters computed them
    obp : INFO OBP, the posterior probability of a read-orientation artefact (capture regions)
    normal_count, normal_depth : the matched normal's count of ALT and depth (matched-normal model)
    direction : "gain" (the tumour carries more of ALT than its normal) or "loss" (less of ALT:
        the tumour gained the reference base); matched-normal model only
    """

    chrom: str
    pos: int
    ref: str
    alt: str
    dp: int
    alt_count: int
    dp4: tuple[int, int, int, int]
    logp: float
    logp_adj: float
    model: str
    family: str
    kind: str
    row: int
    rate: float | None = None
    hrun: int | None = None
    filters: list[str] = field(default_factory=list)
    sba: float | None = None
    popaf: float | None = None
    obp: float | None = None
    normal_count: int | None = None
    normal_depth: int | None = None
    direction: str | None = None

    @property
    def af(self) -> float:
        """Allele frequency alt / DP (6 decimals, as written)."""
        return round(self.alt_count / self.dp, 6) if self.dp else 0.0

    @property
    def qual(self) -> float:
        """QUAL: Phred of the uncorrected p-value (LoFreq's convention), 2 decimals."""
        return round(float(phred(np.array([self.logp]))[0]), 2)

    @property
    def padj(self) -> float:
        """The corrected p-value (0.0 when it underflows a double; see ``info['PADJ']``)."""
        return math.exp(self.logp_adj)

    @property
    def filter(self) -> str:
        """The VCF FILTER column: "PASS" or the failed filters joined by ';'."""
        return ";".join(self.filters) if self.filters else "PASS"

    @property
    def is_indel(self) -> bool:
        return self.kind == "indel"

    @property
    def info(self) -> dict[str, Any]:
        """INFO fields as written: LoFreq's first, then deepamp's."""
        out: dict[str, Any] = {"DP": self.dp, "AF": self.af, "SB": strand_bias_phred(*self.dp4), "DP4": self.dp4}
        if self.kind == "indel":
            out["INDEL"] = True
            out["HRUN"] = self.hrun
        out.update(MODEL=self.model, PADJ=format_p(self.logp_adj, 4), FAMILY=self.family)
        if self.rate is not None:
            key = {"background": "BGRATE", "matched": "MNRATE"}.get(self.model, "IDRATE")
            out[key] = float(f"{self.rate:.4g}")
        if self.normal_depth is not None:
            out["NAF"] = round(self.normal_count / self.normal_depth, 6) if self.normal_depth else 0.0
            out["NDP"] = self.normal_depth
            out["MNDIR"] = self.direction
        if self.sba is not None:
            out["SBA"] = self.sba
        if self.popaf is not None:
            out["POPAF"] = self.popaf
        if self.obp is not None:
            out["OBP"] = self.obp
        return out


@dataclass
class CallSet:
    """The calls of one sample and everything needed to report them.

    Attributes
    ----------
    counts : the sample's CountResult
    calls : every significant allele, SNVs and indels in position order (SNVs first at a shared anchor)
    options : the CallOptions used
    tests : number of tests per family burden: ``snv`` (panel family; LoFreq's dynamic
        Bonferroni factor unless fixed), ``indel``, and each known-allele family on the panel
        (``hotspot``: ALK/ROS1 resistance alleles, ``bypass``: off-target genes; their indels
        as ``hotspot_indel`` / ``bypass_indel``)
    sites : what happened to every position (tested for SNVs, or why not)
    notes : remarks for the run summary (what was counted but not tested, model fits)
    reference : the reference FASTA
    background_source : where the background came from (file or controls), or None
    background_panel : the background's panel hash, or None
    filter_descriptions : FILTER name -> description of the filters applied
    background_summary : the background's summary lines when it was learned from controls now
    warnings : what the user must know (logged as warnings when it happened), e.g. hotspot
        alleles of another genome build, a population filter that could not run
    assay : the assay shape of each counted region (:mod:`deepamp.counting.assay_shape`);
        empty for counts that did not come from a BAM (amplicon tests are used)
    null_background : the panel of normals the SNVs were tested against (a Background), or None
    normal : the matched normal's CountResult the sample was tested against, or None
    """

    counts: CountResult
    calls: list[Call]
    options: CallOptions
    tests: dict[str, int]
    sites: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    reference: str | None = None
    background_source: str | None = None
    background_panel: str | None = None
    filter_descriptions: dict[str, str] = field(default_factory=dict)
    background_summary: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    assay: list = field(default_factory=list)
    null_background: Any = None
    normal: CountResult | None = None

    def __iter__(self) -> Iterator[Call]:
        return iter(self.calls)

    def __repr__(self) -> str:
        passing = sum(1 for c in self.calls if c.filter == "PASS")
        model = "matched normal" if self.normal is not None else \
            "background" if self.background_source or self.null_background is not None else "quality"
        return (f"<CallSet {len(self.calls)} calls ({passing} PASS), {self.tests.get('snv', 0)} SNV and "
                f"{self.tests.get('indel', 0)} indel tests, {model} model, {self.counts!r}>")

    def __len__(self) -> int:
        return len(self.calls)

    def __getitem__(self, i: int) -> Call:
        return self.calls[i]

    @property
    def passing(self) -> list[Call]:
        """Calls that pass every filter."""
        return [c for c in self.calls if not c.filters]

    def detection_limits(self, power: float = 0.8) -> "DetectionLimits":
        """The VAF each tested (site, alt) would be called at with probability ``power`` by this run's
        own test (model, depth, family, number of tests, alpha); per site and per region.

        See :mod:`deepamp.calling.detection`.  ``counts.lod`` keeps the per-site values only when
        the caller sets it (``calls.counts.lod = calls.detection_limits().site``), e.g. to save
        them with the counts for the report.
        """
        from deepamp.calling.detection import site_detection_limits

        return site_detection_limits(self, power)

    def to_arrays(self) -> dict[str, np.ndarray]:
        """One numpy array per column: chrom, pos, ref, alt, kind, dp, alt_count, af, qual,
        logp, logp_adj, filter, model, family, row, dp4 (n, 4)."""
        c = self.calls
        return {
            "chrom": np.array([x.chrom for x in c], dtype=str), "pos": np.array([x.pos for x in c], np.int64),
            "ref": np.array([x.ref for x in c], dtype=str), "alt": np.array([x.alt for x in c], dtype=str),
            "kind": np.array([x.kind for x in c], dtype=str), "dp": np.array([x.dp for x in c], np.int64),
            "alt_count": np.array([x.alt_count for x in c], np.int64),
            "af": np.array([x.af for x in c], np.float64), "qual": np.array([x.qual for x in c], np.float64),
            "logp": np.array([x.logp for x in c], np.float64),
            "logp_adj": np.array([x.logp_adj for x in c], np.float64),
            "filter": np.array([x.filter for x in c], dtype=str),
            "model": np.array([x.model for x in c], dtype=str), "family": np.array([x.family for x in c], dtype=str),
            "row": np.array([x.row for x in c], np.int64),
            "dp4": np.array([x.dp4 for x in c], np.int64).reshape(len(c), 4),
        }

    # ------------------------------------------------------------ reporting

    def header_lines(self) -> list[str]:
        """deepamp's ``##`` lines: tests per family, reads/bases used and dropped, sites, background."""
        o = self.options
        out = [f"##deepamp_counting={self.counts.options.describe()}" if self.counts.options else
               "##deepamp_counting=unknown (counts from another source)"]
        if o.snvs:
            out.append(f"##deepamp_mtc={o.mtc},tests={self.tests.get('snv', 0)},alpha={o.alpha}")
            for family in ("hotspot", "bypass"):
                if family in self.tests:
                    out.append(f"##deepamp_{family}_mtc={o.mtc},tests={self.tests[family]},alpha={o.alpha}")
        if o.indels:
            out.append(f"##deepamp_indel_mtc={o.mtc},tests={self.tests.get('indel', 0)},alpha={o.alpha}")
            for family in ("hotspot", "bypass"):
                if f"{family}_indel" in self.tests:
                    out.append(f"##deepamp_{family}_indel_mtc={o.mtc},tests={self.tests[f'{family}_indel']},"
                               f"alpha={o.alpha}")
        if self.counts.read_stats:
            out.append("##deepamp_reads=" + ",".join(f"{k}:{v}" for k, v in self.counts.read_stats.items()))
        if self.counts.base_stats:
            out.append("##deepamp_bases=" + ",".join(f"{k}:{v}" for k, v in self.counts.base_stats.items()))
        out.append("##deepamp_sites=" + ",".join(f"{k}:{v}" for k, v in self.sites.items()
                                                 if not k.endswith("_positions")))
        if self.background_source is not None:
            out.append(f"##deepamp_background={self.background_source},panel_sha256={self.background_panel}")
        if self.assay:
            from deepamp.filters import assay_header_line

            out.append(assay_header_line(self.assay))
        return out

    def vcf_header(self, command: str | None = None):
        """The pysam header of the VCF (see :func:`deepamp.io.vcf.new_header`)."""
        from deepamp.io.vcf import new_header

        contigs = self.counts.header_contigs or tuple((r.contig, None) for r in self.counts.regions)
        return new_header(contigs, reference=self.reference, command=command or "deepamp.call",
                          filters=self.filter_descriptions, extra=self.header_lines())

    def write_vcf(self, path: str | os.PathLike[str], *, command: str | None = None) -> None:
        """Write the VCF that ``deepamp call`` writes (``.vcf.gz``: bgzipped + indexed; ``-``: stdout).

        ``command`` goes into ``##commandline`` (default ``deepamp.call``).

        Raises
        ------
        OutputError
            The output cannot be written; nothing is left behind.
        """
        from deepamp.io.vcf import write_vcf

        header = self.vcf_header(command)
        records = []
        for c in self.calls:
            rec = header.new_record(contig=c.chrom, start=c.pos - 1, alleles=(c.ref, c.alt), qual=c.qual,
                                    filter=c.filters or ["PASS"])
            for key, value in c.info.items():
                rec.info[key] = value
            records.append(rec)
        write_vcf(path, header, records)

    def summary_lines(self) -> list[str]:
        """The run summary: reads and bases, sites, calls and tests, notes."""
        s = self.sites
        untested = ", ".join(f"{k}={s[k]}" for k in ("non_acgt_ref", "no_coverage", "below_min_cov") if s.get(k))
        site_line = f"sites: {s['positions']} positions, {s['tested']} tested for SNVs" + \
            (f"; not tested: {untested}" if untested else "")
        if s.get("non_acgt_ref"):
            site_line += " (reference not A/C/G/T at " + ", ".join(s["non_acgt_ref_positions"]) + \
                (", ..." if s["non_acgt_ref"] > 10 else "") + ")"
        n_snv = sum(1 for c in self.calls if c.kind == "snv")
        n_indel = len(self.calls) - n_snv
        parts = []
        if self.options.snvs:
            n_tests = self.tests.get("snv", 0) + self.tests.get("hotspot", 0) + self.tests.get("bypass", 0)
            parts.append(f"{n_snv} of {n_tests} SNV tests significant")
        if self.options.indels:
            n_tests = sum(v for k, v in self.tests.items() if k == "indel" or k.endswith("_indel"))
            parts.append(f"{n_indel} of {n_tests} indel tests")
        calls = "calls: " + ", ".join(parts)
        if self.options.filters is not None:
            calls += f", {len(self.passing)} PASS filters"
        return self.counts.summary_lines() + [site_line, calls] + \
            ["background: " + line for line in self.background_summary] + self.notes
