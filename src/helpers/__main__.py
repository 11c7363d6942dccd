"""``python -m helpers``: the book's command line (see :mod:`helpers.tooling.cli`)."""

import sys

from .tooling.cli import main

if __name__ == "__main__":  # worker processes of the training pool import this module too
    sys.exit(main())
