#!/usr/bin/env python3
"""Generate a corpus of malformed deepamp inputs into a directory.

    python tests/make_malformed.py OUTDIR

writes the files and ``OUTDIR/manifest.json``: a list of cases, each with

    name     case name
    args     ``deepamp`` CLI arguments after the subcommand (paths absolute)
    api      keyword arguments of ``deepamp.counting.bam.count`` (bam, regions, bed, reference)
    command  "count" or "call"
    expect   name of the deepamp.errors class the API must raise, or "ok"
             (must succeed)
    risky    True when the input reaches the C core corrupted (run it in a subprocess)
    note     what is wrong with the input

BAM files are written byte by byte here (BAM records, BGZF blocks with zlib)
so that a corruption can be placed exactly; indexes come from
``samtools index`` (via pysam) on a well-formed twin with the same byte
layout, so the index stays structurally valid while the data is bad.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import struct
import sys
import zlib
from pathlib import Path

import pysam

EOF_BLOCK = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
CONTIG, CONTIG_LEN = "chr1", 2000
BLOCK_PAYLOAD = 0xff00          # bytes of uncompressed data per BGZF block
CIGAR_OPS = "MIDNSHP=X"
# "BAI\1" + 64 random bytes found by tests/test_malformed.py's first (unseeded)
# version: idx_read fails part-way and hts_idx_destroy then calls free() on an
# uninitialised bin pointer (SIGSEGV in __GI___libc_free).
HTSLIB_CRASHING_BAI = ("4241490104c22f33e06f16515e023222d7a73ca8194af7592ec75e71913a63a4"
                       "3f6fb8021c4249fb2675b8d9ccb121c3e3b22ce61bdafb9be84c5db3ca5aa13d87bda510")


def reference_seq(length: int = CONTIG_LEN, seed: int = 7) -> str:
    rng = random.Random(seed)
    return "".join(rng.choice("ACGT") for _ in range(length))


# ---------------------------------------------------------------- BGZF / BAM encoding

def bgzf_block(data: bytes, level: int = 6) -> bytes:
    """One BGZF block holding ``data`` (at most 64 KiB)."""
    comp = zlib.compressobj(level, zlib.DEFLATED, -15)
    payload = comp.compress(data) + comp.flush()
    bsize = len(payload) + 25
    header = struct.pack("<BBBBIBBHBBHH", 0x1F, 0x8B, 8, 4, 0, 0, 0xFF, 6, ord("B"), ord("C"), 2, bsize)
    return header + payload + struct.pack("<II", zlib.crc32(data) & 0xFFFFFFFF, len(data))


def bgzf(data: bytes, eof: bool = True, level: int = 6) -> bytes:
    blocks = [bgzf_block(data[i:i + BLOCK_PAYLOAD], level) for i in range(0, len(data), BLOCK_PAYLOAD)]
    return b"".join(blocks) + (EOF_BLOCK if eof else b"")


def bam_header(contigs: dict[str, int], so: str = "coordinate") -> bytes:
    text = f"@HD\tVN:1.6\tSO:{so}\n" + "".join(f"@SQ\tSN:{n}\tLN:{n_}\n" for n, n_ in contigs.items())
    out = b"BAM\x01" + struct.pack("<i", len(text)) + text.encode() + struct.pack("<i", len(contigs))
    for name, length in contigs.items():
        out += struct.pack("<i", len(name) + 1) + name.encode() + b"\0" + struct.pack("<i", length)
    return out


def reg2bin(beg: int, end: int) -> int:
    end -= 1
    for shift, offset in ((14, 4681), (17, 585), (20, 73), (23, 9), (26, 1)):
        if beg >> shift == end >> shift:
            return offset + (beg >> shift)
    return 0


def parse_cigar(cigar: str) -> list[tuple[int, int]]:
    ops, num = [], ""
    for ch in cigar:
        if ch.isdigit():
            num += ch
        else:
            ops.append((CIGAR_OPS.index(ch), int(num)))
            num = ""
    return ops


def ref_len(ops: list[tuple[int, int]]) -> int:
    return sum(n for op, n in ops if op < len(CIGAR_OPS) and CIGAR_OPS[op] in "MDN=X")


def bam_record(name: str, flag: int, tid: int, pos: int, mapq: int, cigar: str | list[tuple[int, int]],
               seq: str, qual: bytes | None = None, *, l_seq: int | None = None,
               mate: tuple[int, int] = (-1, -1)) -> bytes:
    """Encode one BAM record (``mate``: its mate's contig id and position).
    ``l_seq`` overrides the stored sequence length field without changing the
    bytes that follow (to forge inconsistent records)."""
    ops = parse_cigar(cigar) if isinstance(cigar, str) else cigar
    qual = qual if qual is not None else bytes([30] * len(seq))
    codes = {c: i for i, c in enumerate("=ACMGRSVTWYHKDBN")}
    packed = bytearray()
    for i in range(0, len(seq), 2):
        hi = codes[seq[i]]
        lo = codes[seq[i + 1]] if i + 1 < len(seq) else 0
        packed.append(hi << 4 | lo)
    end = pos + max(ref_len(ops), 1)
    body = struct.pack("<iiBBHHHiiii", tid, pos, len(name) + 1, mapq, reg2bin(max(pos, 0), max(end, 1)),
                       len(ops), flag, len(seq) if l_seq is None else l_seq, mate[0], mate[1], 0)
    body += name.encode() + b"\0"
    body += b"".join(struct.pack("<I", n << 4 | op) for op, n in ops)
    body += bytes(packed) + qual
    return struct.pack("<i", len(body)) + body


def good_records(ref: str, n: int = 3000, read_len: int = 50) -> list[bytes]:
    """n forward reads of read_len M tiled over the contig, names of equal length."""
    out = []
    for i in range(n):
        pos = 5 + (i * (len(ref) - read_len - 10)) // n
        out.append(bam_record(f"r{i:05d}", 0, 0, pos, 60, f"{read_len}M", ref[pos:pos + read_len]))
    return out


def write_bam(path: Path, header: bytes, records: list[bytes], eof: bool = True, level: int = 6) -> Path:
    path.write_bytes(bgzf(header + b"".join(records), eof=eof, level=level))
    return path


def index(path: Path) -> Path:
    pysam.index(str(path), catch_stdout=False)
    return Path(str(path) + ".bai")


def twin(path: Path, header: bytes, good: list[bytes], bad: list[bytes]) -> Path:
    """Write ``good`` to path, index it, then overwrite path with ``bad`` (same
    byte layout) and freshen the index so only the records are wrong.  Both
    are stored uncompressed (deflate level 0), so that the compressed blocks,
    and every offset the index holds, are the same in both files."""
    assert [len(r) for r in good] == [len(r) for r in bad], "twin records must keep the byte layout"
    write_bam(path, header, good, level=0)
    bai = index(path)
    write_bam(path, header, bad, level=0)
    os.utime(bai)
    return path


def write_fasta(path: Path, seqs: dict[str, str], index_it: bool = True) -> Path:
    with open(path, "w") as fh:
        for name, seq in seqs.items():
            fh.write(f">{name}\n")
            for i in range(0, len(seq), 60):
                fh.write(seq[i:i + 60] + "\n")
    if index_it:
        pysam.faidx(str(path))
    return path


def sam_bam(path: Path, sam_text: str) -> Path:
    """SAM text -> sorted, indexed BAM via samtools (for well-formed but odd records)."""
    sam = path.with_suffix(".sam")
    sam.write_text(sam_text)
    unsorted = path.with_suffix(".unsorted.bam")
    pysam.view("-b", "-o", str(unsorted), str(sam), catch_stdout=False)
    pysam.sort("-o", str(path), str(unsorted), catch_stdout=False)
    unsorted.unlink()
    index(path)
    return path


# ---------------------------------------------------------------- the corpus

def make_corpus(outdir: str | os.PathLike[str]) -> list[dict]:
    out = Path(outdir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    ref = reference_seq()
    fasta = write_fasta(out / "ref.fa", {CONTIG: ref})
    header = bam_header({CONTIG: CONTIG_LEN})
    region = f"{CONTIG}:1-{CONTIG_LEN}"
    cases: list[dict] = []

    def add(name, bam, expect, note, *, reference=fasta, regions=(region,), bed=None,
            command="count", risky=False):
        args = [str(bam)]
        for r in regions:
            args += ["-r", r]
        if bed is not None:
            args += ["-l", str(bed)]
        if reference is not None:
            args += ["-f", str(reference)]
        api = dict(bam=str(bam), regions=list(regions) or None,
                   bed=str(bed) if bed is not None else None,
                   reference=str(reference) if reference is not None else None)
        cases.append(dict(name=name, args=args, api=api, command=command, expect=expect,
                          risky=risky, note=note))

    good = good_records(ref)
    good_bam = write_bam(out / "good.bam", header, good)
    index(good_bam)
    add("good", good_bam, "ok", "well-formed control")
    add("good_call", good_bam, "ok", "well-formed control, call", command="call")

    # -------- BGZF level
    data = good_bam.read_bytes()
    blocks, off = [], 0
    while off < len(data):
        bsize = struct.unpack_from("<H", data, off + 16)[0] + 1
        blocks.append((off, bsize))
        off += bsize
    assert len(blocks) >= 4, "the good BAM must span several BGZF blocks"

    def variant(name: str, payload: bytes, idx_from: Path = good_bam) -> Path:
        p = out / f"{name}.bam"
        p.write_bytes(payload)
        shutil.copy(str(idx_from) + ".bai", str(p) + ".bai")
        os.utime(str(p) + ".bai")
        return p

    mid_off, mid_size = blocks[len(blocks) // 2]
    add("truncated_midblock", variant("truncated_midblock", data[:mid_off + mid_size // 2]),
        "TruncatedFileError", "file cut in the middle of a BGZF block", risky=True)
    add("no_eof_block", variant("no_eof_block", data[:-len(EOF_BLOCK)]),
        "TruncatedFileError", "end-of-file BGZF block dropped", risky=True)
    cut = blocks[-2][0]          # cut at a block boundary, then re-append the EOF marker
    add("truncated_at_block_with_eof", variant("truncated_at_block_with_eof", data[:cut] + EOF_BLOCK),
        "TruncatedFileError", "last data block removed but EOF marker kept; records end early",
        risky=True)
    bad = bytearray(data)
    bad[mid_off + 18 + mid_size // 3] ^= 0x5A
    add("corrupt_deflate", variant("corrupt_deflate", bytes(bad)),
        "TruncatedFileError", "one byte of a compressed block flipped (CRC/inflate failure)", risky=True)
    bad = bytearray(data)
    struct.pack_into("<I", bad, mid_off + mid_size - 8, 0xDEADBEEF)
    add("bad_crc", variant("bad_crc", bytes(bad)),
        "TruncatedFileError", "BGZF block CRC32 wrong", risky=True)
    bad = bytearray(data)
    struct.pack_into("<H", bad, mid_off + 16, 20)
    add("bad_bsize", variant("bad_bsize", bytes(bad)),
        "TruncatedFileError", "BGZF BSIZE field of a block too small", risky=True)
    add("header_only_no_eof", variant("header_only_no_eof", bgzf(header, eof=False)),
        "TruncatedFileError", "header block only, no EOF marker", risky=True)

    # -------- not BAM at all
    empty = out / "empty.bam"
    empty.write_bytes(b"")
    add("empty_file", empty, "InputFileError", "zero-byte BAM")
    vcf = out / "calls.vcf.bam"
    vcf.write_text("##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
                   "chr1\t10\t.\tA\tC\t50\tPASS\t.\n")
    add("vcf_as_bam", vcf, "InputFileError", "VCF text given as BAM")
    fq = out / "reads.fastq.bam"
    fq.write_text("@r1\nACGTACGT\n+\nIIIIIIII\n" * 10)
    add("fastq_as_bam", fq, "InputFileError", "FASTQ text given as BAM")
    fqgz = out / "reads.fastq.gz.bam"
    fqgz.write_bytes(bgzf(b"@r1\nACGTACGT\n+\nIIIIIIII\n" * 10))
    add("bgzf_fastq_as_bam", fqgz, "InputFileError", "bgzipped FASTQ given as BAM (gzip magic)",
        risky=True)
    vcfgz = out / "calls.vcf.gz"
    vcfgz.write_bytes(bgzf(vcf.read_bytes()))
    add("bgzf_vcf_as_bam", vcfgz, "InputFileError", "bgzipped VCF given as BAM", risky=True)
    add("missing_bam", out / "does_not_exist.bam", "InputFileError", "BAM path does not exist")

    # -------- index problems
    noidx = out / "no_index.bam"
    noidx.write_bytes(data)
    add("no_index", noidx, "IndexFileError", "BAM without .bai")
    stale = out / "stale_index.bam"
    stale.write_bytes(data)
    shutil.copy(str(good_bam) + ".bai", str(stale) + ".bai")
    st = os.stat(str(stale) + ".bai")
    os.utime(str(stale) + ".bai", (st.st_atime - 3600, st.st_mtime - 3600))
    add("stale_index", stale, "IndexFileError", "index older than the BAM")
    garbage_idx = out / "garbage_index.bam"
    garbage_idx.write_bytes(data)
    Path(str(garbage_idx) + ".bai").write_bytes(b"BAI\x01" + random.Random(11).randbytes(64))
    add("garbage_index", garbage_idx, "IndexFileError", "index file of (seeded) random bytes", risky=True)
    crash_idx = out / "htslib_crashing_index.bam"
    crash_idx.write_bytes(data)
    Path(str(crash_idx) + ".bai").write_bytes(bytes.fromhex(HTSLIB_CRASHING_BAI))
    add("htslib_crashing_index", crash_idx, "IndexFileError",
        "68-byte corrupt .bai on which htslib's hts_idx_load frees a wild pointer", risky=True)
    other = write_bam(out / "other.bam", header, good_records(ref, n=50))
    index(other)
    wrong_idx = out / "wrong_index.bam"
    wrong_idx.write_bytes(data)
    shutil.copy(str(other) + ".bai", str(wrong_idx) + ".bai")
    add("index_of_other_bam", wrong_idx, "IndexFileError", "fresh index that belongs to a different BAM",
        risky=True)

    # -------- sort order
    qname = sam_bam(out / "tmp_qn.bam", "@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:chr1\tLN:2000\n"
                    f"q1\t0\tchr1\t10\t60\t10M\t*\t0\t0\t{ref[9:19]}\tIIIIIIIIII\n")
    so_qn = out / "so_queryname.bam"
    write_bam(so_qn, bam_header({CONTIG: CONTIG_LEN}, so="queryname"), good[:100])
    shutil.copy(str(qname) + ".bai", str(so_qn) + ".bai")
    os.utime(str(so_qn) + ".bai")
    add("header_sorted_by_queryname", so_qn, "UnsortedError", "@HD SO:queryname")
    swapped = list(good)
    swapped[10], swapped[400] = swapped[400], swapped[10]     # same block, same record length
    add("records_out_of_order", twin(out / "records_out_of_order.bam", header, good, swapped),
        "UnsortedError", "SO:coordinate but two records swapped (index from the sorted twin)",
        risky=True)

    # -------- corrupted records (same byte layout as the twin, so the index is valid)
    def forged(name: str, i: int, rec: bytes, expect: str, note: str, **kw):
        recs = list(good)
        assert len(rec) == len(recs[i]), name
        recs[i] = rec
        add(name, twin(out / f"{name}.bam", header, good, recs), expect, note, risky=True, **kw)

    def pos_of(i: int) -> int:
        return struct.unpack_from("<i", good[i], 8)[0]

    p = pos_of(100)
    forged("cigar_longer_than_seq", 100,
           bam_record("r00100", 0, 0, p, 60, "60M", ref[p:p + 50]),
           "TruncatedFileError", "CIGAR 60M but 50 bases of sequence")
    forged("cigar_shorter_than_seq", 100,
           bam_record("r00100", 0, 0, p, 60, "40M", ref[p:p + 50]),
           "TruncatedFileError", "CIGAR 40M but 50 bases of sequence")
    forged("cigar_huge_length", 100,
           bam_record("r00100", 0, 0, p, 60, [(0, (1 << 28) - 1)], ref[p:p + 50]),
           "TruncatedFileError", "CIGAR op length 2^28-1 with 50 bases")
    forged("cigar_bad_op", 100,
           bam_record("r00100", 0, 0, p, 60, [(12, 50)], ref[p:p + 50]),
           "TruncatedFileError", "CIGAR operation code 12 (undefined)")
    forged("lseq_longer_than_record", 100,
           bam_record("r00100", 0, 0, p, 60, "50M", ref[p:p + 50], l_seq=5000),
           "TruncatedFileError", "l_seq 5000 but the record holds 50 bases (seq/qual mismatch)")
    forged("lseq_negative", 100,
           bam_record("r00100", 0, 0, p, 60, "50M", ref[p:p + 50], l_seq=-7),
           "TruncatedFileError", "negative l_seq")
    forged("lseq_shorter_than_record", 100,
           bam_record("r00100", 0, 0, p, 60, "50M", ref[p:p + 50], l_seq=20),
           "TruncatedFileError", "l_seq 20 with CIGAR 50M (qual/seq lengths disagree with the record)")
    forged("pos_beyond_contig_end", 2999,
           bam_record("r02999", 0, 0, 5000, 60, "50M", ref[-50:]),
           "ok", "a record at 5001 on a 2000 bp contig (last record, order kept): outside every region, "
           "so it counts nothing")
    forged("tid_out_of_range", 2999,
           bam_record("r02999", 0, 7, pos_of(2999), 60, "50M", ref[-50:]),
           "TruncatedFileError", "refID 7 with one @SQ line: a malformed record, one line naming the BAM")
    forged("negative_pos", 0,
           bam_record("r00000", 0, 0, -20, 60, "50M", ref[:50]),
           "ok", "first record at position -19: its bases before the contig start fall outside "
           "every region; those from position 1 on count as aligned")

    # -------- odd but legal records (samtools writes them)
    hdr = f"@HD\tVN:1.6\tSO:coordinate\n@SQ\tSN:{CONTIG}\tLN:{CONTIG_LEN}\n"

    def sam_case(name: str, lines: list[str], note: str, expect: str = "ok", **kw):
        body = [f"g{i}\t0\t{CONTIG}\t{101 + i}\t60\t50M\t*\t0\t0\t{ref[100 + i:150 + i]}\t{'I' * 50}"
                for i in range(20)]
        add(name, sam_bam(out / f"{name}.bam", hdr + "\n".join(body + lines) + "\n"), expect, note, **kw)

    sam_case("seq_star", [f"z1\t0\t{CONTIG}\t120\t60\t50M\t*\t0\t0\t*\t*"],
             "zero-length read: SEQ and QUAL '*'")
    sam_case("qual_star", [f"z2\t0\t{CONTIG}\t120\t60\t50M\t*\t0\t0\t{ref[119:169]}\t*"],
             "QUAL '*' (stored as 255)")
    sam_case("qual_star_call", [f"z2\t0\t{CONTIG}\t120\t60\t50M\t*\t0\t0\t{ref[119:169]}\t*"],
             "QUAL '*' (stored as 255), call", command="call")
    ins = "".join(random.Random(3).choice("ACGT") for _ in range(20000))
    sam_case("huge_insertion",
             [f"z3\t0\t{CONTIG}\t121\t60\t25M20000I25M\t*\t0\t0\t{ref[120:145]}{ins}{ref[145:170]}\t{'I' * 20050}"],
             "20 kb insertion (25M20000I25M)")
    sam_case("huge_deletion",
             [f"z4\t0\t{CONTIG}\t121\t60\t25M1500D25M\t*\t0\t0\t{ref[120:145]}{ref[1645:1670]}\t{'I' * 50}"],
             "1.5 kb deletion spanning chunk-free positions")
    sam_case("all_softclipped", [f"z5\t0\t{CONTIG}\t130\t60\t50S\t*\t0\t0\t{ref[129:179]}\t{'I' * 50}"],
             "read entirely soft-clipped")
    sam_case("hardclip_pad_only", [f"z6\t0\t{CONTIG}\t130\t60\t5H3P5H\t*\t0\t0\t*\t*"],
             "CIGAR of H and P only, no sequence")
    sam_case("read_past_contig_end",
             [f"z7\t0\t{CONTIG}\t1981\t60\t50M\t*\t0\t0\t{ref[1980:]}{'A' * 30}\t{'I' * 50}"],
             "read aligned past the end of the contig: the bases past the end fall outside every region",
             expect="ok")
    sam_case("iupac_read_bases", [f"z8\t0\t{CONTIG}\t120\t60\t10M\t*\t0\t0\tRYKMSWNBDH\tIIIIIIIIII"],
             "IUPAC codes in the read sequence")

    # -------- CRAM
    cram = out / "reads.cram"
    pysam.view("-C", "-T", str(fasta), "-o", str(cram), str(good_bam), catch_stdout=False)
    pysam.index(str(cram), catch_stdout=False)
    add("cram_without_reference", cram, "ReferenceFileError", "CRAM and no -f", reference=None)

    # -------- reference problems
    add("ref_length_mismatch", good_bam, "ReferenceFileError", "FASTA contig 1500 bp, BAM says 2000",
        reference=write_fasta(out / "short_ref.fa", {CONTIG: ref[:1500]}))
    add("ref_missing_contig", good_bam, "ReferenceFileError", "FASTA lacks chr1",
        reference=write_fasta(out / "other_contig.fa", {"chrX": ref}))
    add("ref_missing_file", good_bam, "ReferenceFileError", "FASTA path does not exist",
        reference=out / "nope.fa")
    empty_fa = out / "empty.fa"
    empty_fa.write_text("")
    add("ref_empty_file", good_bam, "ReferenceFileError", "zero-byte FASTA", reference=empty_fa)
    add("ref_is_a_bam", good_bam, "ReferenceFileError", "a BAM given as the FASTA", reference=good_bam)
    iupac = "".join("NRYKMSWBDHV"[i % 11] if i % 7 == 0 else b for i, b in enumerate(ref))
    iupac_fa = write_fasta(out / "iupac_ref.fa", {CONTIG: iupac.lower()[:500] + iupac[500:]})
    add("ref_iupac_and_n", good_bam, "ok", "IUPAC/N (and soft-masked) bases in the FASTA",
        reference=iupac_fa)
    add("ref_iupac_and_n_call", good_bam, "ok", "IUPAC/N bases in the FASTA, call",
        reference=iupac_fa, command="call")

    # -------- regions and BED
    add("region_unknown_contig", good_bam, "RegionError", "region on chr9", regions=("chr9:1-100",))
    add("region_past_end_clamped", good_bam, "ok", "region past the contig end (clamped, as samtools)",
        regions=(f"{CONTIG}:1900-2100",))
    add("region_garbage", good_bam, "RegionError", "region 'chr1:abc-def'", regions=("chr1:abc-def",))
    add("region_reversed", good_bam, "RegionError", "region end before start",
        regions=(f"{CONTIG}:500-100",))

    def bed_case(name: str, text: str, expect: str, note: str):
        bed = out / f"{name}.bed"
        bed.write_text(text)
        add(name, good_bam, expect, note, regions=(), bed=bed)

    bed_case("bed_non_integer", f"{CONTIG}\tten\t200\n", "FormatError", "BED start not an integer")
    bed_case("bed_two_columns", f"{CONTIG}\t10\n", "FormatError", "BED line with 2 columns")
    bed_case("bed_end_before_start", f"{CONTIG}\t300\t200\n", "FormatError", "BED end < start")
    bed_case("bed_negative", f"{CONTIG}\t-5\t200\n", "FormatError", "BED negative start")
    bed_case("bed_empty", "", "FormatError", "empty BED file")
    bed_case("bed_unknown_contig", "chr9\t10\t200\n", "RegionError", "BED contig not in the BAM")
    bed_case("bed_past_end", f"{CONTIG}\t10\t5000\n", "RegionError", "BED interval past the contig end")
    bed_case("bed_binary", "\x00\x01\x02garbage\xff\n", "FormatError", "binary junk as BED")
    add("bed_missing", good_bam, "InputFileError", "BED path does not exist", regions=(),
        bed=out / "nope.bed")

    # the index twins leave tmp files; drop what is not referenced
    for p in out.glob("tmp_*"):
        p.unlink()
    (out / "manifest.json").write_text(json.dumps(cases, indent=1))
    return cases


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: make_malformed.py OUTDIR")
    made = make_corpus(sys.argv[1])
    print(f"{len(made)} cases written to {sys.argv[1]}/manifest.json")
