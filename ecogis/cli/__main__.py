"""``python -m ecogis.cli``."""

from ecogis.cli import run

run()
