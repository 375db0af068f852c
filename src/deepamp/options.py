"""Option objects shared by every front end (library, CLI, cohort, run).

Each is a frozen dataclass that checks itself when built, so an invalid value
never reaches the counting kernel or a model: it raises
:class:`~deepamp.errors.OptionError` (a ``ValueError``) naming the option.
The CLI only maps flags onto these objects, so a flag means the same thing in
every subcommand.

* :class:`CountOptions` -- which reads and bases count (``count``, ``call``,
  ``background``, ``phase``, ``cohort``); stored in count and background files.
* :class:`FilterOptions` -- ``lofreq filter``'s filters (plus amplicon-aware
  strand bias and population AF); ``None`` thresholds are off.
* :class:`CallOptions` -- the calling pipeline of :func:`deepamp.call`: counting,
  significance, multiple testing, SNVs/indels, hotspots and filters.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, Mapping

from deepamp.errors import OptionError

# SAM flag bits
FLAG_UNMAPPED = 0x4
FLAG_SECONDARY = 0x100
FLAG_QCFAIL = 0x200
FLAG_DUPLICATE = 0x400
FLAG_SUPPLEMENTARY = 0x800
#: Reads dropped by default: unmapped, secondary, QC-fail, duplicate, supplementary (as LoFreq).
DEFAULT_FLAG_EXCLUDE = FLAG_UNMAPPED | FLAG_SECONDARY | FLAG_QCFAIL | FLAG_DUPLICATE | FLAG_SUPPLEMENTARY
#: Bytes of waiting first mates held in memory per chunk being counted.
DEFAULT_MATE_MEMORY = 8 << 20

MTC_METHODS = ("bonferroni", "fdr", "none")
FILTER_MTC = ("bonf", "holm-bonf", "fdr")
SB_TESTS = ("auto", "amplicon", "lofreq")
#: Highest base / mapping quality a BAM can hold.
MAX_QUALITY = 255


def _check_int(name: str, value: Any, lo: int, hi: int | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(f"{name} must be an integer, not {value!r}")
    if value < lo or (hi is not None and value > hi):
        bound = f">= {lo}" if hi is None else f"in {lo}..{hi}"
        raise OptionError(f"{name} must be {bound}, not {value}")


def _check_prob(name: str, value: Any, *, zero: bool = False, one: bool = True) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise OptionError(f"{name} must be a finite number, not {value!r}")
    if value < 0 or (value == 0 and not zero) or value > 1 or (value == 1 and not one):
        interval = ("[" if zero else "(") + "0, 1" + ("]" if one else ")")
        raise OptionError(f"{name} must be in {interval}, not {value:g}")


def _check_finite(name: str, value: Any, lo: float | None = None) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise OptionError(f"{name} must be a finite number, not {value!r}")
    if lo is not None and value < lo:
        raise OptionError(f"{name} must be >= {lo:g}, not {value:g}")


@dataclass(frozen=True)
class CountOptions:
    """Which reads and bases are counted.

    Attributes
    ----------
    min_bq : bases with a lower base quality are dropped (LoFreq ``-q``; default 6, as Villa et al. 2024)
    min_alt_bq : non-reference bases below this are dropped (LoFreq ``-Q``; None = ``min_bq``)
    min_mapq : reads with a lower mapping quality are dropped (LoFreq ``-m``)
    flag_exclude : reads with any of these SAM flag bits are dropped (default:
        unmapped, secondary, QC-fail, duplicate, supplementary)
    merge_mates : count the overlap of two mates once per fragment (where they
        disagree the position is masked and counted as discordant)
    """

    min_bq: int = 6
    min_alt_bq: int | None = None
    min_mapq: int = 0
    flag_exclude: int = DEFAULT_FLAG_EXCLUDE
    merge_mates: bool = True

    def __post_init__(self) -> None:
        _check_int("min_bq", self.min_bq, 0, MAX_QUALITY)
        if self.min_alt_bq is not None:
            _check_int("min_alt_bq", self.min_alt_bq, 0, MAX_QUALITY)
        _check_int("min_mapq", self.min_mapq, 0, MAX_QUALITY)
        _check_int("flag_exclude", self.flag_exclude, 0, 0xFFFF)
        if not isinstance(self.merge_mates, bool):
            raise OptionError(f"merge_mates must be True or False, not {self.merge_mates!r}")

    @property
    def alt_bq(self) -> int:
        """The effective minimum quality of non-reference bases."""
        return self.min_bq if self.min_alt_bq is None else self.min_alt_bq

    @property
    def keep_duplicates(self) -> bool:
        """Whether reads flagged as duplicates are counted."""
        return not self.flag_exclude & FLAG_DUPLICATE

    @property
    def include_supplementary(self) -> bool:
        """Whether supplementary alignments are counted."""
        return not self.flag_exclude & FLAG_SUPPLEMENTARY

    @classmethod
    def with_switches(cls, *, keep_duplicates: bool = False, include_supplementary: bool = False,
                      **kwargs: Any) -> "CountOptions":
        """Options with the default flag mask minus the duplicate / supplementary bits."""
        flags = kwargs.pop("flag_exclude", DEFAULT_FLAG_EXCLUDE)
        if keep_duplicates:
            flags &= ~FLAG_DUPLICATE
        if include_supplementary:
            flags &= ~FLAG_SUPPLEMENTARY
        return cls(flag_exclude=flags, **kwargs)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (``min_alt_bq`` resolved), for files and headers."""
        return {"min_bq": self.min_bq, "min_alt_bq": self.alt_bq, "min_mapq": self.min_mapq,
                "flag_exclude": self.flag_exclude, "merge_mates": self.merge_mates}

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> "CountOptions":
        """The options stored by :meth:`to_dict` (unknown keys are an OptionError)."""
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise OptionError(f"unknown counting options: {', '.join(sorted(unknown))}")
        return cls(**dict(values))

    def differences(self, other: "CountOptions") -> list[str]:
        """``name: mine vs other`` for every option that changes the counts."""
        a, b = self.to_dict(), other.to_dict()
        return [f"{k} {a[k]} vs {b[k]}" for k in a if a[k] != b[k]]

    def describe(self) -> str:
        """``key=value`` list for VCF headers and summaries."""
        return ",".join(f"{k}={v:#x}" if k == "flag_exclude" else f"{k}={v}" for k, v in self.to_dict().items())


