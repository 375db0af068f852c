"""``deepamp demo``: the whole flow of ``deepamp run`` on bundled data.

Simulates one sequencing run of ALK exon 22-25 amplicons (20-base primers at
both ends) on the shipped GRCh38 slice at 25,000 read pairs each, written as
the sequencer would (paired FASTQ): healthy controls and a tumour with known
resistance mutations at low VAF, sharing the run's error artefacts.  Then it
runs :func:`deepamp.workflow.run.run` on the tumour's FASTQs: both aligners
(BWA-MEM and Bowtie2 --very-sensitive-local, as Villa et al. 2024) when they
are installed, primer clipping, the background learned from the controls
(aligned by the first aligner, clipped alike), calling, strong/weak evidence,
phasing, annotation and the HTML report.  Without an aligner the simulator's
own BAM goes through the same flow (no alignment, no concordance).

It prints truth vs calls and, last, the path of the report, which stays in
the demo directory (``deepamp-demo`` in the current directory by default).
Running it again on the same directory redoes nothing that is up to date.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass
from importlib import resources
from typing import TextIO

from deepamp.simulate import Spike

GRCH38_CHR2_LENGTH = 242_193_529  # GRCh38 primary assembly, chr2

#: Resistance mutations spiked by the demo (GRCh38, plus strand; see data/README.md).
DEMO_SPIKES = (
    Spike("chr2", 29220747, "C", "T", 0.010),   # ALK G1202R
    Spike("chr2", 29220765, "G", "T", 0.005),   # ALK L1196M
    Spike("chr2", 29209816, "C", "G", 0.020),   # ALK G1269A
    Spike("chr2", 29222392, "C", "T", 0.003),   # ALK C1156Y
)
DEMO_LABELS = {29220747: "ALK G1202R", 29220765: "ALK L1196M", 29209816: "ALK G1269A",
               29222392: "ALK C1156Y", 55174771: "EGFR E746_A750del", 140753336: "BRAF V600E"}

#: The wider panel (``--panel bypass``): the ALK amplicons plus one amplicon around each of these
#: bypass-gene hotspots (GRCh38, 1-based), cut from the exon pieces shipped with the annotation.
BYPASS_HOTSPOTS = (
    ("EGFR_ex19", "chr7", 55174780), ("EGFR_ex21", "chr7", 55191822), ("KRAS_ex2", "chr12", 25245351),
    ("BRAF_ex15", "chr7", 140753336), ("BRAF_ex11", "chr7", 140781611), ("MAP2K1_ex3", "chr15", 66436840),
    ("PIK3CA_ex10", "chr3", 179218303), ("PIK3CA_ex21", "chr3", 179234297), ("NRAS_ex3", "chr1", 114713909),
    ("IDH2_ex4", "chr15", 90088702),
)
#: On the wider panel the tumour progressed by an off-target route: EGFR exon 19 deletion and BRAF
#: V600E next to an ALK mutation (the case the bypass section of the report is for).
BYPASS_SPIKES = (
    Spike("chr2", 29220747, "C", "T", 0.010),                          # ALK G1202R
    Spike("chr7", 55174771, "AGGAATTAAGAGAAGC", "A", 0.020),           # EGFR E746_A750del
    Spike("chr7", 140753336, "A", "T", 0.010),                         # BRAF V600E
)
PANELS = ("alk", "bypass")
AMPLICON_LENGTH = 170
#: Primer length at each end of the demo amplicons (bases of the oligo, clipped before counting).
DEMO_PRIMER_LENGTH = 20
DEFAULT_DEMO_DIR = "deepamp-demo"


def data_path(name: str) -> str:
    """Path of a file shipped in deepamp/data."""
    return str(resources.files("deepamp") / "data" / name)


@dataclass
class DemoResult:
    """What the demo produced: the run's report, which spikes were called (strong evidence or not)."""

    report: str
    called: dict[int, bool]
    strong: dict[int, bool]
    aligners: list[str]

    @property
    def ok(self) -> bool:
        """Every spiked mutation called (PASS)."""
        return all(self.called.values())


def available_aligners() -> list[str]:
    """The aligners of the study that are installed (``bwa``; ``bowtie2`` with ``bowtie2-build``)."""
    found = []
    if shutil.which("bwa"):
        found.append("bwa")
    if shutil.which("bowtie2") and shutil.which("bowtie2-build"):
        found.append("bowtie2")
    return found


