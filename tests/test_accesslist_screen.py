"""Screening against access lists: adversarial wording never yields a false 符合; 不符合 where a clause applies."""

from __future__ import annotations

import json
import shutil

import geopandas as gpd
import pytest
import shapely

from ecogis.accesslist import import_accesslist, screen_access
from ecogis.workspace import open_workspace

UNIT = "ZH15078520001"
BOX = shapely.box(121.50, 50.75, 121.60, 50.80)


def _ws(tmp_path, rows: list[tuple[str, str, str]]):
    """A workspace with one 重点管控 unit and a CSV list of (code, dimension, text)."""
    ws_path = tmp_path / "ws.gpkg"
    ws = open_workspace(ws_path, create=True)
    units = gpd.GeoDataFrame({"code": [UNIT], "name": ["测试重点管控单元"], "class": ["重点管控"]},
                             geometry=[BOX], crs=4490)
    ws.write("control_unit", units, source="test", version="t", replace=True)
    csv = tmp_path / "list.csv"
    lines = ["管控单元编码,管控单元名称,管控单元类别,管控维度,管控要求"]
    lines += [f"{c},测试单元,重点管控,{d},\"{t}\"" for c, d, t in rows]
    csv.write_text("\n".join(lines) + "\n", encoding="utf-8")
    import_accesslist(csv, ws_path)
    return ws_path


def _sites(specs: list[dict]):
    geoms = [shapely.box(121.52 + 0.005 * i, 50.76, 121.524 + 0.005 * i, 50.764) for i in range(len(specs))]
    recs = [{"site_id": f"S{i}", "name": f"site {i}", "industry": None, "nature": None, "activity": None,
             "national_major": False, **s} for i, s in enumerate(specs)]
    return gpd.GeoDataFrame(recs, geometry=geoms, crs=4490)


def _results(tmp_path, text: str, specs: list[dict], dim: str = "空间布局约束") -> list[str]:
    ws = _ws(tmp_path, [(UNIT, dim, text)])
    acc = screen_access(_sites(specs), ws)
    t = acc.table[acc.table["level"] == "unit"].set_index("site_id")
    return [t.loc[f"S{i}", "result"] for i in range(len(specs))]


