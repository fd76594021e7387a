"""Serving a file by a name from a URL without ever leaving a folder."""

from __future__ import annotations

import re
from pathlib import Path

#: A file name a URL may ask for: one path segment, no leading dot.
_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]{0,127}$")


def safe_file(base: Path, rel: str) -> Path | None:
    """``base/rel`` if it is a regular file inside ``base`` reached without a symlink, else ``None``.

    ``rel`` may have ``/``-separated segments; each must match a plain file
    name (no ``..``, no ``.``-names, no backslash, no drive, no NUL).  The
    resolved path must still be inside the resolved ``base`` and no segment
    may be a symlink.
    """
    if not rel or len(rel) > 512 or rel.startswith("/"):
        return None
    parts = rel.split("/")
    if not all(_NAME.match(p) and ".." not in p for p in parts):
        return None
    base_r = base.resolve()
    cur = base_r
    for p in parts:
        cur = cur / p
        if cur.is_symlink():
            return None
    try:
        real = cur.resolve(strict=True)
    except (OSError, RuntimeError):
        return None
    if not real.is_relative_to(base_r) or not real.is_file():
        return None
    return real
