"""Variant consequence and HGVS c./p. names for VCF-style variants.

``annotate(variants, transcripts, cis_groups)`` takes VCF-style variants
(contig "chr2" or "2", 1-based position, REF, ALT) and returns one
:class:`Annotation` per variant.  Indels are shifted 3' in the *transcript*
orientation (HGVS rule, :mod:`.shift3`): a left-aligned VCF deletion on a
plus-strand gene such as EGFR moves to its most 3' copy, on a minus-strand gene
such as ALK it is usually there already.  SNVs that
``cis_groups`` declares to be on the same molecule and that hit one codon get a
single combined amino-acid change (``combined_hgvsp``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

from deepamp.normalise import trim_alleles
from deepamp.annotate.shift3 import Shifted, duplicated_span, shift_deletion, shift_insertion
from deepamp.annotate.transcripts import Transcript, TranscriptSet, normalize_contig, revcomp, translate

THREE = {"A": "Ala", "R": "Arg", "N": "Asn", "D": "Asp", "C": "Cys", "Q": "Gln", "E": "Glu",
         "G": "Gly", "H": "His", "I": "Ile", "L": "Leu", "K": "Lys", "M": "Met", "F": "Phe",
         "P": "Pro", "S": "Ser", "T": "Thr", "W": "Trp", "Y": "Tyr", "V": "Val", "*": "Ter",
         "X": "Xaa"}


@dataclass(frozen=True)
class Variant:
    """A VCF-style variant; ``pos`` is 1-based, alleles upper-case."""

    contig: str
    pos: int
    ref: str
    alt: str

    def __post_init__(self) -> None:
        for allele in (self.ref, self.alt):
            if not allele or set(allele.upper()) - set("ACGTN"):
                raise ValueError(f"variant {self.contig}:{self.pos}: allele {allele!r} is not A/C/G/T/N")
        if self.pos < 1:
            raise ValueError(f"variant {self.contig}:{self.pos}: position must be >= 1")
        object.__setattr__(self, "ref", self.ref.upper())
        object.__setattr__(self, "alt", self.alt.upper())

    def __str__(self) -> str:
        return f"{self.contig}:{self.pos}{self.ref}>{self.alt}"


@dataclass
class Annotation:
    variant: Variant
    gene: str | None = None
    transcript: str | None = None
    exon: int | None = None
    intron: int | None = None
    hgvsc: str | None = None          # e.g. NM_004304.4:c.3604G>A
    hgvsp: str | None = None          # e.g. p.Gly1202Arg
    hgvsp1: str | None = None         # e.g. p.G1202R
    consequence: str = "intergenic_variant"
    protein_change: str | None = None  # 1-letter without "p.", e.g. G1202R
    combined_hgvsp: str | None = None  # set for SNVs combined with a cis partner in one codon
    combined_hgvsp1: str | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)    # how a name was formed (e.g. fs short form)
    phase: str | None = None  # cis/trans/undetermined relation to a same-codon partner, when checked

    def as_dict(self) -> dict[str, object]:
        v = self.variant
        return {"contig": v.contig, "pos": v.pos, "ref": v.ref, "alt": v.alt,
                "gene": self.gene, "transcript": self.transcript, "exon": self.exon,
                "intron": self.intron, "hgvsc": self.hgvsc, "hgvsp": self.hgvsp,
                "hgvsp1": self.hgvsp1, "consequence": self.consequence,
                "protein_change": self.protein_change, "combined_hgvsp": self.combined_hgvsp,
                "combined_hgvsp1": self.combined_hgvsp1, "warnings": list(self.warnings),
                "notes": list(self.notes), "phase": self.phase}


def _p3(aa: str) -> str:
    return "".join(THREE.get(a, "Xaa") for a in aa)


class _P:
    """Collect a protein change in 3- and 1-letter forms."""

    def __init__(self, three: str, one: str, csq: str):
        self.three, self.one, self.csq = "p." + three, "p." + one, csq


def _protein_change(tx: Transcript, first_codon: int, ref_nt: str, alt_nt: str) -> _P | None:
    """Compare reference and mutant nucleotides covering whole codons from ``first_codon``."""
    if tx.protein is None:
        return None
    if len(ref_nt) % 3 or len(alt_nt) % 3:
        return None
    ref_aa, alt_aa = translate(ref_nt), translate(alt_nt)
    if "X" in ref_aa or "X" in alt_aa:
        return None
    start = first_codon
    # find the first differing residue, then the last
    i = 0
    while i < len(ref_aa) and i < len(alt_aa) and ref_aa[i] == alt_aa[i]:
        i += 1
    if i == len(ref_aa) == len(alt_aa):
        a = tx.aa(start) or ref_aa[:1]
        return _P(f"{_p3(a)}{start}=", f"{a}{start}=", "synonymous_variant")
    r, a = ref_aa[i:], alt_aa[i:]
    while r and a and r[-1] == a[-1]:
        r, a = r[:-1], a[:-1]
    pos = start + i
    if "*" in a and "*" not in r:
        p = pos + a.index("*")
        ref_res = tx.aa(p) or "X"
        return _P(f"{_p3(ref_res)}{p}Ter", f"{ref_res}{p}*", "stop_gained")
    if len(r) == 1 and len(a) == 1:
        if r == "*":
            n = _extension_length(tx)
            ext3, ext1 = ("Ter?", "*?") if n is None else (f"Ter{n}", f"*{n}")
            return _P(f"Ter{pos}{_p3(a)}ext{ext3}", f"*{pos}{a}ext{ext1}", "stop_lost")
        if pos == 1 and r == "M":
            return _P("Met1?", "M1?", "start_lost")
        return _P(f"{_p3(r)}{pos}{_p3(a)}", f"{r}{pos}{a}", "missense_variant")
    prot = tx.protein
    if not a:  # pure deletion of residues pos .. pos+len(r)-1; shift 3' in the protein
        s, e = pos, pos + len(r) - 1
        while e < len(prot) and prot[e] == prot[s - 1]:  # prot is 0-based: prot[e] = residue e+1
            s, e = s + 1, e + 1
        rs, re_ = prot[s - 1], prot[e - 1]
        if s == e:
            return _P(f"{_p3(rs)}{s}del", f"{rs}{s}del", "inframe_deletion")
        return _P(f"{_p3(rs)}{s}_{_p3(re_)}{e}del", f"{rs}{s}_{re_}{e}del", "inframe_deletion")
    if not r:  # pure insertion between pos-1 and pos
        ins = a
        left = pos - 1
        # shift 3': rotate the inserted residues while the next residue equals the first inserted
        while left < len(prot) and prot[left] == ins[0]:
            ins = ins[1:] + ins[0]
            left += 1
        k = len(ins)
        if left - k >= 0 and prot[left - k:left] == ins:  # duplication
            s, e = left - k + 1, left
            if s == e:
                return _P(f"{_p3(prot[s - 1])}{s}dup", f"{prot[s - 1]}{s}dup", "inframe_insertion")
            return _P(f"{_p3(prot[s - 1])}{s}_{_p3(prot[e - 1])}{e}dup",
                      f"{prot[s - 1]}{s}_{prot[e - 1]}{e}dup", "inframe_insertion")
        if left < 1 or left >= len(prot):
            return None
        l_res, r_res = prot[left - 1], prot[left]
        return _P(f"{_p3(l_res)}{left}_{_p3(r_res)}{left + 1}ins{_p3(ins)}",
                  f"{l_res}{left}_{r_res}{left + 1}ins{ins}", "inframe_insertion")
    e = pos + len(r) - 1
    csq = "inframe_deletion" if len(a) < len(r) else "inframe_insertion" if len(a) > len(r) else "missense_variant"
    head = f"{_p3(r[0])}{pos}" if len(r) == 1 else f"{_p3(r[0])}{pos}_{_p3(r[-1])}{e}"
    head1 = f"{r[0]}{pos}" if len(r) == 1 else f"{r[0]}{pos}_{r[-1]}{e}"
    return _P(f"{head}delins{_p3(a)}", f"{head1}delins{a}", csq)


def _extension_length(tx: Transcript) -> int | None:
    """Codons added by a lost stop codon: the first in-frame stop of the known 3' UTR (None if none)."""
    k = translate(tx.utr3()).find("*")
    return None if k < 0 else k + 1


