"""Tests of deepamp.simulate: spike-ins, determinism, run-level artefacts, BAM layout, errors."""

from __future__ import annotations

import argparse
import math
import os
from collections import Counter
from pathlib import Path

import pysam
import pytest

from deepamp.errors import FormatError, InputFileError, OutputError, RegionError
from deepamp.io.reference import Reference
from deepamp.cli import main
from deepamp.cli.simulate import configure as configure_parser, run
from deepamp.simulate import Amplicon, RunErrorProfile, Spike, parse_spike, read_spikes_tsv, simulate

DATA = Path(__file__).resolve().parents[1] / "src" / "deepamp" / "data"
REF = DATA / "ALK_hg38_chr2_29191796-29223795.fa"
BED = DATA / "alk_exons22-25_amplicons.bed"

EX23 = Amplicon("chr2", 29220676, 29220865, "ALK_ex23")
EX25 = Amplicon("chr2", 29209754, 29209910, "ALK_ex25")

G1202R = Spike("chr2", 29220747, "C", "T", 0.02)
G1269A = Spike("chr2", 29209816, "C", "G", 0.01)
DEL3 = Spike("chr2", 29220770, "ATGA", "A", 0.01)
INS2 = Spike("chr2", 29222392, "C", "CAG", 0.015)


def carriers(bam: pysam.AlignmentFile, s: Spike) -> tuple[set[str], int]:
    """(names of fragments with a read showing the ALT allele, reads covering the site)."""
    names: set[str] = set()
    depth = 0
    pos0 = s.pos - 1
    for read in bam.fetch(s.contig, pos0, pos0 + 1):
        if read.reference_start > pos0 or read.reference_end <= pos0 + len(s.ref) - 1:
            continue
        depth += 1
        if len(s.ref) == len(s.alt):
            seq = read.query_sequence
            for qp, rp in read.get_aligned_pairs(matches_only=True):
                if rp == pos0 and seq[qp] == s.alt:
                    names.add(read.query_name)
            continue
        rpos, qpos = read.reference_start, 0
        for op, n in read.cigartuples:
            if op == 2 and len(s.ref) > len(s.alt) and rpos == pos0 + 1 and n == len(s.ref) - 1:
                names.add(read.query_name)
            if (op == 1 and len(s.alt) > len(s.ref) and rpos == pos0 + 1
                    and read.query_sequence[qpos:qpos + n] == s.alt[1:]):
                names.add(read.query_name)
            if op in (0, 2, 3, 7, 8):
                rpos += n
            if op in (0, 1, 4, 7, 8):
                qpos += n
    return names, depth


def within_binomial(k: float, n: int, p: float, z: float = 5.0, slack: float = 0.0) -> bool:
    return abs(k - n * p) <= z * math.sqrt(n * p * (1 - p)) + slack


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory):
    """The demo panel at the default 25,000 pairs per amplicon (its speed is a benchmark)."""
    out = tmp_path_factory.mktemp("panel") / "tumour.bam"
    res = simulate(REF, BED, out, pairs_per_amplicon=25000,
                   spikes=[G1202R, G1269A, DEL3, INS2], run_seed=7, sample_seed=11)
    return res, None


def test_panel_outputs(panel_run):
    res, _ = panel_run
    assert res.n_pairs == 100000 and res.n_reads == 200000
    assert os.path.exists(res.bam) and os.path.exists(res.bai) and os.path.exists(res.truth)
    assert os.path.getmtime(res.bai) >= os.path.getmtime(res.bam)
    assert [p.name for p in Path(res.bam).parent.iterdir()
            if p.name.startswith(".")] == []  # no temp files left


def test_bam_sorted_indexed_header(panel_run):
    res, _ = panel_run
    with pysam.AlignmentFile(res.bam) as bam:
        hdr = bam.header.to_dict()
        assert hdr["HD"]["SO"] == "coordinate"
        assert hdr["SQ"] == [{"SN": "chr2", "LN": 29223795}]
        assert hdr["RG"][0]["ID"] == "tumour" and hdr["RG"][0]["SM"] == "tumour"
        assert hdr["PG"][0]["PN"] == "deepamp"
        assert bam.check_index()
        assert bam.mapped == 200000
        last = -1
        for read in bam.fetch(until_eof=True):
            assert read.reference_start >= last
            last = read.reference_start
            assert read.get_tag("RG") == "tumour"
        # The index answers region queries per amplicon.
        assert bam.count("chr2", 29220676, 29220865) == 50000


