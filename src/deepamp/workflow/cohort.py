"""``deepamp cohort SAMPLES.tsv``: a sequencing run or a study as one resumable job on Dask.

The sample sheet (:mod:`deepamp.workflow.sample_sheet`) names every sample,
its patient, time point and role, and its reads (a FASTQ pair or a BAM).
The job, on a dask.distributed cluster (:mod:`deepamp.workflow.cluster`)::

    controls  FASTQ controls aligned (first aligner), one task each  -> OUTDIR/controls/SAMPLE/
    learn     the controls' BAMs -> one background, one task         -> OUTDIR/background/background.npz
              (or the background given; without either, tumours are called without one)
    tumours   every tumour through the whole flow of ``deepamp run``  -> OUTDIR/samples/SAMPLE/
              (:func:`deepamp.workflow.run.run`), one task each
    cohort    cohort.tsv (:mod:`deepamp.workflow.cohort_table`), cohort.html and one page per patient
              under OUTDIR/patients/ (:mod:`deepamp.report.cohort_page`)

A sample that fails is reported with its one-line error and the others go on;
the result (and the exit status of the command) says which failed.

Resuming: OUTDIR is written in place.  Each sample directory, the control
alignments and the background keep ``deepamp run``'s record of every step
(``run.json``: inputs and outputs by SHA-256, :mod:`deepamp.workflow.ledger`)
and a step is recorded only once its outputs are complete, so running the
same sheet again redoes only what is missing or changed: finished samples are
reused, an interrupted one continues after its last finished step.  The
cohort files (cohort.tsv, cohort.html, patients/) are removed when a run
starts and written, each complete or not at all, once every sample has
finished: their presence means the run that wrote them finished, and
cohort.tsv is written last.

Copy number: with at least three control BAMs, every called tumour's
per-amplicon depth (its counts from ``deepamp run``) is tested against the
controls' (:mod:`deepamp.models.copy_number`), into ``copy_number.tsv`` (one
row per tumour and amplicon) and a section of cohort.html.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from deepamp.errors import DeepampError, InputFileError, OptionError, OutputError
from deepamp.models.copy_number import CopyNumberResult
from deepamp.options import DEFAULT_MATE_MEMORY, CallOptions
from deepamp.workflow.run import DEFAULT_ALIGNERS, PrimerPlan, RunResult
from deepamp.workflow.sample_sheet import SampleSheet, SheetSample, read_sample_sheet

__all__ = ["CohortResult", "SampleOutcome", "cohort", "COHORT_TSV", "COHORT_HTML", "PATIENTS", "SAMPLES",
           "CONTROLS", "BACKGROUND"]

log = logging.getLogger("deepamp.cohort")

COHORT_TSV, COHORT_HTML, COPY_NUMBER_TSV = "cohort.tsv", "cohort.html", "copy_number.tsv"
#: Sub-directories of OUTDIR.
SAMPLES, CONTROLS, BACKGROUND, PATIENTS = "samples", "controls", "background", "patients"


@dataclass
class SampleOutcome:
    """What became of one sample of the sheet.

    Attributes
    ----------
    row : its sheet row
    status : ``called`` (its flow finished), ``failed`` or ``control``
    error : the one-line error of a failed sample
    result : the :class:`~deepamp.workflow.run.RunResult` of a called tumour (``reused`` lists the
        steps a resumed run did not redo)
    bam : a control's BAM (aligned here from FASTQs, or as given)
    """

    row: SheetSample
    status: str
    error: str | None = None
    result: RunResult | None = None
    bam: str | None = None

    @property
    def sample(self) -> str:
        return self.row.sample


@dataclass
class CohortResult:
    """A finished cohort run: every sample's outcome and the cohort files.

    Attributes
    ----------
    outdir : the output directory
    sheet : the sample sheet read
    samples : one outcome per sheet row, in sheet order
    background : the background the tumours were called against (None: no background)
    table, report : ``cohort.tsv`` and ``cohort.html``
    patient_pages : patient -> their page under ``patients/``
    changes : (patient, allele name, time point, ``emerged``/``lost``) over each patient's time points
    dashboard : the Dask dashboard address, when the scheduler served one
    copy_number : tumour -> its copy-number test against the controls (three control BAMs or more)
    copy_number_table : ``copy_number.tsv`` (None when copy number was not tested)
    """

    outdir: str
    sheet: SampleSheet
    samples: list[SampleOutcome]
    background: str | None
    table: str
    report: str
    patient_pages: dict[str, str] = field(default_factory=dict)
    changes: list[tuple[str, str, str, str]] = field(default_factory=list)
    dashboard: str | None = None
    copy_number: dict[str, CopyNumberResult] = field(default_factory=dict)
    copy_number_table: str | None = None

    @property
    def failed(self) -> list[SampleOutcome]:
        """The samples that failed."""
        return [s for s in self.samples if s.status == "failed"]

    @property
    def called(self) -> list[SampleOutcome]:
        """The tumours whose flow finished."""
        return [s for s in self.samples if s.status == "called"]

    @property
    def ok(self) -> bool:
        """Whether every sample finished."""
        return not self.failed

    @property
    def control_bams(self) -> list[str]:
        """The controls' BAMs (what the background was learned from, and copy number compares to)."""
        return [s.bam for s in self.samples if s.status == "control" and s.bam]


