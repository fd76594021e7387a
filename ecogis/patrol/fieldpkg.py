"""The field package of a patrol: GPX, KML, GeoJSON, checklists and the offline map.

Files written by :func:`write_field_package` (every one atomically):

``route.gpx``
    GPX 1.1: one waypoint per stop (name ``D1-01 XS-0003``, description with
    what to check) and one track per day (start → stops → start), for GPS
    apps (OsmAnd, Organic Maps, 两步路, 六只脚 …) that work without signal.
``route.kml``
    The same for Google Earth / 奥维: one folder per day with its stops and
    route, a folder of deferred targets.
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
                         "lat": round(float(xy[pos, 1]), 7), "check": str(t["check"]), "basis": str(t["basis"])})
    stops = pd.DataFrame(rows, columns=["day", "stop", "_pos", "target_id", "source", "name", "priority", "lon",
                                        "lat", "check", "basis"])
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
def gpx_text(stops: pd.DataFrame, plan, *, title: str = "ecogis 巡查路线") -> str:
    """GPX 1.1 with a waypoint per stop and a track per day."""
    import gpxpy.gpx

    g = gpxpy.gpx.GPX()
    g.name = title
    g.creator = "ecogis"
    g.description = f"{len(stops)} stops, {plan.total_km:.1f} km; {plan.method}"
    for r in stops.itertuples(index=False):
        w = gpxpy.gpx.GPXWaypoint(latitude=r.lat, longitude=r.lon,
                                  name=f"D{r.day}-{r.stop:02d} {r.target_id}",
                                  description=f"{r.name}\n核查：{r.check}\n依据：{r.basis}")
        w.symbol = "Flag, Red"
        w.type = str(r.source)
        g.waypoints.append(w)
    for d in plan.days:
        if not d.stops:
            continue
        trk = gpxpy.gpx.GPXTrack(name=f"第{d.day}天 D{d.day}",
                                 description=f"{len(d.stops)} 站, {d.distance_km:.1f} km, {d.hours:.1f} h")
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


def kml_text(stops: pd.DataFrame, deferred: pd.DataFrame, plan, *, title: str = "ecogis 巡查路线") -> str:
    """KML 2.2: a folder per day (stops and route), and one of deferred targets."""
    e = lambda v: xml_escape(str(v))  # noqa: E731
    out = ['<?xml version="1.0" encoding="UTF-8"?>', '<kml xmlns="http://www.opengis.net/kml/2.2"><Document>',
           f"<name>{e(title)}</name>"]
    for k, col in enumerate(DAY_COLOURS):
        bgr = col[5:7] + col[3:5] + col[1:3]
        out.append(f'<Style id="day{k}"><LineStyle><color>ff{bgr}</color><width>3</width></LineStyle>'
                   f'<IconStyle><color>ff{bgr}</color></IconStyle></Style>')
    for d in plan.days:
        if not d.stops:
            continue
        sid = f"day{(d.day - 1) % len(DAY_COLOURS)}"
        out.append(f"<Folder><name>{e(f'第{d.day}天')}</name>")
        for r in stops[stops["day"] == d.day].itertuples(index=False):
            out.append(f"<Placemark><name>{e(f'D{r.day}-{r.stop:02d} {r.target_id}')}</name>"
                       f"<description>{e(f'{r.name}；核查：{r.check}；依据：{r.basis}')}</description>"
                       f"<styleUrl>#{sid}</styleUrl><Point><coordinates>{r.lon:.7f},{r.lat:.7f}</coordinates></Point>"
                       "</Placemark>")
        coords = " ".join(f"{lon:.7f},{lat:.7f}" for leg in d.track for lon, lat in leg)
        out.append(f"<Placemark><name>{e(f'第{d.day}天路线 {d.distance_km:.1f} km')}</name><styleUrl>#{sid}</styleUrl>"
                   f"<LineString><tessellate>1</tessellate><coordinates>{coords}</coordinates></LineString></Placemark>")
        out.append("</Folder>")
    if len(deferred):
        out.append(f"<Folder><name>{e('顺延目标')}</name>")
        for r in deferred.itertuples(index=False):
            out.append(f"<Placemark><name>{e(r.target_id)}</name><description>{e(f'{r.name}；{r.reason}')}</description>"
                       f"<Point><coordinates>{r.lon:.7f},{r.lat:.7f}</coordinates></Point></Placemark>")
        out.append("</Folder>")
    out.append("</Document></kml>")
    return "\n".join(out)


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
    ws.title = "checklist"
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
    wd = wb.create_sheet("deferred")
    wd.append(["目标编号", "来源", "名称", "优先级", "经度(CGCS2000)", "纬度(CGCS2000)", "顺延原因"])
    for r in deferred.itertuples(index=False):
        wd.append([_safe_cell(r.target_id), r.source, _safe_cell(r.name), r.priority, r.lon, r.lat, r.reason])
    from ecogis.export.cells import literal_workbook

    literal_workbook(wb)  # text starting with "=" stays text, not a formula
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return Path(path)


_CHECKLIST_TEMPLATE = """<!DOCTYPE html>
<html lang="zh"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
@page { size: A4 landscape; margin: 12mm; }
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; font-size: 10.5pt; margin: 0 8mm; }
h1 { font-size: 15pt; margin: 6px 0; } h2 { font-size: 12.5pt; margin: 14px 0 4px; page-break-before: always; }
h2.first { page-break-before: auto; }
table { border-collapse: collapse; width: 100%; page-break-inside: auto; }
tr { page-break-inside: avoid; }
th, td { border: 1px solid #555; padding: 3px 4px; vertical-align: top; }
th { background: #eee; } td.blank { min-width: 60px; height: 44px; }
.small { font-size: 8.5pt; color: #333; } .meta { color: #444; }
</style></head><body>
<h1>{{ title }}</h1>
<p class="meta">出发点 {{ start }}；{{ days|length }} 天；总里程 {{ "%.1f"|format(total_km) }} km；{{ method }}；
车速 {{ params.speed_kmh }} km/h，每站 {{ params.visit_minutes }} 分钟，每日 {{ params.hours_per_day }} 小时。
坐标：CGCS2000 经纬度；高斯-克吕格 3 度带（X 北坐标，Y 东坐标含带号）。生成时间 {{ made }}。</p>
{% for d in days %}
<h2 class="{{ 'first' if loop.first }}">第 {{ d.day }} 天：{{ d.n }} 站，{{ "%.1f"|format(d.km) }} km，约 {{ "%.1f"|format(d.hours) }} 小时</h2>
<table><tr><th>站</th><th>目标编号</th><th>来源 / 名称</th><th>坐标</th><th>核查内容</th><th>依据</th>
<th>结果<br><span class="small">属实/不属实/整改中/已销号</span></th><th>日期</th><th>核查人</th><th>照片</th><th>备注</th></tr>
{% for r in d.rows %}<tr><td>{{ r.stop }}</td><td>{{ r.target_id }}</td><td>{{ r.source }}<br>{{ r.name }}</td>
<td class="small">{{ "%.6f"|format(r.lon) }}, {{ "%.6f"|format(r.lat) }}<br>{{ r.gk_zone }} 带 X {{ "%.2f"|format(r.gk_x) }}<br>Y {{ "%.2f"|format(r.gk_y) }}</td>
<td class="small">{{ r.check }}</td><td class="small">{{ r.basis }}</td>
<td class="blank"></td><td class="blank"></td><td class="blank"></td><td class="blank"></td><td class="blank"></td></tr>
{% endfor %}</table>
{% endfor %}
{% if deferred %}<h2>顺延目标（本次未安排，{{ deferred|length }} 个）</h2>
<table><tr><th>目标编号</th><th>来源</th><th>名称</th><th>优先级</th><th>坐标</th><th>原因</th></tr>
{% for r in deferred %}<tr><td>{{ r.target_id }}</td><td>{{ r.source }}</td><td>{{ r.name }}</td><td>{{ r.priority }}</td>
<td class="small">{{ "%.6f"|format(r.lon) }}, {{ "%.6f"|format(r.lat) }}</td><td>{{ r.reason }}</td></tr>{% endfor %}
</table>{% endif %}
</body></html>
"""

_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined)


def checklist_html(stops: pd.DataFrame, deferred: pd.DataFrame, plan, *, title: str) -> str:
    """The printable checklist (autoescaped)."""
    days = []
    for d in plan.days:
        if not d.stops:
            continue
        rows = stops[stops["day"] == d.day].to_dict("records")
        days.append({"day": d.day, "n": len(d.stops), "km": d.distance_km, "hours": d.hours, "rows": rows})
    return _ENV.from_string(_CHECKLIST_TEMPLATE).render(
        title=title, start=f"{plan.params['start'][0]:.6f}, {plan.params['start'][1]:.6f}", days=days,
        total_km=plan.total_km, method=plan.method, params=plan.params, deferred=deferred.to_dict("records"),
        made=datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


# ------------------------------------------------------------------------------------------------ map
def patrol_map(stops: pd.DataFrame, deferred: pd.DataFrame, plan, *, title: str,
               clues: gpd.GeoDataFrame | None = None, context: Sequence[tuple[str, gpd.GeoDataFrame]] = (),
               basemap: str = "none", lang: str = "zh"):
    """The offline web map: context layers, clue patches, day routes, numbered stops, deferred targets."""
    import folium

    from ecogis.render import styles, webmap

    lines = []
    for d in plan.days:
        if d.stops:
            coords = [c for leg in d.track for c in leg]
            lines.append({"day": f"第{d.day}天", "km": round(d.distance_km, 1), "hours": round(d.hours, 1),
                          "n": len(d.stops), "geometry": shapely.LineString(coords)})
    pts = [(plan.params["start"][0], plan.params["start"][1])]
    pts += list(zip(stops["lon"], stops["lat"])) + list(zip(deferred["lon"], deferred["lat"]))
    xy = np.array(pts, dtype=float)
    bounds = (xy[:, 0].min(), xy[:, 1].min(), xy[:, 0].max(), xy[:, 1].max())
    m = webmap.base_map(bounds, lang=lang, basemap=basemap, title=title)
    ctx_style = (styles.ClassStyle("#a6d96a", "#4d9221", fill_opacity=0.15),
                 styles.ClassStyle("#fdae61", "#d7301f", fill_opacity=0.1, dash="6 4"),
                 styles.ClassStyle("#74add1", "#2c7bb6", fill_opacity=0.2))
    for k, (name, gdf) in enumerate(context):
        if gdf is not None and len(gdf):
            fields = [(c, c) for c in ("name", "zone", "grade") if c in gdf.columns]
            webmap.add_layer(m, gdf, name=name, style=ctx_style[k % len(ctx_style)], simplify_m=30, show=True,
                             popup_fields=fields, tooltip="name" if "name" in gdf.columns else None)
    if clues is not None and len(clues):
        cl = clues[["clue_id", "area_ha", "priority", "geometry"]].copy()
        webmap.add_layer(m, cl, name="遥感线索图斑", style=styles.ClassStyle("#ff7f00", "#b35900", "线索图斑",
                                                                        fill_opacity=0.5, weight=1.5),
                         popup_fields=[("clue_id", "线索编号"), ("area_ha", "面积(公顷)"), ("priority", "优先级")],
                         tooltip="clue_id")
    entries = []
    if lines:
        lg = gpd.GeoDataFrame(lines, geometry="geometry", crs=4490)
        pal = {r: styles.ClassStyle(DAY_COLOURS[i % len(DAY_COLOURS)], DAY_COLOURS[i % len(DAY_COLOURS)], r,
                                    weight=4, fill_opacity=0.0) for i, r in enumerate(lg["day"])}
        grp = webmap.add_layer(m, lg, name="巡查路线", style_by="day", palette=pal,
                               popup_fields=[("day", "日程"), ("n", "站数"), ("km", "里程(km)"), ("hours", "用时(小时)")],
                               tooltip="day")
        entries += getattr(grp, "legend_entries", [])
    if len(stops):
        sg = gpd.GeoDataFrame(stops.assign(label=[f"D{d}-{s:02d}" for d, s in zip(stops["day"], stops["stop"])]),
                              geometry=shapely.points(stops["lon"], stops["lat"]), crs=4490)
        sg["dayname"] = [f"第{d}天" for d in sg["day"]]
        pal = {f"第{d.day}天": styles.ClassStyle(DAY_COLOURS[(d.day - 1) % len(DAY_COLOURS)], "#222222", f"第{d.day}天")
               for d in plan.days}
        grp = webmap.add_layer(m, sg, name="巡查站点", style_by="dayname", palette=pal, popup_title="label",
                               popup_fields=[("target_id", "目标编号"), ("source", "来源"), ("name", "名称"),
                                             ("priority", "优先级"), ("lon", "经度"), ("lat", "纬度"),
                                             ("gk_x", "GK X"), ("gk_y", "GK Y"), ("check", "核查内容"),
                                             ("basis", "依据")], tooltip="label")
        for d, s, lon, lat in zip(sg["day"], sg["stop"], sg["lon"], sg["lat"]):
            if m.ecogis_gcj02:
                from ecogis.normalise.datum import wgs84_to_gcj02

                lon, lat = (float(v) for v in wgs84_to_gcj02(np.array([lon]), np.array([lat])))
            colour = DAY_COLOURS[(int(d) - 1) % len(DAY_COLOURS)]
            icon = folium.DivIcon(html=(f'<div style="background:{colour};color:#fff;border:2px solid #fff;'
                                        'border-radius:11px;width:22px;height:22px;line-height:18px;'
                                        f'text-align:center;font:bold 11px sans-serif;">{int(s)}</div>'),
                                  icon_size=(22, 22), icon_anchor=(11, 11))
            folium.Marker([lat, lon], icon=icon, interactive=False).add_to(grp)
    if len(deferred):
        dg = gpd.GeoDataFrame(deferred, geometry=shapely.points(deferred["lon"], deferred["lat"]), crs=4490)
        webmap.add_layer(m, dg, name="顺延目标", style=styles.ClassStyle("#9e9e9e", "#424242", "顺延目标"),
                         popup_title="target_id", popup_fields=[("name", "名称"), ("priority", "优先级"),
                                                                 ("reason", "原因")], tooltip="target_id")
    start = gpd.GeoDataFrame({"name": ["出发点"]}, geometry=[shapely.Point(*plan.params["start"])], crs=4490)
    webmap.add_layer(m, start, name="出发点", style=styles.ClassStyle("#000000", "#000000", "出发点", weight=4),
                     tooltip="name")
    if entries:
        webmap.legend(m, entries, title="巡查日程")
    webmap.add_note(m, f"总里程 {plan.total_km:.1f} km；{plan.method}")
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
    written.append(write_text_atomic(out / "route.kml", kml_text(stops, deferred, plan, title=title)))
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
        "days": [{"day": d.day, "stops": len(d.stops), "distance_km": d.distance_km, "hours": round(d.hours, 2),
                  "drive_hours": round(d.drive_hours, 2), "visit_hours": round(d.visit_hours, 2),
                  "targets": [str(targets.iloc[p]["target_id"]) for p in d.stops]} for d in plan.days],
        "targets": int(len(targets)), "planned": int(len(stops)),
        "deferred": deferred_all.replace({np.nan: None}).to_dict("records"),
        "notes": [n.as_dict() if hasattr(n, "as_dict") else str(n) for n in notes],
    }
    written.append(write_text_atomic(out / "patrol.json", json.dumps(summary, ensure_ascii=False, indent=2)))
    return written
