"""Tests of deepamp.phase: exact fragment tables on hand-written SAM, cis/trans/undetermined
on simulated amplicons, the CLI end to end, and bad input."""

from __future__ import annotations

import argparse
import gzip
from pathlib import Path

import pysam
import pytest

from conftest import sam_header, sam_to_bam
from deepamp.cli import main
from deepamp.errors import IndexFileError, InputFileError, RegionError
from deepamp.cli.phase import configure as configure_parser, run
from deepamp.phase import PhaseVariant, classify, hypergeom_tails, longest_fragment, phase_pairs
from deepamp.io.reference import Reference
from deepamp.simulate import Amplicon, Spike, simulate

DATA = Path(__file__).resolve().parents[1] / "src" / "deepamp" / "data"
REF = DATA / "ALK_hg38_chr2_29191796-29223795.fa"
EX22 = Amplicon("chr2", 29222301, 29222455, "ALK_ex22")
EX23 = Amplicon("chr2", 29220676, 29220865, "ALK_ex23")

# ---------------------------------------------------------------------------
# golden SAM: sites A = pos0 10 (A>G), B = pos0 30 (C>T) on chrT
# ---------------------------------------------------------------------------
REFSEQ = ("ACGTTGCAGT" "A" "CCGATGGTACGTAGGCTA" "GC" "C" "GTTAGCATGCAACGTTGCATGCATGGCATTAGACG"
          "TTACGGATCCAGTTACAGCTAGGATCGATCG" * 3)[:200]
A0, B0 = 10, 30
assert REFSEQ[A0] == "A" and REFSEQ[B0] == "C"
SITE_A = PhaseVariant("chrT", A0 + 1, "A", "G")
SITE_B = PhaseVariant("chrT", B0 + 1, "C", "T")


def _read(qname: str, flag: int, pos0: int, length: int, mods: dict[int, str] | None = None,
          mate0: int | None = None, mapq: int = 60, cigar: str | None = None,
          lowq: tuple[int, ...] = ()) -> str:
    """One SAM line; ``mods`` maps reference pos0 -> base, ``lowq`` = reference pos0 given quality 2."""
    seq = list(REFSEQ[pos0:pos0 + length])
    qual = ["I"] * length
    for p, base in (mods or {}).items():
        seq[p - pos0] = base
    for p in lowq:
        qual[p - pos0] = "#"
    rnext, pnext = ("=", mate0 + 1) if mate0 is not None else ("*", 0)
    return "\t".join(map(str, [qname, flag, "chrT", pos0 + 1, mapq, cigar or f"{length}M", rnext, pnext, 0,
                               "".join(seq), "".join(qual)]))


def _golden(tmp_path: Path) -> str:
    alt = {A0: "G", B0: "T"}
    lines = [
        # f1: both mates alt/alt -> alt/alt (one fragment, not two)
        _read("f1", 99, 0, 40, alt, 5), _read("f1", 147, 5, 40, alt, 0),
        # f2: ref/ref, mate 2 covers B only
        _read("f2", 99, 0, 40, None, 20), _read("f2", 147, 20, 40, None, 0),
        # f3: no single read spans both sites; mate 1 alt at A, mate 2 ref at B -> alt/ref
        _read("f3", 99, 0, 20, {A0: "G"}, 25), _read("f3", 147, 25, 40, None, 0),
        # f4: overlapping mates disagree at A (G vs A), agree on alt at B -> none/alt, 1 discordant
        _read("f4", 99, 0, 40, alt, 5), _read("f4", 147, 5, 40, {B0: "T"}, 0),
        # f5: unpaired read ref/alt
        _read("f5", 0, 0, 40, {B0: "T"}),
        # f6: A below min_bq (and B not covered) in mate 1; mate 2 ref at B -> none/ref
        _read("f6", 99, 0, 20, {A0: "G"}, 25, lowq=(A0,)), _read("f6", 147, 25, 40, None, 0),
        # f7: duplicate pair alt/alt -> excluded
        _read("f7", 99 | 0x400, 0, 40, alt, 5), _read("f7", 147 | 0x400, 5, 40, alt, 0),
        # f8: deletion over A -> other/ref
        _read("f8", 0, 0, 39, None, cigar="10M1D29M").replace(
            "\t" + REFSEQ[0:39] + "\t", "\t" + REFSEQ[0:10] + REFSEQ[11:40] + "\t"),
        # f9: low MAPQ read alt/alt -> excluded
        _read("f9", 0, 0, 40, alt, mapq=5),
        # f10: A soft-clipped, B ref -> none/ref
        _read("f10", 0, 12, 28, None, cigar="2S26M").replace("\tchrT\t13\t", "\tchrT\t15\t"),
        # f11: other base at B (G), ref at A -> ref/other
        _read("f11", 0, 0, 40, {B0: "G"}),
        # f12: a read between the sites only (covers neither) -> not counted
        _read("f12", 0, 12, 15),
    ]
    return sam_to_bam(tmp_path, sam_header({"chrT": 200, "chrU": 100}) + "\n".join(lines) + "\n", "golden")


