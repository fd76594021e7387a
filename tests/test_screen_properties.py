"""Property tests of the screening engine (hypothesis).

- an overlap never exceeds the site's area;
- the overlaps with control units that tile the area sum to the site's area (0.01 %);
- results do not depend on the CRS the site is given in (EPSG:4490, Gauss-Krüger
  zone with prefix, without prefix).
"""

from __future__ import annotations


import geopandas as gpd
import numpy as np
import pytest
import shapely
from hypothesis import HealthCheck, Phase, given, settings as hsettings, strategies as st

import ecogis
from ecogis.rules import load_rules
from ecogis.workspace import open_workspace

def _rule_file(title: str, *rules: dict[str, str]) -> str:
    """A rule file of test rules: each given as id, layer, test, titles and messages, with one trigger case."""
    out = [f"title: {title}", "document: test", 'version: "1"', "scope: national", "rules:"]
    for r in rules:
        out += [f"  - id: {r['id']}", f"    title_zh: {r['title_zh']}", f"    title_en: {r['title_en']}",
                f"    layer: {r['layer']}", "    where: null", f"    test: {r['test']}", "    severity: notice",
                "    basis: 测试", f"    message_zh: \"{r['message_zh']}\"", f"    message_en: \"{r['message_en']}\"",
                "    next_steps_zh: [无]", "    next_steps_en: [none]", "    cases:",
                f"      - {{project: {{industry: B0610}}, place: {r['place']}, expect: trigger}}",
                "      - {project: {industry: B0610}, place: far, expect: no_trigger}"]
    return "\n".join(out) + "\n"


OVERLAP_MESSAGE = {"message_zh": "{site_name} 与 {feature_name} 重叠 {overlap_ha} 公顷",
                   "message_en": "{site_name} overlaps {feature_name} by {overlap_ha} ha"}
