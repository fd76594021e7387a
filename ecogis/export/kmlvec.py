"""KML placemarks built per column and per geometry type, with Arrow string kernels.

The text equals :func:`ecogis.export.kml.placemark` feature by feature:

* coordinates ``x,y`` as Python's ``f"{v:.{precision}f}"`` (correctly rounded,
  ties to even, ``-0.00`` kept), joined by spaces per point, line or ring
  (``shapely.get_coordinates`` and one grouped join);
* polygons as their rings (``shapely.get_rings``), collections as their
  non-empty parts (``shapely.get_parts``), one level of nesting per pass;
* names and attribute values as ``str()`` of each value (empty for ``None`` and
  NaN), XML-escaped (``&``, ``<``, ``>``) by whole columns.
"""

from __future__ import annotations

from typing import Any, Mapping
from xml.sax.saxutils import escape, quoteattr

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from ecogis.textcolumns import TEXT, column_text, fixed_text, replace_literals

def _join_by(values: pa.Array, owner: np.ndarray, n: int, sep: str) -> pa.Array:
    """``sep.join`` of the values of each of ``n`` owners (``owner`` ascending, as shapely returns it)."""
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(owner, minlength=n), out=offsets[1:])
    lists = pa.LargeListArray.from_arrays(pa.array(offsets), values.cast(TEXT))
    return pc.binary_join(lists, pa.scalar(sep, TEXT)).cast(TEXT)


def _wrap(pre: str, text: pa.Array, post: str) -> pa.Array:
    return pc.binary_join_element_wise(pa.scalar(pre, TEXT), text, pa.scalar(post, TEXT), pa.scalar("", TEXT))


def _coordinates(geoms: np.ndarray, precision: int) -> pa.Array:
    """``"x,y x,y …"`` of each geometry."""
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    pairs = pc.binary_join_element_wise(fixed_text(xy[:, 0], precision), fixed_text(xy[:, 1], precision),
                                        pa.scalar(",", TEXT))
    return _join_by(pairs, owner, len(geoms), " ")


def geometry_xml(geoms: np.ndarray, precision: int) -> pa.Array:
    """The KML geometry element of each (non-empty) geometry, as ``kml._geom_xml`` writes it."""
    n = len(geoms)
    kinds = shapely.get_type_id(geoms)
    parts: list[pa.Array] = []
    where: list[np.ndarray] = []

    at = np.flatnonzero(kinds == 0)
    if len(at):
        parts.append(_wrap("<Point><coordinates>", _coordinates(geoms[at], precision), "</coordinates></Point>"))
        where.append(at)
    at = np.flatnonzero((kinds == 1) | (kinds == 2))
    if len(at):
        parts.append(_wrap("<LineString><tessellate>1</tessellate><coordinates>",
                           _coordinates(geoms[at], precision), "</coordinates></LineString>"))
        where.append(at)
    at = np.flatnonzero(kinds == 3)
    if len(at):
        rings, owner = shapely.get_rings(geoms[at], return_index=True)
        coords = _coordinates(rings, precision)
        first = np.r_[True, owner[1:] != owner[:-1]] if len(owner) else np.zeros(0, dtype=bool)
        outer = _wrap("<outerBoundaryIs><LinearRing><coordinates>", coords,
                      "</coordinates></LinearRing></outerBoundaryIs>")
        inner = _wrap("<innerBoundaryIs><LinearRing><coordinates>", coords,
                      "</coordinates></LinearRing></innerBoundaryIs>")
        body = _join_by(pc.if_else(pa.array(first), outer, inner), owner, len(at), "")
        parts.append(_wrap("<Polygon><tessellate>1</tessellate>", body, "</Polygon>"))
        where.append(at)
    at = np.flatnonzero(kinds >= 4)
    if len(at):
        members, owner = shapely.get_parts(geoms[at], return_index=True)
        keep = ~shapely.is_empty(members)
        body = _join_by(geometry_xml(members[keep], precision), owner[keep], len(at), "")
        parts.append(_wrap("<MultiGeometry>", body, "</MultiGeometry>"))
        where.append(at)
    if not parts:
        return pa.array([], type=TEXT) if n == 0 else pa.nulls(n, TEXT)
    order = np.concatenate(where)
    inverse = np.empty(len(order), dtype=np.int64)
    inverse[order] = np.arange(len(order))
    return pa.concat_arrays([p.cast(TEXT) for p in parts]).take(pa.array(inverse))