# (wording, project, expected result) — the project each time is inside or ambiguous, never clearly outside
ADVERSARIAL = [
    ("禁止新建化工项目，符合规划的园区内项目除外。", {"industry": "C2614", "nature": "新建"}, "不符合"),
    ("除国家重大项目外，禁止新建煤化工项目。", {"industry": "C2522", "nature": "新建", "national_major": True}, "需人工核对"),
    ("除国家重大项目外，禁止新建煤化工项目。", {"industry": "C2522", "nature": "新建"}, "不符合"),
    ("禁止新建化工项目（精细化工除外）。", {"industry": "C2661", "nature": "新建"}, "不符合"),
    ("不得新建、扩建焦化项目。", {"industry": "C2521", "nature": "扩建"}, "不符合"),
    ("严禁新建电解铝项目。", {"industry": "C3216", "nature": "新建"}, "不符合"),
    ("原则上不再新建水泥项目。", {"industry": "C3011", "nature": "新建"}, "不符合"),
    ("禁止新建化工、焦化等高污染项目。", {"industry": "C1523", "nature": "新建"}, "需人工核对"),
    ("禁止新建化工、焦化等高污染项目。", {"industry": "C2211", "nature": "新建"}, "不符合"),
    ("禁止新建不符合产业政策的化工项目。", {"industry": "C2614", "nature": "新建"}, "需人工核对"),
    ("禁止新建不符合产业政策的化工项目。", {"industry": "K7010", "nature": "新建"}, "需人工核对"),
    ("依法禁止或限制大规模、高强度的工业开发和城镇建设。", {"industry": "K7010", "nature": "新建"}, "需人工核对"),
    ("禁止新建高污染工业项目。", {"industry": "C1523", "nature": "新建"}, "需人工核对"),
    ("坚决杜绝新建高耗水项目。", {"industry": "H6110", "nature": "新建"}, "需人工核对"),
    ("禁止新建燃煤锅炉。", {"industry": "K7010", "nature": "扩建"}, "需人工核对"),
    ("禁止新建燃煤锅炉。", {"industry": "K7010", "nature": "新建", "activity": "high_pollution_fuel"}, "不符合"),
    ("禁止新建每小时35蒸吨以下燃煤锅炉。", {"industry": "D4430", "nature": "新建"}, "需人工核对"),
    ("禁止新建每小时35蒸吨以下燃煤锅炉。", {"industry": "D4430", "nature": "新建", "boiler_tph": 20}, "不符合"),
    ("禁止新建每小时35蒸吨以下燃煤锅炉。", {"industry": "D4430", "nature": "新建", "boiler_tph": 35}, "不符合"),
    ("在城市建成区内禁止新建燃煤锅炉。", {"industry": "D4430", "nature": "新建"}, "需人工核对"),
    ("禁止新建化工项目。", {"industry": None, "nature": "新建"}, "需人工核对"),
    ("禁止新建化工项目。", {"industry": "C2614", "nature": None}, "需人工核对"),
    ("禁止新建化工项目。加强环境监管。", {"industry": "K7010", "nature": "新建"}, "需人工核对"),
    ("加强工业企业环境监管。", {"industry": "K7010", "nature": "新建"}, "需人工核对"),
    ("新建化工项目须进入合规化工园区。", {"industry": "C2614", "nature": "新建"}, "不符合"),
    ("严禁工业新增取用地下水。", {"industry": "C1523", "nature": "新建"}, "需人工核对"),
    ("限制新建年出栏5000头以上的畜禽养殖场。", {"industry": "A0313", "nature": "新建", "livestock_head": 8000}, "不符合"),
    ("限制新建年出栏5000头以上的畜禽养殖场。", {"industry": "A0313", "nature": "新建"}, "需人工核对"),
    ("禁止新建除风电以外的工业项目。", {"industry": "D4416", "nature": "新建"}, "不符合"),
    ("禁止新建、改建、扩建排放污染物的建设项目。", {"industry": "K7010", "nature": "新建"}, "需人工核对"),
    ("化工项目以外的工业项目禁止新建。", {"industry": "C1523", "nature": "新建"}, "不符合"),
    ("禁止新(扩)建焦化项目。", {"industry": "C2521", "nature": "扩建"}, "不符合"),
    ("禁止新建、扩建化工、造纸、制革、印染、电镀等重污染项目。", {"industry": "C3360", "nature": "新建"}, "不符合"),
    ("禁止新建、扩建化工、造纸、制革、印染、电镀等重污染项目。", {"industry": "C3130", "nature": "新建"}, "需人工核对"),
    ("禁止新建工业项目，符合规划的风电项目除外。", {"industry": "D4415", "nature": "新建"}, "不符合"),
    ("禁止新建工业项目，风电、光伏项目除外。", {"industry": "C2614", "nature": "新建"}, "不符合"),
    ("严禁在本单元内新建燃煤电厂。", {"industry": "D4411", "nature": "新建"}, "不符合"),
    ("新建项目不得使用燃煤锅炉。", {"industry": "K7010", "nature": "新建"}, "需人工核对"),
    ("不得新建不符合国家产业政策的项目。", {"industry": "K7010", "nature": "新建"}, "需人工核对"),
    ("禁止新建年产30万吨以下的水泥项目。", {"industry": "C3011", "nature": "新建", "capacity_10kt_a": 20}, "不符合"),
    ("禁止新建年产30万吨以下的水泥项目。", {"industry": "C3011", "nature": "新建"}, "需人工核对"),
    ("禁止新建除热电联产以外的燃煤电厂。", {"industry": "D4411", "nature": "新建"}, "不符合"),
    ("禁止新建燃煤发电项目（火电除外）。", {"industry": "D4411", "nature": "新建"}, "不符合"),
    ("禁止在单元内新建、扩建化工、制药、印染等项目。", {"industry": "C2710", "nature": "新建"}, "不符合"),
    ("禁止新建化工项目和排放有毒有害物质的项目。", {"industry": "C1523", "nature": "新建"}, "需人工核对"),
    ("禁止新建、扩建危险废物焚烧项目，但经批准的集中处置设施除外。", {"industry": "N7724", "nature": "新建"}, "不符合"),
    ("限制规模化畜禽养殖，禁止新建存栏500头以上的养猪场。", {"industry": "A0313", "nature": "新建"}, "不符合"),
    ("禁止新建化工项目；现有化工企业应逐步搬迁入园。", {"industry": "K7010", "nature": "新建"}, "需人工核对"),
]


@pytest.mark.parametrize("text,project,expected", ADVERSARIAL)
def test_adversarial_wording_never_false_compliant(tmp_path, text, project, expected):
    (got,) = _results(tmp_path, text, [project])
    assert got == expected, (text, project, got)
    assert got != "符合"


