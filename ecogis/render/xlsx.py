"""``findings.xlsx`` ready for the desk, written column-wise (no Python per cell).

Three sheets — 结论 (a row per site, with 亩), 冲突明细 (a row per finding) and
数据版本 (layers, rule files, inputs, methods), and 准入清单对照 when access lists
were screened — each with a bold, frozen header row, an autofilter, column
widths, number formats (公顷 ``0.0000``, 亩 ``0.00``, % ``0.00``, 米
``#,##0.0``), Chinese values (verdicts, severities, layer kinds, coverage)
and print setup: landscape, fit to one page wide, the header row repeated on
every printed page.  Text from data that starts like a formula is
neutralised (:func:`ecogis.export.cells.defuse_strings`).

The sheet XML is built a column at a time with Arrow string kernels: each
text column is dictionary-encoded, its distinct values are neutralised,
XML-escaped and put in the shared-string table once, and every cell is a
``<c r="…" t="s"><v>index</v></c>``; numbers are ``<c r="…" s="…"><v>…</v></c>``
(the shortest text that reads back as the same double; NaN and ±inf give an
empty cell).  The cells of a row are joined with
``binary_join_element_wise`` and the bytes go from the Arrow buffer straight
into the zip (deflate level 1, by ISA-L), written to a temporary file renamed
into place.  A sheet that would pass Excel's 1,048,576 rows continues on further
sheets (``冲突明细 (2)``, …), each with its header: no row is dropped.
(167,000 findings: about a second, where XlsxWriter cell by cell took 40 s.)
"""

from __future__ import annotations

import contextlib
import re
import zipfile
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence
from xml.sax.saxutils import escape as _xml_escape

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from ecogis.export.cells import column_letter, defuse_strings
from ecogis.fileutil import atomic_path
from ecogis.render.bgwrite import BackgroundWriter
from ecogis.textcolumns import factorize_objects, has_bytes, replace_literals, text_buffers, text_bytes
from ecogis.render.report_text import (
    COVERAGE_TEXT, PROVISIONAL_TEXT, VERDICT_TEXT, coverage_basis_text, distance_method_text, kind_text,
    kinds_text,
)

HA, MU, PCT, M, INT, TEXT = "0.0000", "0.00", "0.00", "#,##0.0", "0", None

SHEETS = {"zh": ("结论", "冲突明细", "数据版本"), "en": ("Verdicts", "Findings", "Versions")}

# (column, zh header, en header, width, number format)
VERDICT_COLUMNS: list[tuple[str, str, str, float, str | None]] = [
    ("site_id", "地块编号", "Site ID", 14, TEXT), ("name", "项目名称", "Name", 32, TEXT),
    ("industry", "行业代码", "Industry", 10, TEXT), ("nature", "建设性质", "Nature", 9, TEXT),
    ("verdict", "结论", "Verdict", 14, TEXT), ("provisional", "行业代码待定", "Provisional", 12, TEXT),
    ("area_ha", "面积(公顷)", "Area (ha)", 13, HA), ("area_mu", "面积(亩)", "Area (mu)", 13, MU),
    ("length_m", "线路长度(米)", "Length (m)", 13, M), ("n_findings", "冲突数", "Findings", 8, INT),
    ("coverage", "数据覆盖", "Coverage", 16, TEXT), ("covered_pct", "覆盖部分占项目用地面积(%)",
                                                  "Covered share of site area (%)", 14, PCT),
    ("checked_layers", "已核查图层", "Checked layers", 40, TEXT),
    ("not_evaluated", "未评估规则", "Rules not evaluated", 24, TEXT),
]
FINDING_COLUMNS: list[tuple[str, str, str, float, str | None]] = [
    ("site_id", "地块编号", "Site ID", 14, TEXT), ("site_name", "项目名称", "Site name", 28, TEXT),
    ("severity", "严重程度", "Severity", 10, TEXT), ("rule_title", "规则", "Rule", 34, TEXT),
    ("rule_id", "规则编号", "Rule ID", 20, TEXT), ("layer_kind", "图层", "Layer", 16, TEXT),
    ("feature_name", "要素名称", "Feature", 30, TEXT), ("zone", "分区/级别", "Zone / grade", 14, TEXT),
    ("overlap_ha", "重叠面积(公顷)", "Overlap (ha)", 14, HA), ("overlap_mu", "重叠面积(亩)", "Overlap (mu)", 13, MU),
    ("overlap_pct", "重叠占项目用地面积(%)", "Overlap share of site area (%)", 14, PCT),
    ("overlap_length_m", "穿越长度(米)", "Length crossed (m)", 13, M),
    ("crossings", "穿越处数", "Crossings", 9, INT), ("distance_m", "最近距离(米)", "Distance (m)", 12, M),
    ("condition", "条件", "Condition", 24, TEXT), ("message", "说明", "Message", 60, TEXT),
    ("basis", "依据", "Legal basis", 60, TEXT), ("citation", "出处", "Citation", 30, TEXT),
    ("next_steps", "后续要求", "Next steps", 40, TEXT), ("question", "待确认", "To confirm", 30, TEXT),
    ("rule_file", "规则文件", "Rule file", 28, TEXT),
]

