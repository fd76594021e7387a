"""Published-map specs: the shipped specs load, broken specs name the wrong key, rendering is offline and escaped."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import geopandas as gpd
import pytest
import shapely
import yaml

from ecogis.errors import EcogisError, SpecError
from ecogis.render import assets, publish, styles
from ecogis.render.spec import SCHEMA, key_path, load_spec, parse_spec, read_layers

REPO = Path(__file__).resolve().parent.parent
MAPS = REPO / "maps"
SAMPLE = REPO / "layers" / "sample"
CITIES = ("genhe", "arxan", "manzhouli", "xilinhot")


def _doc(city: str = "manzhouli", name: str = "zoning") -> dict:
    return yaml.safe_load((MAPS / city / f"{name}.yaml").read_text(encoding="utf-8"))


def _where(doc: dict) -> str:
    with pytest.raises(SpecError) as exc:
        parse_spec(doc, path="x.yaml")
    assert "x.yaml" in str(exc.value)
    return exc.value.where


# --------------------------------------------------------------------------- shipped specs
@pytest.mark.parametrize("city", CITIES)
def test_every_city_ships_three_specs_that_load(city):
    for name in publish.SAMPLE_MAPS:
        spec = load_spec(MAPS / city / f"{name}.yaml")
        assert spec.basemap == "none" and spec.data_date and spec.attribution
        assert spec.title["zh"] and spec.title["en"]
        data = read_layers(spec, SAMPLE / f"{city}.gpkg")
        assert all(len(g) for _, g in data)


def test_schema_file_is_the_code_schema():
    assert json.loads((MAPS / "spec.schema.json").read_text(encoding="utf-8")) == SCHEMA


@pytest.mark.parametrize("city", CITIES)
def test_zoning_specs_use_the_fixed_control_unit_palette(city):
    spec = load_spec(MAPS / city / "zoning.yaml")
    units = next(layer for layer in spec.layers if layer.kind == "control_unit")
    assert units.style_by == "class" and set(units.classes) == set(styles.CONTROL_UNIT)
    for cls, fixed in styles.CONTROL_UNIT.items():
        got = units.class_style(cls)
        assert (got.fill, got.stroke, got.label, got.label_en) == (fixed.fill, fixed.stroke, fixed.label,
                                                                   fixed.label_en)
    fields = [f.field for f in units.popup_fields]
    assert fields[:2] == ["code", "class"] and "spatial_constraint" in fields


def test_protected_area_specs_distinguish_the_zones():
    spec = load_spec(MAPS / "xilinhot" / "protected_areas.yaml")
    pa = next(layer for layer in spec.layers if layer.kind == "protected_area")
    assert pa.style_by == "zone"
    fills = {k: pa.class_style(k).fill for k in pa.classes}
    assert fills["核心保护区"] != fills["一般控制区"] and fills["核心区"] != fills["缓冲区"] != fills["实验区"]
    assert {"zone", "level"} <= {f.field for f in pa.popup_fields}


# --------------------------------------------------------------------------- broken specs
def test_unknown_key_is_named_with_its_path():
    doc = _doc()
    doc["layers"][0]["style"] = {"fil": "#ffffff"}
    assert _where(doc) == "key layers[0].style.fil"
    doc = _doc()
    doc["titel"] = "x"
    assert _where(doc) == "key titel"
    doc = _doc()
    doc["title"] = {"zh": "图", "fr": "carte"}
    assert _where(doc) == "key title.fr"


def test_wrong_value_is_named_with_its_path():
    doc = _doc()
    doc["layers"][1]["style"]["fill"] = "red-ish"
    assert _where(doc) == "key layers[1].style.fill"
    doc = _doc()
    doc["layers"][0]["classes"]["优先保护"]["opacity"] = 3
    assert _where(doc) == "key layers[0].classes.优先保护.opacity"
    doc = _doc()
    doc["basemap"] = "google"
    assert _where(doc) == "key basemap"
    doc = _doc()
    del doc["layers"][0]["kind"]
    assert _where(doc) == "key layers[0]"


def test_semantic_errors_name_the_key():
    doc = _doc()
    doc["layers"][0]["kind"] = "control_units"
    assert _where(doc) == "key layers[0].kind"
    doc = _doc()
    doc["layers"][0]["popup"]["fields"][1]["field"] = "klass"
    assert _where(doc) == "key layers[0].popup.fields[1].field"
    doc = _doc()
    doc["layers"][0]["classes"]["优先保户"] = doc["layers"][0]["classes"].pop("优先保护")
    assert _where(doc) == "key layers[0].classes.优先保户"
    doc = _doc()
    doc["layers"][0]["filter"] = {"class": ["重点管控", "一般"]}
    assert _where(doc) == "key layers[0].filter.class[1]"
    doc = _doc()
    doc["layers"][1]["id"] = doc["layers"][0]["id"]
    assert _where(doc) == "key layers[1].id"
    doc = _doc()
    doc["view"] = {"bounds": [120, 50, 110, 51]}
    assert _where(doc) == "key view.bounds"


def test_yaml_problems_name_the_file_and_line(tmp_path):
    bad = tmp_path / "dup.yaml"
    bad.write_text("spec_version: 1\ntitle: a\ntitle: b\nlayers: []\n", encoding="utf-8")
    with pytest.raises(SpecError, match="duplicate key 'title'") as exc:
        load_spec(bad)
    assert exc.value.where == "line 3" and str(bad) in str(exc.value)
    obj = tmp_path / "obj.yaml"
    obj.write_text("spec_version: 1\ntitle: !!python/object/apply:os.system ['echo hi']\nlayers: []\n",
                   encoding="utf-8")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(obj)
    with pytest.raises(SpecError, match="not found"):
        load_spec(tmp_path / "missing.yaml")
    assert key_path(["layers", 1, "style", "fill"]) == "layers[1].style.fill"


def test_workspace_without_the_layer_names_the_key(tmp_path):
    doc = _doc()
    doc["layers"][0]["kind"] = "mine"
    doc["layers"][0].pop("style_by"), doc["layers"][0].pop("classes"), doc["layers"][0].pop("popup")
    doc["layers"][0].pop("label"), doc["layers"][0].pop("tooltip")
    from ecogis.workspace import open_workspace

    ws = open_workspace(tmp_path / "w.gpkg", create=True)
    admin = open_workspace(SAMPLE / "manzhouli.gpkg").read("admin")
    ws.write("admin", admin, source="test", version="1")
    with pytest.raises(SpecError, match="no 'mine' layer") as exc:
        read_layers(parse_spec(doc), ws)
    assert exc.value.where == "key layers[0].kind"


# --------------------------------------------------------------------------- rendering
def test_published_map_is_offline_escaped_and_small(tmp_path):
    spec = load_spec(MAPS / "manzhouli" / "zoning.yaml")
    m = publish.build_map(spec, SAMPLE / "manzhouli.gpkg")
    html = publish.webmap.to_html(m)
    assets.assert_offline(html)
    assert not re.search(r"<(script|link)[^>]+(src|href)=[\"']?https?:", html)
    assert "L.tileLayer" not in html  # no basemap by default
    assert m.ecogis_counts == {"units": 15, "boundary": 1}
    assert "满洲里市环境管控单元图" in html and "数据日期：2026-11" in html
    assert len(html.encode()) < 5_000_000
    en = publish.render_html(spec, SAMPLE / "manzhouli.gpkg", lang="en")
    assert "Manzhouli: environmental control units" in en and "Priority protection unit" in en


def test_amap_basemap_shifts_layers_and_says_so():
    spec = load_spec(MAPS / "manzhouli" / "redline.yaml")
    html = publish.render_html(spec, SAMPLE / "manzhouli.gpkg", basemap="amap")
    assert "GCJ-02" in html and "autonavi" in html
    plain = publish.render_html(spec, SAMPLE / "manzhouli.gpkg")
    assert plain != html


def test_auto_simplify_follows_the_view():
    small = publish.auto_simplify_m((117.2, 49.3, 117.3, 49.35))
    big = publish.auto_simplify_m((115.0, 43.0, 117.0, 44.9))
    assert publish.AUTO_SIMPLIFY_RANGE[0] <= small < big <= publish.AUTO_SIMPLIFY_RANGE[1]


def test_cli_map_writes_html_and_reports_spec_errors(tmp_path, capsys):
    import argparse

    from ecogis.cli import map as map_cli

    parser = argparse.ArgumentParser()
    map_cli.register(parser.add_subparsers())
    out = tmp_path / "z.html"
    a = parser.parse_args(["map", str(MAPS / "manzhouli" / "redline.yaml"), "--workspace",
                           str(SAMPLE / "manzhouli.gpkg"), "--out", str(out), "--lang", "en"])
    assert a.func(a) == 0 and out.stat().st_size > 10_000
    assert "redline 6" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    doc = _doc("manzhouli", "redline")
    doc["layers"][0]["style"]["stroke"] = 12
    bad.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    a = parser.parse_args(["map", str(bad), "-w", str(SAMPLE / "manzhouli.gpkg"), "--out", str(out)])
    with pytest.raises(SpecError, match=r"layers\[0\]\.style\.stroke"):
        a.func(a)
    a = parser.parse_args(["map", str(bad), "-w", str(SAMPLE / "manzhouli.gpkg")])
    with pytest.raises(EcogisError, match="nothing to write"):
        a.func(a)


def test_unknown_class_values_fall_back_and_hostile_text_is_escaped():
    doc = _doc()
    spec = parse_spec(copy.deepcopy(doc))
    frame = gpd.GeoDataFrame({"code": ["ZH150781100001"], "name": ["<b>x</b>"], "class": ["重点管控"],
                              "spatial_constraint": ["<img src=x onerror=alert(2)>"]},
                             geometry=[shapely.box(117.3, 49.4, 117.4, 49.5)], crs=4490)

    class WS:
        def has(self, kind):
            return True

        def kinds(self):
            return ["control_unit", "admin"]

        def read(self, kind):
            return frame.assign(level="县级", adcode="150781") if kind == "admin" else frame

    html = publish.render_html(spec, WS())
    assert "<img src=x" not in html and "<b>x</b>" not in html
    assert "&lt;img src=x onerror=alert(2)&gt;" in html.replace("\\u003c", "<").replace("\\u003e", ">")


def test_minimal_spec_defaults(tmp_path):
    spec = parse_spec({"title": "测试图", "layers": [{"kind": "redline"}, {"kind": "redline"}]})
    assert [layer.id for layer in spec.layers] == ["redline", "redline_2"]
    assert spec.basemap == "none" and spec.lang == "zh" and spec.simplify_m is None
    html = publish.render_html(spec, SAMPLE / "manzhouli.gpkg")
    assert "测试图" in html


def test_cli_accepts_the_spec_as_an_option(tmp_path):
    import argparse

    from ecogis.cli import map as map_cli

    parser = argparse.ArgumentParser()
    map_cli.register(parser.add_subparsers())
    out = tmp_path / "m.html"
    a = parser.parse_args(["map", "--spec", str(MAPS / "manzhouli" / "protected_areas.yaml"), "-w",
                           str(SAMPLE / "manzhouli.gpkg"), "-o", str(out)])
    assert a.func(a) == 0 and out.exists()
    a = parser.parse_args(["map", "-w", str(SAMPLE / "manzhouli.gpkg"), "-o", str(out)])
    with pytest.raises(SpecError, match="give one map spec"):
        a.func(a)


# --------------------------------------------------------------------------- issue 16: keys, aliases, warnings
def test_thematic_map_keys_have_defaults_and_are_checked():
    doc = _doc()
    for k in ("organization", "map_date", "attribution_prefix"):
        doc.pop(k, None)
    spec = parse_spec(doc)
    assert spec.organization is None and spec.map_date is None and spec.attribution_prefix == "Leaflet"
    assert spec.print_grid and spec.print_north_arrow and spec.print_scale_bar and spec.print_numeric_scale
    lines = publish.credit_lines(spec, "zh")
    assert lines[-1] == publish.UNAPPROVED["zh"] and any(s.startswith("制图日期：") for s in lines)
    assert "制图单位：（未填写）" in lines
    bad = _doc()
    bad["print"]["paper"] = "B5"
    with pytest.raises(SpecError) as e:
        parse_spec(bad)
    assert "print.paper" in str(e.value)
    bad = _doc()
    bad["organisation"] = "x"
    with pytest.raises(SpecError, match="unknown key 'organisation'"):
        parse_spec(bad)
    for paper in ("A2", "A1", "A0"):
        ok = _doc()
        ok["print"]["paper"] = paper
        assert parse_spec(ok).paper == paper


def test_attribution_is_not_labelled_twice():
    doc = _doc()
    doc["attribution"] = "数据来源：某局"
    doc["organization"] = "制图单位：某院"
    lines = publish.credit_lines(parse_spec(doc), "zh")
    assert "数据来源：某局" in lines and "制图单位：某院" in lines
    assert not any("数据来源：数据来源" in s or "制图单位：制图单位" in s for s in lines)


def test_chinese_field_names_are_aliases():
    doc = _doc()
    layer = doc["layers"][0]
    layer["label"] = {"field": "名称"}
    layer["tooltip"] = "名称"
    spec = parse_spec(doc)
    assert spec.layers[0].label_field == "name" and spec.layers[0].tooltip == "name"
    layer["tooltip"] = "不存在的字段"
    with pytest.raises(SpecError, match="has no field '不存在的字段'") as e:
        parse_spec(doc)
    assert "layers[0].tooltip" in str(e.value)


def test_hatches_need_hatch_by_and_known_values():
    doc = _doc("xilinhot", "protected_areas")
    spec = parse_spec(doc)
    assert spec.layers[0].hatch_by == "type" and spec.layers[0].hatches["湿地公园"] == ".."
    d2 = copy.deepcopy(doc)
    d2["layers"][0]["hatches"]["城市公园"] = "//"
    with pytest.raises(SpecError, match="not a value of protected_area.type"):
        parse_spec(d2)
    d3 = copy.deepcopy(doc)
    del d3["layers"][0]["hatch_by"]
    with pytest.raises(SpecError, match="'hatches' needs 'hatch_by'"):
        parse_spec(d3)


def test_spec_warns_of_missing_classes_and_titles():
    from ecogis.notes import Notes

    doc = _doc("xilinhot", "protected_areas")
    del doc["layers"][0]["classes"]["一般控制区"]
    del doc["layers"][1]["title"]
    spec = parse_spec(doc)
    notes = Notes()
    read_layers(spec, SAMPLE / "xilinhot.gpkg", notes)
    msgs = [str(n) for n in notes]
    assert any("一般控制区" in m and "classes" in m and "其他" in m for m in msgs)
    assert any("layers[1].title" in m for m in msgs)
    assert spec.layers[1].name("zh") == "行政区划"  # the kind's Chinese name, not 'admin'


def test_web_map_attribution_prefix_is_plain_leaflet(tmp_path):
    html = publish.render_html(MAPS / "manzhouli" / "zoning.yaml", SAMPLE / "manzhouli.gpkg")
    assert '"Leaflet")' in html or "'Leaflet')" in html or 'EcogisPrefix' in html or "setPrefix" in html
    assert "审图号：未经审核" in html
    doc = _doc()
    doc["attribution_prefix"] = None
    m = publish.build_map(parse_spec(doc), SAMPLE / "manzhouli.gpkg")
    assert "setPrefix(prefix)" in m.get_root().render()
