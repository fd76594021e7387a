"""Data is never code (issue 12 item 1).

Template payloads (Jinja, ``str.format``, ``${}``, ``%``, matplotlib mathtext)
are fed through every text path — every attribute of every layer kind
(imported with ``ecogis layers import``), every spec text field, every CLI
text option (``screen --name``, ``patrol --title``), rule messages — into
every output: web map HTML, print PDF/PNG, report HTML, findings.json, XLSX,
GeoPackage, CSV, KML, GPX, patrol HTML/JSON/checklists.  Each output must hold
the literal text (escaped where HTML/JSON/XML) and nothing may be evaluated:
no ``3703701`` (1234567*3), no ``QJQJQJ`` (a Jinja loop), no Python object
reprs, no file created by a payload.
"""

from __future__ import annotations

import csv
import html
import json
import os
import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import openpyxl
import pyogrio
import pytest
import yaml
from defusedxml import ElementTree as ET

from ecogis.cli import main
from ecogis.normalise.schema import schemas

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"

#: Payloads that would show their evaluation if any template engine ran them.
PAYLOADS = [
    "{{ 1234567*3 }}",
    "{% for i in range(3) %}QJ{% endfor %}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ cycler.__init__.__globals__.os.makedirs('PWNED_BY_JINJA') }}",
    "{{ self.__init__.__globals__.__builtins__.__import__('os').mkdir('PWNED_BY_SELF') }}",
    "{0.__class__} {x[0]} {name!r:>9}",
    "${7*7} #{7*7} <%= 7*7 %>",
    "%s%(x)s %d%%",
    r"$\frac{1}{2}$ $x^2$",
]
#: What an evaluation of any payload would leave in an output.
MARKERS = ["3703701", "QJQJQJ", "jinja2.utils", "<class ", "__builtins__': ", "<module 'os'", "'cycler'"]
#: Files a payload would create.
PWNED = ("PWNED_BY_JINJA", "PWNED_BY_SELF")

#: Free-text fields that a kind validates (codes, dates, tags): they keep their sample values.
CHECKED = {("admin", "adcode"), ("mine", "licence_expiry"), ("project", "industry"), ("project", "activity"),
           ("project", "site_id")}


def _variants(p: str) -> set[str]:
    """The forms a literal payload takes in an output: as is, HTML-escaped, JSON-escaped, both."""
    out = set()
    for t in (p, html.escape(p, quote=False), html.escape(p, quote=True),
              html.escape(p, quote=True).replace("&#x27;", "&#39;")):  # markupsafe writes &#39;
        out.add(t)
        j = json.dumps(t, ensure_ascii=False)[1:-1]
        out.add(j)
        out.add(j.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("'", "\\u0027"))
        out.add(j.replace("<", "\\u003c").replace(">", "\\u003e"))
    return out


def _has_literal(text: str, p: str) -> bool:
    return any(v in text for v in _variants(p))


def _no_evaluation(text: str, where: str) -> None:
    for m in MARKERS:
        assert m not in text, f"{where}: evaluated payload ({m!r} found)"