def test_compliant_only_when_surely_outside(tmp_path):
    specs = [{"industry": "K7010", "nature": "新建"}, {"industry": "C2614", "nature": "改建"},
             {"industry": "D4415", "nature": "新建"}, {"industry": "D4430", "nature": "新建", "boiler_tph": 40}]
    assert _results(tmp_path, "禁止新建化工项目。", specs[:2]) == ["符合", "符合"]
    assert _results(tmp_path / "b", "禁止新建除风电以外的工业项目。", [specs[2]]) == ["符合"]
    assert _results(tmp_path / "d", "禁止新建工业项目，风电、光伏项目除外。", [specs[2]]) == ["符合"]
    assert _results(tmp_path / "e", "禁止新建年产30万吨以下的水泥项目。",
                    [{"industry": "C3011", "nature": "新建", "capacity_10kt_a": 60}]) == ["符合"]
    assert _results(tmp_path / "c", "禁止新建每小时35蒸吨以下燃煤锅炉。", [specs[3]]) == ["符合"]


def test_severity_follows_effect_and_verdict(tmp_path):
    ws = _ws(tmp_path, [(UNIT, "空间布局约束", "禁止新建焦化项目。"), (UNIT, "空间布局约束", "限制新建电石项目。"),
                        (UNIT, "资源利用效率", "新建化工项目须进入合规化工园区。")])
    sites = _sites([{"industry": "C2521", "nature": "新建"}, {"industry": "C2619", "nature": "新建"},
                    {"industry": "C2614", "nature": "新建"}])
    acc = screen_access(sites, ws)
    sev = acc.findings.groupby("site_id")["severity"].agg(lambda x: sorted(set(x))).to_dict()
    assert sev == {"S0": ["prohibited"], "S1": ["restricted", "review"], "S2": ["review"]}  # 电石 is 化工 too
    assert set(acc.findings["layer_kind"]) == {"control_unit"}
    assert (acc.findings["overlap_pct"] == 100.0).all()


def test_general_requirements_apply_by_place_and_class(tmp_path):
    ws = _ws(tmp_path, [(UNIT, "空间布局约束", "加强管理。"), ("全区", "空间布局约束", "禁止新建焦化项目。"),
                        ("呼伦贝尔市", "空间布局约束", "禁止新建电石项目。"), ("锡林郭勒盟", "空间布局约束", "禁止新建水泥项目。")])
    acc = screen_access(_sites([{"industry": "C2521", "nature": "新建"}]), ws)
    levels = acc.table.groupby("level")["result"].first().to_dict()
    assert levels["province"] == "不符合" and levels["city"] == "符合" and "unit" in levels
    assert not acc.table["text"].str.contains("水泥").any()  # another league's list does not apply


def test_screen_hook_fills_outputs(tmp_path):
    """A sample workspace copy with the sample lists: findings, verdicts, findings.json/xlsx and report.html."""
    import openpyxl

    import ecogis
    from ecogis.accesslist.samples import with_sample_lists
    from ecogis.render.outputs import write_outputs
    from ecogis.settings import settings

    ws = with_sample_lists("genhe", settings.sample_dir, tmp_path / "ws")
    site = gpd.GeoDataFrame({"site_id": ["X1"], "name": ["<script>焦化</script>"], "industry": ["C2521"],
                             "nature": ["新建"]}, geometry=[shapely.box(121.52, 50.77, 121.521, 50.771)], crs=4490)
    # put the site inside a 优先保护 unit of the sample data
    units = open_workspace(ws).read("control_unit")
    unit = units[units["class"] == "优先保护"].iloc[0]
    site.geometry = [shapely.buffer(unit.geometry.representative_point(), 0.001)]
    result = ecogis.screen(site, ws, progress=False)
    assert hasattr(result, "accesslist") and len(result.accesslist)
    bad = result.findings[result.findings["rule_id"].str.startswith("ACCESS-")]
    assert len(bad) and result.sites["verdict"].iloc[0] == "prohibited"
    write_outputs(result, tmp_path / "out", formats=["json", "xlsx", "html"])
    doc = json.loads((tmp_path / "out" / "findings.json").read_text(encoding="utf-8"))
    assert doc["accesslist"]["items"] and doc["accesslist"]["meta"]["lists"]
    assert "准入清单对照" in openpyxl.load_workbook(tmp_path / "out" / "findings.xlsx").sheetnames
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "生态环境准入清单逐项对照" in html and "<script>焦化" not in html


def test_no_lists_no_change(tmp_path):
    import ecogis
    from ecogis.settings import settings

    shutil.copy2(settings.sample_dir / "genhe.gpkg", tmp_path / "g.gpkg")
    site = gpd.GeoDataFrame({"site_id": ["X"], "industry": ["C2521"], "nature": ["新建"]},
                            geometry=[shapely.box(121.52, 50.77, 121.521, 50.771)], crs=4490)
    result = ecogis.screen(site, tmp_path / "g.gpkg", progress=False)
    assert not hasattr(result, "accesslist")
