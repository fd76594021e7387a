"""The one vocabulary of screening outcomes: finding severities and site verdicts.

Every stage imports it from here (the engine, the rule model, the styles,
the writers, the CLI), so a verdict is spelled, ranked, translated and
coloured the same everywhere.

Site verdicts, most severe first (the cross-team contract)::

    prohibited 禁止 > restricted 限制 > review 需论证 > incomplete 数据不全
    > notice 提示 > clear 未发现冲突,  plus not_covered 超出数据覆盖范围

Finding severities are the first four that a rule can carry: ``prohibited``,
``restricted``, ``review``, ``notice``.

Examples
--------
>>> Verdict("review").zh
'需论证'
>>> Verdict.PROHIBITED > Verdict.NOTICE
True
>>> [s.value for s in Severity]
['prohibited', 'restricted', 'review', 'notice']
"""

from __future__ import annotations

from enum import Enum
from typing import TYPE_CHECKING, Mapping

import numpy as np

if TYPE_CHECKING:
    import pandas as pd


class _Ranked(str, Enum):
    """A string enum with a rank (higher is more severe), Chinese and English text and a colour."""

    rank: float
    zh: str
    en: str
    colour: str

    def __new__(cls, value: str, rank: float, zh: str, en: str, colour: str) -> "_Ranked":
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.rank = rank
        obj.zh = zh
        obj.en = en
        obj.colour = colour
        return obj

    def text(self, lang: str = "zh") -> str:
        """The label in ``lang`` (``zh`` or ``en``)."""
        return self.zh if lang == "zh" else self.en

    def __lt__(self, other: object) -> bool:  # type: ignore[override]
        if isinstance(other, _Ranked):
            return self.rank < other.rank
        return NotImplemented

    def __gt__(self, other: object) -> bool:  # type: ignore[override]
        if isinstance(other, _Ranked):
            return self.rank > other.rank
        return NotImplemented

    def __str__(self) -> str:
        return self.value


class Severity(_Ranked):
    """The severity a rule gives its findings."""

    PROHIBITED = ("prohibited", 4, "禁止", "Prohibited", "#d7191c")
    RESTRICTED = ("restricted", 3, "限制", "Restricted", "#f28c28")
    REVIEW = ("review", 2, "需论证", "Needs review", "#ffbf00")
    NOTICE = ("notice", 1, "提示", "Notice", "#2c7bb6")


class Verdict(_Ranked):
    """A site's verdict: its worst finding, or what kept it from having one."""

    PROHIBITED = ("prohibited", 4, "禁止", "Prohibited", "#d7191c")
    RESTRICTED = ("restricted", 3, "限制", "Restricted", "#f28c28")
    REVIEW = ("review", 2, "需论证", "Needs review", "#ffbf00")
    # between review and notice: the ranks 4…-1 of the older vocabulary stay as they were
    INCOMPLETE = ("incomplete", 1.5, "数据不全", "Incomplete data", "#8e6bb8")
    NOTICE = ("notice", 1, "提示", "Notice", "#2c7bb6")
    CLEAR = ("clear", 0, "未发现冲突", "Clear", "#1a9641")
    NOT_COVERED = ("not_covered", -1, "超出数据覆盖范围", "Not covered by the data", "#9e9e9e")


#: Label of a site without an industry code (its verdict is provisional).
PROVISIONAL_TEXT: dict[str, str] = {"zh": "待定（缺行业代码）", "en": "provisional (no industry code)"}

#: Finding severities, most severe first.
SEVERITIES: tuple[str, ...] = tuple(s.value for s in Severity)
#: Site verdicts, most severe first (``not_covered`` last).
VERDICTS: tuple[str, ...] = tuple(v.value for v in Verdict)

#: Rank of every verdict (finding severities share the verdicts' ranks).
VERDICT_RANK: dict[str, float] = {v.value: v.rank for v in Verdict}
#: Rank of the finding severities only (4 prohibited … 1 notice).
SEVERITY_RANK: dict[str, int] = {s.value: int(s.rank) for s in Severity}


def labels(lang: str = "zh") -> dict[str, str]:
    """Every verdict (and so every severity) with its label in ``lang``."""
    return {v.value: v.text(lang) for v in Verdict}


#: ``{value: {"zh": …, "en": …}}`` for every verdict: the shape older callers read.
VERDICT_TEXT: dict[str, dict[str, str]] = {v.value: {"zh": v.zh, "en": v.en} for v in Verdict}
#: Colour of every verdict.
VERDICT_COLOUR: dict[str, str] = {v.value: v.colour for v in Verdict}


def rank_of(values: "np.ndarray | list[str] | pd.Series", ranks: Mapping[str, float] = VERDICT_RANK, *,
            missing: float | None = None) -> np.ndarray:
    """Ranks of an array of verdict or severity names in one pass, each distinct object looked up once.

    Unknown or missing names take ``missing`` (default: below every other rank).
    """
    from ecogis.textcolumns import factorize_objects

    low = min(ranks.values()) - 1 if missing is None else missing
    codes, names = factorize_objects(np.asarray(values, dtype=object))
    table = np.array([ranks.get(v, low) if isinstance(v, str) else low for v in names] + [low], dtype=float)
    return table[codes]  # code −1 (missing) takes the last entry


def from_rank(ranks: "np.ndarray | pd.Series") -> np.ndarray:
    """Verdict names of an array of ranks, in one pass."""
    import pandas as pd

    names = {r: name for name, r in VERDICT_RANK.items()}
    return pd.Series(np.asarray(ranks, dtype=float)).map(names).to_numpy(dtype=object)
