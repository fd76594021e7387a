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
* an activity the project did not declare is not assumed for the finding of
  fact, but :func:`applicability` tells which sites a rule *would* concern if
  they did it (the engine turns those into questions for the applicant).  A
  site may declare an activity absent with ``no:TAG`` (or ``!TAG``), or
  declare its list complete with ``none``;
* a feature attribute a ``where`` term filters on that is missing, blank or
  not one of the schema's values is *unknown*: :func:`where_masks` reports the
  features that would match if it had the value the rule names.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field
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
    #: tags each site declared absent (``no:TAG``)
    denied: Mapping[str, np.ndarray] = field(default_factory=dict)
    #: sites that declared their activity list complete (``none``)
    complete: np.ndarray | None = None

    def __len__(self) -> int:
        return self.n

    @functools.cached_property
    def industry_codes(self) -> tuple[np.ndarray, np.ndarray]:
        """``(code per site, distinct codes)``: a batch has few distinct industries, so rules test those."""
        codes, uniq = pd.factorize(np.asarray(self.industry, dtype=object), use_na_sentinel=False)
        return codes, np.asarray(uniq, dtype=str)

    @property
    def industry_known(self) -> np.ndarray:
        return self.industry != ""

    @property
    def nature_known(self) -> np.ndarray:
        return self.nature != ""

    def has_activity(self, tag: str) -> np.ndarray:
        arr = self.activity.get(tag)
        return arr if arr is not None else np.zeros(self.n, dtype=bool)

    def undeclared(self, tag: str) -> np.ndarray:
        """Sites that neither declared ``tag`` nor declared it absent."""
        out = ~self.has_activity(tag)
        den = self.denied.get(tag)
        if den is not None:
            out &= ~den
        if self.complete is not None:
            out &= ~self.complete
        return out


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
    denied: dict[str, np.ndarray] = {}
    complete = np.zeros(n, dtype=bool)
    if "activity" in sites.columns:
        cells = _per_distinct(sites["activity"].to_numpy(dtype=object),
                              lambda v, i: _split_declaration(v, activities, path=path, where=where(i, "activity")))
        parsed = [c[0] for c in cells]
        complete = np.fromiter((c[2] for c in cells), dtype=bool, count=n)
        no_tags = sorted(set().union(*(c[1] for c in cells))) if len(cells) else []
        for t in no_tags:
            denied[t] = np.fromiter((t in c[1] for c in cells), dtype=bool, count=n)
        tags = sorted(set().union(*parsed)) if parsed else []
        if tags:
            s = pd.Series([sorted(t) for t in parsed], index=range(n)).explode().dropna()
            onehot = pd.crosstab(s.index, s).reindex(index=range(n), columns=tags, fill_value=0) > 0
            act = {t: onehot[t].to_numpy(dtype=bool) for t in tags}
    return PreparedSites(n=n, industry=industry, nature=nature, flags=flags, activity=act, denied=denied,
                         complete=complete)


#: Words that declare a site's activity list complete (no other activity).
COMPLETE_WORDS = frozenset({"none", "无", "无其他", "no:*"})
_NEG_PREFIXES = ("no:", "!", "非:", "无:")


def _split_declaration(value: Any, activities, *, path: str | None, where: str) -> tuple[frozenset, frozenset, bool]:
    """A cell's declared tags, the tags it declares absent (``no:TAG``) and whether it says ``none``."""
    from ecogis.rules.activities import SEPARATORS

    seq = isinstance(value, (list, tuple, set, frozenset, np.ndarray))
    if not seq and _is_missing(value):
        return frozenset(), frozenset(), False
    if isinstance(value, str):
        parts = [p for p in SEPARATORS.split(value) if p]
    elif seq:
        parts = [str(p).strip() for p in value if p is not None and str(p).strip()]
    else:
        parts = [str(value)]
    yes, no, complete = [], [], False
    for p in parts:
        low = p.lower()
        if low in COMPLETE_WORDS:
            complete = True
            continue
        for pre in _NEG_PREFIXES:
            if low.startswith(pre):
                no.append(activities.validate(p[len(pre):], error=InputError, path=path, where=where))
                break
        else:
            yes.append(p)
    tags = activities.parse(yes, error=InputError, path=path, where=where) if yes else frozenset()
    both = tags & set(no)
    if both:
        raise InputError(f"activity {sorted(both)[0]!r} is both declared and declared absent", path=path,
                         where=where, hint="keep either TAG or no:TAG")
    return tags, frozenset(no), complete


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
    """Sites whose code starts with one of ``prefixes``: tested on each distinct code, then spread back."""
    codes, uniq = ps.industry_codes
    hit = np.zeros(len(uniq), dtype=bool)
    for p in prefixes:
        hit |= np.char.startswith(uniq, p)
    return hit[codes]


