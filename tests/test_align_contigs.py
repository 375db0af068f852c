"""deepamp align writes contig coordinates: index pieces (slices placed on their contig, long N runs
left out), the streaming lift of the aligner's SAM, contig lengths, and the N-padded chr2 FASTA."""

from __future__ import annotations

import gzip
import hashlib
import re
import shutil
import subprocess
from pathlib import Path

import pysam
import pytest

from deepamp.cli import main
from deepamp.errors import ReferenceFileError
from deepamp.io.padded_fasta import write_padded_fasta
from deepamp.io.reference import Reference
from deepamp.simulate import Spike, simulate
from deepamp.workflow import index_pieces as ip
from deepamp.workflow.align import align, aligner_index
from deepamp.workflow.index_pieces import Piece, PieceTable, write_index_fasta
from deepamp.workflow.lift import ContigLift, resolve_contig_lengths

DATA = Path(__file__).resolve().parents[1] / "src" / "deepamp" / "data"
SLICE = DATA / "ALK_hg38_chr2_29191796-29223795.fa"
PADDED = DATA / "ALK_hg38_chr2_padded.fa.gz"
BED = DATA / "alk_exons22-25_amplicons.bed"
CHR2 = 242193529
G1202R = Spike("chr2", 29220747, "C", "T", 0.04)

need_aligners = pytest.mark.aligners   # skipped, with the reason, where the tools are missing


def fasta(path: Path, records: list[tuple[str, str]], gz: bool = False) -> str:
    text = "".join(f">{name} some description\n" + "".join(seq[i:i + 60] + "\n" for i in range(0, len(seq), 60))
                   for name, seq in records)
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return str(path)