def test_golden_counts_fragments_not_reads(tmp_path):
    bam = _golden(tmp_path)
    (r,) = phase_pairs(bam, [SITE_A, SITE_B], min_mapq=20, min_bq=20)
    t = r.table   # [allele at A][allele at B]: ref, alt, other, none
    assert t == [[1, 1, 1, 0],     # ref/ref f2, ref/alt f5, ref/other f11
                 [1, 1, 0, 0],     # alt/ref f3 (joined from two mates), alt/alt f1
                 [1, 0, 0, 0],     # other/ref f8 (deletion)
                 [2, 1, 0, 0]]     # none/ref f6 + f10, none/alt f4 (discordant mates at A)
    assert r.spanning == 4 and r.a_only == 0 and r.b_only == 3 and r.other == 2
    assert r.discordant == 1
    assert r.stats["mates_joined"] == 4                   # f1, f2, f3, f4
    assert r.relation == "undetermined"


def test_golden_filters_change_counts(tmp_path):
    bam = _golden(tmp_path)
    # duplicates and low MAPQ admitted: f7 and f9 add two alt/alt fragments
    (r,) = phase_pairs(bam, [SITE_A, SITE_B], min_mapq=0, min_bq=20, flag_exclude=0)
    assert r.alt_alt == 3
    # min_bq 0: f6's low-quality alt at A now counts -> alt/ref
    (r,) = phase_pairs(bam, [SITE_A, SITE_B], min_mapq=20, min_bq=0)
    assert r.alt_ref == 2 and r.table[3][0] == 1


# ---------------------------------------------------------------------------
# statistics
# ---------------------------------------------------------------------------

def test_hypergeom_tails_match_scipy():
    stats = pytest.importorskip("scipy.stats")
    for n11, a, b, n in [(0, 40, 60, 500), (3, 40, 60, 500), (12, 40, 60, 500), (5, 5, 5, 2000)]:
        up, low = hypergeom_tails(n11, a, b, n)
        assert up == pytest.approx(stats.hypergeom.sf(n11 - 1, n, a, b), rel=1e-9, abs=1e-300)
        assert low == pytest.approx(stats.hypergeom.cdf(n11, n, a, b), rel=1e-9, abs=1e-300)


def test_classify_rules():
    assert classify([[1000, 400], [600, 0]])[0] == "trans"
    assert classify([[1000, 0], [0, 500]])[0] == "cis"
    # rare alleles, no co-occurrence: P(0 | independence) is large -> cannot call trans
    assert classify([[1990, 5], [5, 0]])[0] == "undetermined"
    # two alt/alt among 400 minor-allele fragments are tolerated as errors (2% of 400 = 8)
    assert classify([[1000, 400], [600, 2]])[0] == "trans"
    assert classify([[1000, 400], [600, 2]], max_trans_fraction=0.0)[0] == "undetermined"
    assert classify([[1, 0], [0, 1]])[0] == "undetermined"


# ---------------------------------------------------------------------------
# simulation: cis, trans, undetermined
# ---------------------------------------------------------------------------

def _base(pos: int) -> str:
    ref = Reference(str(REF))
    try:
        return ref.fetch("chr2", pos - 1, pos)
    finally:
        ref.close()


def _alt(ref: str) -> str:
    return {"A": "G", "C": "T", "G": "A", "T": "C"}[ref]


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("phase_sim")
    pos = {"cis1": 29220747, "cis2": 29220790, "tr1": 29220720, "tr2": 29220810, "far": 29222380}
    groups = {"cis1": ("g1", 0.10), "cis2": ("g1", 0.06), "tr1": ("g2", 0.15), "tr2": ("g3", 0.12),
              "far": ("g1", 0.10)}
    spikes, variants = [], {}
    for name, p in pos.items():
        r = _base(p)
        spikes.append(Spike("chr2", p, r, _alt(r), groups[name][1], molecule_group=groups[name][0]))
        variants[name] = PhaseVariant("chr2", p, r, _alt(r))
    res = simulate(str(REF), [EX22, EX23], str(tmp / "sim.bam"), pairs_per_amplicon=3000,
                   spikes=spikes, sample_seed=7)
    return res.bam, variants, tmp


