"""The one VCF layer: every VCF deepamp reads or writes goes through here, on pysam.

Reading (:func:`read_vcf`)
--------------------------
Plain, bgzipped or plain-gzipped VCF.  Before htslib sees a file, every data
line is checked (at least 8 columns, POS a positive integer below 2^31, QUAL a
number >= 0 or ``.``, declared Integer/Float INFO values numeric; the error
names the line) and the header is completed with what the records use but it
does not declare -- contigs, INFO, FILTER and FORMAT keys (a LoFreq VCF has no
``##contig`` lines and may use undeclared keys).  So htslib never prints a
warning or ends the process on a foreign VCF, and nothing is silently dropped;
``VcfData.added`` lists what was added.  Two declarations are corrected, with
the values kept: LoFreq's ``SB`` (one Phred value) is declared ``Number=.``
(htslib expects VCF 4.3's 4-value SB under ``Number=1``), and deepamp's own
p-value keys (``PADJ``) are read as text, so a p-value below 1e-38 (BCF's
32-bit Float) keeps every digit.

Writing (:func:`write_vcf`)
---------------------------
Records are pysam records of the header written; ``.vcf.gz`` is bgzipped and
tabix-indexed (records are sorted first if needed), ``-`` is standard output,
and the file appears complete or not at all (:mod:`deepamp.io.outputs`).
:func:`new_header` builds deepamp's header: ``##fileDate`` and
``##commandline`` are the only lines that differ between runs.
"""

from __future__ import annotations

import datetime
import gzip
import math
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import pysam

from deepamp.errors import FormatError, InputFileError, OutputError
from deepamp.io.outputs import staged, work_directory

__all__ = ["INFO_DEFS", "TEXT_KEYS", "VcfData", "read_vcf", "new_header", "write_vcf", "info_value",
           "is_indel_record", "filter_names"]

#: INFO definitions of deepamp's records; DP/AF/SB/DP4/INDEL/HRUN mean what they mean in LoFreq.
INFO_DEFS: dict[str, tuple[str, str, str]] = {
    "DP": ("1", "Integer", "Raw Depth (overlapping mates count once per fragment unless --no-merge-mates)"),
    "AF": ("A", "Float", "Allele Frequency"),
    "SB": (".", "Integer", "Phred-scaled strand bias at this position (LoFreq's SB, one value)"),
    "DP4": ("4", "Integer", "Counts for ref-forward bases, ref-reverse, alt-forward and alt-reverse bases"),
    "INDEL": ("0", "Flag", "Indicates that the variant is an INDEL."),
    "HRUN": ("1", "Integer", "Homopolymer length to the right of report indel position"),
    "MODEL": ("1", "String", "Null model of the test: quality (Phred-derived Poisson-binomial), context "
                             "(indels: repeat-length slippage rate), background (per-site rate from a panel of "
                             "normals) or matched (the same patient's normal)"),
    "PADJ": ("1", "String", "Multiple-testing adjusted p-value (method in ##deepamp_mtc); a number written "
                            "as text so that values below 1e-38 keep their digits"),
    "FAMILY": ("1", "String", "Testing family: panel (all sites), hotspot (known ALK/ROS1 resistance alleles), "
                              "bypass (known off-target resistance alleles) or indel (indel events); each has "
                              "its own multiple-testing burden"),
    "BGRATE": ("1", "Float", "Background error rate of this substitution or indel event at this site "
                             "(background model only)"),
    "IDRATE": ("1", "Float", "Per-fragment indel error rate of the context model (Dindel homopolymer shape, "
                             "level calibrated on the sample)"),
    "MNRATE": ("1", "Float", "Matched-normal model: the null's fraction of the tested base (from the normal)"),
    "NAF": ("1", "Float", "Fraction of the ALT allele in the matched normal"),
    "NDP": ("1", "Integer", "Depth of the matched normal at this site"),
    "MNDIR": ("1", "String", "Matched-normal model: gain = the sample carries more of ALT than its normal; "
                             "loss = less of ALT (it carries more of the reference allele)"),
    "SBA": ("1", "Float", "Amplicon-aware strand bias: Phred of the test of the alt strand ratio against "
                          "the ref strand ratio"),
    "POPAF": ("1", "Float", "Population allele frequency of this allele (population VCF)"),
    "OBP": ("1", "Float", "Posterior probability that the call is a read-orientation (F1R2/F2R1) artefact such "
                          "as 8-oxo-G damage (capture regions)"),
}
#: Keys carrying numbers too small for BCF's 32-bit Float: always read and written as text.
TEXT_KEYS = ("PADJ",)
#: Declarations for reserved or well-known keys a foreign VCF may use without declaring them.
_KNOWN_INFO: dict[str, tuple[str, str]] = {
    "END": ("1", "Integer"), "SVLEN": (".", "Integer"), "SVTYPE": ("1", "String"), "DP": ("1", "Integer"),
    "AF": ("A", "Float"), "DP4": ("4", "Integer"), "SB": (".", "Integer"), "INDEL": ("0", "Flag"),
    "HRUN": ("1", "Integer"), "CONSVAR": ("0", "Flag"), "AC": ("A", "Integer"), "AN": ("1", "Integer"),
}
_KNOWN_FORMAT: dict[str, tuple[str, str]] = {"GT": ("1", "String"), "DP": ("1", "Integer"),
                                             "AD": ("R", "Integer"), "GQ": ("1", "Integer")}
