"""Rule objects: what a rule file says, as frozen dataclasses.

A :class:`Rule` is data a reviewer can read (see ``rules/README.md``).  The
screening engine uses three things from it, all vectorised:

* :meth:`Rule.applies_mask` — which sites (projects) the rule is about;
* :meth:`Rule.feature_mask` — which features of the layer it tests;
* :attr:`Rule.test` — the spatial test between the two.
"""

from __future__ import annotations

import datetime as dt
import math
import string
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterator, Mapping, Sequence

import numpy as np

from ecogis.errors import RuleError
from ecogis.vocab import SEVERITIES, SEVERITY_RANK, Severity

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from ecogis.rules.activities import Activities
    from ecogis.rules.match import PreparedSites
    from ecogis.rules.taxonomy import Taxonomy

#: Severities, most severe first, their ranks and labels: from the one vocabulary, :mod:`ecogis.vocab`.
SEVERITY_ZH = {s.value: s.zh for s in Severity}
SEVERITY_EN = {s.value: s.en for s in Severity}

NATURES = ("新建", "改建", "扩建")
FLAGS = ("linear", "national_major", "unavoidable")
TESTS = ("intersects", "within", "outside", "within_distance", "overlap_share")
LAYER_KINDS = (
    "admin", "redline", "protected_area", "water_source", "control_unit", "farmland", "urban_boundary",
    "grassland", "wetland", "mine", "road", "railway", "river", "project", "no_burn_zone", "sand_closure",
    "forest", "contaminated_site", "noise_sensitive_area", "ecological_function_zone", "groundwater_zone",
)

#: Placeholders a message template may use.
PLACEHOLDERS = frozenset({
    "site_name", "site_id", "feature_name", "feature_id", "feature_code", "layer_kind", "layer_title",
    "zone", "grade", "class", "level", "type", "code", "status", "method", "green", "feature", "function",
    "overlap_ha", "overlap_mu", "overlap_pct", "site_area_ha", "distance_m", "limit_m", "share_limit_pct",
    "rule_id", "rule_title", "severity", "severity_zh", "industry", "industry_name", "nature", "basis",
})

_MISSING = "—"

#: What a report prints for a rule whose article or wording could not be checked against the text.
UNVERIFIED_ZH = "条款未核实"
UNVERIFIED_EN = "article not verified"


