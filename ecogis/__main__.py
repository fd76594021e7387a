"""``python -m ecogis``: the ``ecogis`` command."""

import sys

from ecogis.cli import main

if __name__ == "__main__":
    sys.exit(main())
