"""Annotating the records of a VCF: HGVS, knowledge-base evidence, bypass changes and the inhibitor ranking.

:func:`annotate_vcf` reads a deepamp or LoFreq VCF (optionally phased by
``deepamp phase``) and returns an :class:`AnnotatedVcf`; :meth:`AnnotatedVcf.write`
writes ``PREFIX.tsv``, ``PREFIX.json``, ``PREFIX.vcf`` (input records plus INFO
GENE, TRANSCRIPT, EXON, HGVSC, HGVSP, HGVSP1, CSQ, KB, KB_SOURCES, BYPASS) and
``PREFIX.ranking.tsv`` (the inhibitor ranking by group), all four or none.

The JSON also holds the inhibitor ranking for the ALK protein changes found,
in groups (evidence of activity, conflicting, resistance; "no data" not ranked),
and what the knowledge base says about off-target (bypass) changes
(decision support for a tumour board, not a treatment order); ``phase`` gives
the phase relation of mutation pairs (TSV: mutA, mutB, cis|trans|undetermined).

On a VCF written by ``deepamp phase`` (INFO ``PS`` shared by variants linked in
cis, INFO ``PHASE`` = ``partner:relation:spanning=N`` per nearby variant), two
SNVs in one codon that are phased cis get one combined amino-acid change; when
they are trans, undetermined or not phased at all they are annotated
separately and flagged (``phase`` column and a warning).  Without ``phase``
the ranking takes its phase relations from the same INFO fields.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from typing import Any

import pysam

from deepamp.annotate.bypass import ON_TARGET, annotation_name, assess
from deepamp.annotate.hgvs import Annotation, Variant, annotate, combine_cis, same_codon_groups
from deepamp.annotate.knowledge import KnowledgeBase, load_kb
from deepamp.annotate.mutation_names import split_gene
from deepamp.annotate.ranking import DISCLAIMER, RELATIONS, RankingResult, rank_inhibitors
from deepamp.annotate.transcripts import TranscriptSet, check_genome
from deepamp.errors import FormatError, InputFileError, OptionError
from deepamp.io.outputs import staged
from deepamp.io.vcf import filter_names, info_value, read_vcf, write_vcf

INFO_FIELDS = [
    ("GENE", "Gene symbol (deepamp annotate)"),
    ("TRANSCRIPT", "Transcript accession used for HGVS"),
    ("EXON", "Exon number, or intron as 'intronN'"),
    ("HGVSC", "HGVS c. name"),
    ("HGVSP", "HGVS p. name, 3-letter amino acids"),
    ("HGVSP1", "HGVS p. name, 1-letter amino acids"),
    ("CSQ", "Consequence (Sequence Ontology term)"),
    ("KB", "deepamp knowledge-base record ids for this protein change (Table2 = Villa 2024 IC50 row)"),
    ("KB_SOURCES", "Sources of the KB records (see deepamp/annotate/data/kb_sources.tsv)"),
    ("BYPASS", "Off-target (bypass) change: what the knowledge base says, incl. whether switching ALK inhibitor alone is expected to help"),
]
#: Columns of PREFIX.tsv.  ``vaf`` is INFO AF (else a sample's FORMAT AF); ``filter``, ``dp`` and ``af``
#: are the record's FILTER (PASS, '.' when no filter was applied, or the failed filters joined by ';'),
#: INFO DP and INFO AF as the VCF has them (empty when absent).
TSV_COLUMNS = ["contig", "pos", "ref", "alt", "vaf", "filter", "dp", "af", "gene", "transcript", "exon", "intron",
               "hgvsc", "hgvsp", "hgvsp1", "consequence", "combined_hgvsp1", "phase", "kb_records", "kb_sources",
               "bypass", "warnings", "notes"]


OUTPUT_SUFFIXES = ("tsv", "json", "vcf", "ranking.tsv")


def _kb_hits(kb: KnowledgeBase, ann: Annotation, txs: TranscriptSet) -> tuple[list[str], list[str], str]:
    """Knowledge-base record ids, source ids and (off-target genes) the bypass summary of one annotation."""
    name = annotation_name(ann, txs)
    if name is None:
        return [], [], ""
    gene = split_gene(name)[0]
    if gene not in ("ALK", *ON_TARGET):
        finding = assess(kb, name)
        return finding.record_ids, finding.source_ids, finding.summary
    if gene != "ALK":
        return [], [], ""
    ids, srcs = [], []
    if any(r.genotype == name for r in kb.ic50):
        ids.append("Table2")
        srcs.append("villa2024")
    for e in kb.evidence_for(name):
        ids.append(e.record_id)
        srcs.append(e.source_id)
    return ids, sorted(set(srcs)), ""


def _vaf(rec: Any, alt_index: int) -> float | None:
    try:
        if "AF" in rec.info:
            v = rec.info["AF"]
            v = v[alt_index] if isinstance(v, tuple) else v
            return None if v is None else float(f"{float(v):.6g}")
    except (KeyError, ValueError, TypeError):
        pass
    for sample in rec.samples.values():
        try:
            v = sample["AF"]
        except KeyError:
            break
        v = v[alt_index] if isinstance(v, tuple) else v
        return None if v is None else float(f"{float(v):.6g}")
    return None


def _record_columns(rec: Any, alt_index: int) -> list[str]:
    """``filter``, ``dp`` and ``af`` TSV cells of one ALT allele of a record."""
    names = filter_names(rec)
    flt = "." if names is None else ";".join(names) or "PASS"
    dp = info_value(rec, "DP") if "DP" in rec.header.info else None
    af = info_value(rec, "AF", alt_index) if "AF" in rec.header.info else None
    dp_cell = "" if dp is None or isinstance(dp, tuple) else str(dp)
    try:
        af_cell = "" if af is None else f"{float(af):.6g}"
    except (TypeError, ValueError):
        af_cell = ""
    return [flt, dp_cell, af_cell]


def _enc(value: object) -> str:
    """Percent-encode characters that are not allowed in VCF INFO values."""
    s = "." if value is None or value == "" else str(value)
    for ch, rep in (("%", "%25"), (",", "%2C"), (";", "%3B"), ("=", "%3D"), (" ", "%20"),
                    ("\t", "%09"), ("|", "%7C")):
        s = s.replace(ch, rep)
    return s


def read_phase(path: str) -> list[tuple[str, str, str]]:
    try:
        fh = open(path, encoding="utf-8")
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read phase file ({exc.strerror})") from None
    out = []
    with fh:
        for n, line in enumerate(fh, 1):
            if not line.strip() or line.startswith("#"):
                continue
            f = line.rstrip("\n").split("\t")
            if len(f) != 3 or f[2].strip().lower() not in RELATIONS:
                raise FormatError(f"{path}: line {n}: expected mutA<TAB>mutB<TAB>cis|trans|undetermined")
            out.append((f[0].strip(), f[1].strip(), f[2].strip().lower()))
    return out


def vcf_phase_relations(records: list[Any]) -> dict[frozenset[str], str]:
    """Pair relations written by ``deepamp phase``, keyed by the two variants' labels.

    Labels are ``contig:posREF>ALT`` (``str(Variant)``).  Variants sharing an
    INFO ``PS`` are cis; INFO ``PHASE`` entries ``partner:relation:spanning=N``
    give every other relation.  Unparsable entries are ignored.
    """
    rel: dict[frozenset[str], str] = {}
    by_ps: dict[tuple[str, int], list[str]] = {}
    for rec in records:
        mine = [f"{rec.chrom}:{rec.pos}{rec.ref.upper()}>{a.upper()}" for a in rec.alts or ()]
        info = rec.info
        entries = info.get("PHASE") if "PHASE" in info else None
        for entry in ([entries] if isinstance(entries, str) else entries or ()):
            parts = str(entry).rsplit(":", 2)
            if len(parts) == 3 and parts[1] in RELATIONS:
                for m in mine:
                    rel[frozenset((m, parts[0]))] = parts[1]
        ps = info.get("PS") if "PS" in info else None
        if isinstance(ps, int):
            by_ps.setdefault((rec.chrom, ps), []).extend(mine)
    for members in by_ps.values():
        for i, a in enumerate(members):
            for b in members[i + 1:]:
                rel[frozenset((a, b))] = "cis"
    return rel


def _merge_codons_by_phase(variants: list[Variant], anns: list[Annotation], txs: TranscriptSet,
                           rel: dict[frozenset[str], str], phased: bool) -> None:
    """Combine same-codon SNVs phased cis; flag the others (trans, undetermined, not phased)."""
    for group in same_codon_groups(variants, anns, txs):
        parent = {i: i for i in group}

        def find(i: int) -> int:
            while parent[i] != i:
                i = parent[i]
            return i

        for x, i in enumerate(group):
            for j in group[x + 1:]:
                if rel.get(frozenset((str(variants[i]), str(variants[j])))) == "cis":
                    parent[find(j)] = find(i)
        sets: dict[int, list[int]] = {}
        for i in group:
            sets.setdefault(find(i), []).append(i)
        combine_cis(variants, anns, txs, [s for s in sets.values() if len(s) > 1])
        for i in group:
            if len(sets[find(i)]) > 1:
                anns[i].phase = "cis"
                continue
            others = [j for j in group if j != i]
            why = [rel.get(frozenset((str(variants[i]), str(variants[j]))),
                           "undetermined" if phased else "not phased") for j in others]
            anns[i].phase = "trans" if all(w == "trans" for w in why) else why[0] if len(set(why)) == 1 \
                else "undetermined"
            anns[i].warnings.append(
                "shares a codon with " + ", ".join(f"{variants[j]} ({w})" for j, w in zip(others, why))
                + ": annotated separately; the amino-acid change of a molecule carrying both is not given")


@dataclass
class AnnotatedVcf:
    """A VCF's records with their annotations, the JSON document and the inhibitor ranking.

    Attributes
    ----------
    header, records : the output VCF (input records + annotation INFO fields)
    rows : the TSV rows (:data:`TSV_COLUMNS`)
    doc : the JSON document (variants, ranking, disclaimer, knowledge-base version)
    ranking : the inhibitor ranking
    genome : "hg38" or "hg19"
    kb_version : knowledge-base version
    """

    header: pysam.VariantHeader
    records: list[pysam.VariantRecord]
    rows: list[list[Any]]
    doc: dict[str, Any]
    ranking: RankingResult
    genome: str
    kb_version: str

    def write(self, prefix: str) -> list[str]:
        """Write ``PREFIX.tsv``, ``.json``, ``.vcf`` and ``.ranking.tsv``, all or none; returns the paths.

        Raises
        ------
        OutputError
            An output cannot be written; nothing is left behind.
        """
        outs = [f"{prefix}.{ext}" for ext in OUTPUT_SUFFIXES]
        with staged(*outs) as (tmp_tsv, tmp_json, tmp_vcf, tmp_rank):
            with open(tmp_tsv, "w", newline="", encoding="utf-8") as fh:
                fh.write(f"# deepamp annotate; genome {self.genome}; knowledge base {self.kb_version}; "
                         f"{DISCLAIMER}\n")
                w = csv.writer(fh, delimiter="\t", lineterminator="\n")
                w.writerow(TSV_COLUMNS)
                w.writerows(self.rows)
            with open(tmp_json, "w", encoding="utf-8") as fh:
                json.dump(self.doc, fh, indent=1)
                fh.write("\n")
            write_vcf(tmp_vcf, self.header, self.records)
            with open(tmp_rank, "w", encoding="utf-8") as fh:
                fh.write(self.ranking.to_tsv())
        return outs


def annotate_vcf(vcf: str, *, genome: str = "hg38", transcripts: str | None = None,
                 phase: str | None = None) -> AnnotatedVcf:
    """Annotate every ALT allele of ``vcf`` and rank the inhibitors for the protein changes found.

    Parameters
    ----------
    vcf : deepamp or LoFreq VCF (plain, bgzip or gzip; a ``deepamp phase`` VCF gives phase relations)
    genome : "hg38" (GRCh38) or "hg19" (GRCh37)
    transcripts : optional extra transcript JSON
    phase : optional TSV of phase relations (mutA, mutB, cis|trans|undetermined)

    Raises
    ------
    OptionError
        An unknown genome build.
    InputFileError, FormatError
        A missing or malformed input (the line is named), or a VCF already annotated.
    """
    try:
        genome = check_genome(genome)
    except ValueError as exc:
        raise OptionError(f"--genome: {exc}") from None
    txs = TranscriptSet.default(genome, transcripts)
    kb = load_kb()
    phases = read_phase(phase) if phase else []
    data = read_vcf(vcf)
    header = data.header.copy()
    for key, desc in INFO_FIELDS:
        if key in header.info:
            raise FormatError(f"{vcf}: INFO field {key} is already defined (already annotated?)")
        header.add_line(f'##INFO=<ID={key},Number=A,Type=String,Description="{desc}">')
    records, variants, vafs, alt_of, record_cells = data.records, [], [], [], []
    for ri, rec in enumerate(records):
        for i, alt in enumerate(rec.alts or ()):
            if alt.startswith("<") or alt in ("*", "."):
                continue
            try:
                variants.append(Variant(rec.chrom, rec.pos, rec.ref, alt))
            except ValueError as exc:
                raise FormatError(f"{data.where(ri)}: {exc}") from None
            vafs.append(_vaf(rec, i))
            alt_of.append((ri, i))
            record_cells.append(_record_columns(rec, i))
    anns = annotate(variants, txs)
    phased = "PHASE" in data.header.info or "PS" in data.header.info
    rel = vcf_phase_relations(records) if phased else {}
    _merge_codons_by_phase(variants, anns, txs, rel, phased)

    rows, jvars = [], []
    per_rec: dict[int, dict[int, tuple[Annotation, list[str], list[str], str]]] = {}
    for ann, vaf, (ri, ai), cells in zip(anns, vafs, alt_of, record_cells):
        ids, srcs, bypass = _kb_hits(kb, ann, txs)
        per_rec.setdefault(ri, {})[ai] = (ann, ids, srcs, bypass)
        d = ann.as_dict()
        d.update({"vaf": vaf, "kb_records": ids, "kb_sources": srcs, "bypass": bypass})
        jvars.append(d)
        rows.append([d["contig"], d["pos"], d["ref"], d["alt"], "" if vaf is None else f"{vaf:.6g}", *cells,
                     ann.gene or "", ann.transcript or "", ann.exon or "", ann.intron or "",
                     ann.hgvsc or "", ann.hgvsp or "", ann.hgvsp1 or "", ann.consequence,
                     ann.combined_hgvsp1 or "", ann.phase or "", ",".join(ids), ",".join(srcs),
                     bypass, "; ".join(ann.warnings), "; ".join(ann.notes)])

    muts: dict[str, float | None] = {}
    mut_of: dict[str, str] = {}  # variant label -> ranking mutation name
    for v, ann, vaf in zip(variants, anns, vafs):
        key = annotation_name(ann, txs)
        if key is not None:
            mut_of[str(v)] = key
            prev = muts.get(key)
            muts[key] = vaf if prev is None else (prev if vaf is None else max(prev, vaf))
    if not phase:  # relations between protein changes from the phased VCF
        seen: set[frozenset[str]] = set()
        for pair, relation in sorted(rel.items(), key=lambda kv: sorted(kv[0])):
            names = frozenset(mut_of.get(lbl) for lbl in pair)
            if None not in names and len(names) == 2 and names not in seen:
                seen.add(names)  # type: ignore[arg-type]
                a, b = sorted(names)  # type: ignore[type-var]
                phases.append((a, b, relation))
    try:
        ranked = rank_inhibitors(list(muts.items()), phases, kb)
    except ValueError as exc:
        raise FormatError(f"{phase or vcf}: {exc}") from None
    doc = {"tool": "deepamp annotate", "input": os.path.abspath(vcf), "genome": genome,
           "kb_version": kb.version, "disclaimer": DISCLAIMER, "variants": jvars, "ranking": ranked.as_dict()}
    out_records = []
    for ri, rec in enumerate(records):
        rec.translate(header)
        got = per_rec.get(ri, {})
        nalt = len(rec.alts or ())
        if got and nalt:
            def col(f: Any) -> tuple[str, ...]:
                return tuple(_enc(f(*got[i])) if i in got else "." for i in range(nalt))
            rec.info["GENE"] = col(lambda a, i, s, b: a.gene)
            rec.info["TRANSCRIPT"] = col(lambda a, i, s, b: a.transcript)
            rec.info["EXON"] = col(lambda a, i, s, b: a.exon if a.exon else
                                   (f"intron{a.intron}" if a.intron else None))
            rec.info["HGVSC"] = col(lambda a, i, s, b: a.hgvsc)
            rec.info["HGVSP"] = col(lambda a, i, s, b: a.hgvsp)
            rec.info["HGVSP1"] = col(lambda a, i, s, b: a.hgvsp1)
            rec.info["CSQ"] = col(lambda a, i, s, b: a.consequence)
            rec.info["KB"] = col(lambda a, i, s, b: "&".join(i))
            rec.info["KB_SOURCES"] = col(lambda a, i, s, b: "&".join(s))
            rec.info["BYPASS"] = col(lambda a, i, s, b: b)
        out_records.append(rec)
    return AnnotatedVcf(header, out_records, rows, doc, ranked, genome, kb.version)


__all__ = ["AnnotatedVcf", "annotate_vcf", "vcf_phase_relations", "read_phase", "INFO_FIELDS", "TSV_COLUMNS",
           "OUTPUT_SUFFIXES"]
