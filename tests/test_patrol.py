"""Patrol planning: targets, day budget, deferred targets, 2-opt, roads, GPX/KML/checklists, CLI."""

from __future__ import annotations

import argparse
import csv
import json
import math
import shutil
from pathlib import Path

import geopandas as gpd
import gpxpy
import numpy as np
import openpyxl
import pytest
import shapely
from defusedxml import ElementTree as ET
from pyproj import Transformer

from ecogis.errors import InputError
from ecogis.patrol.fieldpkg import CHECKLIST_COLUMNS, FIELD_COLUMNS, write_field_package
from ecogis.patrol.route import parse_start, plan_route, straight_km, two_opt
from ecogis.patrol.targets import gather_targets, mine_targets
from ecogis.workspace import open_workspace

SAMPLE = Path(__file__).resolve().parent.parent / "layers" / "sample" / "genhe.gpkg"
START = (121.52, 50.78)


def _targets(points, priorities=None, names=None):
    n = len(points)
    pr = priorities if priorities is not None else list(range(100, 100 - n, -1))
    return gpd.GeoDataFrame({
        "target_id": [f"T{i:02d}" for i in range(n)], "source": "clue", "source_zh": "遥感线索",
        "name": names or [f"目标{i}" for i in range(n)], "priority": pr, "check": "核实", "basis": "依据",
        "area_ha": 1.0, "detail": ""}, geometry=[shapely.Point(p) for p in points], crs=4490)


def _ring(n=12, r_deg=0.1, seed=0):
    rng = np.random.default_rng(seed)
    ang = rng.permutation(np.linspace(0, 2 * np.pi, n, endpoint=False))
    return [(START[0] + r_deg * 1.5 * math.cos(a), START[1] + r_deg * math.sin(a)) for a in ang]


def _check_plan(plan, t, hours):
    visited = plan.visited
    deferred = list(plan.deferred["position"])
    assert len(visited) == len(set(visited))
    assert sorted(visited + deferred) == list(range(len(t)))  # nothing dropped silently
    for d in plan.days:
        assert d.hours <= hours + 1e-6
        assert d.distance_km == pytest.approx(sum(d.legs_km), abs=1e-3)
    assert plan.total_km == pytest.approx(sum(d.distance_km for d in plan.days), abs=1e-3)


def test_route_respects_the_day_budget():
    pts = [(START[0] + dx, START[1] + dy) for dx in np.linspace(-0.3, 0.3, 6) for dy in np.linspace(-0.2, 0.2, 5)]
    t = _targets(pts)
    plan = plan_route(t, START, days=2, hours_per_day=6, speed_kmh=40, visit_minutes=30)
    _check_plan(plan, t, 6)
    assert len(plan.visited) > 0 and len(plan.deferred) > 0
    assert all(len(d.stops) for d in plan.days)
    assert (plan.deferred["reason"] == "日程已满：优先级较低，顺延至下次巡查").all()


def test_deferred_targets_are_listed_with_the_reason():
    far = (START[0] + 6.0, START[1] + 3.0)  # ~550 km away: no round trip fits in 8 h
    t = _targets([(START[0] + 0.01, START[1]), far, (START[0], START[1] + 0.01)], priorities=[50, 99, 40])
    plan = plan_route(t, START, days=3, hours_per_day=8, speed_kmh=40, visit_minutes=30)
    _check_plan(plan, t, 8)
    assert list(plan.deferred["target_id"]) == ["T01"]
    assert plan.deferred["reason"].iloc[0] == "单独往返即超出每日工作时长"
    assert any(n.code == "deferred" for n in plan.notes)


def test_higher_priority_goes_first_when_time_is_short():
    # ten targets at the same spot: one day fits only a few visits
    pts = [(START[0] + 0.05, START[1])] * 10
    t = _targets(pts, priorities=list(range(10, 0, -1)))
    plan = plan_route(t, START, days=1, hours_per_day=3, speed_kmh=40, visit_minutes=30)
    planned = sorted(plan.visited)
    assert planned == list(range(len(planned))) and 0 < len(planned) < 10