_UNDECLARED = "Not declared in the input VCF header; added by deepamp"
_DECL_RE = re.compile(r"^##(INFO|FORMAT|FILTER|contig)=<ID=([^,>]+)(.*)>\s*$")
_FIELD_RE = re.compile(r"(Number|Type)=([^,>]+)")
_POS_MAX = 2**31 - 2
_BASES_RE = re.compile(r"^[A-Za-z*.]+$")


@dataclass
class VcfData:
    """A VCF read by :func:`read_vcf`.

    Attributes
    ----------
    path : the file read
    header : the (completed) pysam header; ``records`` belong to it
    records : every data record, in file order
    line_numbers : the file line of each record
    added : the header lines deepamp added or corrected (empty for a complete header)
    """

    path: str
    header: pysam.VariantHeader
    records: list[pysam.VariantRecord]
    line_numbers: list[int]
    added: list[str] = field(default_factory=list)

    def where(self, i: int) -> str:
        """``path: line N (chrom:pos)`` of record ``i``, for messages."""
        r = self.records[i]
        return f"{self.path}: line {self.line_numbers[i]} ({r.chrom}:{r.pos})"


def _open_text(path: str):
    try:
        with open(path, "rb") as fh:
            magic = fh.read(2)
    except FileNotFoundError:
        raise InputFileError(f"{path}: VCF not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a directory, not a VCF") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read ({exc.strerror})") from None
    if magic == b"\x1f\x8b":   # bgzip or plain gzip: both are gzip streams
        return gzip.open(path, "rt", encoding="utf-8", newline="\n")
    return open(path, encoding="utf-8", newline="\n")


def _declared(header: list[str]) -> dict[str, dict[str, tuple[str, str]]]:
    """Declared IDs per kind (INFO/FORMAT/FILTER/contig) -> (Number, Type)."""
    out: dict[str, dict[str, tuple[str, str]]] = {"INFO": {}, "FORMAT": {}, "FILTER": {}, "contig": {}}
    for line in header:
        m = _DECL_RE.match(line)
        if m:
            fields = dict(_FIELD_RE.findall(m.group(3)))
            out[m.group(1)][m.group(2)] = (fields.get("Number", "."), fields.get("Type", "String"))
    return out


def _check_number(value: str, typ: str) -> bool:
    for v in value.split(","):
        if v == ".":
            continue
        try:
            if typ == "Integer":
                int(v)
            else:
                float(v)
        except ValueError:
            return False
    return True


