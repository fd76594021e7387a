"""The reviewer's report and the desk spreadsheet (issues 13 and 16), read as text and as a workbook.

The Xilinhot sample sites (19: polygons, two lines, one partly outside the data) are screened once;
``report.html`` and ``findings.xlsx`` are checked for what a reviewer files: one conclusion line per
site, percentages that say what they are a share of, crossing lengths for linear projects, Chinese
words instead of internal codes, the 界址点坐标表, the print CSS; and, for a large batch, per-site
pages with a compact, paginated site table.
"""

from __future__ import annotations

import copy
import json
import re
import sys
from html.parser import HTMLParser
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

import ecogis
from ecogis.render.outputs import write_outputs
from ecogis.render.report_html import write_report_files

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"
WS = SAMPLE / "xilinhot.gpkg"


class _Text(HTMLParser):
    """Visible text of a page, without scripts, styles and cells marked ``data`` (hashes, file names)."""

    def __init__(self) -> None:
        super().__init__()
        self.skip: list[str] = []
        self.out: list[str] = []

    def handle_starttag(self, tag, attrs):
        cls = dict(attrs).get("class") or ""
        if tag in ("script", "style") or "data" in cls.split():
            self.skip.append(tag)
        elif self.skip and tag == self.skip[-1]:
            self.skip.append(tag)

    def handle_endtag(self, tag):
        if self.skip and tag == self.skip[-1]:
            self.skip.pop()

    def handle_data(self, data):
        if not self.skip:
            self.out.append(data)


def visible_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(p.out)


@pytest.fixture(scope="module")
def xlh(tmp_path_factory):
    out = tmp_path_factory.mktemp("xlh")
    result = ecogis.screen(SAMPLE / "sites" / "xilinhot.geojson", WS, progress=False)
    write_outputs(result, out, formats=["html", "xlsx"])
    return result, out, (out / "report.html").read_text(encoding="utf-8")


def _sections(html: str) -> dict[str, str]:
    parts = re.split(r'(?=<section class="site" id="site-\d+")', html)
    out = {}
    for p in parts[1:]:
        m = re.search(r"<h2>地块 ([^ <]+)", p)
        out[m.group(1)] = p.split('<section class="appendix"')[0]
    return out


def test_one_conclusion_line_per_site(xlh):
    result, _, html = xlh
    secs = _sections(html)
    assert set(secs) == set(result.sites["site_id"])
    for sid, sec in secs.items():
        lines = re.findall(r'<p class="conclusion"><b>结论：</b>(.*?)</p>', sec)
        assert len(lines) == 1, sid
        verdict = result.sites.set_index("site_id").loc[sid, "verdict"]
        word = {"prohibited": "禁止", "restricted": "限制", "review": "需论证", "notice": "提示",
                "clear": "未发现冲突", "not_covered": "超出数据覆盖范围", "incomplete": "数据不全"}[verdict]
        assert lines[0].startswith(word), (sid, lines[0])
        n = int((result.findings["site_id"] == sid).sum())
        if n:
            assert "依据：" in lines[0], lines[0]  # the decisive finding's basis
        assert f"冲突明细（{n}）" in sec


def test_coverage_verdict_never_hides_findings(xlh):
    result, _, html = xlh
    sec = _sections(html)["XLH-16"]  # partly outside the data, with findings on the covered part
    n = int((result.findings["site_id"] == "XLH-16").sum())
    assert n > 0 and sec.count('<td class="what"') == n
    assert "已覆盖部分" in re.search(r'<p class="conclusion">(.*?)</p>', sec).group(1)
    assert "数据覆盖范围内的部分占项目用地面积的 49.7%" in sec and "其余 50.3% 在范围外" in sec


def test_every_percentage_says_what_it_is_a_share_of(xlh):
    _, _, html = xlh
    text = visible_text(html)
    for m in re.finditer(r"(\d+\.\d+)\s*%", text):
        before = text[max(0, m.start() - 40):m.start()]
        assert re.search(r"(占项目用地面积的|占地块总数|覆盖范围内的部分占项目用地面积的|其余|全部在数据覆盖范围内|"
                         r"部分在数据覆盖范围内（)\s*$", before) or "占地块总数" in text[:m.start()][-400:], before