#: Rows of a sheet, the header included (Excel's limit); longer tables go on to further sheets.
MAX_ROWS = 1_048_576
#: Longest text in a cell, in UTF-16 units (Excel's limit; longer text is cut there, as XlsxWriter did).
MAX_CHARS = 32_767
#: Rows turned into XML per step (bounds memory and keeps Arrow offsets small).
CHUNK_ROWS = 16_384
#: Deflate level of the zip: 1 is several times faster than 6 for a few per cent more bytes.
ZIP_LEVEL = 1

try:  # ISA-L's deflate: the same format and ratio at level 1, three to four times faster than zlib's
    from isal import isal_zlib as _deflate
except ImportError:  # pragma: no cover - isal is a dependency; zlib is the fallback
    _deflate = None


def _fast_deflate(fh) -> None:
    """Compress the zip member ``fh`` (being written) with ISA-L instead of zlib, when both allow it."""
    fresh = getattr(fh, "_compressor", None) is not None and getattr(fh, "_compress_size", 1) == 0
    if _deflate is not None and fresh:
        fh._compressor = _deflate.compressobj(ZIP_LEVEL, zlib.DEFLATED, -15)

# cell styles (xf indices of STYLES_XML): 1 the header, then one per number format
_XF = {"0.0000": 2, "0.00": 3, "0": 4, "#,##0.0": 5}


def _safe_text(v: Any) -> Any:
    """Neutralise spreadsheet formulas in text from data (CSV/XLSX injection): the one helper of ecogis."""
    from ecogis.export.cells import defuse_cell

    return defuse_cell(v)


# ---------------------------------------------------------------------------------------------- tables
def _tables(result, lang: str) -> tuple[dict[str, Any], int, dict[str, Any], int]:
    """The verdict and finding columns as the sheets show them (Chinese values, 亩, crossings), one pass each.

    Text columns are Arrow string arrays (null: an empty cell), numbers float arrays (NaN: empty).
    """
    vt = VERDICT_TEXT[lang]
    S, F = result.sites, result.findings
    n, m = len(S), len(F)
    s: dict[str, Any] = {c: S[c] for c, *_ in VERDICT_COLUMNS if c in S.columns}
    if "verdict" in s:
        s["verdict"] = _map_text(s["verdict"], vt.get)
    blank = pd.Series("", index=S.index)
    prov = (S["provisional"].fillna(False).astype(bool) if "provisional" in S.columns
            else S.get("industry", blank).isna() | (S.get("industry", blank).astype(str).str.strip() == ""))
    s["provisional"] = pa.DictionaryArray.from_arrays(pa.array(np.asarray(prov, dtype=bool).astype(np.int32)),
                                                      pa.array(["", PROVISIONAL_TEXT[lang]]))
    if "area_mu" not in s and "area_ha" in s:
        s["area_mu"] = pd.to_numeric(S["area_ha"], errors="coerce") * 15.0
    if "length_m" in s:
        x = pd.to_numeric(S["length_m"], errors="coerce").to_numpy(dtype=float)
        s["length_m"] = np.where(x > 0, x, np.nan)
    counts = F["site_id"].value_counts() if m else pd.Series(dtype=int)
    s["n_findings"] = S["site_id"].map(counts).fillna(0).astype(int).to_numpy(dtype=float)
    if "coverage" in s:
        cov = COVERAGE_TEXT[lang]
        s["coverage"] = _map_text(s["coverage"], cov.get)
    if "checked_layers" in s:
        s["checked_layers"] = _map_text(s["checked_layers"], lambda u, d=None: kinds_text(u, lang))
    f: dict[str, Any] = {c: F[c] for c, *_ in FINDING_COLUMNS if c in F.columns}
    if m:
        f["severity"] = _map_text(F["severity"], vt.get)
        f["layer_kind"] = _map_text(F["layer_kind"], lambda u, d=None: kind_text(u, lang))
        g = np.asarray(F.geometry.values, dtype=object)
        length = pd.to_numeric(F["overlap_length_m"], errors="coerce").to_numpy(dtype=float) \
            if "overlap_length_m" in F.columns else np.full(m, np.nan)
        ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
        parts = np.zeros(m, dtype=float)
        parts[ok] = shapely.get_num_geometries(g[ok])
        f["crossings"] = np.where(np.nan_to_num(length) > 0, parts, np.nan)
    return s, n, f, m


