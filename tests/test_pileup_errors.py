"""Bad inputs raise the specific deepamp.errors class, naming the file."""
from __future__ import annotations

import gzip
import os
import random

import pysam
import pytest

from conftest import ref_fasta, sam_header, sam_to_bam

from deepamp.counting import bam as pileup
from deepamp.io.regions import Region
from deepamp.errors import (DeepampError, FormatError, IndexFileError, InputFileError,
                            ReferenceFileError, RegionError, TruncatedFileError, UnsortedError)

CONTIGS = {"chr1": 2000, "chr2": 1000}
REF = {"chr1": "ACGT" * 500, "chr2": "TTGCA" * 200}


def _records(n=3000):
    out = []
    for i in range(n):
        pos = 10 + (i * 1800) // n
        out.append(f"r{i}\t0\tchr1\t{pos}\t60\t50M\t*\t0\t0\t{'ACGTA' * 10}\t{'I' * 50}")
    return out


@pytest.fixture
def good_bam(tmp_path):
    return sam_to_bam(tmp_path, sam_header(CONTIGS) + "\n".join(_records()))


def _raises(exc, path, fn, *args, **kw):
    with pytest.raises(exc) as info:
        fn(*args, **kw)
    assert os.fspath(path) in str(info.value), str(info.value)
    assert isinstance(info.value, DeepampError)
    return info.value


def test_good_bam_counts(good_bam):
    assert pileup.count(good_bam, "chr1:100-200").depth.sum() > 0


def test_missing_file(tmp_path):
    missing = tmp_path / "nope.bam"
    _raises(InputFileError, missing, pileup.count, missing, "chr1:1-10")
    _raises(InputFileError, missing, pileup.count_coverage, missing, "chr1", 0, 10)


def test_not_a_bam(tmp_path):
    txt = tmp_path / "notes.bam"
    txt.write_text("this is not a BAM file\n")
    err = _raises(InputFileError, txt, pileup.count, txt, "chr1:1-10")
    assert not isinstance(err, (IndexFileError, TruncatedFileError))


def test_gzip_but_not_bam(tmp_path):
    gz = tmp_path / "text.bam"
    with gzip.open(gz, "wt") as fh:
        fh.write("hello\n" * 100)
    _raises(InputFileError, gz, pileup.count, gz, "chr1:1-10")


