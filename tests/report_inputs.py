"""Helpers of the ``deepamp report`` tests: hand-made inputs and a parser of the pages.

Inputs (a count table, a background, VCFs) are built from numbers written
here (no BAM, no simulation), on the shipped demo panel (ALK exons 22-25,
GRCh38) with the shipped reference bases, so the tests are fast and every
expected value is known.  :class:`Page` reads a report back: headings, tables
as rows of cell texts, SVG titles, every tag and attribute.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pysam

from deepamp.counting.result import CountResult
from deepamp.io.regions import read_bed
from deepamp.models.background import FORMAT_NAME, FORMAT_VERSION, Background, panel_hash

DATA = Path(__file__).resolve().parents[1] / "src" / "deepamp" / "data"
BED = str(DATA / "alk_exons22-25_amplicons.bed")
FASTA = str(DATA / "ALK_hg38_chr2_29191796-29223795.fa")
SLICE_START = 29191796          # 1-based first base of the shipped slice
READS = {"seen": 52000, "used": 50000, "unmapped": 1200, "low_mapq": 800}
BASES = {"counted": 7000000, "low_base_quality": 12345}

#: (pos, ref, alt, filter, DP, AF, DP4, extra INFO) of the standard sample: G1202R, L1196M (filtered),
#: G1269A, and an EGFR exon 19 deletion (an off-target change outside the counted panel).
RECORDS = [
    (29220747, "C", "T", "PASS", 20000, 0.0125, (9880, 9870, 130, 120),
     "FAMILY=hotspot;BGRATE=3.5e-05;EVIDENCE=strong;EVIDENCE_SOURCES=bwa,bowtie2;PS=29220747"),
    (29220765, "G", "T", "min_af", 18000, 0.004, (8964, 8964, 40, 32),
     "FAMILY=hotspot;BGRATE=2.2e-05;EVIDENCE=weak;EVIDENCE_SOURCES=bwa;"
     "PHASE=chr2:29209816C>G:undetermined:spanning=0|alt_alt=0/0|lod=0.0,"
     "chr2:29220747C>T:trans:spanning=24861|alt_alt=0/123|lod=-191.4"),
    (29209816, "C", "G", "PASS", 4000, 0.03, (1940, 1940, 90, 30),
     "FAMILY=hotspot;BGRATE=8.5e-06;EVIDENCE=strong;EVIDENCE_SOURCES=bwa,bowtie2;"
     "PHASE=chr2:29220765G>T:undetermined:spanning=0|alt_alt=0/0|lod=0.0"),
]
EGFR = ("chr7", 55174772, "GGAATTAAGAGAAGCA", "G", "PASS", 20000, 0.03, (9700, 9700, 300, 300),
        "EVIDENCE=strong;EVIDENCE_SOURCES=bwa,bowtie2")


def panel_positions() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(contig, 0-based pos, ref) of every position of the demo amplicons, in order."""
    with pysam.FastaFile(FASTA) as fa:
        seq = fa.fetch(fa.references[0]).upper()
    pos = np.concatenate([np.arange(r.start, r.end) for r in sorted(read_bed(BED), key=lambda r: r.start)])
    ref = np.array([seq[p - (SLICE_START - 1)] for p in pos])
    return np.full(len(pos), "chr2"), pos.astype(np.int64), ref