def _c_range(tx: Transcript, g_lo: int, g_hi: int) -> tuple[str, str]:
    """HGVS c. text of the 5'-most and 3'-most base (transcript order) of [g_lo, g_hi]."""
    a, b = tx.locate(g_lo).c, tx.locate(g_hi).c
    return (b, a) if tx.strand == "-" else (a, b)


def _csq_noncoding(tx: Transcript, locs: list) -> str:
    if any(l.splice_site == "donor" for l in locs):
        return "splice_donor_variant"
    if any(l.splice_site == "acceptor" for l in locs):
        return "splice_acceptor_variant"
    if any(l.splice_region for l in locs):
        return "splice_region_variant"
    if all(l.region == "intron" for l in locs):
        return "intron_variant"
    if any(l.region == "exon" and l.anchor is not None and l.anchor <= 0 for l in locs):
        return "5_prime_UTR_variant"
    if any(l.region == "exon" and l.anchor is not None and l.anchor > tx.cds_length for l in locs):
        return "3_prime_UTR_variant"
    if any(l.region == "upstream" for l in locs):
        return "upstream_gene_variant"
    if any(l.region == "downstream" for l in locs):
        return "downstream_gene_variant"
    return "intron_variant"


def annotate_one(var: Variant, tx: Transcript) -> Annotation:
    """Annotate one variant against one transcript."""
    ann = Annotation(var, gene=tx.gene, transcript=tx.accession)
    pos, ref, alt = trim_alleles(var.pos, var.ref, var.alt, anchor=False)
    minus = tx.strand == "-"
    tstrand = (lambda s: revcomp(s)) if minus else (lambda s: s)
    if ref and alt and len(ref) == len(alt) == 1:
        g_lo = g_hi = pos
        kind = "snv"
    elif ref and alt:
        g_lo, g_hi, kind = pos, pos + len(ref) - 1, "delins"
    elif ref:
        g_lo, g_hi, kind = pos, pos + len(ref) - 1, "del"
    else:
        g_lo, g_hi, kind = pos - 1, pos, "ins"  # insertion between pos-1 and pos
    locs = [tx.locate(g) for g in range(g_lo, g_hi + 1)]
    exons = {l.exon for l in locs if l.exon is not None}
    introns = {l.intron for l in locs if l.intron is not None}
    ann.exon = min(exons) if len(exons) == 1 else None
    ann.intron = min(introns) if len(introns) == 1 and not exons else None
    if all(l.region in ("upstream", "downstream") for l in locs):
        ann.consequence = "upstream_gene_variant" if locs[0].region == "upstream" else "downstream_gene_variant"
    coding = all(l.in_cds for l in locs) and len(exons) == 1

    # ---- reference check against the shipped reference --------------------
    if kind != "ins":
        known = tx.ref_seq(g_lo, g_hi)
        if known is not None and known != ref:
            ann.warnings.append(f"REF {ref} does not match the {tx.gene} reference {known}")

    # ---- c. name (3' rule, see shift3) ----------------------------------------
    if kind == "snv":
        ann.hgvsc = f"{tx.accession}:c.{locs[0].c}{tstrand(ref)}>{tstrand(alt)}"
    elif kind == "delins":
        a, b = _c_range(tx, g_lo, g_hi)
        ann.hgvsc = f"{tx.accession}:c.{a}_{b}delins{tstrand(alt)}"
    elif kind == "del":
        sh = shift_deletion(tx, g_lo, g_hi)
        a, b = _c_range(tx, sh.lo, sh.hi)
        ann.hgvsc = f"{tx.accession}:c.{a}del" if a == b else f"{tx.accession}:c.{a}_{b}del"
        _note_unshifted(ann, tx, sh)
    else:
        sh = shift_insertion(tx, g_lo, alt)
        dup = duplicated_span(tx, sh)
        if dup is not None:
            a, b = _c_range(tx, *dup)
            ann.hgvsc = f"{tx.accession}:c.{a}dup" if a == b else f"{tx.accession}:c.{a}_{b}dup"
        else:
            a, b = _c_range(tx, sh.lo, sh.hi)
            ann.hgvsc = f"{tx.accession}:c.{a}_{b}ins{tstrand(sh.inserted)}"
        _note_unshifted(ann, tx, sh)
        l0, l1 = tx.locate(g_lo), tx.locate(g_hi)
        coding = l0.in_cds and l1.in_cds and l0.exon == l1.exon
        locs = [l0, l1]
    if tx.utr_note and any(l.region != "intron" and not l.in_cds for l in locs):
        ann.notes.append(f"{tx.gene} UTR ends: {tx.utr_note}; c.-N/c.*N labels near the transcript "
                         f"ends and the UTR/flank class can differ from {tx.accession}")

    # ---- consequence and p. ----------------------------------------------------
    if not coding:
        if ann.consequence not in ("upstream_gene_variant", "downstream_gene_variant"):
            ann.consequence = _csq_noncoding(tx, locs)
        if any(l.in_cds for l in locs) or (any(l.splice_site for l in locs) and
                                           any(l.anchor is not None and 1 <= l.anchor <= tx.cds_length for l in locs)):
            ann.hgvsp, ann.hgvsp1 = "p.?", "p.?"
        return ann
    if kind == "ins":
        left = min(l.cds_pos for l in locs)  # type: ignore[type-var]  # insert after this base
        c_lo = c_hi = left
        alt_c = tstrand(alt)
        ref_c = (left, left + 1)
        del_len, ins_len = 0, len(alt_c)
    else:
        cs = sorted(l.cds_pos for l in locs)  # type: ignore[type-var]
        c_lo, c_hi = cs[0], cs[-1]
        alt_c = tstrand(alt)
        del_len, ins_len = c_hi - c_lo + 1, len(alt_c)
        ref_c = (c_lo, c_hi)
    first_codon = (min(ref_c) - 1) // 3 + 1
    if (ins_len - del_len) % 3:
        ann.consequence = "frameshift_variant"
        fs = _frameshift(tx, first_codon, ref_c, alt_c, kind)
        if fs is None:
            ann.hgvsp = ann.hgvsp1 = "p.?"
            ann.notes.append(f"{tx.gene} CDS sequence not modelled at codon {first_codon}: "
                             "frameshift protein change not computed")
        else:
            ann.hgvsp, ann.hgvsp1, ann.protein_change = fs.three, fs.one, fs.one[2:]
            if fs.note:
                ann.notes.append(fs.note)
        _splice_flag(ann, locs)
        return ann
    last_codon = (max(ref_c) - 1) // 3 + 1
    nt = [tx.cds.get(c) for c in range(3 * first_codon - 2, 3 * last_codon + 1)]
    if None in nt:
        ann.consequence = _classify_by_length(del_len, ins_len)
        ann.hgvsp = ann.hgvsp1 = "p.?"
        ann.warnings.append(f"{tx.gene} CDS sequence not known at codon {first_codon}; protein change not computed")
        return ann
    ref_nt = "".join(nt)  # type: ignore[arg-type]
    base = 3 * first_codon - 2
    if kind == "ins":
        cut = left + 1 - base
        alt_nt = ref_nt[:cut] + alt_c + ref_nt[cut:]
    else:
        alt_nt = ref_nt[:c_lo - base] + alt_c + ref_nt[c_hi - base + 1:]
    p = _protein_change(tx, first_codon, ref_nt, alt_nt)
    if p is None:
        ann.hgvsp = ann.hgvsp1 = "p.?"
        ann.consequence = _classify_by_length(del_len, ins_len)
    else:
        ann.hgvsp, ann.hgvsp1, ann.consequence = p.three, p.one, p.csq
        ann.protein_change = p.one[2:]
    _splice_flag(ann, locs)
    return ann


