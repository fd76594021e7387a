"""Feature-by-feature validation with fiona.

The bulk readers (pyogrio) read a layer in one go and fail as a whole on a
corrupt record.  :func:`scan_features` walks the records one at a time with
fiona, so each bad record is reported with its feature ID and the rest are
still checked: what ``ecogis layers validate`` needs for a huge or partly
corrupt layer.
"""

from __future__ import annotations

import contextlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

import fiona
from fiona.errors import FionaError
from shapely.geometry import shape

from ecogis.errors import FormatError


@dataclass
class ScanResult:
    """What a record-by-record scan found."""

    path: str
    layer: str | None
    features: int = 0
    problems: list[tuple[object, str]] = field(default_factory=list)  # (feature id, message)

    @property
    def ok(self) -> bool:
        return not self.problems


def _records(path: str, layer: str | None) -> Iterator[tuple[object, object]]:
    with fiona.open(path, layer=layer) as src:
        it = iter(src)
        index = 0
        while True:
            try:
                feat = next(it)
            except StopIteration:
                return
            except json.JSONDecodeError:
                # fiona decodes GDAL's JSON-subtype fields and fails on plain text in them; the record is
                # readable (the import reads it through pyogrio), so this is no problem of the file
                yield index, None
                index += 1
                continue
            except (FionaError, ValueError, UnicodeDecodeError, RuntimeError) as exc:
                yield index, exc
                index += 1
                continue
            yield (feat.id if feat.id is not None else index), feat
            index += 1


def scan_features(path: str | Path, *, layer: str | None = None, limit: int = 1000,
                  source: str | None = None) -> ScanResult:
    """Read ``path`` record by record; collect up to ``limit`` problems with their feature IDs.

    ``source`` is the GDAL path to open when it differs from ``path`` (a
    ``/vsizip/`` member chosen by :func:`ecogis.read.vector.zip_shapefile`).
    """
    from ecogis.read.vector import gdal_source

    result = ScanResult(path=str(path), layer=layer)
    try:
        with contextlib.ExitStack() as stack:
            src = stack.enter_context(gdal_source(path)) if source is None else source
            if src.lower().endswith(".zip"):
                src = f"zip://{src}"
            for fid, feat in _records(src, layer):
                result.features += 1
                if feat is None:
                    pass
                elif isinstance(feat, Exception):
                    result.problems.append((fid, f"unreadable record: {feat}"))
                else:
                    msg = _check(feat)
                    if msg:
                        result.problems.append((fid, msg))
                if len(result.problems) >= limit:
                    break
    except (FionaError, OSError, ValueError) as exc:
        raise FormatError(f"cannot open: {str(exc).splitlines()[0] if str(exc) else exc}", path=path) from None
    return result


def _check(feat) -> str | None:
    geom = feat.geometry
    if geom is None:
        return "no geometry"
    try:
        g = shape(geom)
    except (ValueError, TypeError, AttributeError) as exc:
        return f"unreadable geometry: {exc}"
    if g.is_empty:
        return "empty geometry"
    try:
        bounds = g.bounds
    except Exception as exc:  # noqa: BLE001 - GEOS errors vary
        return f"unreadable geometry: {exc}"
    if not all(math.isfinite(b) for b in bounds):
        return "NaN or infinite coordinates"
    if not g.is_valid:
        from shapely.validation import explain_validity

        return f"invalid geometry ({explain_validity(g)}); will be repaired on import"
    return None