def test_pairs_overlap_and_both_orientations(panel_run):
    res, _ = panel_run
    read1_reverse = 0
    mates: dict[str, list[pysam.AlignedSegment]] = {}
    with pysam.AlignmentFile(res.bam) as bam:
        for read in bam.fetch("chr2", 29220676, 29220865):
            mates.setdefault(read.query_name, []).append(read)
    assert len(mates) == 25000
    mapq = Counter()
    for name, pair in mates.items():
        assert len(pair) == 2, name
        fwd, rev = sorted(pair, key=lambda r: r.is_reverse)
        assert not fwd.is_reverse and rev.is_reverse
        assert fwd.is_proper_pair and rev.is_proper_pair and fwd.is_paired
        assert fwd.is_read1 != rev.is_read1
        assert fwd.next_reference_start == rev.reference_start
        assert rev.next_reference_start == fwd.reference_start
        # Forward read starts at the amplicon start, reverse read ends at its end.
        assert fwd.reference_start == EX23.start0
        assert rev.reference_end == EX23.end0
        assert fwd.template_length == EX23.length == -rev.template_length
        # 189 bp amplicon, 2x150 reads: mates overlap by ~111 bp.
        assert fwd.reference_end - rev.reference_start > 80
        assert fwd.query_length == rev.query_length == 150
        read1_reverse += rev.is_read1
        mapq[fwd.mapping_quality] += 1
    assert 0.45 < read1_reverse / 25000 < 0.55
    assert mapq[60] > 0.99 * 25000


def test_spikes_observed_at_requested_vaf(panel_run):
    res, _ = panel_run
    truth = {(r.pos, r.alt): r for r in res.truth_records}
    with pysam.AlignmentFile(res.bam) as bam:
        for s in (G1202R, G1269A, DEL3, INS2):
            rec = truth[(s.pos, s.alt)]
            assert rec.fragments == 25000
            assert rec.expected_alt_fragments == pytest.approx(s.vaf * 25000)
            assert within_binomial(rec.observed_alt_fragments, 25000, s.vaf)
            names, depth = carriers(bam, s)
            assert depth > 45000  # both mates cover every spike
            if len(s.ref) == len(s.alt):
                # SNVs: sequencing errors can add a few false ALT fragments.
                assert rec.observed_alt_fragments - 5 <= len(names) <= rec.observed_alt_fragments + 40
            else:
                # Indels outside homopolymers are exact.
                assert len(names) == rec.observed_alt_fragments, s
            # Read-level VAF among covering reads.
            alt_reads = sum(1 for r in bam.fetch(s.contig, s.pos - 1, s.pos) if r.query_name in names)
            assert within_binomial(alt_reads / depth * 25000, 25000, s.vaf, slack=25)


def test_truth_tsv(panel_run):
    res, _ = panel_run
    lines = Path(res.truth).read_text().splitlines()
    assert lines[0].split("\t") == ["#contig", "pos", "ref", "alt", "vaf", "fragments",
                                     "expected_alt_fragments", "observed_alt_fragments",
                                     "molecule_group"]
    rows = [line.split("\t") for line in lines[1:]]
    assert len(rows) == 4
    row = next(r for r in rows if r[1] == "29220770")
    assert row[:6] == ["chr2", "29220770", "ATGA", "A", "0.01", "25000"]
    assert float(row[6]) == 250.0
    assert int(row[7]) == next(r.observed_alt_fragments for r in res.truth_records if r.pos == 29220770)
    assert row[8] == "."


def test_deterministic(tmp_path):
    kw = dict(pairs_per_amplicon=3000, spikes=[G1202R, DEL3], run_seed=3, sample_seed=4, sample="S")
    a = simulate(REF, [EX23, EX25], tmp_path / "a.bam", **kw)
    (tmp_path / "b").mkdir()
    b = simulate(REF, [EX23, EX25], tmp_path / "b" / "a.bam", **kw)
    assert Path(a.bam).read_bytes() == Path(b.bam).read_bytes()
    assert Path(a.truth).read_text() == Path(b.truth).read_text()
    kw["sample_seed"] = 5
    c = simulate(REF, [EX23, EX25], tmp_path / "c.bam", **kw)
    with pysam.AlignmentFile(a.bam) as fa, pysam.AlignmentFile(c.bam) as fc:
        ra = [r.to_string() for r in fa.fetch(until_eof=True)]
        rc = [r.to_string() for r in fc.fetch(until_eof=True)]
    assert len(ra) == len(rc) == 12000
    assert ra != rc