@dataclass(frozen=True)
class _Frameshift:
    three: str         # p.Gly1202AlafsTer12 (or p.Gly1202fs when the new stop is not modelled)
    one: str           # p.G1202Afs*12 (or p.G1202fs)
    note: str | None   # why the short form was used


def _frameshift(tx: Transcript, first_codon: int, ref_c: tuple[int, int], alt_c: str,
                kind: str) -> _Frameshift | None:
    """HGVS p. of a frameshift, walking the shifted frame to its first stop codon.

    The mutant CDS from ``first_codon`` to the end of the modelled sequence is
    translated; the first residue that differs from the reference is named
    (3-letter from the UniProt protein) with the new residue and ``Ter``/``*``
    plus the position of the new stop counted from that residue (the residue
    itself is 1), e.g. p.Gly1202AlafsTer12 / p.G1202Afs*12.  When the first
    changed residue is itself a stop the change is named as a nonsense change
    (p.Gly1202Ter).  When the CDS is modelled to its end, the shifted frame is
    read on into the known 3' UTR.  When it reaches the end of the modelled
    sequence without a stop, the short form p.Gly1202fs is returned with a note.
    Returns None when the CDS is not known at ``first_codon``.
    """
    base = 3 * first_codon - 2
    end = base
    while tx.cds.get(end) is not None and end <= tx.cds_length:
        end += 1
    ref_nt = "".join(tx.cds[c] for c in range(base, end))
    if len(ref_nt) < 3:
        return None
    utr = tx.utr3() if end > tx.cds_length else ""
    if kind == "ins":
        cut = min(ref_c) - base + 1
        alt_nt = ref_nt[:cut] + alt_c + ref_nt[cut:] + utr
    else:
        alt_nt = ref_nt[:ref_c[0] - base] + alt_c + ref_nt[ref_c[1] - base + 1:] + utr
    r, a = translate(ref_nt), translate(alt_nt)
    i = next((k for k, (x, y) in enumerate(zip(r, a)) if x != y), None)
    if i is None:  # identical as far as the mutant has whole codons: the change is past them
        if len(a) >= len(r):
            return None
        i = len(a)
    pos = first_codon + i
    ref_res = tx.aa(pos)
    if ref_res is None or "X" in a[i:]:
        return None
    if i < len(a) and a[i] == "*":
        return _Frameshift(f"p.{_p3(ref_res)}{pos}Ter", f"p.{ref_res}{pos}*", None)
    stop = a.find("*", i)
    head3, head1 = f"p.{_p3(ref_res)}{pos}", f"p.{ref_res}{pos}"
    if ref_res == "*":  # the stop codon itself is lost: an extension (new stop counted from the old one)
        n3, n1 = ("Ter?", "*?") if stop < 0 else (f"Ter{stop - i}", f"*{stop - i}")
        note = None
        if stop < 0:
            note = ("stop codon lost: no stop codon in the shifted frame in the modelled 3' UTR" if utr else
                    "stop codon lost: the 3' UTR is not modelled, extension length unknown")
        return _Frameshift(f"{head3}{_p3(a[i])}ext{n3}", f"{head1}{a[i]}ext{n1}", note)
    if stop < 0:
        modelled_end = base + len(ref_nt) - 1
        whole = modelled_end >= tx.cds_length
        where = (f"the end of the modelled 3' UTR (c.*{len(utr)})" if utr else
                 "the end of the CDS (the 3' UTR is not modelled)") if whole else \
            f"the end of the modelled {tx.gene} CDS sequence (c.{modelled_end})"
        return _Frameshift(f"{head3}fs", f"{head1}fs",
                           f"frameshift: no stop codon in the shifted frame before {where}; "
                           "short form p.(ref)(pos)fs used")
    n = stop - i + 1
    return _Frameshift(f"{head3}{_p3(a[i])}fsTer{n}", f"{head1}{a[i]}fs*{n}", None)


