"""Screening outputs for machines and offices: findings.json, findings.xlsx, conflicts.gpkg."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyogrio

from ecogis.fileutil import atomic_path, write_text_atomic

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "findings.schema.json"
DISTANCE_FIELDS = ("distance_m",)


def findings_document(result) -> dict[str, Any]:
    """The findings as the documented JSON structure (``ecogis/data/findings.schema.json``).

    Kept for older callers: it is :meth:`ecogis.ScreenResult.to_document`.
    """
    return result.to_document()


#: Above this many sites plus findings ``findings.json`` is written compact (one line; the C encoder),
#: below it indented for reading.
INDENT_LIMIT = 5_000


def write_json(result, path: str | Path, *, lines: bool | None = None) -> Path:
    """Write ``findings.json`` in one pass (or, with ``lines``, JSON Lines: ``findings.jsonl``).

    JSON Lines, for very large runs: the first line is ``{"meta": …}``, then
    one site (with its findings) per line, so readers can stream it.  Small
    results are indented for reading (``json.dumps`` of
    :meth:`~ecogis.ScreenResult.to_document`); above :data:`INDENT_LIMIT`
    sites plus findings, and always for JSON Lines, the compact document is
    encoded column-wise (:mod:`ecogis.render.findings_json`: no Python per
    site or finding).
    """
    from ecogis.render.findings_json import write_document

    if lines is None:
        lines = Path(path).suffix == ".jsonl"
    if lines or len(result.sites) + len(result.findings) > INDENT_LIMIT:
        return write_document(result, path, lines=lines)
    text = json.dumps(result.to_document(), ensure_ascii=False, default=_default, indent=2)
    return write_text_atomic(path, text)


def _default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    return str(o)


def write_gpkg(result, path: str | Path) -> Path:
    """Write ``conflicts.gpkg``: the views ``sites`` and ``conflicts`` and their tables (``sites_base``,
    ``checks``, ``conflicts_base``, ``rules``).

    See :mod:`ecogis.render.conflicts_gpkg`.
    """
    from ecogis.render.conflicts_gpkg import write_conflicts_gpkg

    return write_conflicts_gpkg(result, path)