# ---------------------------------------------------------------- the tasks (run in Dask workers)

@dataclass(frozen=True)
class _Failure:
    """A task's deepamp error, as a one-line message (a worker's exception would carry its traceback)."""

    message: str


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text if isinstance(exc, DeepampError) else f"{type(exc).__name__}: {text}"


def _align_control(row: SheetSample, reference: str, aligner: str, outdir: str, options: CallOptions,
                   threads: int, index_cache: str | None, primers: PrimerPlan | None, command: str) -> str | _Failure:
    """Align one FASTQ control into ``outdir`` (recorded, and reused when fresh, as a run's align step)."""
    from deepamp.workflow.ledger import Ledger
    from deepamp.workflow.run import _Flow

    try:
        os.makedirs(outdir, exist_ok=True)
        ledger = Ledger(outdir)
        ledger.run_info = {"sample": row.sample, "command": command, "role": "control"}
        flow = _Flow(ledger, options, threads, None)
        flow.total = 1
        flow.primers = primers
        bam = os.path.join(outdir, f"{row.sm}.{aligner}.bam")
        assert row.r1 is not None and row.r2 is not None
        flow.align(aligner, reference, row.r1, row.r2, bam, row.sm, index_cache,
                   os.path.join(outdir, f"{row.sm}.{aligner}.primers.tsv") if primers is not None else None)
        return bam
    except Exception as exc:
        return _Failure(_one_line(exc))


def _learn_background(bams: Sequence[str | _Failure], reference: str, bed: str, outdir: str,
                      options: CallOptions, threads: int, command: str, mate_memory: int = DEFAULT_MATE_MEMORY
                      ) -> str | _Failure:
    """Learn the background from the controls' BAMs into ``outdir/background.npz`` (reused when fresh)."""
    from deepamp.workflow.ledger import Ledger
    from deepamp.workflow.run import _Flow

    failed = next((b for b in bams if isinstance(b, _Failure)), None)
    if failed is not None:
        return failed
    try:
        os.makedirs(outdir, exist_ok=True)
        ledger = Ledger(outdir)
        ledger.run_info = {"command": command, "role": "background"}
        flow = _Flow(ledger, options, threads, None, mate_memory)
        flow.total = 1
        out = os.path.join(outdir, "background.npz")
        flow.learn([str(b) for b in bams], reference, bed, out)
        return out
    except Exception as exc:
        return _Failure(_one_line(exc))


def _run_tumour(row: SheetSample, reference: str, bed: str, outdir: str, background: str | None,
                aligners: Sequence[str], primers: str | None, options: CallOptions, threads: int,
                index_cache: str | None, genome: str, report_min_cov: int | None, command: str,
                mate_memory: int = DEFAULT_MATE_MEMORY) -> RunResult | _Failure:
    """One tumour through :func:`deepamp.workflow.run.run` (its steps reused when fresh)."""
    from deepamp.workflow.run import run

    try:
        return run(reference, bed, outdir, r1=row.r1, r2=row.r2, bam=row.bam, sample=row.sm, aligners=aligners,
                   background=background, options=options, threads=threads, index_cache=index_cache,
                   genome=genome, report_min_cov=report_min_cov, command=f"{command} (sample {row.sample})",
                   primers=primers, mate_memory=mate_memory)
    except Exception as exc:
        return _Failure(_one_line(exc))