def _classify_by_length(del_len: int, ins_len: int) -> str:
    if del_len > ins_len:
        return "inframe_deletion"
    if ins_len > del_len:
        return "inframe_insertion"
    return "missense_variant"


def _splice_flag(ann: Annotation, locs: list) -> None:
    if any(l.splice_region for l in locs):
        ann.consequence += "&splice_region_variant"


def _note_unshifted(ann: Annotation, tx: Transcript, sh: Shifted) -> None:
    if sh.stopped_at is not None:
        ann.notes.append(f"3' shift stopped at {tx.chrom}:{sh.stopped_at}: the {tx.gene} reference "
                         "is not shipped there; the name may not be the most 3' one")


def annotate(variants: Sequence[Variant], transcripts: TranscriptSet,
             cis_groups: Iterable[Sequence[int]] = ()) -> list[Annotation]:
    """Annotate variants; ``cis_groups`` lists index groups known to be in cis.

    A variant outside every transcript is returned as ``intergenic_variant``.
    When it overlaps several transcripts the first one in the transcript set
    is used.
    """
    out: list[Annotation] = []
    for v in variants:
        start = v.pos - 1
        end = v.pos + len(v.ref)
        hits = transcripts.overlapping(normalize_contig(v.contig), start, end)
        if not hits:
            out.append(Annotation(v))
            continue
        out.append(annotate_one(v, hits[0]))
    for group in cis_groups:
        _combine_cis(list(group), variants, out, transcripts)
    return out


