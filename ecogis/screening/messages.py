"""Finding messages, built column-wise: one rule's template filled for every row of a part at once.

A rule's message template (``rules/*.yaml``: ``message_zh`` / ``message_en``)
is parsed once.  Its literal text and the text of each placeholder become
Arrow string columns, joined with one ``binary_join_element_wise`` kernel; the
numbers are formatted by :func:`fixed` with integer arithmetic in NumPy and
Arrow, exactly as Python's ``f"{v:,.{nd}f}"`` formats them.  Values from data
are only ever joined as text: nothing from data is ever part of a template.

:func:`message` is the per-row reference (one record, one ``str.format``);
the tests hold the column-wise messages to it.
"""

from __future__ import annotations

import string
from typing import Any, Mapping

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecogis.textcolumns import fixed_text

MISSING = "—"
#: Feature attributes message templates may name directly ({type}, {status} …; see rules/README.md).
MESSAGE_ATTRS = ("type", "status", "level", "function", "method", "green", "feature")
#: Message values the engine gives, with the decimals it formats them to (None: text as it is).
MESSAGE_VALUES: dict[str, tuple[str, int]] = {
    "feature_name": ("feature_name", 2), "zone": ("zone", 2), "grade": ("zone", 2), "class": ("zone", 2),
    "overlap_ha": ("overlap_ha", 4), "overlap_mu": ("overlap_mu", 2), "overlap_pct": ("overlap_pct", 2),
    "distance_m": ("distance_m", 0), "feature_code": ("feature_code", 2),
}
#: Values given as they are (formatted by the rule's own formatter).
MESSAGE_RAW = ("site_name", "site_id", "layer_kind", "rule_id")


def fmt_value(v: Any, nd: int = 2) -> str:
    """One value as a message shows it before the rule's formatter: ``—`` for none, floats to ``nd`` decimals."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return MISSING
    if isinstance(v, (float, np.floating)):
        return f"{v:,.{nd}f}"
    return str(v)


def message(rule, rec: Mapping[str, Any], lang: str) -> str:
    """The rule's message for one finding record (the per-row reference of :func:`messages`)."""
    values = {
        **{a: fmt_value(rec.get(f"_attr_{a}")) for a in MESSAGE_ATTRS if rec.get(f"_attr_{a}") is not None},
        "site_name": rec["site_name"], "site_id": rec["site_id"], "feature_name": fmt_value(rec["feature_name"]),
        "zone": fmt_value(rec["zone"]), "grade": fmt_value(rec["zone"]), "class": fmt_value(rec["zone"]),
        "layer_kind": rec["layer_kind"], "overlap_ha": fmt_value(rec["overlap_ha"], 4),
        "overlap_mu": fmt_value(rec["overlap_mu"], 2), "overlap_pct": fmt_value(rec["overlap_pct"], 2),
        "distance_m": fmt_value(rec["distance_m"], 0), "feature_code": fmt_value(rec["feature_code"]),
        "rule_id": rec["rule_id"],
    }
    return rule.render_message(lang, **values)


# ----------------------------------------------------------------------------- columns of text
def _str(values: np.ndarray) -> pa.Array:
    return pa.array(values, type=pa.string())


def fixed(values: np.ndarray, nd: int, *, commas: bool = True, missing: str = MISSING) -> pa.Array:
    """``f"{v:,.{nd}f}"`` (or ``.{nd}f`` without ``commas``) of every float, ``missing`` for NaN, as Arrow text.

    :func:`ecogis.textcolumns.fixed_text`: rounding is Python's, with no Python call per value.
    """
    return fixed_text(values, nd, commas=commas, nan=missing).cast(pa.string())


def distinct_text(values: np.ndarray, fmt) -> np.ndarray:
    """``fmt(v)`` for each value, computed once per distinct value (one pass; numbers and names repeat)."""
    codes, uniq = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    return np.array([fmt(u) for u in uniq], dtype=object)[codes] if len(uniq) else np.zeros(0, dtype=object)


def _text_or_missing(values: np.ndarray) -> np.ndarray:
    """A column of text (missing values among it) as messages show it: each text, ``—`` for none or empty."""
    values = np.asarray(values, dtype=object)
    blank = pd.isna(values) | (values == "")
    return np.where(blank, MISSING, values).astype(object)


def site_text(name: str, values: np.ndarray) -> np.ndarray:
    """A site column as messages show it (the rules' formatter; ``—`` for none or empty), once per site.

    Text columns (the usual case) are mapped in one vectorised pass; other
    values (numbers from a spreadsheet) once per distinct value.
    """
    from ecogis.rules.model import _fmt as rule_fmt

    values = np.asarray(values, dtype=object)
    if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):
        return _text_or_missing(values)
    return distinct_text(values, lambda v, name=name: MISSING if v is None else rule_fmt(name, v))


