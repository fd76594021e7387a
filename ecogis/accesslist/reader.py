"""Read access lists as published: XLSX and CSV tables with the header variants in use.

A list is a table with one row per unit (the four dimension columns) or one
row per requirement (a dimension column and a text column).  Header names are
matched after normalisation (full-width to half-width, no spaces or line
breaks, bracketed notes dropped) against :data:`HEADERS`.  Merged cells are
filled from their top-left cell; a blank unit code under a filled one
continues that unit (the look of merged cells after a CSV export).  A cell
holding several numbered requirements (``1.`` ``（1）`` ``①`` …) becomes one
item per number.

Rows whose code is not a unit code but a place (全区 / 自治区 / 呼伦贝尔市 …)
or a 6/4/2-digit adcode are the 总体准入要求 of that level, optionally for one
unit class only (the class column).
"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ecogis.errors import InputError
from ecogis.export.cells import column_letter
from ecogis.notes import Notes

#: 环境管控单元编码: ZH + 6-digit county adcode + class digit (1 优先保护 / 2 重点管控 / 3 一般管控) + serial.
UNIT_CODE_RE = re.compile(r"^ZH\d{6}[123]\d{2,4}$")
CLASS_OF_DIGIT = {"1": "优先保护", "2": "重点管控", "3": "一般管控"}
DIMENSIONS = ("空间布局约束", "污染物排放管控", "环境风险防控", "资源利用效率")
DIMENSION_ALIASES = {
    "空间布局约束": "空间布局约束", "空间布局": "空间布局约束", "区域布局管控": "空间布局约束", "空间布局管控": "空间布局约束",
    "KJBJYS": "空间布局约束", "KJBJ": "空间布局约束",
    "污染物排放管控": "污染物排放管控", "污染物排放": "污染物排放管控", "污染物排放控制": "污染物排放管控",
    "WRWPFGK": "污染物排放管控", "WRWPF": "污染物排放管控",
    "环境风险防控": "环境风险防控", "环境风险": "环境风险防控", "环境风险管控": "环境风险防控", "HJFXFK": "环境风险防控",
    "FXFK": "环境风险防控",
    "资源利用效率": "资源利用效率", "资源开发效率": "资源利用效率", "资源利用效率要求": "资源利用效率",
    "资源开发效率要求": "资源利用效率", "资源能源利用效率": "资源利用效率", "能源资源利用": "资源利用效率",
    "资源利用": "资源利用效率", "ZYLYXL": "资源利用效率", "ZYKFXL": "资源利用效率",
}
#: Column roles and the header names that mean them (after :func:`norm_header`).
HEADERS: dict[str, tuple[str, ...]] = {
    "unit_code": ("环境管控单元编码", "生态环境管控单元编码", "管控单元编码", "单元编码", "环境管控单元代码", "管控单元代码",
                  "单元代码", "环境管控单元编号", "管控单元编号", "单元编号", "编码", "HJGKDYBM", "ZHDYBM", "GKDYBM", "DYBM", "STHJYSGKFQBM", "HJYSGKFQBM"),
    "unit_name": ("环境管控单元名称", "生态环境管控单元名称", "管控单元名称", "单元名称", "名称", "HJGKDYMC", "ZHDYMC",
                  "GKDYMC", "DYMC", "STHJZHGKFQMC"),
    "unit_class": ("环境管控单元类别", "管控单元类别", "管控单元分类", "管控单元类型", "单元类别", "单元分类", "单元类型",
                   "管控类别", "类别", "分类", "ZHGKDYFL", "GKDYLB", "DYLB", "GKLB", "DYLX"),
    "adcode": ("行政区划代码", "区县代码", "行政区代码", "XZQDM", "XZQHDM", "ADCODE"),
    "region": ("所属区县", "所在区县", "行政区", "区县", "旗县市区", "盟市", "COUNTY"),
    "dimension": ("管控维度", "维度", "清单类型", "要求类型", "管控要求类型", "准入要求类型", "管控类型"),
    "text": ("管控要求", "准入要求", "生态环境准入要求", "生态环境准入清单", "准入清单", "管控内容", "清单内容", "要求", "内容",
             "GKYQ"),
    "doc": ("依据", "依据文件", "来源", "文件", "出处", "来源文件"),
    "doc_number": ("文号", "文件编号"),
    "attachment": ("附件",),
    "page": ("页码", "页"),
    "item_no": ("序号", "条目编号", "编号"),
}
#: Places whose 总体准入要求 lists name, with their adcode prefix.
PLACES = {
    "内蒙古": "15", "内蒙古自治区": "15",
    "呼伦贝尔": "1507", "呼伦贝尔市": "1507", "锡林郭勒": "1525", "锡林郭勒盟": "1525", "兴安": "1522", "兴安盟": "1522",
    "根河": "150785", "根河市": "150785", "满洲里": "150781", "满洲里市": "150781", "锡林浩特": "152502",
    "锡林浩特市": "152502", "阿尔山": "152202", "阿尔山市": "152202",
}
LEVEL_OF_LEN = {2: "province", 4: "city", 6: "county"}
ITEM_COLUMNS = ["source_file", "sheet", "row", "level", "scope_code", "class_filter", "unit_code", "unit_name",
                "unit_class", "dimension", "item_no", "text", "doc", "doc_number", "attachment", "page"]

_NUMBER = re.compile(r"^\s*(?:\d{1,2}\s*[.、．](?!\d)|[(（]\s*\d{1,2}\s*[)）]|[①-⑳]|[一二三四五六七八九十]{1,2}、)\s*")
_SPLIT = re.compile(r"(?:(?<=^)|(?<=[\n。；;]))\s*(?=(?:\d{1,2}\s*[.、．](?!\d)|[(（]\s*\d{1,2}\s*[)）]|[①-⑳]))")


def norm_header(h: Any) -> str:
    """A header cell normalised for matching: half-width, no spaces/line breaks, bracketed notes dropped."""
    t = unicodedata.normalize("NFKC", "" if h is None else str(h))
    t = re.sub(r"\s+", "", t)
    t = re.sub(r"[(\[【].*?[)\]】]", "", t)
    return t.strip("*:：").upper()


def strip_number(s: str) -> str:
    """Remove an item's leading number (``1.`` ``1、`` ``（1）`` ``①`` ``一、``)."""
    return _NUMBER.sub("", s, count=1)


