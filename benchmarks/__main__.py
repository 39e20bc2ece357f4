"""python -m benchmarks [--quick] ...: the whole benchmark run; python -m benchmarks class-load | recipes ...: the
measurements with a command line of their own (see benchmarks/run.py)."""

import sys

from benchmarks.run import main

sys.exit(main())
