"""``deepamp annotate``: HGVS annotation, knowledge-base evidence and inhibitor ranking.

Reads a deepamp or LoFreq VCF and writes ``PREFIX.tsv``, ``PREFIX.json`` and
``PREFIX.vcf`` (input records plus INFO GENE, TRANSCRIPT, EXON, HGVSC, HGVSP,
HGVSP1, CSQ, KB, KB_SOURCES).  Every output is written to a temporary file in
the target directory and renamed only when all of them are complete.

The JSON also holds the inhibitor ranking for the ALK protein changes found
(decision support for a tumour board, not a treatment order); ``--phase``
gives the phase relation of mutation pairs (TSV: mutA, mutB, cis|trans|undetermined).
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
from .hgvs import Annotation, Variant, annotate
from .knowledge import KnowledgeBase, load_kb
from .ranking import DISCLAIMER, RELATIONS, normalize_mutation, rank_inhibitors
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
]
TSV_COLUMNS = ["contig", "pos", "ref", "alt", "vaf", "gene", "transcript", "exon", "intron", "hgvsc",
               "hgvsp", "hgvsp1", "consequence", "combined_hgvsp1", "kb_records", "kb_sources", "warnings"]


class AnnotateUsageError(DeepampError, ValueError):
    """A bad option value for ``deepamp annotate`` (e.g. unknown genome build)."""


def configure_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``deepamp annotate`` arguments to ``parser``."""
    parser.add_argument("vcf", help="input VCF (deepamp or LoFreq; plain or bgzipped)")
    parser.add_argument("-o", "--output", required=True,
                        help="output prefix: writes PREFIX.tsv, PREFIX.json and PREFIX.vcf")
    parser.add_argument("--genome", default="hg38",
                        help="genome build of the VCF: hg38 (GRCh38, default) or hg19 (GRCh37)")
    parser.add_argument("--transcripts", metavar="JSON", default=None,
                        help="extra transcript JSON (schema in deepamp/annotate/data/README.md)")
    parser.add_argument("--phase", metavar="TSV", default=None,
                        help="phase relations for the ranking: mutA<TAB>mutB<TAB>cis|trans|undetermined")


def _kb_hits(kb: KnowledgeBase, ann: Annotation) -> tuple[list[str], list[str]]:
    change = ann.combined_hgvsp1[2:] if ann.combined_hgvsp1 and ann.combined_hgvsp1 != "p.?" else ann.protein_change
    if ann.gene != "ALK" or not change:
        return [], []
    try:
        geno = normalize_mutation(change)
    except ValueError:
        return [], []
    ids, srcs = [], []
    if any(r.genotype == geno for r in kb.ic50):
        ids.append("Table2")
        srcs.append("villa2024")
    for e in kb.evidence_for(geno):
        ids.append(e.record_id)
        srcs.append(e.source_id)
    return ids, sorted(set(srcs))


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

        rows, jvars = [], []
        per_rec: dict[int, dict[int, tuple[Annotation, list[str], list[str]]]] = {}
        for ann, vaf, (ri, ai) in zip(anns, vafs, alt_of):
            ids, srcs = _kb_hits(kb, ann)
            per_rec.setdefault(ri, {})[ai] = (ann, ids, srcs)
            d = ann.as_dict()
            d.update({"vaf": vaf, "kb_records": ids, "kb_sources": srcs})
            jvars.append(d)
            rows.append([d["contig"], d["pos"], d["ref"], d["alt"], "" if vaf is None else f"{vaf:.6g}",
                         ann.gene or "", ann.transcript or "", ann.exon or "", ann.intron or "",
                         ann.hgvsc or "", ann.hgvsp or "", ann.hgvsp1 or "", ann.consequence,
                         ann.combined_hgvsp1 or "", ",".join(ids), ",".join(srcs), "; ".join(ann.warnings)])

        muts: dict[str, float | None] = {}
        for ann, vaf in zip(anns, vafs):
            if ann.protein_change and ann.gene:
                name = ann.protein_change if ann.gene == "ALK" else f"{ann.gene}:{ann.protein_change}"
                try:
                    key = normalize_mutation(name)
                except ValueError:
                    continue
                prev = muts.get(key)
                muts[key] = vaf if prev is None else (prev if vaf is None else max(prev, vaf))
        try:
            ranking = rank_inhibitors(list(muts.items()), phases, kb).as_dict()
        except ValueError as exc:
            raise FormatError(f"{args.phase or args.vcf}: {exc}") from None
        doc = {"tool": "deepamp annotate", "input": os.path.abspath(args.vcf), "genome": genome,
               "kb_version": kb.version, "disclaimer": DISCLAIMER, "variants": jvars, "ranking": ranking}

        outs = {ext: f"{args.output}.{ext}" for ext in ("tsv", "json", "vcf")}
        temps: dict[str, str] = {}
        try:
            for ext, final in outs.items():
                temps[ext] = _temp_in(final)
            with open(temps["tsv"], "w", newline="", encoding="utf-8") as fh:
                fh.write(f"# deepamp annotate; genome {genome}; knowledge base {kb.version}; {DISCLAIMER}\n")
                w = csv.writer(fh, delimiter="\t", lineterminator="\n")
                w.writerow(TSV_COLUMNS)
                w.writerows(rows)
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
                            ("GENE", col(lambda a, i, s: a.gene)),
                            ("TRANSCRIPT", col(lambda a, i, s: a.transcript)),
                            ("EXON", col(lambda a, i, s: a.exon if a.exon else
                                         (f"intron{a.intron}" if a.intron else None))),
                            ("HGVSC", col(lambda a, i, s: a.hgvsc)),
                            ("HGVSP", col(lambda a, i, s: a.hgvsp)),
                            ("HGVSP1", col(lambda a, i, s: a.hgvsp1)),
                            ("CSQ", col(lambda a, i, s: a.consequence)),
                            ("KB", col(lambda a, i, s: "&".join(i))),
                            ("KB_SOURCES", col(lambda a, i, s: "&".join(s))),
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
