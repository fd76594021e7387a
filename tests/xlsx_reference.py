"""The XlsxWriter ``findings.xlsx`` writer as it was before issue 13 (commit d7910d4), for tests only.

``tests/test_xlsx_fast.py`` checks that :mod:`ecogis.render.xlsx` (which
writes the sheet XML column-wise) gives a workbook that reads back with
openpyxl cell for cell like this one.  Only the column lists and the
version rows are shared with the module; the tables and cells are prepared
as they were.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import xlsxwriter

from ecogis.fileutil import atomic_path
import shapely

from ecogis.render.report_text import COVERAGE_TEXT, PROVISIONAL_TEXT, VERDICT_TEXT, kind_text, kinds_text
from ecogis.render.xlsx import _VERSION_HEAD, FINDING_COLUMNS, INT, SHEETS, VERDICT_COLUMNS, _version_rows


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


def write_findings_xlsx_reference(result, path: str | Path, *, lang: str = "zh") -> Path:
    """The workbook as XlsxWriter wrote it (the reference of the read-back test)."""
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
