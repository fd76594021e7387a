"""Coverage extents recorded at import, and what screening makes of them; conditions, questions, provisional."""

from __future__ import annotations

import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

import ecogis
from ecogis.cli import main
from ecogis.errors import InputError
from ecogis.layers import import_layer
from ecogis.rules import load_rules
from ecogis.workspace import open_workspace

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"


@pytest.fixture(scope="module")
def xlh_files(tmp_path_factory):
    """Admin, red line and wetland of the Xilinhot sample as separate files."""
    d = tmp_path_factory.mktemp("xlh")
    ws = open_workspace(SAMPLE / "xilinhot.gpkg")
    out = {}
    for kind in ("admin", "redline", "wetland"):
        p = d / f"{kind}.geojson"
        ws.read(kind).drop(columns=["fid"]).to_file(p, driver="GeoJSON")
        out[kind] = p
    admin = ws.read("admin")
    minx, miny, maxx, maxy = admin.total_bounds
    west = gpd.GeoDataFrame(geometry=[shapely.box(minx, miny, 0.5 * (minx + maxx), maxy)], crs=4490)
    out["west"] = d / "west.geojson"
    west.to_file(out["west"], driver="GeoJSON")
    return out


def test_import_records_coverage_default_admin_and_says_so(tmp_path, xlh_files):
    ws_path = tmp_path / "ws.gpkg"
    info, notes = import_layer(xlh_files["redline"], "redline", ws_path, version="t")
    assert info.coverage_basis.startswith("convex hull")
    assert any("convex hull" in n.message for n in notes)
    import_layer(xlh_files["admin"], "admin", ws_path, version="t")
    info, notes = import_layer(xlh_files["wetland"], "wetland", ws_path, version="t")
    assert info.coverage_basis == "admin boundary"
    assert any("admin boundary" in n.message and "--coverage" in n.message for n in notes)
    ws = open_workspace(ws_path)
    got = {li.kind: li for li in ws.layers()}
    admin = shapely.union_all(ws.read("admin").geometry.values)
    cov = shapely.from_wkb(bytes.fromhex(got["wetland"].coverage))
    assert abs(shapely.area(cov) - shapely.area(admin)) < 1e-9
    assert got["wetland"].as_dict()["coverage_bounds"] is not None and "coverage" not in got["wetland"].as_dict()


def test_import_coverage_file_and_admin(tmp_path, xlh_files):
    ws_path = tmp_path / "ws.gpkg"
    with pytest.raises(InputError, match="admin layer"):
        import_layer(xlh_files["redline"], "redline", ws_path, version="t", coverage="admin")
    import_layer(xlh_files["admin"], "admin", ws_path, version="t")
    info, _ = import_layer(xlh_files["redline"], "redline", ws_path, version="t", coverage=xlh_files["west"])
    assert info.coverage_basis == "--coverage west.geojson"
    info, _ = import_layer(xlh_files["wetland"], "wetland", ws_path, version="t", coverage="admin")
    assert info.coverage_basis == "admin boundary"
    # appending unions the coverage
    info2, _ = import_layer(xlh_files["wetland"], "wetland", ws_path, version="t2", coverage=xlh_files["west"])
    ws = open_workspace(ws_path)
    assert ws.info("wetland").mode == "append" and ws.info("wetland").coverage