@dataclass(frozen=True)
class FilterOptions:
    """Filter thresholds with ``lofreq filter`` meanings; None switches a filter off.

    See :mod:`deepamp.filters` for what each filter tests and the FILTER names.
    """

    min_cov: int | None = 10
    max_cov: int | None = None
    min_af: float | None = None
    max_af: float | None = None
    min_snvqual: float | None = None
    snvqual_alpha: float | None = None
    snvqual_mtc: str = "bonf"
    snvqual_ntests: int | None = None
    sb_alpha: float | None = 0.001
    sb_mtc: str = "fdr"
    sb_ntests: int | None = None
    sb_test: str = "auto"
    sb_min_or: float = 3.0
    sb_compound: bool = True
    orientation_posterior: float | None = 0.5
    max_population_af: float | None = None
    population_vcf: str | None = None

    def __post_init__(self) -> None:
        for name in ("snvqual_mtc", "sb_mtc"):
            if getattr(self, name) not in FILTER_MTC:
                raise OptionError(f"{name} must be one of {', '.join(FILTER_MTC)}, not {getattr(self, name)!r}")
        if self.sb_test not in SB_TESTS:
            raise OptionError(f"sb_test must be one of {', '.join(SB_TESTS)}, not {self.sb_test!r}")
        for name in ("min_cov", "max_cov", "snvqual_ntests", "sb_ntests"):
            v = getattr(self, name)
            if v is not None:
                _check_int(name, v, 1 if name.endswith("ntests") else 0)
        for name in ("min_af", "max_af", "max_population_af"):
            v = getattr(self, name)
            if v is not None:
                _check_prob(name, v, zero=True)
        for name in ("snvqual_alpha", "sb_alpha"):
            v = getattr(self, name)
            if v is not None:
                _check_prob(name, v)
        if self.min_snvqual is not None:
            _check_finite("min_snvqual", self.min_snvqual, 0.0)
        _check_finite("sb_min_or", self.sb_min_or, 1.0)
        if self.orientation_posterior is not None:
            _check_prob("orientation_posterior", self.orientation_posterior, one=False)

    @property
    def population_af_threshold(self) -> float | None:
        """The population-AF threshold in effect (1e-5 when only a population VCF is given)."""
        if self.max_population_af is None and self.population_vcf:
            return 1e-5
        return self.max_population_af


