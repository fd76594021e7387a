"""The field package of a patrol: GPX, KML, GeoJSON, checklists and the offline map.

Files written by :func:`write_field_package` (every one atomically):

``route.gpx``
    GPX 1.1: one waypoint per stop (name ``D1-01 红线内植被损失 7.2公顷``, a short
    description), one per night's lodging, and one track per day, for GPS
    apps (OsmAnd, Organic Maps, 两步路, 六只脚 …) that work without signal.
``route.kml`` / ``route.kmz``
    The same for 奥维互动地图, 两步路, OsmAnd and Google Earth, plus styled
    polygons of the red line, protected-area zones, water-source zones and
    each target's patch (clipped to the patrol area and simplified): one
    folder per day, one per boundary layer, the lodging and deferred targets.
``targets.geojson``
    Every target (EPSG:4490 lon/lat) with its day, stop number or deferral.
``checklist.xlsx`` / ``checklist.csv``
    One row per stop (:data:`CHECKLIST_COLUMNS`): ID, CGCS2000 lon/lat, GK
    zone and X/Y, what to check, the rule and basis, and blank result, date,
    inspector, photo and remarks columns for the field.  The xlsx has a
    second sheet of deferred targets; the CSV is UTF-8 with a BOM (opens in
    Excel).  ``ecogis ledger update`` reads either back.
``patrol.html``
    The offline map (:mod:`ecogis.render.webmap`): day routes, numbered stops
    with popups, deferred targets, clue patches.
``checklist.html``
    A printable checklist (A4 landscape), one table per day.
``patrol.json``
    The plan: parameters, method, totals per day, deferred targets, notes.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence
from xml.sax.saxutils import escape as xml_escape

import geopandas as gpd
import jinja2
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ecogis.fileutil import atomic_path, write_text_atomic
from ecogis.read.crs import gk_epsg

#: (key, Chinese header) of the checklist, in column order.
CHECKLIST_COLUMNS: tuple[tuple[str, str], ...] = (
    ("day", "日程"), ("stop", "站点序号"), ("target_id", "目标编号"), ("source", "来源"), ("name", "名称"),
    ("priority", "优先级"), ("lon", "经度(CGCS2000)"), ("lat", "纬度(CGCS2000)"), ("gk_zone", "高斯克吕格3度带号"),
    ("gk_x", "GK纵坐标X(北)"), ("gk_y", "GK横坐标Y(东,含带号)"), ("check", "核查内容"), ("basis", "依据(规则与依据)"),
    ("result", "核查结果(属实/不属实/整改中/已销号)"), ("date", "核查日期(YYYY-MM-DD)"), ("inspector", "核查人"),
    ("photo", "照片编号"), ("remarks", "备注"),
)
FIELD_COLUMNS = ("result", "date", "inspector", "photo", "remarks")
DAY_COLOURS = ("#d7191c", "#2c7bb6", "#1a9641", "#7b3294", "#e66101", "#008837", "#5e3c99", "#a6611a")


def gk_coordinates(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CGCS2000 3° Gauss-Krüger zone, X (northing) and Y (easting with the zone prefix) of each point."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    zones = np.floor(lon / 3.0 + 0.5).astype(int)
    x = np.full(len(lon), np.nan)
    y = np.full(len(lon), np.nan)
    for z in np.unique(zones):
        sel = zones == z
        try:
            tr = Transformer.from_crs(4490, gk_epsg(int(z), 3, prefix=True), always_xy=True)
        except Exception:  # outside China's zones: leave blank
            continue
        e, n = tr.transform(lon[sel], lat[sel])
        x[sel], y[sel] = n, e
    return zones, np.round(x, 2), np.round(y, 2)


_ZONE_WORDS = ("核心保护区", "核心区", "缓冲区", "实验区", "一般控制区")
_KIND_SHORT = {"clue": "植被损失", "mine": "矿山", "ledger": "台账复查", "finding": "项目"}


def _fmt_area(v: Any) -> str:
    try:
        a = float(v)
    except (TypeError, ValueError):
        return ""
    if not np.isfinite(a) or a <= 0:
        return ""
    return f"{a:.1f}公顷" if a >= 1 else f"{a:.2f}公顷"


def short_label(source: str, name: str, detail: Any, area_ha: Any) -> str:
    """What a target is, in a few words for a phone's waypoint list: ``红线内植被损失 7.2公顷``."""
    det = "" if detail is None or (isinstance(detail, float) and np.isnan(detail)) else str(detail)
    where = ""
    if "红线 " in det or det.startswith("红线"):
        where = "红线内"
    else:
        for z in _ZONE_WORDS:
            if z in det:
                where = z + "内"
                break
        else:
            if "水源地" in det:
                where = "水源地内"
    if source == "clue":
        return f"{where}植被损失 {_fmt_area(area_ha)}".strip()
    head = _KIND_SHORT.get(source, "")
    nm = str(name)
    nm = nm if len(nm) <= 12 else nm[:11] + "…"
    return f"{where}{head} {nm}".strip()


def short_check(check: Any, limit: int = 40) -> str:
    """The first clause of what to check, at most ``limit`` characters (the checklist has it in full)."""
    c = str(check or "").strip()
    for sep in ("；", "。", ";"):
        if sep in c:
            c = c.split(sep)[0]
            break
    return c if len(c) <= limit else c[:limit - 1] + "…"


