"""Vectorised matching of rules against sites (projects) and layer features.

:func:`prepare_sites` turns a site table into arrays once; :func:`applies_mask`
and :func:`feature_mask` then answer, for one rule, a boolean per site or per
feature with numpy operations only (no per-pair Python).

Unknown values are treated so that an unknown never hides a restriction and
never grants an exception:

* a missing or empty ``industry`` matches every ``applies.industry`` filter,
  and no ``except`` clause (``unknown_industry="no_match"`` turns the first
  part off);
* a missing ``nature`` matches every ``applies.nature`` filter, and no
  ``except`` clause;
* a missing flag (``linear``, ``national_major``, ``unavoidable``) is false;
* missing activities are none.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ecogis.errors import EcogisError, InputError
from ecogis.rules.model import FLAGS, NATURES, Applicability, Clause, WhereTerm

if TYPE_CHECKING:  # pragma: no cover
    from ecogis.rules.activities import Activities
    from ecogis.rules.taxonomy import Taxonomy

_TRUE = {"1", "true", "t", "yes", "y", "是", "√", "✓", "x"}
_FALSE = {"0", "false", "f", "no", "n", "否", ""}


@dataclass(frozen=True)
class PreparedSites:
    """Site attributes as arrays, ready for many rules.

    ``industry`` holds normalised codes (``""`` where unknown), ``nature``
    the nature (``""`` where unknown), ``flags`` a boolean array per flag and
    ``activity`` a boolean array per tag present on any site (implied tags
    included).
    """

    n: int
    industry: np.ndarray
    nature: np.ndarray
    flags: Mapping[str, np.ndarray]
    activity: Mapping[str, np.ndarray]

    def __len__(self) -> int:
        return self.n

    @property
    def industry_known(self) -> np.ndarray:
        return self.industry != ""

    @property
    def nature_known(self) -> np.ndarray:
        return self.nature != ""

    def has_activity(self, tag: str) -> np.ndarray:
        arr = self.activity.get(tag)
        return arr if arr is not None else np.zeros(self.n, dtype=bool)


def _is_missing(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, float) and v != v:
        return True
    if v is pd.NA or v is pd.NaT:
        return True
    return isinstance(v, str) and not v.strip()


def _to_bool(v: Any, *, path: str | None, where: str) -> bool:
    if _is_missing(v):
        return False
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (int, np.integer, float, np.floating)):
        return bool(v)
    text = str(v).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InputError(f"cannot read {v!r} as yes/no", path=path, where=where,
                     hint="use true/false, 是/否 or 1/0")


# Cache of prepared tables, keyed by id() and checked through a weak reference.
_CACHE: dict[int, tuple[Any, tuple, PreparedSites]] = {}


def _fingerprint(df: pd.DataFrame) -> tuple:
    cols = [c for c in ("industry", "nature", "activity", *FLAGS) if c in df.columns]
    if not cols or not len(df):
        return (len(df), tuple(map(str, df.columns)), 0)
    try:  # the columns as they are (3× faster); text forms only for unhashable cells (activity lists)
        h = pd.util.hash_pandas_object(df[cols], index=False).to_numpy()
    except TypeError:
        h = pd.util.hash_pandas_object(df[cols].astype(str), index=False).to_numpy()
    return (len(df), tuple(map(str, df.columns)), int(h.sum(dtype=np.uint64)), int(h[0]), int(h[-1]))


def prepare_sites(
    sites: pd.DataFrame | PreparedSites,
    *,
    taxonomy: Taxonomy | None = None,
    activities: Activities | None = None,
    strict_industry: bool = False,
    path: str | None = None,
) -> PreparedSites:
    """Normalise a site table once for many rules.

    Parameters
    ----------
    sites:
        A DataFrame (or GeoDataFrame) with any of the columns ``industry``,
        ``nature``, ``linear``, ``national_major``, ``unavoidable`` and
        ``activity`` (a list of tags, or text with ``;`` between tags).
    taxonomy, activities:
        The vocabularies; the bundled ones by default.
    strict_industry:
        Require every code to be listed in the taxonomy (default: a
        well-formed code under a partly listed division is accepted).
    path:
        The site file, for error messages.

    Raises
    ------
    InputError
        For an unknown industry code (with the nearest codes), an unknown
        nature or activity tag, or an unreadable flag — naming the site row.
    """
    if isinstance(sites, PreparedSites):
        return sites
    if taxonomy is None:
        from ecogis.rules.taxonomy import load_taxonomy

        taxonomy = load_taxonomy()
    if activities is None:
        from ecogis.rules.activities import load_activities

        activities = load_activities()
    n = len(sites)
    labels = list(sites.index)

    def where(i: int, col: str) -> str:
        return f"site {labels[i]!s}, field {col}"

    # every column: each distinct value normalised once (errors name the first site that has it)
    if "industry" in sites.columns:
        industry = _per_distinct(sites["industry"].to_numpy(dtype=object), lambda v, i: "" if _is_missing(v) else
                                 taxonomy.validate(v, strict=strict_industry, error=InputError, path=path,
                                                   where=where(i, "industry"))).astype(str)
    else:
        industry = np.full(n, "", dtype=object).astype(str)

    if "nature" in sites.columns:
        nature = _per_distinct(sites["nature"].to_numpy(dtype=object),
                               lambda v, i: "" if _is_missing(v) else str(v).strip()).astype(str)
        bad = ~np.isin(nature, list(NATURES) + [""])
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"unknown nature {nature[i]!r}", path=path, where=where(i, "nature"),
                             hint="use 新建, 改建 or 扩建")
    else:
        nature = np.full(n, "", dtype=object).astype(str)

    flags: dict[str, np.ndarray] = {}
    for flag in FLAGS:
        if flag in sites.columns:
            flags[flag] = _per_distinct(sites[flag].to_numpy(dtype=object),
                                        lambda v, i, flag=flag: _to_bool(v, path=path, where=where(i, flag))
                                        ).astype(bool)
        else:
            flags[flag] = np.zeros(n, dtype=bool)

    act: dict[str, np.ndarray] = {}
    if "activity" in sites.columns:
        parsed = list(_per_distinct(sites["activity"].to_numpy(dtype=object),
                                    lambda v, i: activities.parse(v, error=InputError, path=path,
                                                                  where=where(i, "activity"))))
        tags = sorted(set().union(*parsed)) if parsed else []
        if tags:
            s = pd.Series([sorted(t) for t in parsed], index=range(n)).explode().dropna()
            onehot = pd.crosstab(s.index, s).reindex(index=range(n), columns=tags, fill_value=0) > 0
            act = {t: onehot[t].to_numpy(dtype=bool) for t in tags}
    return PreparedSites(n=n, industry=industry, nature=nature, flags=flags, activity=act)


def _per_distinct(values: np.ndarray, fn) -> np.ndarray:
    """``fn(value, first_row)`` for each distinct value, spread back to every row (object array).

    Missing values (None, NaN) count as one value.  Unhashable cells (lists
    of activity tags) fall back to one call per row.
    """
    out = np.empty(len(values), dtype=object)
    try:
        codes, uniq = pd.factorize(values)
    except TypeError:
        out[:] = [fn(v, i) for i, v in enumerate(values)]
        return out
    seen, first = np.unique(codes, return_index=True)
    # after the distinct values, one slot for missing (code -1)
    table = np.empty(len(uniq) + 1, dtype=object)
    for code, i in zip(seen, first):
        table[code] = fn(values[i], int(i))
    out[:] = table[codes]
    return out


def _prepared(sites: pd.DataFrame | PreparedSites, taxonomy, activities) -> PreparedSites:
    if isinstance(sites, PreparedSites):
        return sites
    key = id(sites)
    fp = _fingerprint(sites)
    hit = _CACHE.get(key)
    if hit is not None and hit[0]() is sites and hit[1] == fp:
        return hit[2]
    prepared = prepare_sites(sites, taxonomy=taxonomy, activities=activities)
    try:
        ref = weakref.ref(sites)
    except TypeError:  # pragma: no cover - objects without weak references
        return prepared
    if len(_CACHE) > 64:
        _CACHE.clear()
    _CACHE[key] = (ref, fp, prepared)
    return prepared


def _industry_hit(prefixes: Sequence[str], ps: PreparedSites) -> np.ndarray:
    hit = np.zeros(ps.n, dtype=bool)
    for p in prefixes:
        hit |= np.char.startswith(ps.industry.astype(str), p)
    return hit


def clause_mask(clause: Clause, ps: PreparedSites, *, exception: bool, unknown_industry: str = "match") -> np.ndarray:
    """Sites that satisfy every condition of ``clause``.

    With ``exception=True`` unknown industry or nature never satisfies a
    condition (an unknown never grants an exception).
    """
    m = np.ones(ps.n, dtype=bool)
    if clause.industry:
        hit = _industry_hit(clause.industry, ps)
        if exception or unknown_industry != "match":
            m &= hit & ps.industry_known
        else:
            m &= hit | ~ps.industry_known
    if clause.nature:
        hit = np.isin(ps.nature, list(clause.nature))
        m &= hit if exception else (hit | ~ps.nature_known)
    for flag, value in clause.flags:
        m &= ps.flags.get(flag, np.zeros(ps.n, dtype=bool)) == value
    if clause.activity:
        any_tag = np.zeros(ps.n, dtype=bool)
        for tag in clause.activity:
            any_tag |= ps.has_activity(tag)
        m &= any_tag
    return m


def applies_mask(
    applies: Applicability,
    sites: pd.DataFrame | PreparedSites,
    *,
    taxonomy: Taxonomy | None = None,
    activities: Activities | None = None,
    unknown_industry: str = "match",
) -> np.ndarray:
    """Boolean array over ``sites``: the projects ``applies`` is about."""
    if unknown_industry not in ("match", "no_match"):
        raise ValueError("unknown_industry must be 'match' or 'no_match'")
    ps = _prepared(sites, taxonomy, activities)
    m = clause_mask(applies.base, ps, exception=False, unknown_industry=unknown_industry)
    if applies.any_of:
        alt = np.zeros(ps.n, dtype=bool)
        for c in applies.any_of:
            alt |= clause_mask(c, ps, exception=False, unknown_industry=unknown_industry)
        m &= alt
    for c in applies.excepts:
        m &= ~clause_mask(c, ps, exception=True)
    return m


def _text(col: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Column as stripped text, and a mask of missing values."""
    vals = col.to_numpy(dtype=object)
    missing = np.fromiter((_is_missing(v) for v in vals), dtype=bool, count=len(vals))
    text = np.array(["" if m else str(v).strip() for v, m in zip(vals, missing)], dtype=object)
    return text, missing


def feature_mask(where: Sequence[WhereTerm], features: pd.DataFrame) -> np.ndarray:
    """Boolean array over ``features``: those that pass every ``where`` term.

    A column absent from ``features`` counts as missing on every feature, so
    only a term that accepts missing values (``null``) matches.
    """
    n = len(features)
    m = np.ones(n, dtype=bool)
    for term in where:
        if term.attr in features.columns:
            text, missing = _text(features[term.attr])
            hit = np.isin(text, list(term.values)) & ~missing
        else:
            hit = np.zeros(n, dtype=bool)
            missing = np.ones(n, dtype=bool)
        if term.allow_missing:
            hit |= missing
        m &= hit
    return m


__all__ = ["PreparedSites", "prepare_sites", "applies_mask", "feature_mask", "clause_mask", "EcogisError"]
