"""`python -m facemask ...`: the same as the `facemask` command."""

from __future__ import annotations

import sys

from facemask.cli import main

if __name__ == "__main__":
    sys.exit(main())
