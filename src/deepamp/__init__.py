"""deepamp: fast, exact low-frequency variant calling for deep PCR amplicons.

The compiled core is imported lazily, so pure-Python parts (annotation,
simulation, VCF handling) load without paying for it.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "count": "deepamp.counting.bam",
    "count_coverage": "deepamp.counting.bam",
    "CountResult": "deepamp.counting.bam",
}

__all__ = ["__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    try:
        module = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module 'deepamp' has no attribute {name!r}") from None
    return getattr(import_module(module), name)