def _combine_cis(group: list[int], variants: Sequence[Variant], anns: list[Annotation],
                 transcripts: TranscriptSet) -> None:
    by_codon: dict[tuple[str, int], list[int]] = {}
    for i in group:
        if not 0 <= i < len(variants):
            raise IndexError(f"cis group index {i} out of range (0..{len(variants) - 1})")
        a, v = anns[i], variants[i]
        if a.gene is None or len(v.ref) != 1 or len(v.alt) != 1:
            continue
        tx = transcripts.by_gene(a.gene)
        loc = tx.locate(v.pos)
        if loc.in_cds:
            by_codon.setdefault((a.gene, (loc.cds_pos - 1) // 3 + 1), []).append(i)  # type: ignore[operator]
    for (gene, codon), idx in by_codon.items():
        if len(idx) < 2:
            continue
        tx = transcripts.by_gene(gene)
        ref = tx.codon(codon)
        if ref is None:
            for i in idx:
                anns[i].warnings.append(f"cis partners share codon {codon} but its sequence is unknown")
            continue
        mut = list(ref)
        for i in idx:
            v = variants[i]
            cpos = tx.locate(v.pos).cds_pos
            b = revcomp(v.alt) if tx.strand == "-" else v.alt
            mut[cpos - (3 * codon - 2)] = b  # type: ignore[operator]
        p = _protein_change(tx, codon, ref, "".join(mut))
        for i in idx:
            if p is None:
                anns[i].combined_hgvsp = anns[i].combined_hgvsp1 = "p.?"
            else:
                anns[i].combined_hgvsp, anns[i].combined_hgvsp1 = p.three, p.one
            anns[i].warnings.append(
                "in cis with " + ", ".join(str(variants[j]) for j in idx if j != i)
                + f" in codon {codon}: combined effect {anns[i].combined_hgvsp1}")


def same_codon_groups(variants: Sequence[Variant], anns: Sequence[Annotation],
                      transcripts: TranscriptSet) -> list[list[int]]:
    """Index groups (>= 2) of coding SNVs that hit the same codon of the same gene."""
    by_codon: dict[tuple[str, int], list[int]] = {}
    for i, (v, a) in enumerate(zip(variants, anns)):
        if a.gene is None or len(v.ref) != 1 or len(v.alt) != 1 or v.ref == v.alt:
            continue
        loc = transcripts.by_gene(a.gene).locate(v.pos)
        if loc.in_cds:
            by_codon.setdefault((a.gene, (loc.cds_pos - 1) // 3 + 1), []).append(i)  # type: ignore[operator]
    return [idx for idx in by_codon.values() if len(idx) > 1]


def combine_cis(variants: Sequence[Variant], anns: list[Annotation], transcripts: TranscriptSet,
                cis_groups: Iterable[Sequence[int]]) -> None:
    """Give SNVs of each cis group that share a codon one combined amino-acid change (in place)."""
    for group in cis_groups:
        _combine_cis(list(group), variants, anns, transcripts)


def parse_variant(text: str) -> Variant:
    """Parse 'chr2:29220747C>T' / '2-29220747-C-T' style text."""
    t = text.strip().replace("-", ":").replace(">", ":")
    parts = [p for p in t.split(":") if p]
    if len(parts) == 3:  # contig:posREF:ALT
        contig, rest, alt = parts
        digits = "".join(ch for ch in rest if ch.isdigit())
        ref = rest[len(digits):]
        return Variant(contig, int(digits), ref, alt)
    if len(parts) == 4:
        return Variant(parts[0], int(parts[1]), parts[2], parts[3])
    raise ValueError(f"cannot parse variant {text!r}")