def test_linear_project_rows_show_length_and_count(xlh):
    _, _, html = xlh
    sec = _sections(html)["XLH-02"]  # a 47 km power line
    cells = re.findall(r'<td class="measure"[^>]*>(.*?)</td>', sec)
    assert cells and all(re.fullmatch(r"穿越 [\d,]+\.\d 米（\d+ 处）", c) for c in cells), cells
    assert "0.0000 公顷" not in sec
    assert "线路长度" in sec and "47,295.1 米" in sec


ALLOWED = re.compile(r"^(CGCS2000|TD/T|X|Y|J\d+|SHA-256|ecogis|UTC|GCJ-02|m|a|f|[\w\-]+\.(xlsx|gpkg|json|txt))$")


def test_zh_report_has_no_codes_or_english(xlh):
    result, _, html = xlh
    text = visible_text(html)
    data_words = set()
    for col in ("site_id", "name", "industry"):
        data_words |= {w for v in result.sites[col].dropna().astype(str) for w in re.findall(r"[A-Za-z][A-Za-z0-9_\-.]*", v)}
    for col in ("feature_name", "zone", "feature_code"):  # control-unit codes (ZH15…) are data
        data_words |= {w for v in result.findings[col].dropna().astype(str)
                       for w in re.findall(r"[A-Za-z][A-Za-z0-9_\-.]*", v)}
    words = set(re.findall(r"[A-Za-z][A-Za-z0-9_\-./]*", text))
    bad = sorted(w for w in words if not ALLOWED.match(w) and w not in data_words)
    assert bad == [], repr(bad)
    for code in ("redline", "control_unit", "protected_area", "full", "partial", "not_covered", "prohibited",
                 "004_98f8068e618280a6", "mining_setback", "（—）", "未发现冲突."):
        assert code not in text, code
    assert "生态保护红线" in text and "全部在数据覆盖范围内" in text


def test_print_css_files_a4_document(xlh):
    _, _, html = xlh
    assert "@page { size: A4 portrait;" in html
    assert 'counter(page)' in html and 'counter(pages)' in html
    assert re.search(r"@page site-1 \{ @top-left \{ content: \"", html)  # the site in the page header
    css = (REPO / "ecogis" / "data" / "templates" / "report.css").read_text(encoding="utf-8")
    print_css = css.split("@media print")[1]
    assert ".leaflet-control-zoom" in print_css and "display: none" in print_css
    assert "break-after: avoid" in css and "thead { display: table-header-group; }" in css
    assert "说明与免责" in html and "图层版本" in html


