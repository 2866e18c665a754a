"""``python -m entrypoints.cli``: the ``vangnet`` command (the tests start the worker this way)."""

import sys

from entrypoints.cli import main

sys.exit(main())
