"""findings.xlsx written column-wise (issue 13) reads back like the XlsxWriter workbook it replaces.

:mod:`tests.xlsx_reference` is the writer as it was (XlsxWriter, cell by cell).  On real screening
results — the Xilinhot sample in both languages, the same with hostile text in every text column,
a result without findings, the Genhe sample with access lists — both workbooks are loaded with
openpyxl and compared cell for cell: value, type, number format, font, fill, wrapping; and per
sheet the frozen pane, autofilter, print titles and setup, column widths and sheet size.
"""

from __future__ import annotations

import copy
import math
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pandas as pd
import pytest
from openpyxl.utils.escape import unescape

import ecogis
from ecogis.render import xlsx
from ecogis.render.xlsx import write_findings_xlsx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from xlsx_reference import write_findings_xlsx_reference  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"
NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"

#: Text that must come out literally (or neutralised): formulas, XML specials, control characters,
#: literal _xHHHH_ escapes, blanks at the ends, CJK and astral characters, a text over Excel's limit.
HOSTILE = ['=HYPERLINK("http://evil.example","点击")', "+1+1", "-1+1", "@SUM(A1)", "\t=1", " =1", "　=1",
           "-116.5", "a & b < c > d \" '", "bell\x07 and nul\x00 and esc\x1b", "_x0041_ literal", "line\nbreak\r\n",
           "  blanks at both ends  ", "名称🌿𝌆", "x" * 40_000, "名" * 20_000, ""]


def _book(path: Path, inline: bool = False) -> tuple[list[str], dict]:
    """Sheets, cells and settings as openpyxl reads them.

    ``inline``: the file holds inline strings.  Text with ``_xHHHH_`` escapes (control characters,
    and a literal ``_x…_`` escaped as ``_x005F_x…_``) is stored the same way in both kinds of string,
    but openpyxl reads the two differently: inline strings as stored, shared strings with ``x005F_``
    removed (Excel decodes both fully).  Inline text is read as openpyxl reads a shared string.
    """
    wb = openpyxl.load_workbook(path)
    out = {}
    for ws in wb.worksheets:
        rows = [[(c.value.replace("x005F_", "") if inline and isinstance(c.value, str) else c.value, c.data_type,
                  c.number_format, bool(c.font.b), c.fill.fgColor.rgb, c.alignment.wrap_text,
                  c.alignment.vertical) for c in row] for row in ws.iter_rows()]
        meta = (ws.freeze_panes, ws.auto_filter.ref, ws.print_title_rows, ws.page_setup.orientation,
                str(ws.page_setup.fitToHeight), str(ws.page_setup.paperSize), ws.sheet_properties.pageSetUpPr.fitToPage,
                {k: (d.width, d.min, d.max) for k, d in ws.column_dimensions.items()}, ws.max_row, ws.max_column,
                ws.row_dimensions[1].height)
        out[ws.title] = (meta, rows)
    return wb.sheetnames, out


def assert_same_workbook(a: Path, b: Path) -> int:
    """``a`` (new) and ``b`` (reference) read back the same, cell for cell; return the number of cells compared."""
    names_a, book_a = _book(a)
    names_b, book_b = _book(b, inline=True)
    assert names_a == names_b
    n = 0
    for title in names_a:
        (meta_a, rows_a), (meta_b, rows_b) = book_a[title], book_b[title]
        assert meta_a == meta_b, title
        assert len(rows_a) == len(rows_b), title
        for i, (ra, rb) in enumerate(zip(rows_a, rows_b), start=1):
            for j, (ca, cb) in enumerate(zip(ra, rb), start=1):
                n += 1
                if isinstance(ca[0], float) and isinstance(cb[0], (int, float)):
                    # XlsxWriter wrote 16 significant digits, the new writer the exact shortest form
                    assert math.isclose(ca[0], cb[0], rel_tol=1e-15) and ca[1:] == cb[1:], (title, i, j, ca, cb)
                else:
                    assert ca == cb, (title, i, j, ca, cb)
    return n


@pytest.fixture(scope="module")
def xilinhot():
    return ecogis.screen(SAMPLE / "sites" / "xilinhot.geojson", SAMPLE / "xilinhot.gpkg", progress=False)


def _hostile(result):
    r = copy.copy(result)
    r.sites = result.sites.copy()
    r.findings = result.findings.copy()
    k = len(HOSTILE)
    for frame, cols in ((r.sites, ["name", "industry", "not_evaluated"]),
                        (r.findings, ["site_name", "feature_name", "message", "basis", "next_steps", "rule_file"])):
        for j, c in enumerate(cols):
            vals = frame[c].astype(object).to_numpy().copy()
            vals[: min(k, len(vals))] = np.roll(np.array(HOSTILE, dtype=object), j)[: len(vals)]
            frame[c] = vals
    r.findings.loc[r.findings.index[:3], "zone"] = [None, np.nan, 3]   # missing values and a number as text
    r.findings.loc[r.findings.index[:2], "overlap_ha"] = [np.inf, np.nan]
    r.meta = dict(result.meta, ecogis_version="=1+1 <b>")
    return r


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_reads_back_like_the_xlsxwriter_workbook(tmp_path, xilinhot, lang):
    new, ref = tmp_path / "new.xlsx", tmp_path / "ref.xlsx"
    write_findings_xlsx(xilinhot, new, lang=lang)
    write_findings_xlsx_reference(xilinhot, ref, lang=lang)
    assert assert_same_workbook(new, ref) > 20 * len(xilinhot.findings)


