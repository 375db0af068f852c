"""Copy number from amplicon depth: each amplicon's depth share in a sample against healthy controls.

For every sample (the one tested and each control) and every amplicon ``a``:

* ``d_a`` is the median depth (bases and deletions, mates merged) over the positions of the
  amplicon that no other amplicon of the panel covers;
* ``e_a``, the amplicon's efficiency, is the controls' mean of ``log2(d_a)`` after each control is
  centred on its own mean over the amplicons;
* ``y_a = (log2(d_a) - e_a) - median of (log2(d_b) - e_b)`` over the reference amplicons ``b``:
  the amplicons of the *other genes* when at least two other genes are on the panel (so a change
  of a whole gene stays visible), otherwise every other amplicon.  The gene of an amplicon is its
  BED name up to the first ``_`` (``ALK_ex23`` -> ``ALK``).  This removes the sample's total depth,
  and the median keeps one changed reference amplicon from moving it.

With ``x`` the sample's ``y_a`` and ``mean_c``, ``sd_c`` the controls', the log2 ratio is
``x - mean_c``.  It is tested with the single-case t test of Crawford and Howell (1998, Clin
Neuropsychol 12:482-486), which compares one case with a small control sample:
``t = (x - mean_c) / (sd_c * sqrt(1 + 1/n))`` on ``n - 1`` degrees of freedom (two-sided), and its
interval is the same t distribution's (a prediction interval for the log2 ratio).  p-values are
adjusted across the amplicons by Holm's step-down method (Holm 1979, Scand J Statist 6:65-70); an
amplicon with adjusted p below ``alpha`` is called ``gain`` or ``loss``.

At least 3 controls are needed (2 degrees of freedom); 8 or more give a usable test.  The
controls must be sequenced with the same panel (ideally in the same run) and counted alike.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from deepamp.counting.result import CountResult
from deepamp.errors import FormatError, InputFileError, OptionError, RegionError
from deepamp.io.regions import Region, read_bed
from deepamp.models.multiple_testing import holm
from deepamp.models.student_t import t_quantile, t_two_sided
from deepamp.options import CountOptions

__all__ = ["CopyNumberOptions", "CopyNumberRow", "CopyNumberResult", "copy_number", "copy_number_from_counts",
           "amplicon_depths", "read_amplicons", "COLUMNS", "MIN_CONTROLS", "RECOMMENDED_CONTROLS"]

#: Fewest controls the test accepts, and the number it is meant for.
MIN_CONTROLS = 3
RECOMMENDED_CONTROLS = 8
#: Added to every median depth before the logarithm (an amplicon with no reads stays finite).
PSEUDO_DEPTH = 0.5


def _check_level(name: str, value: float) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 < value < 1.0:
        raise OptionError(f"{name} must be a number in (0, 1), not {value!r}")


@dataclass(frozen=True)
class CopyNumberOptions:
    """Options of :func:`copy_number`.

    Attributes
    ----------
    count : which reads and bases count (sample and controls alike)
    alpha : significance level of the Holm-adjusted p-values (default 0.05)
    confidence : level of the log2-ratio interval (default 0.95)
    """

    count: CountOptions = field(default_factory=CountOptions)
    alpha: float = 0.05
    confidence: float = 0.95

    def __post_init__(self) -> None:
        if not isinstance(self.count, CountOptions):
            raise OptionError(f"count must be CountOptions, not {type(self.count).__name__}")
        _check_level("alpha", self.alpha)
        _check_level("confidence", self.confidence)


@dataclass(frozen=True)
class CopyNumberRow:
    """One amplicon's result.  ``start``/``end`` are the BED's 0-based half-open coordinates;
    ``depth`` the sample's median depth, ``control_depth`` the controls' mean of theirs;
    ``log2_low``/``log2_high`` the interval of ``log2_ratio``; ``p`` two-sided, ``padj`` Holm-adjusted;
    ``call`` is ``"gain"``, ``"loss"`` or ``""`` (``.`` in the TSV)."""

    amplicon: str
    gene: str
    contig: str
    start: int
    end: int
    depth: float
    control_depth: float
    log2_ratio: float
    log2_low: float
    log2_high: float
    t: float
    df: int
    p: float
    padj: float
    call: str

    @property
    def ratio(self) -> float:
        """The depth ratio to the controls, ``2 ** log2_ratio``."""
        return 2.0 ** self.log2_ratio

    @property
    def ratio_interval(self) -> tuple[float, float]:
        """The interval of :attr:`ratio`."""
        return 2.0 ** self.log2_low, 2.0 ** self.log2_high

    def cells(self) -> list[str]:
        """The row's TSV cells, in :data:`COLUMNS` order."""
        return [self.amplicon, self.gene, self.contig, str(self.start), str(self.end), f"{self.depth:.1f}",
                f"{self.control_depth:.1f}", f"{self.ratio:.4f}", f"{self.log2_ratio:.4f}", f"{self.log2_low:.4f}",
                f"{self.log2_high:.4f}", f"{self.t:.4f}", str(self.df), f"{self.p:.4g}", f"{self.padj:.4g}",
                self.call or "."]


