"""The calling pipeline of one sample: :func:`call` (BAM/CRAM) and :func:`call_counts` (any counts).

Every front end -- ``deepamp call``, ``deepamp cohort``, ``deepamp demo``, a
user's script -- calls a sample through these two functions::

    counts  --  quality model, or background (file or learned from controls now)
            --  SNV tests (panel / hotspot families)  +  indel tests (own family)
            --  filters over arrays (FilterOptions)
            --> CallSet  (.write_vcf, iteration, arrays)
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from deepamp.calling.callset import CallSet
from deepamp.counting.result import CountResult
from deepamp.errors import OptionError
from deepamp.io.regions import Region
from deepamp.options import DEFAULT_MATE_MEMORY, CallOptions

__all__ = ["call", "call_counts", "resolve_options"]

log = logging.getLogger("deepamp.call")


def resolve_options(options: CallOptions | None, overrides: dict[str, Any]) -> CallOptions:
    """``options`` (default CallOptions()) with keyword overrides (CallOptions or CountOptions fields)."""
    options = options or CallOptions()
    if not isinstance(options, CallOptions):
        raise OptionError(f"options must be a CallOptions, not {type(options).__name__}")
    return options.replace(**overrides) if overrides else options


def _load_background(background, path_hint: str | None = None):
    from deepamp.models.background import Background, load

    if background is None or isinstance(background, Background):
        return background, (path_hint or (None if background is None else os.path.abspath(background.path)))
    return load(background), path_hint or os.path.abspath(os.fspath(background))


def call(bam: str | os.PathLike[str], *, reference: str | os.PathLike[str],
         bed: str | os.PathLike[str] | None = None, regions: Sequence[str | Region] | str | None = None,
         background: Any = None, control: Sequence[str | os.PathLike[str]] | None = None,
         options: CallOptions | None = None, threads: int = 1, mate_memory: int = DEFAULT_MATE_MEMORY,
         background_source: str | None = None, **overrides: Any) -> CallSet:
    """Call low-frequency SNVs and indels in one sample.

    Parameters
    ----------
    bam : indexed, coordinate-sorted BAM or CRAM
    reference : reference FASTA (a samtools-style slice record ``chr2:29191796-29223795`` works
        as a window of ``chr2``)
    bed, regions : the panel: a BED of amplicons and/or region strings (``chr2:100-200``, 1-based);
        at least one is needed
    background : a background file (``deepamp background``) or a loaded
        :class:`deepamp.models.background.Background`: each (site, alt) is tested against
        its own rate; default the quality model (LoFreq's null)
    control : control BAMs to learn the background from now, counted with the same options
        (exclusive with ``background``)
    options : :class:`deepamp.options.CallOptions`; keyword overrides of its fields and of its
        CountOptions' fields are welcome (``call(..., min_bq=10, alpha=0.05)``)
    threads : counting threads (results are identical for any value)
    mate_memory : bytes of waiting first mates per chunk being counted (see :func:`deepamp.count`)
    background_source : how the VCF header names the background (default: its path)

    Returns
    -------
    CallSet

    Raises
    ------
    OptionError
        Invalid options, no regions, or both ``background`` and ``control``.
    InputFileError, IndexFileError, UnsortedError, TruncatedFileError, ReferenceFileError, RegionError
        A bad input (one line naming the file); every input is checked before counting.
    """
    opts = resolve_options(options, overrides)
    if background is not None and control:
        raise OptionError("give a background or controls to learn it from, not both")
    if bed is None and not regions:
        raise OptionError("give the regions to analyse (a BED of amplicons or region strings)")
    # every input is opened and checked before the (slow) counting
    population = _open_population(opts)
    hotspots = _load_hotspots(opts)
    bg, source = _load_background(background, background_source)
    if control:
        from deepamp.models.background_fit import learn

        bg = learn(control, reference=reference, bed=bed, regions=regions, options=opts.count, threads=threads,
                   mate_memory=mate_memory)
        source = background_source or "controls:" + ";".join(os.path.abspath(c) for c in control)
    if bg is not None:
        bg.check_counted_like(opts.count)
    from deepamp.counting.bam import count


    counts = count(bam, regions, bed=bed, reference=reference, options=opts.count, threads=threads,
                   qual_hist=True, mate_memory=mate_memory)
    result = _call(counts, os.fspath(reference), bg, source, opts, population, hotspots)
    if control and bg is not None:
        result.background_summary = bg.summary_lines()
    return result


def _open_population(opts: CallOptions):
    if opts.filters is not None and opts.filters.population_vcf:
        from deepamp.io.population import PopulationVcf

        return PopulationVcf(opts.filters.population_vcf)
    return None


def _load_hotspots(opts: CallOptions):
    if not opts.hotspots:
        return None
    from deepamp.calling.hotspots import load_hotspots

    return load_hotspots(None if opts.hotspots == "shipped" else opts.hotspots)


def call_counts(counts: CountResult, *, reference: str | os.PathLike[str] | None = None, background: Any = None,
                options: CallOptions | None = None, background_source: str | None = None,
                **overrides: Any) -> CallSet:
    """Call SNVs and indels from counts of any source (the kernel, a file, :meth:`CountResult.from_arrays`).

    Parameters
    ----------
    counts : the sample's CountResult
    reference : FASTA for indel normalisation and the VCF header (default: the one the counts name)
    background : background file or Background (default: the quality model)
    options : CallOptions (keyword overrides welcome); ``options.count`` is not used to count
        here but must match the background's when one is given

    Returns
    -------
    CallSet

    Raises
    ------
    OptionError
        The quality model on counts without quality histograms and without ``base_error_rate``.
    ReferenceFileError
        The background was learned on another panel or reference, or with other counting options.
    """
    opts = resolve_options(options, overrides)
    ref = os.fspath(reference) if reference is not None else counts.source.get("reference")
    bg, source = _load_background(background, background_source)
    return _call(counts, ref, bg, source, opts, _open_population(opts), _load_hotspots(opts))


def _call(counts: CountResult, ref: str | None, bg, source: str | None, opts: CallOptions, population,
          hotspots) -> CallSet:
    from deepamp.calling.indels import call_indels, merge_sorted
    from deepamp.calling.snvs import call_snvs, site_stats

    if bg is not None:
        bg.check_counted_like(counts.options)
    snvs, m, family_tests = call_snvs(counts, opts, background=bg, hotspots=hotspots) if opts.snvs else ([], 0, {})
    indels, m_indel, notes = call_indels(counts, opts, background=bg, reference=ref) if opts.indels \
        else ([], 0, [])
    calls = merge_sorted(snvs, indels)
    warnings = []
    if hotspots:
        from deepamp.calling.hotspots import ref_mismatches

        wrong = ref_mismatches(counts.contig, counts.pos, counts.ref, hotspots)
        if wrong:
            h, here = wrong[0]
            message = (f"hotspots: {len(wrong)} alleles have another REF than the reference (first: {h.contig}:"
                       f"{h.pos} {h.ref}>{h.alt}, the reference has {here}); another genome build? They are "
                       "not tested as hotspots")
            log.warning(message)
            warnings.append(message)
    result = CallSet(counts, calls, opts, {"snv": m, **family_tests, "indel": m_indel},
                     site_stats(counts, opts), list(notes), ref, source,
                     None if bg is None else bg.panel_sha256, warnings=warnings)
    if opts.filters is not None:
        _apply(result, population)
    return result


def _apply(result: CallSet, population) -> None:
    """Apply ``result.options.filters`` to the calls (FILTER names, SBA, POPAF)."""
    import math

    import numpy as np

    from deepamp.filters import apply_filters
    from deepamp.models.strand_bias import strand_bias_phred

    calls = result.calls
    fo = apply_filters(result.options.filters, dp=[c.dp for c in calls], af=[c.af for c in calls],
                       qual=[c.qual for c in calls], dp4=np.array([c.dp4 for c in calls]).reshape(len(calls), 4),
                       sb=[strand_bias_phred(*c.dp4) for c in calls], is_indel=[c.is_indel for c in calls],
                       alleles=[(c.chrom, c.pos, c.ref, c.alt) for c in calls], population=population,
                       where=[f"call {c.chrom}:{c.pos} {c.ref}>{c.alt}" for c in calls])
    for i, c in enumerate(calls):
        c.filters = fo.names(i)
        if not math.isnan(fo.sba[i]):
            c.sba = float(fo.sba[i])
        if not math.isnan(fo.popaf[i]):
            c.popaf = float(fo.popaf[i])
    result.filter_descriptions = fo.descriptions
    for note in fo.notes:
        log.warning(note)
    result.warnings += fo.notes