def _map_text(col: Any, fn) -> pa.DictionaryArray:
    """``fn(v, v)`` of each distinct text of a column (verdicts, kinds to words)."""
    enc = _text_array(col, len(col))
    words = pa.array([str(fn(u, u)) for u in enc.dictionary.to_pylist()], pa.string())
    return pa.DictionaryArray.from_arrays(enc.indices, words)


@dataclass
class _Sheet:
    """One worksheet: headers, widths, number formats (``None`` for text) and a column per header."""

    title: str
    headers: list[str]
    widths: list[float]
    formats: list[str | None]
    columns: list[Any]   # text: a pyarrow string array (null: no cell); number: float64 (NaN: no cell)
    n_rows: int


def _text_array(s: Any, n: int) -> pa.DictionaryArray:
    """``str(v)`` of each value, null where missing, as a dictionary-encoded Arrow array.

    Values are hashed once (``pandas.factorize``) and only the distinct ones
    become Arrow text: no Python per row, and a column that repeats a few
    texts (rules, severities, citations) is converted a few times only.
    """
    if s is None:
        return pa.DictionaryArray.from_arrays(pa.nulls(n, pa.int32()), pa.array([], pa.string()))
    if isinstance(s, pa.DictionaryArray):
        return s
    if isinstance(s, (pa.Array, pa.ChunkedArray)):
        arr = s.combine_chunks() if isinstance(s, pa.ChunkedArray) else s
        return pc.dictionary_encode(arr if pa.types.is_string(arr.type) else arr.cast(pa.string()))
    ser = s if isinstance(s, pd.Series) else pd.Series(np.asarray(s, dtype=object))
    if isinstance(ser.dtype, pd.StringDtype) and ser.dtype.storage == "pyarrow":  # Arrow text (messages)
        arr = pa.array(ser.array)
        arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
        if _mostly_distinct(ser):  # each row its own text: no hashing
            missing = arr.is_null().to_numpy(zero_copy_only=False)
            idx = pa.array(np.arange(n, dtype=np.int32), mask=missing)
            return pa.DictionaryArray.from_arrays(idx, arr.fill_null("").cast(pa.string()))
        return _text_array(arr, n)
    if _mostly_distinct(ser):  # messages: hashing them finds nothing to share; each row is its own text
        values = ser.to_numpy(dtype=object)
        missing = pd.isna(values)
        idx = pa.array(np.arange(n, dtype=np.int32), mask=missing)
        return pa.DictionaryArray.from_arrays(idx, _str_array(np.where(missing, "", values)))
    if ser.dtype == object:  # each distinct object hashed once (a rule's texts repeat one object per finding)
        codes, uniq = factorize_objects(ser.to_numpy())
    else:
        codes, uniq = pd.factorize(ser)
    codes = np.asarray(codes)
    idx = pa.array(codes.astype(np.int32), mask=codes < 0)
    return pa.DictionaryArray.from_arrays(idx, _str_array(uniq))


#: Rows looked at to tell a column of distinct texts (messages) from one that repeats a few.
DISTINCT_PROBE = 2_000


def _mostly_distinct(ser: pd.Series) -> bool:
    """Whether a long text column is (nearly) all distinct values, judged on evenly spaced rows."""
    if len(ser) < 4 * DISTINCT_PROBE:
        return False
    probe = ser.iloc[np.linspace(0, len(ser) - 1, DISTINCT_PROBE).astype(np.int64)]
    return probe.nunique(dropna=False) >= 0.9 * DISTINCT_PROBE


def _str_array(values: Any) -> pa.Array:
    """``str(v)`` of distinct non-missing values (an index or array) as an Arrow string array."""
    values = getattr(values, "array", values)
    if pd.api.types.is_string_dtype(getattr(values, "dtype", None)) and not isinstance(values, np.ndarray):
        with contextlib.suppress(pa.ArrowInvalid, pa.ArrowTypeError, TypeError):
            arr = pa.array(values)                       # Arrow-backed text: no copy
            arr = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
            return arr.cast(pa.string())
    values = np.asarray(values, dtype=object)
    if len(values) and pd.api.types.infer_dtype(values, skipna=False) == "integer":  # ids as numbers
        with contextlib.suppress(OverflowError):  # beyond 64 bits: str() of each, below
            return pa.array(values.astype(np.int64)).cast(pa.string())  # Arrow's text of an integer is str()'s
    try:
        return pa.array(values, type=pa.string())
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        return pa.array([str(x).encode("utf-8", "surrogatepass").decode("utf-8", "replace") for x in values],
                        type=pa.string())


