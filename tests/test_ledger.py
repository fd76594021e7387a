"""The ledger (台账): round trip through the checklist, append-only history, bad rows, CLI."""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import openpyxl
import pytest
import shapely

from ecogis.errors import InputError, WorkspaceError
from ecogis.fileutil import sha256_file
from ecogis.patrol.fieldpkg import CHECKLIST_COLUMNS, write_field_package
from ecogis.patrol.ledger import ledger_status, open_items, update_ledger
from ecogis.patrol.route import plan_route
from ecogis.patrol.targets import gather_targets, ledger_targets
from ecogis.workspace import open_workspace

SAMPLE = Path(__file__).resolve().parent.parent / "layers" / "sample" / "genhe.gpkg"
START = (121.52, 50.78)
H = dict(CHECKLIST_COLUMNS)
TODAY = dt.date(2026, 6, 1)


@pytest.fixture()
def loop(tmp_path):
    """A workspace copy and a field package of five targets near the start."""
    ws_path = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE, ws_path)
    pts = [(START[0] + 0.01 * i, START[1] + 0.005 * i) for i in range(1, 6)]
    t = gpd.GeoDataFrame({"target_id": [f"XS-{i:04d}" for i in range(1, 6)], "source": "clue",
                          "source_zh": "遥感线索", "name": [f"图斑{i}" for i in range(1, 6)],
                          "priority": [90, 80, 70, 60, 50], "check": "核实", "basis": "自然资发〔2022〕142号",
                          "area_ha": 1.0, "detail": ""}, geometry=[shapely.Point(p) for p in pts], crs=4490)
    plan = plan_route(t, START, days=1)
    write_field_package(t, plan, tmp_path / "field")
    return open_workspace(ws_path), tmp_path / "field"