def _text_fields(kind: str, df) -> list[str]:
    f = schemas()[kind].fields
    return [c for c in df.columns if c in f and not f[c].values and not f[c].pattern
            and str(df[c].dtype) in ("object", "str", "string") and (kind, c) not in CHECKED]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A workspace whose every free-text attribute is a payload, imported by the CLI; then every output."""
    root = tmp_path_factory.mktemp("inject")
    cwd = os.getcwd()
    os.chdir(root)  # a payload that creates a file would create it here
    try:
        ws = root / "ws.gpkg"
        src_ws = SAMPLE / "xilinhot.gpkg"
        fields: dict[str, list[str]] = {}
        i = 0
        for name, _ in pyogrio.list_layers(src_ws):
            if name not in schemas():
                continue
            df = pyogrio.read_dataframe(src_ws, layer=name)
            cols = _text_fields(name, df)
            for c in cols:
                df[c] = [PAYLOADS[(i + k) % len(PAYLOADS)] for k in range(len(df))]
                i += 1
            src = root / f"{name}.gpkg"
            pyogrio.write_dataframe(df, src, layer=name)
            assert main(["layers", "import", str(src), "--kind", name, "--workspace", str(ws), "--replace",
                         "--version", PAYLOADS[i % len(PAYLOADS)]]) == 0, name
            fields[name] = cols
        # a spec whose every text is a payload, showing every kind with every free field
        layers = []
        for k, (kind, cols) in enumerate(fields.items()):
            lay = {"id": f"l{k}", "kind": kind, "title": PAYLOADS[k % len(PAYLOADS)],
                   "style": {"fill": "#e31a1c", "stroke": "#b10026", "opacity": 0.3,
                             "label": PAYLOADS[(k + 1) % len(PAYLOADS)]}}
            if "name" in cols:
                lay.update(tooltip="name", label={"field": "name", "min_zoom": 1, "size": 7},
                           popup={"title": "name", "fields": [{"field": c, "label": PAYLOADS[(k + j) % len(PAYLOADS)]}
                                                              for j, c in enumerate(cols)]})
            layers.append(lay)
        spec = {"spec_version": 1, "title": {"zh": PAYLOADS[0], "en": PAYLOADS[1]},
                "subtitle": PAYLOADS[8] + " " + PAYLOADS[5], "data_date": PAYLOADS[6],
                "attribution": PAYLOADS[7] + " " + PAYLOADS[2], "approval_no": PAYLOADS[3],
                "legend": {"title": PAYLOADS[4], "entries": "auto"}, "layers": layers}
        spec_path = root / "spec.yaml"
        spec_path.write_text(yaml.safe_dump(spec, allow_unicode=True), encoding="utf-8")
        assert main(["map", str(spec_path), "-w", str(ws), "--out", str(root / "map.html"),
                     "--print", str(root / "map.pdf")]) == 0
        assert main(["map", str(spec_path), "-w", str(ws), "--print", str(root / "map.png"), "--dpi", "60"]) == 0
        # legend entries given in the spec
        spec2 = dict(spec, legend={"title": PAYLOADS[4], "entries": [
            {"label": p, "fill": "#ff0000", "stroke": "#000000"} for p in PAYLOADS]})
        spec2_path = root / "spec2.yaml"
        spec2_path.write_text(yaml.safe_dump(spec2, allow_unicode=True), encoding="utf-8")
        assert main(["map", str(spec2_path), "-w", str(ws), "--out", str(root / "map2.html"),
                     "--print", str(root / "map2.pdf")]) == 0
        # screening: site names and --name payloads, findings against payload features
        sites = pyogrio.read_dataframe(SAMPLE / "sites" / "xilinhot.geojson")
        sites["name"] = [PAYLOADS[k % len(PAYLOADS)] for k in range(len(sites))]
        sites_path = root / "sites.geojson"
        pyogrio.write_dataframe(sites, sites_path, driver="GeoJSON")
        out = root / "screen"
        rc = main(["screen", str(sites_path), "--workspace", str(ws), "--out", str(out), "--quiet",
                   "--format", "html,json,xlsx,gpkg"])
        assert rc == 0
        out2 = root / "screen_name"
        rc = main(["screen", str(sites_path), "--workspace", str(ws), "--out", str(out2), "--quiet",
                   "--format", "html,json,xlsx", "--name", PAYLOADS[0] + " " + PAYLOADS[5]])
        assert rc == 0
        # convert: payload attributes into every writable format
        conv = {}
        polys = sites[sites.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
        poly_path = root / "sites_poly.geojson"
        pyogrio.write_dataframe(polys, poly_path, driver="GeoJSON")
        for ext in ("csv", "kml", "kmz", "geojson", "gpkg", "shp", "zip"):
            target = root / "conv" / f"sites.{ext}"
            src_path = poly_path if ext in ("shp", "zip") else sites_path  # a Shapefile holds one geometry type
            assert main(["convert", str(src_path), str(target)]) == 0, ext
            conv[ext] = target
        assert main(["convert", str(sites_path), str(root / "conv" / "mixed.shp")]) == 2  # a mix: named error
        # patrol: --title payload, targets named by payloads (mines of the payload workspace)
        pws = root / "patrol_ws.gpkg"
        shutil.copy(SAMPLE / "genhe.gpkg", pws)
        mines = pyogrio.read_dataframe(pws, layer="mine")
        mines["name"] = [PAYLOADS[k % len(PAYLOADS)] for k in range(len(mines))]
        msrc = root / "mine.gpkg"
        pyogrio.write_dataframe(mines, msrc, layer="mine")
        assert main(["layers", "import", str(msrc), "--kind", "mine", "--workspace", str(pws), "--replace"]) == 0
        pout = root / "patrol"
        assert main(["patrol", "--workspace", str(pws), "--start", "121.52,50.78", "--days", "2",
                     "--mine-within-m", "50000", "--title", " ".join(PAYLOADS), "--out", str(pout)]) == 0
        yield {"root": root, "ws": ws, "fields": fields, "screen": out, "screen_name": out2, "conv": conv,
               "patrol": pout}
    finally:
        os.chdir(cwd)


def _outputs(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_nothing_was_evaluated_anywhere(world):
    root = world["root"]
    for name in PWNED:
        assert not list(root.rglob(name)) and not Path(name).exists(), f"a payload created {name}"
    scanned = 0
    for p in _outputs(root):
        if p.suffix in (".html", ".json", ".csv", ".kml", ".gpx", ".geojson", ".yaml"):
            _no_evaluation(p.read_text(encoding="utf-8-sig"), str(p.relative_to(root)))
            scanned += 1
        elif p.suffix in (".xlsx", ".kmz", ".zip"):
            with zipfile.ZipFile(p) as zf:
                for n in zf.namelist():
                    if n.endswith((".xml", ".kml", ".dbf")):
                        _no_evaluation(zf.read(n).decode("utf-8", "replace"), f"{p.name}/{n}")
            scanned += 1
    assert scanned >= 20


def test_every_attribute_of_every_kind_reaches_the_web_map_literally(world):
    page = (world["root"] / "map.html").read_text(encoding="utf-8")
    assert set(world["fields"]) >= {"redline", "protected_area", "control_unit", "mine", "project", "admin"}
    assert sum(len(c) for c in world["fields"].values()) >= 20  # free-text attributes fed
    for p in PAYLOADS:
        assert _has_literal(page, p), f"payload {p!r} not shown literally in the web map"
    assert "<script>" not in re.sub(r"<script[^>]*>", "", page.replace("</script>", ""))  # sanity


def test_spec_texts_reach_the_print_literally(world):
    if not shutil.which("pdftotext"):
        pytest.skip("poppler-utils not installed")
    for name in ("map.pdf", "map2.pdf"):
        text = subprocess.run(["pdftotext", "-raw", str(world["root"] / name), "-"], capture_output=True,
                              text=True, check=True).stdout
        flat = re.sub(r"\s+", "", text)
        # title, subtitle, data date; map2: the legend entries too (the long ones may run off the page)
        shown = [PAYLOADS[0], PAYLOADS[8], PAYLOADS[5], PAYLOADS[6]]
        if name == "map2.pdf":
            shown += [PAYLOADS[1], PAYLOADS[2], PAYLOADS[7]]
        for p in shown:
            assert re.sub(r"\s+", "", p) in flat, f"{name}: {p!r} not printed literally"
        _no_evaluation(text, name)
    assert (world["root"] / "map.png").stat().st_size > 10_000


def test_screen_outputs_hold_the_literal_text(world):
    for key in ("screen", "screen_name"):
        out = world[key]
        data = json.loads(next(out.rglob("findings.json")).read_text(encoding="utf-8"))
        blob = json.dumps(data, ensure_ascii=False)
        strings = set()

        def walk(v):
            if isinstance(v, str):
                strings.add(v)
            elif isinstance(v, dict):
                for x in v.values():
                    walk(x)
            elif isinstance(v, list):
                for x in v:
                    walk(x)
        walk(data)
        joined = "\n".join(strings)
        hits = [p for p in PAYLOADS if p in joined]
        assert len(hits) >= 5, f"{key}: only {hits} found literally in findings.json"
        _no_evaluation(blob, f"{key}/findings.json")
        for page in out.rglob("*.html"):
            h = page.read_text(encoding="utf-8")
            assert sum(_has_literal(h, p) for p in PAYLOADS) >= 5, page.name
            _no_evaluation(h, page.name)
        wb = openpyxl.load_workbook(next(out.rglob("*.xlsx")))
        cells = {str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value is not None}
        assert not [c.coordinate for ws in wb.worksheets for row in ws.iter_rows() for c in row
                    if c.data_type == "f"]
        assert sum(any(p in c for c in cells) for p in PAYLOADS) >= 5
    named = json.loads(next(world["screen_name"].rglob("findings.json")).read_text(encoding="utf-8"))
    assert PAYLOADS[0] + " " + PAYLOADS[5] in json.dumps(named, ensure_ascii=False)  # screen --name, literal


def test_converted_files_hold_the_literal_text(world):
    conv = world["conv"]
    with open(conv["csv"], encoding="utf-8-sig", newline="") as fh:
        names = [r["name"] for r in csv.DictReader(fh)]
    assert set(names) <= set(PAYLOADS) and len(set(names)) >= 5
    root = ET.fromstring(conv["kml"].read_bytes())
    texts = {t.strip() for t in root.itertext() if t.strip()}
    assert sum(any(p in t for t in texts) for p in PAYLOADS) >= 5
    for ext in ("geojson", "gpkg", "shp", "zip"):
        df = pyogrio.read_dataframe(conv[ext] if ext != "zip" else f"/vsizip/{conv[ext]}")
        assert set(df["name"]) <= set(PAYLOADS), ext


def test_patrol_outputs_hold_the_literal_text(world):
    out = world["patrol"]
    title = " ".join(PAYLOADS)
    for name in ("patrol.html", "checklist.html"):
        h = (out / name).read_text(encoding="utf-8")
        assert _has_literal(h, title) or all(_has_literal(h, p) for p in PAYLOADS), f"{name}: title not literal"
        _no_evaluation(h, name)
    summary = (out / "patrol.json").read_text(encoding="utf-8")
    _no_evaluation(summary, "patrol.json")
    gpx = ET.fromstring((out / "route.gpx").read_bytes())
    texts = "\n".join(t for t in gpx.itertext())
    assert sum(p in texts for p in PAYLOADS) >= 3
    kml = ET.fromstring((out / "route.kml").read_bytes())
    assert sum(p in "\n".join(kml.itertext()) for p in PAYLOADS) >= 3
    with open(out / "checklist.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert sum(any(p in c for r in rows for c in r) for p in PAYLOADS) >= 3
    wb = openpyxl.load_workbook(out / "checklist.xlsx")
    vals = {str(c.value) for ws in wb.worksheets for row in ws.iter_rows() for c in row if c.value}
    assert sum(any(p in v for v in vals) for p in PAYLOADS) >= 3


@pytest.mark.parametrize("placeholder", ["{feature_name.__class__}", "{feature_name[0]}", "{site_name!r}",
                                         "{0}", "{}", "{feature_name:>{width}}"])
def test_a_rule_message_may_use_named_fields_only(tmp_path, placeholder):
    """Rule messages are restricted formats: attribute access, indexing, conversions, formats refused at load."""
    from ecogis.errors import RuleError
    from ecogis.rules import load_rules

    src = (REPO / "rules" / "local" / "arxan.yaml").read_text(encoding="utf-8")
    bad = src.replace("与生态保护红线“{feature_name}”", f"与生态保护红线“{placeholder}”", 1)
    assert bad != src
    p = tmp_path / "arxan.yaml"
    p.write_text(bad, encoding="utf-8")
    with pytest.raises(RuleError) as exc:
        load_rules([p])
    assert "message_zh" in str(exc.value)


def test_rule_messages_insert_payload_values_literally():
    from ecogis.rules import load_rules

    rs = load_rules([REPO / "rules" / "local" / "arxan.yaml"])
    rule = next(r for r in rs.rules if "{feature_name}" in r.message_zh)
    for p in PAYLOADS:
        msg = rule.render_message("zh", feature_name=p, site_name=p)
        assert p in msg
        _no_evaluation(msg, rule.id)


def test_folium_built_in_elements_render_data_once(tmp_path):
    """The fix is in branca's render: folium's own GeoJson, tooltips, popups, markers and layer names too."""
    import folium
    from branca.element import Div, Figure

    from ecogis.render import webmap  # noqa: F401 - installs ecogis.render.foliumsafe

    m = folium.Map(location=[43.9, 116.1], zoom_start=10, tiles=None)
    feats = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": p}, "geometry": {"type": "Point", "coordinates": [116.1, 43.9]}}
        for p in PAYLOADS]}
    folium.GeoJson(feats, name=PAYLOADS[0], tooltip=folium.GeoJsonTooltip(["name"]),
                   popup=folium.GeoJsonPopup(["name"])).add_to(m)
    for p in PAYLOADS:
        folium.Marker([43.9, 116.1], popup=folium.Popup(html.escape(p)), tooltip=html.escape(p)).add_to(m)
    folium.LayerControl().add_to(m)
    page = m.get_root().render()
    for p in PAYLOADS:
        assert _has_literal(page, p), p
    _no_evaluation(page, "folium page")
    fig = Figure()
    Div().add_to(fig)
    fig.render()
    for name in PWNED:
        assert not Path(name).exists()
