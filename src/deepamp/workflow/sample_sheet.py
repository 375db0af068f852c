"""The sample sheet of ``deepamp cohort``: one row per sample of a sequencing run or a study.

A tab-separated file with a header line.  Columns (names are case-insensitive;
``time point`` and ``time_point`` are accepted for ``timepoint``)::

    sample     the sample's name: letters, digits and _.:+- (its directory under OUTDIR/samples)
    patient    who the sample is from (required for tumours; controls may leave it empty)
    timepoint  when: a date (YYYY-MM-DD) or an ordinal (0, 1, 2, ...); one kind per patient
               (required for tumours)
    role       control (a healthy donor: learns the background) or tumour (tumor)
    r1, r2     paired FASTQs (plain or gzip)        } one or the other per row; a run may mix
    bam        an aligned, indexed BAM/CRAM         } FASTQ rows and BAM rows
    sm         optional: the read-group SM (and file names) used for the sample (default: sample)

Relative paths are resolved against the sheet's directory.  Empty lines and
lines starting with ``#`` are skipped; ``-`` in a cell is the same as empty.
Every problem is an :class:`~deepamp.errors.InputFileError` whose one-line
message names the sheet and the line, raised before any work starts: a missing
column or file, a duplicate sample, two rows reading the same file, an unknown
role, R1 without R2, both FASTQs and a BAM, a BAM without an index, a time
point that is neither a date nor an ordinal, the same time point twice for one
patient, and a sheet without a tumour.  (A run has one panel, the ``-l`` BED,
so a sheet cannot mix panels; ``deepamp cohort`` also refuses, naming its line,
a BAM row aligned to another panel or build.)  Columns the sheet does not define are ignored
with a warning.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
from dataclasses import dataclass

from deepamp.errors import InputFileError

__all__ = ["SheetSample", "SampleSheet", "read_sample_sheet", "CONTROL", "TUMOUR", "COLUMNS"]

log = logging.getLogger("deepamp.cohort")

CONTROL, TUMOUR = "control", "tumour"
#: Columns a sheet may have (``sm`` optional; ``r1``/``r2`` and/or ``bam`` for the reads).
COLUMNS = ("sample", "patient", "timepoint", "role", "r1", "r2", "bam", "sm")
_REQUIRED = ("sample", "patient", "timepoint", "role")
_ALIASES = {"time point": "timepoint", "time_point": "timepoint", "time-point": "timepoint",
            "fastq1": "r1", "fastq2": "r2", "read1": "r1", "read2": "r2"}
_ROLES = {"control": CONTROL, "tumour": TUMOUR, "tumor": TUMOUR}
_NAME = re.compile(r"^[A-Za-z0-9_.:+-]+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ORDINAL = re.compile(r"^\d{1,9}$")
#: Longest time point (it heads a column of the patient's page).
MAX_TIMEPOINT = 32


@dataclass(frozen=True)
class SheetSample:
    """One row of the sample sheet, checked, with absolute paths.

    Attributes
    ----------
    sample : the sample's name (unique in the sheet)
    patient : the patient ("" for a control without one)
    timepoint : as written ("" for a control without one)
    role : CONTROL or TUMOUR
    r1, r2 : the FASTQ pair, or None
    bam : the aligned BAM/CRAM, or None
    sm : the read-group SM and file-name stem used for the sample (default: ``sample``)
    line : the sheet line the row is on (1 is the header)
    """

    sample: str
    patient: str
    timepoint: str
    role: str
    r1: str | None
    r2: str | None
    bam: str | None
    sm: str
    line: int

    @property
    def is_fastq(self) -> bool:
        """Whether the reads are FASTQs (to be aligned) rather than a BAM."""
        return self.r1 is not None

    @property
    def order(self) -> tuple[int, datetime.date | int]:
        """Sort key of the time point within its patient (dates by day, ordinals by number)."""
        if _DATE.match(self.timepoint):
            return 0, datetime.date.fromisoformat(self.timepoint)
        if _ORDINAL.match(self.timepoint):
            return 1, int(self.timepoint)
        return 2, 0


@dataclass(frozen=True)
class SampleSheet:
    """A checked sample sheet: its path and rows in file order."""

    path: str
    samples: tuple[SheetSample, ...]

    @property
    def controls(self) -> list[SheetSample]:
        """The control rows, in file order."""
        return [s for s in self.samples if s.role == CONTROL]

    @property
    def tumours(self) -> list[SheetSample]:
        """The tumour rows, in file order."""
        return [s for s in self.samples if s.role == TUMOUR]

    def patients(self) -> dict[str, list[SheetSample]]:
        """Tumour rows by patient (patients in order of first appearance), each in time order."""
        out: dict[str, list[SheetSample]] = {}
        for s in self.tumours:
            out.setdefault(s.patient, []).append(s)
        return {p: sorted(rows, key=lambda s: s.order) for p, rows in out.items()}

    def __getitem__(self, sample: str) -> SheetSample:
        for s in self.samples:
            if s.sample == sample:
                return s
        raise KeyError(sample)


def _index_of(path: str) -> str | None:
    for suffix in (".bai", ".csi", ".crai"):
        for cand in (path + suffix, os.path.splitext(path)[0] + suffix):
            if os.path.isfile(cand):
                return cand
    return None


def read_sample_sheet(path: str | os.PathLike[str], *, check_files: bool = True) -> SampleSheet:
    """Read and check a sample sheet (see the module docstring for its format).

    Parameters
    ----------
    path : the TSV file
    check_files : whether every FASTQ/BAM must exist (and a BAM have its index)

    Returns
    -------
    SampleSheet

    Raises
    ------
    InputFileError
        The sheet is missing or unreadable, or a row is wrong: one line ``SHEET line N: problem``.
    """
    path = os.fspath(path)
    where = os.path.dirname(os.path.abspath(path))
    try:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            text = fh.read()
    except FileNotFoundError:
        raise InputFileError(f"{path}: sample sheet not found") from None
    except IsADirectoryError:
        raise InputFileError(f"{path}: is a directory, not a sample sheet") from None
    except UnicodeDecodeError as exc:
        raise InputFileError(f"{path}: not a text sample sheet (byte {exc.start}: not UTF-8)") from None
    except OSError as exc:
        raise InputFileError(f"{path}: cannot read the sample sheet ({exc.strerror})") from None

    def fail(line: int, message: str) -> InputFileError:
        return InputFileError(f"{path} line {line}: {message}")

    lines = [(n, ln.rstrip("\r")) for n, ln in enumerate(text.split("\n"), 1)]
    lines = [(n, ln) for n, ln in lines if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputFileError(f"{path}: empty sample sheet (needs a header line: {', '.join(_REQUIRED)}, "
                             "r1 and r2 or bam, optional sm)")
    head_line, head_text = lines[0]
    header = [_ALIASES.get(h.strip().lower(), h.strip().lower()) for h in head_text.split("\t")]
    for h in header:
        if header.count(h) > 1:
            raise fail(head_line, f"column {h!r} is given twice")
    missing = [c for c in _REQUIRED if c not in header]
    if missing:
        raise fail(head_line, f"no column {missing[0]!r} (a sample sheet has tab-separated columns "
                              f"{', '.join(_REQUIRED)}, r1 and r2 or bam, optional sm)")
    if ("r1" in header) != ("r2" in header):
        raise fail(head_line, f"column {'r1' if 'r1' in header else 'r2'} without "
                              f"{'r2' if 'r1' in header else 'r1'}: FASTQs come in pairs")
    if "bam" not in header and "r1" not in header:
        raise fail(head_line, "no reads: give columns r1 and r2 (FASTQ pairs) or bam, or both")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown:
        log.warning(f"{path} line {head_line}: column(s) {', '.join(map(repr, unknown))} ignored "
                    f"(known: {', '.join(COLUMNS)})")

    rows: list[SheetSample] = []
    names: dict[str, tuple[int, str]] = {}      # casefolded name -> (line, name)
    files: dict[str, tuple[int, str]] = {}
    timepoints: dict[tuple[str, str], int] = {}
    kinds: dict[str, tuple[str, int]] = {}
    for n, text_line in lines[1:]:
        cells = text_line.split("\t")
        if len(cells) > len(header):
            if any(c.strip() for c in cells[len(header):]):
                raise fail(n, f"{len(cells)} fields, the header has {len(header)}")
            cells = cells[:len(header)]
        cells += [""] * (len(header) - len(cells))
        row = {h: ("" if c.strip() == "-" else c.strip()) for h, c in zip(header, cells)}
        sample = row["sample"]
        if not sample:
            raise fail(n, "no sample name")
        if not _NAME.match(sample):
            raise fail(n, f"sample name {sample!r}: use letters, digits and _.:+- only")
        same = names.get(sample.casefold())
        if same is not None:
            if same[1] == sample:
                raise fail(n, f"sample {sample!r} is also on line {same[0]}")
            raise fail(n, f"sample {sample!r} differs from {same[1]!r} on line {same[0]} by case only (sample "
                          "names become directory names, which some file systems do not tell apart by case)")
        names[sample.casefold()] = (n, sample)
        role = _ROLES.get(row["role"].lower())
        if role is None:
            raise fail(n, f"{sample}: role {row['role']!r} is not control or tumour")
        sm = row.get("sm", "") or sample
        if not _NAME.match(sm):
            raise fail(n, f"{sample}: sm {sm!r}: use letters, digits and _.:+- only")
        patient, timepoint = row["patient"], row["timepoint"]
        if role == TUMOUR:
            if not patient:
                raise fail(n, f"{sample}: a tumour needs its patient")
            if not timepoint:
                raise fail(n, f"{sample}: a tumour needs its time point (a date YYYY-MM-DD or an ordinal 0, 1, ...)")
        if timepoint:
            if len(timepoint) > MAX_TIMEPOINT:
                raise fail(n, f"{sample}: time point {timepoint[:20]!r}... is longer than {MAX_TIMEPOINT} characters")
            if _DATE.match(timepoint):
                try:
                    datetime.date.fromisoformat(timepoint)
                except ValueError as exc:
                    raise fail(n, f"{sample}: time point {timepoint!r} is not a valid date ({exc})") from None
                kind = "date"
            elif _ORDINAL.match(timepoint):
                kind = "ordinal"
            else:
                raise fail(n, f"{sample}: time point {timepoint!r} is neither a date (YYYY-MM-DD) nor an "
                              "ordinal (0, 1, 2, ...)")
            if role == TUMOUR:
                first = kinds.setdefault(patient, (kind, n))
                if first[0] != kind:
                    raise fail(n, f"{sample}: time point {timepoint!r} is an {kind}, but patient {patient!r} has "
                                  f"{'a date' if first[0] == 'date' else 'an ordinal'} on line {first[1]} "
                                  "(one kind per patient)")
                key = (patient, timepoint)
                if key in timepoints:
                    raise fail(n, f"{sample}: patient {patient!r} already has time point {timepoint!r} "
                                  f"(line {timepoints[key]})")
                timepoints[key] = n
        r1, r2, bam = row.get("r1", ""), row.get("r2", ""), row.get("bam", "")
        if (r1 or r2) and bam:
            raise fail(n, f"{sample}: give FASTQs (r1, r2) or a BAM, not both")
        if bool(r1) != bool(r2):
            raise fail(n, f"{sample}: {'r1' if r1 else 'r2'} without {'r2' if r1 else 'r1'} (paired reads need both)")
        if not (r1 or bam):
            raise fail(n, f"{sample}: no reads (give r1 and r2, or bam)")
        resolved: dict[str, str] = {}
        for col, value in (("r1", r1), ("r2", r2), ("bam", bam)):
            if not value:
                continue
            full = os.path.normpath(os.path.join(where, os.path.expanduser(value)))
            if check_files and not os.path.isfile(full):
                raise fail(n, f"{sample}: {col} {value}: file not found")
            real = os.path.realpath(full)
            if real in files:
                raise fail(n, f"{sample}: {col} {value} is also read on line {files[real][0]} "
                              f"({files[real][1]})")
            files[real] = (n, col)
            resolved[col] = full
        if check_files and bam and _index_of(resolved["bam"]) is None:
            raise fail(n, f"{sample}: bam {bam} has no index (.bai/.csi/.crai): samtools index it")
        rows.append(SheetSample(sample, patient, timepoint, role, resolved.get("r1"), resolved.get("r2"),
                                resolved.get("bam"), sm, n))
    if not any(s.role == TUMOUR for s in rows):
        raise InputFileError(f"{path}: no tumour sample (role tumour): nothing to call")
    return SampleSheet(os.path.abspath(path), tuple(rows))
