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
from deepamp.errors import OptionError, ReferenceFileError
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
         matched_normal: str | os.PathLike[str] | CountResult | None = None,
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
    background : a panel of normals: a background file (``deepamp background``) or a loaded
        :class:`deepamp.models.background.Background`, learned from other people's healthy DNA
        (their real variants excluded): each (site, alt) is tested against its own error rate;
        default the quality model (LoFreq's null)
    control : control BAMs to learn that panel of normals from now, counted with the same options
        (exclusive with ``background``)
    matched_normal : the same patient's normal (a BAM/CRAM, counted with the same options, or its
        CountResult): the sample is tested against the normal's own alleles
        (:mod:`deepamp.models.matched_normal`), so an allele both carry is never called;
        exclusive with ``background`` and ``control``
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
    if matched_normal is not None and (background is not None or control):
        raise OptionError("a matched normal replaces the panel of normals: give one or the other")
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
    from deepamp.counting.assay_shape import DUPLICATE_WARNING, SAMPLE_READS, shapes_from_sample
    from deepamp.counting.bam import _count, count

    normal = matched_normal
    if matched_normal is not None and not isinstance(matched_normal, CountResult):
        normal = count(matched_normal, regions, bed=bed, reference=reference, options=opts.count,
                       threads=threads, qual_hist=False, mate_memory=mate_memory)
        source = f"matched:{os.path.abspath(os.fspath(matched_normal))}"
    # the assay-shape sample of every region is taken while counting (no second read of the BAM)
    counts, sample = _count(bam, regions, bed=bed, reference=reference, options=opts.count, threads=threads,
                            qual_hist=True, mate_memory=mate_memory, sample_reads=SAMPLE_READS)
    shapes = shapes_from_sample(counts.regions, sample)
    for s in shapes:
        if s.kind == "capture" and s.duplicate_share > DUPLICATE_WARNING and opts.count.flag_exclude & 0x400:
            log.warning(f"{os.fspath(bam)}: {s.duplicate_share:.0%} of the read pairs of {s.region} have the same "
                        f"ends as another one and are not flagged as duplicates; in capture data that is PCR "
                        f"duplication: mark duplicates (samtools markdup) or the evidence is overstated")
    result = _call(counts, os.fspath(reference), bg, source, opts, population, hotspots, normal, shapes,
                   os.fspath(bam))
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
                normal: CountResult | None = None, options: CallOptions | None = None,
                background_source: str | None = None, **overrides: Any) -> CallSet:
    """Call SNVs and indels from counts of any source (the kernel, a file, :meth:`CountResult.from_arrays`).

    Parameters
    ----------
    counts : the sample's CountResult
    reference : FASTA for indel normalisation and the VCF header (default: the one the counts name)
    background : background file or Background (a panel of normals; default: the quality model)
    normal : the matched normal's CountResult (same positions): the matched-normal model
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
    if normal is not None and background is not None:
        raise OptionError("a matched normal replaces the panel of normals: give one or the other")
    bg, source = _load_background(background, background_source)
    if normal is not None:
        source = background_source or f"matched:{normal.source.get('bam', 'counts')}"
    return _call(counts, ref, bg, source, opts, _open_population(opts), _load_hotspots(opts), normal)


def _call(counts: CountResult, ref: str | None, bg, source: str | None, opts: CallOptions, population,
          hotspots, normal: CountResult | None = None, shapes=None, bam: str | None = None) -> CallSet:
    from deepamp.calling.indels import call_indels, merge_sorted
    from deepamp.calling.snvs import call_snvs, site_stats

    if bg is not None:
        bg.check_counted_like(counts.options)
    if normal is not None and normal.options is not None and counts.options is not None \
            and normal.options != counts.options:
        raise ReferenceFileError(f"{normal.source.get('bam', 'the matched normal')}: counted with other options "
                                 f"than the sample ({'; '.join(normal.options.differences(counts.options))})")
    snvs, m, family_tests = call_snvs(counts, opts, background=bg, hotspots=hotspots, normal=normal) \
        if opts.snvs else ([], 0, {})
    indels, m_indel, notes, indel_families = call_indels(counts, opts, background=bg, reference=ref, normal=normal,
                                                         hotspots=hotspots) if opts.indels else ([], 0, [], {})
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
    panel = bg.panel_sha256 if bg is not None else None
    if normal is not None:
        from deepamp.models.background import panel_hash

        panel = panel_hash(normal.contig.astype(str), normal.pos, normal.ref.astype(str))
    tests = {"snv": m, **family_tests, "indel": m_indel, **{f"{k}_indel": v for k, v in indel_families.items()}}
    result = CallSet(counts, calls, opts, tests,
                     site_stats(counts, opts), list(notes), ref, source, panel, warnings=warnings,
                     assay=list(shapes or []), null_background=bg, normal=normal)
    if opts.filters is not None:
        orientation = None
        if bam is not None and opts.filters.orientation_posterior is not None:
            orientation = _orientation(result, bam, ref, hotspots, normal, bg)
        _apply(result, population, orientation)
    return result


def _orientation(result: CallSet, bam: str, reference: str | None, hotspots, normal, bg) -> dict[int, float]:
    """Posterior of a read-orientation artefact for the SNV calls of capture regions (by call index)."""
    from deepamp.calling.snvs import call_snvs
    from deepamp.counting.orientation import orientation_counts
    from deepamp.models.orientation_bias import artefact_posterior, type_artefacts

    counts = result.counts
    capture = {i for i, s in enumerate(result.assay) if s.kind == "capture"}
    region_of = _region_index(counts)
    mine = [i for i, c in enumerate(result.calls) if c.kind == "snv" and region_of(c.chrom, c.pos) in capture]
    if not mine:
        return {}
    # the sample's own candidates (uncorrected p < 0.05) teach each substitution type's artefact share
    loose = result.options.replace(alpha=0.05, mtc="none", filters=None, indels=False)
    cand = [c for c in call_snvs(counts, loose, background=bg, hotspots=hotspots, normal=normal).calls
            if region_of(c.chrom, c.pos) in capture]
    cand = sorted(cand, key=lambda c: c.logp)[:MAX_ORIENTATION_SITES]
    sites = [(c.chrom, c.pos - 1) for c in cand] + [(result.calls[i].chrom, result.calls[i].pos - 1) for i in mine]
    refs = [c.ref for c in cand] + [result.calls[i].ref for i in mine]
    oc = orientation_counts(bam, sites, reference=reference, ref_bases=refs, options=counts.options)
    code = "ACGT".index
    types = type_artefacts([code(c.ref) for c in cand], [code(c.alt) for c in cand], oc[:len(cand)])
    calls = [result.calls[i] for i in mine]
    post = artefact_posterior([code(c.ref) for c in calls], [code(c.alt) for c in calls], oc[len(cand):], types)
    return dict(zip(mine, post.tolist()))


#: Candidate sites read again for the orientation-artefact prior (the most significant ones).
MAX_ORIENTATION_SITES = 3000


def _region_index(counts: CountResult):
    """A function (contig, 1-based pos) -> index of the counted region holding it (-1 if none)."""
    spans = [(r.contig, r.start, r.end) for r in counts.regions]

    def find(contig: str, pos: int) -> int:
        return next((i for i, (c, a, b) in enumerate(spans) if c == contig and a < pos <= b), -1)
    return find


def _apply(result: CallSet, population, orientation: dict[int, float] | None = None) -> None:
    """Apply ``result.options.filters`` to the calls (FILTER names, SBA, POPAF, OBP)."""
    import math

    import numpy as np

    from deepamp.filters import apply_filters
    from deepamp.models.strand_bias import strand_bias_phred

    calls = result.calls
    region_of = _region_index(result.counts)
    kinds = [s.kind for s in result.assay]
    assay = [kinds[region_of(c.chrom, c.pos)] if kinds and region_of(c.chrom, c.pos) >= 0 else "amplicon"
             for c in calls]
    obp = None if orientation is None else [orientation.get(i, math.nan) for i in range(len(calls))]
    fo = apply_filters(result.options.filters, dp=[c.dp for c in calls], af=[c.af for c in calls],
                       qual=[c.qual for c in calls], dp4=np.array([c.dp4 for c in calls]).reshape(len(calls), 4),
                       sb=[strand_bias_phred(*c.dp4) for c in calls], is_indel=[c.is_indel for c in calls],
                       alleles=[(c.chrom, c.pos, c.ref, c.alt) for c in calls], population=population,
                       assay=assay, orientation=obp,
                       where=[f"call {c.chrom}:{c.pos} {c.ref}>{c.alt}" for c in calls])
    for i, c in enumerate(calls):
        c.filters = fo.names(i)
        if not math.isnan(fo.sba[i]):
            c.sba = float(fo.sba[i])
        if not math.isnan(fo.popaf[i]):
            c.popaf = float(fo.popaf[i])
        if not math.isnan(fo.obp[i]):
            c.obp = round(float(fo.obp[i]), 4)
    result.filter_descriptions = fo.descriptions
    for note in fo.notes:
        log.warning(note)
    result.warnings += fo.notes
