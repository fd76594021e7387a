"""``python -m ecogis.cli``."""

import sys

from ecogis.cli import main

sys.exit(main())
