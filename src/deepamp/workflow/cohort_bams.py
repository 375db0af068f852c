"""``deepamp cohort IN.bam...``: call a list of BAMs in parallel with Dask (the BAM-list form).

The sample-sheet form (FASTQs or BAMs, controls and patients over time, the
whole ``deepamp run`` flow per sample, resumable) is :mod:`deepamp.workflow.cohort`;
this form calls BAMs only.

Each sample is one Dask task that runs exactly what ``deepamp call`` runs on
it, with the same options, so a sample's VCF is the one ``deepamp call``
would write.  Tasks run in local worker processes (``--workers N``) or on a
``dask.distributed`` cluster (``--scheduler ADDRESS``, needs the
``distributed`` package on both sides).  With ``--control``, the background
is learned once, in this process, and every task tests against it.

The output directory holds:

* ``SAMPLE.vcf.gz`` (+ ``.tbi``) per sample;
* ``cohort.tsv``: one row per (sample, variant) with its FILTER, QUAL, DP,
  AF and, per variant, how many samples carry it (all / PASS).  A variant
  that recurs at low AF across many samples is more likely a systematic
  error of the assay than a mutation: the column makes that visible;
* ``background.npz`` when the background was learned from ``--control``.

The directory is built under a temporary name next to it and renamed when
every sample has been called, so a failed run leaves nothing behind.
Sample names come from the BAM's read groups (``SM``, one per file), else
from the file name; two samples with the same name are an error.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Sequence
from dataclasses import dataclass

from deepamp.errors import DeepampError, InputFileError, OptionError, OutputError
from deepamp.io.outputs import work_directory
from deepamp.options import DEFAULT_MATE_MEMORY, CallOptions

#: Columns of ``cohort.tsv``.
TSV_COLUMNS = ("sample", "chrom", "pos", "ref", "alt", "filter", "qual", "dp", "af",
               "n_samples", "n_samples_pass")


@dataclass(frozen=True)
class CohortCall:
    """One variant of one sample, as written to ``cohort.tsv``."""

    sample: str
    chrom: str
    pos: int        # 1-based, as in the VCF
    ref: str
    alt: str
    filter: str     # "PASS" or the failed filters joined by ";"
    qual: float
    dp: int
    af: float


def sample_name(bam: str) -> str:
    """The sample of a BAM: its read groups' single ``SM``, else the file name without extension."""
    import pysam

    try:
        with pysam.AlignmentFile(bam, check_sq=False) as fh:
            groups = fh.header.to_dict().get("RG", [])
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{bam}: cannot read the BAM header ({exc})") from None
    names = {rg["SM"] for rg in groups if rg.get("SM")}
    if len(names) > 1:
        raise InputFileError(f"{bam}: read groups name {len(names)} samples ({', '.join(sorted(names))}); "
                             "deepamp cohort takes one sample per BAM")
    if names:
        return names.pop()
    base = os.path.basename(bam)
    for ext in (".bam", ".cram", ".sam"):
        if base.endswith(ext):
            return base[: -len(ext)]
    return base


def _safe(name: str) -> str:
    """A sample name as a file name."""
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "sample"


def call_sample(bam: str, out_vcf: str, sample: str, *, reference: str, bed: str | None,
                regions: list[str] | None, background: str | None, background_source: str | None,
                options: CallOptions, threads: int, mate_memory: int, command: str
                ) -> list[CohortCall] | tuple[str, str]:
    """Call one BAM with :func:`deepamp.call` and write its VCF (a Dask task).

    Returns the sample's calls, or for a deepamp error its class name and
    message: an exception raised in a worker process would come back with the
    worker's traceback folded into its message.
    """
    from deepamp.calling.call import call

    try:
        result = call(bam, reference=reference, bed=bed, regions=regions, background=background,
                      background_source=background_source, options=options, threads=threads,
                      mate_memory=mate_memory)
        result.write_vcf(out_vcf, command=command)
    except DeepampError as exc:
        return type(exc).__name__, str(exc)
    return [CohortCall(sample, c.chrom, c.pos, c.ref, c.alt, c.filter, c.qual, c.dp, c.af) for c in result]


def write_table(path: str, calls: list[CohortCall]) -> None:
    """``cohort.tsv``: the calls sorted by position then sample, with per-variant recurrence."""
    from collections import Counter

    key = lambda c: (c.chrom, c.pos, c.ref, c.alt)  # noqa: E731
    n_all = Counter(key(c) for c in calls)
    n_pass = Counter(key(c) for c in calls if c.filter == "PASS")
    with open(path, "w") as fh:
        fh.write("\t".join(TSV_COLUMNS) + "\n")
        for c in sorted(calls, key=lambda c: (c.chrom, c.pos, c.ref, c.alt, c.sample)):
            fh.write(f"{c.sample}\t{c.chrom}\t{c.pos}\t{c.ref}\t{c.alt}\t{c.filter}\t{c.qual:.2f}\t{c.dp}\t"
                     f"{c.af:.6g}\t{n_all[key(c)]}\t{n_pass[key(c)]}\n")


