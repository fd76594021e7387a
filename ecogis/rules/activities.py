"""The closed vocabulary of project activity tags (``rules/activities.yaml``).

A site may carry activity tags (the 142号 ten kinds of limited activity,
``strategic_mineral``, ``grazing`` …) that rules test in ``applies.activity``
and ``except``.  A tag may imply others (``strategic_mineral`` implies
``rl142_7_geology_minerals``); implied tags are added when sites are prepared.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping


from ecogis.errors import EcogisError, RuleError
from ecogis.settings import settings

_TAG_RE = re.compile(r"^[a-z][a-z0-9_]*$")
#: Separators accepted between tags in a text cell.
SEPARATORS = re.compile(r"[;,，；、|\s]+")


@dataclass(frozen=True)
class Activity:
    """One tag of the vocabulary."""

    tag: str
    name_zh: str
    name_en: str
    basis: str = ""
    implies: tuple[str, ...] = ()


@dataclass(frozen=True)
class Activities:
    """The activity vocabulary."""

    items: Mapping[str, Activity]
    path: str | None = None

    def __contains__(self, tag: object) -> bool:
        return str(tag) in self.items

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def name(self, tag: str, lang: str = "zh") -> str:
        a = self.items[tag]
        return a.name_zh if lang == "zh" else a.name_en

    def _by_name(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for a in self.items.values():
            out[a.name_zh] = a.tag
            out[a.name_en.lower()] = a.tag
        return out

    def validate(
        self,
        tag: object,
        *,
        error: type[EcogisError] = RuleError,
        path: str | None = None,
        where: str | None = None,
    ) -> str:
        """Return the tag (a Chinese or English name is mapped to its tag); raise if unknown."""
        text = str(tag).strip()
        if text in self.items:
            return text
        lowered = text.lower()
        if lowered in self.items:
            return lowered
        mapped = self._by_name().get(text) or self._by_name().get(lowered)
        if mapped:
            return mapped
        near = difflib.get_close_matches(lowered, list(self.items), n=4, cutoff=0.5)
        hint = ("nearest known tags: " + ", ".join(near)) if near else "see rules/activities.yaml"
        raise error(f"unknown activity tag {text!r}", path=path, where=where, hint=hint)

    def expand(self, tags: Iterable[str]) -> frozenset[str]:
        """The tags with every tag they imply, transitively."""
        out: set[str] = set()
        todo = list(tags)
        while todo:
            t = todo.pop()
            if t in out:
                continue
            out.add(t)
            if t in self.items:
                todo.extend(self.items[t].implies)
        return frozenset(out)

    def parse(
        self,
        value: object,
        *,
        error: type[EcogisError] = RuleError,
        path: str | None = None,
        where: str | None = None,
    ) -> frozenset[str]:
        """Parse a cell (list, tuple, set, or ``;``-separated text) into expanded tags."""
        if value is None:
            return frozenset()
        if isinstance(value, float) and value != value:  # NaN
            return frozenset()
        if isinstance(value, str):
            parts = [p for p in SEPARATORS.split(value) if p]
        elif isinstance(value, Iterable):
            parts = [str(p).strip() for p in value if p is not None and str(p).strip()]
        else:
            parts = [str(value)]
        return self.expand(self.validate(p, error=error, path=path, where=where) for p in parts)


def activities_from_mapping(doc: Mapping, path: str | None = None) -> Activities:
    """Build :class:`Activities` from the parsed ``activities.yaml``."""
    items: dict[str, Activity] = {}
    for tag, spec in (doc.get("activities") or {}).items():
        tag = str(tag)
        if not _TAG_RE.match(tag):
            raise RuleError(f"activity tag {tag!r} is not snake_case", path=path, where=f"key activities.{tag}")
        if not isinstance(spec, Mapping) or "name_zh" not in spec or "name_en" not in spec:
            raise RuleError("an activity needs name_zh and name_en", path=path, where=f"key activities.{tag}")
        items[tag] = Activity(
            tag=tag,
            name_zh=str(spec["name_zh"]),
            name_en=str(spec["name_en"]),
            basis=str(spec.get("basis", "")),
            implies=tuple(str(t) for t in spec.get("implies", ()) or ()),
        )
    for a in items.values():
        for t in a.implies:
            if t not in items:
                raise RuleError(f"{a.tag} implies the unknown tag {t!r}", path=path, where=f"key activities.{a.tag}.implies")
    return Activities(items=items, path=path)


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> Activities:
    from ecogis.rules.yamlio import read_mapping

    return activities_from_mapping(read_mapping(path, "activity vocabulary"), path)


def load_activities(path: str | Path | None = None) -> Activities:
    """Load ``rules/activities.yaml`` (cached while the file is unchanged)."""
    p = Path(path) if path is not None else Path(settings.rules_dir) / "activities.yaml"
    if not p.is_file():
        raise RuleError("the activity vocabulary file is missing", path=p)
    return _load_cached(str(p.resolve()), p.stat().st_mtime)
