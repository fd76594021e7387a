"""``findings.xlsx`` ready for the desk, streamed row by row (XlsxWriter's constant-memory mode).

Three sheets — 结论 (a row per site, with 亩), 冲突明细 (a row per finding) and
数据版本 (layers, rule files, inputs, methods) — each with a bold, frozen
header row, an autofilter, column widths, number formats (公顷 ``0.0000``,
亩 ``0.00``, % ``0.00``, 米 ``#,##0.0``), Chinese values (verdicts,
severities, layer kinds, coverage) and print setup: landscape, fit to one page
wide, the header row repeated on every printed page.  Text from data that
starts like a formula is neutralised.  Number formats are column formats,
so numbers are written without a style object per cell (185,000 findings:
seconds, where per-cell styles in openpyxl took minutes).
"""

from __future__ import annotations


from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import shapely
import xlsxwriter

from ecogis.fileutil import atomic_path
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

def _safe_text(v: Any) -> Any:
    """Neutralise spreadsheet formulas in text from data (CSV/XLSX injection): the one helper of ecogis."""
    from ecogis.export.cells import defuse_cell

    return defuse_cell(v)


def _sheet(wb, title: str, headers: Sequence[str], widths: Sequence[float], formats: Sequence[str | None],
           rows, n_rows: int) -> None:
    ws = wb.add_worksheet(title)
    head = wb.add_format({"bold": True, "bg_color": "#E2EFDA", "text_wrap": True, "valign": "vcenter",
                          "bottom": 1, "bottom_color": "#BFBFBF"})
    cache: dict[str, Any] = {}
    for i, (w, fmt) in enumerate(zip(widths, formats)):
        if fmt is not None and fmt not in cache:
            cache[fmt] = wb.add_format({"num_format": fmt})
        ws.set_column(i, i, w, cache.get(fmt) if fmt is not None else None)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, max(n_rows, 1), max(len(headers) - 1, 0))
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(0)
    ws.set_row(0, 30)
    ws.write_row(0, 0, list(headers), head)
    numeric = [fmt is not None for fmt in formats]
    r = 0
    for r, row in enumerate(rows, start=1):
        for c, (v, num) in enumerate(zip(row, numeric)):
            if v is None:
                continue
            if num:
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, str(_safe_text(v)))


def _values(df: pd.DataFrame, cols: Sequence[tuple[str, str, str, float, str | None]]) -> list[np.ndarray]:
    out = []
    for col, *_rest in cols:
        fmt = _rest[-1]
        if col not in df.columns:
            out.append(np.full(len(df), None, dtype=object))
            continue
        s = df[col]
        if fmt is not None:
            x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
            v = x.astype(object)
            v[~np.isfinite(x)] = None
            if fmt == INT:
                fin = np.isfinite(x)
                v[fin] = np.array(x[fin].astype(np.int64).tolist() + [None], dtype=object)[:-1]
            out.append(v)
        else:
            v = s.astype(object).to_numpy()
            na = pd.isna(s).to_numpy()
            v = v.copy()
            v[na] = None
            out.append(v)
    return out


def _rows(arrays: list[np.ndarray]):
    return zip(*[a.tolist() for a in arrays])


