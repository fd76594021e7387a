"""Reading published lists: header variants, merged and multi-line cells, GBK, errors naming the place; versions."""

from __future__ import annotations

import shutil

import openpyxl
import pytest

from ecogis.accesslist import import_accesslist, lists_in, read_accesslist
from ecogis.accesslist.reader import split_items
from ecogis.accesslist.samples import CITY_LISTS, lists_dir
from ecogis.accesslist.store import TABLE, coverage_of, parse_items
from ecogis.errors import InputError
from ecogis.settings import settings
from ecogis.workspace import open_workspace


def test_split_items_numbering():
    assert split_items("1.禁止新建焦化项目。\n2.限制新建电石项目。") == ["禁止新建焦化项目。", "限制新建电石项目。"]
    assert split_items("（1）禁止A；（2）限制B") == ["禁止A;", "限制B"]
    assert split_items("①禁止A。②限制B。") == ["禁止A。", "限制B。"]
    assert split_items("禁止新建1.5万吨以下项目") == ["禁止新建1.5万吨以下项目"]


def test_xlsx_merged_multiline_and_header_variants(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["某市生态环境准入清单"])
    ws.merge_cells("A1:F1")
    ws.append(["序号", "HJGKDYBM", "DYMC", "单元\n类别", "空间布局约束", "资源开发效率要求"])
    ws.append([1, "ZH15078520001", "城区单元", "重点管控单元", "1.禁止新建焦化项目。\n2.限制新建电石项目。", "严禁工业新增取用地下水。"])
    ws.append([2, None, None, None, "禁止新建水泥项目。", None])
    ws.merge_cells("B3:B4")
    ws.merge_cells("C3:C4")
    p = tmp_path / "l.xlsx"
    wb.save(p)
    items = read_accesslist(p)
    assert list(items["text"]) == ["禁止新建焦化项目。", "限制新建电石项目。", "严禁工业新增取用地下水。", "禁止新建水泥项目。"]
    assert set(items["unit_code"]) == {"ZH15078520001"} and set(items["unit_class"]) == {"重点管控"}
    assert list(items["dimension"]) == ["空间布局约束", "空间布局约束", "资源利用效率", "空间布局约束"]


def test_gbk_csv_dimension_and_text_columns(tmp_path):
    p = tmp_path / "l.csv"
    p.write_bytes("单元编码,单元名称,管控维度,准入要求\nZH15078530001,一般单元,环境风险,禁止新建危险废物处置项目\n"
                  .encode("gbk"))
    items = read_accesslist(p)
    assert items.loc[0, "dimension"] == "环境风险防控" and items.loc[0, "unit_class"] == "一般管控"


@pytest.mark.parametrize("body,needle", [
    ("ZH1507854001,u,空间布局约束,禁止A", "row 2, column A"),
    ("ZH15078520001,u,不知道,禁止A", "unknown dimension"),
    ("火星,u,空间布局约束,禁止A", "neither a unit code nor a place"),
])
def test_errors_name_file_row_column(tmp_path, body, needle):
    p = tmp_path / "bad.csv"
    p.write_text("环境管控单元编码,环境管控单元名称,管控维度,管控要求\n" + body + "\n", encoding="utf-8")
    with pytest.raises(InputError) as e:
        read_accesslist(p)
    assert "bad.csv" in str(e.value) and needle in str(e.value)


def test_class_digit_checked(tmp_path):
    p = tmp_path / "c.csv"
    p.write_text("单元编码,单元类别,空间布局约束\nZH15078510001,重点管控,禁止A\n", encoding="utf-8")
    with pytest.raises(InputError, match="class digit|9th digit"):
        read_accesslist(p)


def test_no_header(tmp_path):
    p = tmp_path / "n.csv"
    p.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="no header row"):
        read_accesslist(p)


