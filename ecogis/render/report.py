"""Screening outputs for machines and offices: findings.json, findings.xlsx, conflicts.gpkg."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio

from ecogis.fileutil import atomic_path, write_text_atomic

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "findings.schema.json"
DISTANCE_FIELDS = ("distance_m",)


def findings_document(result) -> dict[str, Any]:
    """The findings as the documented JSON structure (``ecogis/data/findings.schema.json``).

    Kept for older callers: it is :meth:`ecogis.ScreenResult.to_document`.
    """
    return result.to_document()


#: Above this many sites plus findings ``findings.json`` is written compact (one line; the C encoder),
#: below it indented for reading.
INDENT_LIMIT = 5_000


def write_json(result, path: str | Path, *, lines: bool | None = None) -> Path:
    """Write ``findings.json`` in one pass (or, with ``lines``, JSON Lines: ``findings.jsonl``).

    JSON Lines, for very large runs: the first line is ``{"meta": …}``, then
    one site (with its findings) per line, so readers can stream it.  Small
    results are indented; large ones compact (Python's fast encoder only runs
    without indentation).
    """
    doc = result.to_document()
    if lines is None:
        lines = Path(path).suffix == ".jsonl"
    if lines:
        dumps = json.JSONEncoder(ensure_ascii=False, default=_default, separators=(",", ":")).encode
        text = "\n".join([dumps({"meta": doc["meta"]}), *map(dumps, doc["sites"])]) + "\n"
        return write_text_atomic(path, text)
    big = len(doc["sites"]) + len(result.findings) > INDENT_LIMIT
    text = json.dumps(doc, ensure_ascii=False, default=_default, indent=None if big else 2,
                      separators=(",", ":") if big else None)
    return write_text_atomic(path, text)


def _default(o: Any) -> Any:
    if isinstance(o, (np.integer,)):
        return int(o)
    if isinstance(o, (np.floating,)):
        return float(o)
    if isinstance(o, (np.bool_,)):
        return bool(o)
    return str(o)


VERDICT_HEADERS = {
    "zh": {"site_id": "地块编号", "name": "项目名称", "industry": "行业代码", "nature": "建设性质", "area_ha": "面积(公顷)",
           "area_mu": "面积(亩)", "verdict": "结论", "coverage": "数据覆盖", "covered_pct": "覆盖比例(%)",
           "checked_layers": "已核查图层", "not_evaluated": "未评估规则"},
    "en": {},
}
FINDING_HEADERS = {
    "zh": {"site_id": "地块编号", "site_name": "项目名称", "rule_id": "规则编号", "rule_title": "规则", "severity": "严重程度",
           "layer_kind": "图层", "feature_name": "要素名称", "zone": "分区/级别", "overlap_ha": "重叠面积(公顷)",
           "overlap_mu": "重叠面积(亩)", "overlap_pct": "占项目面积(%)", "distance_m": "最近距离(米)", "basis": "依据",
           "message": "说明", "next_steps": "后续要求", "rule_file": "规则文件", "source": "规划出处"},
    "en": {},
}


def _safe_cell(v: Any) -> Any:
    """Neutralise spreadsheet formulas in text from data (CSV/XLSX injection; one rule: ecogis.export.cells)."""
    from ecogis.export.cells import defuse_cell

    return defuse_cell(v)


def write_xlsx(result, path: str | Path, *, lang: str = "zh") -> Path:
    """Write ``findings.xlsx``: a sheet of verdicts and a sheet of findings."""
    from ecogis.vocab import labels

    text = labels(lang)
    verdicts = result.verdicts.copy()
    verdicts["verdict"] = verdicts["verdict"].map(text).fillna(verdicts["verdict"])
    findings = pd.DataFrame(result.findings.drop(columns="geometry"))
    cols = [c for c in FINDING_HEADERS["zh"] if c in findings.columns]
    findings = findings[cols]
    findings["severity"] = findings["severity"].map(text).fillna(findings["severity"])
    verdicts = verdicts.rename(columns=VERDICT_HEADERS.get(lang, {})).map(_safe_cell)
    findings = findings.rename(columns=FINDING_HEADERS.get(lang, {})).map(_safe_cell)
    with atomic_path(path) as tmp:
        with pd.ExcelWriter(tmp, engine="openpyxl") as xw:
            verdicts.to_excel(xw, sheet_name="结论 verdicts" if lang == "zh" else "verdicts", index=False)
            findings.to_excel(xw, sheet_name="冲突 findings" if lang == "zh" else "findings", index=False)
            meta = pd.DataFrame(
                [{"key": k, "value": json.dumps(v, ensure_ascii=False, default=_default) if not isinstance(v, str) else v}
                 for k, v in result.meta.items()]
            )
            meta.to_excel(xw, sheet_name="版本 versions", index=False)
            from ecogis.export.cells import literal_workbook

            literal_workbook(xw.book)  # no text cell is ever stored as a formula
    return Path(path)


def write_gpkg(result, path: str | Path) -> Path:
    """Write ``conflicts.gpkg``: overlap geometries (layer ``conflicts``) and the sites (layer ``sites``)."""
    with atomic_path(path) as tmp:
        sites = result.sites.drop(columns=[c for c in ("fid",) if c in result.sites.columns])
        # the Arrow path: columns go to GDAL as Arrow arrays, no per-row Python (pyogrio use_arrow)
        pyogrio.write_dataframe(sites, tmp, layer="sites", driver="GPKG", promote_to_multi=None, use_arrow=True)
        if len(result.findings):
            pyogrio.write_dataframe(result.findings, tmp, layer="conflicts", driver="GPKG", append=False,
                                    geometry_type="Unknown", use_arrow=True)
    return Path(path)
