"""``python -m sseio``: the same command line as the ``sseio`` script."""

import sys

from ._cli import main

sys.exit(main())