def write_findings_xlsx(result, path: str | Path, *, lang: str = "zh") -> Path:
    """Write ``findings.xlsx`` (see the module notes) atomically; return its path."""
    vt = VERDICT_TEXT[lang]
    sites = pd.DataFrame(result.sites.drop(columns=result.sites.geometry.name))
    findings = pd.DataFrame(result.findings.drop(columns=result.findings.geometry.name)) if len(
        result.findings) else pd.DataFrame(columns=[c for c, *_ in FINDING_COLUMNS])
    # ---- sites
    s = sites.copy()
    s["verdict"] = s["verdict"].map(vt).fillna(s["verdict"]) if "verdict" in s else None
    prov = (s["provisional"].fillna(False).astype(bool) if "provisional" in s.columns
            else s.get("industry", pd.Series("", index=s.index)).isna()
            | (s.get("industry", pd.Series("", index=s.index)).astype(str).str.strip() == ""))
    s["provisional"] = np.where(prov, PROVISIONAL_TEXT[lang], "")
    if "area_mu" not in s.columns and "area_ha" in s.columns:
        s["area_mu"] = pd.to_numeric(s["area_ha"], errors="coerce") * 15.0
    if "length_m" in s.columns:
        s["length_m"] = pd.to_numeric(s["length_m"], errors="coerce").where(lambda x: x > 0)
    counts = findings.groupby("site_id").size() if len(findings) else pd.Series(dtype=int)
    s["n_findings"] = s["site_id"].map(counts).fillna(0).astype(int)
    if "coverage" in s.columns:
        s["coverage"] = s["coverage"].map(COVERAGE_TEXT[lang]).fillna(s["coverage"])
    for col in ("checked_layers",):
        if col in s.columns:
            codes, uniq = pd.factorize(s[col].astype(str))
            s[col] = np.asarray([kinds_text(u, lang) for u in uniq], dtype=object)[codes] if len(s) else s[col]
    # ---- findings
    f = findings.copy()
    if len(f):
        f["severity"] = f["severity"].map(vt).fillna(f["severity"])
        codes, uniq = pd.factorize(f["layer_kind"].astype(str))
        f["layer_kind"] = np.asarray([kind_text(u, lang) for u in uniq], dtype=object)[codes]
        g = np.asarray(result.findings.geometry.values, dtype=object)
        length = pd.to_numeric(f.get("overlap_length_m"), errors="coerce")
        ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
        parts = np.zeros(len(g), dtype=float)
        parts[ok] = shapely.get_num_geometries(g[ok])
        f["crossings"] = np.where(length.fillna(0).to_numpy() > 0, parts, np.nan)
        f["next_steps"] = f["next_steps"].astype(object) if "next_steps" in f.columns else None
    hdr = 1 if lang == "zh" else 2
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_formulas": False,
                                            "strings_to_urls": False, "nan_inf_to_errors": True})
        names = SHEETS[lang]
        _sheet(wb, names[0], [c[hdr] for c in VERDICT_COLUMNS], [c[3] for c in VERDICT_COLUMNS],
               [c[4] for c in VERDICT_COLUMNS], _rows(_values(s, VERDICT_COLUMNS)), len(s))
        _sheet(wb, names[1], [c[hdr] for c in FINDING_COLUMNS], [c[3] for c in FINDING_COLUMNS],
               [c[4] for c in FINDING_COLUMNS], _rows(_values(f, FINDING_COLUMNS)), len(f))
        rows = _version_rows(result.meta, lang)
        _sheet(wb, names[2], *_VERSION_HEAD[lang], rows, len(rows))
        _access_sheet(wb, result, lang)
        wb.close()
    return Path(path)


def _access_sheet(wb, result, lang: str) -> None:
    """Sheet 准入清单对照 (issue 15): one row per (site, access-list item), when lists were screened."""
    from ecogis.accesslist.output import _COLS, HEADERS, SHEET

    t = getattr(result, "accesslist", None)
    if not isinstance(t, pd.DataFrame):
        return
    cols = [c for c in _COLS if c in t.columns]
    heads = HEADERS.get(lang, HEADERS["zh"])
    widths = [30 if c in ("text", "basis", "note", "condition", "question") else 14 for c in cols]
    formats = ["0.00" if c == "overlap_pct" else None for c in cols]
    arrays = [pd.to_numeric(t[c], errors="coerce").to_numpy(dtype=float) if c == "overlap_pct"
              else t[c].astype(object).where(t[c].notna(), None).to_numpy(dtype=object) for c in cols]
    rows = ([None if (f is not None and v != v) else v for v, f in zip(row, formats)] for row in zip(*arrays))
    _sheet(wb, SHEET if lang == "zh" else "access lists", [heads.get(c, c) for c in cols], widths, formats, rows, len(t))


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