# ---------------------------------------------------------------- the job

def _check_inputs(reference: str, bed: str, primers: str | None, background: str | None,
                  aligners: Sequence[str], sheet: SampleSheet, threads: int, workers: int) -> None:
    from deepamp.workflow.align import ALIGNERS, require_tool

    for path, what in ((reference, "reference FASTA"), (bed, "amplicon BED"), (primers, "primer BED"),
                       (background, "background")):
        if path is not None and not os.path.isfile(path):
            raise InputFileError(f"{path}: {what} not found")
    if threads < 1 or workers < 1:
        raise OptionError("threads and workers must be >= 1")
    if not aligners:
        raise OptionError("give at least one aligner (bwa, bowtie2)")
    unknown = [a for a in aligners if a not in ALIGNERS]
    if unknown:
        raise OptionError(f"unknown aligner {unknown[0]!r}: expected {', '.join(ALIGNERS)}")
    _check_bam_rows(sheet, bed)
    if any(s.is_fastq for s in sheet.samples):
        for a in aligners:                       # before any work: a missing aligner is one line
            require_tool(a)
            if a == "bowtie2":
                require_tool("bowtie2-build")


def _check_bam_rows(sheet: SampleSheet, bed: str) -> None:
    """Every BAM row is aligned to the run's panel: each amplicon's contig is in its header and long
    enough (a BAM of another panel or build is one line naming its row, before any work)."""
    import pysam

    from deepamp.io.regions import read_bed

    ends: dict[str, int] = {}
    for r in read_bed(bed):
        ends[r.contig] = max(ends.get(r.contig, 0), r.end)
    for row in sheet.samples:
        if row.bam is None:
            continue
        where = f"{sheet.path} line {row.line}: {row.sample}: {row.bam}"
        try:
            with pysam.AlignmentFile(row.bam, check_sq=False) as fh:
                lengths = dict(zip(fh.references, fh.lengths))
        except (OSError, ValueError) as exc:
            raise InputFileError(f"{where}: cannot read its header ({exc})") from None
        for contig, end in ends.items():
            if contig not in lengths:
                raise InputFileError(f"{where}: no contig {contig} of the amplicon BED in its header "
                                     "(aligned to another panel or build?)")
            if lengths[contig] < end:
                raise InputFileError(f"{where}: contig {contig} is {lengths[contig]:,} bases, shorter than the "
                                     f"amplicon BED reaches ({end:,}; aligned to another build?)")


def _clear_cohort_files(outdir: str) -> None:
    """Remove the cohort files of an earlier run: until this run finishes, none may be trusted."""
    for name in (COHORT_TSV, COHORT_HTML, COPY_NUMBER_TSV):   # cohort.tsv first: it says the rest is complete
        path = os.path.join(outdir, name)
        if os.path.lexists(path):
            os.remove(path)
    shutil.rmtree(os.path.join(outdir, PATIENTS), ignore_errors=True)