def _compute(tasks: list, workers: int, scheduler: str | None) -> list:
    """Run Dask delayed tasks locally (processes) or on a distributed cluster."""
    import dask

    if scheduler:
        try:
            from dask.distributed import Client
        except ImportError:
            raise InputFileError("--scheduler needs dask.distributed: pip install distributed") from None
        with Client(scheduler) as client:
            return list(client.compute(tasks, sync=True))
    if workers == 1:
        return list(dask.compute(*tasks, scheduler="synchronous"))
    return list(dask.compute(*tasks, scheduler="processes", num_workers=workers))


@contextlib.contextmanager
def _staging(out_dir: str):
    """A temporary directory next to out_dir, renamed to out_dir on success."""
    out_dir = os.path.abspath(out_dir)
    if os.path.exists(out_dir):
        raise OutputError(f"{out_dir}: already exists (deepamp cohort writes a new directory)")
    with work_directory(out_dir, "tmp", mode=0o777) as tmp:      # renamed to out_dir when complete
        yield tmp
        os.rename(tmp, out_dir)


def run_cohort(bams: Sequence[str], out_dir: str, *, reference: str, bed: str | None = None,
               regions: Sequence[str] | None = None, background: str | None = None,
               control: Sequence[str] | None = None, options: CallOptions | None = None, threads: int = 1,
               mate_memory: int = DEFAULT_MATE_MEMORY, workers: int = 1, scheduler: str | None = None,
               command: str = "deepamp cohort") -> list[CohortCall]:
    """Call every BAM as one Dask task into a new directory ``out_dir`` (see the module docstring).

    Returns every call of every sample.

    Raises
    ------
    InputFileError
        dask missing, a BAM missing, two samples with the same name, or a sample's error (one line).
    OptionError
        ``workers < 1``, or ``background`` and ``control`` together.
    OutputError
        ``out_dir`` exists or cannot be created; nothing is left behind.
    """
    try:
        import dask
    except ImportError:
        raise InputFileError("deepamp cohort needs dask: pip install 'deepamp[cohort]'") from None
    from deepamp.calling.call import resolve_options

    options = resolve_options(options, {})
    if workers < 1:
        raise OptionError("workers must be >= 1")
    if background and control:
        raise OptionError("give a background or controls to learn it from, not both")
    names: dict[str, str] = {}
    for bam in bams:
        if not os.path.exists(bam):
            raise InputFileError(f"{bam}: file not found")
        name = sample_name(bam)
        if name in names:
            raise InputFileError(f"{bam}: sample {name!r} is also {names[name]}")
        names[name] = bam
    regions = list(regions) if regions else None
    with _staging(out_dir) as tmp:
        source = None
        if control:
            from deepamp.models.background_fit import learn

            bg = learn(control, reference=reference, bed=bed, regions=regions, options=options.count,
                       threads=threads, mate_memory=mate_memory)
            background = os.path.join(tmp, "background.npz")
            bg.save(background)
            # the VCF headers name the file where it will be once the directory is renamed
            source = os.path.join(os.path.abspath(out_dir), "background.npz")
        vcfs = {name: os.path.join(tmp, _safe(name) + ".vcf.gz") for name in names}
        if len(set(vcfs.values())) < len(vcfs):
            raise InputFileError("two sample names map to the same file name: " + ", ".join(sorted(names)))
        tasks = [dask.delayed(call_sample, pure=False)(
            bam, vcfs[name], name, reference=reference, bed=bed, regions=regions, background=background,
            background_source=source, options=options, threads=threads, mate_memory=mate_memory,
            command=command) for name, bam in names.items()]
        try:
            results = _compute(tasks, workers, scheduler)
        except Exception as exc:  # a worker died: name what happened, in one line
            raise DeepampError(f"a sample's task failed: {type(exc).__name__}: "
                               f"{str(exc).splitlines()[0] if str(exc) else ''}") from None
        calls: list[CohortCall] = []
        for res in results:
            if isinstance(res, tuple):
                import deepamp.errors as errors

                raise getattr(errors, res[0], DeepampError)(res[1])
            calls.extend(res)
        write_table(os.path.join(tmp, "cohort.tsv"), calls)
    return calls