def _scan(path: str) -> tuple[list[str], list[str], list[int], list[str]]:
    """Header lines (completed), data lines, their line numbers, and what was added."""
    header: list[str] = []
    data: list[str] = []
    numbers: list[int] = []
    try:
        with _open_text(path) as fh:
            for no, line in enumerate(fh, 1):
                line = line.rstrip("\r\n")
                if not line:
                    continue
                if line.startswith("#"):
                    if data:
                        raise FormatError(f"{path}: line {no}: header line after the first record")
                    header.append(line)
                else:
                    data.append(line)
                    numbers.append(no)
    except UnicodeDecodeError:
        raise FormatError(f"{path}: not a text VCF (bytes that are not UTF-8)") from None
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise InputFileError(f"{path}: cannot read VCF ({exc})") from None
    if not header or not header[-1].startswith("#CHROM"):
        raise FormatError(f"{path}: not a VCF (no #CHROM header line)")
    columns = header[-1].split("\t")
    n_samples = max(0, len(columns) - 9)
    decl = _declared(header)
    added: list[str] = []
    # corrected declarations: values kept, types htslib can hold without loss or warning
    for i, line in enumerate(header):
        m = _DECL_RE.match(line)
        if not m or m.group(1) != "INFO":
            continue
        key, (number, typ) = m.group(2), decl["INFO"][m.group(2)]
        if key == "SB" and number == "1":
            header[i] = line.replace("Number=1", "Number=.", 1)
            added.append(header[i])
            decl["INFO"]["SB"] = (".", typ)
        elif key in TEXT_KEYS and typ != "String":
            header[i] = line.replace(f"Type={typ}", "Type=String", 1)
            added.append(header[i])
            decl["INFO"][key] = (number, "String")
    contigs: dict[str, None] = {}
    info_keys: dict[str, bool] = {}       # key -> seen with a value
    filters: dict[str, None] = {}
    formats: dict[str, None] = {}
    for no, line in zip(numbers, data):
        f = line.split("\t")
        where = f"{path}: line {no}"
        if len(f) < 8:
            raise FormatError(f"{where}: expected at least 8 tab-separated VCF columns, found {len(f)}")
        if n_samples and len(f) != 9 + n_samples:
            raise FormatError(f"{where}: {len(f)} columns, the #CHROM line has {9 + n_samples}")
        if not f[1].isdigit() or not 1 <= int(f[1]) <= _POS_MAX:
            raise FormatError(f"{where}: POS {f[1][:20]!r} is not a position (an integer from 1 to {_POS_MAX})")
        if not _BASES_RE.match(f[3]):
            raise FormatError(f"{where}: REF {f[3][:20]!r} is not a sequence of bases")
        if f[5] != ".":
            try:
                q = float(f[5])
            except ValueError:
                q = math.nan
            if not (math.isfinite(q) and q >= 0):
                raise FormatError(f"{where}: QUAL {f[5][:20]!r} is not a number >= 0 or '.'")
        contigs.setdefault(f[0])
        if f[6] not in (".", "PASS"):
            for name in f[6].split(";"):
                filters.setdefault(name)
        if f[7] != ".":
            for item in f[7].split(";"):
                key, eq, value = item.partition("=")
                if not key:
                    continue
                info_keys[key] = info_keys.get(key, False) or bool(eq)
                typ = decl["INFO"].get(key, ("", ""))[1] or _KNOWN_INFO.get(key, ("", ""))[1]
                if eq and typ in ("Integer", "Float") and not _check_number(value, typ):
                    raise FormatError(f"{where}: INFO/{key}={value[:30]} is not {typ}")
        if len(f) > 8:
            for key in f[8].split(":"):
                formats.setdefault(key)
    new: list[str] = []
    if not header[0].startswith("##fileformat="):
        new.append("##fileformat=VCFv4.2")
    for c in contigs:
        if c not in decl["contig"]:
            new.append(f"##contig=<ID={c}>")
    for key, with_value in info_keys.items():
        if key in decl["INFO"]:
            continue
        number, typ = _KNOWN_INFO.get(key, (".", "String") if with_value else ("0", "Flag"))
        if typ == "Flag" and with_value:
            number, typ = ".", "String"
        new.append(f'##INFO=<ID={key},Number={number},Type={typ},Description="{_UNDECLARED}">')
    for name in filters:
        if name not in decl["FILTER"]:
            new.append(f'##FILTER=<ID={name},Description="{_UNDECLARED}">')
    for key in formats:
        if key not in decl["FORMAT"]:
            number, typ = _KNOWN_FORMAT.get(key, (".", "String"))
            new.append(f'##FORMAT=<ID={key},Number={number},Type={typ},Description="{_UNDECLARED}">')
    if new:
        fileformat = [h for h in new if h.startswith("##fileformat")]
        rest = [h for h in new if not h.startswith("##fileformat")]
        header = fileformat + header[:-1] + rest + header[-1:]
        added += new
    return header, data, numbers, added


def read_vcf(path: str | os.PathLike[str]) -> VcfData:
    """Read a VCF (plain, bgzip or gzip) into pysam records, header completed.

    Raises
    ------
    InputFileError
        The file is missing or unreadable.
    FormatError
        A malformed line (the message names it) or a header htslib rejects.
    """
    path = os.fspath(path)
    header_lines, data, numbers, added = _scan(path)
    verbosity = pysam.set_verbosity(0)
    try:
        with work_directory(os.path.join(tempfile.gettempdir(), "deepamp-vcf")) as work:
            tmp = os.path.join(work, "checked.vcf")
            with open(tmp, "w", encoding="utf-8") as fh:
                fh.write("\n".join(header_lines) + "\n")
                for line in data:
                    fh.write(line + "\n")
            try:
                vf = pysam.VariantFile(tmp)
            except (OSError, ValueError) as exc:
                raise FormatError(f"{path}: the VCF header cannot be read ({exc})") from None
            records: list[pysam.VariantRecord] = []
            with vf:
                try:
                    for rec in vf:
                        records.append(rec)
                except (OSError, ValueError) as exc:
                    no = numbers[len(records)] if len(records) < len(numbers) else numbers[-1]
                    raise FormatError(f"{path}: line {no}: malformed VCF record ({exc})") from None
                header = vf.header
    finally:
        pysam.set_verbosity(verbosity)
    return VcfData(path, header, records, numbers, added)