def xml_escape(text: pa.Array) -> pa.Array:
    """``xml.sax.saxutils.escape`` of each value (``&``, ``<``, ``>``)."""
    return replace_literals(text, (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")))


def str_text(values: Any) -> tuple[pa.Array, np.ndarray]:
    """``str()`` of each value as pandas yields it (``"None"``, ``"nan"``, ``"NaT"`` for missing ones too), and
    where the value is ``None`` or a float NaN (what :func:`ecogis.export.kml.placemark` writes as empty)."""
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    s = s.reset_index(drop=True)
    text = column_text(s, style="plain")
    blank = np.zeros(len(s), dtype=bool)
    missing = np.flatnonzero(np.asarray(text.is_null()))
    if len(missing):
        o = s.iloc[missing].astype(object).to_numpy(dtype=object)
        codes, kinds = pd.factorize(pd.Series(o, dtype=object).map(type))
        own = np.full(len(o), "", dtype=object)
        for k, t in enumerate(kinds):  # per type of missing value (None, float, NaTType, NAType …)
            at = np.flatnonzero(codes == k)
            if t is type(None) or issubclass(t, float):
                blank[missing[at]] = True
            single = t in (type(None), type(pd.NaT), type(pd.NA)) or issubclass(t, float)  # all print alike
            own[at] = str(o[at[0]]) if single else np.array(list(map(str, o[at])), dtype=object)
        fill = np.full(len(s), None, dtype=object)
        fill[missing] = own
        text = pc.coalesce(text, pa.array(fill, type=TEXT))
    return text.cast(TEXT), blank


def value_xml(values: Any, n: int) -> pa.Array:
    """``kml._text`` of each value: ``str()`` XML-escaped, empty for ``None`` and NaN."""
    if values is None:
        return pa.array(np.full(n, "", dtype=object), type=TEXT)
    text, blank = str_text(values)
    return pc.if_else(pa.array(blank), pa.scalar("", TEXT), xml_escape(text))


def _optional(values: Any, pre: str, post: str) -> Any:
    """``pre + escape(v) + post`` of each text, empty where it is None or ``""``; a single text serves all.

    For descriptions and style ids given as texts (``str`` or None), as
    :func:`ecogis.export.kml.placemark` writes them.
    """
    if values is None or isinstance(values, str):
        return "" if values in (None, "") else pre + escape(values) + post
    text, blank = str_text(values)
    skip = blank | np.asarray(pc.equal(text, pa.scalar("", TEXT)), dtype=bool)
    return pc.if_else(pa.array(skip), pa.scalar("", TEXT), _wrap(pre, xml_escape(text), post))


def _merge(pieces: list[Any]) -> list[Any]:
    """Adjacent constant strings merged (fewer arguments for the element-wise join)."""
    out: list[Any] = []
    for p in pieces:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] += p
        else:
            out.append(p)
    return out


def placemarks(geoms: np.ndarray, names: Any, data: Mapping[Any, Any], precision: int, *,
               style_ids: Any = None, descriptions: Any = None) -> str:
    """The placemarks of the non-empty geometries, joined by newlines (see :func:`ecogis.export.kml.placemarks`)."""
    n = len(geoms)
    keep = np.flatnonzero(~(shapely.is_missing(geoms) | shapely.is_empty(geoms)))
    if len(keep) == 0:
        return ""
    pick = pa.array(keep)

    def rows(a: Any) -> Any:
        return a if isinstance(a, str) else a.take(pick)

    pieces: list[Any] = ["<Placemark><name>", rows(value_xml(names, n)), "</name>",
                         rows(_optional(descriptions, "<description>", "</description>")),
                         rows(_optional(style_ids, "<styleUrl>#", "</styleUrl>"))]
    if data:
        pieces.append("<ExtendedData>")
        for k, v in data.items():
            pieces += [f"<Data name={quoteattr(str(k))}><value>", rows(value_xml(v, n)), "</value></Data>"]
        pieces.append("</ExtendedData>")
    pieces += [geometry_xml(geoms[keep], precision), "</Placemark>"]
    args = [pa.scalar(p, TEXT) if isinstance(p, str) else p for p in _merge(pieces)]
    marks = pc.binary_join_element_wise(*args, pa.scalar("", TEXT)) if len(args) > 1 else args[0]
    lists = pa.LargeListArray.from_arrays(pa.array([0, len(keep)], type=pa.int64()), marks.cast(TEXT))
    return pc.binary_join(lists, pa.scalar("\n", TEXT))[0].as_py()