def run_demo(outdir: str | os.PathLike[str] = DEFAULT_DEMO_DIR, *, pairs: int = 25000, threads: int = 2,
             seed: int = 7, controls: int = 4, aligners: list[str] | None = None, panel: str = "alk",
             out: TextIO | None = None) -> DemoResult:
    """Simulate the run, run the whole flow on the tumour, print truth vs calls and the report's path.

    Parameters
    ----------
    outdir : the demo directory (reads/, controls/ and the run's files; reused when run again)
    pairs : read pairs per amplicon
    threads : simulation, aligner and counting threads
    seed : the tumour sample's seed (the run's artefacts are fixed)
    controls : healthy controls for the background (0: the quality model only)
    aligners : default: those of :func:`available_aligners`; ``[]`` calls the simulator's BAM
    panel : "alk" (ALK exons 22-25 on the shipped slice) or "bypass" (those plus one amplicon at each
        of ten bypass-gene hotspots on chr1, chr3, chr7, chr12 and chr15: a reference of several
        slices, a tumour with an EGFR exon 19 deletion and BRAF V600E next to ALK G1202R)
    out : where the table goes (default stdout)
    """
    from deepamp.simulate import simulate
    from deepamp.workflow.run import run

    out = out or sys.stdout
    outdir = os.path.abspath(os.fspath(outdir))
    from deepamp.io.contigs import GRCH38_LENGTHS

    if panel not in PANELS:
        from deepamp.errors import OptionError

        raise OptionError(f"--panel {panel!r}: expected one of {', '.join(PANELS)}")
    aligners = available_aligners() if aligners is None else list(aligners)
    reads_dir, control_dir = os.path.join(outdir, "reads"), os.path.join(outdir, "controls")
    _fresh_reads(reads_dir, control_dir,
                 f"pairs={pairs} seed={seed} controls={controls} aligners={aligners[:1]} panel={panel}")
    if panel == "alk":
        ref, bed, spikes = data_path("ALK_hg38_chr2_29191796-29223795.fa"), data_path("alk_exons22-25_amplicons.bed"), \
            DEMO_SPIKES
    else:
        ref, bed = bypass_panel(os.path.join(reads_dir, "panel"))
        spikes = BYPASS_SPIKES
    common = dict(pairs_per_amplicon=pairs, run_seed=1, contig_length=dict(GRCH38_LENGTHS),
                  primer_length=DEMO_PRIMER_LENGTH, threads=threads)
    t0 = time.perf_counter()

    def simulated(name: str, sample_seed: int, spikes=()) -> str:
        """The sample's simulated BAM (its FASTQs next to it), made once."""
        prefix = os.path.join(reads_dir, name)
        if not all(os.path.isfile(prefix + s) for s in (".bam", ".bam.bai", "_R1.fastq.gz", "_R2.fastq.gz")):
            simulate(ref, bed, prefix + ".bam", spikes=spikes, sample_seed=sample_seed, sample=name,
                     fastq=prefix, **common)
        return prefix

    tumour = simulated("demo_tumour", seed, spikes)
    control_bams = [_control_bam(simulated(f"demo_control{i + 1}", 1000 + i), control_dir, ref, bed,
                                 aligners[:1], threads) for i in range(controls)]
    t1 = time.perf_counter()
    source = dict(r1=tumour + "_R1.fastq.gz", r2=tumour + "_R2.fastq.gz") if aligners else dict(bam=tumour + ".bam")
    result = run(ref, bed, outdir, **source, sample="demo_tumour", aligners=aligners or ("bwa",),
                 control=control_bams, threads=threads, primer_length=(DEMO_PRIMER_LENGTH, DEMO_PRIMER_LENGTH),
                 min_bq=6, command="deepamp demo")
    t2 = time.perf_counter()
    return _tell(out, result, aligners, pairs, len(control_bams), t1 - t0, t2 - t1, spikes, panel)


def bypass_panel(prefix: str) -> tuple[str, str]:
    """Write the wider panel's reference (``PREFIX.fa``: the ALK slice and the shipped bypass-gene exon
    pieces holding the hotspots, as slice records) and amplicons (``PREFIX.bed``); returns both paths."""
    from deepamp.io.reference import Reference, read_records, write_records

    records = read_records(data_path("ALK_hg38_chr2_29191796-29223795.fa"))
    pieces = read_records(str(resources.files("deepamp.annotate") / "data" / "bypass_grch38_exon_flanks.fa"))
    with open(data_path("alk_exons22-25_amplicons.bed"), encoding="ascii") as fh:
        bed = [line for line in fh if line.strip()]
    half = AMPLICON_LENGTH // 2
    for label, contig, pos in BYPASS_HOTSPOTS:
        for name, seq in pieces.items():
            c, _, span = name.partition(":")
            start, end = (int(x) for x in span.split("-"))
            if c == contig and start + half <= pos <= end - half:
                records[name] = seq
                bed.append(f"{contig}\t{pos - 1 - half}\t{pos - 1 - half + AMPLICON_LENGTH}\t{label}\n")
                break
        else:
            raise RuntimeError(f"no shipped piece holds an amplicon around {contig}:{pos}")   # a packaging bug
    os.makedirs(os.path.dirname(prefix), exist_ok=True)
    write_records(prefix + ".fa", records)
    with open(prefix + ".bed", "w", encoding="ascii") as fh:
        fh.writelines(bed)
    Reference(prefix + ".fa").close()        # indexed and checked once, here
    return prefix + ".fa", prefix + ".bed"