def test_truncated_in_half(good_bam):
    size = os.path.getsize(good_bam)
    with open(good_bam, "r+b") as fh:
        fh.truncate(size // 2)
    os.utime(good_bam + ".bai")                 # keep the index fresh: only the data is bad
    err = _raises(InputFileError, good_bam, pileup.count, good_bam, "chr1:1-2000")
    assert type(err) in (TruncatedFileError, InputFileError)


# Regions in different 16 kb index bins of a longer contig, so that with two
# or more threads the second half of the file (cut away below) is decoded by a
# worker thread while the main thread counts: the failure has to cross threads.
LONG = 70_000
SPLIT = [Region("chrL", b, b + 500) for b in (1_000, 17_000, 33_000, 50_000)]


@pytest.fixture
def long_bam(tmp_path):
    recs = [f"r{i}\t0\tchrL\t{1 + i * 10}\t60\t50M\t*\t0\t0\t{'ACGTA' * 10}\t{'I' * 50}"
            for i in range(LONG // 10 - 10)]
    return sam_to_bam(tmp_path, sam_header({"chrL": LONG}) + "\n".join(recs))


@pytest.mark.parametrize("threads", [2, 3, 8])
def test_truncation_fails_alike_for_any_thread_count(long_bam, threads):
    assert pileup.count(long_bam, SPLIT, threads=threads).depth.sum() == \
        pileup.count(long_bam, SPLIT, threads=1).depth.sum() > 0
    size = os.path.getsize(long_bam)
    with open(long_bam, "r+b") as fh:
        fh.truncate(size // 2)
    os.utime(long_bam + ".bai")
    one = _raises(InputFileError, long_bam, pileup.count, long_bam, SPLIT, threads=1)
    many = _raises(InputFileError, long_bam, pileup.count, long_bam, SPLIT, threads=threads)
    assert (type(many), str(many)) == (type(one), str(one))


def _strip_eof(good_bam):
    eof = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
    data = open(good_bam, "rb").read()
    assert data.endswith(eof)
    with open(good_bam, "wb") as fh:
        fh.write(data[:-len(eof)])
    os.utime(good_bam + ".bai")


def test_missing_eof_block_is_an_input_error(good_bam):
    _strip_eof(good_bam)
    _raises(InputFileError, good_bam, pileup.count, good_bam, "chr1:1-2000")


def test_missing_eof_block(good_bam):
    _strip_eof(good_bam)
    _raises(TruncatedFileError, good_bam, pileup.count, good_bam, "chr1:1-2000")


def test_missing_index(good_bam):
    os.unlink(good_bam + ".bai")
    _raises(IndexFileError, good_bam, pileup.count, good_bam, "chr1:1-100")


def test_stale_index(good_bam):
    st = os.stat(good_bam)
    os.utime(good_bam + ".bai", (st.st_atime - 100, st.st_mtime - 100))
    _raises(IndexFileError, good_bam, pileup.count, good_bam, "chr1:1-100")


def test_queryname_sorted(tmp_path):
    bam = sam_to_bam(tmp_path, sam_header(CONTIGS, so="queryname") + "\n".join(_records(10)),
                     sort=False, index=False)
    # an index cannot be built for it, give it a fresh one from a sorted copy
    ok = sam_to_bam(tmp_path, sam_header(CONTIGS) + "\n".join(_records(10)), name="ok")
    os.replace(ok + ".bai", bam + ".bai")
    _raises(UnsortedError, bam, pileup.count, bam, "chr1:1-100")


@pytest.mark.parametrize("so", ["unsorted", "unknown"])
def test_sorted_records_with_a_header_saying_unsorted_are_counted(tmp_path, good_bam, so):
    """samtools sorts and indexes such files; the walk checks the order itself."""
    # _records() come in coordinate order: indexed as they are, the header kept
    bam = sam_to_bam(tmp_path, sam_header(CONTIGS, so=so) + "\n".join(_records()), name=so, sort=False)
    with pysam.AlignmentFile(bam) as af:
        assert af.header.to_dict()["HD"]["SO"] == so
    for threads in (1, 2):
        got = pileup.count(bam, "chr1:1-2000", threads=threads)
        want = pileup.count(good_bam, "chr1:1-2000", threads=threads)
        assert (got.counts == want.counts).all() and got.read_stats == want.read_stats


def _twin_bams(tmp_path, so, recs, bad_recs):
    """ok.bam (recs, indexed) and bad.bam (bad_recs, same header, same record
    lengths, stored uncompressed: the same byte layout) carrying ok's index, made fresh."""
    header = pysam.AlignmentHeader.from_text(sam_header(CONTIGS, so=so))
    paths = []
    for name, lines in (("ok", recs), ("bad", bad_recs)):
        path = str(tmp_path / f"{name}.bam")
        with pysam.AlignmentFile(path, "wb0", header=header) as out:   # no @PG line: same header
            for line in lines:
                out.write(pysam.AlignedSegment.fromstring(line, header))
        paths.append(path)
    ok, bam = paths
    pysam.index(ok)
    os.replace(ok + ".bai", bam + ".bai")
    later = os.path.getmtime(bam) + 5            # a fresh-looking index: only the order is wrong
    os.utime(bam + ".bai", (later, later))
    return bam


def test_out_of_order_records(tmp_path):
    """SO:unknown, records out of order, with an index built from a sorted twin."""
    recs = _records(400)
    # swap two records with identical length far apart, keeping byte offsets of blocks similar
    bad_recs = recs[:]
    bad_recs[100], bad_recs[300] = bad_recs[300], bad_recs[100]
    bam = _twin_bams(tmp_path, "unknown", recs, bad_recs)
    err = _raises(UnsortedError, bam, pileup.count, bam, "chr1:1-2000")
    assert "\n" not in str(err) and "out of coordinate order" in str(err)
    for threads in (2, 4):
        _raises(UnsortedError, bam, pileup.count, bam, "chr1:1-2000", threads=threads)


def test_out_of_order_records_header_saying_unsorted(tmp_path):
    """SO:unsorted is no reason to refuse a file, so the walk's own check is
    what stops a truly unsorted one: one line naming the file and the read."""
    recs = _records(400)
    bad_recs = recs[:]
    bad_recs[100], bad_recs[300] = bad_recs[300], bad_recs[100]
    bam = _twin_bams(tmp_path, "unsorted", recs, bad_recs)
    for threads in (1, 2):
        err = _raises(UnsortedError, bam, pileup.count, bam, "chr1:1-2000", threads=threads)
        assert "\n" not in str(err) and "read r101 at chr1:" in str(err) and "out of coordinate order" in str(err)


def test_cram_without_reference(tmp_path, good_bam):
    fa = ref_fasta(tmp_path, REF)
    cram = str(tmp_path / "reads.cram")
    pysam.view("-C", "-T", fa, "-o", cram, good_bam, catch_stdout=False)
    pysam.index(cram)
    _raises(ReferenceFileError, cram, pileup.count, cram, "chr1:1-100")
    assert pileup.count(cram, "chr1:100-200", reference=fa).depth.sum() > 0


def test_unknown_contig(good_bam):
    with pytest.raises(RegionError, match="chrZ"):
        pileup.count(good_bam, ["chr1:1-10", "chrZ:1-10"])
    with pytest.raises(RegionError, match="chrZ"):
        pileup.count(good_bam, "chrZ:1-10")


def test_unknown_contig_names_the_bam(good_bam):
    _raises(RegionError, good_bam, pileup.count, good_bam, "chrZ:1-10")


def test_unknown_contig_in_bed(tmp_path, good_bam):
    bed = tmp_path / "panel.bed"
    bed.write_text("chr1\t0\t10\nchrZ\t5\t10\n")
    _raises(RegionError, bed, pileup.count, good_bam, bed=bed)


def test_reference_length_mismatch(tmp_path, good_bam):
    fa = ref_fasta(tmp_path, {"chr1": REF["chr1"][:1500], "chr2": REF["chr2"]}, name="short")
    _raises(ReferenceFileError, fa, pileup.count, good_bam, "chr1:1-100", reference=fa)


@pytest.mark.parametrize("line,lineno", [("chr1\t10\n", 2), ("chr1\tten\t20\n", 2), ("chr1\t30\t20\n", 2)])
def test_malformed_bed(tmp_path, good_bam, line, lineno):
    bed = tmp_path / "bad.bed"
    bed.write_text("chr1\t0\t10\n" + line)
    _raises(FormatError, f"{bed}:{lineno}", pileup.count, good_bam, bed=bed)


def test_empty_region(good_bam):
    with pytest.raises(RegionError, match="empty"):
        pileup.count(good_bam, "chr1:100-50")
    with pytest.raises(RegionError, match="empty"):
        pileup.count_coverage(good_bam, "chr1", 50, 50)


def test_empty_region_names_the_bam(good_bam):
    _raises(RegionError, good_bam, pileup.count_coverage, good_bam, "chr1", 50, 50)


# ---------------------------------------------------------------- files that do not belong together

def _placed(contig, n, seed, length):
    """n 50M reads on contig, sorted, names unique to the seed."""
    rng = random.Random(seed)
    out = []
    for pos in sorted(rng.randint(1, length - 60) for _ in range(n)):
        out.append(f"s{seed}_{contig}_{pos}_{len(out)}\t0\t{contig}\t{pos}\t60\t50M\t*\t0\t0\t"
                   f"{'ACGTA' * 10}\t{'I' * 50}")
    return out


def _with_index_of(tmp_path, lines, other_lines, other_contigs=CONTIGS):
    """reads.bam (lines) carrying, freshly, the index of another BAM (other_lines)."""
    bam = sam_to_bam(tmp_path / "mine", sam_header(CONTIGS) + "\n".join(lines), name="reads")
    other = sam_to_bam(tmp_path / "other", sam_header(other_contigs) + "\n".join(other_lines), name="reads")
    os.replace(other + ".bai", bam + ".bai")
    os.utime(bam + ".bai", (os.path.getmtime(bam) + 5,) * 2)
    return bam


MINE = _placed("chr1", 2500, 1, 2000) + _placed("chr2", 1500, 2, 1000)


@pytest.mark.parametrize("other", [
    _placed("chr1", 1800, 3, 2000) + _placed("chr2", 1700, 4, 1000),   # same contigs, other reads
    _placed("chr1", 2500, 5, 2000),                                     # says chr2 has no reads
    _placed("chr2", 40, 6, 1000),                                       # says chr1 has no reads
])
def test_index_of_another_bam_is_refused(tmp_path, other):
    """Never counts: whatever region, whatever the index says is (not) there."""
    bam = _with_index_of(tmp_path, MINE, other)
    for region in ("chr1:1-2000", "chr1:900-1000", "chr2:1-1000", "chr2:500-510"):
        for threads in (1, 2):
            err = _raises(IndexFileError, bam, pileup.count, bam, region, threads=threads)
            assert "index does not match" in str(err) and "\n" not in str(err), str(err)


def test_index_of_a_bam_with_other_contigs_is_refused(tmp_path):
    bam = _with_index_of(tmp_path, MINE, _placed("chr1", 100, 7, 2000), dict(CONTIGS, chr3=500))
    err = _raises(IndexFileError, bam, pileup.count, bam, "chr1:1-2000")
    assert "for 3 contigs, the header has 2" in str(err)


def test_own_index_passes_the_check(tmp_path):
    bam = sam_to_bam(tmp_path, sam_header(dict(CONTIGS, chr3=500)) + "\n".join(MINE))   # chr3 empty
    for region in ("chr1:1-2000", "chr2:1-1000", "chr3:1-500"):
        pileup.count(bam, region)


def _cram(tmp_path, bam, seqs):
    """bam as CRAM (indexed) against a reference that is deleted afterwards, so
    that htslib cannot fall back on the header's UR."""
    made = ref_fasta(tmp_path / "made", seqs)
    cram = str(tmp_path / "reads.cram")
    pysam.view("-C", "-T", made, "-o", cram, bam, catch_stdout=False)
    pysam.index(cram)
    for f in os.listdir(tmp_path / "made"):
        os.unlink(tmp_path / "made" / f)
    return cram


@pytest.fixture
def no_reference_download(monkeypatch, tmp_path):
    """htslib looks references up by MD5 in REF_PATH (by default, a web service)."""
    monkeypatch.setenv("REF_PATH", str(tmp_path / "no-refs"))
    monkeypatch.setenv("REF_CACHE", str(tmp_path / "no-refs"))


def test_cram_with_another_reference(tmp_path, good_bam, no_reference_download):
    cram = _cram(tmp_path, good_bam, REF)
    other = ref_fasta(tmp_path / "other", {"chr1": "TGCA" * 500, "chr2": REF["chr2"]})
    err = _raises(ReferenceFileError, cram, pileup.count, cram, "chr1:1-2000", reference=other)
    msg = str(err)
    assert other in msg and "not the one the CRAM was written with" in msg and "MD5" in msg, msg


def test_cram_with_a_slice_reference(tmp_path, good_bam, no_reference_download):
    """A samtools-style slice record covers the region for deepamp, but htslib
    decodes CRAM against the whole contig by its header name."""
    cram = _cram(tmp_path, good_bam, REF)
    piece = ref_fasta(tmp_path / "slice", {"chr1:101-1900": REF["chr1"][100:1900], "chr2": REF["chr2"]})
    err = _raises(ReferenceFileError, cram, pileup.count, cram, "chr1:200-300", reference=piece)
    assert f"reference {piece} has no sequence named chr1" in str(err), str(err)


@pytest.mark.parametrize("fai_length", [1500, 2500])
def test_fai_with_a_wrong_length(tmp_path, good_bam, fai_length):
    """Blamed on the .fai, not on the BAM being of another build."""
    fa = ref_fasta(tmp_path, REF)
    fai = fa + ".fai"
    with open(fai) as fh:
        lines = fh.read().splitlines()
    lines[0] = "\t".join(["chr1", str(fai_length), *lines[0].split("\t")[2:]])
    with open(fai, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    err = _raises(ReferenceFileError, fai, pileup.count, good_bam, "chr1:1-100", reference=fa)
    assert "does not match" in str(err) and "build" not in str(err), str(err)
