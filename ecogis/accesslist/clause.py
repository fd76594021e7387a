"""The clause parser: access-list wording → machine clauses.

An item's text is cut into sentences (。；; and line breaks) and each sentence
into sub-clauses at a comma that opens a new requirement.  A sub-clause
becomes a :class:`Clause` only when the parser recognises all of

* the **effect** — 禁止 (禁止 / 严禁 / 不得 / 不准 / 杜绝 / 不再新建 …),
  限制 (严格控制 / 限制 / 严控 / 原则上不得 …) or 须满足条件 (新建…须/应…,
  …不得低于/须达到…);
* **what it applies to** — industries and equipment named through
  ``rules/accesslist/industry_synonyms.yaml`` (a 须满足条件 clause may name
  only 项目 with a nature);

and it records, where the text gives them, the natures (新建/改建/扩建), the
thresholds a project declares (蒸吨/小时, 万吨/年, 兆瓦, 头 …), exceptions
(除…外 / …除外 / 不包括…), location qualifiers (建成区, 岸线, 周边 …) and any
other words that narrow the object (a *qualifier*).  Everything else stays
text.  The parser never guesses: what it cannot read it leaves as text, and
the matcher judges text 需人工核对, never 符合.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Iterable

from ecogis.accesslist.synonyms import Synonyms, Term, load_synonyms, mask

EFFECTS = ("prohibit", "restrict", "condition")
EFFECT_TEXT = {"prohibit": "禁止", "restrict": "限制", "condition": "须满足条件"}
EFFECT_SEVERITY = {"prohibit": "prohibited", "restrict": "restricted", "condition": "review"}
NATURES = ("新建", "改建", "扩建")

_PROHIBIT = re.compile(
    r"(禁止|严禁|不得|不准|不允许|不予(?:审批|批准|核准|备案|准入)|坚决杜绝|杜绝|一律不|停止审批|不再审批|不再新建|"
    r"不再新增|不再新上|不再布局|不再批准|不再核准|不再受理|不再建设|严格禁止)")
_RESTRICT = re.compile(r"(严格控制|严格限制|从严控制|从严审批|严格管控|严控|限制(?!性)|控制(?!在|线|单元|区))")
_IN_PRINCIPLE = re.compile(r"原则上")
_MUST = re.compile(r"(必须|应当|须|应|需要|需)")
_STANDARD = re.compile(r"(不得低于|不低于|不得高于|不高于|不得超过|不超过|须达到|应达到|必须达到|达到.{0,12}(?:标准|水平|要求)|执行.{0,16}(?:标准|限值)|满足.{0,16}(?:要求|标准))")
_ADVISORY = re.compile(r"^(鼓励|优先|提倡|引导|支持|推进|推动|加快|积极|逐步|有序)")
_NATURE = re.compile(
    r"(新、改、扩建|新改扩建|新、改扩建|新\(改、扩\)建|新\(扩\)建|新\(改\)建|新\(改扩\)建|改\(扩\)建|新建、改建、扩建|新建、扩建、改建|新建、改扩建|新建\(改扩建\)|"
    r"新建、扩建|新建或扩建|新建和扩建|新建、改建|改建、扩建|改、扩建|改扩建|新建|扩建|改建|新增|新上|新布局|新引进|新设)")
_EXC_PATTERNS = (
    re.compile(r"除([^，,。；;]{1,60}?)(?:以外|之外|外)(?=[，,、]|$|[\u4e00-\u9fff])"),
    re.compile(r"[(]([^()]{1,60}?)除外[)]"),
    re.compile(r"[，,]?([^，,。；;()]{1,60}?)除外"),
    re.compile(r"(?:但|不包括|不含)([^，,。；;]{1,60})"),
    re.compile(r"(?<![除])(?:^|(?<=[，,、]))([^，,。；;除]{1,30}?)(?:以外|之外)的"),
)
_LOCATION = re.compile(
    r"(建成区|岸线|沿岸|两侧|周边|上游|下游|核心区|缓冲区|实验区|核心保护区|一般控制区|水源地|水源保护区|范围内|"
    r"公里内|公里范围|米范围|沿线|流域内|城区|主城区|人口密集区|敏感区)")
_SELF = re.compile(r"(本单元|单元内|本区域|辖区内|单元范围内)")
_THRESHOLD = re.compile(
    r"(低于|小于|不足|不满|超过|大于|高于|达到)?\s*(?:每小时)?\s*(\d+(?:\.\d+)?)\s*(?:[-—~～至到]\s*(\d+(?:\.\d+)?))?\s*"
    r"(蒸吨/小时|蒸吨/时|蒸吨每小时|蒸吨|t/h|万吨/年|万吨|吨/年|兆瓦|MW|万千瓦|千瓦|kW|头|只|羽|万立方米/年|立方米/年)\s*"
    r"(及以下|以下|及以内|以内|及以上|以上|以外|不含)?")
#: Threshold units → (declared parameter, factor to its unit, unit text).
THRESHOLD_UNITS = {
    "蒸吨/小时": ("boiler_tph", 1.0, "蒸吨/小时"), "蒸吨/时": ("boiler_tph", 1.0, "蒸吨/小时"),
    "蒸吨每小时": ("boiler_tph", 1.0, "蒸吨/小时"), "蒸吨": ("boiler_tph", 1.0, "蒸吨/小时"), "t/h": ("boiler_tph", 1.0, "蒸吨/小时"),
    "万吨/年": ("capacity_10kt_a", 1.0, "万吨/年"), "万吨": ("capacity_10kt_a", 1.0, "万吨/年"),
    "吨/年": ("capacity_10kt_a", 1e-4, "万吨/年"),
    "兆瓦": ("power_mw", 1.0, "兆瓦"), "MW": ("power_mw", 1.0, "兆瓦"), "万千瓦": ("power_mw", 10.0, "兆瓦"),
    "千瓦": ("power_mw", 1e-3, "兆瓦"), "kW": ("power_mw", 1e-3, "兆瓦"),
    "头": ("livestock_head", 1.0, "头（只、羽）"), "只": ("livestock_head", 1.0, "头（只、羽）"),
    "羽": ("livestock_head", 1.0, "头（只、羽）"),
    "万立方米/年": ("water_10k_m3_a", 1.0, "万立方米/年"), "立方米/年": ("water_10k_m3_a", 1e-4, "万立方米/年"),
}
#: What a project declares, per parameter (for questions to the applicant).
PARAM_TEXT = {
    "boiler_tph": "锅炉容量（蒸吨/小时）", "capacity_10kt_a": "生产规模（万吨/年）", "power_mw": "装机容量（兆瓦）",
    "livestock_head": "养殖规模（头/只/羽）", "water_10k_m3_a": "取用水量（万立方米/年）",
}
_NATIONAL_MAJOR = re.compile(r"(国家|自治区|国家和自治区|国家级)(?:规划的|确定的)?重大(?:项目|工程|基础设施)")
_FILLER = re.compile(
    r"[、，,\s和及与或以及/的之类新建改扩等其他各种一切任何全部所有现有已有单位个座家套条]|项目|企业|行业|产业|工程|装置|设施|产能|"
    r"建设|活动|进入|准入|布局|生产线|规模|审批|类|开发|利用|生产|经营|发展|投资|入驻|落地|上马|实施|一律|坚决|严格|依法|"
    r"原则上|范围|区域|单元|本|内|在|对|于|向|使用|采用|使之|使|用|年出栏|存栏|出栏|年产能|年产|设计规模|单台|总规模|容量|装机|每小时|每台")


@dataclass(frozen=True)
class Threshold:
    """A project size the clause applies to: ``lo <= value <= hi`` (either bound may be open)."""

    param: str
    lo: float | None
    lo_incl: bool
    hi: float | None
    hi_incl: bool
    unit: str
    text: str


@dataclass
class Clause:
    """One machine-readable requirement (a sub-clause of an item)."""

    text: str
    effect: str
    industry_terms: tuple[str, ...] = ()
    industry_codes: tuple[str, ...] = ()
    industry_scope: tuple[str, ...] | None = ()  # None: any industry may be of the named kinds
    activity_terms: tuple[str, ...] = ()
    activity_codes: tuple[str, ...] = ()
    activity_tags: tuple[str, ...] = ()
    activity_scope: tuple[str, ...] | None = ()
    natures: tuple[str, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    exception_codes: tuple[str, ...] = ()
    exception_text: str = ""
    exempt_national_major: bool = False
    location: str = ""
    qualifier: str = ""
    open_list: bool = False
    requirement: str = ""

    @property
    def effect_text(self) -> str:
        return EFFECT_TEXT[self.effect]


@dataclass
class ParsedItem:
    """An item's text cut into machine clauses and the sentences left as text."""

    clauses: list[Clause] = field(default_factory=list)
    text_parts: list[str] = field(default_factory=list)
    terms: tuple[str, ...] = ()

    @property
    def status(self) -> str:
        """``machine`` (all parts parsed), ``partial`` or ``text``."""
        if not self.clauses:
            return "text"
        return "partial" if self.text_parts else "machine"

    @property
    def names_industry(self) -> bool:
        return bool(self.terms)


