"""Conditions, questions and certainty of findings, and the per-site list of what was not evaluated.

The engine finds candidate conflicts on the worst case (unknown attributes
matching, undeclared gating activities assumed); this module says, per
finding, what that worst case rested on, and prefixes the message so no
guess reads as a fact.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import pandas as pd

from ecogis.screening.availability import STATUS_TEXT, TOLERANCE
from ecogis.screening.verdict import PREFIX, _join, _sev, attribute_conditions, project_conditions

#: Columns the findings gain (after the engine's own).
EXTRA_COLUMNS = ["condition", "question", "certainty"]


def feature_keys(site_ids: np.ndarray, rule_ids: str | np.ndarray, fids: np.ndarray) -> np.ndarray:
    """Join keys ``site|rule|fid`` (fid -1 for findings without a feature)."""
    n = len(site_ids)
    f = pd.to_numeric(pd.Series(fids, dtype=object), errors="coerce").fillna(-1).astype("int64").astype(str)
    r = np.full(n, rule_ids, dtype=object) if isinstance(rule_ids, str) else np.asarray(rule_ids, dtype=object)
    sid = pd.Series(site_ids, dtype=object).astype(str).to_numpy(dtype=object)
    return sid + "\x1f" + r.astype(str).astype(object) + "\x1f" + f.to_numpy(dtype=object)


def part_annotation(part: dict[str, Any], *, where: tuple | None, masks: Any, ps: Any, taxonomy: Any,
                    activity_names: dict[str, str], tags: Sequence[str], kind_title: str, site_ids: np.ndarray,
                    fids: np.ndarray, lang: str, outside_soft: np.ndarray | None = None) -> pd.DataFrame:
    """One row per finding row of ``part``: key, condition, question, certainty."""
    r, s, f = part["rule"], np.asarray(part["s"]), np.asarray(part["f"])
    n = len(s)
    zh = lang == "zh"
    attr = np.full(n, "", dtype=object)
    if where is not None and len(where[2]):
        attr = attribute_conditions(r, where[2], f, kind_title, lang)
    if outside_soft is not None and outside_soft.any():
        vals = "、".join(v for t in r.where for v in t.values)
        sev = _sev(r.severity, lang)
        text = (f"{kind_title}部分要素属性未知：若其不为{vals}，则{sev}" if zh
                else f"some {kind_title} attributes unknown: {sev} unless they are {vals}")
        attr = np.where(outside_soft[s], text, attr)
    proj, question, prov, lead = project_conditions(r, masks.known, masks.current, s, ps, taxonomy, activity_names, tags, lang)
    condition = _join([attr, proj], "；" if zh else "; ", n)
    certainty = np.where((attr != "") | (question != ""), "conditional", np.where(prov, "provisional", "fact"))
    keys = feature_keys(site_ids[s], r.id, fids)
    return pd.DataFrame({"_key": keys, "condition": condition, "question": question, "certainty": certainty,
                         "_attr": attr != "", "_question": question != "", "_prov": prov,
                         "_lead": lead})


def apply_annotations(findings: pd.DataFrame, annotations: list[pd.DataFrame], lang: str) -> pd.DataFrame:
    """Add :data:`EXTRA_COLUMNS` to ``findings`` and prefix the messages of non-factual findings."""
    df = findings.copy()
    if not len(df):
        for c in EXTRA_COLUMNS:
            df[c] = pd.Series([], dtype=object)
        return df
    ann = pd.concat(annotations, ignore_index=True).drop_duplicates("_key") if annotations else None
    keys = feature_keys(df["site_id"].to_numpy(dtype=object), df["rule_id"].to_numpy(dtype=object),
                        df["feature_id"].to_numpy(dtype=object))
    if ann is None:
        found = pd.DataFrame(index=range(len(df)))
    else:
        found = pd.DataFrame({"_key": keys}).merge(ann, on="_key", how="left")
    cond = found.get("condition", pd.Series([""] * len(df))).fillna("").to_numpy(dtype=object)
    quest = found.get("question", pd.Series([""] * len(df))).fillna("").to_numpy(dtype=object)
    cert = found.get("certainty", pd.Series(["fact"] * len(df))).fillna("fact").to_numpy(dtype=object)
    attr = found.get("_attr", pd.Series([False] * len(df))).fillna(False).to_numpy(dtype=bool)
    isq = found.get("_question", pd.Series([False] * len(df))).fillna(False).to_numpy(dtype=bool)
    prov = found.get("_prov", pd.Series([False] * len(df))).fillna(False).to_numpy(dtype=bool)
    lead = found.get("_lead", pd.Series([""] * len(df))).fillna("").to_numpy(dtype=object)
    key = "zh" if lang == "zh" else "en"
    stop = "。" if key == "zh" else ". "
    # a question row leads with the question (项目是否涉及…？若是：); the others with their condition
    prefix = np.where(isq, PREFIX["question"][key] + lead,
                      np.where(attr, PREFIX["conditional"][key] + cond + stop,
                               np.where(prov, PREFIX["provisional"][key] + cond + stop, "")))
    df["message"] = prefix + df["message"].fillna("").astype(str).to_numpy(dtype=object)
    df["condition"] = cond
    df["question"] = quest
    df["certainty"] = cert
    return df


def _append(acc: np.ndarray, has: np.ndarray, mask: np.ndarray, text, sep: str) -> None:
    """In place: add ``text`` (a string, or an array aligned with ``acc``) to ``acc`` where ``mask``."""
    if not mask.any():
        return
    both = mask & has
    acc[both] = acc[both] + sep
    acc[mask] = acc[mask] + (text if isinstance(text, str) else text[mask])
    has |= mask


def incomplete_columns(rules_out: list[tuple[Any, np.ndarray, np.ndarray, str, str]], n: int,
                       lang: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(incomplete_rules, incomplete_layers, not_evaluated)`` text per site.

    ``rules_out`` holds, per rule, ``(rule, applies, share_out, status, detail)``:
    the sites the rule could concern, the share of each site where its layer is
    not available (0–1), the layer's status (``ok``, ``missing``, ``empty``,
    ``name``) and, for ``name``, the name that matched no feature; for ``ok``,
    the search distance in metres when the share is of the site grown by it.
    Work is per rule and per kind on the affected sites only (no loop over sites).
    """
    zh = lang == "zh"
    key = "zh" if zh else "en"
    rules_txt = np.full(n, "", dtype=object)
    rules_has = np.zeros(n, dtype=bool)
    none_txt = np.full(n, "", dtype=object)
    none_has = np.zeros(n, dtype=bool)
    # per kind: the sites some rule of it could not cover, and why (the first reason; name-bound ones added)
    kind_reason: dict[str, tuple[np.ndarray, np.ndarray, str, str]] = {}
    kind_name: dict[str, tuple[np.ndarray, list[str]]] = {}
    for rule, applies, out, status, detail in rules_out:
        inc = applies & (out > TOLERANCE)
        if not inc.any():
            continue
        _append(rules_txt, rules_has, inc, rule.id, ", ")
        if status != "ok":
            _append(none_txt, none_has, inc, rule.id, ", ")
        if status == "name":
            m, names = kind_name.get(rule.layer, (np.zeros(n, dtype=bool), []))
            kind_name[rule.layer] = (m | inc, names + ([detail] if detail not in names else []))
            continue
        prev = kind_reason.get(rule.layer)
        kind_reason[rule.layer] = ((prev[0] | inc) if prev is not None else inc, out, status, detail)
    layers_txt = np.full(n, "", dtype=object)
    layers_has = np.zeros(n, dtype=bool)
    open_, close = ("（", "）") if zh else (" (", ")")
    sep = "；" if zh else "; "
    for kind in sorted(set(kind_reason) | set(kind_name)):
        parts = np.full(n, "", dtype=object)
        phas = np.zeros(n, dtype=bool)
        if kind in kind_reason:
            m, out, status, detail = kind_reason[kind]
            if status == "ok":
                tmpl = STATUS_TEXT["reach"][key].replace("{reach}", detail) if detail else STATUS_TEXT["outside"][key]
                head, tail = tmpl.split("{pct}")
                txt = np.full(n, "", dtype=object)
                txt[m] = head + np.char.mod("%.1f", np.round(100.0 * out[m], 1)).astype(object) + tail
                _append(parts, phas, m, txt, "、")
            else:
                _append(parts, phas, m, STATUS_TEXT[status][key], "、")
        if kind in kind_name:
            m, names = kind_name[kind]
            _append(parts, phas, m, STATUS_TEXT["name"][key].format(name="/".join(names)), "、")
        full = np.full(n, "", dtype=object)
        full[phas] = kind + open_ + parts[phas] + close
        _append(layers_txt, layers_has, phas, full, sep)
    return rules_txt, layers_txt, none_txt


__all__ = ["EXTRA_COLUMNS", "part_annotation", "apply_annotations", "incomplete_columns", "feature_keys"]
