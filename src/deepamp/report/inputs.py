"""What the report reads from a sample's VCF and from its ``deepamp annotate`` JSON, checked.

:func:`read_call_vcf` takes the provenance and QC lines of a deepamp VCF header
(``##commandline``, ``##source``, ``##deepamp_reads``/``_bases``/``_sites``,
the testing families) and every ALT allele with the INFO fields the report
shows: DP, AF, DP4, FAMILY, BGRATE (background model), EVIDENCE (``deepamp
concordance``), PS/PHASE (``deepamp phase``).  :func:`read_annotation` reads
and checks the annotation JSON, and :func:`check_annotation_matches` refuses an
annotation written for another VCF.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass, field
from typing import Any

from deepamp.annotate.ranking import GROUPS, NO_DATA_GROUP
from deepamp.errors import FormatError, InputFileError
from deepamp.io.vcf import filter_names, info_value, read_vcf
from deepamp.report.stats import wilson_interval

__all__ = ["Allele", "VcfSummary", "read_call_vcf", "read_annotation", "check_annotation_matches",
           "annotation_key", "parse_counts_line"]

Key = tuple[str, int, str, str]
_MTC_KEYS = ("deepamp_mtc", "deepamp_hotspot_mtc", "deepamp_bypass_mtc", "deepamp_indel_mtc")


@dataclass(frozen=True)
class Allele:
    """One ALT allele of a VCF record, with the INFO fields the report shows.

    Attributes
    ----------
    chrom, pos, ref, alt : the allele (``pos`` 1-based, VCF-anchored for indels)
    filter : ``PASS``, ``.`` (no filter applied) or the failed filters joined by ``;``
    depth, af : INFO DP and AF (None when absent)
    dp4 : INFO DP4 (ref-fwd, ref-rev, alt-fwd, alt-rev), for single-ALT records
    family, model : INFO FAMILY and MODEL
    bgrate : INFO BGRATE, the site's background error rate of this allele (background model)
    evidence, evidence_sources : INFO EVIDENCE (strong/weak/none) and EVIDENCE_SOURCES
    ps, phase : INFO PS (phase set) and PHASE entries (``partner:relation:spanning=N``)
    qual : QUAL
    """

    chrom: str
    pos: int
    ref: str
    alt: str
    filter: str
    depth: int | None = None
    af: float | None = None
    dp4: tuple[int, int, int, int] | None = None
    family: str | None = None
    model: str | None = None
    bgrate: float | None = None
    evidence: str | None = None
    evidence_sources: str | None = None
    ps: int | None = None
    phase: tuple[str, ...] = ()
    qual: float | None = None

    @property
    def key(self) -> Key:
        """(contig, position, REF, ALT) with upper-case bases."""
        return self.chrom, self.pos, self.ref.upper(), self.alt.upper()

    @property
    def label(self) -> str:
        """``chr2:29220747 C>T``."""
        return f"{self.chrom}:{self.pos} {self.ref}>{self.alt}"

    @property
    def called(self) -> bool:
        """Whether the allele is a call: FILTER PASS, or no filter applied (``.``)."""
        return self.filter in ("PASS", ".")

    @property
    def alt_count(self) -> int | None:
        """Alt observations: DP4's alt strands, else AF x DP rounded; None without AF or DP."""
        if self.dp4 is not None:
            return self.dp4[2] + self.dp4[3]
        if self.af is None or not self.depth:
            return None
        return int(round(self.af * self.depth))

    def interval(self) -> tuple[float, float] | None:
        """95% Wilson interval of the VAF (alt observations / DP); None without depth."""
        k = self.alt_count
        if k is None or not self.depth:
            return None
        return wilson_interval(min(k, self.depth), self.depth)