def parse_date(value: Any) -> dt.date | None:
    """A date from ``YYYY-MM-DD`` text, a :class:`datetime.date` or ``None``."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value).strip())


def severity_rank(severity: str) -> int:
    """4 for ``prohibited`` … 1 for ``notice`` (0 for anything else)."""
    return SEVERITY_RANK.get(severity, 0)


def max_severity(severities: Sequence[str]) -> str | None:
    """The most severe of ``severities`` (``None`` if empty)."""
    items = [s for s in severities if s in SEVERITY_RANK]
    return max(items, key=SEVERITY_RANK.__getitem__) if items else None


def template_fields(template: str) -> list[tuple[str, str, str | None]]:
    """The ``(name, format_spec, conversion)`` of each placeholder in ``template``."""
    out = []
    for _, name, spec, conv in string.Formatter().parse(template):
        if name is not None:
            out.append((name, spec or "", conv))
    return out


# ---------------------------------------------------------------------------
# parts of a rule
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Clause:
    """A set of conditions on a project; all given conditions must hold.

    ``industry`` holds GB/T 4754 prefixes (any may match), ``nature`` the
    accepted natures, ``flags`` required flag values, ``activity`` tags of
    which at least one must be present.  An empty field is no condition.
    """

    industry: tuple[str, ...] = ()
    nature: tuple[str, ...] = ()
    flags: tuple[tuple[str, bool], ...] = ()
    activity: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not (self.industry or self.nature or self.flags or self.activity)

    def as_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {}
        if self.industry:
            d["industry"] = list(self.industry)
        if self.nature:
            d["nature"] = list(self.nature)
        if self.flags:
            d["flags"] = dict(self.flags)
        if self.activity:
            d["activity"] = list(self.activity)
        return d


@dataclass(frozen=True)
class Applicability:
    """Which projects a rule is about.

    ``base`` must hold; if ``any_of`` is not empty, at least one of its
    clauses must hold too; and the project must match none of ``excepts``.
    """

    base: Clause = Clause()
    any_of: tuple[Clause, ...] = ()
    excepts: tuple[Clause, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        d = self.base.as_dict()
        if self.any_of:
            d["any_of"] = [c.as_dict() for c in self.any_of]
        if self.excepts:
            d["except"] = [c.as_dict() for c in self.excepts]
        return d


@dataclass(frozen=True)
class WhereTerm:
    """One attribute filter: ``attr`` must be one of ``values`` (or missing, if ``allow_missing``)."""

    attr: str
    values: tuple[str, ...]
    allow_missing: bool = False


@dataclass(frozen=True)
class SpatialTest:
    """The spatial test between a site and a feature.

    ``kind`` is ``intersects``, ``within``, ``outside``, ``within_distance``
    (``value`` in metres) or ``overlap_share`` (``value`` a share in 0–1).
    ``param`` names the file parameter the value came from; ``default`` is
    that parameter's value in the file (before any override).
    """

    kind: str
    value: float | None = None
    param: str | None = None
    default: float | None = None

    @property
    def name(self) -> str:  # alias some callers use
        return self.kind

    def as_yaml(self) -> Any:
        if self.value is None:
            return self.kind
        return {self.kind: self.param or self.value}

    def describe(self, lang: str = "zh") -> str:
        if self.kind == "within_distance":
            v = f"{self.value:g}"
            return f"距离≤{v}米" if lang == "zh" else f"within {v} m"
        if self.kind == "overlap_share":
            v = f"{100 * (self.value or 0):g}"
            return f"重叠比例≥{v}%" if lang == "zh" else f"overlap share ≥ {v}%"
        zh = {"intersects": "相交/重叠", "within": "完全位于其内", "outside": "位于其范围以外"}
        return zh[self.kind] if lang == "zh" else self.kind


@dataclass(frozen=True)
class Source:
    """Where a local rule comes from: the plan file and line(s)."""

    file: str
    line: int
    end_line: int | None = None

    def __str__(self) -> str:
        if self.end_line and self.end_line != self.line:
            return f"{self.file} L{self.line}–L{self.end_line}"
        return f"{self.file} L{self.line}"

    def get(self, key: str, default: Any = None) -> Any:  # dict-like access for callers
        return getattr(self, key, default)


#: The places a case may put its site relative to the feature.
PLACE_KINDS = ("inside", "overlap", "near", "far", "outside")
#: Default share of the site inside the feature for ``overlap``.
OVERLAP_DEFAULT_SHARE = 0.5


def parse_place(place: str) -> tuple[str, float | None]:
    """Parse a case's ``place``.

    ``inside`` (site wholly inside the feature), ``overlap`` or
    ``overlap:<share>`` (partly inside; share 0.5 by default), ``near:<metres>``
    (disjoint, that far away), ``far`` or ``outside`` (disjoint and beyond any
    rule distance, 20 km or more).  Returns ``(kind, value)``.
    """
    text = str(place).strip()
    kind, _, arg = text.partition(":")
    kind = kind.strip()
    if kind not in PLACE_KINDS:
        raise RuleError(f"unknown place {text!r}", hint="use inside, overlap[:share], near:<metres> or far")
    if kind in ("inside", "far", "outside"):
        if arg:
            raise RuleError(f"place {kind!r} takes no value")
        return ("far" if kind == "outside" else kind), None
    if kind == "overlap":
        if not arg:
            return "overlap", OVERLAP_DEFAULT_SHARE
        share = float(arg)
        if not 0 < share < 1:
            raise RuleError(f"overlap share must be between 0 and 1, got {arg}")
        return "overlap", share
    if not arg:
        raise RuleError("place 'near' needs a distance, e.g. near:300")
    dist = float(arg)
    if not dist > 0 or math.isinf(dist):
        raise RuleError(f"near distance must be a positive number of metres, got {arg}")
    return "near", dist


def spatial_expect(test: SpatialTest, place: str, *, use_default: bool = True) -> bool:
    """Whether ``test`` passes for a site at ``place`` (an ideal geometry oracle)."""
    kind, value = parse_place(place)
    limit = test.default if (use_default and test.default is not None) else test.value
    t = test.kind
    if t == "intersects":
        return kind in ("inside", "overlap")
    if t == "within":
        return kind == "inside"
    if t == "outside":
        return kind != "inside"
    if t == "overlap_share":
        share = {"inside": 1.0, "overlap": value}.get(kind, 0.0)
        return share is not None and share >= (limit or 0.0)
    if t == "within_distance":
        if kind in ("inside", "overlap"):
            return True
        if kind == "near":
            return value is not None and limit is not None and value <= limit
        return False
    raise RuleError(f"unknown spatial test {t!r}")


@dataclass(frozen=True)
class Case:
    """A rule's own test case: a project, a feature, where the site is, and the expected outcome."""

    project: Mapping[str, Any]
    feature: Mapping[str, Any]
    place: str
    expect: str  # "trigger" | "no_trigger"
    note: str = ""

    @property
    def triggers(self) -> bool:
        return self.expect == "trigger"


