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
import pyarrow as pa
import pyarrow.compute as pc

from ecogis.screening.availability import STATUS_TEXT, TOLERANCE
from ecogis.screening.messages import fixed
from ecogis.screening.verdict import PREFIX, _join, _sev, attribute_conditions, project_conditions
from ecogis.textcolumns import factorize_objects, group_rows

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
                    activity_names: dict[str, str], tags: Sequence[str], kind_title: str, lang: str,
                    outside_soft: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Per finding row of ``part`` (aligned with its rows): condition, question, certainty and the message lead."""
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
        attr = np.where(outside_soft[s], text, attr).astype(object)
    proj, question, prov, lead = project_conditions(r, masks.known, masks.current, s, ps, taxonomy, activity_names, tags, lang)
    condition = _join([attr, proj], "；" if zh else "; ", n)
    has_attr = np.asarray(attr != "", dtype=bool)
    has_q = np.asarray(question != "", dtype=bool)
    certainty = np.where(has_attr | has_q, "conditional", np.where(prov, "provisional", "fact")).astype(object)
    return {"condition": np.asarray(condition, dtype=object), "question": np.asarray(question, dtype=object),
            "certainty": certainty, "_attr": has_attr, "_question": has_q, "_prov": np.asarray(prov, dtype=bool),
            "_lead": np.asarray(lead, dtype=object)}


#: Columns of :func:`part_annotation` that only shape the message (dropped by :func:`apply_annotations`).
LEAD_COLUMNS = ["_attr", "_question", "_prov", "_lead"]


def default_annotation(n: int) -> dict[str, np.ndarray]:
    """The annotation of ``n`` findings of fact (no condition, no question)."""
    return {"condition": np.full(n, "", dtype=object), "question": np.full(n, "", dtype=object),
            "certainty": np.full(n, "fact", dtype=object), "_attr": np.zeros(n, dtype=bool),
            "_question": np.zeros(n, dtype=bool), "_prov": np.zeros(n, dtype=bool), "_lead": np.full(n, "", dtype=object)}


def apply_annotations(findings: pd.DataFrame, lang: str) -> pd.DataFrame:
    """Prefix the messages of non-factual findings and drop the lead columns.

    ``findings`` carries the :func:`part_annotation` columns aligned with its rows.
    """
    df = findings
    if not len(df):
        for c in EXTRA_COLUMNS:
            if c not in df.columns:
                df[c] = pd.Series([], dtype=object)
        return df.drop(columns=[c for c in LEAD_COLUMNS if c in df.columns])
    out = annotated_messages({c: df[c].to_numpy() for c in ("message", "condition", *LEAD_COLUMNS)}, lang)
    df = df.drop(columns=LEAD_COLUMNS)
    df["message"] = pd.Series(out, index=df.index, dtype=object)
    return df


def annotated_messages(cols: dict[str, Any], lang: str) -> Any:
    """The messages of :func:`apply_annotations` from the ``message``, ``condition`` and lead column arrays.

    ``cols["message"]`` may be an Arrow string array (the engine's): the
    result is one too, with only the annotated rows rewritten.
    """
    if isinstance(cols["message"], pa.Array):
        return _annotated_arrow(cols, lang)
    cond = np.asarray(cols["condition"], dtype=object)
    isq = np.asarray(cols["_question"], dtype=bool)
    attr = np.asarray(cols["_attr"], dtype=bool)
    prov = np.asarray(cols["_prov"], dtype=bool)
    lead = np.asarray(cols["_lead"], dtype=object)
    key = "zh" if lang == "zh" else "en"
    stop = "。" if key == "zh" else ". "
    msg = np.asarray(cols["message"], dtype=object)
    out = msg.copy()
    # a question row leads with the question (项目是否涉及…？若是：); the others with their condition
    q = np.flatnonzero(isq)
    if len(q):
        out[q] = PREFIX["question"][key] + lead[q] + msg[q]
    a = np.flatnonzero(~isq & attr)
    if len(a):
        out[a] = PREFIX["conditional"][key] + cond[a] + stop + msg[a]
    p = np.flatnonzero(~isq & ~attr & prov)
    if len(p):
        out[p] = PREFIX["provisional"][key] + cond[p] + stop + msg[p]
    return out


def _annotated_arrow(cols: dict[str, Any], lang: str) -> pa.Array:
    """:func:`annotated_messages` of an Arrow message column: the prefixed rows joined by Arrow kernels and put
    back with ``replace_with_mask`` (the rows of fact, most of them, are not touched)."""
    msg = cols["message"]
    isq = np.asarray(cols["_question"], dtype=bool)
    attr = np.asarray(cols["_attr"], dtype=bool)
    prov = np.asarray(cols["_prov"], dtype=bool)
    key = "zh" if lang == "zh" else "en"
    stop = "。" if key == "zh" else ". "
    groups = ((isq, "question", "_lead", ""), (~isq & attr, "conditional", "condition", stop),
              (~isq & ~attr & prov, "provisional", "condition", stop))
    for mask, kind, col, end in groups:
        rows = np.flatnonzero(mask)
        if not len(rows):
            continue
        take = pa.array(rows)
        lead = pa.array(np.asarray(cols[col], dtype=object)[rows], type=msg.type)
        new = pc.binary_join_element_wise(pa.scalar(PREFIX[kind][key], msg.type), lead, pa.scalar(end, msg.type),
                                          msg.take(take), pa.scalar("", msg.type))
        msg = pc.replace_with_mask(msg, pa.array(mask), new)
    return msg


def join_flags(labels: Sequence[str], rows: Sequence[np.ndarray], sep: str, n: int) -> np.ndarray:
    """Per column of the boolean ``rows`` (one row per label), the labels whose row is true, joined by ``sep``.

    Sites with the same set of labels share one text: the sets are found by
    packing each site's flags into bytes and taking the distinct byte
    strings, so the text is built once per distinct set (not per site).
    """
    if not labels:
        return np.full(n, "", dtype=object)
    m = np.vstack([np.asarray(r, dtype=bool) for r in rows])
    inv, first = group_rows(np.packbits(m, axis=0).T)
    lab = np.asarray(labels, dtype=object)
    texts = np.array([sep.join(lab[m[:, j]]) for j in first], dtype=object)
    return texts[inv]


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
    # per kind: the sites some rule of it could not cover, and why (the first reason; name-bound ones added)
    kind_reason: dict[str, tuple[np.ndarray, np.ndarray, str, str]] = {}
    kind_name: dict[str, tuple[np.ndarray, list[str]]] = {}
    inc_ids: list[str] = []
    inc_rows: list[np.ndarray] = []
    none_ids: list[str] = []
    none_rows: list[np.ndarray] = []
    for rule, applies, out, status, detail in rules_out:
        inc = applies & (out > TOLERANCE)
        if not inc.any():
            continue
        inc_ids.append(rule.id)
        inc_rows.append(inc)
        if status != "ok":
            none_ids.append(rule.id)
            none_rows.append(inc)
        if status == "name":
            m, names = kind_name.get(rule.layer, (np.zeros(n, dtype=bool), []))
            kind_name[rule.layer] = (m | inc, names + ([detail] if detail not in names else []))
            continue
        prev = kind_reason.get(rule.layer)
        kind_reason[rule.layer] = ((prev[0] | inc) if prev is not None else inc, out, status, detail)
    rules_txt = join_flags(inc_ids, inc_rows, ", ", n)
    none_txt = join_flags(none_ids, none_rows, ", ", n)
    open_, close = ("（", "）") if zh else (" (", ")")
    sep = "；" if zh else "; "
    per_kind: list[np.ndarray] = []
    for kind in sorted(set(kind_reason) | set(kind_name)):
        pieces: list[np.ndarray] = []
        if kind in kind_reason:
            m, out, status, detail = kind_reason[kind]
            txt = np.full(n, "", dtype=object)
            if status == "ok":
                tmpl = STATUS_TEXT["reach"][key].replace("{reach}", detail) if detail else STATUS_TEXT["outside"][key]
                head, tail = tmpl.split("{pct}")
                pct = fixed(np.round(100.0 * out[m], 1), 1, commas=False)  # "%.1f", by Arrow kernels
                txt[m] = pc.binary_join_element_wise(head, pct, tail, "").to_numpy(zero_copy_only=False)
            else:
                txt[m] = STATUS_TEXT[status][key]
            pieces.append(txt)
        if kind in kind_name:
            m, names = kind_name[kind]
            txt = np.full(n, "", dtype=object)
            txt[m] = STATUS_TEXT["name"][key].format(name="/".join(names))
            pieces.append(txt)
        # the kind's label around each distinct text (a few per kind), not around each site's
        codes, uniq = factorize_objects(join_texts(pieces, "、", n))  # texts hold no missing values
        labels = np.array([kind + open_ + u + close if u else "" for u in uniq], dtype=object)
        per_kind.append(labels[codes] if len(uniq) else np.full(n, "", dtype=object))
    return rules_txt, join_texts(per_kind, sep, n), none_txt


def join_texts(columns: Sequence[np.ndarray], sep: str, n: int) -> np.ndarray:
    """Element-wise join of text columns (``""`` = nothing), built once per distinct combination of values."""
    if not columns:
        return np.full(n, "", dtype=object)
    if len(columns) == 1:
        return np.asarray(columns[0], dtype=object)
    codes, uniques = [], []
    for c in columns:
        code, uniq = factorize_objects(c)  # a few text objects repeated: coded by identity first
        codes.append(code.astype(np.int64))
        uniques.append(np.asarray(uniq, dtype=object))
    m = np.ascontiguousarray(np.vstack(codes).T)
    inv, first = group_rows(m)
    texts = np.array([sep.join(v for v in (uniques[k][m[j, k]] for k in range(len(columns))) if v)
                      for j in first], dtype=object)
    return texts[inv]


__all__ = ["EXTRA_COLUMNS", "LEAD_COLUMNS", "part_annotation", "default_annotation", "apply_annotations",
           "annotated_messages",
           "incomplete_columns", "feature_keys", "join_flags", "join_texts"]
