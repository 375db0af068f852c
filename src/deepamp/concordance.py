"""Two-aligner concordance: "strong" and "weak" evidence (``deepamp concordance``).

Villa et al. 2024 (Methods) called every sample on a BWA-MEM and on a Bowtie2
(``--very-sensitive-local``) alignment and wrote: "Variants passing filters
with both alignment tools were considered 'strong evidence', while those
detected by only one of the two methods were labelled as 'weak evidence'".

This module merges two VCFs of the same sample (from ``deepamp call`` or
LoFreq) into one:

* records are split per ALT allele and keyed by the normalised
  ``(chrom, pos, ref, alt)``: shared trailing, then leading, bases trimmed
  (keeping one anchor base, :func:`deepamp.normalise.trim_alleles`), and
  indels left-aligned against the reference (:mod:`deepamp.normalise`), so
  the same indel placed differently by two aligners in a repeat is one
  allele.  The reference is ``-f REF.fa``, else the ``##reference`` file of
  the primary (then the other) VCF when it exists; without one, indels are
  matched as written and a warning says so;
* the output is the union of the keys, sorted by contig (``##contig`` order
  of the primary VCF, then the other; a VCF without ``##contig`` lines, as
  LoFreq writes, contributes its contigs in order of first appearance, and
  they are written without a length), position, REF, ALT;
* INFO ``EVIDENCE`` = ``strong`` (passing in both), ``weak`` (passing in
  one) or ``none`` (present but passing in neither), ``EVIDENCE_SOURCES`` =
  the labels of the VCFs where it passes, and per label ``AF_<label>``,
  ``DP_<label>``, ``FILTER_<label>`` (only for the VCFs that have the
  record).  A FILTER of ``.`` (filters not applied) counts as passing and is
  kept as ``.`` in FILTER and ``FILTER_<label>``;
* ID, QUAL, FILTER and the other INFO fields come from the primary (first)
  VCF when it has the record, else from the other one; INFO fields with
  ``Number=A``/``R`` keep the values of this allele.  An INFO key declared
  with another Number or Type in the other VCF keeps the primary's
  declaration (a note on stderr says so); INFO keys used in records but not
  declared get a generic ``Number=.,Type=String`` declaration.

The primary VCF's ``##deepamp_*`` lines (reads and bases used and dropped,
tests per family, background) are carried into the merged header.

``filter_weak=True`` also adds FILTER ``weak_evidence`` to records that do not
pass in both, the study's decision to discard them.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import pysam

from deepamp.errors import FormatError, ReferenceFileError
from deepamp.normalise import is_symbolic, left_shift, trim_alleles
from deepamp.io.vcf import filter_names, new_header, read_vcf, write_vcf

EVIDENCE_INFO: dict[str, tuple[str, str, str]] = {
    "EVIDENCE": ("1", "String", "Two-aligner concordance (Villa et al. 2024): strong = PASS in both "
                                "VCFs, weak = PASS in one only, none = PASS in neither; a FILTER of '.' "
                                "(filters not applied) counts as PASS"),
    "EVIDENCE_SOURCES": (".", "String", "Labels of the VCFs in which this allele passes filters"),
}
_LABEL_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")

Key = tuple[str, int, str, str]


log = logging.getLogger("deepamp.concordance")


@dataclass
class _Allele:
    """One ALT allele of one input record."""

    key: Key
    id: str
    qual: float | None
    filters: list[str] | None               # empty = PASS, None = '.' (filters not applied)
    info: dict[str, object] = field(default_factory=dict)

    @property
    def passes(self) -> bool:
        return not self.filters

    @property
    def filter_text(self) -> str:
        """The FILTER column: '.', 'PASS' or the names joined by ';'."""
        return "." if self.filters is None else ";".join(self.filters) or "PASS"


class LeftAligner:
    """Left-aligns trimmed VCF indels against a reference FASTA.

    Raises
    ------
    ReferenceFileError
        The FASTA cannot be opened, lacks a contig of a record, or does not
        carry an indel's REF bases where the record says (another reference).
    """

    def __init__(self, path: str):
        from deepamp.io.reference import Reference

        self.path = path
        self._ref = Reference(path)

    def close(self) -> None:
        """Close the FASTA."""
        self._ref.close()

    def _base(self, contig: str, p: int) -> str:
        return self._ref.fetch(contig, p, p + 1) if self._ref.covers(contig, p) else "N"

    def align(self, key: Key, source: str) -> Key:
        """The left-most equivalent of indel ``key`` (other alleles unchanged)."""
        chrom, pos, ref, alt = key
        if not (len(ref) != len(alt) and min(len(ref), len(alt)) == 1 and ref[0] == alt[0]
                and set(ref + alt) <= set("ACGT")):
            return key
        self._ref.pieces(chrom)          # the contig is in the reference at all
        if not self._ref.covers(chrom, pos - 1, pos - 1 + len(ref)) or \
                self._ref.fetch(chrom, pos - 1, pos - 1 + len(ref)) != ref:
            raise ReferenceFileError(f"{self.path}: does not carry REF {ref} at {chrom}:{pos} of "
                                     f"{source} (another reference? give the right one with -f)")
        deletion = len(ref) > 1
        anchor, seq = left_shift(lambda p: self._base(chrom, p), pos - 1, (ref if deletion else alt)[1:])
        a = self._base(chrom, anchor)
        return (chrom, anchor + 1, a + seq, a) if deletion else (chrom, anchor + 1, a, a + seq)


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
    alleles: dict[Key, _Allele]
    deepamp_lines: list[str] = field(default_factory=list)   # ##deepamp_* (reads, bases, tests, ...)


def read_alleles(path: str) -> _Vcf:
    """Read a sites VCF (plain or bgzipped) into trimmed per-allele records.

    The header is completed by :func:`deepamp.io.vcf.read_vcf` (a LoFreq VCF
    has no ``##contig`` lines: its contigs come in order of first appearance,
    without a length).

    Raises
    ------
    InputFileError
        The file does not exist.
    FormatError
        The file is not a readable VCF, a record is malformed, or the same
        allele appears twice.
    """
    data = read_vcf(path)
    hdr = data.header
    contigs: dict[str, int | None] = {name: hdr.contigs[name].length for name in hdr.contigs}
    info_defs = {}
    for key, meta in hdr.info.items():
        number = meta.number if isinstance(meta.number, str) else str(meta.number)
        info_defs[key] = (number, meta.type, (meta.description or "").replace('"', "'"))
    filter_defs = {k: (v.description or "").replace('"', "'") for k, v in hdr.filters.items() if k != "PASS"}
    reference = next((r.value for r in hdr.records if r.key == "reference"), None)
    alleles: dict[Key, _Allele] = {}
    for ri, rec in enumerate(data.records):
        if not rec.alts:
            continue
        filters = filter_names(rec)
        info = {k: (True if v is None else v) for k, v in rec.info.items()}
        for i, alt in enumerate(rec.alts):
            ref = rec.ref
            if not is_symbolic(alt):
                ref, alt = ref.upper(), alt.upper()
            pos, ref, alt_n = trim_alleles(rec.pos, ref, alt)
            key = (rec.chrom, pos, ref, alt_n)
            if key in alleles:
                raise FormatError(f"{data.where(ri)}: allele {rec.chrom}:{pos} {ref}>{alt_n} appears twice")
            values = {k: _allele_value(v, info_defs.get(k, (None,))[0], i) for k, v in info.items()}
            alleles[key] = _Allele(key, rec.id or ".", rec.qual, filters,
                                   {k: v for k, v in values.items() if v is not None})
    own = [f"##{r.key}={r.value}" for r in hdr.records
           if r.key.startswith("deepamp_") and r.key != "deepamp_concordance" and r.value is not None]
    return _Vcf(path, list(contigs.items()), info_defs, filter_defs, reference, alleles, own)


def _left_align(vcf: _Vcf, aligner: LeftAligner) -> None:
    """Re-key the indels of ``vcf`` at their left-most equivalent position (in place)."""
    out: dict[Key, _Allele] = {}
    for key, al in vcf.alleles.items():
        new = aligner.align(key, vcf.path)
        if new in out:
            raise FormatError(f"{vcf.path}: allele {new[0]}:{new[1]} {new[2]}>{new[3]} appears twice "
                              f"(after left-alignment)")
        al.key = new
        out[new] = al
    vcf.alleles = out


def _reference_path(explicit: str | None, vcfs: Sequence[_Vcf]) -> str | None:
    """``explicit``, else the first ``##reference`` file of ``vcfs`` that exists (as written, or
    relative to the VCF's directory)."""
    if explicit:
        return explicit
    for v in vcfs:
        if not v.reference:
            continue
        name = v.reference[len("file://"):] if v.reference.startswith("file://") else v.reference
        for cand in (name, os.path.join(os.path.dirname(os.path.abspath(v.path)), name)):
            if os.path.isfile(cand):
                return cand
    return None