def test_boundary_point_table_matches_the_guotu_file(tmp_path):
    from ecogis.read.guotu import read_guotu

    txt = SAMPLE / "sites" / "xilinhot" / "XLH-01.txt"
    result = ecogis.screen(txt, WS, overrides={"industry": "B0620", "nature": "新建"}, progress=False)
    write_report_files(result, tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    rows = re.findall(r"<tr><td>J(\d+)</td><td>(\d+)</td><td>([\d.]+)</td><td>([\d.]+)</td><td>([\d.]+)</td>"
                      r"<td>([\d.]+)</td></tr>", html)
    site = read_guotu(txt)
    xy = shapely.get_coordinates(site.geometry.iloc[0].exterior)
    assert len(rows) == len(xy)
    got = {(round(float(r[3]), 2), round(float(r[2]), 2)) for r in rows}  # (Y easting, X northing)
    want = {(round(x, 2), round(y, 2)) for x, y in xy}
    assert got == want
    assert "第39带" in html and "东经117°" in html


def test_english_report(tmp_path):
    result = ecogis.screen(SAMPLE / "sites" / "xilinhot.geojson", WS, progress=False, lang="en")
    write_outputs(result, tmp_path, formats=["html", "xlsx"], lang="en")
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and "Project site screening report" in html
    assert "Prohibited" in html and "of the site's area" in html and "crosses" in html
    assert "Data and rule versions" in html


def test_hostile_names_stay_text(tmp_path):
    hostile = '</script><script>alert(1)</script><img src=x onerror=alert(2)>'
    sites = gpd.GeoDataFrame({"site_id": ["H-1", "H-2"], "name": [hostile, "正常"], "industry": ["B0620", None]},
                             geometry=[shapely.box(116.0, 43.9, 116.01, 43.91),
                                       shapely.box(116.3, 44.0, 116.31, 44.01)], crs=4490)
    result = ecogis.screen(sites, WS, progress=False)
    write_report_files(result, tmp_path)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert hostile not in html and "<img src=x" not in html
    for block in re.findall(r'<script type="application/json"[^>]*>(.*?)</script>', html, re.S):
        assert "<" not in block and ">" not in block
        json.loads(block)
    assert "&lt;/script&gt;&lt;script&gt;alert(1)" in html


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    sys.path.insert(0, str(REPO / "benchmarks"))
    import report_bench

    sites = report_bench.synth_sites(120, seed=3)
    result = ecogis.screen(sites, WS, progress=False)
    return result


def test_large_batch_writes_the_site_viewer(batch, tmp_path):
    """Above 30 sites: no per-site HTML in report.html; one viewer page and its data files in sites/."""
    from ecogis.render.outputs import context_layers

    written = write_report_files(batch, tmp_path, inline_max=30, context=context_layers(batch))
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    site_dir = tmp_path / "sites"
    assert site_dir in written and sorted(p.name for p in site_dir.glob("*.html")) == ["site.html"]
    assert '<section class="site"' not in html  # no per-site HTML in the batch report
    data = json.loads(re.search(r'<script type="application/json" id="ecogis-data">(.*?)</script>', html,
                                re.S).group(1))
    t = data["table"]
    assert len(t["id"]) == len(batch.sites) and len(data["overview"]["x"]) == len(batch.sites)
    flagged = batch.sites.set_index("site_id")["verdict"].ne("clear") | batch.sites.set_index("site_id").index.isin(
        batch.findings["site_id"])
    assert [bool(x) for x in t["link"]] == [bool(flagged[i]) for i in t["id"]]
    assert t["viewer"] == "sites/site.html#"
    assert "未生成单独页面" not in html  # every flagged site has its detail
    page = (site_dir / "site.html").read_text(encoding="utf-8")
    assert 'href="../report.html"' in page and '<script src="viewer.js"></script>' in page
    assert "测试地块" not in page  # the page holds no site's data: viewer.js reads them from data/
    for name in ("leaflet.js", "leaflet.css", "report.css", "viewer.js", "data/index.js", "data/admin.js",
                 "data/chunk-0000.js"):
        assert (site_dir / name).is_file(), name
    # a smaller run into the same folder leaves no viewer behind
    small = copy.copy(batch)
    small.sites = batch.sites.iloc[:5]
    small.findings = batch.findings[batch.findings["site_id"].isin(small.sites["site_id"])]
    write_report_files(small, tmp_path)
    assert not site_dir.exists() and '<section class="site"' in (tmp_path / "report.html").read_text("utf-8")


def test_findings_xlsx_is_desk_ready(xlh):
    import openpyxl

    result, out, _ = xlh
    wb = openpyxl.load_workbook(out / "findings.xlsx")
    assert wb.sheetnames == ["结论", "冲突明细", "数据版本"]
    for ws in wb.worksheets:
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        assert all(c.font.bold for c in ws[1] if c.value)
        # fit to one page wide (fitToWidth defaults to 1 in OOXML), any number of pages tall
        assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth in (None, 1, "1")
        assert str(ws.page_setup.fitToHeight) == "0" and str(ws.page_setup.paperSize) == "9"
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert ws.print_title_rows == "$1:$1"
        assert ws.column_dimensions["A"].width >= 10
    v = wb["结论"]
    head = [c.value for c in v[1]]
    assert "面积(亩)" in head and "面积(公顷)" in head
    col = {h: i for i, h in enumerate(head)}
    row = [c for c in v[2]]
    assert row[col["面积(公顷)"]].number_format == "0.0000" and row[col["面积(亩)"]].number_format == "0.00"
    values = {c.value for r in v.iter_rows(min_row=2) for c in r}
    assert "禁止" in values and "全部在数据覆盖范围内" in values and "prohibited" not in values
    f = wb["冲突明细"]
    fh = [c.value for c in f[1]]
    fvals = [[c.value for c in r] for r in f.iter_rows(min_row=2)]
    kinds = {r[fh.index("图层")] for r in fvals}
    assert "生态保护红线" in kinds and "redline" not in kinds
    assert len(fvals) == len(result.findings)
    lin = [r for r in fvals if r[fh.index("地块编号")] == "XLH-02"]
    assert lin and all(r[fh.index("穿越长度(米)")] > 0 and r[fh.index("穿越处数")] >= 1 for r in lin)


def test_review_map_draws_the_county_as_its_boundary_line():
    """The review map cuts context to the view; the county is a line, so the cut is not drawn as a boundary."""
    from ecogis.render import webmap

    site = gpd.GeoDataFrame({"site_id": ["S1"], "name": ["地块"]}, geometry=[shapely.box(116.0, 44.0, 116.01, 44.01)],
                            crs=4490)
    county = gpd.GeoDataFrame({"name": ["县"]}, geometry=[shapely.box(116.005, 43.0, 118.0, 45.0)], crs=4490)
    html = webmap.to_html(webmap.review_map(site, None, {"admin": county}, context_extent=3.0))
    types = re.findall(r'"geometry":\{"type":"(\w+)"', html)
    assert "LineString" in types
    # every polygon drawn (the site; the mini-map's outline) has only original vertices: no cut rectangle
    original = {(round(x, 4), round(y, 4)) for g in (site.geometry.iloc[0], county.geometry.iloc[0])
                for x, y in shapely.get_coordinates(g)}
    for coords in re.findall(r'"type":"Polygon","coordinates":(\[\[.*?\]\]\])', html):
        pts = {(round(x, 4), round(y, 4)) for x, y in json.loads(coords)[0]}
        assert pts <= original, pts - original


def test_columns_of_the_verdict_and_rules_work_are_rendered(tmp_path):
    """``incomplete`` / ``provisional`` (issue 11) and ``condition``, ``question``, ``citation``, ``basis_verified``."""
    import copy

    result = ecogis.screen(SAMPLE / "sites" / "xilinhot.geojson", WS, progress=False)
    r = copy.copy(result)
    r.sites = result.sites.copy()
    r.findings = result.findings.copy()
    r.sites["provisional"] = r.sites["site_id"] == "XLH-03"
    r.sites.loc[r.sites["site_id"] == "XLH-04", "verdict"] = "incomplete"
    first = r.findings.index[r.findings["site_id"] == "XLH-03"][0]
    r.findings["condition"] = ""
    r.findings["question"] = ""
    r.findings["citation"] = ""
    r.findings["basis_verified"] = True
    r.findings.loc[first, ["condition", "question", "citation", "basis_verified"]] = [
        "如属高耗水行业", "请说明项目所属行业", "《测试规划》第三章", False]
    write_report_files(r, tmp_path)
    secs = _sections((tmp_path / "report.html").read_text(encoding="utf-8"))
    s3, s4 = secs["XLH-03"], secs["XLH-04"]
    assert "待定（缺行业代码）" in s3 and "（待定，缺行业代码）：" in s3
    assert "条件：</span>如属高耗水行业" in s3 and "待确认：</span>请说明项目所属行业" in s3
    assert "出处：</span>《测试规划》第三章" in s3 and "（条文出处待核实）" in s3
    assert "数据不全" in s4 and "已覆盖部分" in s4 and s4.count('<td class="what"') > 0


@pytest.mark.parametrize("lang, expected", [
    ("zh", ["永久基本农田（3条规则）", "林地（1条规则）"]),
    ("en", ["permanent basic farmland (3 rules)", "forest land (1 rule)"]),
])
def test_rules_not_evaluated_are_named_once_per_missing_layer(lang, expected):
    """A missing layer is named once with its number of rules (was: once per rule, 永久基本农田、永久基本农田、…)."""
    import types

    import pandas as pd

    from ecogis.render.report_data import report_meta

    ne = pd.DataFrame({"rule_id": ["PBF-1", "PBF-2", "FL-1", "PBF-3"],
                       "layer_kind": ["farmland", "farmland", "forest", "farmland"]})
    res = types.SimpleNamespace(meta={}, notes=[], not_evaluated=ne)
    kinds = report_meta(res, lang)["not_evaluated_kinds"]
    assert [k.lower() for k in kinds] == [e.lower() for e in expected]