def _hotspot_alt_reads(bam_path: str, hot) -> tuple[int, int]:
    """(ALT reads at the hot spots, ALT reads for the same changes on the unaffected strand)."""
    on = off = 0
    with pysam.AlignmentFile(bam_path) as bam:
        for h in hot:
            for col in bam.pileup(h.contig, h.pos - 1, h.pos, truncate=True, min_base_quality=0,
                                  stepper="nofilter", ignore_overlaps=False, max_depth=10**6):
                for pr in col.pileups:
                    if pr.is_del or pr.is_refskip:
                        continue
                    read = pr.alignment
                    if read.query_sequence[pr.query_position] != h.alt:
                        continue
                    strand = "-" if read.is_reverse else "+"
                    if h.level == "molecule":
                        r1_strand = strand if read.is_read1 else "+-"[strand == "+"]
                        affected = r1_strand == h.strand
                    else:
                        affected = strand == h.strand and h.read in (0, 1 if read.is_read1 else 2)
                    on += affected
                    off += not affected
    return on, off


def test_run_seed_shares_hotspots(tmp_path):
    amps = [EX23, EX25]
    kw = dict(pairs_per_amplicon=6000)
    a = simulate(REF, amps, tmp_path / "control.bam", run_seed=21, sample_seed=1, **kw)
    b = simulate(REF, amps, tmp_path / "tumour.bam", run_seed=21, sample_seed=2, **kw)
    c = simulate(REF, amps, tmp_path / "other_run.bam", run_seed=22, sample_seed=1, **kw)
    assert a.hotspots == b.hotspots
    assert a.hotspots != c.hotspots
    assert len(a.hotspots) >= 2 * len(amps)          # "a few per amplicon"
    assert all(0.003 <= h.rate <= 0.012 and h.strand in "+-" for h in a.hotspots)
    assert {h.kind for h in a.hotspots} >= {"oxoG"}
    # The artefacts are in the reads of both samples of run 21 ...
    on_a, off_a = _hotspot_alt_reads(a.bam, a.hotspots)
    on_b, off_b = _hotspot_alt_reads(b.bam, a.hotspots)
    expected = sum(h.rate * 6000 for h in a.hotspots)  # roughly: 2 reads x 1/2 of the class
    assert on_a > 0.5 * expected and on_b > 0.5 * expected
    # ... strand/read specific ...
    assert off_a < on_a / 3 and off_b < on_b / 3
    # ... and not in a sample of another run (same sites, same changes).
    on_c, off_c = _hotspot_alt_reads(c.bam, a.hotspots)
    assert on_c + off_c < (on_a + off_a) / 3


def test_profile_is_independent_of_panel():
    with Reference(REF) as ref:
        p1 = RunErrorProfile(ref, 5)
        p2 = RunErrorProfile(ref, 5)
        p2.hotspots("chr2", 29200000, 29210000)  # different access order / cache state
        assert p1.hotspots("chr2", EX23.start0, EX23.end0) == p2.hotspots("chr2", EX23.start0, EX23.end0)
        m = p1.site_multipliers("chr2", 29191795, 29223795)
        assert m.shape == (2, 32000) and 0.8 < m.mean() < 1.3
        assert (m[0] != m[1]).all()  # strand-specific background
        f = p1.cycle_factors(150)
        assert f[0, -1] > 3 * f[0, 0] and (f[1] > f[0]).all()
        homo = p1.homopolymers("chr2", EX23.start0, EX23.end0)
        assert any(h[1] == 6 and h[2] == 1 for h in homo)  # CCCCCC in exon 23
        assert all(h[3] > 0 and h[4] == h[3] / 2 for h in homo)


