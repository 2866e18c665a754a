"""``python -m infra.entrypoints.cli``: the ``vangnet`` command (the tests start the worker this
way)."""

import sys

from infra.entrypoints.cli import main

sys.exit(main())