def _merge_contigs(a: _Vcf, b: _Vcf) -> list[tuple[str, int | None]]:
    out = dict(a.contigs)
    for name, length in b.contigs:
        if name in out and None not in (out[name], length) and out[name] != length:
            raise FormatError(f"{b.path}: contig {name} has length {length} but {out[name]} in "
                              f"{a.path} (different references?)")
        if out.get(name) is None:
            out[name] = length
    return list(out.items())


def _merge_info_defs(labels: Sequence[str], a: _Vcf, b: _Vcf) -> dict[str, tuple[str, str, str]]:
    """Output INFO declarations: ours, the primary's, the other's, then generic ones."""
    info_defs = dict(EVIDENCE_INFO)
    for lab in labels:
        info_defs[f"AF_{lab}"] = ("1", "Float", f"Allele frequency in the {lab} VCF")
        info_defs[f"DP_{lab}"] = ("1", "Integer", f"Depth in the {lab} VCF")
        info_defs[f"FILTER_{lab}"] = ("1", "String", f"FILTER in the {lab} VCF (names joined by |, "
                                                     f". = filters not applied)")
    for key, meta in a.info_defs.items():
        info_defs.setdefault(key, meta)          # Number=A/R stay valid: one ALT per line
    differ = [key for key, meta in b.info_defs.items()
              if key in a.info_defs and a.info_defs[key][:2] != meta[:2]]
    for key, meta in b.info_defs.items():
        info_defs.setdefault(key, meta)
    if differ:
        log.warning(f"INFO {', '.join(differ)} declared differently in {b.path} than in {a.path}; "
                    f"keeping the declaration of {a.path}")
    return info_defs