def test_two_opt_finds_the_convex_tour():
    pts = _ring(12)
    lon = np.r_[START[0], [p[0] for p in pts]]
    lat = np.r_[START[1], [p[1] for p in pts]]
    D = straight_km(lon, lat)
    tour = two_opt(list(range(1, 13)), D)
    seq = [0, *tour, 0]
    length = sum(D[a, b] for a, b in zip(seq[:-1], seq[1:]))
    # the optimum visits the ring in angular order: start -> nearest … -> back
    ang = np.arctan2(lat[1:] - START[1], (lon[1:] - START[0]) / 1.5)
    order = list(np.argsort(ang) + 1)
    best = min(sum(D[a, b] for a, b in zip(s[:-1], s[1:]))
               for k in range(12) for s in ([0, *(order[k:] + order[:k]), 0],))
    assert length <= best + 1e-6


def test_start_is_parsed_and_checked():
    assert parse_start("121.5, 50.8") == (121.5, 50.8)
    with pytest.raises(InputError):
        parse_start("50.8")
    with pytest.raises(InputError):
        parse_start("500,50")


def test_route_over_a_road_network():
    tr = Transformer.from_crs(4549, 4490, always_xy=True)
    x0, y0 = Transformer.from_crs(4490, 4549, always_xy=True).transform(*START)
    # a U-shaped road: start and target are 2 km apart across a gap, the road goes round (10 km)
    u = shapely.LineString([(x0, y0), (x0, y0 + 4000), (x0 + 2000, y0 + 4000), (x0 + 2000, y0)])
    road = gpd.GeoDataFrame({"name": ["U路"]}, geometry=[shapely.transform(
        u, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))], crs=4490)
    target = tr.transform(x0 + 2000, y0)
    t = _targets([target])
    straight = plan_route(t, START, days=1, detour=1.0)
    roads = plan_route(t, START, days=1, roads=road, detour=2.0)
    assert straight.total_km == pytest.approx(4.0, rel=0.01)
    assert roads.total_km == pytest.approx(20.0, rel=0.01)  # 10 km there, 10 km back, over the road
    assert len(roads.days[0].track[0]) > 10  # the track follows the road
    assert roads.params["roads"] is True and "networkx" in roads.method


def test_targets_from_the_sample_workspace(tmp_path):
    ws = open_workspace(SAMPLE)
    mines = mine_targets(ws, within_m=5000)
    assert len(mines) and (mines["source"] == "mine").all()
    assert mines["target_id"].str.startswith("KS-").all()
    assert mines["detail"].str.len().gt(0).all()
    findings = {"meta": {}, "sites": [
        {"site_id": "GH-01", "name": "测试项目", "verdict": "prohibited", "area_ha": 1.0,
         "findings": [{"rule_title": "红线", "severity": "prohibited", "basis": "依据A"}]},
        {"site_id": "NOPE-9", "name": "无位置", "verdict": "restricted", "findings": []},
        {"site_id": "GH-02", "name": "无冲突", "verdict": "clear", "findings": []}]}
    tg = gather_targets(ws, findings=findings, mine_within_m=5000)
    t = tg.targets
    assert list(t["rank"]) == list(range(1, len(t) + 1))
    assert (np.diff(t["priority"].to_numpy(float)) <= 0).all()
    assert "XM-GH-01" in set(t["target_id"]) and t.loc[t["target_id"] == "XM-GH-01", "priority"].iloc[0] == 85
    assert list(tg.unlocated["target_id"]) == ["XM-NOPE-9"]  # listed, not dropped
    assert (t.geometry.geom_type == "Point").all()