def _number_array(s: Any, n: int, fmt: str) -> np.ndarray:
    """Floats (NaN where missing, not a number or infinite)."""
    if s is None:
        return np.full(n, np.nan)
    if isinstance(s, np.ndarray) and s.dtype.kind == "f":
        x = s.astype(float, copy=False)
    else:
        x = pd.to_numeric(pd.Series(s) if not isinstance(s, pd.Series) else s, errors="coerce").to_numpy(dtype=float)
    return np.where(np.isfinite(x), x, np.nan)


def _frame_sheet(title: str, table: dict[str, Any], n: int,
                 cols: Sequence[tuple[str, str, str, float, str | None]], hdr: int) -> _Sheet:
    data = [(_number_array(table[c], n, fmt) if fmt is not None else _text_array(table[c], n)) if c in table
            else (np.full(n, np.nan) if fmt is not None else pa.nulls(n, pa.string()))
            for c, *_r, fmt in cols]
    return _Sheet(title, [c[hdr] for c in cols], [c[3] for c in cols], [c[4] for c in cols], data, n)


def _rows_sheet(title: str, headers: Sequence[str], widths: Sequence[float], formats: Sequence[str | None],
                rows: Sequence[Sequence[Any]]) -> _Sheet:
    cols = list(zip(*rows)) if rows else [()] * len(headers)
    n = len(rows)
    data = [_number_array(pd.Series(list(c), dtype=object), n, fmt) if fmt is not None
            else _text_array(pd.Series(list(c), dtype=object), n) for c, fmt in zip(cols, formats)]
    return _Sheet(title, list(headers), list(widths), list(formats), data, n)


def _access_sheet(result, lang: str) -> _Sheet | None:
    """Sheet 准入清单对照 (issue 15): one row per (site, access-list item), when lists were screened."""
    from ecogis.accesslist.output import _COLS, HEADERS, SHEET

    t = getattr(result, "accesslist", None)
    if not isinstance(t, pd.DataFrame):
        return None
    cols = [c for c in _COLS if c in t.columns]
    heads = HEADERS.get(lang, HEADERS["zh"])
    widths = [30 if c in ("text", "basis", "note", "condition", "question") else 14 for c in cols]
    formats = ["0.00" if c == "overlap_pct" else None for c in cols]
    n = len(t)
    data = [_number_array(t[c], n, f) if f is not None else _text_array(t[c], n) for c, f in zip(cols, formats)]
    return _Sheet(SHEET if lang == "zh" else "access lists", [heads.get(c, c) for c in cols], widths, formats,
                  data, n)


def write_findings_xlsx(result, path: str | Path, *, lang: str = "zh") -> Path:
    """Write ``findings.xlsx`` (see the module notes) atomically; return its path."""
    s, n, f, m = _tables(result, lang)
    hdr = 1 if lang == "zh" else 2
    names = SHEETS[lang]
    sheets = [_frame_sheet(names[0], s, n, VERDICT_COLUMNS, hdr), _frame_sheet(names[1], f, m, FINDING_COLUMNS, hdr),
              _rows_sheet(names[2], *_VERSION_HEAD[lang], _version_rows(result.meta, lang))]
    access = _access_sheet(result, lang)
    if access is not None:
        sheets.append(access)
    with atomic_path(path) as tmp:
        write_workbook(tmp, sheets)
    return Path(path)


_VERSION_HEAD = {
    "zh": (["类别", "名称", "版本", "要素数/规则数", "SHA-256", "说明"], [12, 30, 16, 14, 68, 60],
           [None, None, None, INT, None, None]),
    "en": (["Category", "Name", "Version", "Features / rules", "SHA-256", "Notes"], [12, 30, 16, 14, 68, 60],
           [None, None, None, INT, None, None]),
}


