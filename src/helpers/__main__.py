"""``python -m helpers``: the book's command line (see :mod:`helpers.tooling.cli`)."""

import sys

from .tooling.cli import main

sys.exit(main())