@dataclass(frozen=True)
class Parameter:
    """A named, configurable value (a distance) with its legal source."""

    name: str
    value: float
    default: float
    unit: str
    basis: str
    file: str
    title_zh: str = ""
    note: str = ""

    @property
    def overridden(self) -> bool:
        return self.value != self.default


@dataclass(frozen=True)
class RuleFile:
    """One rule file: one regulation or one plan."""

    path: str
    sha256: str
    rule_count: int
    title: str
    document: str
    scope: str
    version: str
    date: str = ""
    number: str = ""
    city: str = ""
    adcode: str = ""
    source_file: str = ""
    effective_from: str = ""
    effective_until: str = ""
    superseded_by: str = ""
    plan: str = ""
    plan_title: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}

    def in_force(self, on: dt.date | str | None) -> bool:
        """Whether the file's text is in force on ``on`` (``None``: always true)."""
        return _in_force(self.effective_from, self.effective_until, on)


def _in_force(start: str, end: str, on: dt.date | str | None) -> bool:
    if on is None:
        return True
    day = parse_date(on)
    if start and day < parse_date(start):
        return False
    if end and day >= parse_date(end):
        return False
    return True


# ---------------------------------------------------------------------------
# the rule
# ---------------------------------------------------------------------------
@dataclass(frozen=True, eq=True)
class Rule:
    """One rule of a rule file.  See ``rules/README.md`` for every field."""

    id: str
    title_zh: str
    title_en: str
    layer: str
    where: tuple[WhereTerm, ...]
    applies: Applicability
    test: SpatialTest
    severity: str
    basis: str
    message_zh: str
    message_en: str
    next_steps_zh: tuple[str, ...]
    next_steps_en: tuple[str, ...]
    cases: tuple[Case, ...]
    family: str
    file: str
    file_sha256: str
    scope: str
    document: str = ""
    city: str = ""
    adcode: str = ""
    source: Source | None = None
    quote: str = ""
    note: str = ""
    version: str = ""
    effective_from: str = ""
    effective_until: str = ""
    basis_verified: bool = True
    unverified: str = ""
    citation: str = ""
    section: str = ""
    _taxonomy: Taxonomy | None = field(default=None, compare=False, repr=False)
    _activities: Activities | None = field(default=None, compare=False, repr=False)

    def __hash__(self) -> int:
        return hash((self.id, self.file_sha256))

    # -- descriptive -----------------------------------------------------
    @property
    def severity_rank(self) -> int:
        return SEVERITY_RANK[self.severity]

    @property
    def severity_zh(self) -> str:
        return SEVERITY_ZH[self.severity]

    @property
    def distance_m(self) -> float | None:
        """The test distance in metres for ``within_distance`` rules, else ``None``."""
        return self.test.value if self.test.kind == "within_distance" else None

    def title(self, lang: str = "zh") -> str:
        return self.title_zh if lang == "zh" else self.title_en

    def in_force(self, on: dt.date | str | None) -> bool:
        """Whether the rule's text is in force on ``on`` (``None``: always true)."""
        return _in_force(self.effective_from, self.effective_until, on)

    def verified_text(self, lang: str = "zh") -> str:
        """``""`` when the basis was checked against the text, else 条款未核实 (and what)."""
        if self.basis_verified:
            return ""
        head = UNVERIFIED_ZH if lang == "zh" else UNVERIFIED_EN
        return f"{head}：{self.unverified}" if (self.unverified and lang == "zh") else head

    def next_steps(self, lang: str = "zh") -> tuple[str, ...]:
        return self.next_steps_zh if lang == "zh" else self.next_steps_en

    def where_dict(self) -> dict[str, Any]:
        """``where`` as the plain mapping the file wrote."""
        out: dict[str, Any] = {}
        for t in self.where:
            vals: list[Any] = list(t.values) + ([None] if t.allow_missing else [])
            out[t.attr] = vals[0] if len(vals) == 1 else vals
        return out

    # -- masks -------------------------------------------------------------
    def applies_mask(self, sites: pd.DataFrame | PreparedSites, *, unknown_industry: str = "match") -> np.ndarray:
        """Boolean array: which sites this rule is about (see :func:`ecogis.rules.match.applies_mask`)."""
        from ecogis.rules.match import applies_mask

        return applies_mask(self.applies, sites, taxonomy=self._taxonomy, activities=self._activities,
                            unknown_industry=unknown_industry)

    def feature_mask(self, features: pd.DataFrame) -> np.ndarray:
        """Boolean array: which features of the layer pass ``where``."""
        from ecogis.rules.match import feature_mask

        return feature_mask(self.where, features)

    def spatial_expect(self, place: str, *, use_default: bool = True) -> bool:
        """Whether the spatial test passes for a site at a case ``place``."""
        return spatial_expect(self.test, place, use_default=use_default)

    def case_outcome(self, case: Case) -> dict[str, bool]:
        """Evaluate a case: ``applies``, ``where``, ``spatial`` and the combined ``trigger``."""
        import pandas as pd

        proj = {k: (list(v) if isinstance(v, (list, tuple)) else v) for k, v in dict(case.project).items()}
        row = pd.DataFrame([proj])
        applies = bool(self.applies_mask(row)[0])
        feat = pd.DataFrame([dict(case.feature)] if case.feature else [{}], index=[0])
        where = bool(self.feature_mask(feat)[0])
        spatial = self.spatial_expect(case.place)
        return {"applies": applies, "where": where, "spatial": spatial, "trigger": applies and where and spatial}

    # -- messages ------------------------------------------------------------
    def render_message(self, lang: str = "zh", **values: Any) -> str:
        """Fill the message template of ``lang`` (``zh`` or ``en``).

        Missing values print as ``—``.  Numbers are formatted: distances to
        whole metres, percentages to one decimal, other floats to two.
        Values for ``rule_id``, ``rule_title``, ``severity``, ``severity_zh``,
        ``layer_kind``, ``basis``, ``limit_m`` and ``share_limit_pct`` come from
        the rule unless given.
        """
        template = self.message_zh if lang == "zh" else self.message_en
        auto: dict[str, Any] = {
            "rule_id": self.id,
            "rule_title": self.title(lang),
            "severity": self.severity if lang != "zh" else SEVERITY_ZH[self.severity],
            "severity_zh": SEVERITY_ZH[self.severity],
            "layer_kind": self.layer,
            "basis": self.basis,
        }
        if self.test.kind == "within_distance":
            auto["limit_m"] = self.test.value
        if self.test.kind == "overlap_share":
            auto["share_limit_pct"] = 100.0 * (self.test.value or 0.0)
        auto.update({k: v for k, v in values.items() if v is not None})
        return template.format_map(_Values(auto))


