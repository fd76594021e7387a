"""Site verdicts that never call a site clear without having looked.

A finding is one of three kinds (column ``certainty``):

* ``fact`` — the rule applies to the project as declared and the feature's
  attributes are known;
* ``provisional`` — it applies only because the project's industry code or
  nature is missing (the worst case); the message is put as 若项目属于…;
* ``conditional`` — a feature attribute the rule filters on is unknown
  (missing, blank or not a schema value), or the rule is gated on an
  activity the project did not declare (a 待确认 question).

The site verdict is the worst factual or provisional finding; conditional
findings and rules that could not be evaluated on the whole site (layer
missing, empty, not covering, or a name-bound rule whose name matches no
feature) make it at least ``incomplete``.  ``not_covered`` (off the admin
jurisdiction) keeps its meaning and yields only to a prohibition.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

#: Verdict ranks: prohibited > restricted > review > incomplete > notice > clear > not_covered.
RANK = {"prohibited": 4, "restricted": 3, "review": 2, "incomplete": 1.5, "notice": 1, "clear": 0, "not_covered": -1}
CERTAINTIES = ("fact", "provisional", "conditional")

_SEV = {
    "zh": {"prohibited": "禁止", "restricted": "限制", "review": "需论证", "notice": "提示"},
    "en": {"prohibited": "prohibited", "restricted": "restricted", "review": "needs review", "notice": "notice"},
}
#: How attributes are named in condition text.
ATTR_LABEL = {
    "type": ("类型", "type"), "level": ("级别", "level"), "zone": ("分区", "zone"), "grade": ("级别", "grade"),
    "class": ("类别", "class"), "name": ("名称", "name"), "status": ("状态", "status"),
    "green": ("绿色矿山标识", "green-mine flag"), "adcode": ("行政区划代码", "adcode"), "method": ("开采方式", "method"),
    "code": ("编码", "code"), "function": ("功能", "function"),
}
PREFIX = {
    "conditional": {"zh": "【有条件】", "en": "[Conditional] "},
    "question": {"zh": "【待确认】", "en": "[To confirm] "},
    "provisional": {"zh": "【待定】", "en": "[Provisional] "},
}


def _sev(severity: str, lang: str) -> str:
    return _SEV["zh" if lang == "zh" else "en"].get(severity, severity)


def _join(parts: Sequence[np.ndarray], sep: str, n: int) -> np.ndarray:
    """Element-wise join of object arrays of text, skipping empty pieces."""
    out = np.full(n, "", dtype=object)
    for p in parts:
        glue = np.where((out != "") & (p != ""), sep, "")
        out = out + glue + p
    return out


def attribute_conditions(rule: Any, unknown: list, f: np.ndarray, kind_title: str, lang: str) -> np.ndarray:
    """Condition text per finding row for the ``where`` terms that were unknown on its feature."""
    n = len(f)
    parts = []
    sev = _sev(rule.severity, lang)
    valid = f >= 0
    safe = np.where(valid, f, 0)
    for term, unk in unknown:
        if not len(unk):
            continue
        hit = np.zeros(n, dtype=bool)
        hit[valid] = unk[safe[valid]]
        label_zh, label_en = ATTR_LABEL.get(term.attr, (term.attr, term.attr))
        vals = "、".join(term.values) if lang == "zh" else " or ".join(term.values)
        if lang == "zh":
            text = f"{kind_title}{label_zh}未知：若为{vals}，则{sev}"
        else:
            text = f"{kind_title} {label_en} unknown: {sev} if it is {vals}"
        parts.append(np.where(hit, text, ""))
    return _join(parts, "；" if lang == "zh" else "; ", n)


def project_conditions(rule: Any, known: np.ndarray, current: np.ndarray, s: np.ndarray, ps: Any, taxonomy: Any,
                       activity_names: dict[str, str], tags: Sequence[str], lang: str):
    """``(condition, question, provisional, question_lead)`` per finding row from what the project left undeclared.

    ``question_lead`` is the text put before the message of a question row
    (项目是否涉及…？若是：).
    """
    n = len(s)
    sev = _sev(rule.severity, lang)
    zh = lang == "zh"
    question_row = ~current[s]
    prov_row = current[s] & ~known[s]
    parts = []
    q = np.full(n, "", dtype=object)
    q_lead = np.full(n, "", dtype=object)
    if question_row.any() and tags:
        names = [activity_names.get(t, t) for t in tags]
        what = "或".join(names) if zh else " or ".join(names)
        qtext = (f"待确认：项目是否涉及{what}？若是，则{sev}（{rule.title_zh}）" if zh
                 else f"To confirm: does the project involve {what}? If so: {sev} ({rule.title_en})")
        q = np.where(question_row, qtext, "")
        lead = (f"项目是否涉及{what}？若是：" if zh else f"Does the project involve {what}? If so: ")
        q_lead = np.where(question_row, lead, "")
        parts.append(np.where(question_row, (f"未申报是否涉及{what}" if zh else f"not declared whether it involves {what}"), ""))
    if prov_row.any():
        inds = list(rule.applies.base.industry) + [c for a in rule.applies.any_of for c in a.industry]
        nats = list(rule.applies.base.nature) + [c for a in rule.applies.any_of for c in a.nature]
        no_ind = ~ps.industry_known[s] & prov_row
        no_nat = ~ps.nature_known[s] & prov_row
        if inds and no_ind.any():
            labels = [_industry_label(taxonomy, c, zh) for c in dict.fromkeys(inds)]
            what = "、".join(labels) if zh else ", ".join(labels)
            parts.append(np.where(no_ind, (f"缺行业代码：若项目属于{what}，则{sev}" if zh
                                           else f"no industry code: {sev} if the project is in {what}"), ""))
        if nats and no_nat.any():
            what = "、".join(dict.fromkeys(nats))
            parts.append(np.where(no_nat, (f"缺建设性质：若为{what}项目，则{sev}" if zh
                                           else f"no nature given: {sev} if it is {what}"), ""))
    return _join(parts, "；" if zh else "; ", n), q, prov_row, q_lead


def _industry_label(taxonomy: Any, code: str, zh: bool) -> str:
    name = None
    if taxonomy is not None:
        try:
            name = taxonomy.name(code)
        except Exception:  # an unlisted prefix: show the code alone
            name = None
    return f"{code} {name}" if (name and zh) else code


def site_verdicts(findings: pd.DataFrame, sites: pd.DataFrame) -> np.ndarray:
    """The verdict of each site (see the module docstring).

    ``sites`` needs ``site_id`` and ``coverage``; ``incomplete_rules`` (text)
    when some rule could not be evaluated on a site.  ``findings`` needs
    ``site_id``, ``severity`` and ``certainty`` (missing: every finding is a fact).
    """
    n = len(sites)
    worst = np.zeros(n)
    cond = np.zeros(n, dtype=bool)
    ids = sites["site_id"].to_numpy(dtype=object)
    if len(findings):
        cert = findings["certainty"].to_numpy(dtype=object) if "certainty" in findings.columns else None
        sev = findings["severity"].to_numpy(dtype=object)
        codes, uniq = pd.factorize(sev)  # each distinct severity ranked once (-1, missing, takes the trailing NaN)
        rank = np.array([RANK.get(v, np.nan) if isinstance(v, str) else np.nan for v in uniq] + [np.nan])[codes]
        firm = cert != "conditional" if cert is not None else np.ones(len(sev), dtype=bool)
        fsite = findings["site_id"].to_numpy(dtype=object)
        index = pd.Index(ids)
        if firm.any():
            # the worst firm severity per site (hashed lookups; unknown severities and sites ignored)
            at = index.get_indexer(fsite[firm]) if index.is_unique else None
            if at is not None:
                best = np.full(n, -np.inf)
                ok = at >= 0
                np.fmax.at(best, at[ok], rank[firm][ok])
                worst = np.where(np.isfinite(best), best, 0.0)
            else:  # repeated site ids: each takes the worst of its id
                w = pd.Series(rank[firm]).groupby(fsite[firm]).max()
                worst = pd.Series(ids).map(w).fillna(0.0).to_numpy(dtype=float)
        soft = set(fsite[~firm].tolist())
        cond = index.isin(list(soft)) if soft else cond  # hashed (np.isin on text compares every pair)
    if "incomplete_rules" in sites.columns:
        inc = sites["incomplete_rules"].to_numpy(dtype=object)  # compared as objects: no copy of long texts
        cond |= ~(pd.isna(inc) | (inc == ""))
    worst = np.where(cond & (worst < RANK["incomplete"]), RANK["incomplete"], worst)
    verdict = np.full(n, "clear", dtype=object)
    for name, r in RANK.items():
        verdict[worst == r] = name
    partial = sites["coverage"].to_numpy() != "full"
    # Off coverage a site is never clear; only a prohibition found on the covered part stands.
    verdict[partial & (worst < RANK["prohibited"])] = "not_covered"
    return verdict


VERDICT_TEXT = {
    "prohibited": {"zh": "禁止", "en": "Prohibited"},
    "restricted": {"zh": "限制", "en": "Restricted"},
    "review": {"zh": "需论证", "en": "Needs review"},
    "incomplete": {"zh": "数据不全，不能得出无冲突结论", "en": "Incomplete data: no conflict-free conclusion possible"},
    "notice": {"zh": "提示", "en": "Notice"},
    "clear": {"zh": "未发现冲突", "en": "Clear"},
    "not_covered": {"zh": "超出数据覆盖范围", "en": "Not covered by the data"},
}


def verdict_texts(verdict: np.ndarray, provisional: np.ndarray, lang: str,
                  no_industry: np.ndarray | None = None) -> np.ndarray:
    """Verdict wording, with 待定（缺行业代码）/ provisional where the verdict rests on a missing industry code
    (``no_industry``; default: every provisional site) or, otherwise, on a missing nature (待定（缺建设性质）)."""
    key = "zh" if lang == "zh" else "en"
    words = {k: v[key] for k, v in VERDICT_TEXT.items()}
    v = pd.Series(np.asarray(verdict, dtype=object))
    base = v.map(words).fillna(v).to_numpy(dtype=object)
    prov = np.asarray(provisional, dtype=bool)
    no_ind = prov if no_industry is None else np.asarray(no_industry, dtype=bool)
    tail_ind = "，待定（缺行业代码）" if key == "zh" else " (provisional: no industry code)"
    tail_nat = "，待定（缺建设性质）" if key == "zh" else " (provisional: nature not given)"
    return np.where(prov, base + np.where(no_ind, tail_ind, tail_nat), base)


def provisional_sites(sites: pd.DataFrame, findings: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """``(provisional, no_industry)`` per site: no industry code, or a provisional finding (nature unknown)."""
    ind = sites["industry"] if "industry" in sites.columns else pd.Series("", index=sites.index)
    no_ind = ind.isna().to_numpy() | (ind.astype(str).str.strip().isin(["", "nan", "None"])).to_numpy()
    prov = no_ind.copy()
    if len(findings) and "certainty" in findings.columns:
        ids = set(findings.loc[findings["certainty"] == "provisional", "site_id"])
        if ids:
            prov |= pd.Index(sites["site_id"].to_numpy(dtype=object)).isin(list(ids))
    return prov, no_ind


__all__ = ["RANK", "CERTAINTIES", "VERDICT_TEXT", "site_verdicts", "verdict_texts", "provisional_sites", "attribute_conditions",
           "project_conditions"]
