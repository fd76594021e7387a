"""One module per sample city; each has ``build() -> City`` and ``SITES``."""

from __future__ import annotations

CITIES = ("genhe", "arxan", "manzhouli", "xilinhot")
