"""``python -m infra.cli``: the ``vangnet`` command (the tests start the worker this way)."""

import sys

from infra.cli import main

sys.exit(main())
