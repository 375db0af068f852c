"""Primer clipping (deepamp.workflow.primers, clip_bam, deepamp clip, align --primers): golden SAM records per
case, primer BED errors, and the effect on a spike under a primer footprint."""

from __future__ import annotations

import os
from pathlib import Path

import pysam
import pytest

from deepamp.cli import main
from deepamp.errors import FormatError, InputFileError
from deepamp.simulate import Amplicon, Spike, simulate
from deepamp.workflow.clip_bam import clip_bam
from deepamp.workflow.primers import (PrimerClipper, load_primers, parse_primer_length, primers_from_lengths,
                                      read_primer_bed)
from deepamp.workflow.softclip import clip_end, clip_start, trim_md

DATA = Path(__file__).resolve().parents[1] / "src" / "deepamp" / "data"
SLICE = DATA / "ALK_hg38_chr2_29191796-29223795.fa"
BED = DATA / "alk_exons22-25_amplicons.bed"

HEADER = pysam.AlignmentHeader.from_text("@HD\tVN:1.6\tSO:unsorted\n@SQ\tSN:chr1\tLN:1000\n@SQ\tSN:chr3\tLN:1000\n")
# amplicon amp1 = chr1:100-300 (0-based), LEFT primer 100-120, RIGHT primer 280-300
NAMED = "chr1\t100\t120\tamp1_LEFT\t1\t+\nchr1\t280\t300\tamp1_RIGHT\t1\t-\n"


@pytest.fixture
def named(tmp_path):
    path = tmp_path / "primers.bed"
    path.write_text(NAMED)
    return read_primer_bed(path)


def sam(name: str, flag: int, pos: int, cigar: str, *tags: str, rnext: str = "*", pnext: int = 0, tlen: int = 0,
        contig: str = "chr1") -> str:
    """A SAM line; SEQ/QUAL as long as the CIGAR's query."""
    n = sum(int(x) for x, op in _ops(cigar) if op in "MIS=X")
    seq = ("ACGTTGCA" * 40)[:n] if n else "*"
    return "\t".join([name, str(flag), contig, str(pos), "60", cigar, rnext, str(pnext), str(tlen), seq,
                      "I" * n if n else "*", *tags])


def _ops(cigar: str) -> list[tuple[str, str]]:
    import re
    return re.findall(r"(\d+)([MIDNSHP=X])", cigar)


def run(scheme, *lines: str, tolerance: int = 3) -> tuple[list[str], PrimerClipper]:
    clipper = PrimerClipper(scheme, tolerance)
    return [x.rstrip("\n") for x in clipper.clip_sam_lines([x + "\n" for x in lines], HEADER)], clipper


def same(got: str, expected: str) -> None:
    """Fields 1-11 equal one by one, tags equal as a set."""
    g, e = got.split("\t"), expected.split("\t")
    for i, (a, b) in enumerate(zip(g[:11], e[:11])):
        assert a == b, f"field {i + 1}: {a!r} != {b!r} in\n{got}\n{expected}"
    assert set(g[11:]) == set(e[11:]), f"tags {sorted(g[11:])} != {sorted(e[11:])}"


def check(scheme, cases: list[tuple[str, str]], tolerance: int = 3) -> PrimerClipper:
    out, clipper = run(scheme, *(a for a, _ in cases), tolerance=tolerance)
    assert len(out) == len(cases)
    for got, (_, expected) in zip(out, cases):
        same(got, expected)
    return clipper


# ---------------------------------------------------------------- golden records

def test_forward_read_in_left_primer_and_reverse_mate_in_right_primer(named):
    seq60 = sam("p", 0, 1, "60M").split("\t")[9]
    c = check(named, [
        (sam("p", 99, 101, "60M", "NM:i:1", "MD:Z:5A54", "MC:Z:60M", rnext="=", pnext=241, tlen=200),
         sam("p", 99, 121, "20S40M", "NM:i:0", "MD:Z:40", "MC:Z:40M20S", rnext="=", pnext=241, tlen=160)),
        (sam("p", 147, 241, "60M", "NM:i:1", "MD:Z:10C49", "MC:Z:60M", rnext="=", pnext=101, tlen=-200),
         sam("p", 147, 241, "40M20S", "NM:i:1", "MD:Z:10C29", "MC:Z:20S40M", rnext="=", pnext=121, tlen=-160)),
    ])
    assert seq60 == sam("p", 0, 1, "20S40M").split("\t")[9]        # bases are kept, only soft-clipped
    s = c.stats
    assert (s.reads, s.clipped, s.bases_clipped, s.off_target, s.primer_only) == (2, 2, 40, 0, 0)
    assert s.per_amplicon["amp1"].reads == 2 and s.per_amplicon["amp1"].bases == 40


