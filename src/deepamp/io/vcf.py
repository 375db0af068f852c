"""VCF 4.2 output (sites-only, like LoFreq), written atomically.

``.vcf.gz`` paths are bgzip-compressed and tabix-indexed.  Apart from the
``##fileDate`` and ``##commandline`` lines, output is byte-identical for the
same inputs.
"""

from __future__ import annotations

import datetime
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pysam

from deepamp import __version__
from deepamp.errors import FormatError, InputFileError
from deepamp.io.outputs import atomic_path, check_writable

#: INFO definitions shared by `call` and `filter`; DP/AF/SB/DP4 mean what they mean in LoFreq.
INFO_DEFS: dict[str, tuple[str, str, str]] = {
    "DP": ("1", "Integer", "Raw Depth (overlapping mates count once per fragment unless --no-merge-mates)"),
    "AF": ("A", "Float", "Allele Frequency"),
    "SB": ("1", "Integer", "Phred-scaled strand bias at this position"),
    "DP4": ("4", "Integer", "Counts for ref-forward bases, ref-reverse, alt-forward and alt-reverse bases"),
    "INDEL": ("0", "Flag", "Indicates that the variant is an INDEL."),
    "HRUN": ("1", "Integer", "Homopolymer length to the right of report indel position"),
    "MODEL": ("1", "String", "Null model of the test: quality (Phred-derived Poisson-binomial), context (indels: repeat-length slippage rate) or background (per-site rate from controls)"),
    "PADJ": ("1", "Float", "Multiple-testing adjusted p-value (method in ##deepamp_mtc)"),
    "FAMILY": ("1", "String", "Testing family: panel (all sites), hotspot (known resistance sites) or indel (indel events); each has its own multiple-testing burden"),
    "BGRATE": ("1", "Float", "Background error rate of this substitution or indel event at this site (background model only)"),
    "IDRATE": ("1", "Float", "Per-fragment indel error rate of the context model (Dindel homopolymer shape, level calibrated on the sample; see deepamp.models.indel_context)"),
    "SBA": ("1", "Float", "Amplicon-aware strand bias: Phred of the test of the alt strand ratio against the ref strand ratio"),
    "POPAF": ("1", "Float", "Population allele frequency of this allele (population VCF)"),
}


def open_vcf(path: str) -> pysam.VariantFile:
    """Open an input VCF (plain or bgzipped) for reading with pysam.

    Raises
    ------
    InputFileError
        The file does not exist.
    FormatError
        pysam cannot read it as VCF.
    """
    if not os.path.isfile(path):
        raise InputFileError(f"{path}: VCF not found")
    try:
        return pysam.VariantFile(path)
    except (OSError, ValueError) as exc:
        raise FormatError(f"{path}: cannot read as VCF ({exc})") from None


@dataclass
class VcfRecord:
    """One VCF data line (sites-only)."""

    contig: str
    pos: int                    # 1-based
    ref: str
    alt: str
    qual: float
    filters: list[str] = field(default_factory=list)   # empty = PASS
    info: dict[str, object] = field(default_factory=dict)
    id: str = "."


@dataclass
class VcfHeader:
    """What goes into the ``##`` lines."""

    contigs: Sequence[tuple[str, int | None]]     # length None: written without one
    reference: str | None = None
    info: dict[str, tuple[str, str, str]] = field(default_factory=lambda: dict(INFO_DEFS))
    filters: dict[str, str] = field(default_factory=dict)
    extra: list[str] = field(default_factory=list)      # further ##key=value lines
    command: str | None = None

    def lines(self) -> list[str]:
        """The header lines, ending with the #CHROM line."""
        cmd = self.command if self.command is not None else " ".join(sys.argv)
        out = ["##fileformat=VCFv4.2",
               f"##fileDate={datetime.date.today():%Y%m%d}",
               f"##source=deepamp {__version__}",
               f'##commandline="{cmd}"']
        if self.reference:
            out.append(f"##reference=file://{os.path.abspath(self.reference)}")
        out += [f"##contig=<ID={name},length={length}>" if length else f"##contig=<ID={name}>"
                for name, length in self.contigs]
        for key, (number, typ, desc) in self.info.items():
            out.append(f'##INFO=<ID={key},Number={number},Type={typ},Description="{desc}">')
        out.append('##FILTER=<ID=PASS,Description="All filters passed">')
        for key, desc in self.filters.items():
            out.append(f'##FILTER=<ID={key},Description="{desc}">')
        out += self.extra
        out.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
        return out


def _fmt_value(v: object) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)):
        return ",".join(_fmt_value(x) for x in v)
    return str(v)


def format_record(r: VcfRecord) -> str:
    """One VCF data line (no newline)."""
    info = ";".join(k if v is True else f"{k}={_fmt_value(v)}" for k, v in r.info.items()
                    if v is not None and v is not False) or "."
    qual = f"{r.qual:.0f}" if r.qual == int(r.qual) else f"{r.qual:.2f}"
    return "\t".join([r.contig, str(r.pos), r.id, r.ref, r.alt, qual,
                      ";".join(r.filters) if r.filters else "PASS", info])


def write_vcf(path: str, header: VcfHeader, records: Iterable[VcfRecord]) -> None:
    """Write a VCF to ``path`` ("-" = stdout); ``.gz`` is bgzipped + tabix-indexed.

    Raises
    ------
    OutputError
        The target cannot be written (checked before anything is written).
    """
    write_vcf_text(path, "\n".join(header.lines() + [format_record(r) for r in records]) + "\n")


def write_vcf_text(path: str, text: str) -> None:
    """Write complete VCF text to ``path`` ("-" = stdout), atomically;
    ``.gz`` is bgzipped and tabix-indexed.

    Raises
    ------
    OutputError
        The target cannot be written (checked before anything is written).
    """
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    check_writable(path)
    if not path.endswith(".gz"):
        with atomic_path(path) as tmp, open(tmp, "w", encoding="ascii") as fh:
            fh.write(text)
        return
    with atomic_path(path, suffix=".gz") as tmp_gz, atomic_path(path + ".tbi") as tmp_tbi:
        plain = tmp_gz[:-3]
        try:
            with open(plain, "w", encoding="ascii") as fh:
                fh.write(text)
            pysam.tabix_compress(plain, tmp_gz, force=True)
        finally:
            if os.path.exists(plain):
                os.unlink(plain)
        pysam.tabix_index(tmp_gz, preset="vcf", force=True, index=tmp_tbi)
    # the index is written after the data, so its mtime is never older than the .gz
