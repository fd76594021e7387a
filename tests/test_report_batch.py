"""The batch report's site viewer (issue 13, "outputs built for batches"): ``sites/site.html#<id>``.

Above 30 sites every flagged site's detail is read by ``sites/viewer.js`` from packed data files.  Checked
here: the chunk index covers every flagged site and each chunk holds exactly its sites and their findings
(decoded in Python); ``report.html`` stays under 5 MB at 40,000 sites; and, in Debian's Chromium with the
network blocked, the viewer shows for every site of a 120-site screen the same conclusion, facts, notes,
findings and legend as the inline report does, hostile text from data stays text, and the viewer's copy
of ``clean_official`` agrees with Python's.
"""

from __future__ import annotations

import base64
import copy
import json
import re
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely

import ecogis
from ecogis.render.outputs import context_layers
from ecogis.render.report_html import write_report_files
from ecogis.render.report_text import clean_official

from test_browser_maps import Page, browser  # noqa: F401  (the shared Chromium fixture)

REPO = Path(__file__).resolve().parent.parent
WS = REPO / "layers" / "sample" / "xilinhot.gpkg"
SHOTS = REPO / "out" / "screenshots"


def read_data_script(path: Path) -> tuple[str, int, dict, dict]:
    """A data file of the viewer decoded: (function, k, header, {table: {column: values}})."""
    text = path.read_text(encoding="ascii")
    m = re.fullmatch(r'(ecogis\w+)\((\d+),(\{.*?\}),"([A-Za-z0-9+/=]*)"\);\n', text, re.S)
    assert m, path
    head = json.loads(m.group(3))
    blob = base64.b64decode(m.group(4))
    tables: dict[str, dict] = {}
    for e in head["layout"]:
        t = tables.setdefault(e[0], {})
        if e[1] == "gscale":
            continue
        if e[2] in ("s", "l"):
            data = blob[e[3]:e[3] + e[4]]
            off = np.frombuffer(blob[e[5]:e[5] + e[6]], dtype="<i4")
            if e[2] == "l":
                data = pa.decompress(data, decompressed_size=int(off[-1]), codec="lz4_raw", asbytes=True)
            t[e[1]] = [data[off[i]:off[i + 1]].decode("utf-8") for i in range(len(off) - 1)]
        else:
            t[e[1]] = np.frombuffer(blob[e[3]:e[3] + e[4]], dtype={"f8": "<f8", "f4": "<f4", "i4": "<i4",
                                                                    "u1": "u1", "i1": "i1"}[e[2]])
    return m.group(1), int(m.group(2)), head, tables


def read_index(site_dir: Path) -> dict:
    text = (site_dir / "data" / "index.js").read_text(encoding="utf-8")
    return json.loads(re.fullmatch(r"ecogisIndex\((.*)\);\n", text, re.S).group(1))


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import report_bench

    result = ecogis.screen(report_bench.synth_sites(120, seed=11), WS, progress=False)
    out = tmp_path_factory.mktemp("viewer")
    write_report_files(result, out, context=context_layers(result))
    return result, out


def _flagged(result) -> set[str]:
    s = result.sites
    return set(s.loc[(s["verdict"] != "clear") | s["site_id"].isin(result.findings["site_id"]), "site_id"])


def test_every_flagged_site_is_in_the_index_and_its_chunk(batch):
    result, out = batch
    idx = read_index(out / "sites")
    assert set(idx["ids"]) == _flagged(result) and len(idx["ids"]) == len(set(idx["ids"]))
    n_find = result.findings.groupby("site_id").size()
    seen = []
    for k in range(idx["chunks"]):
        fn, kk, head, t = read_data_script(out / "sites" / "data" / f"chunk-{k:04d}.js")
        assert (fn, kk) == ("ecogisChunk", k)
        ids = t["s"]["id"]
        assert ids == idx["ids"][k * idx["size"]:(k + 1) * idx["size"]]
        assert list(t["s"]["nf"]) == [int(n_find.get(i, 0)) for i in ids]
        assert len(t["f"]["msg"]) == int(t["s"]["nf"].sum()) == head["nf"]
        # each site's findings: its own (the site's name is in its rule messages)
        names = result.sites.set_index("site_id")["name"]
        f0 = np.r_[0, np.cumsum(t["s"]["nf"])]
        for j, sid in enumerate(ids):
            assert all(names[sid] in msg for msg in t["f"]["msg"][f0[j]:f0[j + 1]]), sid
        # the site's outline: as many vertices as the site has
        assert int(t["s"]["gc"].sum()) == int(shapely.get_num_coordinates(
            result.sites.set_index("site_id").loc[ids].geometry.values).sum())
        seen += ids
    assert seen == idx["ids"]
    # the features the findings name are all in the feature files
    total = sum(read_data_script(p)[2]["n"] for p in (out / "sites" / "data").glob("feat-*.js"))
    assert total == idx["nFeatures"] > 0


