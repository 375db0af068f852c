"""Known resistance hotspots: their own testing families in ``deepamp call``.

The shipped list (``data/hotspots_grch38.tsv``) is derived, not typed in: for
every protein change in :data:`RESISTANCE_CHANGES` (ALK/ROS1, family
``hotspot``) and :data:`BYPASS_CHANGES` (off-target genes, family ``bypass``)
the reference codon is read from the transcript model of
:mod:`deepamp.annotate.transcripts`, and every single-nucleotide change of that
codon that encodes the new amino acid is listed as a plus-strand genomic
allele.  :func:`derive_table` rebuilds the list and the tests compare it with
the shipped file.

TSV columns: ``contig pos ref alt gene protein citation family`` (1-based
``pos``; user files passed with ``--hotspots`` need only the first four, and a
row without ``family`` is in the ``hotspot`` family).  Hotspot alleles form a
separate family with its own multiple-testing burden (the number of hotspot
alleles on the panel); INFO/FAMILY says ``hotspot``.  :func:`hotspot_mask`
without ``family`` marks the alleles of every family (one burden for all of
them); with ``family=`` it marks one family, so a caller can give each family
its own burden.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass
from importlib import resources

import numpy as np

from deepamp.errors import FormatError, InputFileError

#: (gene, protein change) of the resistance sites named by the project issue.
RESISTANCE_CHANGES: tuple[tuple[str, str], ...] = (
    ("ALK", "C1156Y"), ("ALK", "I1171N"), ("ALK", "I1171T"), ("ALK", "I1171S"),
    ("ALK", "F1174L"), ("ALK", "F1174C"), ("ALK", "F1174V"), ("ALK", "L1196M"),
    ("ALK", "L1196P"), ("ALK", "L1198F"), ("ALK", "G1202R"), ("ALK", "D1203N"),
    ("ALK", "E1210K"), ("ALK", "C1237Y"), ("ALK", "G1269A"),
    ("ROS1", "S1986F"), ("ROS1", "S1986Y"), ("ROS1", "L2026M"), ("ROS1", "G2032R"),
    ("ROS1", "D2033N"),
)
#: (gene, protein change) of off-target (bypass) alleles: the single-nucleotide changes that the
#: knowledge base names (BRAF G466V, MAP2K1 F129L, BRAF V600E) and the recurrent clinical alleles
#: of the other bypass genes.  EGFR exon 19 deletions are indels and cannot be listed here.
BYPASS_CHANGES: tuple[tuple[str, str], ...] = (
    ("EGFR", "L858R"), ("KRAS", "G12C"), ("BRAF", "G466V"), ("BRAF", "V600E"), ("MAP2K1", "F129L"),
    ("PIK3CA", "E545K"), ("PIK3CA", "H1047R"), ("NRAS", "Q61K"), ("IDH2", "R140Q"),
)
#: In-frame deletions tested as known alleles: (gene, protein change, first and last deleted c. position,
#: family).  ALK G1202del (Gainor et al. 2016, Cancer Discov 6:1118-1133, resistance to second-generation
#: ALK inhibitors); frequent EGFR exon 19 deletions (the off-target "EGFR exon 19 deletion" of Mol Oncol
#: 2021); deletions that left-normalise to one allele are listed once.
INDEL_CHANGES: tuple[tuple[str, str, int, int, str], ...] = (
    ("ALK", "G1202del", 3604, 3606, "hotspot"),
    ("EGFR", "E746_A750del", 2235, 2249, "bypass"),
    ("EGFR", "E746_A750del", 2236, 2250, "bypass"),
    ("EGFR", "L747_T751del", 2240, 2254, "bypass"),
    ("EGFR", "L747_S752del", 2239, 2256, "bypass"),
    ("EGFR", "L747_P753delinsS", 2240, 2257, "bypass"),
)
#: testing families of the shipped list, in file order
FAMILIES = ("hotspot", "bypass")
COLUMNS = ("contig", "pos", "ref", "alt", "gene", "protein", "citation", "family")
_COMP = str.maketrans("ACGT", "TGCA")

__all__ = ["BYPASS_CHANGES", "FAMILIES", "INDEL_CHANGES", "Hotspot", "RESISTANCE_CHANGES", "derive_table",
           "load_hotspots", "shipped_path", "write_table", "hotspot_mask", "ref_mismatches"]


@dataclass(frozen=True)
class Hotspot:
    contig: str
    pos: int          # 1-based
    ref: str
    alt: str
    gene: str = ""
    protein: str = ""
    citation: str = ""
    family: str = "hotspot"

    @property
    def is_indel(self) -> bool:
        return len(self.ref) != len(self.alt)


def shipped_path() -> str:
    return str(resources.files("deepamp") / "data" / "hotspots_grch38.tsv")


def _citations() -> dict[tuple[str, str], str]:
    """(gene, change) -> source citations from the annotate knowledge base."""
    def _read_resource(package: str, name: str) -> str:
        return (resources.files("deepamp.annotate") / "data" / name).read_text(encoding="utf-8")

    sources = {}                     # source id -> the paper as the knowledge base names it in short
    for row in csv.reader((ln for ln in _read_resource("deepamp.annotate", "kb_sources.tsv").splitlines()
                           if ln and not ln.startswith("#")), delimiter="\t"):
        if row[0] != "source_id":
            sources[row[0]] = row[4] if len(row) > 4 and row[4] else row[1]
    out: dict[tuple[str, str], set[str]] = {}
    text = _read_resource("deepamp.annotate", "kb_evidence.tsv")
    lines = [ln for ln in text.splitlines() if ln and not ln.startswith("#")]
    head = lines[0].split("\t")
    gi, ti, si = head.index("gene"), head.index("genotype"), head.index("source_id")
    for ln in lines[1:]:
        f = ln.split("\t")
        if len(f) <= max(gi, ti, si):
            continue
        for part in f[ti].replace("/", "+").split("+"):
            out.setdefault((f[gi], part.strip()), set()).add(sources.get(f[si], f[si]))
    return {k: "; ".join(sorted(v)) for k, v in out.items()}


def derive_table() -> list[Hotspot]:
    """Genomic SNV alleles of :data:`RESISTANCE_CHANGES` and :data:`BYPASS_CHANGES` from the transcript model.

    Raises
    ------
    FormatError
        The reference amino acid of a change does not match the transcript model.
    """
    from deepamp.annotate.transcripts import CODON_TABLE, TranscriptSet

    ts = TranscriptSet.default()
    cites = _citations()
    out: list[Hotspot] = []
    for family, gene, change in [("hotspot", g, c) for g, c in RESISTANCE_CHANGES] + \
            [("bypass", g, c) for g, c in BYPASS_CHANGES]:
        tx = ts.by_gene(gene)
        ref_aa, number, alt_aa = change[0], int(change[1:-1]), change[-1]
        codon = tx.codon(number)
        if codon is None or CODON_TABLE.get(codon) != ref_aa:
            raise FormatError(f"{gene} {change}: codon {number} of the transcript model is {codon}, "
                              f"not {ref_aa}")
        cite = cites.get((gene, change), "")
        cite = cite or "no knowledge-base record; a recurrent resistance allele"
        for k in range(3):
            for b in "ACGT":
                if b == codon[k]:
                    continue
                mutant = codon[:k] + b + codon[k + 1:]
                if CODON_TABLE.get(mutant) != alt_aa:
                    continue
                g = tx.axis_to_genomic(3 * (number - 1) + k + 1)
                assert g is not None
                ref, alt = (codon[k], b) if tx.strand == "+" else (codon[k].translate(_COMP), b.translate(_COMP))
                out.append(Hotspot(tx.chrom, g, ref, alt, gene, change, cite, family))
    seen = set()
    for gene, change, first, last, family in INDEL_CHANGES:
        cite = cites.get((gene, change)) or (cites.get((gene, "exon19del"), "") if gene == "EGFR" else
                                             "Gainor et al. 2016, Cancer Discov 6:1118-1133")
        h = _deletion(ts.by_gene(gene), gene, change, first, last, family, cite)
        if (h.contig, h.pos, h.ref) not in seen:
            seen.add((h.contig, h.pos, h.ref))
            out.append(h)
    out.sort(key=lambda h: FAMILIES.index(h.family))      # stable: each family in one block, in FAMILIES order
    return out


def _deletion(tx, gene: str, change: str, first: int, last: int, family: str, cite: str) -> Hotspot:
    """The VCF allele (left-normalised, anchored) of deleting c.first..c.last of ``tx``."""
    g = sorted(tx.axis_to_genomic(c) for c in (first, last))
    lo, hi = g[0], g[1]
    seq = tx.ref_seq(lo - 1, hi)
    if seq is None or len(seq) != hi - lo + 2:
        raise FormatError(f"{gene} {change}: the reference around c.{first}_{last}del is not shipped")
    while True:                                # shift left while the deleted bases repeat
        before = tx.ref_seq(lo - 2, lo - 2)
        if not before or before != seq[-1]:
            break
        lo, hi = lo - 1, hi - 1
        seq = before + seq[:-1]
    return Hotspot(tx.chrom, lo - 1, seq, seq[0], gene, change,
                   cite or "no knowledge-base record; a recurrent resistance allele", family)


def write_table(path: str, hotspots: list[Hotspot]) -> None:
    from deepamp.io.outputs import staged

    with staged(path) as (tmp,), open(tmp, "w", encoding="utf-8") as fh:
        fh.write("# Resistance hotspot alleles, GRCh38 plus strand, derived by deepamp.calling.hotspots.derive_table "
                 "from the annotate transcript model; family: hotspot (ALK/ROS1) or bypass (off-target genes)\n")
        fh.write("\t".join(COLUMNS) + "\n")
        for h in hotspots:
            fh.write(f"{h.contig}\t{h.pos}\t{h.ref}\t{h.alt}\t{h.gene}\t{h.protein}\t{h.citation}\t{h.family}\n")


def load_hotspots(path: str | os.PathLike[str] | None = None) -> list[Hotspot]:
    """Read a hotspot TSV (the shipped one when ``path`` is None).

    Raises
    ------
    InputFileError / FormatError
        Missing file; missing columns, bad position or non-ACGT alleles.
    """
    path = shipped_path() if path is None else os.fspath(path)
    try:
        with open(path, encoding="utf-8") as fh:
            lines = [ln.rstrip("\n") for ln in fh if ln.strip() and not ln.startswith("#")]
    except FileNotFoundError:
        raise InputFileError(f"{path}: hotspot file not found") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    if not lines:
        raise FormatError(f"{path}: hotspot file has no header line")
    head = lines[0].split("\t")
    if head[:4] != list(COLUMNS[:4]):
        raise FormatError(f"{path}: hotspot file must start with columns contig, pos, ref, alt")
    out = []
    for no, ln in enumerate(lines[1:], 2):
        f = ln.split("\t")
        if len(f) < 4:
            raise FormatError(f"{path}: line {no}: expected at least 4 columns")
        try:
            pos = int(f[1])
        except ValueError:
            raise FormatError(f"{path}: line {no}: bad position {f[1]!r}") from None
        ref, alt = f[2].upper(), f[3].upper()
        snv = len(ref) == len(alt) == 1 and ref != alt
        indel = len(ref) != len(alt) and min(len(ref), len(alt)) == 1 and ref[0] == alt[0]
        if pos < 1 or not (snv or indel) or set(ref + alt) - set("ACGT"):
            raise FormatError(f"{path}: line {no}: expected a position >= 1 and an A/C/G/T SNV or a VCF-anchored "
                              "insertion or deletion")
        extra = dict(zip(head[4:], f[4:]))
        out.append(Hotspot(f[0], pos, ref, alt, extra.get("gene", ""), extra.get("protein", ""),
                           extra.get("citation", ""), extra.get("family") or "hotspot"))
    return out


def _norm(contig: str) -> str:
    return contig[3:] if contig.startswith("chr") else contig


def hotspot_mask(contig: np.ndarray, pos: np.ndarray, ref: np.ndarray, hotspots: list[Hotspot],
                 family: str | None = None) -> np.ndarray:
    """Boolean (P, 4): (panel row, alt base) is a hotspot allele (``chr2`` and ``2`` match).

    ``family`` limits the mask to the alleles of one testing family (``hotspot``
    or ``bypass`` in the shipped list); None takes every allele.
    """
    index = {(_norm(str(c)), int(p)): i for i, (c, p) in enumerate(zip(contig.tolist(), pos.tolist()))}
    mask = np.zeros((len(pos), 4), bool)
    for h in hotspots:
        if h.is_indel or (family is not None and h.family != family):
            continue
        i = index.get((_norm(h.contig), h.pos - 1))
        if i is not None and str(ref[i]).upper() == h.ref:
            mask[i, "ACGT".index(h.alt)] = True
    return mask


def ref_mismatches(contig: np.ndarray, pos: np.ndarray, ref: np.ndarray,
                   hotspots: list[Hotspot]) -> list[tuple[Hotspot, str]]:
    """(allele, reference base) of hotspot alleles at a panel position whose REF is not the
    reference base there (a list of another genome build?)."""
    index = {(_norm(str(c)), int(p)): i for i, (c, p) in enumerate(zip(contig.tolist(), pos.tolist()))}
    out = []
    for h in hotspots:
        here = []
        for k in range(len(h.ref)):
            i = index.get((_norm(h.contig), h.pos - 1 + k))
            here.append(None if i is None else str(ref[i]).upper())
        if any(b is not None for b in here) and any(b is not None and b != r for b, r in zip(here, h.ref)):
            out.append((h, "".join(b or "N" for b in here)))
    return out
