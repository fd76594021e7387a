"""Normalise stage: CGCS2000, repairs, schemas, datum shifts, ellipsoidal areas.

:func:`normalise` takes what the read stage produced and returns a layer
ready for a workspace: canonical field names, valid 2-D geometries, EPSG:4490.
"""

from __future__ import annotations

from typing import Any

import geopandas as gpd

from ecogis.errors import EmptyLayerError
from ecogis.normalise.repair import check_finite, drop_empty, drop_z, repair
from ecogis.normalise.schema import apply_schema, get_schema, kinds
from ecogis.normalise.transform import to_cgcs2000
from ecogis.notes import Notes

__all__ = ["normalise", "apply_schema", "get_schema", "kinds", "to_cgcs2000"]


def normalise(gdf: gpd.GeoDataFrame, kind: str, *, notes: Notes | None = None, path: Any = None) -> gpd.GeoDataFrame:
    """Check, repair and normalise a layer of ``kind``.

    Steps, each reported in ``notes``: refuse non-finite coordinates; drop Z/M;
    drop empty geometries; repair invalid ones with ``make_valid``; map field
    names and values onto the kind's schema; transform to EPSG:4490.  An
    empty result raises :class:`~ecogis.errors.EmptyLayerError`.
    """
    notes = notes if notes is not None else Notes()
    schema = get_schema(kind)
    if len(gdf) == 0:
        raise EmptyLayerError("layer has no features", path=path)
    check_finite(gdf, path=path)
    out = drop_z(gdf, notes)
    out = drop_empty(out, notes)
    if len(out) == 0:
        raise EmptyLayerError("layer has no features with a geometry", path=path)
    out = repair(out, notes, family=schema.geometry, path=path)
    out = apply_schema(out, kind, path=path, notes=notes)
    out = to_cgcs2000(out, notes, path=path)
    out.attrs["notes"] = notes
    return out
