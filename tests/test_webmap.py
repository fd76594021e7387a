"""Offline web maps: inlined assets, escaping, GCJ-02 shift, basemaps, size, determinism.

Needs the npm assets installed (``make web-assets``); without them the tests
fail with the install command in the message.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pytest
import shapely

from ecogis.errors import EcogisError, EmptyLayerError, InputError, SpecError
from ecogis.normalise.datum import wgs84_to_gcj02
from ecogis.render import assets, styles, webmap

REPO = Path(__file__).resolve().parent.parent
HOSTILE = "<script>alert(1)</script>"
SITE_BOX = (120.700, 50.770, 120.720, 50.785)  # near Genhe, Inner Mongolia


# --------------------------------------------------------------------------- fixtures
@pytest.fixture(autouse=True)
def _no_tianditu_env(monkeypatch):
    monkeypatch.delenv("ECOGIS_TIANDITU_KEY", raising=False)


@pytest.fixture
def site():
    return gpd.GeoDataFrame({"site_id": ["S1"], "name": ["光伏项目 " + HOSTILE]},
                            geometry=[shapely.box(*SITE_BOX)], crs=4490)


@pytest.fixture
def context():
    red = gpd.GeoDataFrame({"name": [HOSTILE], "function": ["水源涵养"]},
                           geometry=[shapely.Point(120.69, 50.78).buffer(0.02, 64)], crs=4490)
    pa = gpd.GeoDataFrame({"name": ["汗马", "汗马"], "zone": ["核心区", "缓冲区"]},
                          geometry=[shapely.box(120.72, 50.76, 120.74, 50.79),
                                    shapely.box(120.74, 50.76, 120.76, 50.79)], crs=4490)
    return {"redline": red, "protected_area": pa}


@pytest.fixture
def findings(site, context):
    ov = shapely.intersection(site.geometry.iloc[0], context["redline"].geometry.iloc[0])
    line = shapely.LineString([(120.720, 50.7775), (120.7235, 50.7775)])
    return gpd.GeoDataFrame({
        "site_id": ["S1", "S1"], "site_name": ["光伏项目", "光伏项目"],
        "rule_id": ["RL-01", "PA-05"], "rule_title": ["生态保护红线内禁止开发性建设", "自然保护区周边提示"],
        "severity": ["prohibited", "notice"], "layer_kind": ["redline", "protected_area"],
        "feature_name": [HOSTILE, "汗马"], "zone": [None, "核心区"],
        "overlap_ha": [12.3456, np.nan], "overlap_mu": [185.18, np.nan], "overlap_pct": [40.1, np.nan],
        "distance_m": [np.nan, 246.0], "basis": ["自然资发〔2022〕142号", "《自然保护区条例》第三十二条"],
        "message": ["与生态保护红线重叠", "距保护区 246 米"], "next_steps": ["开展不可避让论证", None],
    }, geometry=[ov, line], crs=4490)


def _collections(html: str) -> list[dict]:
    """Every GeoJSON FeatureCollection embedded by ecogis in the page."""
    dec = json.JSONDecoder()
    out = []
    for m in re.finditer(r"L\.geoJSON\(", html):
        if html.startswith('{"type":"FeatureCollection"', m.end()):
            out.append(dec.raw_decode(html, m.end())[0])
    return out


def _unescape_js(text: str) -> str:
    """``text`` with JS string escapes (``\\uXXXX``, ``\\"``) decoded, to search for what a browser would see."""
    text = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)
    return text.replace('\\"', '"')


# --------------------------------------------------------------------------- assets
def test_package_json_pins_the_versions_assets_expects():
    pkg = json.loads((REPO / "web" / "package.json").read_text(encoding="utf-8"))
    assert pkg["dependencies"] == assets.PACKAGES
    lock = json.loads((REPO / "web" / "package-lock.json").read_text(encoding="utf-8"))
    for name, version in assets.PACKAGES.items():
        assert lock["packages"][f"node_modules/{name}"]["version"] == version


def test_every_asset_is_installed_and_css_has_no_file_urls():
    assert len(assets.check_assets()) == len(assets.ASSETS)
    for name, asset in assets.ASSETS.items():
        text = assets.read_asset(name)
        assert "sourceMappingURL" not in text
        if asset.kind == "css":
            assert assets.offline_violations(f"<style>{text}</style>") == [], name


