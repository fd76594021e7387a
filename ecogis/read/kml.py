"""KML and KMZ, parsed with entity resolution off (defusedxml).

KML coordinates are WGS84 lon/lat by the standard (OGC 07-147r2), so the
result is EPSG:4326 and that is noted.  Placemarks with no geometry are
reported; several geometries in one placemark (``MultiGeometry``, nested or
not, the ``MultiPolygon``/``MultiLineString``/``MultiPoint`` elements some
exporters write, ``gx:MultiTrack``) become one multi-part geometry when they
share a dimension, otherwise one feature per dimension, reported.  A
``gx:Track`` is read as a line through its ``gx:coord`` points.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import defusedxml.ElementTree as DET
import geopandas as gpd
import numpy as np
import shapely
from defusedxml import DefusedXmlException

from ecogis.errors import FormatError
from ecogis.notes import Notes
from ecogis.read.archive import members_with_suffix, open_zip, read_member

_Z_SEEN: set[str] = set()
_GEOM_TAGS = {"Point", "LineString", "LinearRing", "Polygon", "MultiGeometry", "MultiPolygon", "MultiLineString",
              "MultiPoint", "Track", "MultiTrack"}
#: Containers of several geometries: KML's MultiGeometry, the OGC-style Multi* some exporters write, gx:MultiTrack.
_MULTI_TAGS = {"MultiGeometry", "MultiPolygon", "MultiLineString", "MultiPoint", "MultiTrack"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: Element, name: str) -> list[Element]:
    return [c for c in el if _local(c.tag) == name]


def _first_text(el: Element, name: str) -> str | None:
    for c in el.iter():
        if _local(c.tag) == name and c.text:
            return c.text.strip()
    return None


def _coords(text: str | None, *, path, where: str) -> np.ndarray:
    if not text or not text.strip():
        raise FormatError("empty <coordinates>", path=path, where=where)
    tuples = text.replace("\n", " ").replace("\t", " ").split()
    if any(t.count(",") >= 2 for t in tuples):
        _Z_SEEN.add(str(path))
    try:
        arr = np.array([[float(v) for v in t.split(",")[:2]] for t in tuples], dtype=float)
    except ValueError:
        raise FormatError(f"<coordinates> are not numbers: {text.strip()[:60]!r}", path=path, where=where) from None
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise FormatError("each coordinate needs longitude,latitude", path=path, where=where)
    return arr


def _geometry(el: Element, *, path, where: str) -> list[Any]:
    """Shapely geometries in ``el`` (several for MultiGeometry)."""
    tag = _local(el.tag)
    if tag == "Point":
        xy = _coords(_first_text(el, "coordinates"), path=path, where=where)
        return [shapely.Point(xy[0])]
    if tag in {"LineString", "LinearRing"}:
        xy = _coords(_first_text(el, "coordinates"), path=path, where=where)
        if len(xy) < 2:
            raise FormatError("a LineString needs at least 2 points", path=path, where=where)
        return [shapely.LineString(xy)]
    if tag == "Polygon":
        outer = [r for b in _children(el, "outerBoundaryIs") for r in b.iter() if _local(r.tag) == "LinearRing"]
        if not outer:
            raise FormatError("Polygon without outerBoundaryIs", path=path, where=where)
        shell = _coords(_first_text(outer[0], "coordinates"), path=path, where=where)
        holes = [
            _coords(_first_text(r, "coordinates"), path=path, where=where)
            for b in _children(el, "innerBoundaryIs")
            for r in b.iter()
            if _local(r.tag) == "LinearRing"
        ]
        if len(shell) < 3:
            raise FormatError("a polygon ring needs at least 3 points", path=path, where=where)
        return [shapely.Polygon(shell, holes)]
    if tag in _MULTI_TAGS:
        out: list[Any] = []
        for c in el:
            if _local(c.tag) in _GEOM_TAGS:
                out.extend(_geometry(c, path=path, where=where))
            elif _local(c.tag) in {"polygonMember", "lineStringMember", "pointMember", "geometryMember"}:
                for g in c:  # GML-style members, as some exporters nest them
                    if _local(g.tag) in _GEOM_TAGS:
                        out.extend(_geometry(g, path=path, where=where))
        return out
    if tag == "Track":
        pts = [c.text for c in el if _local(c.tag) == "coord" and c.text and c.text.strip()]
        if not pts:
            raise FormatError("gx:Track without gx:coord", path=path, where=where)
        xy = _coords(" ".join(",".join(t.split()) for t in pts), path=path, where=where)
        return [shapely.LineString(xy)] if len(xy) > 1 else [shapely.Point(xy[0])]
    return []


def _attributes(pm: Element) -> dict[str, Any]:
    attrs: dict[str, Any] = {}
    for c in pm:
        name = _local(c.tag)
        if name in {"name", "description"} and c.text is not None:
            attrs[name] = c.text.strip()
    for ext in _children(pm, "ExtendedData"):
        for d in ext.iter():
            t = _local(d.tag)
            if t == "Data" and d.get("name"):
                v = next((x.text for x in d if _local(x.tag) == "value"), None)
                attrs[d.get("name")] = v.strip() if v else v
            elif t == "SimpleData" and d.get("name"):
                attrs[d.get("name")] = d.text.strip() if d.text else d.text
    return attrs


def parse_kml(data: bytes, *, path=None, notes: Notes | None = None) -> gpd.GeoDataFrame:
    """Parse KML bytes into a GeoDataFrame (EPSG:4326)."""
    notes = notes if notes is not None else Notes()
    _Z_SEEN.discard(str(path))
    try:
        root = DET.fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise FormatError(
            f"KML refused: it declares a DTD or XML entities ({type(exc).__name__}), which are never resolved",
            path=path, hint="KML needs no DOCTYPE; remove it") from None
    except Exception as exc:  # ParseError
        raise FormatError(f"not well-formed XML: {exc}", path=path) from None
    rows: list[dict[str, Any]] = []
    geoms: list[Any] = []
    no_geom: list[int] = []
    split: list[int] = []
    placemarks = [el for el in root.iter() if _local(el.tag) == "Placemark"]
    for i, pm in enumerate(placemarks, start=1):
        where = f"placemark {i}"
        attrs = _attributes(pm)
        parts: list[Any] = []
        for c in pm:
            if _local(c.tag) in _GEOM_TAGS:
                parts.extend(_geometry(c, path=path, where=where))
        if not parts:
            no_geom.append(i)
            continue
        by_dim: dict[int, list[Any]] = {}
        for p in parts:
            by_dim.setdefault(int(shapely.get_dimensions(p)), []).append(p)
        if len(by_dim) > 1:
            split.append(i)
        for dim, ps in sorted(by_dim.items(), reverse=True):
            geom = ps[0] if len(ps) == 1 else (
                shapely.MultiPolygon(ps) if dim == 2 else shapely.MultiLineString(ps) if dim == 1 else shapely.MultiPoint(ps)
            )
            rows.append({"fid": i, **attrs})
            geoms.append(geom)
    if no_geom:
        notes.add("drop_empty", f"{len(no_geom)} placemarks have no geometry and were left out", no_geom)
    if split:
        notes.add("split", f"{len(split)} placemarks mix points, lines and polygons; one feature per kind of geometry", split)
    if not placemarks:
        from ecogis.errors import EmptyLayerError

        raise EmptyLayerError("KML has no placemarks", path=path)
    if str(path) in _Z_SEEN:
        _Z_SEEN.discard(str(path))
        notes.add("drop_z", "altitude values dropped from KML coordinates (2-D analysis)")
    notes.add("crs", "KML coordinates are WGS84 lon/lat by the KML standard (EPSG:4326)")
    gdf = gpd.GeoDataFrame(rows, geometry=geoms, crs="EPSG:4326")
    return gdf


def read_kml(path: str | Path, *, notes: Notes | None = None) -> gpd.GeoDataFrame:
    """Read a ``.kml`` file."""
    return parse_kml(Path(path).read_bytes(), path=path, notes=notes)


def read_kmz(path: str | Path, *, notes: Notes | None = None) -> gpd.GeoDataFrame:
    """Read a ``.kmz`` (zipped KML): its ``doc.kml``, or its only ``.kml`` member."""
    with open_zip(path) as zf:
        kmls = members_with_suffix(zf, ".kml")
        if not kmls:
            raise FormatError("KMZ contains no .kml document", path=path)
        name = "doc.kml" if "doc.kml" in kmls else sorted(kmls, key=lambda n: (n.count("/"), n))[0]
        data = read_member(zf, name, path=path)
    return parse_kml(data, path=f"{path}!{name}", notes=notes)