def checklist_frames(targets: gpd.GeoDataFrame, plan) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(stops, deferred): one row per stop in visiting order, and the deferred targets."""
    pts = shapely.point_on_surface(targets.geometry.to_numpy()) if len(targets) else np.zeros(0, dtype=object)
    xy = shapely.get_coordinates(pts) if len(targets) else np.zeros((0, 2))
    rows = []
    for d in plan.days:
        for k, pos in enumerate(d.stops, start=1):
            t = targets.iloc[pos]
            rows.append({"day": d.day, "stop": k, "_pos": pos, "target_id": str(t["target_id"]),
                         "source": str(t.get("source_zh") or t["source"]), "name": str(t["name"]),
                         "priority": float(t["priority"]), "lon": round(float(xy[pos, 0]), 7),
                         "lat": round(float(xy[pos, 1]), 7), "check": str(t["check"]), "basis": str(t["basis"]),
                         "label": f"D{d.day}-{k:02d} " + short_label(str(t["source"]), str(t["name"]),
                                                                     t.get("detail"), t.get("area_ha")),
                         "night": getattr(d, "night", None) or ""})
    stops = pd.DataFrame(rows, columns=["day", "stop", "_pos", "target_id", "source", "name", "priority", "lon",
                                        "lat", "check", "basis", "label", "night"])
    z, gx, gy = gk_coordinates(stops["lon"].to_numpy(float), stops["lat"].to_numpy(float))
    stops["gk_zone"], stops["gk_x"], stops["gk_y"] = z, gx, gy
    for c in FIELD_COLUMNS:
        stops[c] = ""
    dpos = plan.deferred["position"].to_numpy(int) if len(plan.deferred) else np.zeros(0, dtype=int)
    deferred = pd.DataFrame({
        "target_id": [str(targets.iloc[p]["target_id"]) for p in dpos],
        "source": [str(targets.iloc[p].get("source_zh") or targets.iloc[p]["source"]) for p in dpos],
        "name": [str(targets.iloc[p]["name"]) for p in dpos],
        "priority": [float(targets.iloc[p]["priority"]) for p in dpos],
        "lon": [round(float(xy[p, 0]), 7) for p in dpos], "lat": [round(float(xy[p, 1]), 7) for p in dpos],
        "reason": plan.deferred["reason"].tolist() if len(plan.deferred) else [],
    })
    return stops, deferred


# ------------------------------------------------------------------------------------------------ GPX / KML
def nights(plan) -> list[dict[str, Any]]:
    """Where each night is spent: ``[{after_day, place, lon, lat}]`` (empty for day trips from the base)."""
    return list(plan.params.get("nights") or [])


def gpx_text(stops: pd.DataFrame, plan, *, title: str = "ecogis 巡查路线") -> str:
    """GPX 1.1 with a waypoint per stop (short name and description), one per night's lodging, a track per day."""
    import gpxpy.gpx

    g = gpxpy.gpx.GPX()
    g.name = title
    g.creator = "ecogis"
    ns = nights(plan)
    g.description = (f"{len(stops)} 个站点，{len(plan.days)} 天，总里程 {plan.total_km:.1f} 千米"
                     + (f"，在外住宿 {len(ns)} 晚" if ns else "") + "；坐标 CGCS2000（≈WGS84）")
    for r in stops.itertuples(index=False):
        w = gpxpy.gpx.GPXWaypoint(latitude=r.lat, longitude=r.lon, name=r.label,
                                  description=f"{r.target_id}｜{short_check(r.check)}")
        w.symbol = "Flag, Red"
        w.type = str(r.source)
        g.waypoints.append(w)
    for n in ns:
        w = gpxpy.gpx.GPXWaypoint(latitude=round(n["lat"], 7), longitude=round(n["lon"], 7),
                                  name=f"住宿 第{n['after_day']}晚 {n['place']}",
                                  description=f"第{n['after_day']}天结束后在{n['place']}住宿")
        w.symbol = "Lodging"
        w.type = "住宿"
        g.waypoints.append(w)
    for d in plan.days:
        if not d.stops and not d.track:
            continue
        end = f"，当晚住 {d.night}" if getattr(d, "night", None) else ""
        trk = gpxpy.gpx.GPXTrack(name=f"第{d.day}天 D{d.day}",
                                 description=f"{len(d.stops)} 站，{d.distance_km:.1f} 千米，{d.hours:.1f} 小时{end}")
        seg = gpxpy.gpx.GPXTrackSegment()
        last = None
        for leg in d.track:
            for lon, lat in leg:
                if last == (lon, lat):
                    continue
                seg.points.append(gpxpy.gpx.GPXTrackPoint(latitude=round(lat, 7), longitude=round(lon, 7)))
                last = (lon, lat)
        trk.segments.append(seg)
        g.tracks.append(trk)
    return g.to_xml(version="1.1")