def test_missing_asset_names_the_file_and_the_install_command(monkeypatch, tmp_path):
    monkeypatch.setenv("ECOGIS_WEB_ASSETS_DIR", str(tmp_path))
    assert assets.web_assets_dir() == tmp_path
    with pytest.raises(EcogisError) as err:
        assets.read_asset("leaflet_js")
    text = str(err.value)
    assert "leaflet" in text and "dist/leaflet.js" in text and "npm ci" in text


def test_asset_for_url_matches_folium_cdn_links():
    assert assets.asset_for_url("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js") == "leaflet_js"
    assert assets.asset_for_url("https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css") == "leaflet_css"
    assert assets.asset_for_url("https://code.jquery.com/jquery-3.7.1.min.js") == "jquery_js"
    # A different major version of a plugin is not silently swapped for ours.
    assert assets.asset_for_url(
        "https://cdn.jsdelivr.net/npm/leaflet.fullscreen@3.0.0/Control.FullScreen.min.js") is None
    assert assets.asset_for_url("https://cdn.jsdelivr.net/npm/leaflet@2.0.0/dist/leaflet.js") is None


def test_inline_assets_on_a_plain_folium_map_drops_what_is_unused():
    m = folium.Map(location=[50.78, 120.71], tiles=None)
    html = webmap.to_html(m)
    assert assets.offline_violations(html) == []
    assert "bootstrap" not in html.lower() and "awesome" not in html.lower()
    assert "jQuery" not in html  # folium's core page does not use it
    assert "/* leaflet@1.9.4 dist/leaflet.js */" in html and "/* leaflet@1.9.4 dist/leaflet.css */" in html


def test_inline_assets_keeps_jquery_and_marker_icons_when_used():
    m = folium.Map(location=[50.78, 120.71], tiles=None)
    folium.Marker([50.78, 120.71], popup=folium.Popup("x")).add_to(m)  # folium.Popup uses $(...)
    html = webmap.to_html(m)
    assert "/* jquery@3.7.1 dist/jquery.min.js */" in html
    assert "L.Icon.Default.imagePath = ''" in html and '"iconUrl":"data:image/png;base64,' in html


def test_awesome_markers_are_refused():
    m = folium.Map(location=[50.78, 120.71], tiles=None)
    folium.Marker([50.78, 120.71], icon=folium.Icon(color="red")).add_to(m)
    with pytest.raises(EcogisError, match="awesome-markers"):
        webmap.to_html(m)


def test_assert_offline_reports_every_kind_of_fetch():
    ok = ('<html><head><style>a{background:url("data:image/png;base64,AAAA")}</style>'
          '<script>var t = "https://t{s}.tianditu.gov.cn/{z}/{x}/{y}";</script></head></html>')
    assert assets.assert_offline(ok) == ok
    bad = {
        '<script src="https://cdn.example.com/x.js"></script>': "x.js",
        '<link rel="stylesheet" href="//cdn.example.com/x.css"/>': "x.css",
        '<script src="local.js"></script>': "local.js",
        "<style>.a{background:url(images/layers.png)}</style>": "layers.png",
        "<style>@import 'http://h/x.css';</style>": "@import",
        '<img src="http://h/p.png">': "p.png",
    }
    for page, needle in bad.items():
        with pytest.raises(EcogisError, match=re.escape(needle)):
            assets.assert_offline(page)


def test_folium_plugins_with_cdn_files_are_refused():
    m = folium.Map(location=[50.78, 120.71], tiles=None)
    folium.plugins.Fullscreen().add_to(m)
    with pytest.raises(EcogisError, match="leaflet.fullscreen@3.0.0"):
        webmap.to_html(m)