def test_read_starting_inside_its_primer_after_a_soft_clip(named):
    # the aligner soft-clipped the first 5 bases: the read still starts at the primer (100), and keeps only
    # the template; a mate without MC gets none
    check(named, [
        (sam("q", 99, 106, "5S55M", "MC:Z:50M", rnext="=", pnext=201, tlen=150),
         sam("q", 99, 121, "20S40M", "MC:Z:50M", rnext="=", pnext=201, tlen=130)),
        (sam("q", 147, 201, "50M", rnext="=", pnext=106, tlen=-150),
         sam("q", 147, 201, "50M", rnext="=", pnext=121, tlen=-130)),
    ])


def test_insertions_and_deletions_at_the_primer_boundary(named):
    check(named, [
        # an insertion right after the primer becomes soft clip
        (sam("i", 0, 101, "20M2I38M", "NM:i:2", "MD:Z:58"), sam("i", 0, 121, "22S38M", "NM:i:0", "MD:Z:38")),
        # a deletion right after the primer is dropped: the alignment starts after it
        (sam("d", 0, 101, "20M3D37M", "NM:i:3", "MD:Z:20^ACG37"), sam("d", 0, 124, "20S37M", "NM:i:0", "MD:Z:37")),
        # a deletion across the primer end
        (sam("e", 0, 101, "15M10D35M", "NM:i:10", "MD:Z:15^ACGTACGTAC35"), sam("e", 0, 126, "15S35M", "NM:i:0", "MD:Z:35")),
        # a deletion inside the template is kept, and a mismatch after it too
        (sam("k", 0, 101, "30M2D28M", "NM:i:3", "MD:Z:30^GG0T27"),
         sam("k", 0, 121, "20S10M2D28M", "NM:i:3", "MD:Z:10^GG0T27")),
        # at the right end: an insertion just before the RIGHT primer becomes soft clip
        (sam("r", 16, 243, "38M2I20M", "NM:i:2"), sam("r", 16, 243, "38M22S")),
    ])


def test_read_that_is_all_primer_is_flagged_qcfail(named):
    c = check(named, [
        (sam("a", 0, 101, "20M"), sam("a", 512, 101, "20M")),
        (sam("b", 16, 281, "3S20M", "MD:Z:20"), sam("b", 528, 281, "3S20M", "MD:Z:20")),
    ])
    assert c.stats.primer_only == 2 and c.stats.clipped == 0


def test_off_target_starts_are_counted_and_left_alone(named):
    c = check(named, [
        (sam("o", 0, 151, "50M"), sam("o", 0, 151, "50M")),
        (sam("t", 0, 98, "50M"), sam("t", 0, 121, "23S27M")),       # 3 bases before the primer: tolerated
        (sam("u", 0, 97, "50M"), sam("u", 0, 97, "50M")),           # 4 bases before: off target
        (sam("v", 16, 205, "100M"), sam("v", 16, 205, "100M")),     # reverse read ending 4 past the primer
    ])
    assert c.stats.off_target == 3 and c.stats.clipped == 1
    c = check(named, [(sam("u", 0, 97, "50M"), sam("u", 0, 121, "24S26M"))], tolerance=4)
    assert c.stats.off_target == 0


