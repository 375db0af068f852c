"""Cited ALK-inhibitor resistance knowledge base (shipped TSV tables).

Three tables live in ``deepamp/annotate/data`` (see its README.md):

* ``kb_sources.tsv``   -- one row per paper: citation, DOI (or how the paper is
  identified when no DOI is given) and a short label.
* ``kb_ic50_villa2024.tsv`` -- Villa et al. 2024 Table 2, IC50 in nM for 11
  EML4::ALK genotypes x 7 inhibitors; ``>`` values are kept as right-censored.
* ``kb_evidence.tsv``  -- clinical and in-vitro statements (Koopman 2022,
  Villa 2024 narrative, Mol Oncol 2021, Jamme 2019, Sasaki 2011), on ALK
  mutations and on off-target (bypass) changes, each with its place in the paper.

Every IC50 and evidence row carries ``source_id`` and ``evidence_type``
(``in_vitro`` or ``clinical``); loading fails with FormatError otherwise.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass
from importlib import resources

from deepamp.errors import FormatError
from deepamp.annotate.mutation_names import normalize_mutation

EVIDENCE_TYPES = ("in_vitro", "clinical")
ALK_CALLS = ("sensitive", "intermediate", "resistant", "conflicting", "selected_under_drug")
#: calls of off-target (bypass) rows, see data/README.md
BYPASS_CALLS = ("no_benefit_from_alk_inhibitor", "off_target_resistance", "potential_resistance",
                "combination_more_effective")
CALLS = ALK_CALLS + BYPASS_CALLS + ("",)
CLINICAL_DRUGS = ("crizotinib", "ceritinib", "alectinib", "brigatinib", "lorlatinib")
INVESTIGATIONAL_DRUGS = ("zotizalkib", "repotrectinib")
DOI_RE = re.compile(r"^10\.\d{4,9}/\S+$")
_PKG = "deepamp.annotate.data"


@dataclass(frozen=True)
class Source:
    source_id: str
    citation: str
    doi: str
    doi_note: str
    short: str = ""

    def cite(self) -> str:
        """Full reference with its DOI (or how the paper is identified)."""
        return f"{self.citation} doi:{self.doi}" if self.doi else f"{self.citation} ({self.doi_note})"

    def at(self, location: str) -> str:
        """Short label plus a place in the paper, e.g. 'Mol Oncol 2021 (PMID 34058070), Abstract'."""
        return f"{self.short or self.source_id}, {location}" if location else (self.short or self.source_id)


@dataclass(frozen=True)
class IC50:
    genotype: str        # canonical, e.g. "L1196M+G1202R", "WT"
    inhibitor: str
    qualifier: str       # "" or ">"
    value_nM: float | None
    status: str          # measured | censored | not_available
    source_id: str
    evidence_type: str
    location: str
    note: str

    @property
    def censored(self) -> bool:
        return self.status == "censored"


@dataclass(frozen=True)
class Evidence:
    record_id: str
    record_type: str
    gene: str
    genotype: str
    phase: str
    inhibitor: str
    call: str
    count: int | None
    total: int | None
    percent: float | None
    statement: str
    source_id: str
    evidence_type: str
    location: str

    @property
    def genes(self) -> tuple[str, ...]:
        """Genes the row is about ('' = off-target resistance in general)."""
        return tuple(g.strip() for g in self.gene.split(",") if g.strip())


@dataclass(frozen=True)
class FoldChange:
    """IC50(mutant) / IC50(WT) for one drug; ``lower_bound`` when censored."""

    genotype: str
    inhibitor: str
    value: float
    lower_bound: bool
    ic50: IC50
    wt: IC50


def canonical_genotype(text: str) -> str:
    """Canonical genotype text: 'ALK p.G1202R / L1196M' -> 'L1196M+G1202R'.

    Accepts 1-letter or 3-letter protein changes with or without ``p.`` and
    a gene prefix, joined by '+', '/', ',' or whitespace.  Returns the
    mutations in residue order joined by '+', e.g. 'L1196M+G1202R'.
    """
    parts = [p for p in re.split(r"[+/,\s]+", text.strip()) if p and p.upper() not in ("ALK", "ALK:")]
    if not parts:
        raise ValueError("empty genotype")
    if len(parts) == 1 and parts[0].upper() == "WT":
        return "WT"
    muts = sorted({normalize_mutation(p) for p in parts}, key=_residue_key)
    return "+".join(muts)


def _residue_key(m: str) -> tuple[int, str]:
    d = re.search(r"\d+", m)
    return (int(d.group()) if d else 0, m)


def _rows(filename: str) -> tuple[list[dict[str, str]], str]:
    where = f"deepamp/annotate/data/{filename}"
    text = resources.files(_PKG).joinpath(filename).read_text(encoding="utf-8")
    lines = [l for l in text.splitlines() if l and not l.startswith("#")]
    reader = csv.DictReader(io.StringIO("\n".join(lines)), delimiter="\t")
    rows = []
    for i, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise FormatError(f"{where}: data row {i} has the wrong number of columns")
        rows.append(row)
    return rows, where


def _opt_int(v: str, where: str, field: str) -> int | None:
    try:
        return int(v) if v else None
    except ValueError:
        raise FormatError(f"{where}: field '{field}' is not an integer: {v!r}") from None


def _opt_float(v: str, where: str, field: str) -> float | None:
    try:
        return float(v) if v else None
    except ValueError:
        raise FormatError(f"{where}: field '{field}' is not a number: {v!r}") from None


class KnowledgeBase:
    """The shipped knowledge base, validated on load."""

    def __init__(self) -> None:
        manifest = json.loads(resources.files(_PKG).joinpath("kb_manifest.json").read_text())
        self.version: str = manifest["version"]
        self.name: str = manifest["name"]
        srows, swhere = _rows(manifest["tables"]["sources"])
        self.sources: dict[str, Source] = {}
        for r in srows:
            if r["doi"] and not DOI_RE.match(r["doi"]):
                raise FormatError(f"{swhere}: source {r['source_id']}: field 'doi' is not a DOI")
            if not r["doi"] and not r["doi_note"]:
                raise FormatError(f"{swhere}: source {r['source_id']}: no 'doi' and no 'doi_note'")
            self.sources[r["source_id"]] = Source(r["source_id"], r["citation"], r["doi"], r["doi_note"],
                                                  r.get("short", ""))
        irows, iwhere = _rows(manifest["tables"]["ic50"])
        self.ic50: list[IC50] = []
        for r in irows:
            self._check_common(r, iwhere)
            status = r["status"]
            if status not in ("measured", "censored", "not_available"):
                raise FormatError(f"{iwhere}: field 'status' has unknown value {status!r}")
            val = _opt_float(r["ic50_nM"], iwhere, "ic50_nM")
            if (status == "not_available") != (val is None) or (status == "censored") != (r["qualifier"] == ">"):
                raise FormatError(f"{iwhere}: {r['genotype']}/{r['inhibitor']}: 'status', 'qualifier' and 'ic50_nM' disagree")
            self.ic50.append(IC50(canonical_genotype(r["genotype"]), r["inhibitor"], r["qualifier"], val,
                                  status, r["source_id"], r["evidence_type"], r["location"], r["note"]))
        erows, ewhere = _rows(manifest["tables"]["evidence"])
        self.evidence: list[Evidence] = []
        for r in erows:
            self._check_common(r, ewhere)
            if r["call"] not in CALLS:
                raise FormatError(f"{ewhere}: {r['record_id']}: field 'call' has unknown value {r['call']!r}")
            geno = r["genotype"]
            if r["call"] in BYPASS_CALLS and r["gene"] in ("", "ALK"):
                raise FormatError(f"{ewhere}: {r['record_id']}: call {r['call']!r} needs an off-target gene")
            if r["call"] in ALK_CALLS and r["gene"] != "ALK":
                raise FormatError(f"{ewhere}: {r['record_id']}: call {r['call']!r} is for ALK rows")
            if r["call"] in ALK_CALLS and geno:
                geno = canonical_genotype(geno) if not geno.endswith("X") else geno
            self.evidence.append(Evidence(
                r["record_id"], r["record_type"], r["gene"], geno, r["phase"], r["inhibitor"],
                r["call"], _opt_int(r["count"], ewhere, "count"), _opt_int(r["total"], ewhere, "total"),
                _opt_float(r["percent"], ewhere, "percent"), r["statement"], r["source_id"],
                r["evidence_type"], r["location"]))
        ids = [e.record_id for e in self.evidence]
        if len(ids) != len(set(ids)):
            raise FormatError(f"{ewhere}: duplicate record_id")

    def _check_common(self, r: dict[str, str], where: str) -> None:
        if r.get("source_id") not in self.sources:
            raise FormatError(f"{where}: field 'source_id' {r.get('source_id')!r} is not in kb_sources.tsv")
        if r.get("evidence_type") not in EVIDENCE_TYPES:
            raise FormatError(f"{where}: field 'evidence_type' {r.get('evidence_type')!r} is not in_vitro/clinical")

    # ---- queries ----------------------------------------------------------
    def ic50_for(self, genotype: str, inhibitor: str) -> IC50 | None:
        g = canonical_genotype(genotype)
        for row in self.ic50:
            if row.genotype == g and row.inhibitor == inhibitor and row.status != "not_available":
                return row
        return None

    def fold_change(self, genotype: str, inhibitor: str) -> FoldChange | None:
        """IC50 fold change vs WT for the same drug (None when either is missing)."""
        mut, wt = self.ic50_for(genotype, inhibitor), self.ic50_for("WT", inhibitor)
        if mut is None or wt is None or mut.value_nM is None or wt.value_nM is None:
            return None
        return FoldChange(mut.genotype, inhibitor, mut.value_nM / wt.value_nM, mut.censored, mut, wt)

    def ic50_genotypes(self) -> list[str]:
        return sorted({r.genotype for r in self.ic50})

    def inhibitors_with_ic50(self) -> list[str]:
        seen: list[str] = []
        for r in self.ic50:
            if r.inhibitor not in seen:
                seen.append(r.inhibitor)
        return seen

    def evidence_for(self, genotype: str, inhibitor: str | None = None) -> list[Evidence]:
        """ALK evidence rows with a call for this exact genotype (or a matching 'F1174X' wildcard).

        Parameters
        ----------
        genotype : str
            ALK genotype, e.g. 'G1202R' or 'L1196M+G1202R'.
        inhibitor : str, optional
            Only rows for this drug.

        Returns
        -------
        list of Evidence

        Raises
        ------
        ValueError
            The genotype cannot be parsed.
        """
        g = canonical_genotype(genotype)
        out = []
        for e in self.evidence:
            if e.gene != "ALK" or e.call not in ALK_CALLS or not e.genotype:
                continue
            if inhibitor is not None and e.inhibitor != inhibitor:
                continue
            if e.genotype == g or (e.genotype.endswith("X") and "+" not in g
                                   and g[:-1] == e.genotype[:-1]):
                out.append(e)
        return out

    def gene_records(self, gene: str) -> list[Evidence]:
        """Rows about ``gene`` (alone or among other genes), for a gene other than ALK.

        Parameters
        ----------
        gene : str
            Gene symbol, e.g. 'EGFR'.

        Returns
        -------
        list of Evidence (empty for ALK and for genes the knowledge base does not name).
        """
        return [e for e in self.evidence if gene != "ALK" and gene in e.genes]

    def general_off_target_records(self) -> list[Evidence]:
        """Statements about off-target (bypass) resistance in general."""
        return [e for e in self.evidence if e.record_type == "off_target_general" and not e.genes]

    def source(self, source_id: str) -> Source:
        """The paper with this id (KeyError when unknown)."""
        return self.sources[source_id]


_KB: KnowledgeBase | None = None


def load_kb() -> KnowledgeBase:
    """The shipped knowledge base (loaded and validated once)."""
    global _KB
    if _KB is None:
        _KB = KnowledgeBase()
    return _KB