class _Values(dict):
    """Format values for message templates; missing keys print as a dash."""

    def __missing__(self, key: str) -> str:
        return _MISSING

    def __getitem__(self, key: str) -> Any:
        if key not in self:
            return _MISSING
        return _fmt(key, dict.__getitem__(self, key))


def _fmt(key: str, v: Any) -> str:
    if v is None:
        return _MISSING
    if isinstance(v, (bool, np.bool_)):
        return str(bool(v))
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return _MISSING
        if key in ("distance_m", "limit_m"):
            return f"{v:,.0f}"
        if key.endswith("_pct"):
            return f"{v:.1f}"
        return f"{v:,.2f}"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}" if key in ("distance_m", "limit_m") else str(int(v))
    text = str(v)
    return text if text != "" else _MISSING


# ---------------------------------------------------------------------------
# the rule set
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleSet:
    """The rules of one or more files, in file order."""

    rules: tuple[Rule, ...]
    files: tuple[RuleFile, ...]
    parameters: Mapping[str, Parameter]
    taxonomy: Taxonomy | None = field(default=None, compare=False, repr=False)
    activities: Activities | None = field(default=None, compare=False, repr=False)
    #: The date the rules were selected for (``in_force``), ``""`` if not selected by date.
    as_of: str = ""

    def __iter__(self) -> Iterator[Rule]:
        return iter(self.rules)

    def __len__(self) -> int:
        return len(self.rules)

    def __getitem__(self, key: int | str) -> Rule:
        if isinstance(key, int):
            return self.rules[key]
        for r in self.rules:
            if r.id == key:
                return r
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return any(r.id == key for r in self.rules)

    def get(self, rule_id: str, default: Rule | None = None) -> Rule | None:
        try:
            return self[rule_id]
        except KeyError:
            return default

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(r.id for r in self.rules)

    def by_layer(self) -> dict[str, list[Rule]]:
        """Rules grouped by the layer kind they test, in file order."""
        out: dict[str, list[Rule]] = {}
        for r in self.rules:
            out.setdefault(r.layer, []).append(r)
        return out

    def by_family(self) -> dict[str, list[Rule]]:
        out: dict[str, list[Rule]] = {}
        for r in self.rules:
            out.setdefault(r.family, []).append(r)
        return out

    def by_file(self) -> dict[str, list[Rule]]:
        out: dict[str, list[Rule]] = {f.path: [] for f in self.files}
        for r in self.rules:
            out.setdefault(r.file, []).append(r)
        return out

    def kinds(self) -> tuple[str, ...]:
        """The layer kinds the rules test, sorted."""
        return tuple(sorted({r.layer for r in self.rules}))

    def select(self, *, layer: str | None = None, scope: str | None = None, severity: str | None = None,
               file: str | None = None) -> RuleSet:
        """A rule set with only the rules that match every given filter."""
        keep = tuple(
            r for r in self.rules
            if (layer is None or r.layer == layer) and (scope is None or r.scope == scope)
            and (severity is None or r.severity == severity) and (file is None or r.file == file)
        )
        paths = {r.file for r in keep}
        return RuleSet(keep, tuple(f for f in self.files if f.path in paths), self.parameters,
                       self.taxonomy, self.activities, as_of=self.as_of)

    def in_force(self, on: dt.date | str | None) -> RuleSet:
        """The rules (and files) in force on ``on``; ``None`` keeps every rule.

        A file superseded on a date (``superseded_by`` / ``effective_until``) no
        longer applies from that date; a file not yet in force (``effective_from``
        after ``on``) does not apply either.
        """
        if on is None:
            return self
        day = parse_date(on)
        files = tuple(f for f in self.files if f.in_force(day))
        paths = {f.path for f in files}
        keep = tuple(r for r in self.rules if r.file in paths and r.in_force(day))
        return RuleSet(keep, files, self.parameters, self.taxonomy, self.activities, as_of=day.isoformat())

    def versions(self) -> list[dict[str, Any]]:
        """One row per file: the document and version applied, and its dates (for the report)."""
        keys = ("path", "title", "document", "number", "version", "effective_from", "effective_until",
                "superseded_by", "plan_title", "sha256")
        return [{k: getattr(f, k) for k in keys} for f in self.files]

    def summary(self) -> list[dict[str, Any]]:
        """One row per file: path, title, rule count, sha256 (for reports and provenance)."""
        return [f.as_dict() for f in self.files]