@pytest.fixture()
def package(tmp_path):
    name = '<script>alert("x")</script>=1+1'
    t = _targets(_ring(8, 0.05), names=[name, "=1+1"] + [f"目标{i}" for i in range(2, 8)])
    far = _targets([(START[0] + 6, START[1] + 3)])
    far["target_id"] = ["FAR"]
    t = gpd.GeoDataFrame(__import__("pandas").concat([t, far], ignore_index=True), crs=4490)
    plan = plan_route(t, START, days=2, hours_per_day=4, speed_kmh=40, visit_minutes=30)
    out = tmp_path / "pkg"
    paths = write_field_package(t, plan, out, title="测试巡查")
    return t, plan, out, paths


def test_field_package_files(package):
    t, plan, out, paths = package
    names = {p.name for p in paths}
    assert {"route.gpx", "route.kml", "targets.geojson", "checklist.xlsx", "checklist.csv", "patrol.html",
            "checklist.html", "patrol.json"} <= names
    assert not list(out.glob(".*tmp*"))  # atomic writes left nothing behind
    summary = json.loads((out / "patrol.json").read_text(encoding="utf-8"))
    assert summary["planned"] == len(plan.visited)
    assert [d["target_id"] for d in summary["deferred"]] == list(plan.deferred["target_id"])
    assert "FAR" in [d["target_id"] for d in summary["deferred"]]
    gj = json.loads((out / "targets.geojson").read_text(encoding="utf-8"))
    status = {f["properties"]["target_id"]: f["properties"]["status"] for f in gj["features"]}
    assert status["FAR"] == "deferred" and len(status) == len(t)


def test_gpx_parses_back_with_gpxpy(package):
    t, plan, out, _ = package
    g = gpxpy.parse((out / "route.gpx").read_text(encoding="utf-8"))
    assert len(g.waypoints) == len(plan.visited)
    assert len(g.tracks) == sum(1 for d in plan.days if d.stops)
    first = plan.days[0]
    wp = g.waypoints[0]
    assert wp.name.startswith("D1-01 ")
    pos = first.stops[0]
    p = t.geometry.iloc[pos]
    assert (wp.longitude, wp.latitude) == pytest.approx((p.x, p.y), abs=1e-6)
    seg = g.tracks[0].segments[0].points
    assert (seg[0].longitude, seg[0].latitude) == pytest.approx(START, abs=1e-6)
    assert (seg[-1].longitude, seg[-1].latitude) == pytest.approx(START, abs=1e-6)
    assert "<script>" in g.waypoints[[w.name.endswith("T00") for w in g.waypoints].index(True)].description \
        if any(w.name.endswith("T00") for w in g.waypoints) else True
    root = ET.fromstring((out / "route.kml").read_bytes())
    assert root.tag.endswith("kml")


def test_checklists(package):
    t, plan, out, _ = package
    with open(out / "checklist.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == [h for _, h in CHECKLIST_COLUMNS]
    assert len(rows) - 1 == len(plan.visited)
    keys = [k for k, _ in CHECKLIST_COLUMNS]
    for r in rows[1:]:
        rec = dict(zip(keys, r))
        assert all(rec[c] == "" for c in FIELD_COLUMNS)
        lon, lat = float(rec["lon"]), float(rec["lat"])
        zone = int(rec["gk_zone"])
        e, n = Transformer.from_crs(4490, 4513 + zone - 25, always_xy=True).transform(lon, lat)
        assert float(rec["gk_x"]) == pytest.approx(n, abs=0.01) and float(rec["gk_y"]) == pytest.approx(e, abs=0.01)
        assert str(rec["gk_y"]).startswith(str(zone))
        if rec["target_id"] == "T01":
            assert rec["name"] == "'=1+1"  # a formula-looking cell is neutralised
    wb = openpyxl.load_workbook(out / "checklist.xlsx")
    assert wb.sheetnames == ["巡查清单", "顺延目标"]
    ws = wb["巡查清单"]
    assert [c.value for c in ws[1]] == [h for _, h in CHECKLIST_COLUMNS]
    assert ws.max_row - 1 == len(plan.visited)
    assert wb["顺延目标"].max_row - 1 == len(plan.deferred)


def test_html_escapes_data_text(package):
    _, _, out, _ = package
    for name in ("checklist.html", "patrol.html"):
        html = (out / name).read_text(encoding="utf-8")
        assert '<script>alert("x")' not in html
    ch = (out / "checklist.html").read_text(encoding="utf-8")
    assert "&lt;script&gt;" in ch and "顺延目标" in ch
    from ecogis.render.assets import assert_offline

    assert_offline((out / "patrol.html").read_text(encoding="utf-8"))


def test_cli_patrol(tmp_path):
    from ecogis.cli import patrol as cli

    ws = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE, ws)
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers()
    cli.register(sub)
    out = tmp_path / "out"
    args = ap.parse_args(["patrol", "--workspace", str(ws), "--start", f"{START[0]},{START[1]}", "--days", "1",
                          "--hours-per-day", "6", "--mine-within-m", "5000", "--out", str(out)])
    assert args.func(args) == 0
    summary = json.loads((out / "patrol.json").read_text(encoding="utf-8"))
    assert summary["params"]["roads"] is True and summary["days"][0]["hours"] <= 6
    assert summary["planned"] + len(summary["deferred"]) == summary["targets"]