@dataclass
class VcfSummary:
    """What the report takes from one VCF: header provenance and QC lines, and its alleles.

    Attributes
    ----------
    path : the file read
    command, source, file_date : ``##commandline``, ``##source`` and ``##fileDate``
    reads, bases, sites : the ``##deepamp_reads`` / ``_bases`` / ``_sites`` counts by reason
    tests : the multiple-testing lines (``mtc: bonferroni,tests=...``), one per family
    background : the ``##deepamp_background`` line (file of the background model), if any
    samples : sample columns of the VCF (a deepamp VCF has none)
    phased : the VCF went through ``deepamp phase`` (INFO PS/PHASE declared)
    concordance : the VCF went through ``deepamp concordance`` (INFO EVIDENCE declared)
    alleles : every ALT allele, keyed by (contig, position, REF, ALT), in file order
    """

    path: str
    command: str | None = None
    source: str | None = None
    file_date: str | None = None
    reads: dict[str, int] = field(default_factory=dict)
    bases: dict[str, int] = field(default_factory=dict)
    sites: dict[str, int] = field(default_factory=dict)
    tests: list[str] = field(default_factory=list)
    background: str | None = None
    samples: list[str] = field(default_factory=list)
    phased: bool = False
    concordance: bool = False
    alleles: dict[Key, Allele] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The file name without directory and VCF extensions (``/x/S1.vcf.gz`` -> ``S1``)."""
        base = os.path.basename(self.path)
        for ext in (".gz", ".bgz", ".vcf"):
            if base.endswith(ext) and len(base) > len(ext):
                base = base[:-len(ext)]
        return base


def parse_counts_line(text: str) -> dict[str, int]:
    """``seen:100,used:99`` -> ``{"seen": 100, "used": 99}`` (items that are not counts are skipped)."""
    out = {}
    for item in text.split(","):
        key, _, value = item.partition(":")
        try:
            out[key.strip()] = int(value)
        except ValueError:
            continue
    return out


def _number(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def read_call_vcf(path: str) -> VcfSummary:
    """Header provenance, QC lines and alleles of a deepamp (or LoFreq) VCF.

    Parameters
    ----------
    path : VCF, plain, bgzip or gzip

    Returns
    -------
    VcfSummary

    Raises
    ------
    InputFileError, FormatError
        The VCF is missing, unreadable or malformed (the message names the file and line).
    """
    summary = VcfSummary(path)
    data = read_vcf(path)
    for rec in data.header.records:
        key, value = rec.key, rec.value
        if not value:
            continue
        if key == "commandline":
            summary.command = value.strip('"')
        elif key == "source":
            summary.source = value
        elif key == "fileDate":
            summary.file_date = value
        elif key == "deepamp_reads":
            summary.reads = parse_counts_line(value)
        elif key == "deepamp_bases":
            summary.bases = parse_counts_line(value)
        elif key == "deepamp_sites":
            summary.sites = parse_counts_line(value)
        elif key in _MTC_KEYS:
            family = {"deepamp_mtc": "panel"}.get(key, key[len("deepamp_"):-len("_mtc")])
            summary.tests.append(f"{family}: {value}")
        elif key == "deepamp_background":
            summary.background = value.split(",", 1)[0]
    summary.samples = list(data.header.samples)
    summary.phased = "PHASE" in data.header.info or "PS" in data.header.info
    summary.concordance = "EVIDENCE" in data.header.info
    for rec in data.records:
        names = filter_names(rec)
        flt = "." if names is None else ";".join(names) or "PASS"
        alts = rec.alts or ()
        dp4 = info_value(rec, "DP4")
        dp4_t = tuple(int(x) for x in dp4) if isinstance(dp4, tuple) and len(dp4) == 4 and len(alts) == 1 \
            and all(x is not None for x in dp4) else None
        phase = info_value(rec, "PHASE")
        phase_t = () if phase is None else (str(phase),) if isinstance(phase, str) else tuple(str(p) for p in phase)
        depth = info_value(rec, "DP")
        ps = info_value(rec, "PS")
        for i, alt in enumerate(alts):
            allele = Allele(
                rec.chrom, rec.pos, rec.ref, alt, flt,
                depth=int(depth) if isinstance(depth, int) else None,
                af=_number(info_value(rec, "AF", i)),
                dp4=dp4_t,  # type: ignore[arg-type]
                family=_text(info_value(rec, "FAMILY", i)), model=_text(info_value(rec, "MODEL", i)),
                bgrate=_number(info_value(rec, "BGRATE", i)),
                evidence=_text(info_value(rec, "EVIDENCE", i)),
                evidence_sources=_text(info_value(rec, "EVIDENCE_SOURCES", i)),
                ps=ps if isinstance(ps, int) else None, phase=phase_t,
                qual=None if rec.qual is None else float(rec.qual))
            summary.alleles[allele.key] = allele
    return summary


def _text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    return str(value)


def annotation_key(variant: dict[str, Any]) -> Key:
    """(contig, position, REF, ALT) of an annotation JSON variant, bases upper-case."""
    return str(variant["contig"]), int(variant["pos"]), str(variant["ref"]).upper(), str(variant["alt"]).upper()


def read_annotation(path: str) -> dict[str, Any]:
    """The JSON written by ``deepamp annotate``, checked for everything the report uses.

    Parameters
    ----------
    path : ``PREFIX.json`` from ``deepamp annotate``

    Returns
    -------
    dict: the document (``variants``, ``ranking`` with ``recommendations``, ``bypass``, ...).

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    FormatError
        Not JSON, not an annotation (no ``variants``/``ranking``), a variant without a valid
        position, a recommendation without a known group, or a "no data" drug given a rank.
    """
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError:
        raise InputFileError(f"{path}: annotation JSON not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a directory, not an annotation JSON") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputFileError(f"{path}: cannot read annotation JSON ({exc})") from None
    except json.JSONDecodeError as exc:
        raise FormatError(f"{path}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("variants"), list) \
            or not isinstance(doc.get("ranking"), dict):
        raise FormatError(f"{path}: not a `deepamp annotate` JSON (needs 'variants' and 'ranking')")
    for n, v in enumerate(doc["variants"]):
        if not isinstance(v, dict) or not all(k in v for k in ("contig", "pos", "ref", "alt")):
            raise FormatError(f"{path}: variants[{n}] lacks contig/pos/ref/alt")
        if not (isinstance(v["contig"], str) and isinstance(v["pos"], int) and not isinstance(v["pos"], bool)
                and v["pos"] >= 1 and isinstance(v["ref"], str) and isinstance(v["alt"], str)):
            raise FormatError(f"{path}: variants[{n}] has no valid contig/pos/ref/alt "
                              f"(pos must be a positive integer, not {v['pos']!r})")
    ranking = doc["ranking"]
    recs = ranking.get("recommendations", [])
    if not isinstance(recs, list):
        raise FormatError(f"{path}: ranking.recommendations is not a list")
    for n, r in enumerate(recs):
        if not isinstance(r, dict) or not isinstance(r.get("inhibitor"), str):
            raise FormatError(f"{path}: ranking.recommendations[{n}] has no inhibitor")
        if r.get("group") not in GROUPS:
            raise FormatError(f"{path}: ranking.recommendations[{n}] ({r['inhibitor']}) has no ranking group "
                              f"({', '.join(GROUPS)}); annotate the VCF again with this deepamp")
        rank = r.get("rank")
        if r["group"] == NO_DATA_GROUP and rank is not None:
            raise FormatError(f"{path}: {r['inhibitor']} is in the 'no data' group but has rank {rank!r} "
                              "(drugs without evidence are never ranked)")
        if r["group"] != NO_DATA_GROUP and not (isinstance(rank, int) and not isinstance(rank, bool) and rank >= 1):
            raise FormatError(f"{path}: {r['inhibitor']} ({r['group']}) has no valid rank ({rank!r})")
    bypass = ranking.get("bypass", [])
    if not isinstance(bypass, list) or not all(isinstance(b, dict) and isinstance(b.get("mutation"), str)
                                                for b in bypass):
        raise FormatError(f"{path}: ranking.bypass is not a list of findings with a mutation")
    return doc


def check_annotation_matches(doc: dict[str, Any], annotation_path: str, vcf: VcfSummary) -> None:
    """Refuse an annotation of another VCF.

    ``deepamp annotate`` annotates every ALT allele of its VCF except symbolic
    ones (``<DEL>``, ``*``), with the VCF's position and alleles; so the
    annotation of this VCF names exactly its non-symbolic alleles.  (The VCF
    may have been filtered or phased since: FILTER and INFO may differ.)

    Raises
    ------
    FormatError
        ``<annotation>: ... (annotation of another VCF?)``: none of its variants is in
        the VCF, one of them is not, or an allele of the VCF is not annotated.
    """
    keys = [annotation_key(v) for v in doc["variants"]]
    annotatable = [k for k in vcf.alleles if not k[3].startswith("<") and k[3] not in ("*", ".")]
    if keys and not any(k in vcf.alleles for k in keys):
        raise FormatError(f"{annotation_path}: none of its variants is in {vcf.path} (annotation of another VCF?)")
    missing = next((k for k in keys if k not in vcf.alleles), None)
    if missing is not None:
        raise FormatError(f"{annotation_path}: {missing[0]}:{missing[1]} {missing[2]}>{missing[3]} is not in "
                          f"{vcf.path} (annotation of another VCF?)")
    known = set(keys)
    extra = next((k for k in annotatable if k not in known), None)
    if extra is not None:
        raise FormatError(f"{annotation_path}: has no annotation of {extra[0]}:{extra[1]} {extra[2]}>{extra[3]} "
                          f"of {vcf.path} (annotation of another VCF?)")
