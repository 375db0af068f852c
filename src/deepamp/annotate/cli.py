"""``deepamp annotate``: HGVS annotation, knowledge-base evidence and inhibitor ranking.

Reads a deepamp or LoFreq VCF (optionally phased by ``deepamp phase``) and writes ``PREFIX.tsv``, ``PREFIX.json``,
``PREFIX.vcf`` (input records plus INFO GENE, TRANSCRIPT, EXON, HGVSC, HGVSP,
HGVSP1, CSQ, KB, KB_SOURCES, BYPASS) and ``PREFIX.ranking.tsv`` (the inhibitor
ranking by group).  Every output is written to a temporary file in
the target directory and renamed only when all of them are complete.

The JSON also holds the inhibitor ranking for the ALK protein changes found,
in groups (evidence of activity, conflicting, resistance; "no data" not ranked),
and what the knowledge base says about off-target (bypass) changes
(decision support for a tumour board, not a treatment order); ``--phase``
gives the phase relation of mutation pairs (TSV: mutA, mutB, cis|trans|undetermined).

On a VCF written by ``deepamp phase`` (INFO ``PS`` shared by variants linked in
cis, INFO ``PHASE`` = ``partner:relation:spanning=N`` per nearby variant), two
SNVs in one codon that are phased cis get one combined amino-acid change; when
they are trans, undetermined or not phased at all they are annotated
separately and flagged (``phase`` column and a warning).  Without ``--phase``
the ranking takes its phase relations from the same INFO fields.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
from typing import Any


from ..errors import DeepampError, FormatError, InputFileError, OutputError
from ..vcf import open_vcf
from .hgvs import Annotation, Variant, annotate, combine_cis, same_codon_groups
from .bypass import ON_TARGET, annotation_name, assess
from .knowledge import KnowledgeBase, load_kb
from .mutation_names import split_gene
from .ranking import DISCLAIMER, RELATIONS, rank_inhibitors
from .transcripts import TranscriptSet, check_genome

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
TSV_COLUMNS = ["contig", "pos", "ref", "alt", "vaf", "gene", "transcript", "exon", "intron", "hgvsc",
               "hgvsp", "hgvsp1", "consequence", "combined_hgvsp1", "phase", "kb_records", "kb_sources",
               "bypass", "warnings", "notes"]


class AnnotateUsageError(DeepampError, ValueError):
    """A bad option value for ``deepamp annotate`` (e.g. unknown genome build)."""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``deepamp annotate`` arguments to ``parser``."""
    parser.add_argument("vcf", help="input VCF (deepamp or LoFreq; plain or bgzipped)")
    parser.add_argument("-o", "--output", required=True,
                        help="output prefix: writes PREFIX.tsv, PREFIX.json, PREFIX.vcf and PREFIX.ranking.tsv")
    parser.add_argument("--genome", default="hg38",
                        help="genome build of the VCF: hg38 (GRCh38, default) or hg19 (GRCh37)")
    parser.add_argument("--transcripts", metavar="JSON", default=None,
                        help="extra transcript JSON (schema in deepamp/annotate/data/README.md)")
    parser.add_argument("--phase", metavar="TSV", default=None,
                        help="phase relations for the ranking: mutA<TAB>mutB<TAB>cis|trans|undetermined")


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


def _enc(value: object) -> str:
    """Percent-encode characters that are not allowed in VCF INFO values."""
    s = "." if value is None or value == "" else str(value)
    for ch, rep in (("%", "%25"), (",", "%2C"), (";", "%3B"), ("=", "%3D"), (" ", "%20"),
                    ("\t", "%09"), ("|", "%7C")):
        s = s.replace(ch, rep)
    return s


def _read_phase(path: str) -> list[tuple[str, str, str]]:
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


def _temp_in(final: str) -> str:
    d = os.path.dirname(os.path.abspath(final))
    try:
        fd, tmp = tempfile.mkstemp(dir=d, prefix="." + os.path.basename(final) + ".", suffix=".tmp")
    except OSError as exc:
        raise OutputError(f"{final}: cannot write output ({exc.strerror})") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    return tmp


