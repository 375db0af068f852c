"""``deepamp run``: FASTQ (or a BAM) to the tumour-board report in one resumable command.

The published flow (Villa et al. 2024, Methods "NGS and bioinformatic
analysis"), one step after the other, every step through the library::

    align   FASTQ -> BWA-MEM BAM, and -> Bowtie2 --very-sensitive-local BAM   (deepamp.workflow.align)
            (with primers, primer bases at read ends soft-clipped in the same pass;
             a BAM input is clipped by its own step, deepamp.workflow.clip_bam)
    learn   control BAMs -> background (a panel of normals; optional)        (deepamp.learn_background)
    call    each BAM -> VCF, counts with limits of detection, LOD per amplicon (deepamp.call)
    agree   the two VCFs -> one: EVIDENCE strong (PASS in both) / weak (one; FILTER weak_evidence)
    phase   cis/trans of the passing variants from the BWA fragments          (deepamp.phase)
    annotate HGVS, resistance evidence, inhibitor ranking                     (deepamp.annotate)
    report  one self-contained HTML page                                      (deepamp.report)

Every file lands in the run directory.  ``run.json`` / ``run.log`` record
each step's inputs and outputs with their SHA-256, its parameters, and the
versions and command lines of the tools (:mod:`deepamp.workflow.ledger`);
running again on a finished directory redoes nothing, and after a changed
input or option only what depends on it.  Every output is written complete
or not at all, and a step is recorded only once all its outputs exist.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from deepamp.errors import InputFileError, OptionError
from deepamp.options import DEFAULT_MATE_MEMORY, CallOptions
from deepamp.workflow.ledger import Ledger

__all__ = ["RunResult", "PrimerPlan", "run", "DEFAULT_ALIGNERS"]

log = logging.getLogger("deepamp.run")

DEFAULT_ALIGNERS = ("bwa", "bowtie2")
_SAMPLE_RE = re.compile(r"^[A-Za-z0-9_.:+-]+$")


@dataclass
class RunResult:
    """What a run produced (paths in the run directory) and which steps ran or were reused."""

    outdir: str
    sample: str
    bams: dict[str, str]
    vcfs: dict[str, str]
    vcf: str
    phased_vcf: str
    phase_tsv: str
    annotation: str
    report: str
    counts: str
    lod_tsv: str
    background: str | None = None
    primer_stats: dict[str, str] = field(default_factory=dict)
    ran: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)

    @property
    def annotation_json(self) -> str:
        return self.annotation + ".json"

    @property
    def annotation_tsv(self) -> str:
        return self.annotation + ".tsv"


def _sample_name(r1: str | None, bam: str | None, sample: str | None) -> str:
    if sample:
        name = sample
    elif bam:
        name = _bam_sample(bam) or re.sub(r"\.(bam|cram)$", "", os.path.basename(bam))
    else:
        base = os.path.basename(r1 or "sample")
        base = re.sub(r"\.(fastq|fq)(\.gz)?$", "", base)
        name = re.sub(r"([._-]R?1)(_001)?$", "", base) or "sample"
    if not _SAMPLE_RE.match(name):
        raise OptionError(f"sample name {name!r}: use letters, digits and _.:+- only (give --sample)")
    return name


def _bam_sample(bam: str) -> str | None:
    import pysam

    try:
        with pysam.AlignmentFile(bam, check_sq=False) as fh:
            names = {rg.get("SM") for rg in fh.header.to_dict().get("RG", []) if rg.get("SM")}
    except (OSError, ValueError):
        return None           # the call step names the problem with the file
    return names.pop() if len(names) == 1 else None


def run(reference: str | os.PathLike[str], bed: str | os.PathLike[str], outdir: str | os.PathLike[str], *,
        r1: str | os.PathLike[str] | None = None, r2: str | os.PathLike[str] | None = None,
        bam: str | os.PathLike[str] | None = None, sample: str | None = None,
        aligners: Sequence[str] = DEFAULT_ALIGNERS, background: str | os.PathLike[str] | None = None,
        control: Sequence[str | os.PathLike[str]] = (), matched_normal: str | os.PathLike[str] | None = None,
        options: CallOptions | None = None, threads: int = 1, index_cache: str | None = None,
        genome: str = "hg38", report_min_cov: int | None = None, command: str | None = None,
        primers: str | os.PathLike[str] | None = None, primer_length: str | tuple[int, int] | None = None,
        primer_tolerance: int | None = None, mate_memory: int = DEFAULT_MATE_MEMORY,
        step_done: Callable[[int, int, str, str, float], None] | None = None,
        **overrides: Any) -> RunResult:
    """Run the whole flow on one sample into ``outdir`` (see the module docstring).

    Parameters
    ----------
    reference : FASTA (the shipped slice works: BAMs and VCFs are in chr2 coordinates)
    bed : the amplicons (BED)
    outdir : run directory (created; a finished one is reused step by step)
    r1, r2 : paired FASTQs (plain or gzip), aligned by every aligner of ``aligners``
    bam : an aligned, indexed BAM/CRAM instead of FASTQs (then no alignment and no concordance)
    sample : sample name (default: the BAM's ``SM``, or the FASTQ name without ``_R1``)
    aligners : "bwa" and/or "bowtie2" (default both, the study's two alignments)
    background, control, matched_normal : the control model, as :func:`deepamp.call`
        (a background file; control BAMs to learn one from, once, into the run directory;
        or the patient's own normal)
    options : CallOptions (keyword overrides welcome); ``hotspots`` defaults to the shipped list here
    primers, primer_length : primer clipping (:func:`deepamp.workflow.primers.load_primers`): a primer
        BED, or primer lengths at the ends of every amplicon of ``bed``; primer bases at read ends
        are soft-clipped before counting (they come from the oligo, not the template)
    primer_tolerance : bases a read's 5' end may lie outside its primer (default: the clipper's)
    threads : aligner, sort and counting threads
    mate_memory : bytes of waiting first mates per chunk being counted (see :func:`deepamp.count`;
        memory against speed only: the counts are the same for any budget)
    index_cache : where aligner indexes are built (default: the user's cache directory)
    genome : genome build for the annotation ("hg38" / "hg19")
    report_min_cov : the report's coverage pass line (default: the report's, Villa et al. 2024)
    command : the command line, for the run log
    step_done : called as ``step_done(i, n, name, "ran"|"reused", seconds)`` after each step

    Returns
    -------
    RunResult

    Raises
    ------
    OptionError
        Inconsistent inputs (FASTQs and a BAM, no aligner, an unknown aligner).
    PipelineError
        An aligner is not installed or failed.
    DeepampError
        Any bad input, with one line naming it; earlier steps stay recorded and are reused.
    """
    from deepamp.calling.call import resolve_options
    from deepamp.workflow.align import ALIGNERS, require_tool
    from deepamp.workflow.versions import library_versions

    overrides.setdefault("hotspots", (options.hotspots if options is not None else None) or "shipped")
    opts = resolve_options(options, overrides)
    reference, bed = os.path.abspath(os.fspath(reference)), os.path.abspath(os.fspath(bed))
    for path, what in ((reference, "reference FASTA"), (bed, "amplicon BED")):
        if not os.path.isfile(path):
            raise InputFileError(f"{path}: {what} not found")
    fastq = r1 is not None or r2 is not None
    if fastq and bam is not None:
        raise OptionError("give FASTQs (--r1/--r2) or a BAM, not both")
    if not fastq and bam is None:
        raise OptionError("give the reads: paired FASTQs (--r1 and --r2) or an aligned BAM")
    if fastq and (r1 is None or r2 is None):
        raise OptionError("paired reads need both --r1 and --r2")
    if background is not None and control:
        raise OptionError("give a background or control BAMs to learn it from, not both")
    if matched_normal is not None and (background is not None or control):
        raise OptionError("a matched normal replaces the panel of normals: give one or the other")
    aligners = list(dict.fromkeys(aligners)) if fastq else []
    if fastq:
        if not aligners:
            raise OptionError("give at least one aligner (bwa, bowtie2)")
        unknown = [a for a in aligners if a not in ALIGNERS]
        if unknown:
            raise OptionError(f"unknown aligner {unknown[0]!r}: expected {', '.join(ALIGNERS)}")
        for a in aligners:                     # before any work: a missing aligner is one line
            require_tool(a)
            if a == "bowtie2":
                require_tool("bowtie2-build")
    plan = PrimerPlan.load(primers, primer_length, bed, primer_tolerance)   # bad primers: one line, before work
    name = _sample_name(os.fspath(r1) if r1 else None, os.fspath(bam) if bam else None, sample)
    outdir = os.path.abspath(os.fspath(outdir))
    try:
        os.makedirs(outdir, exist_ok=True)
    except OSError as exc:
        from deepamp.errors import OutputError

        raise OutputError(f"{outdir}: cannot create the run directory ({exc.strerror})") from None
    ledger = Ledger(outdir)
    ledger.run_info = {"sample": name, "command": command or "deepamp.workflow.run.run",
                       "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), **{f"version {k}": v for k, v in
                                                                          library_versions().items()}}
    flow = _Flow(ledger, opts, threads, step_done, mate_memory)
    flow.primers = plan
    if plan is not None:               # primer bases are not evidence: call, learn and report between them
        bed = plan.insert_bed(os.path.join(outdir, "inserts.bed"))
    labels = aligners or ["input"]
    flow.total = (len(aligners) + (1 if control else 0) + (1 if plan is not None and not fastq else 0)
                  + len(labels) + 4)

    def out(suffix: str) -> str:
        return os.path.join(outdir, f"{name}.{suffix}")

    bams: dict[str, str] = {}
    primer_stats: dict[str, str] = {}
    if fastq:
        for a in aligners:
            bams[a] = out(f"{a}.bam")
            if plan is not None:
                primer_stats[a] = out(f"{a}.primers.tsv")
            flow.align(a, reference, os.path.abspath(os.fspath(r1)), os.path.abspath(os.fspath(r2)), bams[a], name,
                       index_cache, primer_stats.get(a))
    elif plan is not None:
        bams["input"], primer_stats["input"] = out("clipped.bam"), out("input.primers.tsv")
        flow.clip(os.path.abspath(os.fspath(bam)), bams["input"], primer_stats["input"])
    else:
        bams["input"] = os.path.abspath(os.fspath(bam))
    bg_path = os.path.abspath(os.fspath(background)) if background is not None else None
    if control:
        bg_path = os.path.join(outdir, "background.npz")
        flow.learn([os.path.abspath(os.fspath(c)) for c in control], reference, bed, bg_path)
    normal = os.path.abspath(os.fspath(matched_normal)) if matched_normal is not None else None
    vcfs = {}
    for label in labels:
        vcfs[label] = out(f"{label}.vcf.gz")
        flow.call(label, bams[label], reference, bed, bg_path, normal, vcfs[label], out(f"{label}.counts.npz"),
                  out(f"{label}.lod.tsv"))
    primary = labels[0]
    final = out("vcf.gz")
    flow.agree(labels, [vcfs[x] for x in labels], reference, final)
    phased, phase_tsv = out("phased.vcf.gz"), out("phase.tsv")
    flow.phase(bams[primary], final, reference, phased, phase_tsv)
    annotation = out("annotated")
    flow.annotate(phased, genome, annotation)
    report = out("report.html")
    flow.report(phased, annotation + ".json", out(f"{primary}.counts.npz"), bed, bg_path, report, report_min_cov)
    return RunResult(outdir, name, bams, vcfs, final, phased, phase_tsv, annotation, report,
                     out(f"{primary}.counts.npz"), out(f"{primary}.lod.tsv"), bg_path, primer_stats, flow.ran,
                     flow.reused)


@dataclass(frozen=True)
class PrimerPlan:
    """A run's primers: the scheme, what identifies it in the run record, and the template between them."""

    scheme: Any                # deepamp.workflow.primers.PrimerScheme
    bed: str | None            # the primer BED (an input), or None with primer lengths
    length: str | tuple[int, int] | None
    amplicons: str
    tolerance: int

    @classmethod
    def load(cls, primers: str | os.PathLike[str] | None, primer_length: str | tuple[int, int] | None,
             amplicons: str, tolerance: int | None = None) -> "PrimerPlan | None":
        """The plan of a primer BED or primer lengths (None when neither is given).

        Raises
        ------
        FormatError, InputFileError
            Bad or missing primers (:func:`deepamp.workflow.primers.load_primers`).
        """
        if primers is None and primer_length is None:
            return None
        from deepamp.workflow.primers import TOLERANCE, load_primers

        path = os.path.abspath(os.fspath(primers)) if primers is not None else None
        return cls(load_primers(path, amplicons, primer_length), path, primer_length, amplicons,
                   TOLERANCE if tolerance is None else tolerance)

    def inputs(self) -> list[str]:
        return [self.bed] if self.bed else [self.amplicons]

    def params(self) -> dict[str, Any]:
        return {"primer_length": list(self.length) if isinstance(self.length, tuple) else self.length,
                "primer_tolerance": self.tolerance}

    def flags(self) -> str:
        given = f"--primers {self.bed}" if self.bed else \
            f"-l {self.amplicons} --primer-length {_length_text(self.length)}"
        return f"{given} --start-tolerance {self.tolerance}"

    def insert_bed(self, path: str) -> str:
        """The amplicons between their primers as a BED at ``path`` (rewritten only when it changes)."""
        from deepamp.io.outputs import staged

        inserts = self.scheme.inserts()
        if not inserts:
            raise OptionError(f"{self.scheme.source}: no amplicon has primers on both ends, so none has a "
                              "template between them to call")
        text = "".join(f"{c}\t{s}\t{e}\t{n}\n" for c, s, e, n in inserts)
        try:
            with open(path, encoding="utf-8") as fh:
                if fh.read() == text:
                    return path
        except OSError:
            pass
        with staged(path) as (tmp,):
            self.scheme.write_inserts(tmp)
        return path


def _length_text(length: str | tuple[int, int] | None) -> str:
    return ",".join(map(str, length)) if isinstance(length, tuple) else str(length)


class _Flow:
    """The steps, each skipped when the ledger says it is fresh."""

    def __init__(self, ledger: Ledger, opts: CallOptions, threads: int,
                 step_done: Callable[[int, int, str, str, float], None] | None,
                 mate_memory: int = DEFAULT_MATE_MEMORY):
        self.ledger, self.opts, self.threads, self.step_done = ledger, opts, threads, step_done
        self.mate_memory = mate_memory
        self.primers: PrimerPlan | None = None
        self.index, self.total = 0, 0
        self.ran: list[str] = []
        self.reused: list[str] = []

    def _step(self, name: str, inputs: Sequence[str], params: dict[str, Any], outputs: Sequence[str],
              work: Callable[[], None], tools: dict[str, str] | None = None, commands: Sequence[str] = ()) -> None:
        from deepamp._version import __version__

        self.index += 1
        params = {"deepamp": __version__, **params}
        if self.ledger.fresh(name, inputs, params, outputs):
            self.reused.append(name)
            log.debug(f"{name}: up to date, reused")
            if self.step_done:
                self.step_done(self.index, self.total, name, "reused", 0.0)
            return
        self.ledger.forget(name)
        t0 = time.perf_counter()
        work()
        seconds = time.perf_counter() - t0
        self.ledger.record(name, inputs, params, outputs, seconds, tools, commands)
        self.ran.append(name)
        if self.step_done:
            self.step_done(self.index, self.total, name, "ran", seconds)

    # ---------------------------------------------------------------- the steps

    def align(self, aligner: str, reference: str, r1: str, r2: str, bam: str, sample: str,
              index_cache: str | None, primer_tsv: str | None) -> None:
        from deepamp.io.outputs import staged
        from deepamp.workflow.align import align, aligner_index
        from deepamp.workflow.versions import tool_version

        primers = self.primers
        tools = {aligner: tool_version(aligner), "samtools sort/index": "pysam (htslib)"}
        commands: list[str] = []

        def work() -> None:
            index = aligner_index(reference, aligner, index_cache, self.threads)
            if aligner == "bowtie2":
                commands.append(f"bowtie2 --very-sensitive-local -p {self.threads} --rg-id {sample} "
                                f"--rg SM:{sample} -x {index} -1 {r1} -2 {r2}")
            else:
                commands.append(f"bwa mem -t {self.threads} -R '@RG\\tID:{sample}\\tSM:{sample}' {index} {r1} {r2}")
            if primers is not None:
                commands.append(f"primer clipping ({primers.flags()}), as deepamp clip")
            commands.append(f"samtools sort -o {bam} && samtools index {bam}")
            if primer_tsv is None:
                align(reference, r1, r2, bam, aligner, threads=self.threads, sample=sample, cache_dir=index_cache)
                return
            with staged(primer_tsv) as (tmp,):           # the BAM is the last output written
                result = align(reference, r1, r2, bam, aligner, threads=self.threads, sample=sample,
                               cache_dir=index_cache, primers=primers.scheme, primer_tolerance=primers.tolerance)
                result.clipping.write_tsv(tmp)

        inputs = [reference, r1, r2, *(primers.inputs() if primers else [])]
        params = {"aligner": aligner, "sample": sample, **(primers.params() if primers else {})}
        self._step(f"align {aligner}", inputs, params, [bam, bam + ".bai", *([primer_tsv] if primer_tsv else [])],
                   work, tools, commands)

    def clip(self, bam: str, out: str, primer_tsv: str) -> None:
        from deepamp.io.outputs import staged
        from deepamp.workflow.clip_bam import clip_bam

        primers = self.primers
        assert primers is not None

        def work() -> None:
            with staged(primer_tsv) as (tmp,):
                clip_bam(bam, out, primers.scheme, tolerance=primers.tolerance, threads=self.threads).write_tsv(tmp)

        self._step("clip", [bam, *primers.inputs()], primers.params(), [out, out + ".bai", primer_tsv], work,
                   commands=[f"deepamp clip {bam} {primers.flags()} -o {out}"])

    def learn(self, controls: list[str], reference: str, bed: str, out: str) -> None:
        from deepamp.models.background_fit import learn

        def work() -> None:
            learn(controls, reference=reference, bed=bed, options=self.opts.count, threads=self.threads,
                  mate_memory=self.mate_memory).save(out)

        self._step("background", [reference, bed, *controls, *_indexes(controls)],
                   {"count": self.opts.count.to_dict()}, [out], work,
                   commands=[f"deepamp background -f {reference} -l {bed} {' '.join(controls)} -o {out}"])

    def call(self, label: str, bam: str, reference: str, bed: str, background: str | None, normal: str | None,
             vcf: str, counts: str, lod_tsv: str) -> None:
        from deepamp.calling.call import call
        from deepamp.io.outputs import staged

        def work() -> None:
            calls = call(bam, reference=reference, bed=bed, background=background, matched_normal=normal,
                         options=self.opts, threads=self.threads, mate_memory=self.mate_memory)
            limits = calls.detection_limits()
            calls.counts.lod = limits.site
            with staged(counts, lod_tsv) as (tmp_counts, tmp_lod):   # all three files, or none
                calls.counts.save(tmp_counts)
                limits.write_tsv(tmp_lod)
                calls.write_vcf(vcf, command=f"deepamp run (call {label})")
            for line in calls.summary_lines():
                log.debug(f"call {label}: {line}")

        controls = [x for x in (background, normal) if x]
        self._step(f"call {label}", [bam, *_indexes([bam]), reference, bed, *controls, *_indexes([normal] if normal
                                                                                                  else [])],
                   {"options": repr(self.opts)}, [vcf, vcf + ".tbi", counts, lod_tsv], work,
                   commands=[f"deepamp call -f {reference} -l {bed} {bam} -o {vcf} --lod-tsv {lod_tsv}"])

    def agree(self, labels: list[str], vcfs: list[str], reference: str, out: str) -> None:
        from deepamp.concordance import write_concordance
        from deepamp.io.outputs import staged

        if len(vcfs) == 1:
            def work() -> None:
                with staged(out, out + ".tbi") as (tmp, tmp_tbi):
                    shutil.copyfile(vcfs[0], tmp)
                    shutil.copyfile(vcfs[0] + ".tbi", tmp_tbi)
            self._step("agree", vcfs, {"labels": labels}, [out, out + ".tbi"], work,
                       commands=[f"cp {vcfs[0]} {out}  (one alignment: no concordance)"])
            return
        self._step("agree", [*vcfs, reference], {"labels": labels, "filter_weak": True}, [out, out + ".tbi"],
                   lambda: write_concordance(out, vcfs[0], vcfs[1], labels, filter_weak=True,
                                             command="deepamp run (concordance)", reference=reference),
                   commands=[f"deepamp concordance {vcfs[0]} {vcfs[1]} --labels {','.join(labels)} "
                             f"--filter-weak -f {reference} -o {out}"])

    def phase(self, bam: str, vcf: str, reference: str, out: str, tsv: str) -> None:
        from deepamp.phase import phase_vcf

        count = self.opts.count
        self._step("phase", [bam, *_indexes([bam]), vcf, reference],
                   {"min_mapq": count.min_mapq, "min_bq": count.min_bq, "flag_exclude": count.flag_exclude},
                   [out, out + ".tbi", tsv],
                   lambda: phase_vcf(bam, vcf, out, tsv=tsv, reference=reference, min_mapq=count.min_mapq,
                                     min_bq=count.min_bq, flag_exclude=count.flag_exclude),
                   commands=[f"deepamp phase {bam} {vcf} -o {out} --tsv {tsv}"])

    def annotate(self, vcf: str, genome: str, prefix: str) -> None:
        from deepamp.annotate.vcf_annotation import OUTPUT_SUFFIXES, annotate_vcf

        outs = [f"{prefix}.{ext}" for ext in OUTPUT_SUFFIXES]
        self._step("annotate", [vcf], {"genome": genome}, outs,
                   lambda: annotate_vcf(vcf, genome=genome).write(prefix),
                   commands=[f"deepamp annotate {vcf} --genome {genome} -o {prefix}"])

    def report(self, vcf: str, annotation: str, counts: str, bed: str, background: str | None, out: str,
               min_cov: int | None) -> None:
        from deepamp.report import DEFAULT_MIN_COV, write_report

        min_cov = DEFAULT_MIN_COV if min_cov is None else min_cov
        self._step("report", [vcf, annotation, counts, bed, *([background] if background else [])],
                   {"min_cov": min_cov}, [out],
                   lambda: write_report(vcf, annotation, out, counts=counts, bed=bed, background=background,
                                        min_cov=min_cov),
                   commands=[f"deepamp report {vcf} --annotation {annotation} --counts {counts} -l {bed} "
                             f"-C {min_cov} -o {out}"])


def _indexes(bams: Sequence[str]) -> list[str]:
    """The index files next to alignment files (their content is part of what a step read)."""
    out = []
    for b in bams:
        for suffix in (".bai", ".csi", ".crai"):
            for cand in (b + suffix, os.path.splitext(b)[0] + suffix):
                if os.path.isfile(cand) and cand not in out:
                    out.append(cand)
                    break
    return out