def test_error_rates_and_overconfident_quality(panel_run):
    res, _ = panel_run
    mismatches = bases = 0
    q37_err = q37 = 0
    with Reference(REF) as ref, pysam.AlignmentFile(res.bam) as bam:
        amp = Amplicon("chr2", 29213954, 29214113, "ALK_ex24")  # no spikes in exon 24
        refseq = ref.fetch(amp.contig, amp.start0, amp.end0)
        for i, read in enumerate(bam.fetch(amp.contig, amp.start0, amp.end0)):
            if i >= 6000:
                break
            seq, qual = read.query_sequence, read.query_qualities
            for qp, rp in read.get_aligned_pairs(matches_only=True):
                bad = seq[qp] != refseq[rp - amp.start0]
                bases += 1
                mismatches += bad
                if qual[qp] == 37:
                    q37 += 1
                    q37_err += bad
    rate = mismatches / bases
    assert 1e-3 <= rate <= 3.5e-3, rate
    # Q37 claims 2e-4; the true error of Q37 bases is several times higher.
    assert q37_err / q37 > 2.5 * 10 ** -3.7


def test_cis_and_trans_molecule_groups(tmp_path):
    cis_a = Spike("chr2", 29220743, "TCTC", "T", 0.05, "g1")
    cis_b = Spike("chr2", 29220800, "C", "CGA", 0.03, "g1")
    trans = Spike("chr2", 29220770, "ATGA", "A", 0.04, "g2")
    res = simulate(REF, [EX23], tmp_path / "phase.bam", pairs_per_amplicon=8000,
                   spikes=[cis_a, cis_b, trans], run_seed=1, sample_seed=9)
    with pysam.AlignmentFile(res.bam) as bam:
        a, _ = carriers(bam, cis_a)
        b, _ = carriers(bam, cis_b)
        t, _ = carriers(bam, trans)
    obs = {r.pos: r.observed_alt_fragments for r in res.truth_records}
    assert len(a) == obs[29220743] and len(b) == obs[29220800] and len(t) == obs[29220770]
    assert len(b) > 150 and len(t) > 200
    assert b <= a                 # cis: the lower-VAF spike rides on the same molecules
    assert not (t & a) and not (t & b)   # trans: never on the same molecule
    groups = {r.pos: r.molecule_group for r in res.truth_records}
    assert groups == {29220743: "g1", 29220800: "g1", 29220770: "g2"}


def test_ungrouped_spikes_are_trans_and_sum_checked(tmp_path):
    with pytest.raises(FormatError, match="sum to 1.1"):
        simulate(REF, [EX23], tmp_path / "x.bam", pairs_per_amplicon=100,
                 spikes=[Spike("chr2", 29220747, "C", "T", 0.6),
                         Spike("chr2", 29220765, "G", "T", 0.5)])
    assert list(tmp_path.iterdir()) == []   # nothing partial left behind


def test_hiseq_quality_model(tmp_path):
    res = simulate(REF, [EX25], tmp_path / "h.bam", pairs_per_amplicon=500, quality_model="hiseq")
    quals = Counter()
    first, last = [], []
    with pysam.AlignmentFile(res.bam) as bam:
        for read in bam.fetch(until_eof=True):
            q = list(read.query_qualities)
            quals.update(q)
            if not read.is_reverse:
                first.append(q[0])
                last.append(q[-1])
    assert max(quals) <= 41 and min(quals) >= 2 and len(quals) > 15
    assert sum(first) / len(first) > sum(last) / len(last) + 4   # per-cycle decline


def test_contig_length_and_amplicon_objects(tmp_path):
    res = simulate(REF, [EX25], tmp_path / "l.bam", pairs_per_amplicon=50,
                   contig_length={"chr2": 242193529})
    with pysam.AlignmentFile(res.bam) as bam:
        assert bam.header.get_reference_length("chr2") == 242193529
    with pytest.raises(RegionError, match="ALK_ex25 ends at 29209910, beyond the contig length 1000"):
        simulate(REF, [EX25], tmp_path / "m.bam", pairs_per_amplicon=50, contig_length=1000)
    with pytest.raises(RegionError, match="shorter than the reference"):
        simulate(REF, [EX25], tmp_path / "m.bam", pairs_per_amplicon=50, contig_length=29210000)


# ---------------------------------------------------------------------------
# Bad input
# ---------------------------------------------------------------------------

