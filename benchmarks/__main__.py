"""Entry point of ``python -m benchmarks`` (run from the repository: the benchmarks are not installed)."""

import sys

from benchmarks.cli import main

sys.exit(main())