# --------------------------------------------------------------------------- review map
def test_review_map_is_self_contained(site, findings, context):
    html = webmap.to_html(webmap.review_map(site, findings, context))
    assert assets.offline_violations(html) == []
    assert not re.search(r"<script\b[^>]*\bsrc\s*=", html, re.I)
    assert not re.search(r"<link\b[^>]*\bhref\s*=", html, re.I)
    assert not re.search(r"""<(script|link)\b[^>]*https?://""", html, re.I)
    # Leaflet and every plugin inline.
    for asset in ("leaflet@1.9.4 dist/leaflet.js", "leaflet@1.9.4 dist/leaflet.css",
                  "leaflet.fullscreen@5.3.3", "leaflet-measure@3.1.0 dist/leaflet-measure.cn.js",
                  "leaflet-minimap@3.6.1", "leaflet.locatecontrol@0.90.1"):
        assert f"/* {asset}" in html, asset
    assert 't.version="1.9.4"' in html  # the library itself, not a link to it
    for ctor in ("L.control.scale", "new L.Control.FullScreen", "L.control.locate", "L.control.measure",
                 "new L.Control.MiniMap", "L.control.layers", "CGCS2000"):
        assert ctor in html, ctor
    assert '"imperial":false' in html
    # No tiles at all without a basemap.
    assert "L.tileLayer(" not in html.split("</head>", 1)[1]


def test_review_map_escapes_hostile_text(site, findings, context):
    html = webmap.to_html(webmap.review_map(site, findings, context))
    assert HOSTILE not in html
    assert HOSTILE not in _unescape_js(html)  # not even once the JS strings are decoded
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    popups = [f["properties"].get("p", "") for fc in _collections(html) for f in fc["features"]]
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in p for p in popups)
    assert not any("<script" in p for p in popups)


def test_review_map_popups_and_groups(site, findings, context):
    m = webmap.review_map(site, findings, context, lang="zh")
    html = webmap.to_html(m)
    popups = [f["properties"].get("p", "") for fc in _collections(html) for f in fc["features"]]
    red = next(p for p in popups if "RL-01" in p)
    assert "禁止" in red and "12.3456 公顷" in red and "185.18 亩" in red and "40.10 %" in red
    assert "自然资发〔2022〕142号" in red and "开展不可避让论证" in red
    notice = next(p for p in popups if "PA-05" in p)
    assert "246.0 米" in notice and "重叠面积" not in notice  # blanks are left out
    layer_names = [c.layer_name for c in m._children.values() if isinstance(c, folium.map.Layer)]
    assert layer_names == ["生态保护红线", "自然保护地", "冲突区域 · 禁止 (1)", "冲突区域 · 提示 (1)", "项目用地"]
    # Severity colours: the prohibited group is red, the notice group blue.
    assert styles.SEVERITY["prohibited"].fill in html and styles.SEVERITY["notice"].fill in html
    assert "图例" in html


def test_review_map_without_findings_says_so(site):
    html = webmap.to_html(webmap.review_map(site, None))
    assert "未发现与所选图层的冲突" in html
    with pytest.raises(EmptyLayerError):
        webmap.review_map(site.iloc[:0], None)


def test_review_map_is_deterministic(site, findings, context):
    a = webmap.to_html(webmap.review_map(site, findings, context))
    m = webmap.review_map(site, findings, context)
    b = webmap.to_html(m)
    assert a == b
    assert webmap.to_html(m) == b  # rendering again changes nothing
    shown = webmap.review_map(site, findings, context)
    shown._repr_html_()  # a notebook display renders with folium's random names first
    assert webmap.to_html(shown) == b
    assert len(re.findall(r'class="folium-map"', b)) == 1


def test_context_is_clipped_around_the_sites(site):
    far = gpd.GeoDataFrame({"name": ["far", "big"]},
                           geometry=[shapely.box(100, 30, 100.1, 30.1), shapely.box(110, 40, 130, 55)], crs=4490)
    html = webmap.to_html(webmap.review_map(site, None, {"redline": far}))
    feats = [f for fc in _collections(html) for f in fc["features"] if "big" in f["properties"].get("t", "")]
    assert len(feats) == 1 and "far" not in html.split("</head>", 1)[1].replace("farmland", "")
    xs = [c[0] for c in feats[0]["geometry"]["coordinates"][0]]
    assert max(xs) - min(xs) < 1.0  # clipped to a few times the view, not 20 degrees wide


