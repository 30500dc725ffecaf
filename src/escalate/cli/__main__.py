"""``python -m escalate.cli``: the command line."""

import sys

from escalate.cli import main

sys.exit(main())