def clause_mask(clause: Clause, ps: PreparedSites, *, exception: bool, unknown_industry: str = "match",
                assume: frozenset[str] = frozenset()) -> np.ndarray:
    """Sites that satisfy every condition of ``clause``.

    With ``exception=True`` unknown industry or nature never satisfies a
    condition (an unknown never grants an exception).  Activity tags in
    ``assume`` count as present where the site did not declare them.
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
            if tag in assume:
                any_tag |= ps.undeclared(tag)
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


@dataclass(frozen=True)
class ApplicabilityMasks:
    """Which sites a rule concerns, told apart by how sure that is.

    ``known``: on the project's declared industry, nature and activities;
    ``current``: also counting an unknown industry or nature as matching
    (the worst case, the engine's long-standing reading); ``hypothetical``:
    also assuming the undeclared ``question_tags`` the rule is gated on.
    """

    known: np.ndarray
    current: np.ndarray
    hypothetical: np.ndarray

    @property
    def any(self) -> np.ndarray:
        return self.current | self.hypothetical


def _clause(clause: Clause, ps: PreparedSites, *, unknown_matches: bool, assume: frozenset[str] = frozenset()) -> np.ndarray:
    """:func:`clause_mask` with unknown industry and nature matching (``unknown_matches``) or never matching."""
    return clause_mask(clause, ps, exception=not unknown_matches, assume=assume)


def _positive(applies: Applicability, ps: PreparedSites, *, unknown_matches: bool, assume: frozenset[str]) -> np.ndarray:
    m = _clause(applies.base, ps, unknown_matches=unknown_matches, assume=assume)
    if applies.any_of:
        alt = np.zeros(ps.n, dtype=bool)
        for c in applies.any_of:
            alt |= _clause(c, ps, unknown_matches=unknown_matches, assume=assume)
        m &= alt
    for c in applies.excepts:
        m &= ~clause_mask(c, ps, exception=True)
    return m


def gating_tags(applies: Applicability) -> tuple[str, ...]:
    """Activity tags the rule's positive part (base or an alternative) asks for."""
    tags = list(applies.base.activity)
    for c in applies.any_of:
        tags += [t for t in c.activity if t not in tags]
    return tuple(dict.fromkeys(tags))


def applicability(
    applies: Applicability,
    sites: pd.DataFrame | PreparedSites,
    *,
    question_tags: frozenset[str] = frozenset(),
    taxonomy: Taxonomy | None = None,
    activities: Activities | None = None,
) -> ApplicabilityMasks:
    """The three readings of ``applies`` over ``sites`` (see :class:`ApplicabilityMasks`)."""
    ps = _prepared(sites, taxonomy, activities)
    current = _positive(applies, ps, unknown_matches=True, assume=frozenset())
    known = _positive(applies, ps, unknown_matches=False, assume=frozenset()) & current
    assume = frozenset(t for t in gating_tags(applies) if t in question_tags)
    hyp = _positive(applies, ps, unknown_matches=True, assume=assume) & ~current if assume else \
        np.zeros(ps.n, dtype=bool)
    return ApplicabilityMasks(known=known, current=current, hypothetical=hyp)


def question_tags(rules: Sequence[Any]) -> frozenset[str]:
    """Activity tags whose absence must be confirmed rather than assumed.

    A tag gates a rule when the rule's positive part asks for it.  Tags that
    only ever grant an allowance (they appear in some rule's ``except`` and
    gate no prohibition, e.g. the 142号 ``rl142_*`` tags) are not asked about:
    not declaring them can only make the verdict stricter.
    """
    gating: dict[str, bool] = {}
    excepted: set[str] = set()
    for r in rules:
        for t in gating_tags(r.applies):
            gating[t] = gating.get(t, False) or r.severity == "prohibited"
        for c in r.applies.excepts:
            excepted.update(c.activity)
    return frozenset(t for t, prohibits in gating.items() if prohibits or t not in excepted)


def _name_hit(text: np.ndarray, missing: np.ndarray, values: Sequence[str]) -> np.ndarray:
    """Names equal to one of ``values`` or containing it (洮儿河干流 ⊇ 洮儿河)."""
    hit = np.zeros(len(text), dtype=bool)
    if not len(text):
        return hit
    t = text.astype(str)
    for v in values:
        hit |= np.char.find(t, str(v)) >= 0
    return hit & ~missing


def where_masks(
    where: Sequence[WhereTerm],
    features: pd.DataFrame,
    allowed: Mapping[str, Sequence[str] | None] | None = None,
) -> tuple[np.ndarray, np.ndarray, list[tuple[WhereTerm, np.ndarray]]]:
    """Features that pass ``where`` for a fact, those that might, and which term was unknown where.

    A value is *unknown* when it is missing or blank (and the term does not
    accept missing values), or when ``allowed`` lists the attribute's schema
    values and the value is not one of them.  ``name`` terms also match a
    name that contains the rule's name (洮儿河干流 for 洮儿河).

    Returns ``(fact, maybe, unknown)``: ``fact`` is what :func:`feature_mask`
    says (plus name containment), ``maybe`` the features that do not match
    for a fact but would if every unknown term had the rule's value, and
    ``unknown`` one ``(term, mask)`` per term.
    """
    allowed = allowed or {}
    n = len(features)
    fact = np.ones(n, dtype=bool)
    possible = np.ones(n, dtype=bool)
    unknown: list[tuple[WhereTerm, np.ndarray]] = []
    for term in where:
        if term.attr in features.columns:
            text, missing = _text(features[term.attr])
            hit = np.isin(text, list(term.values)) & ~missing
            if term.attr == "name":
                hit |= _name_hit(text, missing, term.values)
        else:
            text = np.full(n, "", dtype=object)
            hit = np.zeros(n, dtype=bool)
            missing = np.ones(n, dtype=bool)
        unk = missing.copy()
        vocab = allowed.get(term.attr)
        if vocab:
            unk |= ~np.isin(text, list(vocab))
        if term.allow_missing:
            hit |= missing
            unk &= ~missing
        unk &= ~hit
        fact &= hit
        possible &= hit | unk
        unknown.append((term, unk))
    return fact, possible & ~fact, unknown


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


__all__ = ["PreparedSites", "prepare_sites", "applies_mask", "feature_mask", "clause_mask", "applicability",
           "ApplicabilityMasks", "where_masks", "question_tags", "gating_tags", "EcogisError"]