def _fill_csv(src: Path, dst: Path, results: dict[str, tuple[str, str, str, str]]) -> Path:
    with open(src, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    head = rows[0]
    ix = {k: head.index(H[k]) for k in ("target_id", "result", "date", "inspector", "remarks")}
    for r in rows[1:]:
        if r[ix["target_id"]] in results:
            res, date, who, rem = results[r[ix["target_id"]]]
            r[ix["result"]], r[ix["date"]], r[ix["inspector"]], r[ix["remarks"]] = res, date, who, rem
    with open(dst, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return dst


def test_round_trip_csv_and_append_only_history(loop, tmp_path):
    ws, field = loop
    first = _fill_csv(field / "checklist.csv", tmp_path / "r1.csv", {
        "XS-0001": ("属实", "2026-05-20", "张三", "新增采坑"),
        "XS-0002": ("不属实", "2026-05-20", "张三", "林业作业"),
        "XS-0003": ("整改中", "2026/5/21", "李四", "已停工"),
    })
    upd = update_ledger(ws, first, today=TODAY)
    assert upd.added == 3 and len(upd.skipped_blank) == 2  # two stops not visited
    led = ws.ledger()
    assert list(led["entry_id"]) == [1, 2, 3]
    by_id = led.set_index("target_id")
    assert by_id["result"].to_dict() == {"XS-0001": "属实", "XS-0002": "不属实", "XS-0003": "整改中"}
    assert by_id.loc["XS-0003", "date"] == "2026-05-21"  # normalised
    assert by_id.loc["XS-0001", "inspector"] == "张三" and by_id.loc["XS-0001", "remarks"] == "新增采坑"
    assert led.crs.to_epsg() == 4490 and (led.geometry.geom_type == "Point").all()
    assert set(open_items(ws)["target_id"]) == {"XS-0001", "XS-0003"}

    # a later visit closes XS-0001: a new entry, the old one stays
    second = _fill_csv(field / "checklist.csv", tmp_path / "r2.csv", {
        "XS-0001": ("已销号", "2026-05-30", "王五", "已复绿"),
    })
    assert update_ledger(ws, second, today=TODAY).added == 1
    led = ws.ledger()
    assert sorted(led["target_id"][:3]) == ["XS-0001", "XS-0002", "XS-0003"] and led["target_id"].iloc[3] == "XS-0001"
    trail = led[led["target_id"] == "XS-0001"]
    assert list(trail["result"]) == ["属实", "已销号"]
    st = ledger_status(ws).set_index("target_id")
    assert st.loc["XS-0001", "result"] == "已销号" and st.loc["XS-0001", "entries"] == 2
    assert not st.loc["XS-0001", "open"]
    assert list(open_items(ws)["target_id"]) == ["XS-0003"]

    # reading the same file again records nothing twice
    again = update_ledger(ws, second, today=TODAY)
    assert again.added == 0 and again.skipped_duplicate
    assert len(ws.ledger()) == 4


def test_round_trip_xlsx(loop, tmp_path):
    ws, field = loop
    wb = openpyxl.load_workbook(field / "checklist.xlsx")
    sh = wb["巡查清单"]
    head = [c.value for c in sh[1]]
    row = 2
    sh.cell(row=row, column=head.index(H["result"]) + 1, value="属实")
    sh.cell(row=row, column=head.index(H["date"]) + 1, value=dt.datetime(2026, 5, 2))
    sh.cell(row=row, column=head.index(H["inspector"]) + 1, value="赵六")
    tid = sh.cell(row=row, column=head.index(H["target_id"]) + 1).value
    wb.save(tmp_path / "filled.xlsx")
    upd = update_ledger(ws, tmp_path / "filled.xlsx", today=TODAY)
    assert upd.added == 1
    led = ws.ledger()
    assert led["target_id"].tolist() == [tid] and led["date"].tolist() == ["2026-05-02"]


def test_a_bad_row_is_reported_and_leaves_the_ledger_unchanged(loop, tmp_path):
    ws, field = loop
    ok = _fill_csv(field / "checklist.csv", tmp_path / "ok.csv", {"XS-0001": ("属实", "2026-05-20", "张三", "")})
    update_ledger(ws, ok, today=TODAY)
    before = sha256_file(ws.uri)
    bad = _fill_csv(field / "checklist.csv", tmp_path / "bad.csv", {
        "XS-0002": ("属实", "2026-05-20", "张三", "好的一行"),
        "XS-0003": ("可能", "2026-05-20", "张三", ""),
        "XS-0004": ("整改中", "20-05-2026", "", ""),
    })
    with open(bad, encoding="utf-8-sig") as fh:
        lines = list(csv.reader(fh))
    row_of = {r[lines[0].index(H["target_id"])]: i + 1 for i, r in enumerate(lines)}
    with pytest.raises(InputError) as e:
        update_ledger(ws, bad, today=TODAY)
    msg = str(e.value)
    assert f"row {row_of['XS-0003']}" in msg and "'可能'" in msg
    assert f"row {row_of['XS-0004']}" in msg and "no inspector" in msg and "not a date" in msg
    assert "bad.csv" in msg and "unchanged" in msg
    assert sha256_file(ws.uri) == before
    assert len(ws.ledger()) == 1


def test_other_malformed_rows(loop, tmp_path):
    ws, field = loop
    future = _fill_csv(field / "checklist.csv", tmp_path / "f.csv", {"XS-0001": ("属实", "2030-01-01", "张三", "")})
    with pytest.raises(InputError, match="in the future"):
        update_ledger(ws, future, today=TODAY)
    no_result = _fill_csv(field / "checklist.csv", tmp_path / "n.csv", {"XS-0001": ("", "2026-05-01", "张三", "x")})
    with pytest.raises(InputError, match="no result"):
        update_ledger(ws, no_result, today=TODAY)
    (tmp_path / "nohead.csv").write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="row 1"):
        update_ledger(ws, tmp_path / "nohead.csv")
    assert len(ws.ledger()) == 0


def test_ledger_is_append_only_in_the_file(loop, tmp_path):
    ws, field = loop
    update_ledger(ws, _fill_csv(field / "checklist.csv", tmp_path / "r.csv",
                                {"XS-0001": ("属实", "2026-05-20", "张三", "")}), today=TODAY)
    with sqlite3.connect(ws.uri) as con:
        # the GeoPackage's own R-tree triggers call SpatiaLite functions: stand-ins, so only ours can refuse
        con.create_function("ST_IsEmpty", 1, lambda g: 0)
        for f in ("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
            con.create_function(f, 1, lambda g: 0.0)
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("UPDATE ecogis_ledger SET result = '已销号'")
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            con.execute("DELETE FROM ecogis_ledger")
    assert "ecogis_ledger" not in ws.kinds()  # the ledger is not a layer kind
    assert ws.ledger()["result"].tolist() == ["属实"]
    with pytest.raises(WorkspaceError):
        ws.ledger_append(gpd.GeoDataFrame({"bogus": [1]}, geometry=[shapely.Point(1, 1)], crs=4490),
                         record_source="x")


def test_open_items_become_targets_of_the_next_patrol(loop, tmp_path):
    ws, field = loop
    update_ledger(ws, _fill_csv(field / "checklist.csv", tmp_path / "r.csv", {
        "XS-0001": ("属实", "2026-05-20", "张三", "待整改"), "XS-0002": ("不属实", "2026-05-20", "张三", "")}),
        today=TODAY)
    lt = ledger_targets(ws)
    assert lt["target_id"].tolist() == ["XS-0001"] and lt["priority"].iloc[0] == 75
    assert "张三" in lt["check"].iloc[0]
    tg = gather_targets(ws, mines=False)
    assert tg.targets["target_id"].tolist() == ["XS-0001"]
    # an external ledger file: open items only
    ext = tmp_path / "old_ledger.csv"
    ext.write_text("编号,名称,状态,经度,纬度\nTZ-1,旧问题,整改中,121.6,50.9\nTZ-2,已结,已销号,121.7,50.9\n",
                   encoding="utf-8")
    tg = gather_targets(ws, ledger=ext, mines=False)
    assert set(tg.targets["target_id"]) == {"XS-0001", "TZ-1"}


def test_cli_ledger(loop, tmp_path, capsys):
    from ecogis.cli import patrol as cli

    ws, field = loop
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers()
    cli.register(sub)
    filled = _fill_csv(field / "checklist.csv", tmp_path / "r.csv", {"XS-0002": ("整改中", "2026-05-20", "张三", "")})
    a = ap.parse_args(["ledger", "update", "--workspace", ws.uri, "--results", str(filled)])
    assert a.func(a) == 0
    a = ap.parse_args(["ledger", "list", "--workspace", ws.uri])
    assert a.func(a) == 0
    out = capsys.readouterr().out
    assert "recorded 1 results" in out and "XS-0002" in out and "整改中" in out
