"""The one KML writer: WGS84/CGCS2000 lon/lat, names and attributes XML-escaped, styled folders, KMZ.

Both exports use it: :func:`write_kml` (a layer as placemarks) and the patrol
field package (:func:`ecogis.patrol.fieldpkg.kml_text`: styled polygons of the
red line, protected-area zones, water-source zones and target patches beside
the stops and day routes).  Build a document from :func:`style`,
:func:`placemark` and :func:`folder`, join it with :func:`document`, and write
it with :func:`write_kmz` when a phone app wants one file.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any, Iterable, Mapping
from xml.sax.saxutils import escape, quoteattr

import geopandas as gpd
import numpy as np
import shapely

from ecogis.fileutil import atomic_path, write_text_atomic


def _coords(geom, precision: int) -> str:
    xy = shapely.get_coordinates(geom)
    return " ".join(f"{x:.{precision}f},{y:.{precision}f}" for x, y in xy)


def _geom_xml(geom, precision: int) -> str:
    t = geom.geom_type
    if t == "Point":
        return f"<Point><coordinates>{_coords(geom, precision)}</coordinates></Point>"
    if t in {"LineString", "LinearRing"}:
        return (f"<LineString><tessellate>1</tessellate><coordinates>{_coords(geom, precision)}</coordinates>"
                "</LineString>")
    if t == "Polygon":
        inner = "".join(
            f"<innerBoundaryIs><LinearRing><coordinates>{_coords(r, precision)}</coordinates></LinearRing></innerBoundaryIs>"
            for r in geom.interiors
        )
        return (
            f"<Polygon><tessellate>1</tessellate><outerBoundaryIs><LinearRing><coordinates>"
            f"{_coords(geom.exterior, precision)}</coordinates></LinearRing></outerBoundaryIs>{inner}</Polygon>"
        )
    parts = "".join(_geom_xml(g, precision) for g in shapely.get_parts(geom) if not g.is_empty)
    return f"<MultiGeometry>{parts}</MultiGeometry>"


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return escape(str(value))


def placemarks(geoms: Any, names: Any = None, *, style_ids: Any = None, descriptions: Any = None,
               data: Mapping[Any, Any] | None = None, precision: int = 7) -> str:
    """:func:`placemark` of each geometry with its name, style, description and attributes, joined by newlines.

    ``names`` and each column of ``data`` hold one value per geometry (no
    ``names``: empty names); ``style_ids`` and ``descriptions`` are one text for
    all or one text (or None) per geometry.  Features with a missing or empty
    geometry are left out.  Built per column and per geometry type
    (:mod:`ecogis.export.kmlvec`), without a Python call per feature.
    """
    from ecogis.export import kmlvec

    return kmlvec.placemarks(np.asarray(geoms, dtype=object), names, data or {}, precision,
                             style_ids=style_ids, descriptions=descriptions)


def kml_colour(hex_colour: str, opacity: float = 1.0) -> str:
    """``#rrggbb`` and an opacity as KML's ``aabbggrr``."""
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    a = max(0, min(255, round(opacity * 255)))
    return f"{a:02x}{h[4:6]}{h[2:4]}{h[0:2]}"


def style(sid: str, *, stroke: str = "#333333", width: float = 2.0, fill: str | None = None,
          fill_opacity: float = 0.3, icon_colour: str | None = None, icon_scale: float = 1.0) -> str:
    """A ``<Style>``: line colour and width, polygon fill (or outline only when ``fill`` is None), icon colour."""
    poly = (f"<PolyStyle><color>{kml_colour(fill, fill_opacity)}</color><fill>1</fill><outline>1</outline></PolyStyle>"
            if fill else "<PolyStyle><fill>0</fill><outline>1</outline></PolyStyle>")
    icon = (f"<IconStyle><color>{kml_colour(icon_colour)}</color><scale>{icon_scale:g}</scale></IconStyle>"
            if icon_colour else "")
    return (f"<Style id={quoteattr(sid)}>{icon}<LineStyle><color>{kml_colour(stroke)}</color>"
            f"<width>{width:g}</width></LineStyle>{poly}</Style>")


def placemark(name: Any, geom: Any, *, style_id: str | None = None, description: Any = None,
              data: Mapping[str, Any] | None = None, precision: int = 7) -> str:
    """One ``<Placemark>`` (empty string for a missing or empty geometry)."""
    if geom is None or geom.is_empty:
        return ""
    ext = ""
    if data:
        ext = "<ExtendedData>" + "".join(f"<Data name={quoteattr(str(k))}><value>{_text(v)}</value></Data>"
                                         for k, v in data.items()) + "</ExtendedData>"
    desc = f"<description>{_text(description)}</description>" if description not in (None, "") else ""
    su = f"<styleUrl>#{escape(style_id)}</styleUrl>" if style_id else ""
    return f"<Placemark><name>{_text(name)}</name>{desc}{su}{ext}{_geom_xml(geom, precision)}</Placemark>"


def folder(name: Any, items: Iterable[str], *, visible: bool = True) -> str:
    """A ``<Folder>`` of placemarks (or sub-folders)."""
    body = "\n".join(i for i in items if i)
    return f"<Folder><name>{_text(name)}</name><visibility>{int(visible)}</visibility>\n{body}\n</Folder>"


def document(name: Any, items: Iterable[str], *, styles: Iterable[str] = (), description: Any = None) -> str:
    """A whole KML 2.2 document."""
    desc = f"<description>{_text(description)}</description>" if description else ""
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
            f"<name>{_text(name)}</name>{desc}\n" + "\n".join(styles) + "\n" + "\n".join(i for i in items if i)
            + "\n</Document></kml>\n")


def write_kmz(path: str | Path, kml: str) -> Path:
    """``kml`` as a KMZ (a zip whose first entry is ``doc.kml``), atomically."""
    with atomic_path(path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("doc.kml", kml.encode("utf-8"))
    return Path(path)


def write_kml(gdf: gpd.GeoDataFrame, path: str | Path, *, name_field: str = "name", precision: int = 8) -> Path:
    """Write ``gdf`` (any CRS; converted to EPSG:4490 lon/lat) as KML 2.2 (``.kmz``: zipped).

    A placemark per feature with a geometry, its attributes as ``ExtendedData``;
    built column by column (:func:`placemarks`), the same text as
    :func:`placemark` per feature.
    """
    data = gdf.to_crs(4490) if gdf.crs is not None and gdf.crs.to_epsg() != 4490 else gdf
    cols = [c for c in data.columns if c != data.geometry.name]
    # a feature's attributes as a mapping: one entry per distinct name, the value of its last column
    last = {}
    for j, c in enumerate(cols):
        last[c] = j
    frame = data[cols]
    values = {c: frame.iloc[:, j] for c, j in last.items()}
    name = values[name_field] if name_field in values else None
    doc = document("", [placemarks(data.geometry.values, name, data=values, precision=precision)])
    if str(path).lower().endswith(".kmz"):
        return write_kmz(path, doc)
    return write_text_atomic(path, doc)