def _fresh_reads(reads_dir: str, control_dir: str, key: str) -> None:
    """Simulated reads and control BAMs of another setting are made again (the run itself is
    checked by its own record)."""
    stamp = os.path.join(reads_dir, "settings.txt")
    try:
        with open(stamp, encoding="utf-8") as fh:
            same = fh.read().strip() == key
    except OSError:
        same = False
    if not same:
        for d in (reads_dir, control_dir):
            shutil.rmtree(d, ignore_errors=True)
        os.makedirs(reads_dir)
        with open(stamp, "w", encoding="utf-8") as fh:
            fh.write(key + "\n")


def _control_bam(prefix: str, control_dir: str, ref: str, bed: str, aligners: list[str], threads: int) -> str:
    """A control's BAM as the tumour's are made: aligned by the first aligner and primer-clipped in
    the same pass, or (no aligner) the simulator's BAM clipped."""
    from deepamp.workflow.primers import load_primers

    os.makedirs(control_dir, exist_ok=True)
    bam = os.path.join(control_dir, os.path.basename(prefix) + ".bam")
    if os.path.isfile(bam) and os.path.isfile(bam + ".bai"):
        return bam
    scheme = load_primers(None, bed, (DEMO_PRIMER_LENGTH, DEMO_PRIMER_LENGTH))
    if aligners:
        from deepamp.workflow.align import align

        align(ref, prefix + "_R1.fastq.gz", prefix + "_R2.fastq.gz", bam, aligners[0], threads=threads,
              sample=os.path.basename(prefix), primers=scheme)
    else:
        from deepamp.workflow.clip_bam import clip_bam

        clip_bam(prefix + ".bam", bam, scheme, threads=threads)
    return bam


def _tell(out: TextIO, result, aligners: list[str], pairs: int, n_controls: int, t_sim: float,
          t_run: float, spikes=DEMO_SPIKES, panel: str = "alk") -> DemoResult:
    """Truth vs calls of the run's final VCF, then the report's path."""
    import pysam

    def say(text: str = "") -> None:
        print(text, file=out)

    with pysam.VariantFile(result.vcf) as fh:
        calls = {(r.chrom, r.pos, r.ref, r.alts[0]): r for r in fh if r.alts}
    how = " + ".join({"bwa": "BWA-MEM", "bowtie2": "Bowtie2"}[a] for a in aligners) or \
        "no aligner installed: the simulator's BAM"
    what = "ALK exons 22-25, 4 amplicons" if panel == "alk" else \
        f"ALK exons 22-25 + {len(BYPASS_HOTSPOTS)} bypass-gene hotspots, {4 + len(BYPASS_HOTSPOTS)} amplicons"
    say(f"deepamp demo: {what} x {pairs:,} read pairs, {DEMO_PRIMER_LENGTH}-base primers; "
        f"1 tumour + {n_controls} healthy controls of the same run ({how}; "
        f"reads simulated in {t_sim:.0f} s, the flow ran in {t_run:.0f} s)")
    say(f"\n{'mutation':<18} {'position':<16} {'change':<6} {'spiked VAF':>10} {'called VAF':>10} "
        f"{'QUAL':>7}  {'evidence':<8} FILTER")
    called, strong = {}, {}
    for s in spikes:
        r = calls.get((s.contig, s.pos, s.ref, s.alt))
        vaf, qual = (f"{r.info['AF'][0]:.4f}", f"{r.qual:.0f}") if r is not None else ("-", "-")
        called[s.pos] = r is not None and list(r.filter) == ["PASS"]
        evidence = str(r.info.get("EVIDENCE", "-")) if r is not None and "EVIDENCE" in r.info else "-"
        strong[s.pos] = evidence == "strong"
        change = f"{s.ref}>{s.alt}" if len(s.ref) == len(s.alt) == 1 else f"del{len(s.ref) - len(s.alt)}"
        say(f"{DEMO_LABELS[s.pos]:<18} {s.contig + ':' + str(s.pos):<16} {change:<6} {s.vaf:>10.4f} "
            f"{vaf:>10} {qual:>7}  {evidence:<8} {';'.join(r.filter) if r is not None else 'MISSED'}")
    spiked = {(s.contig, s.pos, s.ref, s.alt) for s in spikes}
    others = [r for k, r in sorted(calls.items()) if k not in spiked]
    passing = [r for r in others if list(r.filter) == ["PASS"]]
    say(f"\nnot spiked: {len(passing)} passing call(s), {len(others) - len(passing)} filtered "
        f"(weak evidence, strand bias, ...; kept in the VCF with their FILTER)")
    for r in passing:
        say(f"  {r.chrom}:{r.pos} {r.ref}>{r.alts[0]} AF {r.info['AF'][0]:.4f}")
    say(f"run directory: {result.outdir} (run.log: every step, tool version and command)")
    say(result.report)
    return DemoResult(result.report, called, strong, aligners)


__all__ = ["BYPASS_HOTSPOTS", "BYPASS_SPIKES", "DEFAULT_DEMO_DIR", "DEMO_LABELS", "DEMO_PRIMER_LENGTH", "DEMO_SPIKES",
           "GRCH38_CHR2_LENGTH", "PANELS", "DemoResult", "available_aligners", "bypass_panel", "data_path", "run_demo"]
