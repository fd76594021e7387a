"""The industry-synonym table: how access lists name industries, mapped to GB/T 4754-2017 codes.

The table lives in ``rules/accesslist/industry_synonyms.yaml``; every code in
it is checked against ``rules/taxonomy.yaml`` when it loads.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from ecogis.errors import RuleError
from ecogis.settings import settings

#: Phrases that contain an industry word but name a place, a waste or a pollutant, not an industry.
MASKS = (
    "工业园区", "产业园区", "化工园区", "工业集聚区", "工业固废", "工业固体废物", "工业废水", "工业污水", "工业和生活污水",
    "工业用地", "工业区", "工矿用地", "工业用水", "矿山地质环境", "矿山生态修复", "绿色矿山", "矿山地质", "历史遗留矿山",
    "工业源", "工业废气", "废弃矿山", "关闭矿山", "尾矿库企业",
)


@dataclass(frozen=True)
class Term:
    """One industry kind as lists name it."""

    key: str
    names: tuple[str, ...]
    codes: tuple[str, ...]
    scope: tuple[str, ...] | None  # None: all industries
    activity: tuple[str, ...]
    basis: str

    @property
    def closed(self) -> bool:
        return self.scope is not None and set(self.scope) == set(self.codes) and not self.activity


@dataclass(frozen=True)
class Synonyms:
    terms: dict[str, Term]
    path: str
    version: str
    _regex: re.Pattern
    _by_name: dict[str, str]

    def find(self, text: str) -> list[tuple[int, int, Term]]:
        """Non-overlapping term occurrences ``(start, end, term)`` in ``text`` (longest name first)."""
        masked = mask(text)
        return [(m.start(), m.end(), self.terms[self._by_name[m.group(0)]]) for m in self._regex.finditer(masked)]


def mask(text: str) -> str:
    """``text`` with :data:`MASKS` phrases blanked out (same length, so offsets hold)."""
    for m in MASKS:
        if m in text:
            text = text.replace(m, "□" * len(m))
    return text


def _synonyms_from(doc: dict, path: str) -> Synonyms:
    from ecogis.rules.taxonomy import load_taxonomy

    tax = load_taxonomy()
    terms: dict[str, Term] = {}
    by_name: dict[str, str] = {}
    for key, spec in (doc.get("terms") or {}).items():
        where = f"term {key}"
        if not isinstance(spec, dict) or not spec.get("names"):
            raise RuleError("a term needs names", path=path, where=where)
        codes = tuple(tax.validate(c, path=path, where=where) for c in spec.get("codes") or ())
        raw_scope = spec.get("scope", None)
        if raw_scope == "all":
            scope = None
        elif raw_scope is None:
            scope = codes
        else:
            scope = tuple(tax.validate(c, path=path, where=where) for c in raw_scope)
        for c in codes:
            if scope is not None and not any(c.startswith(s) for s in scope):
                raise RuleError(f"code {c} lies outside the term's scope", path=path, where=where)
        names = tuple(str(n) for n in spec["names"])
        for n in names:
            if n in by_name and by_name[n] != key:
                raise RuleError(f"name {n!r} is given to two terms ({by_name[n]}, {key})", path=path, where=where)
            by_name[n] = str(key)
        terms[str(key)] = Term(str(key), names, codes, scope, tuple(spec.get("activity") or ()), str(spec.get("basis", "")))
    alts = sorted(by_name, key=len, reverse=True)
    regex = re.compile("|".join(re.escape(a) for a in alts))
    return Synonyms(terms, path, str(doc.get("version", "")), regex, by_name)


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Synonyms:
    from ecogis.rules.yamlio import read_mapping

    return _synonyms_from(read_mapping(path, "industry synonyms"), path)


def load_synonyms(path: str | Path | None = None) -> Synonyms:
    """Load the synonym table (cached while the file is unchanged)."""
    p = Path(path) if path is not None else Path(settings.rules_dir) / "accesslist" / "industry_synonyms.yaml"
    if not p.is_file():
        raise RuleError("the access-list industry synonym table is missing", path=p)
    return _load(str(p.resolve()), p.stat().st_mtime)