def test_cli_import_coverage_flag(tmp_path, xlh_files, capsys):
    ws = tmp_path / "ws.gpkg"
    assert main(["layers", "import", str(xlh_files["admin"]), "--kind", "admin", "--workspace", str(ws)]) == 0
    assert main(["layers", "import", str(xlh_files["redline"]), "--kind", "redline", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "admin boundary" in out
    assert main(["layers", "import", str(xlh_files["wetland"]), "--kind", "wetland", "--workspace", str(ws),
                 "--coverage", str(xlh_files["west"])]) == 0
    assert open_workspace(ws).info("wetland").coverage_basis.startswith("--coverage")


def test_partial_coverage_makes_sites_incomplete(tmp_path, xlh_files):
    """A red line delivered for the west half only: a site in the east is not clear, and says why."""
    ws_path = tmp_path / "ws.gpkg"
    import_layer(xlh_files["admin"], "admin", ws_path, version="t")
    import_layer(xlh_files["redline"], "redline", ws_path, version="t", coverage=xlh_files["west"])
    admin = open_workspace(ws_path).read("admin")
    minx, miny, maxx, maxy = admin.total_bounds
    red = shapely.union_all(open_workspace(ws_path).read("redline").geometry.values)
    whole = shapely.union_all(admin.geometry.values)
    east = None
    for fx in np.linspace(0.6, 0.95, 8):
        for fy in np.linspace(0.05, 0.95, 10):
            x, y = minx + fx * (maxx - minx), miny + fy * (maxy - miny)
            g = shapely.box(x, y, x + 0.003, y + 0.003)
            if shapely.within(g, whole) and not shapely.intersects(g, red):
                east = g
                break
        if east is not None:
            break
    assert east is not None
    sites = gpd.GeoDataFrame([{"site_id": "E1", "name": "东部新建煤矿", "industry": "B0610", "nature": "新建",
                               "activity": "none", "geometry": east}], geometry="geometry", crs=4490)
    rules = load_rules([REPO / "rules" / "national" / "redline_142.yaml"])
    res = ecogis.screen(sites, ws_path, rules, progress=False)
    row = res.sites.iloc[0]
    assert row["verdict"] == "incomplete"
    assert "RL-142-MINING" in row["incomplete_rules"] and "redline（100.0%在图层覆盖范围外）" in row["incomplete_layers"]
    assert "redline" not in row["checked_layers"]
    assert res.meta["layer_coverage"]["redline"]["basis"] == "--coverage west.geojson"


def test_old_workspace_without_coverage_columns_reads_and_notes(tmp_path):
    res = ecogis.screen(SAMPLE / "sites" / "xilinhot.geojson", SAMPLE / "xilinhot.gpkg", progress=False)
    assert any(n.code == "coverage" and "admin boundary" in n.message for n in res.notes)


# ----------------------------------------------------------------------------- PostGIS
@pytest.fixture
def pg_url():
    url = os.environ.get("ECOGIS_TEST_PG")
    if not url:
        pytest.skip("ECOGIS_TEST_PG not set (eval \"$(scripts/ci_postgis.sh)\")")
    return url


def test_postgis_stores_coverage(pg_url, xlh_files):
    import uuid

    import psycopg

    schema = "t_cov_" + uuid.uuid4().hex[:8]
    with psycopg.connect(pg_url, autocommit=True) as con:
        con.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in pg_url else "?"
    url = f"{pg_url}{sep}options=-csearch_path%3D{schema},public"
    try:
        ws = open_workspace(url, create=True)
        import_layer(xlh_files["admin"], "admin", ws, version="t")
        info, _ = import_layer(xlh_files["redline"], "redline", ws, version="t", coverage=xlh_files["west"])
        ws2 = open_workspace(url)
        got = ws2.info("redline")
        assert got.coverage_basis == "--coverage west.geojson" and got.coverage
        assert ws2.count("redline") == info.feature_count
        assert set(ws2.distinct("redline", "name"))
        from ecogis.layers import declare_empty

        declare_empty("sand_closure", ws2)
        ws2.refresh()
        assert ws2.info("sand_closure").mode == "empty" and ws2.count("sand_closure") == 0
        assert ws2.info("sand_closure").coverage
        ws2.close()
        ws.close()
    finally:
        with psycopg.connect(pg_url, autocommit=True) as con:
            con.execute(f"DROP SCHEMA {schema} CASCADE")


# ----------------------------------------------------------------------------- conditions
@pytest.fixture(scope="module")
def xlh_rules():
    from ecogis.notes import Notes
    from ecogis.screening.engine import _local_for_workspace

    return _local_for_workspace(load_rules(None, check_cases=False), open_workspace(SAMPLE / "xilinhot.gpkg"), Notes())


def _site_in(kind: str, where: dict, **attrs) -> gpd.GeoDataFrame:
    feats = open_workspace(SAMPLE / "xilinhot.gpkg").read(kind)
    for k, v in where.items():
        feats = feats[feats[k] == v]
    g = shapely.buffer(shapely.point_on_surface(feats.geometry.values[0]), 0.0008)
    rec = {"site_id": "S1", "name": "测试项目", "activity": "none", **attrs, "geometry": g}
    return gpd.GeoDataFrame([rec], geometry="geometry", crs=4490)


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_unknown_wetland_level_is_worst_case_with_condition(tmp_path, xlh_rules, lang):
    import shutil

    import pyogrio

    path = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE / "xilinhot.gpkg", path)
    wl = pyogrio.read_dataframe(path, layer="wetland")
    site = _site_in("wetland", {}, industry="C2614", nature="新建")
    wl["level"] = None
    pyogrio.write_dataframe(wl, path, layer="wetland", driver="GPKG")
    res = ecogis.screen(site, path, xlh_rules, progress=False, lang=lang)
    f = res.findings.set_index("rule_id")
    assert "WL-19-NATIONAL" in f.index
    nat = f.loc[["WL-19-NATIONAL"]].iloc[0]
    assert nat["certainty"] == "conditional"
    if lang == "zh":
        assert "湿地级别未知：若为国家重要湿地，则禁止" in nat["condition"]
        assert nat["message"].startswith("【有条件】")
    else:
        assert "Wetland level unknown: prohibited if it is" in nat["condition"]
    assert res.sites["verdict"].iloc[0] != "clear"


def test_no_industry_code_is_provisional_and_conditional(xlh_rules):
    site = _site_in("redline", {}, industry=None, nature="新建")
    res = ecogis.screen(site, SAMPLE / "xilinhot.gpkg", xlh_rules, progress=False)
    row = res.sites.iloc[0]
    assert bool(row["provisional"]) and "待定（缺行业代码）" in row["verdict_text"]
    f = res.findings
    gated = f[f["rule_id"] == "RL-142-MINING"]
    assert len(gated) and (gated["certainty"] == "provisional").all()
    assert gated["condition"].str.startswith("缺行业代码：若项目属于").all()
    assert gated["message"].str.startswith("【待定】").all()
    # a rule about every project stays a finding of fact
    dev = f[f["rule_id"] == "RL-142-DEVELOPMENT"]
    assert not len(dev) or (dev["certainty"] != "conditional").all()
    res_en = ecogis.screen(site, SAMPLE / "xilinhot.gpkg", xlh_rules, progress=False, lang="en")
    assert "(provisional: no industry code)" in res_en.sites["verdict_text"].iloc[0]


def test_declared_absent_activity_removes_the_question(xlh_rules):
    site = _site_in("water_source", {"grade": "二级保护区"}, industry="C1441", nature="新建", activity="")
    res = ecogis.screen(site, SAMPLE / "xilinhot.gpkg", xlh_rules, progress=False)
    q = res.findings[res.findings["rule_id"] == "WS-64-OUTFALL"]
    assert len(q) and q["question"].str.contains("排污口").all()
    site["activity"] = "no:sewage_outfall"
    res = ecogis.screen(site, SAMPLE / "xilinhot.gpkg", xlh_rules, progress=False)
    assert not (res.findings["rule_id"] == "WS-64-OUTFALL").any()
    site["activity"] = "sewage_outfall"
    res = ecogis.screen(site, SAMPLE / "xilinhot.gpkg", xlh_rules, progress=False)
    fact = res.findings[res.findings["rule_id"] == "WS-64-OUTFALL"]
    assert len(fact) and (fact["certainty"] == "fact").all() and (fact["question"] == "").all()
    site["activity"] = "sewage_outfall;no:sewage_outfall"
    with pytest.raises(InputError, match="both declared"):
        ecogis.screen(site, SAMPLE / "xilinhot.gpkg", xlh_rules, progress=False)


def test_allowance_tags_are_not_asked(xlh_rules):
    from ecogis.rules.match import question_tags

    q = question_tags(list(xlh_rules))
    assert "sewage_outfall" in q and "groundwater_abstraction" in q and "blasting" in q
    assert not any(t.startswith("rl142_") for t in q) and "no_pollutant_discharge" not in q


# ----------------------------------------------------------------------------- 17 rules: applicability negatives
#: Rules whose own no_trigger cases differed from a trigger case by place only (audit §4): a project the rule is
#: not about, at the place that triggers it.  (rule, project, feature, place)
NOT_ABOUT = [
    ("ARX-HEAVY-METAL-WATER-SOURCE", {"industry": "C1441", "nature": "新建"}, {}, "near:500"),
    ("ARX-SHORELINE", {"industry": "A0141", "nature": "新建"}, {}, "inside"),
    ("GH-UDB-OUTSIDE", {"industry": "E4710", "nature": "改建"}, {}, "far"),
    ("GH-UDB-OUTSIDE", {"industry": "B0610", "nature": "新建"}, {}, "far"),
    ("GH-TAILINGS", {"industry": "B0912", "nature": "新建", "activity": "waste_dump;no:tailings_pond"}, {"adcode": "150785"}, "inside"),
    ("MZL-GRASS-EXISTING", {"industry": "B0610", "nature": "新建"}, {}, "inside"),
    ("MZL-GRASS-EXISTING", {"industry": "C2011", "nature": "改建"}, {}, "inside"),
    ("MZL-GRASS-NEW-ENERGY", {"industry": "D4416", "nature": "改建"}, {}, "inside"),
    ("MZL-SOLID-WASTE-PIT", {"industry": "N7724", "nature": "新建", "activity": "none"}, {"feature": "采场"}, "inside"),
    ("MZL-HEAVY-METAL-RIVER", {"industry": "B0610", "nature": "新建"}, {}, "near:100"),
    ("MZL-HEAVY-METAL-FARMLAND", {"industry": "C2614", "nature": "新建"}, {}, "near:100"),
    ("XLH-GRASS-AFFORESTATION", {"industry": "A0190", "nature": "新建", "activity": "none"}, {}, "inside"),
    ("XLH-RIVER-SHORELINE", {"industry": "N7810", "nature": "新建"}, {}, "inside"),
    ("XLH-NO-BURN", {"industry": "D4430", "nature": "新建", "activity": "no:high_pollution_fuel"}, {}, "inside"),
    ("MS-ROAD-TOWNSHIP", {"industry": "E4812", "nature": "新建", "activity": "none"}, {"level": "乡道"}, "near:10"),
    ("MS-RAILWAY", {"industry": "C2011", "nature": "新建", "activity": "none"}, {}, "near:10"),
    ("MS-RIVER", {"industry": "C2011", "nature": "新建"}, {}, "near:10"),
    ("PAS-GENERAL", {"industry": "B0610", "nature": "新建"}, {"zone": "核心保护区"}, "inside"),
    ("WL-19-GENERAL", {"industry": "C2011", "nature": "新建"}, {"level": "国家重要湿地"}, "inside"),
]


@pytest.fixture(scope="module")
def bundled():
    return load_rules(None, check_cases=False)


@pytest.mark.parametrize("rule_id,project,feature,place", NOT_ABOUT, ids=[f"{r[0]}-{i}" for i, r in enumerate(NOT_ABOUT)])
def test_rules_do_not_apply_to_projects_they_are_not_about(bundled, rule_id, project, feature, place):
    import pandas as pd

    from ecogis.rules.match import applicability, question_tags, where_masks
    from ecogis.rules.model import Case

    rule = bundled[rule_id]
    out = rule.case_outcome(Case(project=project, feature=feature, place=place, expect="no_trigger"))
    assert not out["trigger"], (rule_id, out)
    assert rule.spatial_expect(place), "the place must be one where the rule's spatial test passes"
    # nor conditionally: no question and no unknown-attribute match either
    m = applicability(rule.applies, pd.DataFrame([project]), question_tags=question_tags(list(bundled)),
                      taxonomy=rule._taxonomy, activities=rule._activities)
    fact, maybe, _ = where_masks(rule.where, pd.DataFrame([feature]) if feature else pd.DataFrame([{"x": 1}]))
    assert not (bool(m.any[0]) and (bool(fact[0]) or bool(maybe[0]))), (rule_id, m, fact, maybe)


def test_declare_empty_layer_counts_as_evaluated(tmp_path, capsys):
    """Genhe has no sand-closure zones: declared empty, its sites can be clear; an undeclared empty table cannot."""
    import shutil

    path = tmp_path / "genhe.gpkg"
    shutil.copy(SAMPLE / "genhe.gpkg", path)
    sites = gpd.read_file(SAMPLE / "sites" / "genhe.geojson")
    sites["activity"] = (sites["activity"].fillna("").astype(str) + ";none").str.strip(";")
    # national rules only: the Genhe plan's own rules (GH-CU-KEY, GH-SHORELINE) flag the otherwise clean sites
    from ecogis import settings

    national = settings.rules_dir / "national"
    before = ecogis.screen(sites, path, national, progress=False)
    assert (before.sites["incomplete_layers"].str.contains("sand_closure（图层缺失）")).all()
    was_incomplete = (before.sites["verdict"] == "incomplete").to_numpy()
    assert was_incomplete.any()
    assert main(["layers", "declare-empty", "--kind", "sand_closure", "--workspace", str(path)]) == 0
    assert "no features" in capsys.readouterr().out
    ws = open_workspace(path)
    assert ws.info("sand_closure").mode == "empty" and ws.count("sand_closure") == 0
    after = ecogis.screen(sites, path, national, progress=False)
    assert (after.sites["verdict"].to_numpy()[was_incomplete] == "clear").all()
    assert not after.sites["incomplete_layers"].str.contains("sand_closure（").any() or \
        (after.sites.loc[after.sites["incomplete_layers"].str.contains("sand_closure"), "coverage"] != "full").all()
    # an empty layer without a declaration is refused on import
    with pytest.raises(Exception, match="empty layer"):
        ws.write("railway", ws.read("railway").iloc[0:0], source="x", version="x")