def read_fasta(path: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for line in Path(path).read_text().splitlines():
        if line.startswith(">"):
            out.append((line[1:], ""))
        else:
            out[-1] = (out[-1][0], out[-1][1] + line)
    return out


# ---------------------------------------------------------------- pieces

A, C, G, T = "ACGT" * 13, "CATG" * 10, "GGTA" * 8, "TTGCA" * 100


def test_long_n_runs_are_left_out_short_ones_kept(tmp_path):
    seq = "NNN" + A + "N" * 1000 + C + "n" * 999 + G + "NNNNN"
    out = str(tmp_path / "pieces.fa")
    table = write_index_fasta(fasta(tmp_path / "r.fa", [("c", seq), ("d", T)]), out)
    first = 3 + len(A) + 1000
    assert table.pieces == [Piece(f"c:4-{3 + len(A)}", "c", 3, len(A)),
                            Piece(f"c:{first + 1}-{first + len(C) + 999 + len(G)}", "c", first,
                                  len(C) + 999 + len(G)),
                            Piece("d", "d", 0, len(T))]            # a whole record keeps its name
    assert table.whole_lengths == {"c": len(seq), "d": len(T)}
    assert read_fasta(out) == [(table.pieces[0].name, A), (table.pieces[1].name, C + "N" * 999 + G), ("d", T)]


def test_slice_records_are_placed_on_their_contig_and_gzip_is_read(tmp_path):
    seq = "A" * 100 + "N" * 1500 + T
    name = f"chr9:1001-{1000 + len(seq)}"
    out = str(tmp_path / "p.fa")
    table = write_index_fasta(fasta(tmp_path / "r.fa.gz", [(name, seq)], gz=True), out)
    assert table.pieces == [Piece("chr9:1001-1100", "chr9", 1000, 100), Piece("chr9:2601-3100", "chr9", 2600, 500)]
    assert table.whole_lengths == {}          # a slice does not say how long chr9 is
    # a record whose name looks like a slice but whose length does not fit is a contig of that name
    odd = write_index_fasta(fasta(tmp_path / "o.fa", [("chr9:1-10", "ACGT")]), out)
    assert odd.pieces == [Piece("chr9:1-10", "chr9:1-10", 0, 4)]


def test_scanning_does_not_depend_on_block_boundaries(tmp_path):
    path = fasta(tmp_path / "r.fa", [("a", "N" * 1200 + A), ("b:11-" + str(10 + len(T)), T), ("c", C)])
    whole = list(ip._scan(path))
    for block in (1, 7, 61, 200):
        events = list(ip._scan(path, block=block))
        names = [n for n, _ in events if n is not None]
        assert names == [n for n, _ in whole if n is not None] == ["a", "b:11-510", "c"]
        seqs: dict[str, str] = {}
        current = ""
        for n, bases in events:
            if n is not None:
                current = n
            seqs[current] = seqs.get(current, "") + bases.decode()
        assert seqs == {"a": "N" * 1200 + A, "b:11-510": T, "c": C}


@pytest.mark.parametrize("records, text, message", [
    (None, "ACGT\n", "not a FASTA file"),
    ([("c", "ACGT"), ("c", "GGCC")], None, "two records named c"),
    ([("chr9:1-400", "A" * 400), ("chr9:300-500", "C" * 201)], None, "chr9:1-400 and chr9:300-500 overlap"),
    ([("c", "N" * 3000)], None, "holds only N"),
    (None, ">\nACGT\n", "has no name"),
])
def test_bad_fasta_is_one_line_naming_the_file(tmp_path, records, text, message):
    path = tmp_path / "bad.fa"
    if records is None:
        path.write_text(text)
    else:
        fasta(path, records)
    with pytest.raises(ReferenceFileError, match=message) as exc:
        write_index_fasta(str(path), str(tmp_path / "p.fa"))
    assert str(exc.value).startswith(str(path)) and "\n" not in str(exc.value)


# ---------------------------------------------------------------- contig lengths

def table_of(*pieces: Piece, whole: dict[str, int] | None = None) -> PieceTable:
    return PieceTable(list(pieces), dict(whole or {}))


def test_contig_lengths_from_the_fasta_grch38_or_given():
    chr2 = Piece("chr2:29191796-29223795", "chr2", 29191795, 32000)
    chr9 = Piece("chr9:1001-1100", "chr9", 1000, 100)
    alk = Piece("alk", "alk", 0, 1000)
    assert resolve_contig_lengths(table_of(chr2, alk, whole={"alk": 1000}), "r.fa") == {"chr2": CHR2, "alk": 1000}
    assert resolve_contig_lengths(table_of(chr2, chr9), "r.fa", {"chr9": 138394717, "chr2": 5 * 10**7}) == \
        {"chr2": 5 * 10**7, "chr9": 138394717}
    for given, message in [(None, r"r.fa: holds a slice of chr9, .* give it with --contig-length chr9=LENGTH"),
                           ({"chr9": 1050}, "chr9=1050 is shorter than its records, which reach 1100"),
                           ({"chr9": 2000, "chrX": 5}, "chrX=5 names a contig the FASTA does not hold"),
                           ({"chr9": 2000, "alk": 999}, "alk=999 disagrees with the FASTA, whose record alk has 1000")]:
        with pytest.raises(ReferenceFileError, match=message):
            resolve_contig_lengths(table_of(chr9, alk, whole={"alk": 1000}), "r.fa", given)


# ---------------------------------------------------------------- the lift, line by line

PIECES = table_of(Piece("chr2:1001-2000", "chr2", 1000, 1000), Piece("chr2:5001-6000", "chr2", 5000, 1000),
                  Piece("chr6:101-400", "chr6", 100, 300), Piece("alk", "alk", 0, 500), whole={"alk": 500})


def test_lift_moves_positions_mates_and_alternative_hits():
    lift = ContigLift(PIECES, {"chr2": CHR2, "chr6": 170805979, "alk": 500}, "bwa")
    rec = "\t".join
    cases = [
        # mapped pair in one piece: RNEXT stays '='
        (rec(["r1", "99", "chr2:1001-2000", "11", "60", "20M", "=", "41", "50", "A" * 20, "I" * 20, "NM:i:0"]),
         rec(["r1", "99", "chr2", "1011", "60", "20M", "=", "1041", "50", "A" * 20, "I" * 20, "NM:i:0"])),
        # mate in another piece of the same contig: RNEXT becomes '='
        (rec(["r2", "97", "chr2:1001-2000", "5", "60", "20M", "chr2:5001-6000", "7", "0", "*", "*"]),
         rec(["r2", "97", "chr2", "1005", "60", "20M", "=", "5007", "0", "*", "*"])),
        # mate on another contig keeps its contig's name
        (rec(["r3", "65", "alk", "5", "60", "20M", "chr6:101-400", "3", "0", "*", "*"]),
         rec(["r3", "65", "alk", "5", "60", "20M", "chr6", "103", "0", "*", "*"])),
        # unmapped read placed at its mate, and an unplaced pair
        (rec(["r4", "69", "chr6:101-400", "30", "0", "*", "=", "30", "0", "ACGT", "IIII"]),
         rec(["r4", "69", "chr6", "130", "0", "*", "=", "130", "0", "ACGT", "IIII"])),
        (rec(["r5", "77", "*", "0", "0", "*", "*", "0", "0", "ACGT", "IIII"]),
         rec(["r5", "77", "*", "0", "0", "*", "*", "0", "0", "ACGT", "IIII"])),
        # SA and XA tags
        (rec(["r6", "2145", "chr2:5001-6000", "100", "60", "30H20M", "=", "1", "0", "*", "*",
              "SA:Z:chr2:1001-2000,10,+,30M20S,60,0;alk,7,-,20M,3,1;", "XA:Z:chr6:101-400,-12,20M,1;chr2:1001-2000,+3,20M,2;"]),
         rec(["r6", "2145", "chr2", "5100", "60", "30H20M", "=", "5001", "0", "*", "*",
              "SA:Z:chr2,1010,+,30M20S,60,0;alk,7,-,20M,3,1;", "XA:Z:chr6,-112,20M,1;chr2,+1003,20M,2;"])),
    ]
    for before, after in cases:
        assert lift.record(before + "\n") == after + "\n"
    with pytest.raises(ReferenceFileError, match="bwa reported reference 'chr7', which is not a record of its index"):
        lift.record(rec(["r", "0", "chr7", "1", "60", "4M", "*", "0", "0", "ACGT", "IIII"]))


def test_lift_header_has_contigs_and_chained_programs():
    lift = ContigLift(PIECES, {"chr2": CHR2, "chr6": 170805979, "alk": 500}, "bwa")
    header = ["@HD\tVN:1.5\tSO:unsorted\n", "@SQ\tSN:chr2:1001-2000\tLN:1000\n", "@SQ\tSN:chr2:5001-6000\tLN:1000\n",
              "@SQ\tSN:chr6:101-400\tLN:300\n", "@SQ\tSN:alk\tLN:500\n", "@RG\tID:s\tSM:s\n",
              "@PG\tID:bwa\tPN:bwa\tCL:bwa mem ref.fa\n"]
    out = lift.header(header, [{"ID": "deepamp-lift", "PN": "deepamp", "CL": "deepamp align\t-f r.fa",
                                "DS": "lifted"}, {"ID": "deepamp-lift", "PN": "deepamp"}])
    assert out == ["@HD\tVN:1.5\tSO:unsorted\n", f"@SQ\tSN:chr2\tLN:{CHR2}\n", "@SQ\tSN:chr6\tLN:170805979\n",
                   "@SQ\tSN:alk\tLN:500\n", "@RG\tID:s\tSM:s\n", "@PG\tID:bwa\tPN:bwa\tCL:bwa mem ref.fa\n",
                   "@PG\tID:deepamp-lift\tPP:bwa\tPN:deepamp\tDS:lifted\tCL:deepamp align -f r.fa\n",
                   "@PG\tID:deepamp-lift.1\tPP:deepamp-lift\tPN:deepamp\n"]


# ---------------------------------------------------------------- end to end on the shipped panel

@pytest.fixture(scope="module")
def panel(tmp_path_factory):
    """The shipped ALK panel simulated with G1202R at 4 %, as BAM and as FASTQ pairs."""
    tmp = tmp_path_factory.mktemp("contigs")
    sim = simulate(SLICE, BED, tmp / "truth.bam", pairs_per_amplicon=800, spikes=[G1202R], run_seed=5,
                   sample_seed=6, softclip_fraction=0.0, low_mapq_fraction=0.0, fastq=str(tmp / "s"))
    return {"tmp": tmp, "sim": sim, "r1": sim.fastq[0], "r2": sim.fastq[1], "cache": str(tmp / "cache")}


def records(bam: str) -> list[str]:
    with pysam.AlignmentFile(bam) as fh:
        return [r.to_string() for r in fh.fetch(until_eof=True)]


@need_aligners
@pytest.mark.parametrize("aligner", ["bwa", "bowtie2"])
def test_slice_aligns_in_chr2_coordinates_and_the_bed_calls_g1202r(panel, aligner, tmp_path):
    bam = str(tmp_path / f"{aligner}.bam")
    result = align(str(SLICE), panel["r1"], panel["r2"], bam, aligner, cache_dir=panel["cache"], sample="S")
    assert result.contigs == {"chr2": CHR2} and result.pairs == 3200
    with pysam.AlignmentFile(bam) as fh:
        assert [(sq["SN"], sq["LN"]) for sq in fh.header["SQ"]] == [("chr2", CHR2)]
        pg = {p["ID"]: p for p in fh.header["PG"]}
        assert pg["deepamp-lift"]["PP"] == aligner and "chr2:29191796-29223795 -> chr2+29191795" in pg["deepamp-lift"]["DS"]
        aligned = {(r.query_name, r.is_read1): r for r in fh.fetch("chr2", 29209000, 29223000)
                   if not r.is_secondary and not r.is_supplementary}
    # the reads that went in are the simulated ones, at the simulated chr2 positions
    with pysam.AlignmentFile(panel["sim"].bam) as fh:
        truth = {(r.query_name, r.is_read1): r for r in fh.fetch(until_eof=True)}
    assert aligned.keys() == truth.keys()
    assert all(aligned[k].get_forward_sequence() == t.get_forward_sequence()
               and list(aligned[k].get_forward_qualities()) == list(t.get_forward_qualities()) for k, t in truth.items())
    same_place = sum(aligned[k].reference_start == t.reference_start for k, t in truth.items())
    assert same_place >= 0.95 * len(truth)
    vcf = str(tmp_path / f"{aligner}.vcf")
    assert main(["call", "--quiet", "-f", str(SLICE), "-l", str(BED), "-o", vcf, bam]) == 0
    with pysam.VariantFile(vcf) as vf:
        assert vf.header.contigs["chr2"].length == CHR2
        calls = {(r.chrom, r.pos, r.ref, r.alts[0]): r for r in vf}
    g1202r = calls[("chr2", 29220747, "C", "T")]
    assert g1202r.filter.keys() == ["PASS"] and g1202r.info["AF"][0] == pytest.approx(0.04, abs=0.015)


@need_aligners
@pytest.mark.parametrize("aligner", ["bwa", "bowtie2"])
def test_n_padded_chr2_gives_the_records_of_the_slice(panel, aligner, tmp_path):
    out = {}
    for name, ref in (("slice", SLICE), ("padded", PADDED)):
        out[name] = str(tmp_path / f"{name}.bam")
        align(str(ref), panel["r1"], panel["r2"], out[name], aligner, cache_dir=panel["cache"], sample="S")
    assert records(out["padded"]) == records(out["slice"])
    with pysam.AlignmentFile(out["padded"]) as fh:
        assert fh.header.get_reference_length("chr2") == CHR2
    # the cached index of the padded chr2 holds the 32,000 bases of the window, not 242 Mb of N
    prefix = aligner_index(str(PADDED), aligner, panel["cache"])
    assert read_fasta(prefix) == [("chr2:29191796-29223795", read_fasta(str(SLICE))[0][1])]
    assert "piece\tchr2:29191796-29223795\tchr2\t29191795\t32000" in Path(prefix + ".pieces.tsv").read_text()
    assert f"contig\tchr2\t{CHR2}" in Path(prefix + ".pieces.tsv").read_text()


@need_aligners
def test_an_index_cached_before_pieces_is_not_reused(panel, tmp_path):
    """A cache entry keyed by the FASTA alone (deepamp before index pieces) indexed the FASTA as it was."""
    ref = fasta(tmp_path / "r.fa", [("c", "N" * 2000 + read_fasta(str(SLICE))[0][1][:3000])])
    cache = tmp_path / "cache"
    old = cache / hashlib.sha256(Path(ref).read_bytes()).hexdigest() / "bwa"
    old.mkdir(parents=True)
    shutil.copyfile(ref, old / "ref.fa")
    subprocess.run(["bwa", "index", "ref.fa"], cwd=old, check=True, capture_output=True)
    prefix = aligner_index(ref, "bwa", str(cache))
    assert not prefix.startswith(str(old)) and read_fasta(prefix) == [("c:2001-5000", read_fasta(ref)[0][1][2000:])]


@need_aligners
def test_slice_of_a_contig_of_unknown_length_fails_before_aligning(panel, tmp_path, capsys):
    seq = read_fasta(str(SLICE))[0][1][28000:31500]
    ref = fasta(tmp_path / "other.fa", [("chr9:1001-4500", seq)])
    out = tmp_path / "o.bam"
    args = ["align", "--quiet", "-f", ref, "-1", panel["r1"], "-2", panel["r2"], "--index-cache", panel["cache"],
            "-o", str(out)]
    assert main(args) == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and re.search(r"other.fa: holds a slice of chr9, .*--contig-length chr9=LENGTH", err)
    assert not out.exists()
    assert main([*args, "--contig-length", "chr9=138394717"]) == 0
    with pysam.AlignmentFile(str(out)) as fh:
        assert fh.header.get_reference_length("chr9") == 138394717
        assert min(r.reference_start for r in fh.fetch("chr9")) >= 1000
    assert main([*args, "--contig-length", "chr9"]) == 2          # usage error
    assert "NAME=LENGTH" in capsys.readouterr().err


# ---------------------------------------------------------------- the shipped N-padded chr2

def test_padded_fasta_is_rebuilt_from_the_slice_and_documented(tmp_path):
    digest = write_padded_fasta(SLICE, tmp_path / "p.fa.gz")
    readme = (DATA / "README.md").read_text()
    assert f"`{digest}`" in readme
    shipped = hashlib.sha256()
    with gzip.open(PADDED, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            shipped.update(block)
    assert shipped.hexdigest() == digest
    assert f"`{hashlib.sha256(PADDED.read_bytes()).hexdigest()}`" in readme
    assert PADDED.stat().st_size < 1_000_000
    with Reference(PADDED) as pad, Reference(SLICE) as sl:
        assert pad.pieces("chr2")[0].length == CHR2
        assert pad.fetch("chr2", 29191795, 29223795) == sl.fetch("chr2", 29191795, 29223795)
        assert pad.fetch("chr2", 29191790, 29191795) == "NNNNN" and pad.fetch("chr2", CHR2 - 3, CHR2) == "NNN"


@pytest.fixture(scope="module")
def chr2_bam(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("padded")
    sim = simulate(SLICE, BED, tmp / "t.bam", pairs_per_amplicon=1500, spikes=[G1202R], run_seed=8,
                   sample_seed=9, contig_length={"chr2": CHR2})
    return sim.bam


def body(path: str) -> list[str]:
    """The records and column header, without meta lines (which name the reference file)."""
    return [ln for ln in Path(path).read_text().splitlines() if not ln.startswith(("##", "#params"))]


def test_count_and_call_give_the_same_results_with_the_padded_fasta(chr2_bam, tmp_path):
    for cmd, ext in (("call", "vcf"), ("count", "tsv")):
        outs = []
        for name, ref in (("slice", SLICE), ("padded", PADDED)):
            outs.append(str(tmp_path / f"{cmd}.{name}.{ext}"))
            assert main([cmd, "--quiet", "-f", str(ref), "-l", str(BED), "-o", outs[-1], chr2_bam]) == 0
        assert body(outs[0]) == body(outs[1]) and len(body(outs[0])) > 1


@pytest.mark.skipif(not shutil.which("bcftools"), reason="needs bcftools on PATH (apt-get install bcftools)")
def test_bcftools_norm_finds_chr2_in_the_padded_fasta(chr2_bam, tmp_path):
    vcf = str(tmp_path / "c.vcf")
    assert main(["call", "--quiet", "-f", str(SLICE), "-l", str(BED), "-o", vcf, chr2_bam]) == 0
    ok = subprocess.run(["bcftools", "norm", "-c", "e", "-f", str(PADDED), vcf], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    normed = [ln.split("\t")[:5] for ln in ok.stdout.splitlines() if not ln.startswith("#")]
    assert ["chr2", "29220747", ".", "C", "T"] in normed
    assert len(normed) == len([ln for ln in body(vcf) if not ln.startswith("#")])
    bad = subprocess.run(["bcftools", "norm", "-f", str(SLICE), vcf], capture_output=True, text=True)
    assert bad.returncode != 0        # why the padded FASTA is shipped