def normalise_text(text: str) -> str:
    """Full-width ASCII to half-width (digits, brackets, commas stay readable), no stray spaces."""
    t = unicodedata.normalize("NFKC", str(text))
    return t.replace("\u3000", " ").strip()


def sentences(text: str) -> list[str]:
    """Sentences of an item (。；; ! ? and line breaks), numbering removed."""
    from ecogis.accesslist.reader import strip_number

    parts = re.split(r"[。;；!！?？\n]+", normalise_text(text))
    return [p for p in (strip_number(s).strip(" ，,、") for s in parts) if p]


def _subclauses(sentence: str) -> list[str]:
    """Cut at a comma when the next part opens a new requirement of its own."""
    pieces = re.split(r"([，,])", sentence)
    out: list[str] = []
    cur = ""
    for p in pieces:
        if p in ("，", ","):
            cur += p
            continue
        opens = bool(_PROHIBIT.match(p) or _RESTRICT.match(p) or re.match(r"(新建|扩建|改建|新、改|新改)", p))
        if cur and opens and not p.rstrip().endswith("除外") and (_PROHIBIT.search(cur) or _RESTRICT.search(cur) or _MUST.search(cur)):
            out.append(cur.rstrip("，,"))
            cur = p
        else:
            cur += p
    if cur.strip("，,"):
        out.append(cur.rstrip("，,"))
    return out