#: Boundary styles of the phone export: (stroke, fill, fill opacity, width), by layer label.
BOUNDARY_STYLES: dict[str, tuple[str, str | None, float, float]] = {
    "生态保护红线": ("#e31a1c", "#e31a1c", 0.18, 2.5),
    "自然保护地": ("#1b7837", "#5aae61", 0.22, 2.0),
    "饮用水水源保护区": ("#2c7bb6", "#74add1", 0.25, 2.0),
    "目标图斑": ("#ff7f00", "#ff7f00", 0.45, 2.0),
}
#: Zones of a protected area in the phone export: darker fill for stricter zones.
ZONE_FILLS = {"核心保护区": "#1b7837", "核心区": "#1b7837", "缓冲区": "#5aae61", "一般控制区": "#a6dba0",
              "实验区": "#d9f0d3"}


def patrol_area(stops: pd.DataFrame, deferred: pd.DataFrame, plan, *, margin_km: float = 5.0) -> Any:
    """The area of the patrol (lon/lat polygon): the convex hull of base, stops, lodging and deferred
    targets, widened by ``margin_km``."""
    xy = [tuple(plan.params["start"])] + list(zip(stops["lon"], stops["lat"]))
    xy += [(n["lon"], n["lat"]) for n in nights(plan)]
    xy += [(x, y) for x, y in zip(deferred["lon"], deferred["lat"]) if np.isfinite(x) and np.isfinite(y)]
    pts = shapely.multipoints(np.array(xy, dtype=float))
    lat = float(np.mean([p[1] for p in xy]))
    deg = margin_km / 111.32
    return shapely.buffer(shapely.convex_hull(pts), deg / max(np.cos(np.radians(lat)), 0.2))


def clip_for_phone(gdf: gpd.GeoDataFrame, area: Any, *, tolerance_m: float = 15.0) -> gpd.GeoDataFrame:
    """Polygons of ``gdf`` clipped to ``area`` (lon/lat) and simplified by ``tolerance_m`` (topology kept)."""
    g = gdf.to_crs(4490) if gdf.crs and gdf.crs.to_epsg() != 4490 else gdf
    g = g[g.geometry.notna()]
    geoms = g.geometry.to_numpy()
    keep = shapely.intersects(geoms, area)
    g = g[keep]
    clipped = shapely.intersection(g.geometry.to_numpy(), area)
    clipped = shapely.simplify(clipped, tolerance_m / 111_320.0, preserve_topology=True)
    clipped = shapely.make_valid(clipped)
    out = g.assign(geometry=clipped)
    dims = shapely.get_dimensions(out.geometry.to_numpy())
    return out[(dims == 2) & ~shapely.is_empty(out.geometry.to_numpy())]