#: All filters off (``--no-defaults`` / ``--no-default-filter``).
NO_FILTERS = FilterOptions(min_cov=None, sb_alpha=None, orientation_posterior=None)

#: Villa et al. 2024: coverage >= 5000, AF >= 0.6 %, QUAL and strand-bias FDR < 0.001,
#: population AF < 1e-5 (minimum base quality 6 is a counting option).
PRESETS: dict[str, FilterOptions] = {
    "villa2024": FilterOptions(min_cov=5000, min_af=0.006, snvqual_alpha=0.001, snvqual_mtc="fdr",
                               sb_alpha=0.001, sb_mtc="fdr", max_population_af=1e-5),
}


@dataclass(frozen=True)
class CallOptions:
    """Options of the calling pipeline (:func:`deepamp.call`).

    Attributes
    ----------
    count : CountOptions of the sample (and of controls learned with ``control=``)
    min_cov : sites with fewer counted bases are not tested (LoFreq ``-C``)
    alpha : significance level after multiple-testing correction (LoFreq ``-a``)
    mtc : "bonferroni" (LoFreq's default), "fdr" (Benjamini-Hochberg) or "none"
    bonf : fixed Bonferroni factor; None = dynamic (3 per column with alt bases, as LoFreq)
    snvs, indels : call SNVs / indels
    hotspots : "shipped" (deepamp's list of known resistance alleles), a TSV path, or None:
        hotspot alleles are tested as their own family with their own burden
    filters : FilterOptions applied to the calls before they are written: by default LoFreq's
        default filters (coverage >= 10, strand bias at FDR 0.001 with the test that suits the
        assay) and the read-orientation artefact filter (capture data); None: no filters
    base_error_rate : per-base error rate for the quality model when the counts carry no
        quality histograms (counts from another source); None = use the histograms
    """

    count: CountOptions = field(default_factory=CountOptions)
    min_cov: int = 1
    alpha: float = 0.01
    mtc: str = "bonferroni"
    bonf: int | None = None
    snvs: bool = True
    indels: bool = True
    hotspots: str | None = None
    filters: FilterOptions | None = field(default_factory=FilterOptions)
    base_error_rate: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.count, CountOptions):
            raise OptionError(f"count must be a CountOptions, not {type(self.count).__name__}")
        _check_int("min_cov", self.min_cov, 0)
        _check_prob("alpha", self.alpha)
        if self.mtc not in MTC_METHODS:
            raise OptionError(f"mtc must be one of {', '.join(MTC_METHODS)}, not {self.mtc!r}")
        if self.bonf is not None:
            _check_int("bonf", self.bonf, 1)
        if not (self.snvs or self.indels):
            raise OptionError("nothing to call: snvs and indels are both off")
        if self.filters is not None and not isinstance(self.filters, FilterOptions):
            raise OptionError(f"filters must be a FilterOptions, not {type(self.filters).__name__}")
        if self.base_error_rate is not None:
            _check_prob("base_error_rate", self.base_error_rate, one=False)

    def replace(self, **changes: Any) -> "CallOptions":
        """A copy with ``changes``; CountOptions fields (``min_bq=10``) go to ``count``."""
        count_fields = {f.name for f in dataclasses.fields(CountOptions)}
        own = {f.name for f in dataclasses.fields(self)}
        unknown = set(changes) - count_fields - own
        if unknown:
            raise OptionError(f"unknown option {sorted(unknown)[0]!r}")
        count_changes = {k: changes.pop(k) for k in list(changes) if k in count_fields}
        if count_changes:
            changes["count"] = dataclasses.replace(changes.get("count", self.count), **count_changes)
        return dataclasses.replace(self, **changes)


__all__ = ["CountOptions", "FilterOptions", "CallOptions", "PRESETS", "NO_FILTERS",
           "DEFAULT_FLAG_EXCLUDE", "DEFAULT_MATE_MEMORY", "MTC_METHODS", "FILTER_MTC", "SB_TESTS",
           "FLAG_UNMAPPED", "FLAG_SECONDARY", "FLAG_QCFAIL", "FLAG_DUPLICATE", "FLAG_SUPPLEMENTARY"]