def test_hostile_text_reads_back_like_the_xlsxwriter_workbook(tmp_path, xilinhot):
    r = _hostile(xilinhot)
    new, ref = tmp_path / "new.xlsx", tmp_path / "ref.xlsx"
    write_findings_xlsx(r, new)
    write_findings_xlsx_reference(r, ref)
    assert_same_workbook(new, ref)
    wb = openpyxl.load_workbook(new)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert not [c.coordinate for c in cells if c.data_type == "f"]
    values = {c.value for c in cells}
    assert "'=HYPERLINK(\"http://evil.example\",\"点击\")" in values and "-116.5" in values
    assert "a & b < c > d \" '" in values and "名称🌿𝌆" in values
    assert "x" * 32_767 in values          # cut at Excel's limit, as before
    # the stored text, decoded as Excel decodes it, is the text of the data
    with zipfile.ZipFile(new) as z:
        sst = ElementTree.fromstring(z.read("xl/sharedStrings.xml"))
    stored = {unescape("".join(t.text or "" for t in si.iter(f"{{{NS}}}t"))) for si in sst}
    assert {"bell\x07 and nul\x00 and esc\x1b", "line\nbreak\r\n", "_x0041_ literal", "  blanks at both ends  ",
            "'\t=1", "名" * 20_000} <= stored
    with zipfile.ZipFile(new) as z:
        assert z.testzip() is None


def test_columns_of_distinct_texts_skip_the_hashing_and_read_back_the_same(tmp_path, xilinhot, monkeypatch):
    """A column of (nearly) distinct texts (messages) is stored one text per row: the same cells, nulls kept."""
    r = _hostile(xilinhot)
    monkeypatch.setattr(xlsx, "DISTINCT_PROBE", 2)   # the small sample's text columns count as distinct
    assert xlsx._mostly_distinct(pd.Series([f"t{i}" for i in range(8)] + [None] * 2, dtype=object))
    assert not xlsx._mostly_distinct(pd.Series(["same"] * 10, dtype=object))
    new, ref = tmp_path / "new.xlsx", tmp_path / "ref.xlsx"
    write_findings_xlsx(r, new)
    write_findings_xlsx_reference(r, ref)
    assert assert_same_workbook(new, ref) > 20 * len(r.findings)


def test_without_findings_and_with_access_lists(tmp_path, xilinhot):
    r = copy.copy(xilinhot)
    r.findings = xilinhot.findings.iloc[:0]
    write_findings_xlsx(r, tmp_path / "new.xlsx")
    write_findings_xlsx_reference(r, tmp_path / "ref.xlsx")
    assert_same_workbook(tmp_path / "new.xlsx", tmp_path / "ref.xlsx")

    from ecogis.accesslist.samples import with_sample_lists
    from ecogis.settings import settings

    ws = with_sample_lists("genhe", settings.sample_dir, tmp_path / "ws")
    res = ecogis.screen(SAMPLE / "sites" / "genhe.geojson", ws, progress=False)
    assert isinstance(getattr(res, "accesslist", None), pd.DataFrame) and len(res.accesslist)
    write_findings_xlsx(res, tmp_path / "acc.xlsx")
    write_findings_xlsx_reference(res, tmp_path / "acc_ref.xlsx")
    assert_same_workbook(tmp_path / "acc.xlsx", tmp_path / "acc_ref.xlsx")
    assert "准入清单对照" in openpyxl.load_workbook(tmp_path / "acc.xlsx").sheetnames


def test_a_table_over_the_row_limit_continues_on_more_sheets(tmp_path, xilinhot, monkeypatch):
    """No row is dropped at Excel's 1,048,576 rows (here a limit of 5): 冲突明细, 冲突明细 (2), … each with its header."""
    monkeypatch.setattr(xlsx, "MAX_ROWS", 5)
    write_findings_xlsx(xilinhot, tmp_path / "f.xlsx")
    wb = openpyxl.load_workbook(tmp_path / "f.xlsx")
    parts = [ws for ws in wb.worksheets if ws.title.startswith("冲突明细")]
    n = len(xilinhot.findings)
    assert len(parts) == -(-n // 4) and parts[1].title == "冲突明细 (2)"
    head = [c.value for c in parts[0][1]]
    rows = []
    for ws in parts:
        assert [c.value for c in ws[1]] == head and ws.freeze_panes == "A2" and ws.print_title_rows == "$1:$1"
        assert ws.auto_filter.ref == f"A1:U{ws.max_row}"
        rows += [[c.value for c in r] for r in ws.iter_rows(min_row=2)]
    assert len(rows) == n
    assert [r[head.index("地块编号")] for r in rows] == list(xilinhot.findings["site_id"])
    verdicts = [ws for ws in wb.worksheets if ws.title.startswith("结论")]
    assert sum(ws.max_row - 1 for ws in verdicts) == len(xilinhot.sites)


def test_isal_and_zlib_give_the_same_workbook(tmp_path, xilinhot, monkeypatch):
    """ISA-L's deflate (the default) and zlib's (the fallback) write the same members, each a valid deflate stream."""
    write_findings_xlsx(xilinhot, tmp_path / "isal.xlsx")
    monkeypatch.setattr(xlsx, "_deflate", None)
    write_findings_xlsx(xilinhot, tmp_path / "zlib.xlsx")
    with zipfile.ZipFile(tmp_path / "isal.xlsx") as a, zipfile.ZipFile(tmp_path / "zlib.xlsx") as b:
        assert a.testzip() is None and b.testzip() is None
        assert a.namelist() == b.namelist()
        assert all(a.read(n) == b.read(n) for n in a.namelist() if n != "docProps/core.xml")
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in a.infolist())