# --------------------------------------------------------------------------- basemaps and GCJ-02
def test_amap_shifts_every_layer_to_gcj02_and_says_so(site):
    assert webmap.needs_gcj02("amap") and not webmap.needs_gcj02("tianditu") and not webmap.needs_gcj02("none")
    pt = gpd.GeoDataFrame({"name": ["p"]}, geometry=[shapely.Point(120.71, 50.7775)], crs=4490)
    coords = {}
    for bm in ("none", "amap"):
        m = webmap.base_map(SITE_BOX, basemap=bm)
        webmap.add_layer(m, pt, name="pt", tooltip="name", precision=6)
        html = webmap.to_html(m)
        fc = next(fc for fc in _collections(html) if fc["features"] and fc["features"][0]["properties"].get("t") == "p")
        coords[bm] = fc["features"][0]["geometry"]["coordinates"]
        if bm == "amap":
            assert "GCJ-02" in html and "偏移至 GCJ-02" in html
            assert "ecogisDatum.toGcj" in html  # the locate-me dot is shifted too
    assert coords["none"] == pytest.approx([120.71, 50.7775], abs=1e-6)
    gx, gy = wgs84_to_gcj02(120.71, 50.7775)
    assert coords["amap"] == pytest.approx([float(gx), float(gy)], abs=1.5e-6)
    dx_m = (coords["amap"][0] - 120.71) * 111_320 * np.cos(np.radians(50.7775))
    dy_m = (coords["amap"][1] - 50.7775) * 111_320
    assert 100 < np.hypot(dx_m, dy_m) < 1000  # hundreds of metres


def test_tianditu_needs_a_key():
    with pytest.raises(SpecError, match="Tianditu key"):
        webmap.base_map(SITE_BOX, basemap="tianditu")
    with pytest.raises(SpecError):
        webmap.base_map(SITE_BOX, basemap="tianditu", tianditu_key="abc'def;alert(1)")
    m = webmap.base_map(SITE_BOX, basemap="tianditu", tianditu_key="0123456789abcdef0123456789abcdef")
    html = webmap.to_html(m)  # tile URLs live in JS strings: allowed for a chosen basemap
    assert "tianditu.gov.cn/DataServer?T=vec_w" in html and "T=cva_w" in html and "T=img_w" in html
    assert "tk=0123456789abcdef0123456789abcdef" in html
    assert "偏移" not in html  # Tianditu is aligned with CGCS2000: no shift note


def test_tianditu_key_from_environment(monkeypatch):
    monkeypatch.setenv("ECOGIS_TIANDITU_KEY", "fedcba9876543210fedcba9876543210")
    html = webmap.to_html(webmap.base_map(SITE_BOX, basemap="tianditu_img"))
    assert html.index("T=img_w") < html.index("T=vec_w")  # imagery first


def test_bad_basemap_language_and_bounds():
    with pytest.raises(SpecError, match="basemap"):
        webmap.base_map(SITE_BOX, basemap="google")
    with pytest.raises(SpecError):
        webmap.base_map(SITE_BOX, lang="fr")
    with pytest.raises(InputError):
        webmap.base_map((500000, 5600000, 510000, 5610000))
    with pytest.raises(InputError):
        webmap.base_map((121, 50, 120, 51))


# --------------------------------------------------------------------------- add_layer, legend
def test_simplification_keeps_the_page_small():
    # A 1 km circle with 100 000 vertices (~9 cm apart).
    ring = shapely.Point(120.71, 50.7775).buffer(0.012, quad_segs=25_000)
    gdf = gpd.GeoDataFrame({"name": ["detailed"]}, geometry=[ring], crs=4490)
    sizes = {}
    for tol in (None, 5.0):
        m = webmap.base_map(SITE_BOX)
        webmap.add_layer(m, gdf, name="d", simplify_m=tol)
        sizes[tol] = len(webmap.to_html(m))
    base = len(webmap.to_html(webmap.base_map(SITE_BOX)))
    assert sizes[None] - base > 1_000_000
    assert sizes[5.0] - base < 20_000
    assert base < 400_000  # Leaflet + plugins + images stay modest


def test_coverage_simplification_keeps_shared_edges():
    t = np.linspace(0, np.pi, 2000)
    wiggle = [(120.70 + 0.02 * x / np.pi, 50.78 + 0.0005 * np.sin(40 * x)) for x in t]
    south = shapely.Polygon([(120.70, 50.77)] + wiggle + [(120.72, 50.77)])
    north = shapely.Polygon([(120.70, 50.79)] + wiggle + [(120.72, 50.79)])
    geoms = np.array([south, north], dtype=object)
    assert shapely.coverage_is_valid(geoms)
    out = webmap._simplify(geoms, 20.0)
    assert shapely.get_num_coordinates(out).sum() < shapely.get_num_coordinates(geoms).sum() / 4
    assert shapely.coverage_is_valid(out)  # no gap, no overlap between the two


