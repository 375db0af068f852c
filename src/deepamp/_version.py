"""The package version (one source: the wheel metadata and ``deepamp --version`` read it here)."""

__version__ = "0.1.0"
