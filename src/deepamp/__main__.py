"""``python -m deepamp`` and the ``deepamp`` command."""

import sys


def _interrupted(exc: BaseException | None) -> bool:
    # a C extension interrupted while importing (numpy) turns the interrupt into an ImportError
    for _ in range(20):
        if exc is None:
            return False
        if isinstance(exc, KeyboardInterrupt):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def console() -> int:
    """The ``deepamp`` command: :func:`deepamp.cli.main`, with a Ctrl-C that lands while the command
    line is still loading (before the CLI handles interrupts) reported in one line, exit 130."""
    try:
        from deepamp.cli import main
    except BaseException as exc:
        if not _interrupted(exc):
            raise
        sys.stderr.write("deepamp: interrupted; no output written\n")
        return 130
    return main()


if __name__ == "__main__":
    sys.exit(console())