UNIT_RULE = _rule_file("测试：管控单元重叠", dict(
    id="TEST-UNIT", title_zh="与管控单元重叠", title_en="Overlaps a control unit", layer="control_unit",
    test="intersects", place="overlap", **OVERLAP_MESSAGE))


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A workspace whose control units tile 116–117°E × 44–45°N in an irregular 4 × 4 grid, plus red lines."""
    path = tmp_path_factory.mktemp("ws") / "ws.gpkg"
    ws = open_workspace(path, create=True)
    xs = [116.0, 116.21, 116.5, 116.77, 117.0]
    ys = [44.0, 44.3, 44.45, 44.8, 45.0]
    cells, codes, classes = [], [], []
    k = 0
    for i in range(4):
        for j in range(4):
            k += 1
            # skew the inner edges so the tiles are not axis-aligned
            poly = shapely.Polygon([(xs[i], ys[j]), (xs[i + 1], ys[j]), (xs[i + 1], ys[j + 1]), (xs[i], ys[j + 1])])
            cells.append(poly)
            cls = ("优先保护", "重点管控", "一般管控")[k % 3]
            classes.append(cls)
            codes.append(f"ZH152502{('优先保护', '重点管控', '一般管控').index(cls) + 1}{k:02d}")
    ws.write("admin", gpd.GeoDataFrame({"name": ["测试"], "adcode": ["152502"]},
                                       geometry=[shapely.box(116, 44, 117, 45)], crs=4490), source="t", version="t")
    ws.write("control_unit", gpd.GeoDataFrame({"name": [f"单元{c}" for c in codes], "code": codes, "class": classes},
                                              geometry=cells, crs=4490), source="t", version="t")
    red = [shapely.Point(116.3, 44.4).buffer(0.08, 32), shapely.box(116.6, 44.6, 116.9, 44.7)]
    ws.write("redline", gpd.GeoDataFrame({"name": ["红线1", "红线2"]}, geometry=red, crs=4490), source="t", version="t")
    return ws


@pytest.fixture(scope="module")
def unit_rules(tmp_path_factory):
    p = tmp_path_factory.mktemp("rules") / "unit.yaml"
    p.write_text(UNIT_RULE, encoding="utf-8")
    return load_rules([p])


@pytest.fixture(scope="module")
def national():
    return load_rules(None, check_cases=False).select(scope="national")


def site_strategy():
    return st.tuples(
        st.floats(116.08, 116.92), st.floats(44.08, 44.92),       # centre: sites stay inside the tiled area
        st.floats(0.001, 0.05), st.floats(0.001, 0.05),             # half sizes (deg)
        st.floats(0, 3.1),                                          # rotation
    ).map(lambda t: shapely.affinity.rotate(
        shapely.box(t[0] - t[2], t[1] - t[3], t[0] + t[2], t[1] + t[3]), t[4], use_radians=True))


def _sites(geoms):
    return gpd.GeoDataFrame({"site_id": [f"S{i}" for i in range(len(geoms))], "name": "site",
                             "industry": "B0610", "nature": "新建"}, geometry=list(geoms), crs=4490)


import shapely.affinity  # noqa: E402


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
            phases=[Phase.explicit, Phase.reuse, Phase.generate], derandomize=True)
@given(st.lists(site_strategy(), min_size=1, max_size=6))
def test_overlap_never_exceeds_site_area(workspace, national, geoms):
    res = ecogis.screen(_sites(geoms), workspace, national, progress=False)
    if len(res.findings):
        areas = res.sites.set_index("site_id")["area_ha"]
        ov = res.findings.dropna(subset=["overlap_ha"])
        assert (ov["overlap_ha"].to_numpy() <= areas.loc[ov["site_id"]].to_numpy() * (1 + 1e-9) + 1e-9).all()
        assert (ov["overlap_pct"].to_numpy() <= 100 + 1e-6).all()


@hsettings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
            phases=[Phase.explicit, Phase.reuse, Phase.generate], derandomize=True)
@given(st.lists(site_strategy(), min_size=1, max_size=6))
def test_control_unit_overlaps_sum_to_site_area(workspace, unit_rules, geoms):
    res = ecogis.screen(_sites(geoms), workspace, unit_rules, progress=False)
    sums = res.findings.groupby("site_id")["overlap_ha"].sum()
    areas = res.sites.set_index("site_id")["area_ha"]
    for sid, area in areas.items():
        assert sums.get(sid, 0.0) == pytest.approx(area, rel=1e-4), sid


@hsettings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
            phases=[Phase.explicit, Phase.reuse, Phase.generate], derandomize=True)
@given(st.lists(site_strategy(), min_size=1, max_size=4))
def test_results_do_not_depend_on_input_crs(workspace, national, geoms):
    base = _sites(geoms)
    results = []
    for code in (4490, 4527, 4548):  # lon/lat; GK zone 39 with prefix; CM 117°E without prefix
        sites = base.to_crs(code) if code != 4490 else base
        results.append(ecogis.screen(sites, workspace, national, progress=False))
    keys = [sorted(zip(r.findings["site_id"], r.findings["rule_id"], r.findings["feature_name"])) for r in results]
    assert keys[0] == keys[1] == keys[2]
    for r in results[1:]:
        a = results[0].findings.sort_values(["site_id", "rule_id", "feature_name"])["overlap_ha"].to_numpy(float)
        b = r.findings.sort_values(["site_id", "rule_id", "feature_name"])["overlap_ha"].to_numpy(float)
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
        assert list(results[0].sites["verdict"]) == list(r.sites["verdict"])


WITHIN_RULES = _rule_file(
    "测试：红线内/与红线重叠",
    dict(id="TEST-WITHIN", title_zh="全部位于红线内", title_en="Wholly inside a red line", layer="redline",
         test="within", place="inside", message_zh="{site_name} 位于 {feature_name} 内",
         message_en="{site_name} lies inside {feature_name}"),
    dict(id="TEST-TOUCH", title_zh="与红线重叠", title_en="Overlaps a red line", layer="redline", test="intersects",
         place="overlap", **OVERLAP_MESSAGE),
)


def test_a_site_touching_the_red_line_from_inside_is_within_it(workspace, tmp_path):
    """``inside`` is decided by ``contains_properly`` first: a site that shares an edge with the red line from inside
    must still count as within it (``covers``), and its overlap is the whole site."""
    p = tmp_path / "within.yaml"
    p.write_text(WITHIN_RULES, encoding="utf-8")
    rules = load_rules([p])
    # 红线2 is the box 116.6–116.9°E × 44.6–44.7°N
    geoms = [shapely.box(116.70, 44.62, 116.72, 44.64),   # strictly inside
             shapely.box(116.60, 44.62, 116.62, 44.64),   # on the west edge, from inside
             shapely.box(116.88, 44.68, 116.92, 44.72),   # across the north-east corner
             shapely.box(116.95, 44.62, 116.97, 44.64)]   # outside
    res = ecogis.screen(_sites(geoms), workspace, rules, progress=False)
    f = res.findings
    within = set(f.loc[f["rule_id"] == "TEST-WITHIN", "site_id"])
    touch = f[f["rule_id"] == "TEST-TOUCH"].set_index("site_id")
    assert within == {"S0", "S1"}
    assert set(touch.index) == {"S0", "S1", "S2"}
    area = res.sites.set_index("site_id")["area_ha"]
    assert touch.loc["S1", "overlap_ha"] == pytest.approx(area["S1"], rel=1e-9)
    assert touch.loc["S2", "overlap_ha"] < 0.5 * area["S2"]