def _context_names(g: pd.DataFrame, label: str) -> np.ndarray:
    """Each feature's name, zone and grade that are given (not None, empty or "nan"), joined by spaces; else ``label``."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from ecogis.export.kmlvec import str_text

    parts = []
    for c in ("name", "zone", "grade"):
        if c in g.columns:
            text, blank = str_text(g[c])
            drop = blank | np.asarray(pc.is_in(text, pa.array(["", "nan"])), dtype=bool)
            # " " + text where given, "" where not: joined, then the leading space cut
            # (pyarrow's null_handling="skip" loses rows whose parts are all null)
            spaced = pc.binary_join_element_wise(pa.scalar(" ", text.type), text, pa.scalar("", text.type))
            parts.append(pc.if_else(pa.array(drop), pa.scalar("", text.type), spaced))
    if not parts:
        return np.full(len(g), label, dtype=object)
    joined = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, pa.scalar("", parts[0].type))
    names = pc.utf8_slice_codeunits(joined, 1).to_numpy(zero_copy_only=False).astype(object)
    return np.where(names == "", label, names)


def kml_text(stops: pd.DataFrame, deferred: pd.DataFrame, plan, *, title: str = "ecogis 巡查路线",
             context: Sequence[tuple[str, gpd.GeoDataFrame]] = (), targets: gpd.GeoDataFrame | None = None) -> str:
    """KML 2.2 (:mod:`ecogis.export.kml`): boundary polygons, a folder per day (stops and route), lodging,
    deferred targets."""
    from ecogis.export import kml

    styles = []
    for k, col in enumerate(DAY_COLOURS):
        styles.append(kml.style(f"day{k}", stroke=col, width=4, icon_colour=col))
    styles.append(kml.style("lodging", stroke="#000000", icon_colour="#000000", icon_scale=1.2))
    styles.append(kml.style("deferred", stroke="#616161", icon_colour="#9e9e9e"))
    for i, (label, (stroke, fill, op, w)) in enumerate(BOUNDARY_STYLES.items()):
        styles.append(kml.style(f"b{i}", stroke=stroke, fill=fill, fill_opacity=op, width=w))
    for j, (zone, fill) in enumerate(ZONE_FILLS.items()):
        styles.append(kml.style(f"z{j}", stroke="#0d4a1f", fill=fill, fill_opacity=0.35, width=2))
    blabels = list(BOUNDARY_STYLES)
    zones = list(ZONE_FILLS)
    items = []
    area = patrol_area(stops, deferred, plan) if len(stops) or len(deferred) else None
    for label, gdf in context:
        if gdf is None or not len(gdf) or area is None:
            continue
        g = clip_for_phone(gdf, area)
        sid = f"b{blabels.index(label)}" if label in blabels else "b0"
        # name: the feature's name, zone and grade that are given (else the layer label); zones by their fill
        style_ids = (g["zone"].astype(object).map({z: f"z{j}" for j, z in enumerate(zones)}).fillna(sid)
                     .to_numpy(dtype=object) if "zone" in g.columns else sid)
        items.append(kml.folder(label, [kml.placemarks(g.geometry.to_numpy(), _context_names(g, label),
                                                       style_ids=style_ids, descriptions=label)]))
    if targets is not None and len(targets):
        t = targets.to_crs(4490) if targets.crs and targets.crs.to_epsg() != 4490 else targets
        dims = shapely.get_dimensions(t.geometry.to_numpy())
        lab = dict(zip(stops["_pos"], stops["label"])) if len(stops) else {}
        poly = np.flatnonzero(dims == 2)
        if len(poly):
            from ecogis.export.kmlvec import str_text

            tp = t.iloc[poly]
            ids = str_text(tp["target_id"])[0].to_numpy(zero_copy_only=False)
            names = pd.Series(poly).map(lab).to_numpy(dtype=object)  # a stop's label, else the target ID
            names = np.where(pd.isna(names), ids, names)
            items.append(kml.folder("目标图斑", [kml.placemarks(
                tp.geometry.to_numpy(), names, style_ids="b3",
                descriptions=str_text(tp["name"])[0].to_numpy(zero_copy_only=False))]))
    for d in plan.days:
        if not d.stops and not d.track:
            continue
        sid = f"day{(d.day - 1) % len(DAY_COLOURS)}"
        marks = [kml.placemark(r.label, shapely.Point(r.lon, r.lat), style_id=sid,
                               description=f"{r.target_id}｜{short_check(r.check)}")
                 for r in stops[stops["day"] == d.day].itertuples(index=False)]
        coords = [c for leg in d.track for c in leg]
        night = f"，当晚住 {d.night}" if getattr(d, "night", None) else ""
        if len(coords) >= 2:
            marks.append(kml.placemark(f"第{d.day}天路线 {d.distance_km:.1f} 千米{night}",
                                       shapely.LineString(coords), style_id=sid))
        items.append(kml.folder(f"第{d.day}天" + (f"（住{d.night}）" if getattr(d, "night", None) else ""), marks))
    ns = nights(plan)
    if ns:
        items.append(kml.folder("住宿", [kml.placemark(f"住宿 第{n['after_day']}晚 {n['place']}",
                                                       shapely.Point(n["lon"], n["lat"]), style_id="lodging")
                                       for n in ns]))
    if len(deferred):
        items.append(kml.folder("顺延目标", [
            kml.placemark(r.target_id, shapely.Point(r.lon, r.lat), style_id="deferred",
                          description=f"{r.name}；{r.reason}")
            for r in deferred.itertuples(index=False) if np.isfinite(r.lon) and np.isfinite(r.lat)]))
    return kml.document(title, items, styles=styles,
                        description="坐标 CGCS2000 经纬度（与 WGS84 相差不到 1 米）；勿导入以 GCJ-02/BD-09 为底图的应用而不纠偏")


# ------------------------------------------------------------------------------------------------ tables
def _export_frame(stops: pd.DataFrame) -> pd.DataFrame:
    keys = [k for k, _ in CHECKLIST_COLUMNS]
    return stops[keys].rename(columns=dict(CHECKLIST_COLUMNS))


def _safe_cell(v: Any) -> Any:
    """An XLSX cell value: as it is (:func:`~ecogis.export.cells.literal_workbook` keeps text from formulas)."""
    return v


def write_checklist_csv(stops: pd.DataFrame, path: str | os.PathLike) -> Path:
    """The checklist as CSV (UTF-8 with BOM); text cells defused (:mod:`ecogis.export.cells`)."""
    from ecogis.export.cells import write_rows_csv

    df = _export_frame(stops)
    return write_rows_csv(list(df.columns), df.itertuples(index=False), path)


def write_checklist_xlsx(stops: pd.DataFrame, deferred: pd.DataFrame, path: str | os.PathLike) -> Path:
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "巡查清单"
    df = _export_frame(stops)
    ws.append(list(df.columns))
    for row in df.itertuples(index=False):
        ws.append([_safe_cell(v.item() if hasattr(v, "item") else v) for v in row])
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="FFF2CC")
    widths = {"name": 30, "check": 48, "basis": 48, "remarks": 24, "result": 14, "date": 14}
    for j, (key, _) in enumerate(CHECKLIST_COLUMNS, start=1):
        cell = ws.cell(row=1, column=j)
        cell.font = bold
        letter = cell.column_letter
        ws.column_dimensions[letter].width = widths.get(key, 13)
        if key in FIELD_COLUMNS:
            for i in range(1, len(df) + 2):
                ws.cell(row=i, column=j).fill = fill
        if key in ("check", "basis", "name"):
            for i in range(2, len(df) + 2):
                ws.cell(row=i, column=j).alignment = Alignment(wrap_text=True, vertical="top")
    ws.freeze_panes = "D2"
    from openpyxl.worksheet.datavalidation import DataValidation

    dv = DataValidation(type="list", formula1='"属实,不属实,整改中,已销号"', allow_blank=True)
    ws.add_data_validation(dv)
    col = [k for k, _ in CHECKLIST_COLUMNS].index("result") + 1
    letter = ws.cell(row=1, column=col).column_letter
    if len(df):
        dv.add(f"{letter}2:{letter}{len(df) + 1}")
    dcol = ws.cell(row=1, column=[k for k, _ in CHECKLIST_COLUMNS].index("date") + 1).column_letter
    dd = DataValidation(type="date", operator="between", formula1="DATE(2000,1,1)", formula2="DATE(2100,12,31)",
                        allow_blank=True, showErrorMessage=True, errorTitle="核查日期",
                        error="请填写日期，如 2026-12-01", promptTitle="核查日期", prompt="YYYY-MM-DD")
    ws.add_data_validation(dd)
    if len(df):
        dd.add(f"{dcol}2:{dcol}{len(df) + 1}")
        for i in range(2, len(df) + 2):
            ws[f"{dcol}{i}"].number_format = "yyyy-mm-dd"
    _print_setup(ws)
    wd = wb.create_sheet("顺延目标")
    wd.append(["目标编号", "来源", "名称", "优先级", "经度(CGCS2000)", "纬度(CGCS2000)", "顺延原因"])
    for r in deferred.itertuples(index=False):
        wd.append([_safe_cell(r.target_id), r.source, _safe_cell(r.name), r.priority, r.lon, r.lat, r.reason])
    for j, w in enumerate((12, 10, 40, 8, 14, 14, 40), start=1):
        wd.column_dimensions[wd.cell(row=1, column=j).column_letter].width = w
        wd.cell(row=1, column=j).font = bold
    _print_setup(wd)
    from ecogis.export.cells import literal_workbook

    literal_workbook(wb)  # text starting with "=" stays text, not a formula
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return Path(path)


def _print_setup(ws) -> None:
    """A4 landscape, fit to one page wide, the header row repeated on every page, frozen header."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = "1:1"
    ws.page_margins.left = ws.page_margins.right = 0.4
    ws.page_margins.top = ws.page_margins.bottom = 0.5
    ws.print_options.gridLines = True
    if ws.freeze_panes is None:
        ws.freeze_panes = "A2"


