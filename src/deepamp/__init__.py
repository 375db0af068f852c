"""deepamp: fast, exact low-frequency variant calling for deep PCR amplicons.

Library API (what ``deepamp call``, ``cohort``, ``demo`` and ``run`` use)::

    import deepamp

    calls = deepamp.call("tumour.bam", reference="GRCh38.fa", bed="amplicons.bed",
                         background="panel.bg.npz", min_bq=6)
    calls.write_vcf("tumour.vcf.gz")            # the VCF `deepamp call` writes
    for c in calls:                             # chrom, pos (1-based), ref, alt, af, dp, qual, filter, info
        print(c.chrom, c.pos, c.ref, c.alt, c.af, c.filter)

Counting and models:

* :func:`count` -- per-position x symbol x strand counts of a BAM/CRAM (:class:`CountResult`);
  :func:`count_coverage` -- drop-in for pysam's ``count_coverage``;
  :meth:`CountResult.from_arrays` -- counts from any other source; :func:`load_counts`.
* :func:`call` / :func:`call_counts` -- the calling pipeline, from a BAM or from counts (:class:`CallSet`
  of :class:`Call`); :meth:`CallSet.detection_limits` -- the VAF each tested site would be called at
  with 80 % probability by that run's own test, per site and per amplicon.
* :func:`learn_background` / :func:`load_background` -- per-site error background from healthy controls
  (:class:`Background`).
* Options: :class:`CountOptions` (which reads and bases count), :class:`CallOptions` (models, multiple
  testing, filters), :class:`FilterOptions` (``lofreq filter``'s filters; :data:`PRESETS`).
* :func:`run` -- one sample from FASTQs (or a BAM) to the HTML report: both aligners, primer clipping,
  background, calls, strong/weak evidence, phasing, annotation; resumable (:class:`RunResult`).
* :func:`cohort` -- a sample sheet (controls and patients over time, FASTQs or BAMs) through the whole
  ``deepamp run`` flow on Dask, resumable, with ``cohort.tsv``, ``cohort.html`` and a page per patient
  (:class:`CohortResult`; the sheet: :func:`read_sample_sheet`).
* :func:`copy_number` -- per-amplicon copy-number gains and losses of a sample from its depth share
  against healthy controls (single-case t test, Holm-adjusted; :class:`CopyNumberResult`,
  :class:`CopyNumberOptions`).
* Errors: every user error is a :class:`DeepampError` subclass with a one-line message naming the
  file or option (:mod:`deepamp.errors`).

The compiled core is imported on first use, so pure-Python parts (annotation,
simulation, VCF handling) load without paying for it.
"""

from __future__ import annotations

from importlib import import_module as _import_module

from deepamp._version import __version__

#: typing.TYPE_CHECKING without importing typing at start-up (type checkers read the name as true)
TYPE_CHECKING = False

_LAZY = {
    "count": "deepamp.counting.bam",
    "count_coverage": "deepamp.counting.bam",
    "CountResult": "deepamp.counting.result",
    "load_counts": "deepamp.counting.result",
    "call": "deepamp.calling.call",
    "call_counts": "deepamp.calling.call",
    "CallSet": "deepamp.calling.callset",
    "Call": "deepamp.calling.callset",
    "CountOptions": "deepamp.options",
    "CallOptions": "deepamp.options",
    "FilterOptions": "deepamp.options",
    "PRESETS": "deepamp.options",
    "Background": "deepamp.models.background",
    "load_background": ("deepamp.models.background", "load"),
    "learn_background": ("deepamp.models.background_fit", "learn"),
    "DeepampError": "deepamp.errors",
    "run": "deepamp.workflow.run",
    "RunResult": "deepamp.workflow.run",
    "cohort": "deepamp.workflow.cohort",
    "CohortResult": "deepamp.workflow.cohort",
    "read_sample_sheet": "deepamp.workflow.sample_sheet",
    "copy_number": "deepamp.models.copy_number",
    "CopyNumberResult": "deepamp.models.copy_number",
    "CopyNumberOptions": "deepamp.models.copy_number",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # for type checkers and IDEs; at run time the names load on first use
    from deepamp.calling.call import call, call_counts
    from deepamp.calling.callset import Call, CallSet
    from deepamp.counting.bam import count, count_coverage
    from deepamp.counting.result import CountResult, load_counts
    from deepamp.errors import DeepampError
    from deepamp.models.copy_number import CopyNumberOptions, CopyNumberResult, copy_number
    from deepamp.models.background import Background
    from deepamp.models.background import load as load_background
    from deepamp.models.background_fit import learn as learn_background
    from deepamp.options import PRESETS, CallOptions, CountOptions, FilterOptions
    from deepamp.workflow.cohort import CohortResult, cohort
    from deepamp.workflow.run import RunResult, run
    from deepamp.workflow.sample_sheet import read_sample_sheet


def __getattr__(name: str) -> object:
    try:
        where = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'deepamp' has no attribute {name!r}") from None
    module, attr = (where, name) if isinstance(where, str) else where
    value = getattr(_import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
