"""Output files that appear complete or not at all.

Every output is written to a temporary file in the target directory and
renamed over the target only when writing succeeded; on any exception
(including KeyboardInterrupt, and SIGTERM which the CLI turns into one) the
temporary file is removed.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from deepamp.errors import OutputError


def check_writable(path: str | os.PathLike[str]) -> str:
    """Fail early (before any work) if ``path`` cannot be created.

    Raises
    ------
    OutputError
        The directory does not exist or is not writable, or path is a directory.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OutputError(f"{path}: output path is a directory")
    if not os.path.isdir(directory):
        raise OutputError(f"{path}: output directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"{path}: output directory {directory} is not writable")
    return path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike[str], suffix: str = "") -> Iterator[str]:
    """Yield a temporary path next to ``path``; rename it to ``path`` on success.

    For writers that want a file name (pysam, bgzip).  ``suffix`` keeps an
    extension the writer looks at (e.g. ``.vcf.gz``).
    """
    path = check_writable(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp" + suffix, dir=directory)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write in {directory} ({exc.strerror})") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)   # mkstemp creates 0600; outputs get the usual mode
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], mode: str = "w", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file next to ``path`` for writing; rename on success."""
    with atomic_path(path) as tmp:
        try:
            fh = open(tmp, mode, **kwargs)
        except OSError as exc:
            raise OutputError(f"{os.fspath(path)}: cannot write ({exc.strerror})") from None
        with fh:
            yield fh


def open_npz(path: str, what: str):
    """``numpy.load`` of a deepamp ``.npz`` file (no pickles) as a context manager.

    Raises InputFileError naming ``what`` ("count file", "background file")
    when the file is missing, unreadable or not an .npz archive.
    """
    import numpy as np

    from deepamp.errors import InputFileError

    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputFileError(f"{path}: {what} not found") from None
    except (OSError, ValueError) as exc:
        raise InputFileError(f"{path}: not a deepamp {what} ({exc})") from None
    if not hasattr(z, "files"):
        raise InputFileError(f"{path}: not a deepamp {what}")
    return z