def test_secondary_and_supplementary_records_are_untouched(named):
    c = check(named, [
        (sam("s", 99, 101, "60M", rnext="=", pnext=241, tlen=200),
         sam("s", 99, 121, "20S40M", rnext="=", pnext=241, tlen=160)),
        (sam("s", 355, 101, "60M", rnext="=", pnext=241, tlen=200), sam("s", 355, 101, "60M", rnext="=", pnext=241, tlen=200)),
        (sam("s", 2147, 101, "30H30M", rnext="=", pnext=101), sam("s", 2147, 101, "30H30M", rnext="=", pnext=101)),
        (sam("s", 147, 241, "60M", rnext="=", pnext=101, tlen=-200),
         sam("s", 147, 241, "40M20S", rnext="=", pnext=121, tlen=-160)),
    ])
    assert c.stats.not_primary == 2 and c.stats.reads == 2


def test_unmapped_mate_follows_its_clipped_mate(named):
    check(named, [
        (sam("m", 73, 101, "60M", rnext="=", pnext=101), sam("m", 73, 121, "20S40M", rnext="=", pnext=121)),
        (sam("m", 133, 101, "*", rnext="=", pnext=101).replace("\t*\t*\t", "\tACGT\tIIII\t"),
         sam("m", 133, 121, "*", rnext="=", pnext=121).replace("\t*\t*\t", "\tACGT\tIIII\t")),
    ])


def test_primers_given_by_strand_and_placed_in_amplicons(tmp_path, named):
    """Primers on the minus strand by column 6 (no _LEFT/_RIGHT), placed by the amplicon BED; a pair whose read 1
    is the reverse read: the same records as with named primers."""
    (tmp_path / "p.bed").write_text("chr1\t280\t300\tR1\t0\t-\nchr1\t100\t120\tF1\t0\t+\n")
    (tmp_path / "a.bed").write_text("chr1\t100\t300\tamp1\n")
    by_strand = read_primer_bed(tmp_path / "p.bed", tmp_path / "a.bed")
    assert [(p.name, p.left, p.amplicon) for p in by_strand.primers] == [("R1", False, "amp1"), ("F1", True, "amp1")]
    pair = [(sam("x", 83, 241, "60M", "MC:Z:60M", rnext="=", pnext=101, tlen=-200),
             sam("x", 83, 241, "40M20S", "MC:Z:20S40M", rnext="=", pnext=121, tlen=-160)),
            (sam("x", 163, 101, "60M", "MC:Z:60M", rnext="=", pnext=241, tlen=200),
             sam("x", 163, 121, "20S40M", "MC:Z:40M20S", rnext="=", pnext=241, tlen=160))]
    for scheme in (by_strand, named):
        assert check(scheme, pair).stats.per_amplicon["amp1"].clipped == 2


def test_tiled_amplicons_clip_only_their_own_primers(tmp_path):
    """amp2 starts inside amp1: a read of amp1 ending on amp2's LEFT primer keeps those (template) bases,
    a read of amp2 starting there loses them."""
    (tmp_path / "p.bed").write_text("chr1\t100\t120\tamp1_LEFT\nchr1\t280\t300\tamp1_RIGHT\n"
                                    "chr1\t200\t220\tamp2_LEFT\nchr1\t380\t400\tamp2_RIGHT\n")
    scheme = read_primer_bed(tmp_path / "p.bed")
    check(scheme, [(sam("a", 0, 101, "115M"), sam("a", 0, 121, "20S95M")),        # ends at 215, in amp2_LEFT
                   (sam("b", 0, 201, "60M"), sam("b", 0, 221, "20S40M"))])


def test_md_without_matching_cigar_is_removed_not_guessed(named):
    check(named, [(sam("n", 0, 101, "60M", "NM:i:2", "MD:Z:10"), sam("n", 0, 121, "20S40M")),
                  (sam("w", 0, 101, "60M", "NM:i:2"), sam("w", 0, 121, "20S40M"))])


@pytest.mark.parametrize("cigar, n, expected", [
    ([(0, 50)], 10, ([(4, 10), (0, 40)], 10, 10)),
    ([(5, 3), (4, 2), (0, 50)], 10, ([(5, 3), (4, 12), (0, 40)], 10, 10)),
    ([(0, 10), (1, 3), (2, 4), (0, 30)], 10, ([(4, 13), (0, 30)], 14, 13)),
    ([(0, 10)], 10, None),
    ([(0, 5), (4, 20)], 6, None),
])
def test_clip_start_cases(cigar, n, expected):
    assert clip_start(cigar, n) == expected
    if expected is not None:
        rev = clip_end(cigar[::-1], n)
        assert rev == (expected[0][::-1], expected[1], expected[2])