_INLINE_DIM = re.compile(
    r"(空间布局约束|区域布局管控|空间布局管控|污染物排放管控|污染物排放控制|环境风险防控|环境风险管控|资源利用效率要求|"
    r"资源开发效率要求|资源利用效率|资源开发效率|资源能源利用效率|能源资源利用)\s*[:：]")


def split_dimensions(cell: str) -> list[tuple[str, str]]:
    """A cell holding all four dimensions (``空间布局约束：…\n污染物排放管控：…``) → (dimension, text) pairs.

    Empty when the cell carries no such labels.
    """
    text = str(cell)
    ms = list(_INLINE_DIM.finditer(text))
    out = []
    for k, m in enumerate(ms):
        end = ms[k + 1].start() if k + 1 < len(ms) else len(text)
        seg = text[m.end():end].strip()
        seg = re.sub(r"[(（][一二三四五六七八九十\d]{1,2}[)）]\s*$|[一二三四五六七八九十]{1,2}、\s*$|\d{1,2}[.、]\s*$", "", seg).strip()
        if seg:
            out.append((DIMENSION_ALIASES.get(m.group(1), _dimension(m.group(1))), seg))
    return out


def split_items(cell: str) -> list[str]:
    """A multi-line or numbered cell → its items (numbering removed, blank parts dropped)."""
    text = str(cell).replace("\r\n", "\n").replace("\r", "\n")
    parts = _SPLIT.split(text)  # before NFKC, which turns ① into 1
    out = []
    for p in parts:
        p = unicodedata.normalize("NFKC", strip_number(p.strip())).strip()
        if p:
            out.append(re.sub(r"\s*\n\s*", "", p))
    return out


def normalise_class(v: Any) -> str:
    """``优先保护单元`` / ``优先保护类`` / ``1`` → ``优先保护`` (empty when blank)."""
    t = norm_header(v)
    if not t or t in ("NAN", "NONE"):
        return ""
    if t in CLASS_OF_DIGIT:
        return CLASS_OF_DIGIT[t]
    for c in CLASS_OF_DIGIT.values():
        if t.startswith(c):
            return c
    return t


@dataclass
class _Table:
    sheet: str
    rows: list[list[Any]]  # cell values, merged cells filled
    first_row: int  # spreadsheet row number of rows[0]