def write_counts(path: Path, *, depth: int = 6000, low: tuple[int, int] | None = (29222380, 29222400),
                 low_depth: int = 3000, sample: str | None = "S1", read_stats: dict[str, int] | None = None,
                 lod: np.ndarray | None | bool = None, drop: tuple[int, int] | None = None) -> str:
    """A count table of the demo panel: ``depth`` everywhere, ``low_depth`` over the 1-based ``low`` range.

    ``lod=True`` adds a per-site LOD array (0.2% everywhere, NaN on the first amplicon), an array
    its own; ``drop`` removes a 1-based range of positions (a count table of another panel).
    """
    contig, pos, ref = panel_positions()
    if drop is not None:
        keep = ~((pos >= drop[0] - 1) & (pos <= drop[1] - 1))
        contig, pos, ref = contig[keep], pos[keep], ref[keep]
    d = np.full(len(pos), depth, dtype=np.int64)
    if low is not None:
        d[(pos >= low[0] - 1) & (pos <= low[1] - 1)] = low_depth
    counts = np.zeros((len(pos), 7, 2), np.uint32)
    code = {"A": 0, "C": 1, "G": 2, "T": 3}
    for i, (r, n) in enumerate(zip(ref, d)):
        counts[i, code.get(r, 4), 0] = n // 2
        counts[i, code.get(r, 4), 1] = n - n // 2
    source = {"bam": "s1.bam"} if sample is None else {"bam": "s1.bam", "sample": sample}
    res = CountResult.from_arrays(contig, pos, ref, counts, source=source,
                                  read_stats=READS if read_stats is None else read_stats, base_stats=BASES)
    res.save(path)
    if lod is not None:
        arr = lod if isinstance(lod, np.ndarray) else np.where(pos < 29213954, np.nan, 0.002)
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["lod"] = arr
        np.savez_compressed(path, **arrays)
    return str(path)


def write_background(path: Path, *, controls: tuple[str, ...] = ("control1", "control2"),
                     shift: int = 0) -> str:
    """A background of the demo panel: rate 1e-5 (5e-4 at one hot site), the fields ``load`` checks.

    ``shift`` moves every position (a background of another panel).
    """
    contig, pos, ref = panel_positions()
    pos = pos + shift
    rate = np.full((len(pos), 4, 2), 1e-5)
    rate[pos == 29220800, :, :] = 5e-4
    for i, r in enumerate(ref):
        if r in "ACGT":
            rate[i, "ACGT".index(r), :] = 0.0
    meta = {"format": FORMAT_NAME, "version": FORMAT_VERSION,
            "panel_sha256": panel_hash(contig, pos, ref), "count_options": None,
            "controls": [{"name": c, "mismatches": 70, "bases": 7000000, "mismatch_rate": 1e-5} for c in controls],
            "excluded": [], "excluded_indels": [],
            "summary": {"pooled_mismatch_rate": 1e-5, "flat_vaf_threshold": 2.5e-5}}
    indels = {"indel_contig": np.array([], dtype=str), "indel_pos": np.zeros(0, np.int64),
              "indel_length": np.zeros(0, np.int32), "indel_sequence": np.array([], dtype=str),
              "indel_rate": np.zeros(0), "indel_dispersion": np.zeros(0),
              "indel_n_controls_used": np.zeros(0, np.int16), "junction_depth": np.full(len(pos), 12000, np.int64)}
    Background(contig, pos, ref, rate, np.full((len(pos), 4), 0.01), np.full((len(pos), 4), len(controls), np.int16),
               meta, indels=indels).save(path)
    return str(path)