def run(args: argparse.Namespace) -> int:
    """Run ``deepamp annotate``; returns 0 on success, raises DeepampError otherwise."""
    try:
        genome = check_genome(args.genome)
    except ValueError as exc:
        raise AnnotateUsageError(f"--genome: {exc}") from None
    txs = TranscriptSet.default(genome, args.transcripts)
    kb = load_kb()
    phases = _read_phase(args.phase) if args.phase else []
    vin = open_vcf(args.vcf)
    with vin:
        header = vin.header.copy()
        for key, desc in INFO_FIELDS:
            if key in header.info:
                raise FormatError(f"{args.vcf}: INFO field {key} is already defined (already annotated?)")
            header.add_meta("INFO", items=[("ID", key), ("Number", "A"), ("Type", "String"),
                                           ("Description", desc)])
        records, variants, vafs, alt_of = [], [], [], []
        try:
            for rec in vin:
                records.append(rec)
                for i, alt in enumerate(rec.alts or ()):
                    if alt.startswith("<") or alt in ("*", "."):
                        continue
                    try:
                        variants.append(Variant(rec.chrom, rec.pos, rec.ref, alt))
                    except ValueError as exc:
                        raise FormatError(f"{args.vcf}: {exc}") from None
                    vafs.append(_vaf(rec, i))
                    alt_of.append((len(records) - 1, i))
        except (OSError, ValueError) as exc:
            raise FormatError(f"{args.vcf}: malformed VCF record after {len(records)} records ({exc})") from None
        anns = annotate(variants, txs)
        phased = "PHASE" in vin.header.info or "PS" in vin.header.info
        rel = vcf_phase_relations(records) if phased else {}
        _merge_codons_by_phase(variants, anns, txs, rel, phased)

        rows, jvars = [], []
        per_rec: dict[int, dict[int, tuple[Annotation, list[str], list[str], str]]] = {}
        for ann, vaf, (ri, ai) in zip(anns, vafs, alt_of):
            ids, srcs, bypass = _kb_hits(kb, ann, txs)
            per_rec.setdefault(ri, {})[ai] = (ann, ids, srcs, bypass)
            d = ann.as_dict()
            d.update({"vaf": vaf, "kb_records": ids, "kb_sources": srcs, "bypass": bypass})
            jvars.append(d)
            rows.append([d["contig"], d["pos"], d["ref"], d["alt"], "" if vaf is None else f"{vaf:.6g}",
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
        if not args.phase:  # relations between protein changes from the phased VCF
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
            raise FormatError(f"{args.phase or args.vcf}: {exc}") from None
        ranking = ranked.as_dict()
        doc = {"tool": "deepamp annotate", "input": os.path.abspath(args.vcf), "genome": genome,
               "kb_version": kb.version, "disclaimer": DISCLAIMER, "variants": jvars, "ranking": ranking}

        outs = {ext: f"{args.output}.{ext}" for ext in ("tsv", "json", "vcf", "ranking.tsv")}
        temps: dict[str, str] = {}
        try:
            for ext, final in outs.items():
                temps[ext] = _temp_in(final)
            with open(temps["tsv"], "w", newline="", encoding="utf-8") as fh:
                fh.write(f"# deepamp annotate; genome {genome}; knowledge base {kb.version}; {DISCLAIMER}\n")
                w = csv.writer(fh, delimiter="\t", lineterminator="\n")
                w.writerow(TSV_COLUMNS)
                w.writerows(rows)
            with open(temps["ranking.tsv"], "w", encoding="utf-8") as fh:
                fh.write(ranked.to_tsv())
            with open(temps["json"], "w", encoding="utf-8") as fh:
                json.dump(doc, fh, indent=1)
                fh.write("\n")
            # Written as text: htslib exits the process when translating records whose
            # contig is missing from the header (common in LoFreq VCFs), so the
            # header gets the missing ##contig lines and INFO is appended textually.
            for rec in records:
                if rec.chrom not in header.contigs:
                    header.contigs.add(rec.chrom)
            with open(temps["vcf"], "w", encoding="utf-8") as vout:
                vout.write(str(header))
                for ri, rec in enumerate(records):
                    fields = str(rec).rstrip("\n").split("\t")
                    got = per_rec.get(ri, {})
                    nalt = len(rec.alts or ())
                    if got and nalt and len(fields) >= 8:
                        def col(f: Any) -> str:
                            return ",".join(_enc(f(*got[i])) if i in got else "." for i in range(nalt))
                        extra = [
                            ("GENE", col(lambda a, i, s, b: a.gene)),
                            ("TRANSCRIPT", col(lambda a, i, s, b: a.transcript)),
                            ("EXON", col(lambda a, i, s, b: a.exon if a.exon else
                                         (f"intron{a.intron}" if a.intron else None))),
                            ("HGVSC", col(lambda a, i, s, b: a.hgvsc)),
                            ("HGVSP", col(lambda a, i, s, b: a.hgvsp)),
                            ("HGVSP1", col(lambda a, i, s, b: a.hgvsp1)),
                            ("CSQ", col(lambda a, i, s, b: a.consequence)),
                            ("KB", col(lambda a, i, s, b: "&".join(i))),
                            ("KB_SOURCES", col(lambda a, i, s, b: "&".join(s))),
                            ("BYPASS", col(lambda a, i, s, b: b)),
                        ]
                        info = [] if fields[7] in (".", "") else [fields[7]]
                        fields[7] = ";".join(info + [f"{k}={v}" for k, v in extra])
                    vout.write("\t".join(fields) + "\n")
            for ext, final in outs.items():
                os.replace(temps[ext], final)
        except OSError as exc:
            raise OutputError(f"{args.output}: cannot write output ({exc})") from None
        finally:
            for tmp in temps.values():
                if os.path.exists(tmp):
                    os.unlink(tmp)
    return 0
