"""Transcript models: genomic position -> exon/intron, c. position, codon.

A transcript is described by the JSON schema documented in
``deepamp/annotate/data/README.md``.  The shipped ``transcripts.json`` holds
ALK (NM_004304.4), ROS1 (NM_002944.2) and the bypass genes EGFR, KRAS, BRAF,
MAP2K1, PIK3CA, MET, NRAS and IDH2 (MANE Select RefSeq accessions).
Coordinates in the JSON are GRCh38, 1-based inclusive; GRCh37 ("hg19") uses
``hg19_minus_hg38_offset`` (a constant per gene) or per-exon
``start_hg19``/``end_hg19``.

The CDS is read from GRCh38 reference pieces (:mod:`.genome_pieces`) or a
cDNA segment.  It is complete for the eight bypass genes and partly known for
ALK (exons 20-29) and ROS1 (c.5558-c.7044, a read consensus).  Every fully
known codon is translated at load time and must equal the UniProt / RefSeq
protein; a mismatch raises :class:`FormatError` naming the file.  The same
pieces give the reference base of non-coding positions (REF checks and 3'
shifting of intronic and UTR indels) where they cover them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Iterable

from deepamp.errors import FormatError, InputFileError
from deepamp.annotate.genome_pieces import GenomePieces, pieces_from_records

GENOMES = ("hg38", "hg19")
COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
_BASES = "TCAG"
_AMINO = "FFLLSSSSYY**CC*WLLLLPPPPHHQQRRRRIIIMTTTTNNKKSSRRVVVVAAAADDEEGGGG"
CODON_TABLE = {a + b + c: _AMINO[16 * i + 4 * j + k]
               for i, a in enumerate(_BASES) for j, b in enumerate(_BASES)
               for k, c in enumerate(_BASES)}
SPLICE_EXONIC = 3    # splice region: within 3 bp of a boundary on the exon side
SPLICE_INTRONIC = 8  # ... and within 8 bp on the intron side


def revcomp(seq: str) -> str:
    """Reverse complement of an upper-case DNA string."""
    return seq.upper().translate(COMPLEMENT)[::-1]


def translate(seq: str) -> str:
    """Translate complete codons; unknown codons give 'X', stop gives '*'."""
    return "".join(CODON_TABLE.get(seq[i:i + 3], "X") for i in range(0, len(seq) - 2, 3))


def normalize_contig(name: str) -> str:
    """'2' -> 'chr2', 'chr2' -> 'chr2', 'MT' -> 'chrM'."""
    if name.lower().startswith("chr"):
        return "chr" + name[3:]
    return "chrM" if name in ("M", "MT") else "chr" + name


def check_genome(genome: str) -> str:
    """Validate a genome build name (hg38/GRCh38 or hg19/GRCh37)."""
    aliases = {"hg38": "hg38", "grch38": "hg38", "hg19": "hg19", "grch37": "hg19"}
    try:
        return aliases[str(genome).lower()]
    except KeyError:
        raise ValueError(f"unknown genome build {genome!r} (expected one of {', '.join(GENOMES)})") from None


@dataclass(frozen=True)
class Exon:
    number: int
    start: int  # genomic, 1-based inclusive, in the selected build
    end: int


@dataclass(frozen=True)
class Location:
    """Where one genomic base falls on a transcript."""

    region: str             # "exon", "intron", "upstream", "downstream"
    exon: int | None        # exon number (region == "exon")
    intron: int | None      # intron number (intron k lies between exons k and k+1)
    c: str                  # HGVS c. position text, e.g. "3604", "3605+5", "-12", "*30"
    cds_pos: int | None     # 1-based CDS position when the base is coding, else None
    anchor: int | None      # cDNA-axis position (CDS axis) of the exon base used as anchor
    offset: int             # intronic offset (0 in exons)
    splice_region: bool
    splice_site: str | None  # "donor"/"acceptor" for intronic +1/+2 / -1/-2

    @property
    def in_cds(self) -> bool:
        return self.cds_pos is not None


@dataclass
class Transcript:
    """One protein-coding transcript in one genome build."""

    gene: str
    chrom: str
    strand: str
    accession: str                 # used in HGVS, e.g. NM_004304.4
    ensembl: str
    exons: list[Exon]              # transcript order (5' -> 3')
    cdna_c1: int                   # cDNA index (1-based) of c.1
    cds_length: int
    protein: str | None
    cds: dict[int, str] = field(default_factory=dict)  # CDS position -> base (transcript strand)
    sources: str = ""
    genome: str = "hg38"
    pieces: GenomePieces | None = None  # GRCh38 plus-strand reference pieces, when shipped
    build_offset: int | None = 0        # position in this build minus GRCh38 position (None: unknown)
    utr_note: str | None = None         # why c.-N / c.*N labels near the transcript ends may differ

    # ---- geometry -------------------------------------------------------
    def _exon_cdna_starts(self) -> list[int]:
        starts, acc = [], 1
        for ex in self.exons:
            starts.append(acc)
            acc += ex.end - ex.start + 1
        return starts

    @property
    def span(self) -> tuple[int, int]:
        return min(e.start for e in self.exons), max(e.end for e in self.exons)

    def _cdna_to_axis(self, cdna: int) -> int:
        """cDNA index -> signed CDS axis (c.1 = 1, c.-1 = 0, c.-2 = -1, ...)."""
        return cdna - self.cdna_c1 + 1

    def axis_text(self, axis: int) -> str:
        """Signed CDS axis -> HGVS text: 5 -> '5', 0 -> '-1', cds_len+3 -> '*3'."""
        if axis <= 0:
            return str(axis - 1)
        if axis > self.cds_length:
            return "*" + str(axis - self.cds_length)
        return str(axis)

    def genomic_to_axis(self, pos: int) -> int | None:
        """Exonic genomic position -> signed CDS axis, None if not exonic."""
        for ex, cstart in zip(self.exons, self._exon_cdna_starts()):
            if ex.start <= pos <= ex.end:
                into = (ex.end - pos) if self.strand == "-" else (pos - ex.start)
                return self._cdna_to_axis(cstart + into)
        return None

    def axis_to_genomic(self, axis: int) -> int | None:
        """Signed CDS axis -> genomic position (None if outside the exons)."""
        cdna = axis + self.cdna_c1 - 1
        for ex, cstart in zip(self.exons, self._exon_cdna_starts()):
            length = ex.end - ex.start + 1
            if cstart <= cdna < cstart + length:
                into = cdna - cstart
                return ex.end - into if self.strand == "-" else ex.start + into
        return None

    def exon_of_axis(self, axis: int) -> int | None:
        g = self.axis_to_genomic(axis)
        return None if g is None else self.locate(g).exon

    def locate(self, pos: int) -> Location:
        """Locate a genomic base (1-based) on this transcript."""
        lo, hi = self.span
        minus = self.strand == "-"
        if pos < lo or pos > hi:
            upstream = (pos > hi) if minus else (pos < lo)
            edge_exon = self.exons[0] if upstream else self.exons[-1]
            if upstream:
                edge = edge_exon.end if minus else edge_exon.start
            else:
                edge = edge_exon.start if minus else edge_exon.end
            axis = self.genomic_to_axis(edge)
            assert axis is not None
            dist = abs(pos - edge)
            text = self.axis_text(axis - dist if upstream else axis + dist)
            return Location("upstream" if upstream else "downstream", None, None, text, None,
                            None, 0, False, None)
        starts = self._exon_cdna_starts()
        n = len(self.exons)
        for i, (ex, cstart) in enumerate(zip(self.exons, starts)):
            if ex.start <= pos <= ex.end:
                into = (ex.end - pos) if minus else (pos - ex.start)
                axis = self._cdna_to_axis(cstart + into)
                length = ex.end - ex.start + 1
                near5 = i > 0 and into < SPLICE_EXONIC
                near3 = i < n - 1 and length - 1 - into < SPLICE_EXONIC
                cds_pos = axis if 1 <= axis <= self.cds_length else None
                return Location("exon", ex.number, None, self.axis_text(axis), cds_pos, axis, 0,
                                near5 or near3, None)
        # intronic: find the flanking exons in transcript order
        for i in range(n - 1):
            up, down = self.exons[i], self.exons[i + 1]
            if minus:
                inside = down.end < pos < up.start
                d_up, d_down = up.start - pos, pos - down.end
            else:
                inside = up.end < pos < down.start
                d_up, d_down = pos - up.end, down.start - pos
            if not inside:
                continue
            last_up = self._cdna_to_axis(starts[i] + (up.end - up.start))
            first_down = self._cdna_to_axis(starts[i + 1])
            if d_up <= d_down:
                anchor, offset, text = last_up, d_up, f"{self.axis_text(last_up)}+{d_up}"
                site = "donor" if d_up <= 2 else None
            else:
                anchor, offset, text = first_down, -d_down, f"{self.axis_text(first_down)}-{d_down}"
                site = "acceptor" if d_down <= 2 else None
            return Location("intron", None, up.number, text, None, anchor, offset,
                            min(d_up, d_down) <= SPLICE_INTRONIC, site)
        raise AssertionError("unreachable: position inside span but not located")

    # ---- sequence -------------------------------------------------------
    def ref_seq(self, start: int, end: int) -> str | None:
        """Plus-strand reference bases ``start..end`` (positions in this build).

        Returns None when the shipped reference pieces do not cover every base
        (or there are none for this build); the coding bases are also known
        from the CDS when no piece covers them.
        """
        if end < start:
            return ""
        if self.pieces is not None and self.build_offset is not None:
            got = self.pieces.fetch(start - self.build_offset, end - self.build_offset)
            if got is not None:
                return got
        bases = []
        for g in range(start, end + 1):
            axis = self.genomic_to_axis(g)
            b = self.cds.get(axis) if axis is not None else None
            if b is None:
                return None
            bases.append(b.translate(COMPLEMENT) if self.strand == "-" else b)
        return "".join(bases)

    def utr3(self) -> str:
        """Known 3' UTR bases (transcript strand) right after the stop codon, up to the first unknown base."""
        out = []
        axis = self.cds_length + 1
        while True:
            g = self.axis_to_genomic(axis)
            b = None if g is None else self.ref_seq(g, g)
            if not b:
                break
            out.append(b.translate(COMPLEMENT) if self.strand == "-" else b)
            axis += 1
        return "".join(out)

    def codon(self, number: int) -> str | None:
        """Reference codon (transcript strand) or None if not fully known."""
        bases = [self.cds.get(3 * (number - 1) + k) for k in (1, 2, 3)]
        return None if None in bases else "".join(bases)  # type: ignore[arg-type]

    def aa(self, number: int) -> str | None:
        """Reference amino acid from the UniProt protein (1-based), '*' past the end."""
        if self.protein is None:
            return None
        if number == len(self.protein) + 1:
            return "*"
        return self.protein[number - 1] if 1 <= number <= len(self.protein) else None

    def check_translation(self, where: str) -> int:
        """Translate every fully known codon and compare with the protein.

        Returns the number of codons checked; raises FormatError on mismatch.
        """
        if self.protein is None or not self.cds:
            return 0
        checked = 0
        for number in range(1, self.cds_length // 3 + 1):
            cod = self.codon(number)
            if cod is None:
                continue
            got, want = CODON_TABLE.get(cod, "X"), self.aa(number)
            if got != want:
                raise FormatError(
                    f"{where}: {self.gene} codon {number} ({cod}) translates to {got}, "
                    f"protein has {want}")
            checked += 1
        return checked


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------

def _read_fasta_text(text: str, where: str) -> dict[str, str]:
    recs: dict[str, list[str]] = {}
    name = None
    for line in text.splitlines():
        line = line.strip()
        if line.startswith(">"):
            name = line[1:]
            recs[name] = []
        elif line:
            if name is None:
                raise FormatError(f"{where}: sequence before the first '>' header")
            recs[name].append(line.upper())
    if not recs:
        raise FormatError(f"{where}: no FASTA records")
    return {k: "".join(v) for k, v in recs.items()}


def _read_resource(package: str, filename: str) -> str:
    return resources.files(package).joinpath(filename).read_text(encoding="ascii")


class _Source:
    """Where a transcript file lives: shipped package data or a user directory."""

    def __init__(self, path: str | None):
        self.path = path  # None = shipped data
        self.where = path or "deepamp/annotate/data/transcripts.json"
        self._fasta: dict[tuple[str, str | None], tuple[dict[str, str], str]] = {}

    def fasta(self, filename: str, package: str | None = None) -> tuple[dict[str, str], str]:
        """Records of a FASTA file named in the JSON (parsed once per load) and its display name."""
        key = (filename, package)
        if key not in self._fasta:
            text, where = self.read(filename, package)
            self._fasta[key] = (_read_fasta_text(text, where), where)
        return self._fasta[key]

    def read(self, filename: str, package: str | None = None) -> tuple[str, str]:
        if self.path is None or package is not None:
            pkg = package or "deepamp.annotate.data"
            return _read_resource(pkg, filename), f"{pkg.replace('.', '/')}/{filename}"
        full = filename if os.path.isabs(filename) else os.path.join(os.path.dirname(self.path), filename)
        try:
            with open(full, encoding="ascii") as fh:
                return fh.read(), full
        except (OSError, UnicodeDecodeError) as exc:
            raise InputFileError(f"{full}: cannot read file named in {self.where} ({exc})") from None


def _need(obj: dict[str, Any], key: str, typ: type | tuple[type, ...], where: str, ctx: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise FormatError(f"{where}: {ctx}: missing field '{key}'")
    val = obj[key]
    if not isinstance(val, typ) or (typ is int and isinstance(val, bool)):
        raise FormatError(f"{where}: {ctx}: field '{key}' has the wrong type ({type(val).__name__})")
    return val


def _protein_for(t: dict[str, Any], src: _Source, ctx: str) -> str | None:
    if "protein_sequence" in t:
        seq = _need(t, "protein_sequence", str, src.where, ctx).upper()
        if not seq.isalpha():
            raise FormatError(f"{src.where}: {ctx}: field 'protein_sequence' is not an amino-acid string")
        return seq
    if "protein_fasta" in t:
        pf = _need(t, "protein_fasta", dict, src.where, ctx)
        fname = _need(pf, "file", str, src.where, ctx + ".protein_fasta")
        pid = _need(pf, "id", str, src.where, ctx + ".protein_fasta")
        text, where = src.read(fname, pf.get("package"))
        for name, seq in _read_fasta_text(text, where).items():
            if pid in name.split("|") or name.split()[0] == pid:
                return seq
        raise FormatError(f"{where}: no record '{pid}' (field protein_fasta.id in {src.where})")
    return None


def _fill_cds(tx: Transcript, t: dict[str, Any], src: _Source, ctx: str, exons38: list[Exon]) -> None:
    entries = t.get("cds_sequence", [])
    if not isinstance(entries, list):
        raise FormatError(f"{src.where}: {ctx}: field 'cds_sequence' must be a list")
    for k, ent in enumerate(entries):
        ectx = f"{ctx}.cds_sequence[{k}]"
        kind = _need(ent, "type", str, src.where, ectx)
        if kind == "cdna":
            if "sequence" in ent:
                seq, where = _need(ent, "sequence", str, src.where, ectx).upper(), src.where
            else:
                text, where = src.read(_need(ent, "file", str, src.where, ectx), ent.get("package"))
                recs = _read_fasta_text(text, where)
                seq = next(iter(recs.values()))
            if not seq or set(seq) - set("ACGT"):
                raise FormatError(f"{where}: {ectx}: sequence must be A/C/G/T only")
            c0 = _need(ent, "c_start", int, src.where, ectx)
            for i, b in enumerate(seq):
                if 1 <= c0 + i <= tx.cds_length:
                    tx.cds[c0 + i] = b
        elif kind == "genomic_fasta":
            records, where = src.fasta(_need(ent, "file", str, src.where, ectx), ent.get("package"))
            pieces = pieces_from_records(records, tx.chrom, where, normalize_contig)
            if pieces is None:
                raise FormatError(f"{where}: no slice on the transcript contig {tx.chrom} ({ctx})")
            if tx.pieces is not None:
                raise FormatError(f"{src.where}: {ctx}: more than one 'genomic_fasta' entry")
            tx.pieces = pieces
            # The pieces are GRCh38; map with the GRCh38 exon coordinates.
            geo = Transcript(tx.gene, tx.chrom, tx.strand, tx.accession, tx.ensembl, exons38,
                             tx.cdna_c1, tx.cds_length, None)
            for cpos in range(1, tx.cds_length + 1):
                g = geo.axis_to_genomic(cpos)
                b = None if g is None else pieces.base(g)
                if b is not None:
                    tx.cds[cpos] = b.translate(COMPLEMENT) if tx.strand == "-" else b
        else:
            raise FormatError(f"{src.where}: {ectx}: field 'type' must be 'cdna' or 'genomic_fasta'")


def _build(t: dict[str, Any], src: _Source, idx: int, genome: str) -> Transcript | None:
    ctx = f"transcripts[{idx}]"
    gene = _need(t, "gene", str, src.where, ctx)
    ctx = f"transcripts[{idx}] ({gene})"
    chrom = normalize_contig(_need(t, "chrom", str, src.where, ctx))
    strand = _need(t, "strand", str, src.where, ctx)
    if strand not in ("+", "-"):
        raise FormatError(f"{src.where}: {ctx}: field 'strand' must be '+' or '-'")
    accession = t.get("hgvs_accession") or t.get("ensembl")
    if not isinstance(accession, str) or not accession:
        raise FormatError(f"{src.where}: {ctx}: missing field 'hgvs_accession'")
    c1 = _need(t, "cds_start_c1_hg38", int, src.where, ctx)
    cds_len = _need(t, "cds_length_nt", int, src.where, ctx)
    if cds_len <= 0 or cds_len % 3:
        raise FormatError(f"{src.where}: {ctx}: field 'cds_length_nt' must be a positive multiple of 3")
    raw = _need(t, "exons", list, src.where, ctx)
    if not raw:
        raise FormatError(f"{src.where}: {ctx}: field 'exons' is empty")
    offset = t.get("hg19_minus_hg38_offset")
    if offset is not None and (not isinstance(offset, int) or isinstance(offset, bool)):
        raise FormatError(f"{src.where}: {ctx}: field 'hg19_minus_hg38_offset' must be an integer")
    ex38, exg = [], []
    for k, e in enumerate(raw):
        ectx = f"{ctx}.exons[{k}]"
        num = _need(e, "exon", int, src.where, ectx)
        s = _need(e, "start_hg38", int, src.where, ectx)
        en = _need(e, "end_hg38", int, src.where, ectx)
        if en < s:
            raise FormatError(f"{src.where}: {ectx}: field 'end_hg38' is before 'start_hg38'")
        ex38.append(Exon(num, s, en))
        if genome == "hg19":
            if "start_hg19" in e and "end_hg19" in e:
                exg.append(Exon(num, _need(e, "start_hg19", int, src.where, ectx),
                                _need(e, "end_hg19", int, src.where, ectx)))
            elif offset is not None:
                exg.append(Exon(num, s + offset, en + offset))
            else:
                return None  # no hg19 coordinates for this transcript
    order = (lambda e: -e.start) if strand == "-" else (lambda e: e.start)
    ex38.sort(key=order)
    exg = sorted(exg, key=order) if genome == "hg19" else ex38
    for a, b in zip(ex38, ex38[1:]):
        if (strand == "-" and b.end >= a.start) or (strand == "+" and b.start <= a.end):
            raise FormatError(f"{src.where}: {ctx}: field 'exons' has overlapping exons {a.number} and {b.number}")
    tmp = Transcript(gene, chrom, strand, accession, str(t.get("ensembl", "")), ex38, 1, cds_len, None)
    ax = tmp.genomic_to_axis(c1)
    if ax is None:
        raise FormatError(f"{src.where}: {ctx}: field 'cds_start_c1_hg38' is not inside an exon")
    cdna_c1 = ax
    total = sum(e.end - e.start + 1 for e in ex38)
    if cdna_c1 + cds_len - 1 > total:
        raise FormatError(f"{src.where}: {ctx}: field 'cds_length_nt' runs past the last exon")
    protein = _protein_for(t, src, ctx)
    if protein is not None and len(protein) * 3 + 3 != cds_len:
        raise FormatError(f"{src.where}: {ctx}: protein length {len(protein)} does not match "
                          f"field 'cds_length_nt' {cds_len}")
    utr_note = t.get("utr_ends_note")
    if utr_note is not None and not isinstance(utr_note, str):
        raise FormatError(f"{src.where}: {ctx}: field 'utr_ends_note' must be a string")
    tx = Transcript(gene, chrom, strand, accession, str(t.get("ensembl", "")), exg, cdna_c1,
                    cds_len, protein, sources=str(t.get("sources", "")), genome=genome,
                    build_offset=0 if genome == "hg38" else offset, utr_note=utr_note)
    _fill_cds(tx, t, src, ctx, ex38)
    tx.check_translation(src.where)
    return tx


def load_transcripts(path: str | os.PathLike[str] | None = None, genome: str = "hg38") -> list[Transcript]:
    """Load a transcript JSON (the shipped one when ``path`` is None).

    Raises FormatError (naming the file and the field) for a malformed file,
    InputFileError when the file cannot be read, ValueError for an unknown build.
    """
    genome = check_genome(genome)
    src = _Source(None if path is None else os.fspath(path))
    try:
        text = _read_resource("deepamp.annotate.data", "transcripts.json") if path is None else \
            open(os.fspath(path), encoding="utf-8").read()
    except OSError as exc:
        raise InputFileError(f"{src.where}: cannot read transcript file ({exc})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"{src.where}: not valid JSON (line {exc.lineno}: {exc.msg})") from None
    items = _need(doc, "transcripts", list, src.where, "top level")
    out = []
    for i, t in enumerate(items):
        tx = _build(t, src, i, genome)
        if tx is not None:
            out.append(tx)
    return out


class TranscriptSet:
    """All transcripts for one genome build, looked up by contig and position."""

    def __init__(self, transcripts: Iterable[Transcript], genome: str = "hg38"):
        self.genome = check_genome(genome)
        self.transcripts = list(transcripts)
        names = [t.gene for t in self.transcripts]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise FormatError(f"transcripts: gene(s) defined twice: {', '.join(sorted(dup))}")

    @classmethod
    def default(cls, genome: str = "hg38", extra: str | os.PathLike[str] | None = None) -> "TranscriptSet":
        txs = load_transcripts(None, genome)
        if extra is not None:
            txs += load_transcripts(extra, genome)
        return cls(txs, genome)

    def by_gene(self, gene: str) -> Transcript:
        for t in self.transcripts:
            if t.gene == gene:
                return t
        raise KeyError(gene)

    def overlapping(self, contig: str, start: int, end: int | None = None) -> list[Transcript]:
        chrom = normalize_contig(contig)
        end = start if end is None else end
        return [t for t in self.transcripts
                if t.chrom == chrom and t.span[0] <= end and start <= t.span[1]]
