"""The ``deepamp`` command line: ``main(argv=None) -> int``.

Exit codes: 0 success, 1 runtime error (one line on stderr naming the file and
the problem), 2 usage error, 130 interrupted.  Subcommand implementations are
imported only when run, so ``deepamp --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
from collections.abc import Callable, Sequence

from deepamp import __version__
from deepamp.errors import DeepampError

# name -> (module, help); each module has configure_parser(parser) and run(args) -> int
COMMANDS: dict[str, tuple[str, str]] = {
    "call": ("deepamp.cli.call", "call low-frequency SNVs (drop-in for `lofreq call`)"),
    "count": ("deepamp.cli.call", "write the per-position count table (TSV or .npz)"),
    "simulate": ("deepamp.simulate", "simulate deep-amplicon reads into a sorted, indexed BAM"),
    "demo": ("deepamp.workflow.demo", "simulate ALK exons 22-25 at 25,000x with resistance mutations and call them"),
    "annotate": ("deepamp.annotate.cli", "ALK/ROS1 HGVS annotation, resistance evidence and inhibitor ranking"),
    "background": ("deepamp.models.background", "learn the per-site error background from healthy-control BAMs"),
    "filter": ("deepamp.filters", "filter a deepamp or LoFreq VCF (drop-in for `lofreq filter`)"),
    "phase": ("deepamp.phase", "cis/trans phasing of nearby variants from fragments"),
    "report": ("deepamp.report", "self-contained HTML report of an annotated sample (VCF + annotate JSON)"),
    "align": ("deepamp.workflow.align", "align paired FASTQs with bwa mem or bowtie2 --very-sensitive-local into a sorted BAM"),
    "concordance": ("deepamp.concordance", "merge two aligners' VCFs: strong (PASS in both) / weak evidence"),
    "cohort": ("deepamp.workflow.cohort", "call every sample of a cohort in parallel with Dask (VCFs + cohort.tsv)"),
}


def _configure(name: str) -> tuple[Callable[[argparse.ArgumentParser], None], Callable[[argparse.Namespace], int]]:
    module = importlib.import_module(COMMANDS[name][0])
    suffix = "" if COMMANDS[name][0] != "deepamp.cli.call" else f"_{name}"
    return getattr(module, f"configure{suffix}_parser"), getattr(module, f"run{suffix}")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only ``command``'s module is imported and configured."""
    parser = argparse.ArgumentParser(
        prog="deepamp", description="deepamp: fast, exact low-frequency variant calling for deep PCR amplicons")
    parser.add_argument("--version", action="version", version=f"deepamp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (_, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        if command == name:
            configure, run = _configure(name)
            configure(p)
            p.set_defaults(_run=run)
    return parser


def one_line(text: str) -> str:
    """``text`` with newlines and other unprintable characters (which may come
    from the input file) escaped, so an error message is always one line."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _sigterm(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    """Run the deepamp CLI; returns the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    previous = signal.signal(signal.SIGTERM, _sigterm) if _main_thread() else None
    try:
        return int(args._run(args) or 0)
    except DeepampError as exc:
        print(f"deepamp {args.command}: error: {one_line(str(exc))}", file=sys.stderr)
        return 1
    except MemoryError:
        print(f"deepamp {args.command}: error: out of memory", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `deepamp demo | head`: not an error
        sys.stderr.close()
        return 0
    except KeyboardInterrupt:
        print(f"deepamp {args.command}: interrupted; no output written", file=sys.stderr)
        return 130
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    sys.exit(main())