#: Columns of the copy-number TSV.
COLUMNS = ("amplicon", "gene", "contig", "start", "end", "depth", "control_depth", "ratio", "log2_ratio",
            "log2_low", "log2_high", "t", "df", "p", "padj", "call")


@dataclass(frozen=True)
class CopyNumberResult:
    """Per-amplicon copy-number test of one sample against controls; iterate for the rows.

    Attributes
    ----------
    rows : one :class:`CopyNumberRow` per amplicon, in BED order
    sample : the sample's name (read group SM, else its file)
    controls : the controls' names
    options : the :class:`CopyNumberOptions` used
    """

    rows: tuple[CopyNumberRow, ...]
    sample: str
    controls: tuple[str, ...]
    options: CopyNumberOptions

    def __iter__(self) -> Iterator[CopyNumberRow]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    @property
    def calls(self) -> tuple[CopyNumberRow, ...]:
        """The amplicons called ``gain`` or ``loss``."""
        return tuple(r for r in self.rows if r.call)

    def summary_lines(self) -> list[str]:
        """What was tested and called (one line each)."""
        opts = self.options
        out = [f"{self.sample}: {len(self.rows)} amplicons tested against {len(self.controls)} controls "
               f"(single-case t test, Holm-adjusted, alpha {opts.alpha:g}): {len(self.calls)} called"]
        out += [f"{r.call} {r.amplicon}: ratio {r.ratio:.2f} ({r.ratio_interval[0]:.2f}-{r.ratio_interval[1]:.2f}), "
                f"padj {r.padj:.2g}" for r in self.calls]
        if len(self.controls) < RECOMMENDED_CONTROLS:
            out.append(f"only {len(self.controls)} controls: {RECOMMENDED_CONTROLS} or more give a usable test")
        return out

    def write_tsv(self, path: str | os.PathLike[str]) -> None:
        """Write the table as TSV (``-``: standard output), atomically: complete or not at all."""
        from deepamp.io.outputs import staged

        pct = f"{self.options.confidence * 100:g}"
        with staged(path) as (tmp,), open(tmp, "w", encoding="utf-8", newline="") as fh:
            fh.write(f"#deepamp copy number: sample {self.sample}; {len(self.controls)} controls: "
                     f"{', '.join(self.controls)}\n")
            fh.write("#ratio = depth share of the amplicon against the controls' (log2_ratio its log2, "
                     f"log2_low/high its {pct}% interval); t, df, p: single-case t test (Crawford and Howell "
                     f"1998); padj: Holm-adjusted; call at padj < {self.options.alpha:g}; start/end 0-based as "
                     "in BED\n")
            fh.write("\t".join(COLUMNS) + "\n")
            for r in self.rows:
                fh.write("\t".join(r.cells()) + "\n")


# ---------------------------------------------------------------- the computation

def _gene(name: str) -> str:
    return name.split("_", 1)[0]