def _replicate(result, k: int):
    """``result`` repeated ``k`` times (ids, names and geometries shifted): a large batch of real findings."""
    r = copy.copy(result)
    sites, finds = [], []
    for i in range(k):
        s = result.sites.copy()
        f = result.findings.copy()
        for frame in (s, f):
            frame["site_id"] = frame["site_id"] + f"-{i:03d}"
        s["name"] = s["name"] + f"·{i}"
        s.geometry = shapely.transform(s.geometry.values, lambda c, d=i * 1e-4: c + d)
        sites.append(s)
        finds.append(f)
    r.sites = pd.concat(sites, ignore_index=True)
    r.findings = pd.concat(finds, ignore_index=True)
    return r


def test_report_html_under_5_mb_at_40000_sites(batch, tmp_path):
    result, _ = batch
    big = _replicate(result, 334)  # 40,080 sites
    assert len(big.sites) >= 40_000
    write_report_files(big, tmp_path, context=context_layers(result))
    size = (tmp_path / "report.html").stat().st_size
    assert size <= 5 * 1024 * 1024, size
    idx = read_index(tmp_path / "sites")
    assert len(idx["ids"]) == len(_flagged(big))
    assert len(list((tmp_path / "sites" / "data").glob("chunk-*.js"))) == idx["chunks"]


PARTS = "h2, .conclusion, table.facts, p.note, table.findings, .map-legend, p.small, table.coords"


def _ready(pg) -> None:
    pg.page.wait_for_selector("html[data-ecogis-ready]", state="attached", timeout=30_000)


def test_viewer_shows_what_the_inline_report_shows(browser, batch, tmp_path):  # noqa: F811
    """Every flagged site: the viewer's text equals that of its section in an all-inline report."""
    result, out = batch
    write_report_files(result, tmp_path, context=context_layers(result), inline_max=10_000)
    pg = Page(browser, 1280, 900)
    try:
        pg.page.goto((tmp_path / "report.html").resolve().as_uri(), wait_until="load")
        _ready(pg)
        inline = pg.page.evaluate("""(P) => Object.fromEntries([...document.querySelectorAll('section.site')].map(
            (s, i) => [i, [...s.querySelectorAll(P)].map(e => e.innerText)]))""", PARTS)
        ids = result.sites["site_id"].tolist()
        viewer = (out / "sites" / "site.html").resolve().as_uri()
        pg.page.goto(viewer, wait_until="load")
        _ready(pg)
        compared = 0
        for i, sid in enumerate(ids):
            if sid not in _flagged(result):
                continue
            pg.page.evaluate("(h) => { document.documentElement.removeAttribute('data-ecogis-ready');"
                             " location.hash = h; }", "#" + sid)
            _ready(pg)
            got = pg.page.evaluate("(P) => [...document.querySelectorAll('#site ' + P.split(', ').join(', #site '))]"
                                   ".map(e => e.innerText)", PARTS)
            assert got == inline[str(i)], sid
            compared += 1
        assert compared == len(_flagged(result))
        # the map: the site, its conflicts and the features it touches drawn, zoomed to the site
        info = pg.page.evaluate("""() => { const V = window.ecogisViewer; let paths = 0;
            V.map.eachLayer(l => { if (l._path && document.body.contains(l._path)) { paths++; } });
            return {paths: paths, zoom: V.map.getZoom(), site: V.site.getLayers().length,
                    features: V.features.getLayers().length}; }""")
        assert info["site"] == 1 and info["paths"] >= 2 and info["zoom"] >= 12, info
        assert pg.errors == [] and pg.blocked == [] and pg.dialogs == []
    finally:
        pg.close()