def concordance(vcf_a: str, vcf_b: str, labels: Sequence[str] = ("bwa", "bowtie2"),
                filter_weak: bool = False, command: str | None = None,
                reference: str | None = None) -> tuple[pysam.VariantHeader, list[pysam.VariantRecord]]:
    """Merge two VCFs of one sample into the concordance VCF (header and records).

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
    reference : path, optional
        FASTA to left-align indels against (default: the ``##reference`` file of
        the inputs when it exists; without one indels are matched as written and
        a warning is printed on stderr).

    Returns
    -------
    (pysam.VariantHeader, list of pysam.VariantRecord)
        The header and the records, sorted.

    Raises
    ------
    InputFileError, FormatError
        Missing or malformed input, bad labels, contigs of different lengths.
    ReferenceFileError
        The reference cannot be read or does not match the VCFs.
    """
    labels = list(labels)
    if len(labels) != 2 or labels[0] == labels[1] or not all(_LABEL_RE.match(x) for x in labels):
        raise FormatError(f"--labels {','.join(labels)}: give two different names of letters, "
                          f"digits and _ (e.g. bwa,bowtie2)")
    if reference is not None and not os.path.isfile(reference):
        raise ReferenceFileError(f"{reference}: reference FASTA not found")
    a, b = read_alleles(vcf_a), read_alleles(vcf_b)
    ref_path = _reference_path(reference, (a, b))
    if ref_path is not None:
        aligner = LeftAligner(ref_path)
        try:
            _left_align(a, aligner)
            _left_align(b, aligner)
        finally:
            aligner.close()
    elif any(len(k[2]) != len(k[3]) for src in (a, b) for k in src.alleles):
        log.warning("no reference FASTA (-f, or an existing ##reference file): indels are matched as "
                    "written, not left-aligned")
    contigs = _merge_contigs(a, b)
    order = {name: i for i, (name, _) in enumerate(contigs)}
    info_defs = _merge_info_defs(labels, a, b)
    filter_defs = {**a.filter_defs, **{k: v for k, v in b.filter_defs.items() if k not in a.filter_defs}}
    if filter_weak:
        filter_defs["weak_evidence"] = "Does not pass filters in both alignments (Villa et al. 2024)"
    # the primary's run lines (reads and bases used, tests, background) describe the merged calls' numbers
    extra = [*a.deepamp_lines,
             f"##deepamp_concordance=primary:{labels[0]}={a.path},other:{labels[1]}={b.path}"]
    ref_line = None
    if ref_path is not None:
        ref_line = ref_path
    elif a.reference or b.reference:
        extra.append(f"##reference={a.reference or b.reference}")
    header = new_header(contigs, reference=ref_line, command=command or "deepamp concordance", info=info_defs,
                        filters=filter_defs, extra=extra)
    records: list[tuple[tuple[int, int, str, str], pysam.VariantRecord]] = []
    for key in set(a.alleles) | set(b.alleles):
        found = [(lab, src.alleles.get(key)) for lab, src in zip(labels, (a, b))]
        source = found[0][1] or found[1][1]
        passing = [lab for lab, al in found if al is not None and al.passes]
        info: dict[str, object] = {"EVIDENCE": ("strong" if len(passing) == 2 else "weak" if passing else "none"),
                                   "EVIDENCE_SOURCES": ",".join(passing) or None}
        for lab, al in found:
            if al is not None:
                info[f"AF_{lab}"] = al.info.get("AF")
                info[f"DP_{lab}"] = al.info.get("DP")
                info[f"FILTER_{lab}"] = al.filter_text.replace(";", "|")
        for k, v in source.info.items():
            info.setdefault(k, v)
        filters = list(source.filters or [])
        if filter_weak and len(passing) < 2:
            filters.append("weak_evidence")
        rec = header.new_record(contig=key[0], start=key[1] - 1, alleles=(key[2], key[3]), id=source.id,
                                qual=source.qual)
        if filters:
            for f in filters:
                rec.filter.add(f)
        elif source.filters is not None:
            rec.filter.add("PASS")
        for k, v in info.items():
            if v is None or v is False:
                continue
            if isinstance(v, tuple) and header.info[k].number in (1, "1"):
                v = v[0]
            rec.info[k] = v
        records.append(((order[key[0]], key[1], key[2], key[3]), rec))
    records.sort(key=lambda x: x[0])
    return header, [r for _, r in records]


def write_concordance(out: str, vcf_a: str, vcf_b: str, labels: Sequence[str] = ("bwa", "bowtie2"),
                      filter_weak: bool = False, command: str | None = None,
                      reference: str | None = None) -> dict[str, int]:
    """Write the concordance VCF to ``out`` (``.vcf.gz`` bgzipped + tabix-indexed).

    Returns the number of alleles per EVIDENCE value.  Raises as :func:`concordance`,
    and OutputError when ``out`` cannot be written.
    """
    header, records = concordance(vcf_a, vcf_b, labels, filter_weak, command, reference)
    write_vcf(out, header, records)
    tally = {"strong": 0, "weak": 0, "none": 0}
    for rec in records:
        tally[rec.info["EVIDENCE"]] += 1
    return tally


__all__ = ["EVIDENCE_INFO", "LeftAligner", "read_alleles", "concordance", "write_concordance"]
