"""The ``deepamp`` command line: ``main(argv=None) -> int``.

A thin shell over the library: each subcommand is one module of this package
with ``configure(parser)`` (argparse only) and ``run(args) -> int`` (maps the
flags onto option objects and calls the library).  No library module imports
this package.

Exit codes: 0 success, 1 runtime error (one line on stderr naming the file and
the problem), 2 usage error (one line), 130 interrupted (Ctrl-C or SIGTERM; no
output is left behind).  Subcommand modules are imported only when run, so
``deepamp --help`` stays fast.  Status goes through :mod:`logging` (logger
``deepamp``): the run summary at INFO, ``--quiet`` keeps warnings only,
``--verbose`` adds DEBUG.
"""

from __future__ import annotations

import importlib
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from types import FrameType

from deepamp._version import __version__

#: name -> (module under deepamp.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "run": ("run", "FASTQ or BAM to the HTML report: both aligners, call, concordance, phase, annotate, report"),
    "call": ("call", "call low-frequency SNVs and indels (drop-in for `lofreq call`)"),
    "count": ("count", "write the per-position count table (TSV or .npz)"),
    "background": ("background", "learn the per-site error background from healthy-control BAMs"),
    "filter": ("filter", "filter a deepamp or LoFreq VCF (drop-in for `lofreq filter`)"),
    "phase": ("phase", "cis/trans phasing of nearby variants from fragments"),
    "annotate": ("annotate", "HGVS annotation, resistance evidence and inhibitor ranking"),
    "report": ("report", "self-contained HTML report of an annotated sample (VCF + annotate JSON)"),
    "align": ("align", "align paired FASTQs with bwa mem or bowtie2 --very-sensitive-local into a sorted BAM"),
    "clip": ("clip", "soft-clip primer bases at read ends of an amplicon BAM (as samtools ampliconclip / ivar trim)"),
    "concordance": ("concordance", "merge two aligners' VCFs: strong (PASS in both) / weak evidence"),
    "cohort": ("cohort", "a sample sheet (controls, patients over time) through deepamp run on Dask, resumable: "
                         "cohort.tsv, cohort.html, patient pages"),
    "cnv": ("cnv", "copy-number gains and losses per amplicon from depth, against healthy controls"),
    "simulate": ("simulate", "simulate deep-amplicon reads into a sorted, indexed BAM (and FASTQ pairs)"),
    "demo": ("demo", "deepamp run on simulated FASTQ of ALK exons 22-25 at 25,000x with resistance mutations "
                     "(--panel bypass: ALK plus bypass-gene hotspots)"),
}

log = logging.getLogger("deepamp")


