"""The reviewer's report in a real browser: Debian's Chromium through Playwright, network blocked.

The Xilinhot sample report (19 sites, all inline) is opened at 1280×900 and on a phone (390×844): no
errors, nothing fetched, a Leaflet map per site with the site, its conflicts and the features it touches
drawn, the site table searchable, no horizontal overflow on the phone.  It is printed to PDF and the
pages checked (A4 portrait, page numbers, the site in the header, no map controls).  A 120-site batch
report is opened too: a paginated table from JSON, a canvas of points, the site viewer that opens
(``tests/test_report_batch.py`` checks the viewer itself).
Screenshots and rasterised pages go to ``out/screenshots/``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import ecogis
from ecogis.render.outputs import context_layers, write_outputs
from ecogis.render.report_html import write_report_files

from test_browser_maps import Page, browser  # noqa: F401  (the shared Chromium fixture)

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"
SHOTS = REPO / "out" / "screenshots"


def _open(pg: Page, path: Path) -> None:
    pg.page.goto(path.resolve().as_uri(), wait_until="load")
    pg.page.wait_for_selector("html[data-ecogis-ready]", state="attached", timeout=30_000)


_MAPS_JS = """
() => {
    const maps = (window.ecogisMaps || []).map(m => m[0]);
    return maps.map(m => {
        let paths = 0;
        m.eachLayer(l => { if (l._path && document.body.contains(l._path)) { paths++; } });
        const c = m.getContainer();
        return {id: c.id, paths: paths, zoom: m.getZoom(), scale: !!c.querySelector('.leaflet-control-scale'),
                w: c.clientWidth};
    });
}
"""


@pytest.fixture(scope="module")
def xlh(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    result = ecogis.screen(SAMPLE / "sites" / "xilinhot.geojson", SAMPLE / "xilinhot.gpkg", progress=False)
    write_outputs(result, out, formats=["html"])
    return result, out / "report.html"


def test_report_on_desktop(browser, xlh):  # noqa: F811
    result, html = xlh
    pg = Page(browser, 1280, 900)
    try:
        _open(pg, html)
        maps = pg.page.evaluate(_MAPS_JS)
        sites = [m for m in maps if m["id"].startswith("map-")]
        assert len(sites) == len(result.sites) and any(m["id"] == "overview-map" for m in maps)
        ids = result.sites["site_id"].tolist()
        need = {f"map-{i + 1}": 2 if (result.findings["site_id"] == sid).any() else 1 for i, sid in enumerate(ids)}
        bad = [m for m in sites if m["paths"] < need[m["id"]] or not m["scale"]]
        assert bad == [], bad  # the site, and the conflicts and features it touches
        zooms = sorted(m["zoom"] for m in sites)  # zoomed to the site, not to the county (a 47 km line: 9)
        assert zooms[0] >= 9 and zooms[len(zooms) // 2] >= 13, zooms
        rows = pg.page.locator("#site-table tbody tr")
        assert rows.count() == len(result.sites)
        pg.page.fill("#site-list input", "XLH-02")
        assert rows.count() == 1 and "穿越" in rows.first.inner_text()
        pg.page.fill("#site-list input", "")
        # a point of the overview map opens the site's conclusion
        SHOTS.mkdir(parents=True, exist_ok=True)
        pg.page.screenshot(path=str(SHOTS / "report_xilinhot_1280.png"))
        pg.page.locator("#site-1").scroll_into_view_if_needed()
        pg.page.screenshot(path=str(SHOTS / "report_xilinhot_site_1280.png"))
        assert pg.errors == [] and pg.blocked == [] and pg.dialogs == []
    finally:
        pg.close()


def test_report_on_a_phone(browser, xlh):  # noqa: F811
    _, html = xlh
    pg = Page(browser, 390, 844)
    try:
        _open(pg, html)
        width = pg.page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, width
        wide = pg.page.evaluate("""() => [...document.querySelectorAll('body *')].filter(e => {
            const r = e.getBoundingClientRect(); return r.width > 0 && r.right > 391 &&
            !e.closest('.wide') && !e.closest('.leaflet-container'); }).map(e => e.tagName + '.' + e.className)""")
        assert wide == [], wide[:10]
        SHOTS.mkdir(parents=True, exist_ok=True)
        pg.page.screenshot(path=str(SHOTS / "report_xilinhot_390.png"))
        assert pg.errors == [] and pg.blocked == []
    finally:
        pg.close()


def test_report_prints_as_an_a4_document(browser, xlh, tmp_path):  # noqa: F811
    result, html = xlh
    if not shutil.which("pdfinfo") or not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed")
    pg = Page(browser, 1280, 900)
    try:
        _open(pg, html)
        pdf = tmp_path / "report.pdf"
        pg.page.pdf(path=str(pdf), prefer_css_page_size=True, print_background=True)
        pg.page.emulate_media(media="print")
        hidden = pg.page.evaluate("""() => ['.leaflet-control-zoom', '.controls', '.pager', '#site-list']
            .map(s => [...document.querySelectorAll(s)].every(e => getComputedStyle(e).display === 'none'))""")
        assert all(hidden), hidden
    finally:
        pg.close()
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    pages = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    w, h = map(float, re.search(r"Page size:\s+([\d.]+) x ([\d.]+)", info).groups())
    assert abs(w - 595.3) < 2 and abs(h - 841.9) < 2  # A4 portrait
    assert pages >= len(result.sites)  # every site starts on a page of its own
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout.split("\f")
    assert f"第 1 页 / 共 {pages} 页" in text[0] and "建设项目生态环境空间管控符合性筛查报告" in text[0]
    site_pages = [t for t in text if t.strip() and "地块 XLH-01 · 锡林浩特市新建褐煤露天矿" in t.strip().splitlines()[0]]
    assert site_pages, "the site is named in the page header"
    assert any("界址点坐标表" in t for t in site_pages) and any("说明与免责" in t for t in text)
    # no page ends with a table header or a heading stranded at its foot
    for i, t in enumerate(text[:-1]):
        body = [ln.strip() for ln in t.splitlines() if ln.strip() and not ln.strip().startswith("第 ")]
        assert not body or not re.fullmatch(r"(# +规则 / 冲突要素.*|点号 +圈号.*|冲突明细（\d+）|界址点坐标表)",
                                            body[-1]), (i + 1, body[-1])
    if shutil.which("pdftoppm"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        subprocess.run(["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "10", str(pdf),
                        str(SHOTS / "report_xilinhot_pdf")], check=True)


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import report_bench

    out = tmp_path_factory.mktemp("batch")
    result = ecogis.screen(report_bench.synth_sites(120, seed=5), SAMPLE / "xilinhot.gpkg", progress=False)
    from ecogis.render import report_html

    write_report_files(result, out, inline_max=30, context=context_layers(result))
    saved = report_html.GZIP_ABOVE
    report_html.GZIP_ABOVE = 0  # the path of very large batches: the table data gzipped
    try:
        write_report_files(result, out / "gz", inline_max=30)
    finally:
        report_html.GZIP_ABOVE = saved
    return result, out


def test_batch_report_in_the_browser(browser, batch):  # noqa: F811
    result, out = batch
    pg = Page(browser, 1280, 900)
    try:
        _open(pg, out / "report.html")
        rows = pg.page.locator("#site-table tbody tr")
        assert rows.count() == 50
        assert "第 1 / 3 页，共 120 个地块" in pg.page.inner_text("#site-list .pager")
        pg.page.click("#site-list button.next")
        assert rows.count() == 50 and "第 2 / 3 页" in pg.page.inner_text("#site-list .pager")
        pg.page.select_option("#site-list select", index=1)
        assert 0 < rows.count() <= 50
        assert pg.page.evaluate("document.querySelectorAll('canvas.ecogis-points').length") == 1
        # the canvas points sit where Leaflet puts their coordinates
        off = pg.page.evaluate("""() => { const P = window.ecogisPoints, m = P._map; let worst = 0;
            for (let k = 0; k < P._x.length; k += 7) {
                const q = m.latLngToContainerPoint([P._y[k], P._x[k]]);
                worst = Math.max(worst, Math.abs(q.x - P._px[2 * k]), Math.abs(q.y - P._px[2 * k + 1])); }
            return worst; }""")
        assert off < 1.0, off
        assert pg.page.evaluate("document.querySelectorAll('section.site').length") == 0
        link = pg.page.locator("#site-table tbody a[href^='sites/site.html#']").first
        href = link.get_attribute("href")
        assert pg.errors == [] and pg.blocked == []
    finally:
        pg.close()
    pg = Page(browser, 390, 844)
    try:
        page, _, site = href.partition("#")
        pg.page.goto((out / page).resolve().as_uri() + "#" + site, wait_until="load")
        pg.page.wait_for_selector("html[data-ecogis-ready]", state="attached", timeout=30_000)
        paths = pg.page.evaluate("""() => { let n = 0; window.ecogisViewer.map.eachLayer(l => {
            if (l._path && document.body.contains(l._path)) { n++; } }); return n; }""")
        assert paths >= 1
        assert pg.page.evaluate("document.documentElement.scrollWidth") <= 390
        assert pg.errors == [] and pg.blocked == []
    finally:
        pg.close()


def test_gzipped_site_table_unpacks_in_the_browser(browser, batch):  # noqa: F811
    _, out = batch
    html = (out / "gz" / "report.html").read_text(encoding="utf-8")
    assert 'id="ecogis-data-gz"' in html and 'id="ecogis-data"' not in html
    pg = Page(browser, 1280, 900)
    try:
        _open(pg, out / "gz" / "report.html")
        assert pg.page.locator("#site-table tbody tr").count() == 50
        assert pg.page.evaluate("document.querySelectorAll('canvas.ecogis-points').length") == 1
        assert pg.errors == [] and pg.blocked == []
    finally:
        pg.close()