def new_header(contigs: Sequence[tuple[str, int | None]], *, reference: str | None = None,
               command: str | None = None, info: dict[str, tuple[str, str, str]] | None = None,
               filters: dict[str, str] | None = None, extra: Sequence[str] = ()) -> pysam.VariantHeader:
    """deepamp's VCF header: source, command line, reference, contigs, INFO, FILTER, ``##`` extras.

    ``info`` defaults to :data:`INFO_DEFS`; ``##fileDate`` and ``##commandline``
    are the only lines that change from run to run.
    """
    from deepamp._version import __version__

    h = pysam.VariantHeader()
    h.add_line(f"##fileDate={datetime.date.today():%Y%m%d}")
    h.add_line(f"##source=deepamp {__version__}")
    h.add_line(f'##commandline="{(command or "deepamp").replace(chr(34), chr(39))}"')
    if reference:
        h.add_line(f"##reference=file://{os.path.abspath(reference)}")
    for name, length in contigs:
        if length:
            h.contigs.add(name, length=length)
        else:
            h.contigs.add(name)
    for key, (number, typ, desc) in (INFO_DEFS if info is None else info).items():
        h.add_line(f'##INFO=<ID={key},Number={number},Type={typ},Description="{desc}">')
    for name, desc in (filters or {}).items():
        h.add_line(f'##FILTER=<ID={name},Description="{desc}">')
    for line in extra:
        h.add_line(line)
    return h


def _sorted(header: pysam.VariantHeader, records: list[pysam.VariantRecord]) -> list[pysam.VariantRecord]:
    order = {name: i for i, name in enumerate(header.contigs)}
    keys = [(order.get(r.chrom, len(order)), r.pos) for r in records]
    if all(a <= b for a, b in zip(keys, keys[1:])):
        return records
    return [r for _, r in sorted(zip(keys, records), key=lambda kr: kr[0])]


def write_vcf(path: str | os.PathLike[str], header: pysam.VariantHeader,
              records: Iterable[pysam.VariantRecord]) -> None:
    """Write ``records`` (of ``header``) to ``path``: ``-`` = stdout; ``.gz`` = bgzip + tabix index.

    A ``.vcf.gz`` is written in position order (sorted when the records are
    not), as its index needs.

    Raises
    ------
    OutputError
        The output cannot be written (nothing is left behind).
    """
    path = os.fspath(path)
    recs = list(records)
    gz = path.endswith(".gz")
    targets = [path, path + ".tbi"] if gz else [path]
    with staged(*targets, suffixes=[".vcf.gz", ""] if gz else [".vcf"]) as tmps:
        if gz:
            recs = _sorted(header, recs)
        verbosity = pysam.set_verbosity(0)          # failures are reported below, in one line
        try:
            with pysam.VariantFile(tmps[0], "wz" if gz else "w", header=header) as out:
                for r in recs:
                    out.write(r)
            if gz:
                pysam.tabix_index(tmps[0], preset="vcf", force=True, index=tmps[1])
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno:
                raise
            raise OutputError(f"{path}: cannot write VCF ({_why(tmps[0], exc)})") from None
        finally:
            pysam.set_verbosity(verbosity)


def _why(tmp: str, exc: Exception) -> str:
    """htslib reports a failed write without its cause: a full file system is the usual one."""
    try:
        st = os.statvfs(os.path.dirname(os.path.abspath(tmp)))
        if st.f_bavail * st.f_frsize < 1 << 16:
            return os.strerror(28)          # ENOSPC
    except OSError:
        pass
    return str(exc)


def info_value(rec: pysam.VariantRecord, key: str, alt_index: int = 0):
    """INFO ``key`` of a record for its ``alt_index``-th ALT (Number=A), else the value; None if absent."""
    if key not in rec.info:
        return None
    v = rec.info[key]
    if isinstance(v, tuple) and rec.header.info[key].number == "A":
        return v[alt_index] if alt_index < len(v) else None
    return v


def is_indel_record(rec: pysam.VariantRecord) -> bool:
    """Whether a record is an indel (INFO/INDEL, or REF and an ALT of different lengths)."""
    if "INDEL" in rec.header.info and rec.info.get("INDEL") is True:
        return True
    return any(len(a) != len(rec.ref) for a in rec.alts or () if not a.startswith("<"))


def filter_names(rec: pysam.VariantRecord) -> list[str] | None:
    """FILTER names of a record: [] for PASS, None for '.' (filters not applied)."""
    names = list(rec.filter.keys())
    if not names:
        return None
    return [n for n in names if n != "PASS"]