def cohort(sheet: str | os.PathLike[str], reference: str | os.PathLike[str], bed: str | os.PathLike[str],
           outdir: str | os.PathLike[str], *, primers: str | os.PathLike[str] | None = None,
           aligners: Sequence[str] = DEFAULT_ALIGNERS, background: str | os.PathLike[str] | None = None,
           workers: int = 1, scheduler: str | None = None, threads: int = 1, options: CallOptions | None = None,
           index_cache: str | None = None, genome: str = "hg38", report_min_cov: int | None = None,
           command: str | None = None, progress: Callable[[int, int, str], None] | None = None,
           mate_memory: int = DEFAULT_MATE_MEMORY, **overrides: Any) -> CohortResult:
    """Run every sample of a sample sheet into ``outdir`` on Dask (see the module docstring).

    Parameters
    ----------
    sheet : the sample sheet (TSV; :mod:`deepamp.workflow.sample_sheet`)
    reference : FASTA (the shipped slice works: outputs are in chr2 coordinates)
    bed : the amplicons (BED)
    outdir : the output directory (created; written in place, and reused sample by sample)
    primers : a primer BED: primer bases are soft-clipped while aligning FASTQ samples
    aligners : "bwa" and/or "bowtie2" (default both); FASTQ controls are aligned with the first
    background : a background file to call against, instead of learning one from the sheet's controls
    workers : worker processes of the LocalCluster started when no ``scheduler`` is given
    scheduler : address of a running dask.distributed scheduler (its workers share the file system)
    threads : threads per sample (aligner, sort, counting)
    mate_memory : bytes of waiting first mates per chunk being counted (memory against speed only)
    options : CallOptions (keyword overrides welcome), as :func:`deepamp.workflow.run.run`
    index_cache, genome, report_min_cov : as :func:`deepamp.workflow.run.run`
    command : the command line, for the run logs
    progress : called as ``progress(done, total, label)`` as each task finishes

    Returns
    -------
    CohortResult (``failed`` lists the samples that failed; the others are complete)

    Raises
    ------
    InputFileError
        A bad sample sheet (one line naming the row), a missing input, dask.distributed missing, or a
        control that cannot be aligned or learned from (every tumour needs the background).
    OptionError
        Bad options (an unknown aligner, workers < 1).
    OutputError
        ``outdir`` cannot be created or written.
    """
    from deepamp.calling.call import resolve_options

    overrides.setdefault("hotspots", (options.hotspots if options is not None else None) or "shipped")
    opts = resolve_options(options, overrides)
    aligners = list(dict.fromkeys(aligners))
    reference, bed = os.path.abspath(os.fspath(reference)), os.path.abspath(os.fspath(bed))
    primers = os.path.abspath(os.fspath(primers)) if primers is not None else None
    background = os.path.abspath(os.fspath(background)) if background is not None else None
    parsed = read_sample_sheet(sheet)
    _check_inputs(reference, bed, primers, background, aligners, parsed, threads, workers)
    plan = PrimerPlan.load(primers, None, bed)            # bad primers: one line, before any work
    command = command or "deepamp.cohort"
    outdir = os.path.abspath(os.fspath(outdir))
    try:
        os.makedirs(outdir, exist_ok=True)
        _clear_cohort_files(outdir)
    except OSError as exc:
        raise OutputError(f"{outdir}: cannot write the cohort directory ({exc.strerror})") from None

    controls = parsed.controls
    learn = background is None and bool(controls)
    if background is not None and controls:
        log.warning(f"--background given: the sheet's {len(controls)} control(s) are not used")
    if not learn and background is None:
        log.warning("no controls in the sheet and no --background: tumours are called without a background")
    if any(s.is_fastq for s in parsed.samples):
        from deepamp.workflow.align import aligner_index

        for a in aligners:                       # once, here, rather than raced by every worker
            aligner_index(reference, a, index_cache, threads)
    to_align = [c for c in controls if c.is_fastq] if learn else []
    total = len(to_align) + (1 if learn else 0) + len(parsed.tumours)
    done = 0

    def tick(label: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, label)

    from deepamp.workflow.cluster import dask_client

    outcomes: dict[str, SampleOutcome] = {}
    t0 = time.perf_counter()
    with dask_client(workers, scheduler) as (client, link):
        from distributed import as_completed

        if link:
            log.info(f"Dask dashboard: {link}")
        bg_path = background
        if learn:
            control_bams: dict[str, Any] = {}
            for c in controls:
                if c.is_fastq:
                    control_bams[c.sample] = client.submit(
                        _align_control, c, reference, aligners[0], os.path.join(outdir, CONTROLS, c.sample), opts,
                        threads, index_cache, plan, command, pure=False, key=f"align-control-{c.sample}")
                else:
                    control_bams[c.sample] = c.bam
            futures = [f for f in control_bams.values() if not isinstance(f, str)]
            for fut in as_completed(futures):
                res = fut.result()
                name = next(k for k, v in control_bams.items() if v is fut)
                if isinstance(res, _Failure):
                    row = parsed[name]
                    raise InputFileError(f"control {name} (sheet line {row.line}): {res.message}")
                control_bams[name] = res
                tick(f"{name} aligned")
            bams = [str(control_bams[c.sample]) for c in controls]
            learn_bed = bed if plan is None else \
                plan.insert_bed(os.path.join(outdir, "inserts.bed"))   # as every sample is called
            res = client.submit(_learn_background, bams, reference, learn_bed, os.path.join(outdir, BACKGROUND), opts,
                                threads, command, mate_memory, pure=False, key="learn-background").result()
            if isinstance(res, _Failure):
                raise InputFileError(f"background from the controls: {res.message}")
            bg_path = res
            tick("background")
            for c in controls:
                outcomes[c.sample] = SampleOutcome(c, "control", bam=str(control_bams[c.sample]))
        else:
            for c in controls:
                outcomes[c.sample] = SampleOutcome(c, "control", bam=c.bam)
        futures = {client.submit(_run_tumour, t, reference, bed, os.path.join(outdir, SAMPLES, t.sample), bg_path,
                                 aligners, primers, opts, threads, index_cache, genome, report_min_cov, command,
                                 mate_memory, pure=False, key=f"sample-{t.sample}"): t for t in parsed.tumours}
        for fut in as_completed(list(futures)):
            t = futures[fut]
            try:
                res = fut.result()
            except Exception as exc:            # the worker died (killed, out of memory): this sample only
                res = _Failure(f"its task failed: {_one_line(exc)}")
            if isinstance(res, _Failure):
                outcomes[t.sample] = SampleOutcome(t, "failed", error=res.message)
                log.warning(f"{t.sample}: failed: {res.message}")
                tick(f"{t.sample} failed")
            else:
                outcomes[t.sample] = SampleOutcome(t, "called", result=res)
                state = "reused" if not res.ran else f"{len(res.ran)} steps run"
                log.debug(f"{t.sample}: {state}")
                tick(f"{t.sample} done")
    log.debug(f"samples finished in {time.perf_counter() - t0:.1f} s")
    ordered = [outcomes[s.sample] for s in parsed.samples]
    result = CohortResult(outdir, parsed, ordered, bg_path, os.path.join(outdir, COHORT_TSV),
                          os.path.join(outdir, COHORT_HTML), dashboard=link)
    cn_bed = bed if plan is None else plan.insert_bed(os.path.join(outdir, "inserts.bed"))
    result.copy_number = _copy_numbers(result, reference, cn_bed, opts, threads, mate_memory)
    _write_outputs(result, bed)
    return result


