"""``python -m deepamp``."""

import sys

try:
    from deepamp.cli import main
except KeyboardInterrupt:            # Ctrl-C before the command line is up: one line, no traceback
    sys.stderr.write("deepamp: interrupted; no output written\n")
    sys.exit(130)

sys.exit(main())
