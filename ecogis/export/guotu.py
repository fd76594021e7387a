"""国土TXT (界址点坐标交换格式) writer.

Writes the boundary-point file land applications carry (see
:mod:`ecogis.read.guotu` for the format).  Conventions followed, as in the
files and export tools seen in public material:

* ``[属性描述]`` with 格式版本号, 数据产生单位, 数据产生日期, 坐标系, 几度分带,
  投影类型, 计量单位, 带号, 精度, 转换参数; then ``[地块坐标]``;
* one parcel header per feature, ``界址点数,地块面积,地块编号,地块名称,面,图幅号,
  地块用途,地类编码,@``, 地块面积 in hectares (planar Gauss-Krüger area, 4
  decimals), 界址点数 counting every vertex line including the closing ones;
* vertex lines ``J1,1,X,Y`` with X the northing and Y the easting; 点号
  ``J1, J2, …`` numbered on through all rings of a parcel, a ring's closing
  line repeating its first 点号; 圈号 1 for the first outer ring, 2, 3, … for
  holes and further parts;
* outer rings clockwise and every ring starting at its north-western vertex
  (the cadastral numbering custom), holes anticlockwise;
* CRLF line ends, UTF-8 or GBK.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ecogis.errors import CRSError, EmptyLayerError, EncodingError, GeometryError, InputError
from ecogis.fileutil import atomic_path
from ecogis.notes import Notes
from ecogis.read.crs import CGCS2000, GKZone, gk_epsg, gk_zone_for_lon
from ecogis.read.guotu import HEADER_KEYS, zone_half_width

__all__ = ["write_guotu", "ENCODINGS"]

#: Encodings a 国土TXT file may be written in.
ENCODINGS = {"utf-8": "utf-8", "utf8": "utf-8", "utf-8-sig": "utf-8-sig", "gbk": "gbk", "gb18030": "gb18030"}

_ALIAS = {alias: key for key, aliases in HEADER_KEYS.items() for alias in aliases}
_NL = "\r\n"


def _text(value: Any) -> str:
    """A field value as text for the file, '' for missing."""
    if value is None:
        return ""
    if isinstance(value, float) and math.isnan(value):
        return ""
    if value is pd.NA or value is pd.NaT:
        return ""
    return str(value)


def _field(value: Any, changed: list[str]) -> str:
    """A header field: no separators or line breaks inside it."""
    text = _text(value)
    clean = text.replace("\r", " ").replace("\n", " ").replace(",", "、").replace("，", "、").strip()
    if clean != text.strip():
        changed.append(text)
    return clean


def _feature_ids(gdf: gpd.GeoDataFrame) -> np.ndarray:
    for col in ("site_id", "fid"):
        if col in gdf.columns:
            return gdf[col].to_numpy()
    return np.arange(1, len(gdf) + 1)


def _header(zone: int, width: int, precision: int, user: dict | None, path: Path) -> list[str]:
    fixed = {
        "坐标系": "2000国家大地坐标系",
        "几度分带": str(width),
        "投影类型": "高斯克吕格",
        "计量单位": "米",
        "带号": str(zone),
    }
    values = {
        "格式版本号": "1.01",
        "数据产生单位": "",
        "数据产生日期": _dt.date.today().isoformat(),
        **fixed,
        "精度": "1" if precision == 0 else f"{10.0 ** -precision:.{precision}f}",
        "转换参数": ",,,,,,",
    }
    agree = {
        "坐标系": lambda v: "2000" in v or "cgcs" in v.lower(),
        "几度分带": lambda v: v.strip().rstrip("度带") == str(width),
        "投影类型": lambda v: "高斯" in v or "gauss" in v.lower(),
        "计量单位": lambda v: v.strip().lower() in {"米", "m", "metre", "meter"},
        "带号": lambda v: v.strip() == str(zone),
    }
    for key, raw in (user or {}).items():
        canon = _ALIAS.get(str(key).strip(), str(key).strip())
        value = _text(raw).replace("\r", " ").replace("\n", " ").strip()
        if canon in fixed:
            if not agree[canon](value):
                raise InputError(
                    f"header {key}={value!r} contradicts the coordinates written ({canon}={fixed[canon]})",
                    path=path, where=f"key {key}",
                    hint="坐标系, 几度分带, 投影类型, 计量单位 and 带号 follow zone=, width= and the data",
                )
            continue
        values[canon] = value
    return ["[属性描述]", *(f"{k}={v}" for k, v in values.items()), "[地块坐标]"]


def _choose_zone(geoms: np.ndarray, crs: Any, width: int, notes: Notes) -> int:
    lonlat = gpd.GeoSeries(geoms, crs=crs).to_crs(CGCS2000).values
    centre = shapely.centroid(shapely.geometrycollections(np.asarray(lonlat)))
    lon = shapely.get_x(centre)
    zone = gk_zone_for_lon(float(lon), width)
    notes.add("crs", f"国土TXT written in {width}-degree Gauss-Krüger zone {zone}, chosen from the layer's "
                     f"centroid longitude {float(lon):.4f}°E")
    return zone


def _polygon_vertices(geoms: np.ndarray, feat: np.ndarray) -> tuple[np.ndarray, ...]:
    """Vertex table of (multi)polygons: feature, 圈号, 点号, easting, northing, in file order."""
    parts, part_i = shapely.get_parts(geoms, return_index=True)
    part_feat = feat[part_i]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    ring_feat = part_feat[ring_part]
    exterior = np.r_[True, ring_part[1:] != ring_part[:-1]]
    # outer rings clockwise, holes anticlockwise
    flip = shapely.is_ccw(rings) == exterior
    rings[flip] = shapely.reverse(rings[flip])
    xy, c_ring = shapely.get_coordinates(rings, return_index=True)
    n_r = np.bincount(c_ring, minlength=len(rings))
    keep = np.ones(len(xy), dtype=bool)
    keep[np.cumsum(n_r) - 1] = False  # drop the closing repeats
    xy, c_ring = xy[keep], c_ring[keep]
    m_r = n_r - 1
    off = np.r_[0, np.cumsum(m_r)[:-1]]
    # start each ring at the vertex nearest the north-west corner of its box
    b = shapely.bounds(rings)
    dist = (xy[:, 0] - b[c_ring, 0]) ** 2 + (xy[:, 1] - b[c_ring, 3]) ** 2
    order = np.lexsort((dist, c_ring))
    first = np.r_[True, c_ring[order][1:] != c_ring[order][:-1]]
    start = order[first] - off
    k = np.arange(len(xy)) - off[c_ring]
    rolled = xy[off[c_ring] + (start[c_ring] + k) % m_r[c_ring]]
    # 点号 numbered on through the rings of a feature
    v_feat = ring_feat[c_ring]
    feat_first = np.r_[True, v_feat[1:] != v_feat[:-1]]
    feat_start = np.maximum.accumulate(np.where(feat_first, np.arange(len(v_feat)), 0))
    pnum = np.arange(len(v_feat)) - feat_start + 1
    ring_first_feat = np.r_[True, ring_feat[1:] != ring_feat[:-1]]
    ring_start = np.maximum.accumulate(np.where(ring_first_feat, np.arange(len(rings)), 0))
    ring_no = np.arange(len(rings)) - ring_start + 1
    # closing lines: after each ring, its first vertex again
    total = m_r + 1
    out_off = np.r_[0, np.cumsum(total)[:-1]]
    pos = out_off[c_ring] + k
    close_pos = out_off + m_r
    n = int(total.sum())
    o_xy = np.empty((n, 2))
    o_pnum = np.empty(n, dtype=np.int64)
    o_xy[pos] = rolled
    o_pnum[pos] = pnum
    o_xy[close_pos] = rolled[off]
    o_pnum[close_pos] = pnum[off]
    o_ring = np.repeat(ring_no, total)
    o_feat = np.repeat(ring_feat, total)
    return o_feat, o_ring, o_pnum, o_xy[:, 0], o_xy[:, 1]


def _part_vertices(geoms: np.ndarray, feat: np.ndarray, *, ring_per_part: bool) -> tuple[np.ndarray, ...]:
    """Vertex table of (multi)lines (圈号 per part) or (multi)points (圈号 1)."""
    parts, part_i = shapely.get_parts(geoms, return_index=True)
    part_feat = feat[part_i]
    xy, c_part = shapely.get_coordinates(parts, return_index=True)
    v_feat = part_feat[c_part]
    idx = np.arange(len(v_feat))
    feat_first = np.r_[True, v_feat[1:] != v_feat[:-1]]
    pnum = idx - np.maximum.accumulate(np.where(feat_first, idx, 0)) + 1
    if ring_per_part:
        pi = np.arange(len(parts))
        part_first = np.r_[True, part_feat[1:] != part_feat[:-1]]
        part_no = pi - np.maximum.accumulate(np.where(part_first, pi, 0)) + 1
        ring = part_no[c_part]
    else:
        ring = np.ones(len(xy), dtype=np.int64)
    return v_feat, ring, pnum, xy[:, 0], xy[:, 1]


def write_guotu(
    gdf: gpd.GeoDataFrame,
    path: str | os.PathLike,
    *,
    zone: int | None = None,
    width: int = 3,
    prefix: bool = True,
    encoding: str = "utf-8",
    header: dict | None = None,
    precision: int = 4,
    notes: Notes | None = None,
) -> Path:
    """Write a layer as a 国土TXT (界址点坐标交换格式) file, atomically.

    Parameters
    ----------
    gdf:
        Polygons, lines and/or points in any CRS.  ``site_id`` (地块编号,
        default 1…n), ``name`` (地块名称), ``sheet`` (图幅号), ``land_use``
        (地块用途) and ``land_class`` (地类编码) are used when present.
    path:
        The ``.txt`` file to write.
    zone:
        CGCS2000 Gauss-Krüger zone; by default the zone of the layer's
        centroid longitude.
    width:
        Zone width, 3 or 6 degrees.
    prefix:
        Write the zone number in front of the eastings (the usual form).
    encoding:
        ``utf-8`` (default), ``utf-8-sig``, ``gbk`` or ``gb18030``.
    header:
        Extra or replacing ``[属性描述]`` values, e.g. ``{"数据产生单位": "…"}``;
        the CRS keys may not contradict the coordinates.
    precision:
        Decimals of the coordinates (4 = 0.1 mm).
    notes:
        Where to report the chosen zone and any text changed to fit the format.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    target = Path(path)
    notes = notes if notes is not None else Notes()
    enc = ENCODINGS.get(str(encoding).lower().replace("_", "-"))
    if enc is None:
        raise InputError(f"cannot write 国土TXT in encoding {encoding!r}", path=target,
                         hint="use " + ", ".join(sorted(set(ENCODINGS.values()))))
    if width not in (3, 6):
        raise CRSError(f"Gauss-Krüger zone width must be 3 or 6 degrees, not {width}", path=target)
    if not 0 <= int(precision) <= 8:
        raise InputError(f"precision must be 0…8 decimals, not {precision}", path=target)
    precision = int(precision)
    if len(gdf) == 0:
        raise EmptyLayerError("no features to write", path=target)
    if gdf.crs is None:
        raise CRSError("the layer has no CRS; cannot place it in a Gauss-Krüger zone", path=target)
    ids = _feature_ids(gdf)
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if missing.any():
        raise GeometryError(f"{int(missing.sum())} features have no geometry", path=target,
                            where=f"feature {ids[np.flatnonzero(missing)[0]]}")
    types = shapely.get_type_id(geoms)
    if (types == 7).any():
        raise GeometryError("a geometry collection cannot be written as one 国土TXT parcel", path=target,
                            where=f"feature {ids[np.flatnonzero(types == 7)[0]]}",
                            hint="explode it into polygons, lines and points first")
    if shapely.has_z(geoms).any():
        geoms = shapely.force_2d(geoms)
        notes.add("drop_z", "Z values dropped: 国土TXT carries plane coordinates only")

    if zone is None:
        zone = _choose_zone(geoms, gdf.crs, width, notes)
    try:
        gk = GKZone(int(zone), width, bool(prefix))
        epsg = gk_epsg(gk.zone, width, gk.prefix)
    except CRSError as exc:
        raise CRSError(exc.message, path=target, hint="pass zone= for a zone in China") from None
    proj = np.asarray(gpd.GeoSeries(geoms, crs=gdf.crs).to_crs(epsg).values, dtype=object)
    xy, c_feat = shapely.get_coordinates(proj, return_index=True)
    far = ~np.isfinite(xy).all(axis=1) | (np.abs(xy[:, 0] - gk.false_easting) > zone_half_width(width))
    if far.any():
        i = int(c_feat[np.flatnonzero(far)[0]])
        raise CRSError(
            f"the layer reaches beyond {width}-degree Gauss-Krüger zone {zone} "
            f"(central meridian {gk.central_meridian:g}°E)",
            path=target, where=f"feature {ids[i]}",
            hint="write the parts of each zone to separate files, with zone= for each",
        )

    # -- vertex tables ---------------------------------------------------------
    feat = np.arange(len(proj))
    types = shapely.get_type_id(proj)
    poly = np.isin(types, (3, 6))
    line = np.isin(types, (1, 2, 5))
    point = np.isin(types, (0, 4))
    tables = []
    if poly.any():
        tables.append(_polygon_vertices(proj[poly], feat[poly]))
    if line.any():
        tables.append(_part_vertices(proj[line], feat[line], ring_per_part=True))
    if point.any():
        tables.append(_part_vertices(proj[point], feat[point], ring_per_part=False))
    v_feat, v_ring, v_pnum, v_e, v_n = (np.concatenate(c) for c in zip(*tables))
    order = np.argsort(v_feat, kind="stable")
    v_feat, v_ring, v_pnum, v_e, v_n = v_feat[order], v_ring[order], v_pnum[order], v_e[order], v_n[order]
    counts = np.bincount(v_feat, minlength=len(proj))
    fmt = f"{{:.{precision}f}}"
    vertex_lines = [
        f"J{p},{r},{fmt.format(n)},{fmt.format(e)}"
        for p, r, n, e in zip(v_pnum.tolist(), v_ring.tolist(), v_n.tolist(), v_e.tolist())
    ]

    # -- parcel headers --------------------------------------------------------
    area_ha = np.where(poly, shapely.area(proj) / 10_000.0, 0.0)
    kinds = np.where(poly, "面", np.where(line, "线", "点"))
    n = len(gdf)

    def column(name: str) -> list:
        return gdf[name].tolist() if name in gdf.columns else [""] * n

    site = column("site_id") if "site_id" in gdf.columns else list(range(1, n + 1))
    site = [s if _text(s) != "" else i + 1 for i, s in enumerate(site)]
    changed: list[str] = []
    fields = [[_field(v, changed) for v in column(c)] for c in ("name", "sheet", "land_use", "land_class")]
    site_text = [_field(s, changed) for s in site]
    if changed:
        notes.add("value", "commas and line breaks in text fields replaced (they would break the format): "
                           + "; ".join(repr(c) for c in changed[:10]))

    out = _header(gk.zone, width, precision, header, target)
    ends = np.cumsum(counts)
    starts = ends - counts
    for i in range(n):  # text assembly, one header per parcel
        out.append(
            f"{counts[i]},{area_ha[i]:.4f},{site_text[i]},{fields[0][i]},{kinds[i]},"
            f"{fields[1][i]},{fields[2][i]},{fields[3][i]},@"
        )
        out.extend(vertex_lines[starts[i]:ends[i]])
    text = _NL.join(out) + _NL
    try:
        data = text.encode(enc)
    except UnicodeEncodeError as exc:
        line_no = text.count(_NL, 0, exc.start) + 1
        raise EncodingError(
            f"character {text[exc.start]!r} cannot be written in {enc}", path=target, where=f"line {line_no}",
            hint="write in utf-8 or gb18030",
        ) from None
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target