# --------------------------------------------------------------------------- issue 16: far base, boundaries
def _far_case(n: int = 20):
    from ecogis.normalise.area import GEOD

    lon0, lat0 = 120.0, 50.0
    elon, elat, _ = GEOD.fwd(lon0, lat0, 90.0, 150_000.0)
    rng = np.random.default_rng(0)
    tx, ty = elon + rng.uniform(-0.3, 0.3, n), elat + rng.uniform(-0.2, 0.2, n)
    t = gpd.GeoDataFrame({"target_id": [f"T{i:02d}" for i in range(n)], "source": "clue", "source_zh": "遥感线索",
                          "name": "植被损失图斑", "priority": np.linspace(10, 1, n),
                          "check": "核实是否存在开矿、采砂；现场拍照并记录", "basis": "《自然保护区条例》第二十六条",
                          "area_ha": rng.uniform(0.5, 9, n), "detail": ["红线 甲"] * (n // 2) + ["红线和保护地外"] * (n - n // 2)},
                         geometry=shapely.buffer(shapely.points(tx, ty), 0.003), crs=4490)
    lodging = gpd.GeoDataFrame({"name": ["甲镇", "乙镇"]},
                               geometry=shapely.points([elon - 0.1, elon + 0.2], [elat, elat + 0.1]), crs=4490)
    red = gpd.GeoDataFrame({"name": ["红线区"]}, geometry=[shapely.box(elon - 0.2, elat - 0.1, elon + 0.1, elat + 0.15)],
                           crs=4490)
    pa = gpd.GeoDataFrame({"name": ["某保护区"] * 2, "zone": ["核心区", "缓冲区"]},
                          geometry=[shapely.box(elon, elat, elon + 0.1, elat + 0.1),
                                    shapely.box(elon + 0.1, elat, elon + 0.2, elat + 0.1)], crs=4490)
    far = gpd.GeoDataFrame({"name": ["远处红线"]}, geometry=[shapely.box(100, 30, 100.1, 30.1)], crs=4490)
    return t, (lon0, lat0), lodging, [("生态保护红线", pd_concat(red, far)), ("自然保护地", pa)]


def pd_concat(a, b):
    import pandas as pd

    return gpd.GeoDataFrame(pd.concat([a, b], ignore_index=True), crs=4490)


def test_base_150_km_away_day_trips_defer_everything_overnight_trips_visit():
    t, start, lodging, _ = _far_case()
    day_trips = plan_route(t, start, days=3)
    assert day_trips.visited == [] and set(day_trips.deferred["reason"]) == {"单独往返即超出每日工作时长"}
    plan = plan_route(t, start, days=3, lodging=lodging)
    assert len(plan.visited) >= 12
    assert all(d.hours <= 8.0 + 1e-6 for d in plan.days)
    assert plan.days[0].start_name == "出发点" and plan.days[-1].end_name == "出发点"
    assert [d.night for d in plan.days[:-1]] == [n["place"] for n in plan.params["nights"]]
    assert all(d.night in ("甲镇", "乙镇") for d in plan.days[:-1])
    for a, b in zip(plan.days[:-1], plan.days[1:]):  # each day starts where the last one ended
        assert b.start_name == a.end_name and b.track[0][0] == pytest.approx(a.track[-1][-1])
    assert sorted(plan.visited + list(plan.deferred["position"])) == list(range(len(t)))


def test_field_package_carries_boundaries_nights_and_short_names(tmp_path):
    import zipfile

    t, start, lodging, context = _far_case()
    plan = plan_route(t, start, days=3, lodging=lodging)
    write_field_package(t, plan, tmp_path, title="测试", context=context)
    kml = (tmp_path / "route.kml").read_text(encoding="utf-8")
    with zipfile.ZipFile(tmp_path / "route.kmz") as z:
        assert z.namelist()[0] == "doc.kml" and z.read("doc.kml").decode("utf-8") == kml
    root = ET.fromstring(kml.encode("utf-8"))
    ns = {"k": "http://www.opengis.net/kml/2.2"}
    folders = {f.find("k:name", ns).text: f for f in root.iter("{http://www.opengis.net/kml/2.2}Folder")}
    assert {"生态保护红线", "自然保护地", "目标图斑", "住宿"} <= set(folders)
    red = folders["生态保护红线"].findall(".//k:Polygon", ns)
    assert len(red) == 1  # the far-away red line is clipped away: only the patrol area's
    assert len(folders["目标图斑"].findall(".//k:Polygon", ns)) == len(t)
    zone_styles = {p.find("k:styleUrl", ns).text for p in folders["自然保护地"].findall("k:Placemark", ns)}
    assert len(zone_styles) == 2  # core and buffer zones styled apart
    assert "<PolyStyle><color>" in kml
    g = gpxpy.parse((tmp_path / "route.gpx").read_text(encoding="utf-8"))
    names = [w.name for w in g.waypoints]
    assert any(re_match(r"^D\d-\d\d 红线内植被损失 \d+\.\d+公顷$", n) for n in names), names[:5]
    assert all(len(w.description) <= 60 for w in g.waypoints)
    assert any(n.startswith("住宿 第1晚 ") for n in names)
    summary = json.loads((tmp_path / "patrol.json").read_text(encoding="utf-8"))
    assert summary["nights"] and summary["days"][0]["night"] == summary["nights"][0]["place"]
    html = (tmp_path / "checklist.html").read_text(encoding="utf-8")
    assert "当晚住宿：" in html and "住宿：第1晚" in html
    page = (tmp_path / "patrol.html").read_text(encoding="utf-8")
    assert "第1晚住宿" in page and "networkx" not in page
    wb = openpyxl.load_workbook(tmp_path / "checklist.xlsx")
    ws = wb["巡查清单"]
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows in ("1:1", "$1:$1")
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth == 1
    assert any(dv.type == "date" for dv in ws.data_validations.dataValidation)


def re_match(pattern: str, s: str) -> bool:
    import re

    return re.match(pattern, s) is not None


def test_checklist_prints_at_most_one_page_per_four_stops(tmp_path):
    import subprocess

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium or not shutil.which("pdfinfo"):
        pytest.skip("chromium / poppler not installed")
    t, start, lodging, context = _far_case()
    plan = plan_route(t, start, days=3, lodging=lodging)
    write_field_package(t, plan, tmp_path, title="测试", context=context)
    pdf = tmp_path / "cl.pdf"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
                    f"--print-to-pdf={pdf}", (tmp_path / "checklist.html").as_uri()], capture_output=True,
                   timeout=120, check=False)
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
    pages = int(next(line.split()[-1] for line in info.splitlines() if line.startswith("Pages")))
    assert pages <= math.ceil(len(plan.visited) / 4), (pages, len(plan.visited))


