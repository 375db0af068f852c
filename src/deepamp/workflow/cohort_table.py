"""``cohort.tsv``: every sample of a cohort x every allele of its final VCF, with recurrence.

One row per (sample, allele) of the sample's phased, concordance-merged VCF
(``SAMPLE.phased.vcf.gz`` of ``deepamp run``: calls and filtered records
alike), and one row with empty variant columns for a sample without any
record, a failed sample and a control (controls learn the background and are
not called), so every sample of the sheet is listed.  Per allele,
``n_samples`` counts the called samples whose VCF holds it and
``n_samples_pass`` those where it passes every filter: an allele that recurs at
low VAF across a run points at the assay rather than at the patients.
``change`` says ``emerged`` or ``lost`` on a tumour's row where the allele
changed since the patient's time point before; an allele lost with no record
at all in the later VCF gets a row of its own there, with the allele and its
annotation but no VAF, depth or FILTER (nothing was observed to report).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from deepamp.io.outputs import output_text
from deepamp.report.inputs import Allele, Key, annotation_key, read_annotation, read_call_vcf
from deepamp.workflow.sample_sheet import SheetSample

__all__ = ["TSV_COLUMNS", "CohortRow", "SampleCalls", "sample_calls", "cohort_rows", "write_cohort_tsv"]

#: Columns of ``cohort.tsv``.
TSV_COLUMNS = ("sample", "patient", "timepoint", "role", "status", "chrom", "pos", "ref", "alt", "gene",
               "protein", "hgvsc", "vaf", "dp", "filter", "evidence", "phase", "n_samples", "n_samples_pass",
               "change", "error")

#: Status of a sample: called (its flow finished), failed, or control (learned the background).
CALLED, FAILED, CONTROL = "called", "failed", "control"


@dataclass(frozen=True)
class SampleCalls:
    """The alleles of one called sample with their annotation (by allele key)."""

    alleles: dict[Key, Allele]
    annotation: dict[Key, dict[str, Any]]


@dataclass(frozen=True)
class CohortRow:
    """One row of ``cohort.tsv`` (variant fields None on a sample's row without an allele)."""

    sample: str
    patient: str
    timepoint: str
    role: str
    status: str
    allele: Allele | None = None
    gene: str | None = None
    protein: str | None = None
    hgvsc: str | None = None
    n_samples: int | None = None
    n_samples_pass: int | None = None
    change: str | None = None
    error: str | None = None

    @property
    def phase(self) -> str:
        """``PS=12;chr2:29220765G>T:cis:spanning=80`` (phase set and PHASE entries), empty when unphased."""
        a = self.allele
        if a is None:
            return ""
        return ";".join(([f"PS={a.ps}"] if a.ps is not None else []) + list(a.phase))

    def cells(self) -> list[str]:
        """The row's cells, in :data:`TSV_COLUMNS` order (tabs and newlines in texts become spaces)."""
        a = self.allele

        def text(v: object) -> str:
            return "" if v is None else " ".join(str(v).split())

        vaf = "" if a is None or a.af is None or not math.isfinite(a.af) else f"{a.af:.6g}"
        return [text(x) for x in (self.sample, self.patient, self.timepoint, self.role, self.status)] + (
            [""] * 15 if a is None else
            [a.chrom, str(a.pos), a.ref, a.alt, text(self.gene), text(self.protein), text(self.hgvsc), vaf,
             text(a.depth), a.filter, text(a.evidence), text(self.phase), text(self.n_samples),
             text(self.n_samples_pass), text(self.change)]) + [text(self.error)]


def sample_calls(vcf: str, annotation: str | None = None) -> SampleCalls:
    """Read one sample's final VCF and (optionally) its ``deepamp annotate`` JSON."""
    alleles = read_call_vcf(vcf).alleles
    ann: dict[Key, dict[str, Any]] = {}
    if annotation is not None:
        ann = {annotation_key(v): v for v in read_annotation(annotation)["variants"]}
    return SampleCalls(alleles, ann)


def cohort_rows(samples: Sequence[tuple[SheetSample, str, SampleCalls | None, str | None]],
                changes: Mapping[tuple[str, Key], str] | None = None) -> list[CohortRow]:
    """The rows of ``cohort.tsv``.

    Parameters
    ----------
    samples : per sample of the sheet (in the order to list them): its row, its status (CALLED,
        FAILED, CONTROL), its calls (CALLED only) and its error (FAILED only)
    changes : (sample, allele) -> ``emerged`` / ``lost`` against the patient's time point before

    Returns
    -------
    Rows sample by sample, each sample's alleles by position.
    """
    n_all: Counter[Key] = Counter()
    n_pass: Counter[Key] = Counter()
    for _, _, calls, _ in samples:
        if calls is None:
            continue
        for key, a in calls.alleles.items():
            n_all[key] += 1
            n_pass[key] += a.filter == "PASS"
    known: dict[Key, Allele] = {}             # an allele as some sample's VCF has it, and its annotation
    notes: dict[Key, dict[str, Any]] = {}
    for _, _, calls, _ in samples:
        if calls is not None:
            for key, a in calls.alleles.items():
                known.setdefault(key, a)
                if key in calls.annotation:
                    notes.setdefault(key, calls.annotation[key])
    rows = []
    for s, status, calls, error in samples:
        base = dict(sample=s.sample, patient=s.patient, timepoint=s.timepoint, role=s.role, status=status)
        alleles = dict(calls.alleles) if calls is not None else {}
        gone = [k for (name, k), ev in (changes or {}).items()
                if calls is not None and name == s.sample and ev == "lost" and k not in alleles and k in known]
        for key in gone:                     # lost with no record now: a row without VAF or FILTER
            a = known[key]
            alleles[key] = Allele(a.chrom, a.pos, a.ref, a.alt, "")
        if calls is None or not alleles:
            rows.append(CohortRow(**base, error=error))
            continue
        for key in sorted(alleles, key=lambda k: (k[0], k[1], k[2], k[3])):
            a = alleles[key]
            ann = calls.annotation.get(key) or notes.get(key, {})
            protein = ann.get("combined_hgvsp1") or ann.get("hgvsp1")
            hgvsc = ann.get("hgvsc")
            rows.append(CohortRow(**base, allele=a, gene=ann.get("gene") or None,
                                  protein=protein if protein and protein != "p.?" else None,
                                  hgvsc=str(hgvsc).split(":")[-1] if hgvsc else None,
                                  n_samples=n_all[key], n_samples_pass=n_pass[key],
                                  change=(changes or {}).get((s.sample, key))))
    return rows


def write_cohort_tsv(path: str, rows: Sequence[CohortRow]) -> None:
    """Write ``cohort.tsv`` complete or not at all (a reader never sees half a table)."""
    output_text(path, ["\t".join(TSV_COLUMNS) + "\n"] + ["\t".join(r.cells()) + "\n" for r in rows])
