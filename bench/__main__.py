"""``python -m bench``: the same as ``vangnet bench``."""

import sys

from bench.run import main

sys.exit(main())
