"""KML writer: WGS84/CGCS2000 lon/lat, names and attributes XML-escaped."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

import geopandas as gpd
import numpy as np
import shapely

from ecogis.fileutil import write_text_atomic


def _coords(geom, precision: int) -> str:
    xy = shapely.get_coordinates(geom)
    return " ".join(f"{x:.{precision}f},{y:.{precision}f}" for x, y in xy)


def _geom_xml(geom, precision: int) -> str:
    t = geom.geom_type
    if t == "Point":
        return f"<Point><coordinates>{_coords(geom, precision)}</coordinates></Point>"
    if t in {"LineString", "LinearRing"}:
        return f"<LineString><coordinates>{_coords(geom, precision)}</coordinates></LineString>"
    if t == "Polygon":
        inner = "".join(
            f"<innerBoundaryIs><LinearRing><coordinates>{_coords(r, precision)}</coordinates></LinearRing></innerBoundaryIs>"
            for r in geom.interiors
        )
        return (
            f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{_coords(geom.exterior, precision)}"
            f"</coordinates></LinearRing></outerBoundaryIs>{inner}</Polygon>"
        )
    parts = "".join(_geom_xml(g, precision) for g in shapely.get_parts(geom))
    return f"<MultiGeometry>{parts}</MultiGeometry>"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return escape(str(value))


def write_kml(gdf: gpd.GeoDataFrame, path: str | Path, *, name_field: str = "name", precision: int = 8) -> Path:
    """Write ``gdf`` (any CRS; converted to EPSG:4490 lon/lat) as KML 2.2."""
    data = gdf.to_crs(4490) if gdf.crs is not None and gdf.crs.to_epsg() != 4490 else gdf
    cols = [c for c in data.columns if c != data.geometry.name]
    placemarks = []
    for row, geom in zip(data[cols].itertuples(index=False, name=None), data.geometry.values):
        if geom is None or geom.is_empty:
            continue
        attrs = dict(zip(cols, row))
        label = attrs.get(name_field, "")
        ext = "".join(f"<Data name={quoteattr(str(k))}><value>{_text(v)}</value></Data>" for k, v in attrs.items())
        placemarks.append(
            f"<Placemark><name>{_text(label)}</name><ExtendedData>{ext}</ExtendedData>{_geom_xml(geom, precision)}</Placemark>"
        )
    doc = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>\n'
        + "\n".join(placemarks)
        + "\n</Document></kml>\n"
    )
    return write_text_atomic(path, doc)