def _context_folder_per_feature(g, label, sid):
    """The boundary folder as kml_text wrote it before: placemark() per record (the reference)."""
    from ecogis.export import kml
    from ecogis.patrol.fieldpkg import ZONE_FILLS

    zones = list(ZONE_FILLS)
    marks = []
    for r, geom in zip(g.drop(columns=g.geometry.name).to_dict("records"), g.geometry.to_numpy()):
        nm = " ".join(str(r[c]) for c in ("name", "zone", "grade") if r.get(c) not in (None, "") and
                      str(r.get(c)) != "nan") or label
        zsid = f"z{zones.index(r['zone'])}" if r.get("zone") in ZONE_FILLS else sid
        marks.append(kml.placemark(nm, geom, style_id=zsid, description=label))
    return kml.folder(label, marks)


def test_field_package_boundaries_and_patches_are_the_per_feature_kml():
    # many zone polygons with hostile, missing and numeric attributes: the folders equal placemark() per feature
    import pandas as pd

    from ecogis.export import kml
    from ecogis.patrol.fieldpkg import BOUNDARY_STYLES, checklist_frames, clip_for_phone, kml_text, patrol_area

    t, start, lodging, context = _far_case()
    t.loc[3, "name"] = "<script>alert(1)</script> & '); DROP TABLE x; --"
    t.loc[4, "name"] = None
    t.loc[5, "target_id"] = "T\t05\n"
    plan = plan_route(t, start, days=3, lodging=lodging)
    x0, y0 = t.total_bounds[:2]
    n = 400
    xs = x0 + (np.arange(n) % 20) * 0.02
    ys = y0 + (np.arange(n) // 20) * 0.02
    hostile = ["某保护区", None, np.nan, "nan", "", "<b>区</b> & 'x'", "a\tb\nc\\d", "x" * 5000, "名称 🌿"]
    zones = ["核心区", "缓冲区", "实验区", None, "未知区", np.nan, "一级保护区"]
    pa_ = gpd.GeoDataFrame({"name": [hostile[i % len(hostile)] for i in range(n)],
                            "zone": [zones[i % len(zones)] for i in range(n)],
                            "grade": np.where(np.arange(n) % 3 == 0, np.nan, np.arange(n) % 4)},
                           geometry=shapely.box(xs, ys, xs + 0.015, ys + 0.015), crs=4490)
    bare = gpd.GeoDataFrame(geometry=shapely.box(xs[:50], ys[:50], xs[:50] + 0.01, ys[:50] + 0.01), crs=4490)
    context = context + [("自然保护地", pa_), ("饮用水水源保护区", bare)]
    stops, deferred = checklist_frames(t, plan)
    text = kml_text(stops, deferred, plan, context=context, targets=t)
    area = patrol_area(stops, deferred, plan)
    blabels = list(BOUNDARY_STYLES)
    for label, gdf in context:
        sid = f"b{blabels.index(label)}" if label in blabels else "b0"
        want = _context_folder_per_feature(clip_for_phone(gdf, area), label, sid)
        assert want in text, label
    lab = dict(zip(stops["_pos"], stops["label"]))
    dims = shapely.get_dimensions(t.geometry.to_numpy())
    marks = [kml.placemark(lab.get(i, str(t["target_id"].iloc[i])), t.geometry.iloc[i], style_id="b3",
                           description=str(t["name"].iloc[i])) for i in np.flatnonzero(dims == 2)]
    assert kml.folder("目标图斑", marks) in text
    assert "&lt;script&gt;" in text and "<script>" not in text
    ET.fromstring(text.encode("utf-8"))  # well-formed
    assert pd.isna(t.loc[4, "name"])