def test_trim_md():
    assert trim_md("5A3^CG0T10", 0, 0, 22) == ("5A3^CG0T10", 4)
    assert trim_md("5A3^CG0T10", 6, 0, 22) == ("3^CG0T10", 3)
    assert trim_md("5A3^CG0T10", 0, 11, 22) == ("5A3^CG0", 3)
    assert trim_md("5A3^CG0T10", 0, 0, 21) is None          # MD of another alignment
    assert trim_md("5A3", 0, 0, 10) is None and trim_md("5Q!", 0, 0, 7) is None


# ---------------------------------------------------------------- primer files

@pytest.mark.parametrize("text, message", [
    ("chr1\t100\t120\n", r"p.bed:1: a primer line needs contig, start, end and name"),
    ("chr1\tx\t120\ta_LEFT\n", r"p.bed:1: primer start/end must be integers"),
    ("chr1\t120\t100\ta_LEFT\n", r"p.bed:1: empty or negative primer interval"),
    ("chr1\t100\t120\ta_LEFT\t0\t*\n", r"p.bed:1: strand '\*' of primer a_LEFT is not"),
    ("chr1\t100\t120\tfwd1\n", r"p.bed:1: cannot tell which end of its amplicon primer fwd1 is at"),
    ("chr1\t100\t120\ta_RIGHT\t0\t+\n", r"p.bed:1: primer a_RIGHT is named RIGHT but is on the \+ strand"),
    ("chr1\t100\t120\ta_LEFT\nchr1\t280\t300\ta_LEFT\n", r"p.bed:2: primer name a_LEFT is also used on line 1"),
    ("chr1\t100\t120\ta_LEFT\n", r"p.bed: amplicon a has no RIGHT primer"),
    ("chr1\t100\t120\ta_RIGHT\nchr1\t280\t300\ta_LEFT\n", r"amplicon a has a RIGHT primer before its LEFT primer"),
    ("chr1\t100\t120\ta_LEFT\nchr3\t280\t300\ta_RIGHT\n", r"the primers of amplicon a are on different contigs"),
    ("chr1\t100\t120\tF\t0\t+\n", r"p.bed:1: primer F does not name its amplicon"),
    ("# nothing\n", r"p.bed: primer BED has no primers"),
])
def test_malformed_primer_bed_is_one_line_naming_file_and_line(tmp_path, text, message):
    (tmp_path / "p.bed").write_text(text)
    with pytest.raises(FormatError, match=message) as exc:
        read_primer_bed(tmp_path / "p.bed")
    assert "\n" not in str(exc.value)


def test_primer_outside_the_amplicons_and_amplicons_without_primers(tmp_path):
    (tmp_path / "a.bed").write_text("chr1\t100\t300\tamp1\nchr1\t500\t700\tamp2\n")
    (tmp_path / "p.bed").write_text("chr1\t100\t120\tL\t0\t+\nchr1\t280\t300\tR\t0\t-\nchr1\t450\t470\tX\t0\t+\n")
    with pytest.raises(FormatError, match=r"p.bed:3: primer X \(chr1:451-470\) lies in no amplicon of .*a.bed"):
        read_primer_bed(tmp_path / "p.bed", tmp_path / "a.bed")
    (tmp_path / "p.bed").write_text("chr1\t100\t120\tL\t0\t+\nchr1\t280\t300\tR\t0\t-\n")
    with pytest.raises(FormatError, match=r"amplicon amp2 has no LEFT primer"):
        read_primer_bed(tmp_path / "p.bed", tmp_path / "a.bed")
    with pytest.raises(InputFileError, match="missing.bed: primer BED not found"):
        read_primer_bed(tmp_path / "missing.bed")