def _natures(text: str) -> tuple[str, ...]:
    found: set[str] = set()
    for m in _NATURE.finditer(text):
        w = m.group(1)
        if w in ("新增", "新上", "新布局", "新引进", "新设"):
            found |= {"新建", "扩建"}
            continue
        if "新" in w:
            found.add("新建")
        if "改" in w:
            found.add("改建")
        if "扩" in w:
            found.add("扩建")
    return tuple(n for n in NATURES if n in found)


def _thresholds(text: str) -> tuple[list[Threshold], bool, list[tuple[int, int]]]:
    """Thresholds, whether any number+unit could not be read as a bound, and the spans used."""
    out: list[Threshold] = []
    unreadable = False
    spans = []
    for m in _THRESHOLD.finditer(text):
        pre, a, b, unit, post = m.groups()
        param, factor, unit_text = THRESHOLD_UNITS[unit]
        va = float(a) * factor
        vb = float(b) * factor if b else None
        spans.append(m.span())
        if vb is not None:
            out.append(Threshold(param, va, True, vb, True, unit_text, m.group(0).strip()))
        elif post in ("以下", "及以下", "以内", "及以内") and not pre:
            out.append(Threshold(param, None, False, va, True, unit_text, m.group(0).strip()))
        elif pre in ("低于", "小于", "不足", "不满") and not post:
            out.append(Threshold(param, None, False, va, False, unit_text, m.group(0).strip()))
        elif post in ("以上", "及以上") and not pre or (pre == "达到" and not post):
            out.append(Threshold(param, va, True, None, False, unit_text, m.group(0).strip()))
        elif pre in ("超过", "大于", "高于") and not post:
            out.append(Threshold(param, va, False, None, False, unit_text, m.group(0).strip()))
        else:
            unreadable = True
    return out, unreadable, spans


