"""Lift an aligner's SAM from index pieces to contig coordinates, one line at a time.

The aligner reports positions on the records of its index, the *pieces* of the
reference (:mod:`deepamp.workflow.index_pieces`).  :class:`ContigLift` rewrites
each record so that the BAM speaks in contig coordinates, which is what a BED
or a VCF of the panel uses:

* ``RNAME``/``POS`` and ``RNEXT``/``PNEXT`` move by their piece's offset
  (``RNEXT`` becomes ``=`` when the mate is on the same contig);
* the contigs of ``SA`` (supplementary) and ``XA`` (bwa's alternative hits)
  tags move the same way;
* the header gets one ``@SQ`` per contig, with the contig's length (see
  :func:`resolve_contig_lengths`), in place of the pieces' ``@SQ`` lines, and an
  ``@PG`` line for each deepamp step.

Unmapped records keep ``*``; nothing else changes, and no record is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from deepamp.errors import ReferenceFileError
from deepamp.io.contigs import GRCH38_LENGTHS
from deepamp.workflow.index_pieces import Piece, PieceTable

__all__ = ["ContigLift", "resolve_contig_lengths", "add_programs"]

log = logging.getLogger("deepamp.align")


def resolve_contig_lengths(table: PieceTable, reference: str,
                   given: Mapping[str, int] | None = None) -> dict[str, int]:
    """The ``@SQ LN`` of every contig with a piece, in FASTA order.

    A contig held whole by the FASTA has its record's length; a contig the FASTA
    holds slices of takes ``given[contig]``, else its GRCh38 length when deepamp
    knows it (:data:`deepamp.io.contigs.GRCH38_LENGTHS`).

    Raises
    ------
    ReferenceFileError
        A slice's contig length is unknown (the message asks for
        ``--contig-length``), a given length disagrees with the FASTA, is shorter
        than the pieces reach, or names a contig the FASTA does not have.
    """
    given = dict(given or {})
    contigs = table.contigs()
    for name in given:
        if name not in contigs:
            raise ReferenceFileError(f"{reference}: --contig-length {name}={given[name]} names a contig the "
                                     f"FASTA does not hold (it has {', '.join(contigs)})")
    out: dict[str, int] = {}
    for contig in contigs:
        whole = table.whole_lengths.get(contig)
        length = given.get(contig, whole)
        if whole is not None and length != whole:
            raise ReferenceFileError(f"{reference}: --contig-length {contig}={length} disagrees with the FASTA, "
                                     f"whose record {contig} has {whole} bases")
        if length is None:
            length = GRCH38_LENGTHS.get(contig)
            if length is None:
                raise ReferenceFileError(f"{reference}: holds a slice of {contig}, whose full length the BAM "
                                         f"header needs; give it with --contig-length {contig}=LENGTH")
            log.info(f"{contig}: the FASTA holds a slice; the BAM header gives its GRCh38 length {length} "
                     f"(--contig-length {contig}=LENGTH for another build)")
        reach = max(p.end for p in table.pieces if p.contig == contig)
        if length < reach:
            raise ReferenceFileError(f"{reference}: contig length {contig}={length} is shorter than its "
                                     f"records, which reach {reach}")
        out[contig] = length
    return out


def add_programs(header: list[str], programs: Sequence[Mapping[str, str]]) -> list[str]:
    """``header`` lines with one ``@PG`` per entry of ``programs`` appended, chained by ``PP``.

    Each entry gives ``ID`` (made unique), ``PN``, ``VN``, ``DS`` and ``CL`` (written
    last); tabs and newlines in values become spaces.
    """
    ids = [f.split(":", 1)[1] for line in header if line.startswith("@PG")
           for f in line.rstrip("\n").split("\t")[1:] if f.startswith("ID:")]
    out = list(header)
    for prog in programs:
        pid, n = prog["ID"], 1
        while pid in ids:
            pid, n = f"{prog['ID']}.{n}", n + 1
        fields = [f"ID:{pid}"] + ([f"PP:{ids[-1]}"] if ids else [])
        # CL last: some readers (pysam) take everything after CL: as the command line
        keys = sorted((k for k in prog if k != "ID" and prog[k]), key=lambda k: k == "CL")
        fields += [f"{k}:{' '.join(str(prog[k]).split())}" for k in keys]
        out.append("@PG\t" + "\t".join(fields) + "\n")
        ids.append(pid)
    return out


class ContigLift:
    """Rewrites SAM header and record lines from pieces to contigs.

    Parameters
    ----------
    pieces : PieceTable
        The records of the index the aligner used.
    lengths : mapping
        ``@SQ LN`` per contig (:func:`resolve_contig_lengths`), in header order.
    aligner : str
        Named in the message when a line names a reference not in the index.
    """

    def __init__(self, pieces: PieceTable, lengths: Mapping[str, int], aligner: str):
        self.pieces: dict[str, Piece] = pieces.by_name()
        self.lengths = dict(lengths)
        self.aligner = aligner
        self.records = 0

    def header(self, lines: Sequence[str], programs: Sequence[Mapping[str, str]] = ()) -> list[str]:
        """The aligner's header lines with contig ``@SQ`` lines and deepamp's ``@PG`` lines."""
        sq = [f"@SQ\tSN:{c}\tLN:{n}\n" for c, n in self.lengths.items()]
        out: list[str] = []
        for line in lines:
            if line.startswith("@SQ"):
                out.extend(sq)
                sq = []
            else:
                out.append(line if line.endswith("\n") else line + "\n")
        if sq:
            at = 1 if out and out[0].startswith("@HD") else 0
            out[at:at] = sq
        return add_programs(out, programs)

    def _piece(self, name: str) -> Piece:
        try:
            return self.pieces[name]
        except KeyError:
            raise ReferenceFileError(f"{self.aligner} reported reference {name!r}, which is not a record of "
                                     "its index (an index of another FASTA?)") from None

    def _alternatives(self, tag: str) -> str:
        """Lift the contigs and positions of an ``SA:Z:`` or ``XA:Z:`` tag."""
        head, body = tag[:5], tag[5:]
        out = []
        for hit in body.split(";"):
            if not hit:
                continue
            f = hit.split(",")
            p = self._piece(f[0])
            sign = f[1][0] if f[1][:1] in ("+", "-") else ""
            f[0], f[1] = p.contig, f"{sign}{int(f[1].lstrip('+-')) + p.offset}"
            out.append(",".join(f))
        return head + "".join(h + ";" for h in out)

    def record(self, line: str) -> str:
        """One SAM record line lifted to contig coordinates (ends with a newline)."""
        f = line.rstrip("\n").split("\t")
        self.records += 1
        rname = f[2]
        if rname != "*":
            p = self._piece(rname)
            f[2] = p.contig
            if f[3] != "0":
                f[3] = str(int(f[3]) + p.offset)
        if f[6] != "*" and not (f[6] == "=" and rname == "*"):
            q = self._piece(rname if f[6] == "=" else f[6])
            f[6] = "=" if q.contig == f[2] else q.contig
            if f[7] != "0":
                f[7] = str(int(f[7]) + q.offset)
        for i in range(11, len(f)):
            if f[i].startswith(("SA:Z:", "XA:Z:")):
                f[i] = self._alternatives(f[i])
        return "\t".join(f) + "\n"
