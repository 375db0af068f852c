"""``python -m deepamp``."""

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


try:
    from deepamp.cli import main
except BaseException as exc:         # Ctrl-C before the command line is up: one line, no traceback
    if not _interrupted(exc):
        raise
    sys.stderr.write("deepamp: interrupted; no output written\n")
    sys.exit(130)

sys.exit(main())
