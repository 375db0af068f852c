"""Opening deepamp's ``.npz`` files (count tables, backgrounds) safely: no pickles, one-line errors."""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from deepamp.errors import InputFileError

__all__ = ["open_npz"]


def open_npz(path: str | os.PathLike[str], what: str) -> Any:
    """``numpy.load`` of a deepamp ``.npz`` file (no pickles), usable as a context manager.

    Raises
    ------
    InputFileError
        Naming ``what`` ("count file", "background file") when the file is
        missing, unreadable or not an .npz archive.
    """
    path = os.fspath(path)
    try:
        z = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputFileError(f"{path}: {what} not found") from None
    except PermissionError:
        raise InputFileError(f"{path}: cannot read the {what} (permission denied)") from None
    except (OSError, ValueError, EOFError) as exc:
        raise InputFileError(f"{path}: not a deepamp {what} ({exc})") from None
    if not hasattr(z, "files"):
        raise InputFileError(f"{path}: not a deepamp {what}")
    return z