def read_amplicons(bed: str | os.PathLike[str]) -> list[Region]:
    """The BED's amplicons, named (``contig:start-end`` when unnamed), names unique."""
    amps = [r if r.name else Region(r.contig, r.start, r.end, f"{r.contig}:{r.start + 1}-{r.end}")
            for r in read_bed(bed)]
    seen: set[str] = set()
    for a in amps:
        if a.name in seen:
            raise FormatError(f"{os.fspath(bed)}: amplicon name {a.name!r} is used twice")
        seen.add(a.name)
    if len(amps) < 2:
        raise RegionError(f"{os.fspath(bed)}: copy number needs at least 2 amplicons (each is measured "
                          "against the others)")
    return amps


def amplicon_depths(counts: CountResult, amplicons: Sequence[Region]) -> np.ndarray:
    """Median depth (bases and deletions) of each amplicon over the positions no other amplicon covers
    (all of its positions when others cover every one).

    Raises
    ------
    RegionError
        An amplicon has no counted position.
    """
    depth = counts.depth_with_deletions
    out = np.empty(len(amplicons), np.float64)
    for i, a in enumerate(amplicons):
        inside = (counts.contig == a.contig) & (counts.pos >= a.start) & (counts.pos < a.end)
        if not inside.any():
            raise RegionError(f"amplicon {a.name} ({a}) has no counted position")
        shared = np.zeros_like(inside)
        for j, b in enumerate(amplicons):
            if j != i and b.contig == a.contig and b.start < a.end and a.start < b.end:
                shared |= (counts.contig == b.contig) & (counts.pos >= b.start) & (counts.pos < b.end)
        own = inside & ~shared
        out[i] = float(np.median(depth[own if own.any() else inside]))
    return out


def _relative(logd: np.ndarray, efficiency: np.ndarray, reference_sets: list[np.ndarray]) -> np.ndarray:
    """Each amplicon's log2 depth over its efficiency, less the median of the same over its reference
    amplicons (one sample; the median is taken after the efficiencies are removed, so it compares like
    with like)."""
    level = logd - efficiency
    return np.array([level[i] - np.median(level[ref]) for i, ref in enumerate(reference_sets)])


def _reference_sets(amplicons: Sequence[Region]) -> list[np.ndarray]:
    genes = [_gene(a.name) for a in amplicons]
    out = []
    for i, g in enumerate(genes):
        others = [j for j in range(len(amplicons)) if genes[j] != g]
        if len({genes[j] for j in others}) < 2:
            others = [j for j in range(len(amplicons)) if j != i]
        out.append(np.array(others, dtype=np.int64))
    return out


def copy_number_from_counts(sample: CountResult, controls: Sequence[CountResult], amplicons: Sequence[Region], *,
                            options: CopyNumberOptions | None = None, sample_name: str = "sample",
                            control_names: Sequence[str] | None = None) -> CopyNumberResult:
    """The copy-number test from counts already made (same panel and options for all).

    Raises
    ------
    OptionError
        Fewer than :data:`MIN_CONTROLS` controls, or ``control_names`` not one per control.
    RegionError
        Fewer than 2 amplicons, or an amplicon not counted.
    """
    opts = options or CopyNumberOptions()
    n = len(controls)
    if n < MIN_CONTROLS:
        raise OptionError(f"copy number needs at least {MIN_CONTROLS} controls, got {n} "
                          f"({RECOMMENDED_CONTROLS} or more recommended)")
    if len(amplicons) < 2:
        raise RegionError("copy number needs at least 2 amplicons (each is measured against the others)")
    names = tuple(control_names) if control_names is not None else tuple(f"control{i + 1}" for i in range(n))
    if len(names) != n:
        raise OptionError(f"control_names has {len(names)} names for {n} controls")
    refs = _reference_sets(amplicons)
    depth = amplicon_depths(sample, amplicons)
    control_depths = np.array([amplicon_depths(c, amplicons) for c in controls])
    control_log = np.log2(control_depths + PSEUDO_DEPTH)
    # each amplicon's efficiency: its log2 depth in the controls, each control centred on its own mean
    efficiency = (control_log - control_log.mean(axis=1, keepdims=True)).mean(axis=0)
    x = _relative(np.log2(depth + PSEUDO_DEPTH), efficiency, refs)
    c = np.array([_relative(row, efficiency, refs) for row in control_log])
    mean, sd = c.mean(axis=0), c.std(axis=0, ddof=1)
    df = n - 1
    scale = sd * math.sqrt(1.0 + 1.0 / n)
    diff = x - mean
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(scale > 0, diff / scale, np.where(diff == 0, 0.0, np.sign(diff) * np.inf))
    p = np.array([t_two_sided(float(v), df) for v in t])
    logp = np.log(np.maximum(p, 1e-300))
    padj = np.exp(holm(logp, len(p)))
    half = t_quantile(0.5 + opts.confidence / 2.0, df) * scale
    rows = []
    for i, a in enumerate(amplicons):
        call = ("gain" if diff[i] > 0 else "loss") if padj[i] < opts.alpha else ""
        rows.append(CopyNumberRow(a.name, _gene(a.name), a.contig, a.start, a.end, float(depth[i]),
                                  float(control_depths[:, i].mean()), float(diff[i]), float(diff[i] - half[i]),
                                  float(diff[i] + half[i]), float(t[i]), df, float(p[i]), float(padj[i]), call))
    return CopyNumberResult(tuple(rows), sample_name, names, opts)