def vcf_text(records=RECORDS, *, extra=(EGFR,), command: str = "deepamp call -f ref.fa -o s1.vcf s1.bam",
             reads: dict[str, int] | None = None, header_extra: tuple[str, ...] = (),
             samples: tuple[str, ...] = ()) -> str:
    """A deepamp-like VCF (phased and through concordance) with the given records."""
    reads = READS if reads is None else reads
    head = ["##fileformat=VCFv4.2", "##fileDate=20260115", "##source=deepamp 0.1.0",
            f'##commandline="{command}"', "##contig=<ID=chr2,length=242193529>",
            "##contig=<ID=chr7,length=159345973>",
            '##INFO=<ID=DP,Number=1,Type=Integer,Description="Depth">',
            '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele Frequency">',
            '##INFO=<ID=DP4,Number=4,Type=Integer,Description="DP4">',
            '##INFO=<ID=FAMILY,Number=1,Type=String,Description="Testing family">',
            '##INFO=<ID=BGRATE,Number=1,Type=Float,Description="Background rate">',
            '##INFO=<ID=EVIDENCE,Number=1,Type=String,Description="Two-aligner concordance">',
            '##INFO=<ID=EVIDENCE_SOURCES,Number=.,Type=String,Description="Passing in">',
            '##INFO=<ID=PS,Number=1,Type=Integer,Description="Phase set">',
            '##INFO=<ID=PHASE,Number=.,Type=String,Description="deepamp phase relation">',
            '##FILTER=<ID=min_af,Description="AF below threshold">',
            "##deepamp_mtc=bonferroni,tests=1964,alpha=0.01",
            "##deepamp_hotspot_mtc=bonferroni,tests=18,alpha=0.01",
            "##deepamp_reads=" + ",".join(f"{k}:{v}" for k, v in reads.items()),
            "##deepamp_bases=" + ",".join(f"{k}:{v}" for k, v in BASES.items()),
            "##deepamp_sites=positions:658,tested:655,below_min_cov:3", *header_extra,
            "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", *(["FORMAT"] if samples else []),
                       *samples])]
    lines = []
    for rec in [("chr2", *r) for r in records] + list(extra):
        chrom, pos, ref, alt, flt, dp, af, dp4, info = rec
        fields = [chrom, str(pos), ".", ref, alt, "100", flt,
                  f"DP={dp};AF={af};DP4={','.join(map(str, dp4))}" + (f";{info}" if info else "")]
        if samples:
            fields += ["GT"] + ["0/1"] * len(samples)
        lines.append("\t".join(fields))
    return "\n".join(head + lines) + "\n"


def annotate(tmp: Path, vcf: Path, prefix: str = "ann") -> str:
    """``deepamp annotate`` of ``vcf``; returns the JSON path."""
    from deepamp.cli import main

    assert main(["annotate", "--quiet", "-o", str(tmp / prefix), str(vcf)]) == 0
    return str(tmp / f"{prefix}.json")


def edit_json(path: str, out: Path, change) -> str:
    """Copy of an annotation JSON after ``change(doc)``."""
    doc = json.loads(Path(path).read_text())
    change(doc)
    out.write_text(json.dumps(doc))
    return str(out)


class Page(HTMLParser):
    """A report read back: headings (h1-h4, in order), tables, SVG titles, tags with their attributes, text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.headings: list[tuple[str, str]] = []
        self.tables: list[list[list[str]]] = []
        self.svg_titles: list[str] = []
        self.text: list[str] = []
        self.styles: list[str] = []
        self._cell: list[str] | None = None
        self._heading: tuple[str, list[str]] | None = None
        self._title: list[str] | None = None
        self._svg = 0
        self._style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag in ("h1", "h2", "h3", "h4"):
            self._heading = (tag, [])
        elif tag == "br" and self._cell is not None:
            self._cell.append("\n")
        elif tag == "svg":
            self._svg += 1
        elif tag == "title" and self._svg:
            self._title = []
        elif tag == "style":
            self._style = True

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append("".join(self._cell).strip())
            self._cell = None
        elif tag in ("h1", "h2", "h3", "h4") and self._heading is not None:
            self.headings.append((self._heading[0], "".join(self._heading[1]).strip()))
            self._heading = None
        elif tag == "title" and self._title is not None:
            self.svg_titles.append("".join(self._title))
            self._title = None
        elif tag == "svg":
            self._svg -= 1
        elif tag == "style":
            self._style = False

    def handle_data(self, data):
        if self._style:
            self.styles.append(data)
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._heading is not None:
            self._heading[1].append(data)
        if self._title is not None:
            self._title.append(data)

    def h(self, level: str) -> list[str]:
        """Texts of the headings of one level (``h2``), in order."""
        return [t for lv, t in self.headings if lv == level]

    def table_with(self, first_header: str, nth: int = 0) -> list[dict[str, str]]:
        """Rows (header -> cell text) of the ``nth`` table whose first column is ``first_header``."""
        found = [t for t in self.tables if t and t[0] and t[0][0] == first_header]
        if len(found) <= nth:
            raise AssertionError(f"no table {nth} starting with {first_header!r}")
        return [dict(zip(found[nth][0], row)) for row in found[nth][1:]]

    def all_text(self) -> str:
        """The page's text (not its stylesheet)."""
        return "".join(self.text)