def _read_xlsx(path: Path) -> list[_Table]:
    import openpyxl

    try:
        wb = openpyxl.load_workbook(path, read_only=False, data_only=True)
    except Exception as exc:
        raise InputError(f"cannot read the workbook: {exc}", path=path) from None
    tables = []
    for ws in wb.worksheets:
        if ws.sheet_state != "visible":
            continue
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        for rng in ws.merged_cells.ranges:
            v = ws.cell(rng.min_row, rng.min_col).value
            for r in range(rng.min_row, rng.max_row + 1):
                for c in range(rng.min_col, rng.max_col + 1):
                    if r - 1 < len(rows) and c - 1 < len(rows[r - 1]):
                        rows[r - 1][c - 1] = v
        tables.append(_Table(ws.title, rows, 1))
    return tables


def _read_csv(path: Path, encoding: str | None) -> list[_Table]:
    from ecogis.read.encoding import detect_text_encoding

    data = path.read_bytes()
    enc = encoding or detect_text_encoding(data, path=path)
    try:
        text = data.decode(enc)
    except (UnicodeDecodeError, LookupError) as exc:
        raise InputError(f"cannot decode as {enc}: {exc}", path=path, hint="give --encoding gbk or utf-8") from None
    text = text.lstrip("\ufeff")
    # the separator is the one the header line uses (text cells may hold many full-width commas)
    lines = [ln for ln in text.splitlines()[:15] if ln.strip()]
    head = max(lines, key=lambda ln: max(ln.count(","), ln.count("\t"), ln.count("，"))) if lines else ""
    delim = max((",", "\t", "，"), key=lambda d: (head.count(d), d == ","))
    if delim == "，":
        rows = [line.split("，") for line in text.splitlines()]
    else:
        rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    return [_Table("", rows, 1)]


def _roles(row: list[Any]) -> tuple[dict[str, int], dict[str, int]]:
    roles: dict[str, int] = {}
    dims: dict[str, int] = {}
    for j, c in enumerate(norm_header(c) for c in row):
        if not c:
            continue
        if c in DIMENSION_ALIASES and DIMENSION_ALIASES[c] not in dims:
            dims[DIMENSION_ALIASES[c]] = j
            continue
        for role, names in HEADERS.items():
            if role not in roles and c in names:
                roles[role] = j
                break
    return roles, dims


def _header(table: _Table, path: Path) -> tuple[int, dict[str, int], dict[str, int]]:
    """The header row index, role → column, and dimension → column.

    A two-row header (a merged 生态环境准入清单 cell above the four dimension names) is read as one.
    """
    rows = table.rows[:16]
    for i, row in enumerate(rows[:15]):
        roles, dims = _roles(row)
        if "unit_code" not in roles:
            continue
        if i + 1 < len(rows):
            roles2, dims2 = _roles(rows[i + 1])
            if len(dims2) >= 2 and not dims:  # a data row holds one dimension name at most
                roles = {r: j for r, j in roles.items() if j not in dims2.values() and r != "text"}
                roles.update({r: j for r, j in roles2.items() if r not in roles})
                return i + 1, roles, dims2
        if dims or "text" in roles:
            return i, roles, dims
    where = f"sheet {table.sheet!r}" if table.sheet else None
    raise InputError(
        "no header row with a unit-code column and requirement columns in the first 15 rows", path=path, where=where,
        hint="expected e.g. 环境管控单元编码 / 单元编码 / HJGKDYBM and 空间布局约束 … or 管控维度 + 管控要求",
    )


def _cell(row: list[Any], j: int | None) -> str:
    if j is None or j >= len(row) or row[j] is None:
        return ""
    v = row[j]
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return unicodedata.normalize("NFKC", str(v)).strip()


#: Places named relative to the list's own units: the common adcode prefix of that length.
RELATIVE_PLACES = {"全省": "2", "全区": "2", "全自治区": "2", "全市": "4", "全盟": "4", "市域": "4", "盟域": "4", "全州": "4",
                   "全县": "6", "全旗": "6", "县域": "6", "旗域": "6", "全市(县)": "6"}


def _scope(code: str, adcode: str, region: str, name: str = "") -> tuple[str, str] | None:
    """(level, adcode prefix) of a general row, or None."""
    for cand in (adcode, code):
        d = re.sub(r"\D", "", cand)
        if cand and d == cand.strip() and len(d) in (2, 4, 6):
            return LEVEL_OF_LEN[len(d)], d
        if len(d) in (6, 12) and not cand.startswith("ZH") and len(d) == len(cand.strip()):
            d6 = d[:6]
            level = "province" if d6.endswith("0000") else "city" if d6.endswith("00") else "county"
            return level, d6[:2] if level == "province" else d6[:4] if level == "city" else d6
    for cand in (code, region, name):
        t = re.sub(r"(生态环境)?(总体准入要求|总体管控要求|总体要求|准入要求|管控要求|准入清单|范围|全域)$", "", cand or "")
        if t in PLACES:
            pre = PLACES[t]
            return LEVEL_OF_LEN[len(pre)], pre
        if t in RELATIVE_PLACES:
            return "relative", RELATIVE_PLACES[t]
    return None