def _version_rows(meta: dict[str, Any], lang: str) -> list[tuple]:
    zh = lang == "zh"
    rows: list[tuple] = []
    for kind, li in (meta.get("layers") or {}).items():
        li = li or {}
        rows.append(("图层" if zh else "Layer", kind_text(kind, lang), li.get("version") or "",
                     li.get("feature_count"), li.get("sha256") or ("（未记录）" if zh else "(not recorded)"),
                     li.get("source") or ""))
    for rf in meta.get("rule_files", []) or []:
        rows.append(("规则文件" if zh else "Rule file", rf.get("title") or rf.get("path") or "", rf.get("version") or "",
                     rf.get("rule_count"), rf.get("sha256") or "", rf.get("path") or ""))
    for i in meta.get("inputs", []) or []:
        rows.append(("输入文件" if zh else "Input", Path(str(i.get("path", ""))).name, "", None, i.get("sha256") or "",
                     ""))
    am = meta.get("area_method_text")
    rows.append(("方法" if zh else "Method", "面积计算方法" if zh else "Area method", "", None, "",
                 am.get(lang, "") if isinstance(am, dict) else str(am or meta.get("area_method", ""))))
    rows.append(("方法" if zh else "Method", "距离计算方法" if zh else "Distance method", "", None, "",
                 distance_method_text(meta.get("distance_method"), lang)))
    rows.append(("方法" if zh else "Method", "数据覆盖范围依据" if zh else "Coverage basis", "", None, "",
                 coverage_basis_text(meta.get("coverage_basis"), lang)))
    rows.append(("软件" if zh else "Software", "ecogis", str(meta.get("ecogis_version", "")), None, "",
                 "生成时间 " + str(meta.get("generated_at", "")) if zh else "generated " + str(meta.get("generated_at", ""))))
    return [tuple(_safe_text(v) if isinstance(v, str) else v for v in r) for r in rows]


# ---------------------------------------------------------------------------------------------- the XLSX
_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_R = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
#: Styles: the default, the header (bold, light green, wrapped, thin grey bottom border) and the number
#: formats (the styles XlsxWriter wrote for these sheets, so the workbook reads back the same).
STYLES_XML = (
    _DECL + f'<styleSheet xmlns="{_NS}"><numFmts count="3"><numFmt numFmtId="164" formatCode="0.0000"/>'
    '<numFmt numFmtId="165" formatCode="0.00"/><numFmt numFmtId="166" formatCode="#,##0.0"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/>'
    '<scheme val="minor"/></font><font><b/><sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/>'
    '<scheme val="minor"/></font></fonts><fills count="3"><fill><patternFill patternType="none"/></fill><fill>'
    '<patternFill patternType="gray125"/></fill><fill><patternFill patternType="solid"><fgColor rgb="FFE2EFDA"/>'
    '<bgColor indexed="64"/></patternFill></fill></fills><borders count="2"><border><left/><right/><top/><bottom/>'
    '<diagonal/></border><border><left/><right/><top/><bottom style="thin"><color rgb="FFBFBFBF"/></bottom>'
    '<diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
    '</cellStyleXfs><cellXfs count="6"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1" '
    'applyAlignment="1"><alignment vertical="center" wrapText="1"/></xf>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="1" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles><dxfs count="0"/>'
    '<tableStyles count="0" defaultTableStyle="TableStyleMedium9" defaultPivotStyle="PivotStyleLight16"/>'
    '</styleSheet>'
)
_CT_SHEET = "application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_XF_CONTROL = re.compile(r"(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\ufffe\uffff]")


def _width(w: float) -> float:
    """A column width as Excel stores it (the character width plus padding, as XlsxWriter computes it)."""
    pixels = int(w * 7 + 0.5) + 5 if w >= 1 else int(w * 12 + 0.5)
    return int(pixels / 7 * 256) / 256 if pixels > 12 else pixels / 12