def template_names(rule, lang: str) -> set[str]:
    """The placeholder names of the rule's message template in ``lang``."""
    template = rule.message_zh if lang == "zh" else rule.message_en
    try:
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}
    except ValueError:
        return set(MESSAGE_ATTRS)


def render_single(rule, key: str, lang: str) -> str:
    """The value the rule itself gives placeholder ``key`` (``—`` if none), formatted as its messages format it."""
    import dataclasses

    one = dataclasses.replace(rule, message_zh="{" + key + "}", message_en="{" + key + "}")
    return one.render_message(lang)


def _column(rule, name: str, frame: Mapping[str, Any], lang: str) -> pa.Array | str:
    """The text of placeholder ``name`` for every row (an Arrow column), or one text for all rows."""
    from ecogis.rules.model import _fmt as rule_fmt

    if name in MESSAGE_VALUES:
        col, nd = MESSAGE_VALUES[name]
        values = np.asarray(frame[col])
        if values.dtype.kind == "f":
            return fixed(values, nd)
        if pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty"):  # names: as they are, or —
            return _str(_text_or_missing(values))
        return _str(distinct_text(values.astype(object),
                                  lambda v, nd=nd, name=name: rule_fmt(name, fmt_value(v, nd))))
    if name in MESSAGE_ATTRS and f"_attr_{name}" in frame:
        fallback = render_single(rule, name, lang)
        return _str(distinct_text(
            np.asarray(frame[f"_attr_{name}"], dtype=object),
            lambda v, name=name, fb=fallback: fb if v is None or (isinstance(v, float) and np.isnan(v))
            else rule_fmt(name, fmt_value(v))))
    if name in MESSAGE_RAW and f"_fmt_{name}" in frame:  # formatted once per site by the caller
        return _str(np.asarray(frame[f"_fmt_{name}"], dtype=object))
    if name in MESSAGE_RAW:
        return _str(distinct_text(np.asarray(frame[name], dtype=object),
                                  lambda v, name=name: MISSING if v is None else rule_fmt(name, v)))
    return render_single(rule, name, lang)  # from the rule itself (rule_id, severity, limit_m …)


def messages(rule, frame: "Mapping[str, np.ndarray] | pd.DataFrame", lang: str, *,
             arrow: bool = False) -> "np.ndarray | pa.Array":
    """The rule's message for every row of ``frame`` (one rule), built column-wise.

    The template is parsed once; each placeholder it uses becomes one column
    of text (formatted as :func:`message` formats one row), and the literal
    text and the columns are joined by one Arrow kernel.  Templates with
    format specs, conversions or attribute access (refused when rules load)
    take the per-row path.  ``arrow``: the messages as an Arrow (large)
    string array instead of Python strings (the engine keeps them so: no
    conversion of every message to a Python object and back).
    """
    out = _messages(rule, frame, lang)
    if not arrow:
        return out if isinstance(out, np.ndarray) else np.asarray(out.to_numpy(zero_copy_only=False), dtype=object)
    return out.cast(pa.large_string()) if isinstance(out, pa.Array) else pa.array(out, type=pa.large_string())


def _messages(rule, frame, lang: str) -> "np.ndarray | pa.Array":
    """:func:`messages` as built: Arrow text where joined column-wise, Python strings otherwise."""
    n = len(frame["site_id"])
    template = rule.message_zh if lang == "zh" else rule.message_en
    pieces = list(string.Formatter().parse(template))
    if any(spec or conv or (name is not None and not name.isidentifier()) for _, name, spec, conv in pieces):
        names = [c for c in frame if c not in ("message", "next_steps", "geometry")]
        return np.array([message(rule, dict(zip(names, row)), lang)
                         for row in zip(*(np.asarray(frame[c], dtype=object) for c in names))], dtype=object)
    texts: dict[str, pa.Array | str] = {}
    parts: list[pa.Array | str] = []
    for literal, name, _, _ in pieces:
        if literal:
            parts.append(literal)
        if name is not None:
            if name not in texts:
                texts[name] = _column(rule, name, frame, lang)
            parts.append(texts[name])
    # neighbouring constant texts merged; an all-constant template is one text repeated
    merged: list[pa.Array | str] = []
    for p in parts:
        if isinstance(p, str) and merged and isinstance(merged[-1], str):
            merged[-1] += p
        else:
            merged.append(p)
    if not any(isinstance(p, pa.Array) for p in merged):
        return np.full(n, "".join(merged), dtype=object)
    if n == 0:
        return np.zeros(0, dtype=object)
    args = [p if isinstance(p, pa.Array) else pa.scalar(p, pa.string()) for p in merged]
    if len(args) == 1:
        return args[0]
    return pc.binary_join_element_wise(*args, pa.scalar("", pa.string()))


__all__ = ["MESSAGE_ATTRS", "fixed", "message", "messages", "site_text", "template_names", "render_single"]