def test_add_layer_styles_popups_and_escaping():
    gdf = gpd.GeoDataFrame({"class": ["优先保护", "重点管控", "其他类"], "name": ["a", HOSTILE, None],
                            "code": ["ZH15078510001", "ZH15078520001", "x"]},
                           geometry=[shapely.box(120.70 + i / 100, 50.77, 120.705 + i / 100, 50.775) for i in range(3)],
                           crs=4490)
    m = webmap.base_map(SITE_BOX)
    fg = webmap.add_layer(m, gdf, name="<i>单元</i>", style_by="class", palette=styles.CONTROL_UNIT,
                          popup_fields=[("name", "名称"), ("code", "编码")], tooltip="name")
    labels = [e[0] for e in fg.legend_entries]
    assert labels == ["优先保护单元", "重点管控单元", "其他"]
    webmap.legend(m, fg.legend_entries, title="<b>图例</b>")
    html = webmap.to_html(m)
    assert "<i>单元</i>" not in _unescape_js(html) and "&lt;i&gt;单元&lt;/i&gt;" in _unescape_js(html)
    assert "&lt;b&gt;图例&lt;/b&gt;" in _unescape_js(html)
    fc = next(fc for fc in _collections(html) if len(fc["features"]) == 3)
    assert [f["properties"]["s"] for f in fc["features"]] == [0, 1, 3]  # unlisted value: default style
    assert "t" not in fc["features"][2]["properties"]  # blank tooltip left out
    assert "名称" not in fc["features"][2]["properties"]["p"]  # blank popup row left out
    with pytest.raises(InputError, match="nope"):
        webmap.add_layer(m, gdf, name="x", style_by="nope")
    with pytest.raises(SpecError):
        webmap.legend(m, [("x", "red;background:url(http://h)", "#000")])


def test_add_layer_rounds_and_reprojects():
    from pyproj import Transformer
    tr = Transformer.from_crs(4490, 4527, always_xy=True)  # CGCS2000 3-degree GK zone 39
    x, y = tr.transform(120.7123456789, 50.7812345678)
    gdf = gpd.GeoDataFrame({"n": [1]}, geometry=[shapely.Point(x, y)], crs=4527)
    m = webmap.base_map(SITE_BOX)
    webmap.add_layer(m, gdf, name="p", precision=5)
    fc = next(fc for fc in _collections(webmap.to_html(m)) if fc["features"] and fc["features"][0]["geometry"]["type"] == "Point")
    assert fc["features"][0]["geometry"]["coordinates"] == [120.71235, 50.78123]


def test_save_html_writes_atomically(tmp_path, site):
    out = webmap.save_html(webmap.review_map(site, None, lang="en"), tmp_path / "maps" / "review.html")
    text = out.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "Project site" in text
    assert [p.name for p in out.parent.iterdir()] == ["review.html"]


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_datum_js_matches_python():
    lon = np.linspace(74, 134, 25)
    lat = np.linspace(19, 53, 25)
    js = webmap._DATUM_JS + (
        f"var lon={json.dumps(lon.tolist())}, lat={json.dumps(lat.tolist())}, out=[];"
        "for (var i=0;i<lon.length;i++){var g=ecogisDatum.toGcj(lon[i],lat[i]);"
        "out.push(g.concat(ecogisDatum.fromGcj(g[0],g[1])));} console.log(JSON.stringify(out));")
    res = np.array(json.loads(subprocess.run(["node", "-e", js], capture_output=True, text=True, check=True,
                                             timeout=30).stdout))
    gx, gy = wgs84_to_gcj02(lon, lat)
    np.testing.assert_allclose(res[:, 0], gx, atol=1e-12)
    np.testing.assert_allclose(res[:, 1], gy, atol=1e-12)
    np.testing.assert_allclose(res[:, 2], lon, atol=1e-8)
    np.testing.assert_allclose(res[:, 3], lat, atol=1e-8)
