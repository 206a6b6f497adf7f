"""``python -m guardpolicy`` runs the ``guard`` CLI."""

import sys

from .cli import main

sys.exit(main())
