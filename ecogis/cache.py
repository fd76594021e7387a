"""A small on-disk cache of checked documents (JSON only: data, never code).

Loading the bundled rules parses 60-odd YAML files and validates each
against ``rules/schema.json``; a fresh process (every CLI run) paid ~0.4 s
for it.  A rule file whose exact bytes were parsed and validated before is
read back from here instead: the key is the SHA-256 of the file's bytes, of
the schema's bytes, of the ecogis version and of the reading code itself, so
an edited file, schema, reader or release never meets a stale entry.  Entries are plain JSON (no pickle: a
cache file cannot run code) written atomically into a folder only the user
can read (``0700``).

The folder is ``settings.cache_dir`` (``ECOGIS_CACHE_DIR``; default
``$XDG_CACHE_HOME/ecogis`` or ``~/.cache/ecogis``); ``settings.cache = False``
(``ECOGIS_CACHE=0``) turns the cache off.  A folder that cannot be written
only disables the cache (the work is done as without one).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ecogis import __version__
from ecogis.settings import settings


@functools.lru_cache(maxsize=1)
def _code_stamp() -> bytes:
    """SHA-256 of the code that parses and checks what is cached: a changed reader never meets an old entry."""
    h = hashlib.sha256()
    here = Path(__file__).resolve().parent
    for rel in ("cache.py", "rules/yamlio.py", "rules/yamlparse.py", "rules/load.py", "rules/schema.py"):
        try:
            h.update((here / rel).read_bytes())
        except OSError:
            h.update(rel.encode())
    return h.digest()


def key(*parts: str | bytes) -> str:
    """A cache key: the SHA-256 of the ecogis version, the reading code and ``parts``."""
    h = hashlib.sha256(__version__.encode())
    h.update(_code_stamp())
    for p in parts:
        h.update(b"\x00")
        h.update(p if isinstance(p, bytes) else p.encode("utf-8"))
    return h.hexdigest()


def _folder(namespace: str) -> Path | None:
    if not settings.cache:
        return None
    return Path(settings.cache_dir) / namespace


def get(namespace: str, k: str) -> Any | None:
    """The JSON value stored under ``k``, or ``None`` (absent, unreadable or the cache off)."""
    folder = _folder(namespace)
    if folder is None:
        return None
    try:
        with open(folder / f"{k}.json", "rb") as fh:
            return json.loads(fh.read())
    except (OSError, ValueError):
        return None


def put(namespace: str, k: str, value: Any) -> bool:
    """Store ``value`` (JSON-serialisable, string keys only) under ``k``; ``False`` if it could not be."""
    folder = _folder(namespace)
    if folder is None:
        return False
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError):
        return False
    try:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
            os.replace(tmp, folder / f"{k}.json")
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        return False
    return True


def json_safe(value: Any) -> bool:
    """Whether ``value`` survives a JSON round trip unchanged (str keys; str, numbers, bool, None, lists, dicts)."""
    if isinstance(value, dict):
        return all(isinstance(k, str) and json_safe(v) for k, v in value.items())
    if isinstance(value, list):
        return all(json_safe(v) for v in value)
    return value is None or isinstance(value, (str, bool, int, float))