def _find(results, a, b):
    for r in results:
        if {r.a, r.b} == {a, b}:
            return r
    raise AssertionError(f"pair {a} {b} not phased")


def test_simulated_cis_trans_undetermined(simulated):
    bam, v, _ = simulated
    results = phase_pairs(bam, list(v.values()), max_distance=2000)
    cis = _find(results, v["cis1"], v["cis2"])
    assert cis.relation == "cis" and cis.p_cis < 1e-10
    assert cis.alt_alt > 100 and cis.ref_alt <= 2        # cis2 sits on a subset of cis1's molecules
    assert cis.ps == min(v["cis1"].pos, v["cis2"].pos)
    trans = _find(results, v["tr1"], v["tr2"])
    assert trans.relation == "trans" and trans.alt_alt == 0 and trans.p_trans < 1e-10
    assert trans.spanning > 2500 and trans.ps is None
    assert _find(results, v["cis1"], v["tr1"]).relation == "trans"
    far = _find(results, v["cis1"], v["far"])         # different amplicons: no fragment spans both
    assert far.relation == "undetermined" and far.spanning == 0 and far.a_only > 2500
    # beyond --max-distance a pair is still reported: undetermined, spanning 0, with a note
    short = phase_pairs(bam, list(v.values()), max_distance=200)
    assert len(short) == len(results) == 10
    far200 = _find(short, v["cis1"], v["far"])
    assert far200.relation == "undetermined" and far200.spanning == 0 and far200.a_only == 0
    assert "not counted (max distance 200 bp)" in far200.note
    assert _find(short, v["cis1"], v["cis2"]).relation == "cis"


def test_default_max_distance_is_the_longest_fragment(simulated):
    bam, v, _ = simulated
    longest = longest_fragment(bam, list(v.values()))
    with pysam.AlignmentFile(bam) as fh:   # independent: every read of the BAM
        want = max(max(abs(r.template_length), r.reference_length or 0) for r in fh if not r.flag & 0xF04)
    assert longest == want and 150 <= longest < 29222380 - 29220747
    results = phase_pairs(bam, list(v.values()))          # default: derived from the data
    far = _find(results, v["cis1"], v["far"])
    assert far.relation == "undetermined" and far.spanning == 0
    assert f"no fragment at the sites is longer than {longest} bp" in far.note
    assert _find(results, v["tr1"], v["tr2"]).relation == "trans"   # 90 bp apart: counted


def test_few_spanning_fragments_are_undetermined(tmp_path):
    # cis in truth, but only two fragments span both sites (short fragments)
    lines = [_read("s1", 0, 0, 40, {A0: "G", B0: "T"}), _read("s2", 0, 0, 40, None)]
    lines += [_read(f"a{i}", 0, 0, 20, {A0: "G"} if i < 5 else None) for i in range(30)]
    lines += [_read(f"b{i}", 0, 25, 20, {B0: "T"} if i < 5 else None) for i in range(30)]
    bam = sam_to_bam(tmp_path, sam_header({"chrT": 200}) + "\n".join(lines) + "\n", "short")
    (r,) = phase_pairs(bam, [SITE_A, SITE_B])
    assert r.relation == "undetermined" and r.spanning == 2 and r.a_only == 30 and r.b_only == 30


# ---------------------------------------------------------------------------
# CLI
# ---------------------------------------------------------------------------