def _excel_text(arr: pa.Array) -> pa.Array:
    """Text as a cell can hold it: formulas neutralised, cut at 32,767 UTF-16 units, ``_xHHHH_`` escapes for
    the control characters XML forbids (and a literal ``_xHHHH_`` escaped), ``& < >`` escaped."""
    arr = defuse_strings(arr)
    # only text longer than half the limit can pass it (UTF-16 units ≤ 2 per code point)
    long = pc.indices_nonzero(pc.fill_null(pc.greater(pc.utf8_length(arr), MAX_CHARS // 2), False)).to_numpy()
    if len(long):
        vals = arr.to_pylist()
        for i in long:
            vals[i] = _utf16_cut(vals[i], MAX_CHARS)
        arr = pa.array(vals, type=pa.string())
    # the regular expression runs only where the bytes could match it (a control byte but tab and newline,
    # "_x", U+FFFE or U+FFFF): a scan of the column instead of a match per value
    pos: np.ndarray = np.zeros(0, dtype=np.int64)
    if has_bytes(bytes(text_bytes(arr)), (b"_x", "\ufffe".encode(), "\uffff".encode()), control=b"\t\n"):
        odd = pc.fill_null(pc.match_substring_regex(arr, r"_x[0-9a-fA-F]{4}_|[\x00-\x08\x0b-\x1f\x{fffe}\x{ffff}]"),
                           False)
        pos = pc.indices_nonzero(odd).to_numpy()
    if len(pos):
        vals = arr.to_pylist()
        for i in pos:
            v = _XF_CONTROL.sub(r"_x005F\1", vals[i])
            vals[i] = _CONTROL.sub(lambda m: f"_x{ord(m.group(0)):04X}_", v)
        arr = pa.array(vals, type=pa.string())
    return replace_literals(arr, (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")))


def _utf16_cut(text: str, limit: int) -> str:
    if len(text.encode("utf-16-le", "surrogatepass")) // 2 <= limit:
        return text
    n = 0
    for i, ch in enumerate(text):
        n += 2 if ord(ch) > 0xFFFF else 1
        if n > limit:
            return text[:i]
    return text


def _number_text(x: np.ndarray, integer: bool) -> pa.Array:
    """Numbers as XML text (null where NaN): integers as such, other values the shortest round-trip text."""
    if integer:
        ok = ~np.isnan(x)
        return pa.array(np.where(ok, x, 0).astype(np.int64), mask=~ok).cast(pa.string())
    return pa.array(x, from_pandas=True).cast(pa.string())


class _SharedStrings:
    """The shared-string table: every distinct text of the workbook once."""

    def __init__(self) -> None:
        self.parts: list[pa.Array] = []
        self.size = 0
        self.count = 0

    def add(self, enc: pa.DictionaryArray) -> pa.Array:
        """Positions in the table of each value of ``enc`` (null where ``enc`` is)."""
        self.parts.append(_excel_text(enc.dictionary))
        arr = enc
        self.count += len(arr) - arr.null_count
        idx = pc.add(enc.indices, pa.scalar(self.size, enc.indices.type))
        self.size += len(enc.dictionary)
        return idx

    def finish(self) -> pa.Array:
        """The table: the distinct texts of each column in turn (a text in two columns is there twice;
        hashing every text again to merge them would cost more than the few bytes it saves)."""
        return pa.concat_arrays(self.parts) if self.parts else pa.array([], pa.string())


_buffer = text_bytes  # the concatenated bytes of a string array, straight from its data buffer


def _sheet_parts(sheets: Sequence[_Sheet]) -> list[tuple[_Sheet, int, int]]:
    """(sheet, first row, end row) per worksheet: a table over the row limit continues on more sheets."""
    out = []
    per = MAX_ROWS - 1
    for sh in sheets:
        k = max(1, -(-sh.n_rows // per))
        for j in range(k):
            out.append((sh, j * per, min(sh.n_rows, (j + 1) * per)))
    return out


def _part_title(sh: _Sheet, first: int) -> str:
    j = first // (MAX_ROWS - 1)
    return sh.title if j == 0 else f"{sh.title} ({j + 1})"[:31]


def _quote(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def write_workbook(path: str | Path, sheets: Sequence[_Sheet]) -> None:
    """Write ``sheets`` as an XLSX workbook at ``path`` (no Python per cell; see the module notes)."""
    sst = _SharedStrings()
    # text columns to shared-string positions, once per column
    coded: list[list[Any]] = []
    for sh in sheets:
        coded.append([sst.add(c) if fmt is None else c for c, fmt in zip(sh.columns, sh.formats)])
    table = sst.finish()
    parts = _sheet_parts(sheets)
    titles = [_part_title(sh, a) for sh, a, _ in parts]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as zf:
        zf.writestr("[Content_Types].xml", _content_types(len(parts)))
        zf.writestr("_rels/.rels", _ROOT_RELS)
        zf.writestr("docProps/app.xml", _app_xml(titles))
        zf.writestr("docProps/core.xml", _core_xml())
        zf.writestr("xl/workbook.xml", _workbook_xml(parts, titles))
        zf.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(len(parts)))
        zf.writestr("xl/styles.xml", STYLES_XML)
        zf.writestr("xl/theme/theme1.xml", _theme_xml())
        # Zip64 (which Excel 2007 cannot read) only for a member that may pass 4 GiB unzipped: a cell is at
        # most ~64 bytes of XML, a shared string its (escaped) UTF-8 bytes and ~40 of markup
        limit = 0xFFFFFFFF * 0.9
        for k, (sh, a, b) in enumerate(parts, start=1):
            cols = coded[sheets.index(sh)]
            big = (b - a + 1) * (len(sh.headers) * 64 + 32) > limit
            with zf.open(f"xl/worksheets/sheet{k}.xml", "w", force_zip64=big) as fh:
                _fast_deflate(fh)
                with BackgroundWriter(fh) as out:   # deflate a block while the next is built
                    _write_sheet(out, sh, cols, a, b)
        text_bytes = sum(b.size for b in table.buffers()[2:3] if b is not None)
        big = text_bytes + len(table) * 40 > limit
        with zf.open("xl/sharedStrings.xml", "w", force_zip64=big) as zfh:
            _fast_deflate(zfh)
            with BackgroundWriter(zfh) as fh:
                _write_shared_strings(fh, table, sst.count)


#: Bytes of the blanks XML would drop at either end of a text (``\s`` of a regular expression: tab, newline,
#: form feed, carriage return, space).
_BLANK_BYTES = np.array([0x09, 0x0A, 0x0C, 0x0D, 0x20], dtype=np.uint8)


def _edge_blank(t: pa.Array) -> np.ndarray:
    """Whether each text starts or ends with a blank (``^\\s|\\s$``), from its first and last byte (no regex)."""
    off, raw = text_buffers(t)
    out = np.zeros(len(t), dtype=bool)
    if not len(raw):
        return out
    data = np.frombuffer(raw, dtype=np.uint8)
    some = off[1:] > off[:-1]  # nulls and empty texts hold no byte
    out[some] = np.isin(data[off[:-1][some]], _BLANK_BYTES) | np.isin(data[off[1:][some] - 1], _BLANK_BYTES)
    return out


def _write_shared_strings(fh, table: pa.Array, count: int) -> None:
    L = pa.large_string()
    fh.write((_DECL + f'<sst xmlns="{_NS}" count="{count}" uniqueCount="{len(table)}">').encode())
    for i in range(0, len(table), CHUNK_ROWS):
        t = table.slice(i, CHUNK_ROWS).cast(L)  # long texts: 64-bit offsets
        # leading or trailing blanks are kept only with xml:space="preserve"
        keep = pa.array(_edge_blank(t))
        start = pc.if_else(keep, pa.scalar('<si><t xml:space="preserve">', L), pa.scalar("<si><t>", L))
        fh.write(_buffer(pc.binary_join_element_wise(start, t, pa.scalar("</t></si>", L), pa.scalar("", L))))
    fh.write(b"</sst>")


def _write_sheet(fh, sh: _Sheet, cols: list[Any], a: int, b: int) -> None:
    n_cols = len(sh.headers)
    last = column_letter(n_cols - 1)
    n = b - a
    letters = [column_letter(i) for i in range(n_cols)]
    head = [_DECL, f'<worksheet xmlns="{_NS}" xmlns:r="{_NS_R}"><sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>',
            f'<dimension ref="A1:{last}{n + 1}"/>',
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/><selection pane="bottomLeft"/></sheetView></sheetViews>'
            '<sheetFormatPr defaultRowHeight="15"/><cols>']
    # adjacent columns with the same width and style share one <col> (as Excel and XlsxWriter write them)
    spans: list[list[Any]] = []
    for i, (w, fmt) in enumerate(zip(sh.widths, sh.formats)):
        key = (_width(w), _XF.get(fmt) if fmt is not None else None)
        if spans and spans[-1][2] == key and spans[-1][1] == i:
            spans[-1][1] = i + 1
        else:
            spans.append([i + 1, i + 1, key])
    for lo, hi, (w, xf) in spans:
        style = f' style="{xf}"' if xf is not None else ""
        head.append(f'<col min="{lo}" max="{hi}" width="{w}"{style} customWidth="1"/>')
    head.append('</cols><sheetData><row r="1" ht="30" customHeight="1">')
    for L, h in zip(letters, sh.headers):
        head.append(f'<c r="{L}1" s="1" t="inlineStr"><is><t>{_xml_escape(str(h))}</t></is></c>')
    head.append("</row>")
    fh.write("".join(head).encode())
    for lo in range(a, b, CHUNK_ROWS):
        hi = min(b, lo + CHUNK_ROWS)
        rownum = pa.array(np.arange(lo - a + 2, hi - a + 2, dtype=np.int64)).cast(pa.string())
        parts: list[Any] = ['<row r="', rownum, '">']
        for L, col, fmt in zip(letters, cols, sh.formats):
            if fmt is None:
                idx = col.slice(lo, hi - lo)
                if idx.null_count == len(idx):
                    continue
                v, open_, close = idx.cast(pa.string()), '" t="s"><v>', "</v></c>"
            else:
                x = col[lo:hi]
                if np.isnan(x).all():
                    continue
                v, open_, close = _number_text(x, fmt == INT), f'" s="{_XF[fmt]}"><v>', "</v></c>"
            if v.null_count:  # a cell only where there is a value
                parts.append(pc.binary_join_element_wise(f'<c r="{L}', rownum, open_, v, close, ""))
            else:              # every row has one: its pieces go straight into the row
                parts += [f'<c r="{L}', rownum, open_, v, close]
        parts += ["</row>", ""]
        rows = pc.binary_join_element_wise(*parts, null_handling="skip")
        fh.write(_buffer(rows))
    tail = (f'</sheetData><autoFilter ref="A1:{last}{max(n, 1) + 1}"/><pageMargins left="0.7" right="0.7" '
            'top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
            '<pageSetup paperSize="9" fitToHeight="0" orientation="landscape"/></worksheet>')
    fh.write(tail.encode())


_ROOT_RELS = (
    _DECL + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/'
    'package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId3" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/extended-properties" '
    'Target="docProps/app.xml"/></Relationships>'
)


def _content_types(n: int) -> str:
    sheets = "".join(f'<Override PartName="/xl/worksheets/sheet{k}.xml" ContentType="{_CT_SHEET}"/>'
                     for k in range(1, n + 1))
    return (_DECL + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/docProps/app.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>'
            '<Override PartName="/docProps/core.xml" '
            'ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
            '<Override PartName="/xl/styles.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            '<Override PartName="/xl/theme/theme1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.theme+xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/sharedStrings.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
            + sheets + "</Types>")


def _workbook_rels(n: int) -> str:
    rels = [f'<Relationship Id="rId{k}" Type="{_REL}/worksheet" Target="worksheets/sheet{k}.xml"/>'
            for k in range(1, n + 1)]
    rels.append(f'<Relationship Id="rId{n + 1}" Type="{_REL}/theme" Target="theme/theme1.xml"/>')
    rels.append(f'<Relationship Id="rId{n + 2}" Type="{_REL}/styles" Target="styles.xml"/>')
    rels.append(f'<Relationship Id="rId{n + 3}" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>')
    return (_DECL + '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            + "".join(rels) + "</Relationships>")


def _workbook_xml(parts: Sequence[tuple[_Sheet, int, int]], titles: Sequence[str]) -> str:
    sheets = "".join(f'<sheet name="{_xml_escape(t, {chr(34): "&quot;"})}" sheetId="{k}" r:id="rId{k}"/>'
                     for k, t in enumerate(titles, start=1))
    names = []
    for k, ((sh, a, b), t) in enumerate(zip(parts, titles)):
        last = column_letter(len(sh.headers) - 1)
        q = _xml_escape(_quote(t))
        names.append(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{k}" hidden="1">'
                     f"{q}!$A$1:${last}${max(b - a, 1) + 1}</definedName>")
    for k, t in enumerate(titles):
        names.append(f'<definedName name="_xlnm.Print_Titles" localSheetId="{k}">{_xml_escape(_quote(t))}!$1:$1'
                     "</definedName>")
    return (_DECL + f'<workbook xmlns="{_NS}" xmlns:r="{_NS_R}"><workbookPr defaultThemeVersion="124226"/>'
            '<bookViews><workbookView xWindow="240" yWindow="15" windowWidth="16095" windowHeight="9660"/>'
            f'</bookViews><sheets>{sheets}</sheets><definedNames>{"".join(names)}</definedNames>'
            '<calcPr calcId="124519" fullCalcOnLoad="1"/></workbook>')


def _app_xml(titles: Sequence[str]) -> str:
    parts = "".join(f"<vt:lpstr>{_xml_escape(t)}</vt:lpstr>" for t in titles)
    return (_DECL + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" '
            'xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">'
            "<Application>ecogis</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>"
            '<HeadingPairs><vt:vector size="2" baseType="variant"><vt:variant><vt:lpstr>Worksheets</vt:lpstr>'
            f'</vt:variant><vt:variant><vt:i4>{len(titles)}</vt:i4></vt:variant></vt:vector></HeadingPairs>'
            f'<TitlesOfParts><vt:vector size="{len(titles)}" baseType="lpstr">{parts}</vt:vector></TitlesOfParts>'
            "<LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
            "<HyperlinksChanged>false</HyperlinksChanged><AppVersion>12.0000</AppVersion></Properties>")


def _core_xml() -> str:
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (_DECL + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
            'core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
            'xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
            f'<dc:creator>ecogis</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">{now}</dcterms:created>'
            f'<dcterms:modified xsi:type="dcterms:W3CDTF">{now}</dcterms:modified></cp:coreProperties>')


def _theme_xml() -> str:
    """The default Office theme (XlsxWriter's copy, BSD-2-Clause; the fonts' theme colours refer to it)."""
    from xlsxwriter.theme import THEME_XML_2007

    return THEME_XML_2007