def test_primer_lengths(tmp_path):
    assert parse_primer_length("20") == (20, 20) and parse_primer_length("18,22") == (18, 22)
    for bad in ("0", "a", "1,2,3", "", "-3", "5,0"):
        with pytest.raises(FormatError, match="--primer-length"):
            parse_primer_length(bad)
    scheme = primers_from_lengths(BED, 18, 22)
    ex23 = [p for p in scheme.primers if p.amplicon == "ALK_ex23"]
    assert [(p.name, p.start, p.end, p.left) for p in ex23] == [("ALK_ex23_LEFT", 29220676, 29220694, True),
                                                                ("ALK_ex23_RIGHT", 29220843, 29220865, False)]
    (tmp_path / "short.bed").write_text("chr2\t100\t130\tshort\n")
    with pytest.raises(FormatError, match=r"short.bed: amplicon short \(30 bp\) is too short for primers of 18 \+ 22"):
        primers_from_lengths(tmp_path / "short.bed", 18, 22)
    with pytest.raises(FormatError, match="needs the amplicon BED"):
        load_primers(primer_length="20")
    with pytest.raises(FormatError, match="not both"):
        load_primers(primers=BED, primer_length="20")


# ---------------------------------------------------------------- clip_bam and the command line

@pytest.fixture(scope="module")
def primed(tmp_path_factory):
    """The shipped panel with 20-base primers at both ends of every amplicon (chr2 coordinates)."""
    tmp = tmp_path_factory.mktemp("primed")
    sim = simulate(SLICE, BED, tmp / "p.bam", pairs_per_amplicon=300, primer_length=20, run_seed=3, sample_seed=4,
                   softclip_fraction=0.0, contig_length={"chr2": 242193529}, fastq=str(tmp / "p"))
    return sim


def test_clip_bam_clips_every_simulated_read(primed, tmp_path):
    out = str(tmp_path / "c.bam")
    stats = clip_bam(primed.bam, out, load_primers(amplicons=BED, primer_length="20"))
    assert (stats.reads, stats.off_target, stats.primer_only, stats.mate_missing) == (2400, 0, 0, 0)
    assert stats.clipped == 2400 and stats.bases_clipped >= 2400 * 20
    with pysam.AlignmentFile(out) as fh:
        assert fh.header["HD"]["SO"] == "coordinate" and "deepamp-clip" in [p["ID"] for p in fh.header["PG"]]
        reads = list(fh.fetch("chr2"))               # indexed
    assert len(reads) == 2400
    starts = {(r.reference_name, r.reference_start) for r in reads if not r.is_reverse}
    ends = {r.reference_end for r in reads if r.is_reverse}
    amps = [line.split("\t") for line in BED.read_text().splitlines()]
    assert starts <= {("chr2", int(a[1]) + 20) for a in amps} | {("chr2", int(a[1]) + 20 + k) for a in amps for k in (1, 2)}
    assert all(any(int(a[2]) - 22 <= e <= int(a[2]) - 20 for a in amps) for e in ends)
    by_name: dict[str, list[pysam.AlignedSegment]] = {}
    for r in reads:
        by_name.setdefault(r.query_name, []).append(r)
    for a, b in by_name.values():                       # mates point at each other's clipped alignment
        assert a.next_reference_start == b.reference_start and a.get_tag("MC") == b.cigarstring
        assert a.template_length == -b.template_length != 0


def test_clip_errors_leave_no_output(primed, tmp_path, capsys):
    out = tmp_path / "o.bam"
    (tmp_path / "other.bed").write_text("2\t29220676\t29220696\tx_LEFT\n2\t29220845\t29220865\tx_RIGHT\n")
    assert main(["clip", primed.bam, "-o", str(out), "--primers", str(tmp_path / "other.bed")]) == 1
    err = capsys.readouterr().err
    assert "has primers of" in err and "(chr2, not 2)" in err and err.count("\n") == 1
    (tmp_path / "x.bam").write_text("not a bam")
    assert main(["clip", str(tmp_path / "x.bam"), "-o", str(out), "-l", str(BED), "--primer-length", "20"]) == 1
    assert "x.bam: cannot read it as SAM/BAM" in capsys.readouterr().err
    for args, words in ((["-o", str(out)], "give the primers"),
                        (["-o", str(out), "--primer-length", "20"], "needs the amplicons"),
                        (["-o", str(out), "--primer-length", "0", "-l", str(BED)], "--primer-length"),
                        (["-o", str(out), "--primer-length", "20", "--primers", str(BED)], "not allowed with")):
        assert main(["clip", primed.bam, *args]) == 2
        assert words in capsys.readouterr().err
    assert sorted(os.listdir(tmp_path)) == ["other.bed", "x.bam"]