def test_import_versions_sha_and_unit_check(tmp_path):
    ws = tmp_path / "g.gpkg"
    shutil.copy2(settings.sample_dir / "genhe.gpkg", ws)
    rep = import_accesslist(lists_dir() / "hulunbuir.xlsx", ws)
    assert not rep.check.units_without_list  # every Genhe unit has items
    assert len(rep.check.entries_without_unit) == 15  # the Manzhouli units are not in Genhe's layer
    rep2 = import_accesslist(lists_dir() / "neimenggu_region.csv", ws)
    w = open_workspace(ws)
    hist = w.table_history(TABLE)
    assert len(hist) == 2 and hist[-1].sha256 == rep2.sha256 and hist[-1].current and not hist[0].current
    assert set(lists_in(w)) == {"hulunbuir", "neimenggu_region"}
    assert len(w.read_table(TABLE)) == rep.items + rep2.items
    # re-importing a list replaces its items
    import_accesslist(lists_dir() / "neimenggu_region.csv", ws)
    assert len(open_workspace(ws).read_table(TABLE)) == rep.items + rep2.items
    assert "accesslist" not in open_workspace(ws).kinds()


@pytest.mark.parametrize("name", sorted({n for v in CITY_LISTS.values() for n in v}))
def test_sample_list_coverage(name):
    """≥ 70 % of the sample items naming an industry become machine clauses."""
    cov = coverage_of(parse_items(read_accesslist(lists_dir() / name)))
    assert cov.naming_industry > 0 and cov.industry_share >= 0.70, cov.line()


def test_cli_import_list_validate(tmp_path, capsys):
    from ecogis.cli import main

    ws = tmp_path / "g.gpkg"
    shutil.copy2(settings.sample_dir / "genhe.gpkg", ws)
    assert main(["accesslist", "import", str(lists_dir() / "neimenggu_region.csv"), "--workspace", str(ws)]) == 0
    assert main(["accesslist", "list", "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "neimenggu_region" in out and "SHA-256" in out
    bad = tmp_path / "bad.csv"
    bad.write_text("x\n1\n", encoding="utf-8")
    assert main(["accesslist", "validate", str(bad)]) == 2


def test_two_row_header_and_places_relative_to_the_list(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["管控单元编号", "管控单元名称", "生态环境准入清单", None, None, None])
    ws.append([None, None, "空间布局约束", "污染物排放管控", "环境风险防控", "资源利用效率"])
    ws.merge_cells("A1:A2")
    ws.merge_cells("B1:B2")
    ws.merge_cells("C1:F1")
    ws.append(["全市", "全市总体准入要求", "禁止新建焦化项目。", None, None, None])
    ws.append([None, "呼伦贝尔市生态环境总体准入要求", "禁止新建电石项目。", None, None, None])
    ws.append(["ZH15078520001", "城区", "限制新建水泥项目。", None, None, "严禁工业新增取用地下水。"])
    p = tmp_path / "two.xlsx"
    wb.save(p)
    items = read_accesslist(p)
    assert list(items["level"]) == ["city", "city", "unit", "unit"]
    assert list(items["scope_code"][:2]) == ["1507", "1507"]
    assert list(items["dimension"]) == ["空间布局约束", "空间布局约束", "空间布局约束", "资源利用效率"]


def test_relative_place_without_units_is_an_error(tmp_path):
    p = tmp_path / "r.csv"
    p.write_text("单元编码,管控维度,管控要求\n全区,空间布局约束类,禁止新建焦化项目\n", encoding="utf-8")
    with pytest.raises(InputError, match="内蒙古自治区"):
        read_accesslist(p)
    p.write_text("单元编码,管控维度,管控要求\n内蒙古自治区,空间布局约束类,禁止新建焦化项目\n", encoding="utf-8")
    items = read_accesslist(p)
    assert items.loc[0, "scope_code"] == "15" and items.loc[0, "dimension"] == "空间布局约束"


def test_one_requirement_column_with_dimension_labels(tmp_path):
    p = tmp_path / "inline.csv"
    p.write_text("管控单元编码,管控单元名称,生态环境准入清单\n"
                 "ZH15078520001,城区,\"（一）空间布局约束：1.禁止新建焦化项目。2.限制新建电石项目。\n"
                 "（二）污染物排放管控：严禁工业新增取用地下水。\"\n", encoding="utf-8")
    items = read_accesslist(p)
    assert list(items["dimension"]) == ["空间布局约束", "空间布局约束", "污染物排放管控"]
    assert list(items["text"]) == ["禁止新建焦化项目。", "限制新建电石项目。", "严禁工业新增取用地下水。"]
    p.write_text("管控单元编码,生态环境准入清单\nZH15078520001,禁止新建焦化项目\n", encoding="utf-8")
    with pytest.raises(InputError, match="no dimension column"):
        read_accesslist(p)