def _write_vcf(path: Path, variants, extra: str = "") -> str:
    lines = ["##fileformat=VCFv4.2", "##contig=<ID=chr2,length=242193529>",
             '##INFO=<ID=AF,Number=A,Type=Float,Description="Allele Frequency">',
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    body = [f"{v.contig}\t{v.pos}\t.\t{v.ref}\t{v.alt}\t100\tPASS\tAF=0.1" for v in variants]
    body += [line for line in extra.splitlines() if line]
    lines += sorted(body, key=lambda line: int(line.split("\t")[1]))
    path.write_text("\n".join(lines) + "\n")
    return str(path)


def test_cli_end_to_end(simulated, tmp_path):
    bam, v, _ = simulated
    vcf = _write_vcf(tmp_path / "calls.vcf", sorted(v.values(), key=lambda x: x.pos),
                     extra="chr2\t29220760\t.\tCTG\tC\t50\tPASS\tAF=0.01\n")
    out, tsv, ann = tmp_path / "phased.vcf.gz", tmp_path / "pairs.tsv", tmp_path / "phase_ann.tsv"
    rc = main(["phase", "-i", vcf, "-o", str(out), "--tsv", str(tsv), "--annotate-tsv", str(ann),
               "--max-distance", "2000", bam])
    assert rc == 0
    assert Path(str(out) + ".tbi").exists()
    with pysam.VariantFile(str(out)) as vf:
        assert "PS" in vf.header.info and "PHASE" in vf.header.info
        recs = {r.pos: r for r in vf}
    assert len(recs) == 6                                    # the deletion is kept, unphased
    assert recs[29220760].info.get("PHASE") is None
    c1, c2 = v["cis1"], v["cis2"]
    assert recs[c1.pos].info["PS"] == recs[c2.pos].info["PS"] == min(c1.pos, c2.pos)
    assert "PS" not in recs[v["tr1"].pos].info
    tr = recs[v["tr1"].pos].info["PHASE"]
    assert any(x.startswith(v["tr2"].label() + ":trans:spanning=") for x in tr)
    assert any(x.startswith(v["far"].label() + ":undetermined:spanning=0") for x in recs[c1.pos].info["PHASE"])
    rows = [line.split("\t") for line in tsv.read_text().splitlines()]
    assert rows[0][0] == "chrom" and len(rows) == 1 + 10     # 5 SNVs -> 10 pairs within 2000 bp
    rel = {(int(r[1]), int(r[4])): r[8] for r in rows[1:]}
    assert rel[(min(c1.pos, c2.pos), max(c1.pos, c2.pos))] == "cis"
    # the annotate-format file is accepted by `deepamp annotate --phase`
    from deepamp.annotate.vcf_annotation import read_phase as _read_phase
    phases = _read_phase(str(ann))
    assert phases and all(r in ("cis", "trans", "undetermined") for _, _, r in phases)
    assert ("T1211A", "G1202R", "trans") in phases
    assert main(["annotate", "-o", str(tmp_path / "ann"), "--phase", str(ann), str(out)]) == 0
    assert "T1211A" in (tmp_path / "ann.json").read_text()
    # plain VCF output and gzip sanity
    assert main(["phase", "-i", vcf, "-o", str(tmp_path / "p.vcf"), bam]) == 0
    assert (tmp_path / "p.vcf").read_text().count("PHASE=") >= 4
    with gzip.open(out, "rt") as fh:
        assert any(line.startswith("##INFO=<ID=PHASE") for line in fh)


def _args(bam: str, vcf: str, out: str) -> argparse.Namespace:
    p = argparse.ArgumentParser()
    configure_parser(p)
    return p.parse_args(["-i", vcf, "-o", out, bam])


def test_bad_input(simulated, tmp_path):
    bam, v, _ = simulated
    vcf = _write_vcf(tmp_path / "calls.vcf", [v["tr1"], v["tr2"]])
    with pytest.raises(InputFileError, match="VCF not found"):
        run(_args(bam, str(tmp_path / "missing.vcf"), str(tmp_path / "o.vcf")))
    with pytest.raises(InputFileError, match="not found"):
        run(_args(str(tmp_path / "missing.bam"), vcf, str(tmp_path / "o.vcf")))
    # BAM without its index
    noidx = tmp_path / "noidx.bam"
    noidx.write_bytes(Path(bam).read_bytes())
    with pytest.raises(IndexFileError):
        run(_args(str(noidx), vcf, str(tmp_path / "o.vcf")))
    # variants on a contig the BAM does not have
    other = _write_vcf(tmp_path / "chr6.vcf", [PhaseVariant("chr6", 117390000, "A", "G"),
                                                PhaseVariant("chr6", 117390050, "C", "T")])
    other_text = (tmp_path / "chr6.vcf").read_text().replace("ID=chr2,", "ID=chr6,")
    (tmp_path / "chr6.vcf").write_text(other_text)
    with pytest.raises(RegionError, match="chr6"):
        run(_args(bam, other, str(tmp_path / "o.vcf")))
    assert main(["phase", "-i", other, "-o", str(tmp_path / "o.vcf"), bam]) == 1
    assert not (tmp_path / "o.vcf").exists()
    # not a VCF
    junk = tmp_path / "junk.vcf"
    junk.write_text("this is not a vcf\n")
    with pytest.raises(Exception):
        run(_args(bam, str(junk), str(tmp_path / "o.vcf")))
    assert not (tmp_path / "o.vcf").exists()
    # a position beyond the contig end
    with pytest.raises(RegionError):
        phase_pairs(bam, [("chr2", 242193529 + 5, "A", "G"), ("chr2", 242193529 + 6, "A", "G")])
    with pytest.raises(ValueError, match="only SNVs"):
        phase_pairs(bam, [("chr2", 29220747, "CT", "C")])