def _exceptions(text: str) -> tuple[str, list[tuple[int, int]]]:
    parts, spans = [], []
    for rx in _EXC_PATTERNS:
        for m in rx.finditer(text):
            if any(s <= m.start() < e for s, e in spans):
                continue
            parts.append(m.group(1).strip(" ，,（）()"))
            spans.append(m.span())
    return "；".join(p for p in parts if p), spans


def _blank(text: str, spans: Iterable[tuple[int, int]], char: str = "□") -> str:
    chars = list(text)
    for s, e in spans:
        for i in range(s, min(e, len(chars))):
            chars[i] = char
    return "".join(chars)


def _union_scope(terms: list[Term]) -> tuple[str, ...] | None:
    scope: list[str] = []
    for t in terms:
        if t.scope is None:
            return None
        scope.extend(t.scope)
    return tuple(dict.fromkeys(scope))


def parse_clause(sub: str, syn: Synonyms) -> Clause | None:
    """One sub-clause → a :class:`Clause`, or ``None`` when it is not one the parser can read."""
    text = sub.strip()
    if not text:
        return None
    exc_text, exc_spans = _exceptions(text)
    body = _blank(text, exc_spans)
    prohibit = _PROHIBIT.search(body)
    restrict = _RESTRICT.search(body)
    standard = _STANDARD.search(body)
    must = _MUST.search(body)
    requirement = ""
    if standard and not (prohibit and prohibit.start() < standard.start() and not body[prohibit.start():].startswith(("不得低于", "不得高于", "不得超过"))):
        effect = "condition"
        cut = standard.start()
        requirement = text[cut:]
        body = body[:cut]
    elif prohibit and not (restrict and restrict.start() < prohibit.start()):
        effect = "prohibit"
        if _IN_PRINCIPLE.search(body[: prohibit.start()]):
            effect = "restrict"
    elif restrict:
        effect = "restrict"
    elif must and _natures(mask(body[: must.start()])):
        effect = "condition"
        requirement = text[must.start():]
        body = body[: must.start()]
    else:
        return None
    if _ADVISORY.match(text) and effect == "condition":
        return None
    found = syn.find(body)
    term_spans = [(s, e) for s, e, _ in found]
    masked = _blank(mask(body), term_spans)
    natures = _natures(masked)
    thresholds, unreadable, thr_spans = _thresholds(body)
    if unreadable:
        return None
    ind = [t for _, _, t in found if not t.activity]
    act = [t for _, _, t in found if t.activity]
    ind = list({t.key: t for t in ind}.values())
    act = list({t.key: t for t in act}.values())
    generic_project = bool(re.search(r"(建设)?项目", masked))
    if not found and not (effect == "condition" and natures and generic_project):
        return None
    # exceptions: industry words only → codes; anything else → text the applicant must show
    exc_codes: tuple[str, ...] = ()
    exempt_major = False
    exc_rest = ""
    if exc_text:
        exc_found = syn.find(exc_text)
        rest = _blank(mask(exc_text), [(s, e) for s, e, _ in exc_found])
        if _NATIONAL_MAJOR.search(rest):
            exempt_major = True
            rest = _NATIONAL_MAJOR.sub("□", rest)
        leftover = _FILLER.sub("", rest.replace("□", ""))
        same_kind = {t.key for _, _, t in exc_found} & {t.key for t in ind + act}
        if exc_found and not leftover and not same_kind:
            exc_codes = tuple(dict.fromkeys(c for _, _, t in exc_found if t.closed for c in t.codes))
            if any(not t.closed for _, _, t in exc_found):
                exc_rest = exc_text
        elif exc_found and same_kind:
            exc_rest = exc_text  # a sub-kind of the very kind the clause names: the codes cannot tell them apart
        elif leftover:
            exc_rest = exc_text
    # location and qualifier words left after the known parts are removed
    trig = [m.span() for rx in (_PROHIBIT, _RESTRICT, _IN_PRINCIPLE, _NATURE, _STANDARD, _MUST) for m in rx.finditer(masked)]
    rest = _blank(masked, trig + thr_spans, "■")
    loc_words = [m.group(0) for m in _LOCATION.finditer(_SELF.sub("", rest))]
    location = text if loc_words else ""
    rest = re.sub(r"[(][^()]*[)]", "", rest)  # bracketed notes: （PVC）, （熟料）
    open_list = bool(re.search(r"(等|其他|之类|其它)", rest.replace("□", "").replace("■", "")))
    if open_list:
        # "A、B等高污染项目": the words after 等 name the category the listed kinds belong to, they narrow nothing
        cut = max(rest.rfind("等"), rest.rfind("其他"), rest.rfind("其它"))
        rest = rest[:cut] if cut >= 0 else rest
    # fragments between 、，和及与或: words beside a named kind narrow it (a qualifier); a fragment without any
    # named kind is another object of the clause (the list is then open: no industry is surely outside)
    quals = []
    for frag in re.split(r"[、，,和及与或]", _SELF.sub("", rest)):
        left = _FILLER.sub("", _LOCATION.sub("", frag.replace("□", "").replace("■", "")))
        if len(left) < 2:
            continue
        if "□" in frag:
            quals.append(left)
        else:
            open_list = True
    qualifier = "、".join(quals)
    return Clause(
        text=text,
        effect=effect,
        industry_terms=tuple(t.key for t in ind),
        industry_codes=tuple(dict.fromkeys(c for t in ind for c in t.codes)),
        # other words beside the named kinds may add objects (…工业开发和城镇建设): then no industry is surely outside
        industry_scope=(_union_scope(ind) if not (open_list or qualifier) else None) if ind else (),
        activity_terms=tuple(t.key for t in act),
        activity_codes=tuple(dict.fromkeys(c for t in act for c in t.codes)),
        activity_tags=tuple(dict.fromkeys(a for t in act for a in t.activity)),
        activity_scope=_union_scope(act) if act else (),
        natures=natures,
        thresholds=tuple(thresholds),
        exception_codes=exc_codes,
        exception_text=exc_rest,
        exempt_national_major=exempt_major,
        location=location,
        qualifier=qualifier,
        open_list=open_list,
        requirement=requirement,
    )


def parse_item(text: str, syn: Synonyms | None = None) -> ParsedItem:
    """Parse one access-list item into clauses and leftover text."""
    syn = syn or load_synonyms()
    out = ParsedItem()
    terms: list[str] = []
    for s in sentences(text):
        for k, sub in enumerate(_subclauses(s)):
            terms += [t.key for _, _, t in syn.find(sub)]
            c = parse_clause(sub, syn)
            if c is not None and k > 0 and not (c.industry_terms or c.activity_terms):
                c = None  # "…，新建项目须…" after another requirement may refer back to it: left as text
            if c is None:
                out.text_parts.append(sub)
            else:
                out.clauses.append(c)
    out.terms = tuple(dict.fromkeys(terms))
    return out