@pytest.mark.parametrize("spike, exc, words", [
    (Spike("chr2", 29220747, "G", "T", 0.01), FormatError, ["29220747", "does not match", str(REF)]),
    (Spike("chr2", 29215000, "A", "G", 0.01), RegionError, ["29215000", "any amplicon"]),
    (Spike("chr2", 29220747, "C", "T", 1.5), FormatError, ["VAF", "outside [0, 1]"]),
    (Spike("chr2", 29220747, "C", "T", -0.1), FormatError, ["VAF"]),
    (Spike("chr2", 29220743, "TCTC", "G", 0.1), FormatError, ["anchor"]),
    (Spike("chr2", 29220747, "C", "X", 0.1), FormatError, ["A/C/G/T"]),
    (Spike("chr6", 117317184, "C", "T", 0.1), RegionError, ["chr6", "not in the reference"]),
])
def test_bad_spikes(tmp_path, spike, exc, words):
    with pytest.raises(exc) as info:
        simulate(REF, [EX23, EX25], tmp_path / "bad.bam", pairs_per_amplicon=10, spikes=[spike])
    msg = str(info.value)
    assert "\n" not in msg
    for w in words:
        assert w in msg
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("text", ["chr2:29220747:C:T", "chr2:x:C:T:0.1", "chr2:29220747:C:T:abc",
                                  "chr2::C:T:0.1", "a:b:c:d:e:f:g"])
def test_malformed_spike_string(text):
    with pytest.raises(FormatError, match="--spike"):
        parse_spike(text)


def test_parse_spike_ok():
    assert parse_spike("chr2:29220747:c:t:0.01:g1") == Spike("chr2", 29220747, "C", "T", 0.01, "g1")
    assert parse_spike("chr2:29220747:C:T:1e-3").molecule_group is None


def test_spikes_tsv(tmp_path):
    good = tmp_path / "s.tsv"
    good.write_text("contig\tpos\tref\talt\tvaf\tgroup\n# comment\n"
                    "chr2\t29220747\tC\tT\t0.01\tg1\nchr2\t29209816\tC\tG\t0.02\t.\n")
    assert read_spikes_tsv(good) == [Spike("chr2", 29220747, "C", "T", 0.01, "g1"),
                                     Spike("chr2", 29209816, "C", "G", 0.02)]
    bad = tmp_path / "bad.tsv"
    bad.write_text("chr2\t29220747\tC\tT\n")
    with pytest.raises(FormatError, match=f"{bad}:1"):
        read_spikes_tsv(bad)
    bad.write_text("chr2\t29220747\tC\tT\t0.0l\n")
    with pytest.raises(FormatError, match=f"{bad}:1.*VAF"):
        read_spikes_tsv(bad)
    with pytest.raises(InputFileError, match="missing.tsv"):
        read_spikes_tsv(tmp_path / "missing.tsv")


def test_bad_bed_and_amplicons(tmp_path):
    with pytest.raises(InputFileError, match="nope.bed"):
        simulate(REF, tmp_path / "nope.bed", tmp_path / "x.bam", pairs_per_amplicon=10)
    bed = tmp_path / "bad.bed"
    bed.write_text("chr2\t29220676\t29220865\tA\nchr2\t29220676\n")
    with pytest.raises(FormatError, match=f"{bed}:2"):
        simulate(REF, bed, tmp_path / "x.bam", pairs_per_amplicon=10)
    bed.write_text("chr2\t29220676\tx\tA\n")
    with pytest.raises(FormatError, match=f"{bed}:1.*integers"):
        simulate(REF, bed, tmp_path / "x.bam", pairs_per_amplicon=10)
    with pytest.raises(RegionError, match="outside the reference"):
        simulate(REF, [Amplicon("chr2", 100, 300, "far")], tmp_path / "x.bam", pairs_per_amplicon=10)
    with pytest.raises(RegionError, match="used twice"):
        simulate(REF, [EX23, EX23], tmp_path / "x.bam", pairs_per_amplicon=10)
    with pytest.raises(ValueError, match="quality_model"):
        simulate(REF, [EX23], tmp_path / "x.bam", pairs_per_amplicon=10, quality_model="pacbio")
    with pytest.raises(ValueError, match="pairs_per_amplicon"):
        simulate(REF, [EX23], tmp_path / "x.bam", pairs_per_amplicon=0)