def test_site_table_and_map_open_the_viewer(browser, batch):  # noqa: F811
    result, out = batch
    pg = Page(browser, 1280, 900)
    try:
        pg.page.goto((out / "report.html").resolve().as_uri(), wait_until="load")
        _ready(pg)
        pg.page.fill("#site-list input", "BX-00007")
        link = pg.page.locator("#site-table tbody a").first
        assert link.get_attribute("href") == "sites/site.html#BX-00007"
        link.click()
        _ready(pg)
        assert pg.page.url.endswith("/sites/site.html#BX-00007")
        assert pg.page.inner_text("#site h2").startswith("地块 BX-00007")
        SHOTS.mkdir(parents=True, exist_ok=True)
        pg.page.screenshot(path=str(SHOTS / "report_viewer_1280.png"))
        # next / previous site, and back to the report
        nxt = pg.page.get_attribute("#next-site", "href")
        pg.page.evaluate("document.documentElement.removeAttribute('data-ecogis-ready')")
        pg.page.click("#next-site")
        _ready(pg)
        assert pg.page.evaluate("location.hash") == nxt
        assert pg.page.get_attribute("a[href='../report.html']", "href") == "../report.html"
        # an unknown id says so
        pg.page.evaluate("document.documentElement.removeAttribute('data-ecogis-ready'); location.hash = '#nope'")
        _ready(pg)
        assert "未找到该地块：nope" in pg.page.inner_text("#site-detail")
        assert pg.errors == [] and pg.blocked == [] and pg.dialogs == []
    finally:
        pg.close()
    pg = Page(browser, 390, 844)
    try:
        pg.page.goto((out / "sites" / "site.html").resolve().as_uri() + "#BX-00007", wait_until="load")
        _ready(pg)
        assert pg.page.evaluate("document.documentElement.scrollWidth") <= 390
        pg.page.screenshot(path=str(SHOTS / "report_viewer_390.png"))
        assert pg.errors == []
    finally:
        pg.close()


HOSTILE = ['<img src=x onerror="window.__pwned=1">', '"><script>window.__pwned=2</script>',
           "</script><svg onload=window.__pwned=3>", "javascript:window.__pwned=4", "\u2028\u2029<!--"]


def test_hostile_text_stays_text_in_the_viewer(browser, tmp_path):  # noqa: F811
    sys.path.insert(0, str(REPO / "benchmarks"))
    import report_bench

    result = ecogis.screen(report_bench.synth_sites(40, seed=2), WS, progress=False)
    r = copy.copy(result)
    r.sites = result.sites.copy()
    r.findings = result.findings.copy()
    first = r.findings["site_id"].iloc[0]
    sid = HOSTILE[1] + "#x%41"
    r.sites.loc[r.sites["site_id"] == first, ["site_id", "name"]] = [sid, HOSTILE[0]]
    r.findings.loc[r.findings["site_id"] == first, "site_id"] = sid
    r.findings["feature_name"] = HOSTILE[2]
    r.findings["message"] = HOSTILE[3] + " " + r.findings["message"].astype(str)
    r.findings["question"] = HOSTILE[4]
    write_report_files(r, tmp_path, context=context_layers(result))
    for p in (tmp_path / "sites" / "data").glob("*.js"):
        text = p.read_text(encoding="utf-8")
        assert "<" not in text and "\u2028" not in text, p.name
    pg = Page(browser, 1280, 900)
    try:
        from urllib.parse import quote

        pg.page.goto((tmp_path / "report.html").resolve().as_uri(), wait_until="load")
        _ready(pg)
        href = pg.page.evaluate("(id) => [...document.querySelectorAll('#site-table a')].find(a => a.textContent"
                                " === id)?.getAttribute('href')", sid)
        assert href == "sites/site.html#" + quote(sid, safe="-_.!~*'()")
        pg.page.goto((tmp_path / "sites" / "site.html").resolve().as_uri() + href[len("sites/site.html"):],
                     wait_until="load")
        _ready(pg)
        h2 = pg.page.inner_text("#site h2")
        assert h2.startswith("地块 " + sid + " · " + HOSTILE[0]), h2
        body = pg.page.inner_text("#site")
        assert HOSTILE[2] in body and HOSTILE[3] in body
        assert pg.page.evaluate("window.__pwned") is None
        assert pg.page.evaluate("document.querySelectorAll('#site img, #site svg:not(.leaflet-zoom-animated),"
                                " #site script').length") == 0
        assert pg.errors == [] and pg.blocked == [] and pg.dialogs == []
    finally:
        pg.close()


CLEAN_CASES = [
    "项目占项目76.24%的面积", "占地块用地面积的 12.5 %", "（参数 xlh_river_m ）保留", "（—）", "说明（ — ）结束",
    "（参数xlh_river_m）", "(note water_buffer_m here)", "占项目面积的\u3000３.5%", "  前后空白  ",
    "普通文字（不含参数）", "（a_b）（c）", "Xa_b（x_y_z）", "占项目",
]


def test_viewer_cleans_texts_like_python(browser, batch):  # noqa: F811
    _, out = batch
    pg = Page(browser, 800, 600)
    try:
        pg.page.goto((out / "sites" / "site.html").resolve().as_uri(), wait_until="load")
        _ready(pg)
        got = pg.page.evaluate("(xs) => xs.map(window.ecogisClean)", CLEAN_CASES)
        assert got == [clean_official(x) for x in CLEAN_CASES]
    finally:
        pg.close()


