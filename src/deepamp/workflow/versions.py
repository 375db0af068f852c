"""Versions of the programs and libraries a run used, for the run log."""

from __future__ import annotations

import functools
import platform
import re
import shutil
import subprocess

__all__ = ["tool_version", "library_versions"]


@functools.cache
def tool_version(name: str) -> str:
    """``"<version> (<path>)"`` of an external program, or ``"not found"``.

    bwa prints its version on stderr when run without arguments; bowtie2 and
    most others answer ``--version``.
    """
    path = shutil.which(name)
    if path is None:
        return "not found"
    cmd = [path] if name == "bwa" else [path, "--version"]
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return f"unknown ({exc.__class__.__name__}) ({path})"
    text = res.stdout + "\n" + res.stderr
    m = re.search(r"[Vv]ersion:?\s*([0-9][^\s,;)]*)", text)
    return f"{m.group(1) if m else 'unknown'} ({path})"


def library_versions() -> dict[str, str]:
    """deepamp, Python and the libraries that read and write the data."""
    import numpy
    import pysam
    from pysam import version as pysam_version

    from deepamp._version import __version__

    return {"deepamp": __version__, "python": platform.python_version(), "numpy": numpy.__version__,
            "pysam": pysam.__version__, "htslib": pysam_version.__htslib_version__,
            "samtools (pysam)": pysam_version.__samtools_version__}
