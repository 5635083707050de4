"""`python -m facemask.cli ...`: the same as the `facemask` command."""

import sys

from facemask.cli import main

sys.exit(main())