def test_unwritable_output(tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    with pytest.raises(OutputError, match="file.txt"):
        simulate(REF, [EX23], blocker / "out.bam", pairs_per_amplicon=10)
    with pytest.raises(OutputError, match="does not exist"):
        simulate(REF, [EX23], tmp_path / "no" / "dir" / "out.bam", pairs_per_amplicon=10)


# ---------------------------------------------------------------------------
# CLI glue
# ---------------------------------------------------------------------------

def _parse(argv):
    parser = argparse.ArgumentParser(prog="deepamp simulate")
    configure_parser(parser)
    return parser.parse_args(argv)


def test_cli_run(tmp_path, capsys):
    tsv = tmp_path / "spikes.tsv"
    tsv.write_text("chr2\t29209816\tC\tG\t0.02\n")
    out = tmp_path / "cli.bam"
    argv = ["-f", str(REF), "-l", str(BED), "-o", str(out), "--pairs", "200",
            "--spike", "chr2:29220747:C:T:0.05:g1", "--spikes-tsv", str(tsv),
            "--contig-length", "chr2=242193529", "--quality-model", "hiseq",
            "--run-seed", "4", "--seed", "8", "--sample", "P1"]
    assert main(["simulate", *argv]) == 0
    assert "800 pairs" in capsys.readouterr().err
    with pysam.AlignmentFile(out) as bam:
        assert bam.mapped == 1600
        assert bam.header.get_reference_length("chr2") == 242193529
        assert bam.header.to_dict()["RG"][0]["SM"] == "P1"
    truth = (tmp_path / "cli.truth.tsv").read_text().splitlines()
    assert len(truth) == 3 and truth[1].startswith("chr2\t29220747\tC\tT\t0.05\t200\t")


@pytest.mark.parametrize("extra, exc, words", [
    (["--spike", "chr2:29220747:C:T"], FormatError, ["--spike"]),
    (["--spike", "chr2:29220747:A:T:0.1"], FormatError, ["does not match"]),
    (["--spike", "chr2:29220747:C:T:2"], FormatError, ["VAF"]),
    (["--spikes-tsv", "/nonexistent/s.tsv"], InputFileError, ["/nonexistent/s.tsv"]),
    (["--contig-length", "chr2=abc"], FormatError, ["--contig-length"]),
])
def test_cli_bad_input(tmp_path, extra, exc, words):
    args = _parse(["-f", str(REF), "-l", str(BED), "-o", str(tmp_path / "o.bam"), "--pairs", "10",
                   *extra])
    with pytest.raises(exc) as info:
        run(args)
    for w in words:
        assert w in str(info.value)


def test_cli_invalid_value_is_a_usage_error(tmp_path, capsys):
    assert main(["simulate", "-f", str(REF), "-l", str(BED), "-o", str(tmp_path / "o.bam"), "--pairs", "0"]) == 2
    err = capsys.readouterr().err
    assert "--pairs" in err and err.count("\n") == 1


def test_cli_unwritable_output(tmp_path):
    args = _parse(["-f", str(REF), "-l", str(BED), "-o", str(tmp_path / "missing" / "o.bam")])
    with pytest.raises(OutputError, match="missing"):
        run(args)


# ---------------------------------------------------------------------------
# FASTQ output
# ---------------------------------------------------------------------------

def _fastq(path: str) -> list[tuple[str, str, str]]:
    import gzip

    with gzip.open(path, "rt") as fh:
        lines = fh.read().splitlines()
    assert len(lines) % 4 == 0 and all(x == "+" for x in lines[2::4])
    return [(h[1:], s, q) for h, s, q in zip(lines[0::4], lines[1::4], lines[3::4])]


def test_fastq_pairs_are_the_reads_as_sequenced(tmp_path):
    kw = dict(pairs_per_amplicon=400, spikes=[G1202R], run_seed=3, sample_seed=4, sample="S")
    plain = simulate(REF, [EX23, EX25], tmp_path / "plain.bam", **kw)
    res = simulate(REF, [EX23, EX25], tmp_path / "s.bam", fastq=str(tmp_path / "s"), **kw)
    assert res.fastq == (str(tmp_path / "s_R1.fastq.gz"), str(tmp_path / "s_R2.fastq.gz"))
    # asking for FASTQs changes nothing in the BAM
    assert Path(res.bam).read_bytes() == Path(plain.bam).read_bytes()
    r1, r2 = _fastq(res.fastq[0]), _fastq(res.fastq[1])
    assert len(r1) == len(r2) == 800
    assert [n for n, _, _ in r1] == [n for n, _, _ in r2]          # same order, names without /1 /2
    assert not any(n.endswith(("/1", "/2")) for n, _, _ in r1)
    expect: dict[tuple[str, int], tuple[str, str]] = {}
    with pysam.AlignmentFile(res.bam) as bam:
        for read in bam.fetch(until_eof=True):
            qual = "".join(chr(q + 33) for q in read.get_forward_qualities())
            expect[(read.query_name, 1 if read.is_read1 else 2)] = (read.get_forward_sequence(), qual)
    got = {(n, 1): (s, q) for n, s, q in r1} | {(n, 2): (s, q) for n, s, q in r2}
    assert got == expect
    # read 1 is the reverse read in about half of the pairs: those were reverse-complemented back
    with pysam.AlignmentFile(res.bam) as bam:
        rev_r1 = sum(r.is_read1 and r.is_reverse for r in bam.fetch(until_eof=True))
    assert 300 < rev_r1 < 500
    again = simulate(REF, [EX23, EX25], tmp_path / "again.bam", fastq=str(tmp_path / "again"), **kw)
    assert Path(again.fastq[0]).read_bytes() == Path(res.fastq[0]).read_bytes()


def test_fastq_outputs_appear_with_the_bam_or_not_at_all(tmp_path):
    out = tmp_path / "o.bam"
    with pytest.raises(OutputError, match="missing"):
        simulate(REF, [EX23], out, pairs_per_amplicon=10, fastq=str(tmp_path / "missing" / "o"))
    assert os.listdir(tmp_path) == []
    (tmp_path / "d").mkdir()
    with pytest.raises(OutputError, match="prefix"):
        simulate(REF, [EX23], out, pairs_per_amplicon=10, fastq=str(tmp_path / "d"))
    assert os.listdir(tmp_path) == ["d"]


def test_cli_fastq(tmp_path, capsys):
    out = tmp_path / "c.bam"
    assert main(["simulate", "-f", str(REF), "-l", str(BED), "-o", str(out), "--pairs", "50",
                 "--fastq", str(tmp_path / "c")]) == 0
    assert "c_R1.fastq.gz" in capsys.readouterr().err
    assert len(_fastq(str(tmp_path / "c_R2.fastq.gz"))) == 200
    assert main(["simulate", "-f", str(REF), "-l", str(BED), "-o", str(tmp_path / "x_R1.fastq.gz"),
                 "--pairs", "5", "--fastq", str(tmp_path / "x")]) == 1
    assert "two outputs" in capsys.readouterr().err


# ---------------------------------------------------------------------------
# Primer footprints
# ---------------------------------------------------------------------------

def test_primer_bases_come_from_the_oligo(tmp_path):
    """With primer_length, the first 20 and last 25 bases of every molecule are the reference: the template's
    polymerase errors stop at the primers, a spike under a primer is in no read, and the truth says so."""
    res = simulate(REF, [EX23], tmp_path / "p.bam", pairs_per_amplicon=1500, primer_length=(20, 25),
                   pcr_error_rate=0.02, q2_tail_fraction=0.0, softclip_fraction=0.0, run_seed=3, sample_seed=4)
    with Reference(REF) as ref:
        seq = ref.fetch("chr2", EX23.start0, EX23.end0)
    mism = {"primer": [0, 0], "template": [0, 0]}
    with pysam.AlignmentFile(res.bam) as bam:
        for read in bam.fetch(until_eof=True):
            q = read.query_sequence
            for qp, rp in read.get_aligned_pairs(matches_only=True):
                where = "primer" if rp < EX23.start0 + 20 or rp >= EX23.end0 - 25 else "template"
                mism[where][0] += q[qp] != seq[rp - EX23.start0]
                mism[where][1] += 1
    primer_rate, template_rate = (m / n for m, n in mism.values())
    assert template_rate > 0.015 and primer_rate < 0.004
    with pytest.raises(RegionError, match="not inside the sequenced part of any amplicon outside its primers"):
        simulate(REF, [EX23], tmp_path / "q.bam", pairs_per_amplicon=10, primer_length=20,
                 spikes=[Spike("chr2", 29220680, "T", "A", 0.1)])
    with pytest.raises(RegionError, match="too short for primers of 100 \\+ 100"):
        simulate(REF, [EX23], tmp_path / "q.bam", pairs_per_amplicon=10, primer_length=100)
    with pytest.raises(ValueError, match="primer_length"):
        simulate(REF, [EX23], tmp_path / "q.bam", pairs_per_amplicon=10, primer_length=(-1, 3))