def build_parser(command: str | None = None):
    """The argument parser; only ``command``'s module is imported and configured."""
    from deepamp.cli.common import Parser

    parser = Parser(prog="deepamp",
                    description="deepamp: fast, exact low-frequency variant calling for deep PCR amplicons")
    parser.add_argument("--version", action="version", version=f"deepamp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if command == name:
            mod = importlib.import_module(f"deepamp.cli.{module}")
            mod.configure(p)
            p.set_defaults(_run=mod.run)
    return parser


def one_line(text: str) -> str:
    """``text`` with newlines and other unprintable characters (which may come
    from the input file) escaped, so an error message is always one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


class _Handler(logging.Handler):
    """``deepamp COMMAND: message`` on stderr, one line per record."""

    def __init__(self, command: str):
        super().__init__()
        self.command = command

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(f"deepamp {self.command}: {one_line(record.getMessage())}\n")
            sys.stderr.flush()
        except (OSError, ValueError):
            pass


class Interrupted(BaseException):
    """Ctrl-C or SIGTERM: unwinds like KeyboardInterrupt (every output is staged and removed).

    A separate class, because CPython ends a process whose KeyboardInterrupt passed through
    some of its entry points by its own SIGINT even when the exception was handled."""


class _Signals:
    """SIGINT and SIGTERM while a command works raise :class:`Interrupted`.  Once the command has
    returned (its outputs are committed) a late signal is ignored: the work is complete and the
    exit status stays the command's, rather than a death by the signal after the files are whole.

    Code that an exception would leave broken (see :func:`_must_finish`) is not interrupted: the
    interrupt is deferred, and a SIGALRM a few milliseconds later raises it once that code has
    returned.  So is an interrupt that Python dropped (an exception raised in a callback from C goes to
    ``sys.unraisablehook``, which prints it).  Sending the signal again from Python would not do:
    ``os.kill`` runs the handler at once, in the frame the signal must leave."""

    DEFER_SECONDS = 0.005

    def __init__(self) -> None:
        self.done = False
        self.pending = False
        self.previous_hook = sys.unraisablehook
        self.previous_alarm: object = None

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.done or (signum == signal.SIGALRM and not self.pending):
            return
        if frame is not None and (frame.f_code is _Signals.unraisable.__code__ or _must_finish(frame)):
            self.defer()
            return
        self.pending = False
        raise Interrupted

    def unraisable(self, info: "sys.UnraisableHookArgs") -> None:
        """``sys.unraisablehook`` while a command runs: a dropped interrupt is deferred, silently."""
        if isinstance(info.exc_value, Interrupted) and not self.done:
            self.defer()
            return
        self.previous_hook(info)

    def defer(self) -> None:
        if self.previous_alarm is None:
            self.previous_alarm = signal.signal(signal.SIGALRM, self)
        self.pending = True
        signal.setitimer(signal.ITIMER_REAL, self.DEFER_SECONDS)

    def restore(self) -> None:
        """Put back what :func:`main` replaced (the caller restores SIGINT and SIGTERM)."""
        sys.unraisablehook = self.previous_hook
        if self.previous_alarm is not None:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self.previous_alarm)


#: code whose interruption is deferred until it returns: numba's compiler (llvmlite calls back into it
#: through ctypes, which drops exceptions and leaves the compiled library half-built)
_LEAVE_TO_FINISH = tuple(f"{os.sep}{name}{os.sep}" for name in ("numba", "llvmlite"))


def _must_finish(frame: FrameType) -> bool:
    """Whether the interrupted code is better left to finish than unwound: a finaliser (Python drops
    its exceptions), an import (a C extension such as numpy turns an interrupt while it imports into an
    ImportError that may not say it was one, and a module left half-imported stays broken), or
    anything called from numba's compiler."""
    if frame.f_code.co_name == "__del__":
        return True
    f: FrameType | None = frame
    while f is not None:
        name = f.f_code.co_filename
        if name.startswith("<frozen importlib") or any(part in name for part in _LEAVE_TO_FINISH):
            return True
        f = f.f_back
    return False


def _caused_by_interrupt(exc: BaseException | None) -> bool:
    """Whether an exception is, or was raised while handling, an interrupt (a C extension that is
    interrupted while importing turns the interrupt into an ImportError)."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, (Interrupted, KeyboardInterrupt)):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def main(argv: Sequence[str] | None = None) -> int:
    """Run the deepamp CLI; returns the exit code."""
    as_program = argv is None
    argv = list(sys.argv[1:] if argv is None else argv)
    on_main = threading.current_thread() is threading.main_thread()
    signals = _Signals()
    previous = {sig: signal.signal(sig, signals) for sig in (signal.SIGTERM, signal.SIGINT)} if on_main else {}
    if on_main:
        sys.unraisablehook = signals.unraisable
    command = next((a for a in argv if not a.startswith("-")), None)
    handler = None
    try:
        from deepamp.cli.common import UsageError
        from deepamp.errors import DeepampError, OptionError

        parser = build_parser(command if command in COMMANDS else None)
        try:
            args = parser.parse_args(argv)
        except SystemExit as exc:     # --help, --version (0) or a usage error (2, one line printed)
            return exc.code if isinstance(exc.code, int) else 2
        args.argv = argv
        handler = _Handler(args.command)
        saved = (log.propagate, log.level)
        log.addHandler(handler)
        log.propagate = False
        log.setLevel(logging.WARNING if getattr(args, "quiet", False) else
                     logging.DEBUG if getattr(args, "verbose", False) else logging.INFO)
        try:
            code = int(args._run(args) or 0)
            signals.done = True
            return code
        except (OptionError, UsageError) as exc:
            print(f"deepamp {args.command}: error: {one_line(str(exc))} (see deepamp {args.command} --help)",
                  file=sys.stderr)
            return 2
        except DeepampError as exc:
            print(f"deepamp {args.command}: error: {one_line(str(exc))}", file=sys.stderr)
            return 1
        except MemoryError:
            print(f"deepamp {args.command}: error: out of memory", file=sys.stderr)
            return 1
        except BrokenPipeError:  # e.g. `deepamp call ... | head`: not an error
            sys.stderr.close()
            return 0
    except BaseException as exc:
        signals.done = True
        if not _caused_by_interrupt(exc):
            raise
        module = sys.modules.get(f"deepamp.cli.{COMMANDS[command][0]}") if command in COMMANDS else None
        note = getattr(module, "INTERRUPTED", "no output written")
        print(f"deepamp{' ' + command if command else ''}: interrupted; {note}", file=sys.stderr)
        return 130
    finally:
        signals.done = True
        if handler is not None:
            log.removeHandler(handler)
            log.propagate = saved[0]              # a library user's logging is as it was
            log.setLevel(saved[1])
        if on_main:
            signals.restore()
        for sig, old in previous.items():     # as a program the process ends now: late signals are ignored
            signal.signal(sig, signal.SIG_IGN if as_program else old)   # (a Python handler is reset at exit)


__all__ = ["main", "COMMANDS", "build_parser", "one_line"]

if __name__ == "__main__":
    sys.exit(main())
