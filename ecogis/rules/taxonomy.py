"""The GB/T 4754-2017 industry taxonomy (国民经济行业分类) that rules and sites use.

Codes are written as the section letter followed by 0, 2, 3 or 4 digits:
``B`` (section, 门类), ``B06`` (division, 大类), ``B061`` (group, 中类),
``B0610`` (class, 小类).  A code typed without its letter (``0610``) gets the
letter of its division.  The table lives in ``rules/taxonomy.yaml``.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping


from ecogis.errors import EcogisError, RuleError
from ecogis.settings import settings

LEVELS = {1: "section", 3: "division", 4: "group", 5: "class"}
_CODE_RE = re.compile(r"^([A-T])?(\d{2}(?:\d{1,2})?)?$")


def _clean(code: object) -> str:
    """Normalise spelling: full-width to half-width, no spaces, upper case."""
    text = unicodedata.normalize("NFKC", str(code))
    return re.sub(r"\s+", "", text).upper()


@dataclass(frozen=True)
class Taxonomy:
    """Industry codes with their Chinese names.

    Parameters
    ----------
    codes:
        Code (``B0610``) to name (``烟煤和无烟煤开采洗选``), at any level.
    sections:
        Section letter to its ``(first, last)`` division number.
    complete:
        Divisions whose groups and classes are all listed.  A well-formed code
        under any other division is accepted by ``validate(strict=False)``.
    path:
        The file the table came from.
    """

    codes: Mapping[str, str]
    sections: Mapping[str, tuple[int, int]]
    complete: frozenset[str] = frozenset()
    path: str | None = None
    _by_level: Mapping[int, tuple[str, ...]] = field(default_factory=dict, repr=False, compare=False)

    # -- lookup -----------------------------------------------------------
    def __contains__(self, code: object) -> bool:
        try:
            return self.normalise(code) in self.codes
        except EcogisError:
            return False

    def __len__(self) -> int:
        return len(self.codes)

    def name(self, code: object) -> str | None:
        """The Chinese name of ``code``, or ``None`` if it is not in the table."""
        try:
            return self.codes.get(self.normalise(code))
        except EcogisError:
            return None

    def label(self, code: object) -> str:
        """``"B0610 烟煤和无烟煤开采洗选"`` (the code alone if it has no name)."""
        norm = self.normalise(code)
        name = self.codes.get(norm)
        return f"{norm} {name}" if name else norm

    @staticmethod
    def level(code: str) -> str:
        """``section``, ``division``, ``group`` or ``class``."""
        return LEVELS[len(code)]

    def parent(self, code: str) -> str | None:
        """The code one level up (``B0610`` → ``B061``), or ``None`` for a section."""
        norm = self.normalise(code)
        if len(norm) == 1:
            return None
        return norm[:1] if len(norm) == 3 else norm[:-1]

    def children(self, code: str) -> list[str]:
        """The listed codes one level below ``code``."""
        norm = self.normalise(code)
        depth = {1: 3, 3: 4, 4: 5}.get(len(norm))
        if depth is None:
            return []
        return [c for c in self._by_level.get(depth, ()) if c.startswith(norm)]

    @staticmethod
    def is_prefix(a: str, b: str) -> bool:
        """True if code ``a`` is ``b`` or one of its ancestors (``B06`` ⊇ ``B0610``)."""
        return _clean(b).startswith(_clean(a))

    def section_of(self, digits: str) -> str | None:
        """The section letter of a division number (``"06"`` → ``"B"``)."""
        div = int(digits[:2])
        for letter, (lo, hi) in self.sections.items():
            if lo <= div <= hi:
                return letter
        return None

    # -- validation -------------------------------------------------------
    def normalise(self, code: object) -> str:
        """Return the canonical spelling of ``code`` without checking the table.

        Raises :class:`RuleError` if the code is not of the GB/T 4754 form.
        """
        text = _clean(code)
        m = _CODE_RE.match(text)
        if not text or not m:
            raise RuleError(
                f"{str(code)!r} is not a GB/T 4754-2017 industry code",
                hint="write a section letter and 0, 2, 3 or 4 digits, e.g. B, B06, B061, B0610",
            )
        letter, digits = m.group(1), m.group(2) or ""
        if digits:
            expected = self.section_of(digits)
            if expected is None:
                raise RuleError(f"{text}: there is no division {digits[:2]} in GB/T 4754-2017")
            if letter and letter != expected:
                raise RuleError(
                    f"{text}: division {digits[:2]} belongs to section {expected}, not {letter}",
                    hint=f"write {expected}{digits}",
                )
            letter = expected
        return f"{letter}{digits}"

    def validate(
        self,
        code: object,
        *,
        strict: bool = True,
        error: type[EcogisError] = RuleError,
        path: str | None = None,
        where: str | None = None,
    ) -> str:
        """Return the normalised code; raise ``error`` if it is unknown.

        Parameters
        ----------
        code:
            ``"B0610"``, ``" b0610 "``, ``"0610"``, ``"Ｂ０６１０"`` …
        strict:
            If false, a well-formed code under a known division whose
            subdivisions are not all listed is accepted too (for sites; rule
            files are always checked strictly).
        error:
            The class to raise: :class:`RuleError` for rule files,
            :class:`~ecogis.errors.InputError` for site attributes.
        """
        try:
            norm = self.normalise(code)
        except RuleError as exc:
            raise error(exc.message, path=path, where=where, hint=exc.hint) from None
        if norm in self.codes:
            return norm
        division = norm[:3]
        if not strict and len(norm) > 3 and division in self.codes and division not in self.complete:
            return norm
        raise error(
            f"unknown industry code {norm!r}",
            path=path,
            where=where,
            hint=self._suggest_text(norm),
        )

    def suggest(self, code: str, n: int = 5) -> list[str]:
        """The known codes nearest to ``code``: its listed relatives first, then look-alikes."""
        norm = _clean(code)
        out: list[str] = []
        # The deepest listed ancestor, and its children at the code's own level.
        for cut in range(len(norm), 0, -1):
            stem = norm[:cut]
            if len(stem) in LEVELS and stem in self.codes:
                same = [c for c in self._by_level.get(len(norm), ()) if c.startswith(stem) and c != norm]
                if norm[1:].isdigit():  # numerically nearest siblings first
                    same.sort(key=lambda c: abs(int(c[1:]) - int(norm[1:])))
                out.extend(same[:n])
                if stem != norm:
                    out.append(stem)
                break
        pool = self._by_level.get(len(norm)) or tuple(self.codes)
        out.extend(difflib.get_close_matches(norm, pool, n=n, cutoff=0.5))
        seen: list[str] = []
        for c in out:
            if c not in seen:
                seen.append(c)
        return seen[:n]

    def _suggest_text(self, norm: str) -> str:
        near = self.suggest(norm)
        if not near:
            return "see rules/taxonomy.yaml for the known codes"
        return "nearest known codes: " + ", ".join(f"{c} {self.codes[c]}" for c in near)


def _expand(codes: dict[str, str]) -> dict[str, str]:
    """Add the groups that GB/T 4754 leaves implicit (``B061`` for class ``B0610``)."""
    out = dict(codes)
    for code, name in codes.items():
        if len(code) == 5 and code.endswith("0") and code[:4] not in out:
            out[code[:4]] = name
    return out


def taxonomy_from_mapping(doc: Mapping, path: str | None = None) -> Taxonomy:
    """Build a :class:`Taxonomy` from the parsed ``taxonomy.yaml``."""
    sections: dict[str, tuple[int, int]] = {}
    codes: dict[str, str] = {}
    for letter, sec in (doc.get("sections") or {}).items():
        lo, hi = sec["divisions"]
        sections[str(letter)] = (int(lo), int(hi))
        codes[str(letter)] = str(sec["name"])
    for code, name in (doc.get("codes") or {}).items():
        codes[_clean(code)] = str(name).strip()
    codes = _expand(codes)
    by_level: dict[int, list[str]] = {}
    for c in sorted(codes):
        by_level.setdefault(len(c), []).append(c)
    complete = frozenset(_clean(c) for c in (doc.get("complete") or ()))
    tax = Taxonomy(
        codes=codes,
        sections=sections,
        complete=complete,
        path=path,
        _by_level={k: tuple(v) for k, v in by_level.items()},
    )
    # Every code must sit under a listed parent and the right section.
    for c in codes:
        if len(c) > 1:
            norm = tax.normalise(c)
            parent = tax.parent(norm)
            if norm != c or parent not in codes:
                raise RuleError(f"taxonomy code {c!r} has no listed parent {parent!r}", path=path)
    return tax


@functools.lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> Taxonomy:
    from ecogis.rules.yamlio import read_mapping

    return taxonomy_from_mapping(read_mapping(path, "taxonomy"), path)


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Load ``rules/taxonomy.yaml`` (cached while the file is unchanged)."""
    p = Path(path) if path is not None else Path(settings.rules_dir) / "taxonomy.yaml"
    if not p.is_file():
        raise RuleError("the industry taxonomy file is missing", path=p)
    return _load_cached(str(p.resolve()), p.stat().st_mtime)


def known_codes(tax: Taxonomy, level: str) -> Iterable[str]:
    """All listed codes at one level (``section`` … ``class``)."""
    depth = {v: k for k, v in LEVELS.items()}[level]
    return tax._by_level.get(depth, ())
