"""Two-aligner concordance: "strong" and "weak" evidence (``deepamp concordance``).

Villa et al. 2024 (Methods) called every sample on a BWA-MEM and on a Bowtie2
(``--very-sensitive-local``) alignment and wrote: "Variants passing filters
with both alignment tools were considered 'strong evidence', while those
detected by only one of the two methods were labelled as 'weak evidence'".

This module merges two VCFs of the same sample (from ``deepamp call`` or
LoFreq) into one:

* records are split per ALT allele and keyed by the normalised
  ``(chrom, pos, ref, alt)`` (shared trailing, then leading, bases trimmed,
  keeping one anchor base; no left-alignment, which would need the
  reference);
* the output is the union of the keys, sorted by contig (header order of the
  primary VCF, then the other), position, REF, ALT;
* INFO ``EVIDENCE`` = ``strong`` (PASS in both), ``weak`` (PASS in one) or
  ``none`` (present but PASS in neither), ``EVIDENCE_SOURCES`` = the labels of
  the VCFs where it passes, and per label ``AF_<label>``, ``DP_<label>``,
  ``FILTER_<label>`` (only for the VCFs that have the record);
* ID, QUAL, FILTER and the other INFO fields come from the primary (first)
  VCF when it has the record, else from the other one; INFO fields with
  ``Number=A``/``R`` keep the values of this allele.  A record whose FILTER is
  missing (``.``) counts as passing.

``filter_weak=True`` also adds FILTER ``weak_evidence`` to records that do not
pass in both, the study's decision to discard them.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .errors import FormatError
from .vcf import VcfHeader, VcfRecord, format_record, open_vcf, write_vcf_text

EVIDENCE_INFO: dict[str, tuple[str, str, str]] = {
    "EVIDENCE": ("1", "String", "Two-aligner concordance (Villa et al. 2024): strong = PASS in both "
                                "VCFs, weak = PASS in one only, none = PASS in neither"),
    "EVIDENCE_SOURCES": (".", "String", "Labels of the VCFs in which this allele passes filters"),
}
_LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


@dataclass
class _Allele:
    """One ALT allele of one input record."""

    key: tuple[str, int, str, str]
    id: str
    qual: float | None
    filters: list[str]                      # empty = PASS
    info: dict[str, object] = field(default_factory=dict)

    @property
    def passes(self) -> bool:
        return not self.filters


def normalise(pos: int, ref: str, alt: str) -> tuple[int, str, str]:
    """Trim shared trailing then leading bases of REF/ALT (keeping one base each).

    ``pos`` is 1-based and moves right by the number of leading bases removed.
    Symbolic alleles (``<DEL>``) and breakends are returned unchanged.
    """
    if not alt or alt[0] in "<[]" or "[" in alt or "]" in alt or alt == "*":
        return pos, ref, alt
    ref, alt = ref.upper(), alt.upper()
    while len(ref) > 1 and len(alt) > 1 and ref[-1] == alt[-1]:
        ref, alt = ref[:-1], alt[:-1]
    while len(ref) > 1 and len(alt) > 1 and ref[0] == alt[0]:
        ref, alt, pos = ref[1:], alt[1:], pos + 1
    return pos, ref, alt


def _allele_value(value: object, number: str | None, i: int) -> object:
    """The value of INFO field with header ``number`` for ALT allele ``i``."""
    if not isinstance(value, tuple):
        return value
    if number == "A":
        return value[i] if i < len(value) else None
    if number == "R":
        return (value[0], value[i + 1]) if i + 1 < len(value) else None
    return value


@dataclass
class _Vcf:
    path: str
    contigs: list[tuple[str, int | None]]
    info_defs: dict[str, tuple[str, str, str]]
    filter_defs: dict[str, str]
    reference: str | None
    alleles: dict[tuple[str, int, str, str], _Allele]


def read_alleles(path: str) -> _Vcf:
    """Read a sites VCF (plain or bgzipped) into normalised per-allele records.

    Raises
    ------
    InputFileError
        The file does not exist.
    FormatError
        The file is not a readable VCF, a record is malformed, or the same
        allele appears twice.
    """
    vf = open_vcf(path)
    with vf:
        hdr = vf.header
        contigs = [(name, hdr.contigs[name].length) for name in hdr.contigs]
        info_defs = {}
        for key, meta in hdr.info.items():
            number = meta.number if isinstance(meta.number, str) else str(meta.number)
            info_defs[key] = (number, meta.type, (meta.description or "").replace('"', "'"))
        filter_defs = {k: (v.description or "").replace('"', "'") for k, v in hdr.filters.items()
                       if k != "PASS"}
        reference = next((r.value for r in hdr.records if r.key == "reference"), None)
        alleles: dict[tuple[str, int, str, str], _Allele] = {}
        try:
            for rec in vf:
                if not rec.alts:
                    continue
                filters = [f for f in rec.filter.keys() if f != "PASS"]
                info = dict(rec.info.items())
                for i, alt in enumerate(rec.alts):
                    pos, ref, alt_n = normalise(rec.pos, rec.ref, alt)
                    key = (rec.chrom, pos, ref, alt_n)
                    if key in alleles:
                        raise FormatError(f"{path}: allele {rec.chrom}:{pos} {ref}>{alt_n} appears twice")
                    values = {k: _allele_value(v, info_defs.get(k, (None,))[0], i)
                              for k, v in info.items()}
                    alleles[key] = _Allele(key, rec.id or ".", rec.qual, filters,
                                           {k: v for k, v in values.items() if v is not None})
        except (OSError, ValueError) as exc:
            if isinstance(exc, FormatError):
                raise
            raise FormatError(f"{path}: malformed VCF record ({exc})") from None
    return _Vcf(path, contigs, info_defs, filter_defs, reference, alleles)


def _merge_contigs(a: _Vcf, b: _Vcf) -> list[tuple[str, int | None]]:
    out = dict(a.contigs)
    for name, length in b.contigs:
        if name in out and None not in (out[name], length) and out[name] != length:
            raise FormatError(f"{b.path}: contig {name} has length {length} but {out[name]} in "
                              f"{a.path} (different references?)")
        out.setdefault(name, length)
    return list(out.items())


def concordance(vcf_a: str, vcf_b: str, labels: Sequence[str] = ("bwa", "bowtie2"),
                filter_weak: bool = False, command: str | None = None) -> tuple[VcfHeader, list[str]]:
    """Merge two VCFs of one sample into the concordance VCF (header and data lines).

    Parameters
    ----------
    vcf_a, vcf_b : path
        VCFs called on the two alignments; ``vcf_a`` is the primary.
    labels : two str
        Names of the two alignments, used in INFO keys (letters, digits, ``_``).
    filter_weak : bool
        Add FILTER ``weak_evidence`` to alleles that do not pass in both.
    command : str, optional
        For ``##commandline``.

    Returns
    -------
    (VcfHeader, list of str)
        The header and the formatted data lines, sorted.

    Raises
    ------
    InputFileError, FormatError
        Missing or malformed input, bad labels, contigs of different lengths.
    """
    labels = list(labels)
    if len(labels) != 2 or labels[0] == labels[1] or not all(_LABEL_RE.match(x) for x in labels):
        raise FormatError(f"--labels {','.join(labels)}: give two different names of letters, "
                          f"digits and _ (e.g. bwa,bowtie2)")
    a, b = read_alleles(vcf_a), read_alleles(vcf_b)
    contigs = _merge_contigs(a, b)
    order = {name: i for i, (name, _) in enumerate(contigs)}
    info_defs = dict(EVIDENCE_INFO)
    for lab in labels:
        info_defs[f"AF_{lab}"] = ("1", "Float", f"Allele frequency in the {lab} VCF")
        info_defs[f"DP_{lab}"] = ("1", "Integer", f"Depth in the {lab} VCF")
        info_defs[f"FILTER_{lab}"] = ("1", "String", f"FILTER in the {lab} VCF (names joined by |)")
    for src in (a, b):
        for key, (number, typ, desc) in src.info_defs.items():
            info_defs.setdefault(key, (number, typ, desc))   # Number=A/R stay valid: one ALT per line
    filter_defs = {**a.filter_defs, **{k: v for k, v in b.filter_defs.items() if k not in a.filter_defs}}
    if filter_weak:
        filter_defs["weak_evidence"] = "Does not pass filters in both alignments (Villa et al. 2024)"
    header = VcfHeader([(n, length or 0) for n, length in contigs], info=info_defs,
                       filters=filter_defs, command=command)
    header.extra.append(f"##deepamp_concordance=primary:{labels[0]}={a.path},other:{labels[1]}={b.path}")
    if a.reference or b.reference:
        header.extra.append(f"##reference={a.reference or b.reference}")

    lines: list[tuple[tuple[int, int, str, str], str]] = []
    for key in set(a.alleles) | set(b.alleles):
        if key[0] not in order:
            raise FormatError(f"{vcf_a if key in a.alleles else vcf_b}: contig {key[0]} is not in the header")
        found = [(lab, src.alleles.get(key)) for lab, src in zip(labels, (a, b))]
        source = found[0][1] or found[1][1]
        passing = [lab for lab, al in found if al is not None and al.passes]
        info: dict[str, object] = {"EVIDENCE": ("strong" if len(passing) == 2 else "weak" if passing else "none"),
                                   "EVIDENCE_SOURCES": ",".join(passing) or None}
        for lab, al in found:
            if al is not None:
                info[f"AF_{lab}"] = al.info.get("AF")
                info[f"DP_{lab}"] = al.info.get("DP")
                info[f"FILTER_{lab}"] = "|".join(al.filters) or "PASS"
        for k, v in source.info.items():
            info.setdefault(k, v)
        filters = list(source.filters)
        if filter_weak and len(passing) < 2:
            filters.append("weak_evidence")
        rec = VcfRecord(key[0], key[1], key[2], key[3], source.qual if source.qual is not None else 0.0,
                        filters, info, source.id)
        line = format_record(rec)
        if source.qual is None:
            cols = line.split("\t")
            cols[5] = "."
            line = "\t".join(cols)
        lines.append(((order[key[0]], key[1], key[2], key[3]), line))
    lines.sort(key=lambda x: x[0])
    return header, [line for _, line in lines]


def write_concordance(out: str, vcf_a: str, vcf_b: str, labels: Sequence[str] = ("bwa", "bowtie2"),
                      filter_weak: bool = False, command: str | None = None) -> dict[str, int]:
    """Write the concordance VCF to ``out`` (``.vcf.gz`` bgzipped + tabix-indexed).

    Returns the number of alleles per EVIDENCE value.  Raises as :func:`concordance`,
    and OutputError when ``out`` cannot be written.
    """
    from .io import check_writable

    if out != "-":
        check_writable(out)
    header, lines = concordance(vcf_a, vcf_b, labels, filter_weak, command)
    write_vcf_text(out, "\n".join(header.lines() + lines) + "\n")
    tally = {"strong": 0, "weak": 0, "none": 0}
    for line in lines:
        tally[re.search(r"EVIDENCE=(\w+)", line.split("\t")[7])[1]] += 1
    return tally


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Options of ``deepamp concordance``."""
    p.add_argument("vcf_a", metavar="A.vcf", help="VCF called on the first alignment (primary: FILTER, QUAL, INFO)")
    p.add_argument("vcf_b", metavar="B.vcf", help="VCF called on the second alignment")
    p.add_argument("-o", "--out", default="-", metavar="OUT.vcf",
                   help="output VCF; .vcf.gz is bgzipped and tabix-indexed (default: stdout)")
    p.add_argument("--labels", default="bwa,bowtie2", metavar="A,B",
                   help="names of the two alignments, used in INFO keys (default bwa,bowtie2)")
    p.add_argument("--filter-weak", action="store_true",
                   help="add FILTER weak_evidence to alleles not passing in both (the study discarded them)")
    p.add_argument("--quiet", action="store_true", help="no summary on stderr")


def run(args: argparse.Namespace) -> int:
    """``deepamp concordance``."""
    import sys

    tally = write_concordance(args.out, args.vcf_a, args.vcf_b, args.labels.split(","),
                              args.filter_weak, command="deepamp " + " ".join(sys.argv[1:]))
    if not args.quiet:
        print(f"deepamp concordance: {tally['strong']} strong, {tally['weak']} weak, "
              f"{tally['none']} passing in neither", file=sys.stderr)
    return 0


__all__ = ["EVIDENCE_INFO", "normalise", "read_alleles", "concordance", "write_concordance",
           "configure_parser", "run"]
