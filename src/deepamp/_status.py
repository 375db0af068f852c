"""C status codes of the deepamp core (csrc/da_error.h) -> Python exceptions.

One pure-Python table so every Cython binding maps codes the same way:
``raise_for_status(code, message)``.
"""

from __future__ import annotations

from deepamp.errors import (DeepampError, IndexFileError, InputFileError, OutputError, ReferenceFileError,
                     RegionError, TruncatedFileError, UnsortedError)

# Values of enum da_status in csrc/da_error.h.
DA_OK = 0
DA_ERR_NOMEM = -2
DA_ERR_OPEN = -3
DA_ERR_FORMAT = -4
DA_ERR_HEADER = -5
DA_ERR_INDEX = -6
DA_ERR_CONTIG = -7
DA_ERR_REGION = -8
DA_ERR_TRUNCATED = -9
DA_ERR_CORRUPT = -10
DA_ERR_UNSORTED = -11
DA_ERR_REFERENCE = -12
DA_ERR_THREAD = -13
DA_ERR_ARG = -14
DA_ERR_TEMP = -15

ERRORS: dict[int, type[BaseException]] = {
    DA_ERR_NOMEM: MemoryError,
    DA_ERR_OPEN: InputFileError,
    DA_ERR_FORMAT: InputFileError,
    DA_ERR_HEADER: InputFileError,
    DA_ERR_INDEX: IndexFileError,
    DA_ERR_CONTIG: RegionError,
    DA_ERR_REGION: RegionError,
    DA_ERR_TRUNCATED: TruncatedFileError,
    DA_ERR_CORRUPT: TruncatedFileError,
    DA_ERR_UNSORTED: UnsortedError,
    DA_ERR_REFERENCE: ReferenceFileError,
    DA_ERR_THREAD: DeepampError,
    DA_ERR_ARG: ValueError,
    DA_ERR_TEMP: OutputError,
}


def raise_for_status(code: int, message: str) -> None:
    """Do nothing for DA_OK; otherwise raise the exception class mapped to ``code``."""
    if code == DA_OK:
        return
    raise ERRORS.get(code, DeepampError)(message or f"deepamp core error {code}")