def copy_number(sample_bam: str | os.PathLike[str], control_bams: Sequence[str | os.PathLike[str]], *,
                reference: str | os.PathLike[str], bed: str | os.PathLike[str],
                options: CopyNumberOptions | None = None, threads: int = 1) -> CopyNumberResult:
    """Copy-number gains and losses per amplicon of ``sample_bam`` against healthy ``control_bams``.

    Every BAM is counted with :func:`deepamp.count` over the BED's amplicons with the same options;
    each amplicon's depth share is compared with the controls' by the single-case t test (see the
    module text), Holm-adjusted across amplicons.

    Parameters
    ----------
    sample_bam : the indexed BAM/CRAM to test
    control_bams : at least 3 (8 or more recommended) control BAMs of the same panel, each given once
    reference : reference FASTA
    bed : the amplicons (BED with names; the gene is the name up to the first ``_``)
    options : :class:`CopyNumberOptions` (counting, alpha, interval level)
    threads : threads for counting

    Returns
    -------
    CopyNumberResult

    Raises
    ------
    OptionError
        Fewer than 3 controls, invalid options.
    InputFileError
        The same control twice, or the sample among the controls; any error of reading a BAM.
    RegionError, FormatError
        A bad BED (fewer than 2 amplicons, repeated names) or regions not in a BAM.
    """
    from deepamp.counting.bam import count

    opts = options or CopyNumberOptions()
    paths = [os.fspath(b) for b in control_bams]
    if len(paths) < MIN_CONTROLS:
        raise OptionError(f"copy number needs at least {MIN_CONTROLS} controls, got {len(paths)} "
                          f"({RECOMMENDED_CONTROLS} or more recommended)")
    own = os.path.realpath(os.fspath(sample_bam))
    seen: dict[str, str] = {}
    for p in paths:
        key = os.path.realpath(p)
        if key == own:
            raise InputFileError(f"{p}: the sample is given as its own control")
        if key in seen:
            raise InputFileError(f"{p}: the same control is given twice (also as {seen[key]}); "
                                 "each control must be counted once")
        seen[key] = p
    amplicons = read_amplicons(bed)

    def counted(path: str | os.PathLike[str]) -> CountResult:
        return count(path, bed=bed, reference=reference, options=opts.count, qual_hist=False, threads=threads)

    sample = counted(sample_bam)
    controls = [counted(p) for p in paths]
    return copy_number_from_counts(sample, controls, amplicons, options=opts,
                                   sample_name=sample.sample or os.path.basename(os.fspath(sample_bam)),
                                   control_names=[c.sample or os.path.basename(p) for c, p in zip(controls, paths)])
