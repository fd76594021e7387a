"""ecogis: ecological spatial planning toolkit for China."""

from __future__ import annotations

__version__ = "0.1.0"

from ecogis.errors import EcogisError  # noqa: E402
from ecogis.settings import settings  # noqa: E402

__all__ = ["EcogisError", "settings", "__version__"]
