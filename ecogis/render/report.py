"""Screening outputs for machines and offices: findings.json, findings.xlsx, conflicts.gpkg."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyogrio

from ecogis.fileutil import atomic_path, write_text_atomic

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "data" / "findings.schema.json"
DISTANCE_FIELDS = ("distance_m",)


def _num(v: Any) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(f) else f


def _str(v: Any) -> str | None:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    return str(v)


def _steps(text: Any) -> list[str]:
    if not text:
        return []
    return [s.strip() for s in str(text).replace("；", ";").split(";") if s.strip()]


def findings_document(result) -> dict[str, Any]:
    """The findings as the documented JSON structure (``ecogis/data/findings.schema.json``)."""
    sites = []
    by_site = {sid: grp for sid, grp in result.findings.groupby("site_id")} if len(result.findings) else {}
    for rec in result.sites.drop(columns=result.sites.geometry.name).to_dict("records"):
        grp = by_site.get(rec["site_id"])
        items = []
        if grp is not None:
            for f in grp.drop(columns="geometry").to_dict("records"):
                items.append({
                    "rule_id": f["rule_id"], "rule_title": _str(f["rule_title"]), "severity": f["severity"],
                    "layer_kind": f["layer_kind"], "feature_id": _str(f["feature_id"]),
                    "feature_name": _str(f["feature_name"]), "zone": _str(f["zone"]),
                    "feature_code": _str(f["feature_code"]),
                    "overlap_ha": _num(f["overlap_ha"]), "overlap_mu": _num(f["overlap_mu"]),
                    "overlap_pct": _num(f["overlap_pct"]), "overlap_length_m": _num(f["overlap_length_m"]),
                    "distance_m": _num(f["distance_m"]), "basis": f["basis"], "message": f["message"],
                    "next_steps": _steps(f["next_steps"]), "rule_file": _str(f["rule_file"]), "source": _str(f["source"]),
                })
        sites.append({
            "site_id": str(rec["site_id"]), "name": _str(rec.get("name")), "industry": _str(rec.get("industry")),
            "nature": _str(rec.get("nature")), "linear": bool(rec.get("linear")),
            "national_major": bool(rec.get("national_major")), "unavoidable": bool(rec.get("unavoidable")),
            "area_ha": _num(rec["area_ha"]) or 0.0, "area_mu": _num(rec["area_mu"]) or 0.0,
            "length_m": _num(rec.get("length_m")),
            "verdict": rec["verdict"], "coverage": rec["coverage"], "covered_pct": _num(rec["covered_pct"]) or 0.0,
            "checked_layers": [s for s in str(rec["checked_layers"]).split(", ") if s],
            "not_evaluated": [s for s in str(rec["not_evaluated"]).split(", ") if s],
            "findings": items,
        })
    from ecogis.accesslist.output import access_document  # 准入清单对照 (issue 15)

    return {"meta": result.meta, "sites": sites, **({"accesslist": a} if (a := access_document(result)) else {})}


def write_json(result, path: str | Path) -> Path:
    """Write ``findings.json``."""
    doc = findings_document(result)
    return write_text_atomic(path, json.dumps(doc, ensure_ascii=False, indent=2, default=_default))


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
    """Neutralise spreadsheet formulas in text from data (CSV/XLSX injection)."""
    if isinstance(v, str) and v[:1] in ("=", "+", "-", "@"):
        return "'" + v
    return v


def write_xlsx(result, path: str | Path, *, lang: str = "zh") -> Path:
    """Write ``findings.xlsx``: a sheet of verdicts and a sheet of findings."""
    from ecogis.screening.engine import SEVERITY_TEXT

    verdicts = result.verdicts.copy()
    verdicts["verdict"] = verdicts["verdict"].map(lambda v: SEVERITY_TEXT.get(v, {}).get(lang, v))
    findings = pd.DataFrame(result.findings.drop(columns="geometry"))
    cols = [c for c in FINDING_HEADERS["zh"] if c in findings.columns]
    findings = findings[cols]
    findings["severity"] = findings["severity"].map(lambda v: SEVERITY_TEXT.get(v, {}).get(lang, v))
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
            from ecogis.accesslist.output import access_sheet  # sheet 准入清单对照 (issue 15)

            access_sheet(result, xw, lang=lang)
    return Path(path)


def write_gpkg(result, path: str | Path) -> Path:
    """Write ``conflicts.gpkg``: overlap geometries (layer ``conflicts``) and the sites (layer ``sites``)."""
    with atomic_path(path) as tmp:
        sites = result.sites.drop(columns=[c for c in ("fid",) if c in result.sites.columns])
        pyogrio.write_dataframe(sites, tmp, layer="sites", driver="GPKG", promote_to_multi=None)
        if len(result.findings):
            pyogrio.write_dataframe(result.findings, tmp, layer="conflicts", driver="GPKG", append=False,
                                    geometry_type="Unknown")
    return Path(path)
