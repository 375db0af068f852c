"""The record of a run directory: which step made which file from which inputs (``run.json``).

``deepamp run`` asks the ledger before every step whether it can be skipped:
a step is *fresh* when the ledger holds it with the same parameters, the same
SHA-256 of every input (by content, in order: a renamed copy is the same
input) and every output still present with the SHA-256 it was written with.  A step is recorded only after all its outputs are complete, so
a step that failed or was interrupted is never trusted, and a changed input
(or an edited output) makes that step and every later one whose inputs change
run again.

Beside ``run.json`` (machine-readable: steps, checksums, tool versions and
command lines) the ledger writes ``run.log``, the same as text for a person.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from deepamp.io.outputs import output_text

__all__ = ["Ledger", "StepRecord", "sha256", "LEDGER", "LOG"]

LEDGER = "run.json"
LOG = "run.log"
_FORMAT = 1

log = logging.getLogger("deepamp.run")

_digests: dict[tuple[str, int, int], str] = {}


def sha256(path: str | os.PathLike[str]) -> str:
    """SHA-256 of a file (cached per path, size and modification time within this process)."""
    path = os.path.abspath(os.fspath(path))
    st = os.stat(path)
    key = (path, st.st_size, st.st_mtime_ns)
    if key not in _digests:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _digests[key] = h.hexdigest()
    return _digests[key]


@dataclass
class StepRecord:
    """One completed step: what it read, how, what it wrote, with which tools."""

    name: str
    inputs: dict[str, str]           # path -> sha256, in the step's order
    params: dict[str, Any]
    outputs: dict[str, str]          # path (relative to the run directory) -> sha256
    seconds: float
    tools: dict[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)
    finished: str = ""


class Ledger:
    """The steps completed in one run directory.

    Parameters
    ----------
    outdir : the run directory (``run.json`` / ``run.log`` live there)
    """

    def __init__(self, outdir: str | os.PathLike[str]):
        self.outdir = os.path.abspath(os.fspath(outdir))
        self.path = os.path.join(self.outdir, LEDGER)
        self.steps: dict[str, StepRecord] = {}
        self.run_info: dict[str, Any] = {}
        self._load()

    def _load(self) -> None:
        if not os.path.exists(self.path):
            return
        try:
            with open(self.path, encoding="utf-8") as fh:
                doc = json.load(fh)
            if doc.get("format") != _FORMAT:
                raise ValueError(f"format {doc.get('format')!r}")
            self.steps = {s["name"]: StepRecord(**s) for s in doc["steps"]}
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning(f"{self.path}: not a run record this deepamp can trust ({exc}); every step runs again")
            self.steps = {}

    def _abs(self, path: str) -> str:
        return path if os.path.isabs(path) else os.path.join(self.outdir, path)

    def _rel(self, path: str) -> str:
        path = os.path.abspath(path)
        return os.path.relpath(path, self.outdir) if path.startswith(self.outdir + os.sep) else path

    def fresh(self, name: str, inputs: Sequence[str], params: Mapping[str, Any], outputs: Sequence[str]) -> bool:
        """Whether step ``name`` is recorded with these inputs (checksums), parameters and intact outputs."""
        rec = self.steps.get(name)
        if rec is None or rec.params != _jsonable(params):
            return False
        try:
            if list(rec.inputs.values()) != [sha256(p) for p in inputs]:     # content, in order: a renamed
                return False                                                   # copy is the same input
            want = {self._rel(p) for p in outputs}
            if set(rec.outputs) != want:
                return False
            return all(os.path.isfile(self._abs(p)) and sha256(self._abs(p)) == d for p, d in rec.outputs.items())
        except OSError:
            return False

    def record(self, name: str, inputs: Sequence[str], params: Mapping[str, Any], outputs: Sequence[str],
               seconds: float, tools: Mapping[str, str] | None = None, commands: Sequence[str] = ()) -> None:
        """Record a completed step and save the ledger (``run.json`` and ``run.log``) at once."""
        self.steps[name] = StepRecord(
            name, {os.path.abspath(p): sha256(p) for p in inputs}, _jsonable(params),
            {self._rel(p): sha256(p) for p in outputs}, round(seconds, 3), dict(tools or {}), list(commands),
            time.strftime("%Y-%m-%dT%H:%M:%S%z"))
        self.save()

    def forget(self, name: str) -> None:
        """Drop a step (before it runs again), so an interrupted rerun cannot trust its old record."""
        if self.steps.pop(name, None) is not None:
            self.save()

    def save(self) -> None:
        doc = {"format": _FORMAT, "run": self.run_info, "steps": [vars(s) for s in self.steps.values()]}
        output_text(self.path, json.dumps(doc, indent=1, sort_keys=False) + "\n")
        output_text(os.path.join(self.outdir, LOG), self.text())

    def text(self) -> str:
        """``run.log``: the run, then every step with its tools, commands, inputs and outputs."""
        lines = ["# deepamp run log (run.json holds the same, machine-readable)"]
        for k, v in self.run_info.items():
            lines.append(f"{k}: {v}")
        for s in self.steps.values():
            lines.append("")
            lines.append(f"[{s.name}] finished {s.finished} in {s.seconds:.1f} s")
            for tool, version in s.tools.items():
                lines.append(f"  tool {tool}: {version}")
            for c in s.commands:
                lines.append(f"  command: {c}")
            for p, d in s.inputs.items():
                lines.append(f"  input  {p}  sha256:{d}")
            for p, d in s.outputs.items():
                lines.append(f"  output {p}  sha256:{d}")
            if s.params:
                lines.append("  parameters: " + json.dumps(s.params, sort_keys=True))
        return "\n".join(lines) + "\n"


def _jsonable(params: Mapping[str, Any]) -> dict[str, Any]:
    """Parameters as they compare after a JSON round trip (tuples become lists, keys strings)."""
    return json.loads(json.dumps(dict(params), sort_keys=True, default=str))