def _copy_numbers(result: CohortResult, reference: str, bed: str, opts: CallOptions, threads: int,
                  mate_memory: int) -> dict[str, CopyNumberResult]:
    """Each called tumour's copy-number test against the control BAMs (none with fewer than three)."""
    from deepamp.counting.bam import count
    from deepamp.counting.result import load_counts
    from deepamp.models.copy_number import MIN_CONTROLS, CopyNumberOptions, copy_number_from_counts, read_amplicons

    controls = [o for o in result.samples if o.status == "control" and o.bam]
    if len(controls) < MIN_CONTROLS:
        log.info(f"copy number not tested: {len(controls)} control BAM(s), {MIN_CONTROLS} needed")
        return {}
    if not result.called:
        return {}
    try:
        amplicons = read_amplicons(bed)
        counted = [count(o.bam, reference=reference, bed=bed, options=opts.count, threads=threads,
                         mate_memory=mate_memory) for o in controls]
    except DeepampError as exc:
        log.warning(f"copy number not tested: {_one_line(exc)}")
        return {}
    options = CopyNumberOptions(count=opts.count)
    out: dict[str, CopyNumberResult] = {}
    for o in result.called:
        assert o.result is not None
        try:
            out[o.sample] = copy_number_from_counts(load_counts(o.result.counts), counted, amplicons,
                                                    options=options, sample_name=o.sample,
                                                    control_names=[c.sample for c in controls])
        except DeepampError as exc:
            log.warning(f"{o.sample}: copy number not tested: {_one_line(exc)}")
            continue
        for line in out[o.sample].summary_lines()[1:]:
            log.info(f"{o.sample}: copy number {line}")
    return out


