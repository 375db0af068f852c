"""Exception hierarchy of deepamp.

Every error a user can cause maps to one of these classes, and every message
names the file (or option) and the problem on one line.  The CLI prints
``deepamp COMMAND: error: <message>`` and exits 2 for an :class:`OptionError`
(a usage error) and 1 for every other one.
"""

from __future__ import annotations


class DeepampError(Exception):
    """Base class of every deepamp error."""


class InputFileError(DeepampError, OSError):
    """An input file is missing, unreadable or not of the expected format."""


class IndexFileError(InputFileError):
    """A BAM/CRAM index is missing or older than its alignment file."""


class TruncatedFileError(InputFileError):
    """An alignment file ends early or has a corrupt block/record."""


class UnsortedError(InputFileError):
    """Alignment records are not coordinate-sorted."""


class ReferenceFileError(InputFileError):
    """The reference FASTA is missing, unreadable or does not match the BAM."""


class RegionError(DeepampError, ValueError):
    """A region string or BED line is malformed, empty or names an unknown contig."""


class FormatError(DeepampError, ValueError):
    """A text input (BED, VCF, background file, transcript JSON) is malformed."""


class OutputError(DeepampError, OSError):
    """An output path cannot be written (or would overwrite an input)."""


class OptionError(DeepampError, ValueError):
    """An option value is invalid (out of range, NaN, unknown choice, missing)."""
