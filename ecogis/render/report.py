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

    The stored form (format 2, :mod:`ecogis.render.findings_json`): each
    rule's texts and each set of checks once, in ``rules`` and ``checks``;
    :func:`ecogis.read_findings` reads it back as
    :meth:`~ecogis.ScreenResult.to_document`.  JSON Lines, for very large
    runs: the first line is ``{"format_version": 2, "meta": …, "rules": …,
    "checks": …}``, then one site (with its findings) per line, so readers can
    stream it.  The document is encoded column-wise (no Python per site or
    finding); small results (up to :data:`INDENT_LIMIT` sites plus findings)
    are then indented for reading.
    """
    from ecogis.render.findings_json import document_chunks, write_document

    if lines is None:
        lines = Path(path).suffix == ".jsonl"
    if lines or len(result.sites) + len(result.findings) > INDENT_LIMIT:
        return write_document(result, path, lines=lines)
    doc = json.loads(b"".join(bytes(c) for c in document_chunks(result)))
    return write_text_atomic(path, json.dumps(doc, ensure_ascii=False, indent=2))


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