def _write_copy_number(path: str, results: dict[str, CopyNumberResult]) -> None:
    """``copy_number.tsv``: one row per tumour and amplicon (complete or not at all)."""
    from deepamp.io.outputs import output_text
    from deepamp.models.copy_number import COLUMNS

    first = next(iter(results.values()))
    pct = f"{first.options.confidence * 100:g}"
    head = [f"#deepamp copy number: each tumour against {len(first.controls)} controls: "
            f"{', '.join(first.controls)}\n",
            f"#ratio = depth share of the amplicon against the controls' (log2_low/high: its {pct}% interval); "
            f"single-case t test (Crawford and Howell 1998), Holm-adjusted per tumour; call at padj < "
            f"{first.options.alpha:g}\n", "\t".join(("sample",) + COLUMNS) + "\n"]
    output_text(path, head + ["\t".join([sample] + r.cells()) + "\n" for sample, res in results.items()
                              for r in res])


def _safe(name: str) -> str:
    """A patient's name as a file name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name).lstrip(".") or "patient"


def _write_outputs(result: CohortResult, bed: str) -> None:
    """The patient pages, cohort.html and, last, cohort.tsv (each complete or not at all)."""
    from deepamp.report.cohort_page import CohortSampleView, patient_view, write_cohort_report, write_patient_page
    from deepamp.workflow.cohort_table import cohort_rows, sample_calls, write_cohort_tsv

    calls = {o.sample: sample_calls(o.result.phased_vcf, o.result.annotation_json)
             for o in result.samples if o.result is not None}
    views = []
    for p, rows in result.sheet.patients().items():
        done = [r for r in rows if r.sample in calls]
        if not done:
            continue
        files = {_safe(v.patient) for v in views}
        name = _safe(p)
        n = 2
        while name in files:                   # two patients that make the same file name
            name, n = f"{_safe(p)}-{n}", n + 1
        page_path = os.path.join(result.outdir, PATIENTS, name + ".html")
        entries = [(r.sample, r.timepoint, _result_of(result, r.sample).phased_vcf,
                    _result_of(result, r.sample).annotation_json) for r in done]
        view = patient_view(p, entries, f"{PATIENTS}/{name}.html")
        os.makedirs(os.path.dirname(page_path), exist_ok=True)
        write_patient_page(view, page_path)
        result.patient_pages[p] = page_path
        result.changes.extend((p, nm, tp, ev) for _, nm, tp, ev in view.changes())
        views.append(view)
    events = {k: v for view in views for k, v in view.events().items()}
    samples = []
    for o in result.samples:
        c = calls.get(o.sample)
        report = os.path.relpath(o.result.report, result.outdir) if o.result is not None else None
        samples.append(CohortSampleView(o.sample, o.row.patient, o.row.timepoint, o.row.role, o.status, o.error,
                                        report, c.alleles if c else {}, c.annotation if c else {}))
    bg = result.background
    if bg is not None and bg.startswith(result.outdir + os.sep):        # the page names files as a reader finds them
        bg = os.path.relpath(bg, result.outdir) + " (learned from the controls)"
    facts = [("Sample sheet", os.path.basename(result.sheet.path)), ("Amplicons", os.path.basename(bed)),
             ("Background", bg or "none (no controls, no background given)")]
    if result.copy_number:
        result.copy_number_table = os.path.join(result.outdir, COPY_NUMBER_TSV)
        _write_copy_number(result.copy_number_table, result.copy_number)
    write_cohort_report(result.report, samples, views, facts=facts, copy_number=result.copy_number)
    rows = cohort_rows([(o.row, o.status, calls.get(o.sample), o.error) for o in result.samples], events)
    write_cohort_tsv(result.table, rows)


def _result_of(result: CohortResult, sample: str) -> RunResult:
    """The RunResult of a called sample."""
    out = next(o.result for o in result.samples if o.sample == sample)
    assert out is not None
    return out
