"""The access-list table in the outputs: a ``findings.json`` key, a ``findings.xlsx`` sheet, a report section.

Each function is the one call the output writers make; each returns nothing
(or an empty string) when the screen had no access lists.
"""

from __future__ import annotations

import math
from typing import Any

import jinja2
import pandas as pd

SHEET = "准入清单对照"
_COLS = ["site_id", "site_name", "unit_code", "unit_name", "unit_class", "overlap_pct", "dimension", "text", "result",
         "effect", "basis", "note", "condition", "question", "item_id"]
HEADERS = {
    "zh": {"site_id": "地块编号", "site_name": "项目名称", "unit_code": "单元编码", "unit_name": "单元名称", "unit_class": "类别",
           "overlap_pct": "占项目面积(%)", "dimension": "维度", "text": "要求原文", "result": "对照结果", "effect": "管控效力",
           "basis": "依据", "note": "说明", "condition": "成立条件", "question": "待确认", "item_id": "条目编号"},
    "en": {"site_id": "site", "site_name": "project", "unit_code": "unit code", "unit_name": "unit", "unit_class": "class",
           "overlap_pct": "share of site (%)", "dimension": "dimension", "text": "requirement (verbatim)",
           "result": "result", "effect": "effect", "basis": "basis", "note": "note", "condition": "condition",
           "question": "to confirm", "item_id": "item"},
}


def _table(result) -> pd.DataFrame | None:
    t = getattr(result, "accesslist", None)
    return t if isinstance(t, pd.DataFrame) else None


def _plain(v: Any) -> Any:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return None
    if hasattr(v, "item"):
        return v.item()
    return v


def access_document(result) -> dict[str, Any] | None:
    """The ``accesslist`` key of findings.json: list versions and coverage, and one row per (site, item)."""
    t = _table(result)
    if t is None:
        return None
    rows = [{k: _plain(v) for k, v in r.items()} for r in t[[c for c in _COLS if c in t.columns]].to_dict("records")]
    counts = t.groupby(["site_id", "result"]).size().unstack(fill_value=0) if len(t) else pd.DataFrame()
    summary = {sid: {k: int(v) for k, v in row.items()} for sid, row in counts.iterrows()} if len(counts) else {}
    return {"meta": result.meta.get("accesslist", {}), "summary": summary, "items": rows}


_TEMPLATE = """<section class="accesslist"><h2>{{ L.title }}</h2>
{% for lid, li in meta.lists.items() %}<p class="small">{{ L.list }} {{ lid }}: {{ li.source }} · {{ L.version }} {{ li.version }} · SHA-256 <code>{{ li.sha256 }}</code> · {{ L.coverage }} {{ li.coverage.naming_industry_machine }}/{{ li.coverage.naming_industry }}</p>{% endfor %}
{% for sid, rows in sites %}<h3>{{ sid }} {{ rows[0].site_name or "" }}</h3>
<table><tr>{% for h in heads %}<th>{{ h }}</th>{% endfor %}</tr>
{% for r in rows %}<tr class="r-{{ r.cls }}"><td>{{ r.unit_code }}</td><td>{{ r.unit_name }}</td><td>{{ r.unit_class }}</td><td>{{ r.dimension }}</td><td>{{ r.text }}</td><td><b>{{ r.result }}</b>{% if r.note %}<br><span class="small">{{ r.note }}</span>{% endif %}{% if r.question %}<br><span class="small">{{ L.ask }}{{ r.question }}</span>{% endif %}</td><td class="small">{{ r.basis }}</td></tr>
{% endfor %}</table>{% endfor %}</section>
"""
_LABELS = {
    "zh": {"title": "生态环境准入清单逐项对照", "list": "清单", "version": "版本", "coverage": "含行业条目转为机读条款",
           "ask": "待确认：", "heads": ["单元编码", "单元名称", "类别", "维度", "要求原文", "对照结果", "依据"]},
    "en": {"title": "Environmental access lists, item by item", "list": "list", "version": "version",
           "coverage": "industry items as machine clauses", "ask": "to confirm: ",
           "heads": ["unit code", "unit", "class", "dimension", "requirement (verbatim)", "result", "basis"]},
}
_ENV = jinja2.Environment(autoescape=True, undefined=jinja2.ChainableUndefined)
_CLS = {"不符合": "bad", "需人工核对": "check", "符合": "ok"}


def access_html(doc_or_result, *, lang: str = "zh") -> str:
    """The report section (escaped HTML from a fixed template); '' without access lists.

    Takes the findings document (its ``accesslist`` key) or a screening result.
    """
    doc = doc_or_result.get("accesslist") if isinstance(doc_or_result, dict) else access_document(doc_or_result)
    if not doc:
        return ""
    L = _LABELS.get(lang, _LABELS["zh"])
    by: dict[str, list[dict[str, Any]]] = {}
    for r in doc["items"]:
        by.setdefault(str(r["site_id"]), []).append({**r, "cls": _CLS.get(r["result"], "check")})
    return _ENV.from_string(_TEMPLATE).render(L=L, heads=L["heads"], meta={"lists": {}, **(doc.get("meta") or {})}, sites=list(by.items()))