_CHECKLIST_TEMPLATE = """<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
@page { size: A4 landscape; margin: 10mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", sans-serif; font-size: 9pt; margin: 0 4mm; }
h1 { font-size: 13pt; margin: 4px 0; } h2 { font-size: 11pt; margin: 10px 0 3px; }
table { border-collapse: collapse; width: 100%; page-break-inside: auto; table-layout: fixed; }
thead { display: table-header-group; } tr { page-break-inside: avoid; }
th, td { border: 1px solid #555; padding: 2px 3px; vertical-align: top; overflow-wrap: anywhere; }
th { background: #eee; font-weight: 600; } td.blank { height: 30px; }
.small { font-size: 7.5pt; color: #333; } .meta { color: #444; font-size: 8.5pt; margin: 2px 0; }
.night { font-weight: 600; color: #222; margin: 2px 0 0; }
ol.basis { font-size: 7.5pt; color: #333; padding-left: 18px; } ol.basis li { margin: 1px 0; }
col.c-stop { width: 4%; } col.c-id { width: 9%; } col.c-name { width: 17%; } col.c-xy { width: 13%; }
col.c-check { width: 20%; } col.c-b { width: 4%; } col.c-res { width: 8%; } col.c-f { width: 6.25%; }
</style></head><body>
<h1>{{ title }}</h1>
<p class="meta">出发点 {{ start }}；{{ days|length }} 天；总里程 {{ "%.1f"|format(total_km) }} 千米；{{ method }}；
车速 {{ params.speed_kmh }} km/h，每站 {{ params.visit_minutes }} 分钟，每日 {{ params.hours_per_day }} 小时。
坐标：CGCS2000 经纬度；高斯-克吕格 3 度带（X 北坐标，Y 东坐标含带号）。生成时间 {{ made }}。</p>
{% if nights %}<p class="meta">住宿：{% for n in nights %}第{{ n.after_day }}晚 {{ n.place }}{{ "；" if not loop.last }}{% endfor %}。</p>{% endif %}
{% for d in days %}
<h2>第 {{ d.day }} 天：{{ d.start }} → {{ d.end }}，{{ d.n }} 站，{{ "%.1f"|format(d.km) }} 千米，约 {{ "%.1f"|format(d.hours) }} 小时</h2>
<table><colgroup><col class="c-stop"><col class="c-id"><col class="c-name"><col class="c-xy"><col class="c-check">
<col class="c-b"><col class="c-res"><col class="c-f"><col class="c-f"><col class="c-f"><col class="c-f"></colgroup>
<thead><tr><th>站</th><th>目标编号</th><th>名称</th><th>坐标</th><th>核查内容</th><th>依据</th>
<th>结果<br><span class="small">属实/不属实/整改中/已销号</span></th><th>日期</th><th>核查人</th><th>照片</th><th>备注</th></tr></thead>
{% for r in d.rows %}<tr><td>{{ r.stop }}</td><td>{{ r.target_id }}<br><span class="small">{{ r.source }}</span></td><td>{{ r.name }}</td>
<td class="small">{{ "%.6f"|format(r.lon) }}, {{ "%.6f"|format(r.lat) }}<br>{{ r.gk_zone }}带 X{{ "%.1f"|format(r.gk_x) }} Y{{ "%.1f"|format(r.gk_y) }}</td>
<td class="small">{{ r.check }}</td><td class="small">〔{{ r.basis_no }}〕</td>
<td class="blank"></td><td class="blank"></td><td class="blank"></td><td class="blank"></td><td class="blank"></td></tr>
{% endfor %}</table>
{% if d.night %}<p class="night">当晚住宿：{{ d.night }}</p>{% endif %}
{% endfor %}
{% if bases %}<h2>依据</h2><ol class="basis">{% for b in bases %}<li>{{ b }}</li>{% endfor %}</ol>{% endif %}
{% if deferred %}<h2>顺延目标（本次未安排，{{ deferred|length }} 个）</h2>
<table><thead><tr><th>目标编号</th><th>来源</th><th>名称</th><th>优先级</th><th>坐标</th><th>原因</th></tr></thead>
{% for r in deferred %}<tr><td>{{ r.target_id }}</td><td>{{ r.source }}</td><td>{{ r.name }}</td><td>{{ r.priority }}</td>
<td class="small">{{ "%.6f"|format(r.lon) }}, {{ "%.6f"|format(r.lat) }}</td><td>{{ r.reason }}</td></tr>{% endfor %}
</table>{% endif %}
</body></html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def checklist_html(stops: pd.DataFrame, deferred: pd.DataFrame, plan, *, title: str) -> str:
    """The printable checklist (autoescaped)."""
    days = []
    bases: list[str] = []
    for d in plan.days:
        if not d.stops and not d.track:
            continue
        rows = stops[stops["day"] == d.day].to_dict("records")
        for r in rows:  # the legal basis once, numbered, below the tables
            if r["basis"] not in bases:
                bases.append(r["basis"])
            r["basis_no"] = bases.index(r["basis"]) + 1
        days.append({"day": d.day, "n": len(d.stops), "km": d.distance_km, "hours": d.hours, "rows": rows,
                     "start": getattr(d, "start_name", "出发点"), "end": getattr(d, "end_name", "出发点"),
                     "night": getattr(d, "night", None)})
    return _ENV.from_string(_CHECKLIST_TEMPLATE).render(
        bases=bases, nights=nights(plan),
        title=title, start=f"{plan.params['start'][0]:.6f}, {plan.params['start'][1]:.6f}", days=days,
        total_km=plan.total_km, method=plan.method, params=plan.params, deferred=deferred.to_dict("records"),
        made=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


# ------------------------------------------------------------------------------------------------ map
def marker_offsets(lon: np.ndarray, lat: np.ndarray, *, near_m: float = 2500.0, px: int = 24) -> np.ndarray:
    """Pixel offsets ``(dx, dy)`` that fan out markers closer than ``near_m`` to each other (a ring per group),
    so stacked stops stay readable at every zoom."""
    n = len(lon)
    off = np.zeros((n, 2))
    if n < 2:
        return off
    x = np.asarray(lon, float) * 111_320.0 * np.cos(np.radians(np.asarray(lat, float)))
    y = np.asarray(lat, float) * 110_574.0
    pts = shapely.points(x, y)
    tree = shapely.STRtree(pts)
    a, b = tree.query(pts, predicate="dwithin", distance=near_m)
    parent = np.arange(n)

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, j in zip(a.tolist(), b.tolist()):
        ri, rj = root(i), root(j)
        if ri != rj:
            parent[max(ri, rj)] = min(ri, rj)
    groups: dict[int, list[int]] = {}
    for i in range(n):
        groups.setdefault(root(i), []).append(i)
    for members in groups.values():
        k = len(members)
        if k < 2:
            continue
        r = max(px, 26.0 * k / (2 * np.pi))  # room on the ring for k markers 22 px wide
        for j, i in enumerate(members):
            ang = 2 * np.pi * j / k - np.pi / 2
            off[i] = (r * np.cos(ang), r * np.sin(ang))
    return np.round(off)


def plain_method(plan) -> str:
    """How distances were reckoned, in plain words."""
    if plan.params.get("roads"):
        return "距离沿道路计算（无路处按直线加三成）"
    return f"距离按直线 × {plan.params.get('detour', 1.3):g} 估算"


def patrol_map(stops: pd.DataFrame, deferred: pd.DataFrame, plan, *, title: str,
               clues: gpd.GeoDataFrame | None = None, context: Sequence[tuple[str, gpd.GeoDataFrame]] = (),
               basemap: str = "none", lang: str = "zh"):
    """The offline web map: context layers, clue patches, day routes, numbered stops, lodging, deferred targets."""
    import folium

    from ecogis.render import styles, webmap

    lines = []
    for d in plan.days:
        if d.track:
            coords = [c for leg in d.track for c in leg]
            lines.append({"day": f"第{d.day}天", "km": round(d.distance_km, 1), "hours": round(d.hours, 1),
                          "n": len(d.stops), "night": getattr(d, "night", None) or "返回出发点",
                          "geometry": shapely.LineString(coords)})
    ns = nights(plan)
    pts = [(plan.params["start"][0], plan.params["start"][1])]
    pts += list(zip(stops["lon"], stops["lat"])) + list(zip(deferred["lon"], deferred["lat"]))
    pts += [(n["lon"], n["lat"]) for n in ns]
    xy = np.array(pts, dtype=float)
    xy = xy[np.isfinite(xy).all(axis=1)]
    bounds = (xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max())
    m = webmap.base_map(bounds, lang=lang, basemap=basemap, title=title)
    ctx_style = {"自然保护地": styles.ClassStyle("#a6d96a", "#4d9221", "自然保护地", fill_opacity=0.15),
                 "生态保护红线": styles.ClassStyle("#fdae61", "#d7301f", "生态保护红线", fill_opacity=0.1, dash="6 4"),
                 "饮用水水源保护区": styles.ClassStyle("#74add1", "#2c7bb6", "饮用水水源保护区", fill_opacity=0.2)}
    entries: list[tuple[str, str, str]] = []
    for name, gdf in context:
        if gdf is not None and len(gdf):
            st = ctx_style.get(name, styles.ClassStyle("#cccccc", "#666666", name, fill_opacity=0.15))
            fields = [(c, {"name": "名称", "zone": "功能分区", "grade": "级别"}[c])
                      for c in ("name", "zone", "grade") if c in gdf.columns]
            webmap.add_layer(m, gdf, name=name, style=st, simplify_m=30, show=True,
                             popup_fields=fields, tooltip="name" if "name" in gdf.columns else None)
            entries.append((name, st.fill, st.stroke))
    if clues is not None and len(clues):
        cl = clues[["clue_id", "area_ha", "priority", "geometry"]].copy()
        webmap.add_layer(m, cl, name="遥感线索图斑", style=styles.ClassStyle("#ff7f00", "#b35900", "线索图斑",
                                                                        fill_opacity=0.5, weight=1.5),
                         popup_fields=[("clue_id", "线索编号"), ("area_ha", "面积(公顷)"), ("priority", "优先级")],
                         tooltip="clue_id")
        entries.append(("遥感线索图斑（植被损失）", "#ff7f00", "#b35900"))
    if lines:
        lg = gpd.GeoDataFrame(lines, geometry="geometry", crs=4490)
        pal = {r: styles.ClassStyle(DAY_COLOURS[i % len(DAY_COLOURS)], DAY_COLOURS[i % len(DAY_COLOURS)], r,
                                    weight=4, fill_opacity=0.0) for i, r in enumerate(lg["day"])}
        grp = webmap.add_layer(m, lg, name="巡查路线", style_by="day", palette=pal,
                               popup_fields=[("day", "日程"), ("n", "站数"), ("km", "里程(千米)"),
                                             ("hours", "用时(小时)"), ("night", "当晚")],
                               tooltip="day")
        entries += [(f"{lab}路线与站点", f, s_) for lab, f, s_ in getattr(grp, "legend_entries", [])]
    if len(stops):
        sg = gpd.GeoDataFrame(stops.assign(check_short=[short_check(c, 60) for c in stops["check"]]),
                              geometry=shapely.points(stops["lon"], stops["lat"]), crs=4490)
        sg["dayname"] = [f"第{d}天" for d in sg["day"]]
        pal = {f"第{d.day}天": styles.ClassStyle(DAY_COLOURS[(d.day - 1) % len(DAY_COLOURS)], "#222222", f"第{d.day}天")
               for d in plan.days}
        grp = webmap.add_layer(m, sg, name="巡查站点", style_by="dayname", palette=pal, popup_title="label",
                               popup_fields=[("target_id", "编号"), ("name", "名称"), ("check_short", "核查"),
                                             ("lon", "经度"), ("lat", "纬度")], tooltip="label")
        off = marker_offsets(sg["lon"].to_numpy(float), sg["lat"].to_numpy(float))
        for (d, s_, lon, lat), (dx, dy) in zip(zip(sg["day"], sg["stop"], sg["lon"], sg["lat"]), off):
            if m.ecogis_gcj02:
                from ecogis.normalise.datum import wgs84_to_gcj02

                lon, lat = (float(v) for v in wgs84_to_gcj02(np.array([lon]), np.array([lat])))
            colour = DAY_COLOURS[(int(d) - 1) % len(DAY_COLOURS)]
            icon = folium.DivIcon(html=(f'<div style="background:{colour};color:#fff;border:2px solid #fff;'
                                        'border-radius:11px;width:22px;height:22px;line-height:18px;'
                                        'box-shadow:0 0 2px #000;'
                                        f'text-align:center;font:bold 11px sans-serif;">{int(s_)}</div>'),
                                  icon_size=(22, 22), icon_anchor=(int(11 - dx), int(11 - dy)))
            folium.Marker([lat, lon], icon=icon, interactive=False).add_to(grp)
    if ns:
        lo = gpd.GeoDataFrame({"name": [f"第{n['after_day']}晚住宿：{n['place']}" for n in ns]},
                              geometry=shapely.points([n["lon"] for n in ns], [n["lat"] for n in ns]), crs=4490)
        webmap.add_layer(m, lo, name="住宿", style=styles.ClassStyle("#6a3d9a", "#ffffff", "住宿", weight=3),
                         popup_title="name", tooltip="name")
        entries.append(("住宿（在外过夜）", "#6a3d9a", "#ffffff"))
    if len(deferred):
        dg = gpd.GeoDataFrame(deferred, geometry=shapely.points(deferred["lon"], deferred["lat"]), crs=4490)
        webmap.add_layer(m, dg, name="顺延目标", style=styles.ClassStyle("#9e9e9e", "#424242", "顺延目标"),
                         popup_title="target_id", popup_fields=[("name", "名称"), ("reason", "原因")],
                         tooltip="target_id")
        entries.append(("顺延目标（本次未安排）", "#9e9e9e", "#424242"))
    start = gpd.GeoDataFrame({"name": ["出发点"]}, geometry=[shapely.Point(*plan.params["start"])], crs=4490)
    webmap.add_layer(m, start, name="出发点", style=styles.ClassStyle("#000000", "#000000", "出发点", weight=4),
                     tooltip="name")
    entries.append(("出发点", "#000000", "#000000"))
    webmap.legend(m, entries, title="图例")
    n_days = sum(1 for d in plan.days if d.stops)
    sub = f"{len(stops)} 个站点，{n_days} 天，共 {plan.total_km:.0f} 千米"
    if ns:
        sub += "；住宿：" + "、".join(f"第{n['after_day']}晚{n['place']}" for n in ns)
    if len(deferred):
        sub += f"；{len(deferred)} 个目标顺延"
    webmap.add_note(m, sub + "。" + plain_method(plan) + "。")
    return m


# ------------------------------------------------------------------------------------------------ all
def context_layers(ws) -> list[tuple[str, gpd.GeoDataFrame]]:
    """Protected areas, red lines and water sources of a workspace, for the patrol map."""
    out = []
    for kind, label in (("protected_area", "自然保护地"), ("redline", "生态保护红线"), ("water_source", "饮用水水源保护区")):
        if ws is not None and ws.has(kind):
            g = ws.read(kind)
            keep = [c for c in ("name", "zone", "grade") if c in g.columns]
            out.append((label, g[keep + [g.geometry.name]]))
    return out


def write_field_package(targets: gpd.GeoDataFrame, plan, out_dir: str | os.PathLike, *, title: str = "ecogis 巡查路线",
                        clues: gpd.GeoDataFrame | None = None, unlocated: pd.DataFrame | None = None,
                        context: Sequence[tuple[str, gpd.GeoDataFrame]] = (), basemap: str = "none",
                        notes: Sequence[Any] = ()) -> list[Path]:
    """Write the field package into ``out_dir`` and return the paths."""
    from ecogis.render import webmap

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stops, deferred = checklist_frames(targets, plan)
    if unlocated is not None and len(unlocated):
        extra = pd.DataFrame({"target_id": unlocated["target_id"], "source": unlocated["source"],
                              "name": unlocated["name"], "priority": np.nan, "lon": np.nan, "lat": np.nan,
                              "reason": unlocated["reason"]})
        deferred_all = pd.concat([deferred, extra], ignore_index=True)
    else:
        deferred_all = deferred
    written = []
    written.append(write_text_atomic(out / "route.gpx", gpx_text(stops, plan, title=title)))
    from ecogis.export.kml import write_kmz

    kml = kml_text(stops, deferred, plan, title=title, context=context, targets=targets)
    written.append(write_text_atomic(out / "route.kml", kml))
    written.append(write_kmz(out / "route.kmz", kml))
    tg = targets.drop(columns=[c for c in ("rank",) if c in targets.columns]).copy()
    tg["day"] = None
    tg["stop"] = None
    tg["status"] = "deferred"
    for pos, day, stop in zip(stops["_pos"], stops["day"], stops["stop"]):
        tg.iat[int(pos), tg.columns.get_loc("day")] = int(day)
        tg.iat[int(pos), tg.columns.get_loc("stop")] = int(stop)
        tg.iat[int(pos), tg.columns.get_loc("status")] = "planned"
    tg["geometry"] = shapely.point_on_surface(tg.geometry.to_numpy()) if len(tg) else tg.geometry
    written.append(write_text_atomic(out / "targets.geojson", tg.to_json(drop_id=True, ensure_ascii=False)
                                     if len(tg) else '{"type": "FeatureCollection", "features": []}'))
    written.append(write_checklist_xlsx(stops, deferred_all, out / "checklist.xlsx"))
    written.append(write_checklist_csv(stops, out / "checklist.csv"))
    if len(stops) or len(deferred):
        m = patrol_map(stops, deferred, plan, title=title, clues=clues, context=context, basemap=basemap)
        written.append(webmap.save_html(m, out / "patrol.html"))
    written.append(write_text_atomic(out / "checklist.html", checklist_html(stops, deferred_all, plan, title=title)))
    summary = {
        "title": title, "method": plan.method, "params": plan.params, "total_km": plan.total_km,
        "nights": nights(plan),
        "days": [{"day": d.day, "start": getattr(d, "start_name", "出发点"), "end": getattr(d, "end_name", "出发点"),
                  "night": getattr(d, "night", None), "stops": len(d.stops), "distance_km": d.distance_km, "hours": round(d.hours, 2),
                  "drive_hours": round(d.drive_hours, 2), "visit_hours": round(d.visit_hours, 2),
                  "targets": [str(targets.iloc[p]["target_id"]) for p in d.stops]} for d in plan.days],
        "targets": int(len(targets)), "planned": int(len(stops)),
        "deferred": deferred_all.replace({np.nan: None}).to_dict("records"),
        "notes": [n.as_dict() if hasattr(n, "as_dict") else str(n) for n in notes],
    }
    written.append(write_text_atomic(out / "patrol.json", json.dumps(summary, ensure_ascii=False, indent=2)))
    return written
