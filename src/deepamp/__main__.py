"""``python -m deepamp``."""

import sys

from deepamp.cli import main

sys.exit(main())
