"""``python -m sseio``: the same command line as the ``sseio`` script."""

import sys

from .cli.main import main

sys.exit(main())