def test_access_list_rows_in_the_viewer(browser, batch, tmp_path):  # noqa: F811
    """A screen with access lists (issue 15): each site's 准入清单 rows under its findings, as text."""
    result, _ = batch
    r = copy.copy(result)
    ids = sorted(_flagged(result))[:3]
    rows = [{"site_id": sid, "site_name": "", "unit_code": f"ZH1507852000{k}", "unit_name": "测试单元<b>x</b>",
             "unit_class": "重点管控", "overlap_pct": 50.0, "dimension": "空间布局约束",
             "text": f"禁止新建化工项目{k}。", "result": "不符合", "effect": "", "basis": "清单第1条",
             "note": "说明" if k else "", "question": "", "condition": "", "item_id": f"i{k}"}
            for sid in ids for k in range(2)]
    r.accesslist = pd.DataFrame(rows)
    write_report_files(r, tmp_path, context=context_layers(result))
    pg = Page(browser, 1280, 900)
    try:
        viewer = (tmp_path / "sites" / "site.html").resolve().as_uri()
        for sid in ids + [sorted(_flagged(result))[5]]:
            pg.page.goto(viewer + "#" + sid, wait_until="load")
            _ready(pg)
            cells = pg.page.evaluate("() => [...document.querySelectorAll('#site table.access tbody tr')]"
                                     ".map(tr => [...tr.cells].map(td => td.innerText))")
            if sid in ids:
                assert [c[4] for c in cells] == ["禁止新建化工项目0。", "禁止新建化工项目1。"], (sid, cells)
                assert cells[0][1] == "测试单元<b>x</b>" and cells[1][5] == "不符合\n说明"
            else:
                assert cells == []
        assert pg.errors == [] and pg.dialogs == []
    finally:
        pg.close()


def test_viewer_gauss_kruger_agrees_with_pyproj(browser, batch):  # noqa: F811
    """The viewer's 界址点 projection (Krüger series) against pyproj, across China and to the zone edges."""
    from pyproj import Transformer

    from ecogis.read.crs import gk_epsg

    _, out = batch
    rng = np.random.default_rng(4)
    zones = rng.integers(25, 46, 400)
    lon = 3.0 * zones + rng.uniform(-1.5, 1.5, 400)
    lat = rng.uniform(18.0, 53.5, 400)
    pg = Page(browser, 800, 600)
    try:
        pg.page.goto((out / "sites" / "site.html").resolve().as_uri(), wait_until="load")
        _ready(pg)
        got = np.array(pg.page.evaluate("(P) => P.map(p => window.ecogisGK(p[0], p[1], p[2]))",
                                        [[float(a), float(b), int(z)] for a, b, z in zip(lon, lat, zones)]))
    finally:
        pg.close()
    for z in np.unique(zones):
        m = zones == z
        e, n = Transformer.from_crs(4490, gk_epsg(int(z), 3, True), always_xy=True).transform(lon[m], lat[m])
        assert np.abs(got[m, 0] - e).max() < 1e-4 and np.abs(got[m, 1] - n).max() < 1e-4, z


def test_site_table_data_beside_the_report_for_huge_batches(browser, batch, tmp_path, monkeypatch):  # noqa: F811
    """Past TABLE_EXTERNAL_ABOVE the table's data go to sites/data/table.js: report.html stays small."""
    from ecogis.render import report_html

    result, _ = batch
    monkeypatch.setattr(report_html, "GZIP_ABOVE", 0)
    monkeypatch.setattr(report_html, "TABLE_EXTERNAL_ABOVE", 0)
    write_report_files(result, tmp_path, context=context_layers(result))
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'id="ecogis-data' not in html and '<script src="sites/data/table.js"></script>' in html
    assert (tmp_path / "sites" / "data" / "table.js").is_file()
    pg = Page(browser, 1280, 900)
    try:
        pg.page.goto((tmp_path / "report.html").resolve().as_uri(), wait_until="load")
        _ready(pg)
        assert pg.page.locator("#site-table tbody tr").count() == 50
        assert pg.page.is_hidden("#no-table")
        assert pg.errors == [] and pg.blocked == []
        (tmp_path / "sites" / "data" / "table.js").unlink()  # report.html copied without its folder
        pg.page.goto((tmp_path / "report.html").resolve().as_uri(), wait_until="load")
        _ready(pg)
        assert pg.page.is_visible("#no-table") and "sites/data/table.js" in pg.page.inner_text("#no-table")
    finally:
        pg.close()