def test_cli_clip(primed, tmp_path, capsys):
    out = tmp_path / "c.bam"
    assert main(["clip", primed.bam, "-o", str(out), "-l", str(BED), "--primer-length", "20", "--verbose"]) == 0
    err = capsys.readouterr().err
    assert "primer clipping: 2,400 reads, 2,400 clipped" in err and "ALK_ex23: 600 reads" in err
    assert (tmp_path / "c.bam.bai").is_file()


@pytest.mark.aligners
def test_align_clips_primers_before_sorting(primed, tmp_path, capsys):
    out = tmp_path / "a.bam"
    assert main(["align", "-f", str(SLICE), "-1", primed.fastq[0], "-2", primed.fastq[1], "-o", str(out),
                 "-l", str(BED), "--primer-length", "20", "--index-cache", str(tmp_path / "cache")]) == 0
    assert "primer clipping: 2,400 reads, 2,400 clipped" in capsys.readouterr().err
    with pysam.AlignmentFile(str(out)) as fh:
        assert [p["ID"] for p in fh.header["PG"]][:3] == ["bwa", "deepamp-lift", "deepamp-clip"]
        reads = list(fh.fetch("chr2"))
    assert all(r.cigartuples[0 if not r.is_reverse else -1] == (4, 20) for r in reads)


# ---------------------------------------------------------------- the effect on a spike under a primer

# two tiled amplicons on the slice: amp_b starts inside amp_a, so the last 20 bases of amp_a (its RIGHT primer)
# are template in amp_b's reads.  The spike sits under amp_a's RIGHT primer.
AMP_A = Amplicon("chr2", 29220676, 29220865, "tile_a")
AMP_B = Amplicon("chr2", 29220760, 29220960, "tile_b")
UNDER = 29220855                                  # 1-based, inside amp_a's RIGHT primer 29220846-29220865


def test_spike_under_a_primer_reads_its_vaf_only_when_clipped(tmp_path):
    with pysam.FastaFile(str(SLICE)) as fa:
        ref = fa.fetch(fa.references[0], UNDER - 29191796, UNDER - 29191795)
    alt = "A" if ref != "A" else "C"
    bed = tmp_path / "tiles.bed"
    bed.write_text(f"chr2\t{AMP_A.start0}\t{AMP_A.end0}\ttile_a\nchr2\t{AMP_B.start0}\t{AMP_B.end0}\ttile_b\n")
    sim = simulate(SLICE, [AMP_A, AMP_B], tmp_path / "t.bam", pairs_per_amplicon=4000, primer_length=20,
                   spikes=[Spike("chr2", UNDER, ref, alt, 0.05)], run_seed=11, sample_seed=12,
                   contig_length={"chr2": 242193529})
    clipped = str(tmp_path / "c.bam")
    clip_bam(sim.bam, clipped, load_primers(amplicons=bed, primer_length="20"))
    vafs = {}
    for name, bam in (("raw", sim.bam), ("clipped", clipped)):
        vcf = str(tmp_path / f"{name}.vcf")
        assert main(["call", "--quiet", "-f", str(SLICE), "-r", f"chr2:{UNDER - 5}-{UNDER + 5}", "-o", vcf, bam]) == 0
        with pysam.VariantFile(vcf) as vf:
            hit = [r for r in vf if r.pos == UNDER and r.alts == (alt,)]
        vafs[name] = (hit[0].info["AF"][0], hit[0].info["DP"]) if hit else (0.0, 0)
    assert vafs["clipped"][0] == pytest.approx(0.05, abs=0.012)
    assert vafs["raw"][0] == pytest.approx(0.025, abs=0.008)           # diluted by amp_a's primer bases
    assert vafs["raw"][1] > 1.8 * vafs["clipped"][1]