def read_accesslist(path: str | Path, *, encoding: str | None = None, sheet: str | None = None,
                    notes: Notes | None = None, defaults: dict[str, str] | None = None) -> pd.DataFrame:
    """Read an access-list file into one row per item (:data:`ITEM_COLUMNS`).

    Parameters
    ----------
    path:
        ``.xlsx`` / ``.xlsm`` or ``.csv`` / ``.txt`` (UTF-8, UTF-8 with BOM or GBK).
    sheet:
        Only this sheet of a workbook (default: every visible sheet with a header).
    defaults:
        Source fields for rows that give none: ``doc``, ``doc_number``, ``attachment``, ``page``.
    """
    from ecogis.fileutil import check_input_file

    p = check_input_file(path)
    notes = notes if notes is not None else Notes()
    ext = p.suffix.lower()
    if ext in (".xlsx", ".xlsm"):
        tables = _read_xlsx(p)
    elif ext in (".csv", ".txt", ".tsv"):
        tables = _read_csv(p, encoding)
    elif ext == ".xls":
        raise InputError("old .xls workbooks are not read", path=p, hint="save the list as .xlsx or CSV")
    else:
        raise InputError(f"unknown access-list format {ext!r}", path=p, hint="give an .xlsx or .csv file")
    if sheet is not None:
        tables = [t for t in tables if t.sheet == sheet]
        if not tables:
            raise InputError(f"no sheet {sheet!r}", path=p)
    defaults = defaults or {}
    records: list[dict[str, Any]] = []
    problems: list[str] = []
    filled = 0
    used_tables = 0
    for t in tables:
        try:
            h, roles, dims = _header(t, p)
        except InputError:
            if len(tables) > 1 and not sheet:
                notes.add("accesslist", f"sheet {t.sheet!r} has no access-list header; skipped")
                continue
            raise
        used_tables += 1
        if dims and "text" in roles and "dimension" in roles:
            raise InputError("both dimension columns and a dimension + text column pair", path=p,
                             where=f"sheet {t.sheet!r}, row {h + 1}" if t.sheet else f"row {h + 1}")
        prev: dict[str, str] = {}
        where_sheet = f"sheet {t.sheet!r}, " if t.sheet else ""
        for i in range(h + 1, len(t.rows)):
            row = t.rows[i]
            rownum = t.first_row + i
            vals = {r: _cell(row, j) for r, j in roles.items()}
            if dims:
                texts = {d: _cell(row, j) for d, j in dims.items()}
            else:
                texts = {vals.get("dimension", ""): vals.get("text", "")}
            if not any(texts.values()):
                continue
            code = vals.get("unit_code", "").upper().replace(" ", "")
            if not code and _scope("", vals.get("adcode", ""), vals.get("region", ""), vals.get("unit_name", "")):
                code = vals.get("unit_name", "") or vals.get("region", "") or vals.get("adcode", "")
            if not code:
                if prev.get("unit_code"):
                    for k in ("unit_code", "unit_name", "unit_class", "adcode", "region"):
                        if not vals.get(k) and prev.get(k):
                            vals[k] = prev[k]
                    code = vals["unit_code"]
                    filled += 1
                else:
                    problems.append(f"{where_sheet}row {rownum}, column {column_letter(roles['unit_code'])}: no unit code")
                    continue
            prev = {k: vals.get(k, "") for k in ("unit_code", "unit_name", "unit_class", "adcode", "region")}
            prev["unit_code"] = code
            uclass = normalise_class(vals.get("unit_class"))
            if UNIT_CODE_RE.match(code):
                level, scope, class_filter = "unit", code, ""
                digit_class = CLASS_OF_DIGIT[code[8]]
                if uclass and uclass in CLASS_OF_DIGIT.values() and uclass != digit_class:
                    problems.append(f"{where_sheet}row {rownum}: unit {code} is class {uclass} but its code says"
                                    f" {digit_class} (9th digit {code[8]})")
                    continue
                uclass = uclass or digit_class
            else:
                sc = _scope(code, vals.get("adcode", ""), vals.get("region", ""), vals.get("unit_name", ""))
                if sc is None:
                    col = column_letter(roles["unit_code"])
                    hint = ("a unit code is ZH + 6-digit county adcode + class digit 1/2/3 + serial, e.g. ZH15078510001;"
                            " a general requirement names its place (全区, 呼伦贝尔市 …) or adcode")
                    problems.append(f"{where_sheet}row {rownum}, column {col}: {code!r} is neither a unit code nor a place"
                                    f" ({hint})")
                    continue
                level, scope = sc
                class_filter = uclass if uclass in CLASS_OF_DIGIT.values() else ""
            if not dims and "dimension" not in roles:
                inline = split_dimensions(vals.get("text", ""))
                if not inline:
                    problems.append(f"{where_sheet}row {rownum}, column {column_letter(roles['text'])}: no dimension column"
                                    f" and no 空间布局约束：/污染物排放管控：… labels in the cell")
                    continue
                texts = {}
                for d, seg in inline:
                    texts[d] = (texts[d] + "\n" + seg) if d in texts else seg
                dims_inline = True
            else:
                dims_inline = False
            for dim_raw, cell in texts.items():
                if not cell:
                    continue
                dim = dim_raw if dims or dims_inline else _dimension(dim_raw)
                if not dim:
                    col = column_letter(roles.get("dimension", 0))
                    problems.append(f"{where_sheet}row {rownum}, column {col}: unknown dimension {dim_raw!r}"
                                    f" (one of {', '.join(DIMENSIONS)})")
                    continue
                for k, item in enumerate(split_items(cell), start=1):
                    records.append({
                        "source_file": p.name, "sheet": t.sheet, "row": rownum, "level": level, "scope_code": scope,
                        "class_filter": class_filter, "unit_code": code if level == "unit" else "",
                        "unit_name": vals.get("unit_name", "") if level == "unit" else (vals.get("unit_name") or code),
                        "unit_class": uclass if level == "unit" else class_filter, "dimension": dim,
                        "item_no": f"{vals.get('item_no') or rownum}.{k}", "text": item,
                        "doc": vals.get("doc") or defaults.get("doc", ""),
                        "doc_number": vals.get("doc_number") or defaults.get("doc_number", ""),
                        "attachment": vals.get("attachment") or defaults.get("attachment", ""),
                        "page": vals.get("page") or defaults.get("page", ""),
                    })
    rel = [r for r in records if r["level"] == "relative"]
    if rel:
        units = [r["unit_code"] for r in records if r["level"] == "unit"]
        for r in rel:
            n = int(r["scope_code"])
            prefixes = {u[2:2 + n] for u in units}
            if len(prefixes) != 1:
                problems.append(f"{'sheet ' + repr(r['sheet']) + ', ' if r['sheet'] else ''}row {r['row']}: "
                                f"{r['unit_name']!r} names a place relative to the list, but its units lie in"
                                f" {len(prefixes) or 'no'} different areas (write the place, e.g. 内蒙古自治区 or"
                                f" 呼伦贝尔市, or its adcode, e.g. 15 or 1507)")
                continue
            r["scope_code"] = prefixes.pop()
            r["level"] = LEVEL_OF_LEN[len(r["scope_code"])]
    if problems:
        shown = "; ".join(problems[:20]) + (f"; … {len(problems) - 20} more" if len(problems) > 20 else "")
        raise InputError(f"{len(problems)} bad rows: {shown}", path=p)
    if not used_tables:
        raise InputError("no sheet with an access-list header", path=p)
    if not records:
        raise InputError("the list has no requirements", path=p)
    if filled:
        notes.add("accesslist", f"{filled} rows without a unit code continue the unit above (merged cells)")
    return pd.DataFrame.from_records(records, columns=ITEM_COLUMNS)


def _dimension(v: str) -> str:
    """A dimension cell → its canonical name: an alias, or the one canonical keyword it contains."""
    t = norm_header(v)
    if t in DIMENSION_ALIASES:
        return DIMENSION_ALIASES[t]
    hits = {d for k, d in (("空间布局", DIMENSIONS[0]), ("布局", DIMENSIONS[0]), ("污染物", DIMENSIONS[1]),
                           ("排放", DIMENSIONS[1]), ("风险", DIMENSIONS[2]), ("资源", DIMENSIONS[3]),
                           ("能源", DIMENSIONS[3])) if k in t}
    return hits.pop() if len(hits) == 1 else ""
