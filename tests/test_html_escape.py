"""Everything rendered to HTML escapes data: the corpus's hostile attributes, scanned in every HTML output (issue 8)."""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import pytest

from ecogis.cli import main

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import build_corpus  # noqa: E402

#: Markup that must never reach an HTML output as markup.
PAYLOADS = [
    "<script>alert('xss')</script>",
    "<img src=x onerror=alert(1)>",
    "\"><svg/onload=alert(2)>",
    "<script>alert('国土')</script>",
    "<script>alert(1)</script>",
]
#: An unescaped element built from data: any tag with an alert() handler or body.
UNESCAPED = re.compile(r"<(script|img|svg)\b[^>]*>\s*alert\(|<(img|svg)\b[^>]*on\w+\s*=\s*alert\(", re.I)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    build_corpus.build(root)
    ws = root / "ws.gpkg"
    shutil.copy(REPO / "layers" / "sample" / "xilinhot.gpkg", ws)
    return root, ws


def _scan(html: str, where: str) -> None:
    for p in PAYLOADS:
        assert p not in html, f"unescaped payload {p!r} in {where}"
    m = UNESCAPED.search(html)
    assert m is None, f"unescaped markup {m.group(0)!r} in {where}"


@pytest.mark.parametrize("site, extra", [
    ("geojson/hostile_attributes.geojson", []),
    ("guotu/html_parcel_name.txt", []),
    ("guotu/valid.txt", ["--name", "<script>alert('xss')</script>"]),
])
def test_screen_report_escapes_hostile_text(corpus, tmp_path, site, extra):
    root, ws = corpus
    out = tmp_path / "out"
    rc = main(["screen", str(root / site), "--workspace", str(ws), "--out", str(out), "--quiet",
               "--format", "html,json", *extra])
    assert rc == 0
    pages = list(out.rglob("*.html"))
    assert pages
    for page in pages:
        html = page.read_text(encoding="utf-8")
        _scan(html, f"{page.name} from {site}")
        # the data did reach the page, escaped (HTML entities or JSON escapes)
        assert re.search(r"&lt;(script|img)|\\u003c(script|img)|\\x3c(script|img)", html, re.I), (
            f"the hostile name from {site} does not appear at all in {page.name}")


def test_web_map_popups_escape_hostile_text(corpus, tmp_path):
    import geopandas as gpd

    from ecogis.render.webmap import add_layer, base_map, to_html

    root, _ = corpus
    gdf = gpd.read_file(root / "geojson/hostile_attributes.geojson")
    gdf = gdf[gdf["note"] != "big"]
    m = base_map(tuple(gdf.total_bounds), lang="zh", basemap="none")
    add_layer(m, gdf, name="<script>alert(1)</script>", popup_fields=[("name", "名称"), ("note", "<b>备注</b>")],
              tooltip="name")
    html = to_html(m)
    _scan(html, "web map")
