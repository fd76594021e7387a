"""Load and validate rule files.

:func:`load_rules` reads YAML rule files with a safe loader, validates them
against ``rules/schema.json`` and then checks what a schema cannot: layer
kinds and their attributes, industry codes (suggesting the nearest known
codes), activity tags, parameters, message placeholders, sources of local
rules, and each rule's own cases.  Every problem is collected; if there is
any, one :class:`~ecogis.errors.RuleError` lists them all (each also in
``error.errors``) and nothing is returned: a broken rule is never skipped.
"""

from __future__ import annotations

import difflib
import functools
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence


from ecogis import cache
from ecogis.errors import EcogisError, RuleError
from ecogis.rules.activities import Activities, load_activities
from ecogis.rules.model import (
    LAYER_KINDS, PLACEHOLDERS, Applicability, Case, Clause, Parameter, Rule, RuleFile, RuleSet,
    Source, SpatialTest, WhereTerm, parse_date, parse_place, template_fields,
)
from ecogis.rules.schema import rule_validator, schema_errors
from ecogis.rules.taxonomy import Taxonomy, load_taxonomy
from ecogis.rules.yamlio import read_text, read_yaml
from ecogis.settings import settings


#: Files in the rules folder that are not rule files.
RESERVED = frozenset({"taxonomy.yaml", "activities.yaml", "schema.json", "schema.yaml", "plans.yaml"})

#: Date keys that YAML may have read as dates; they are kept as ``YYYY-MM-DD`` text.
_DATE_KEYS = ("effective_from", "effective_until", "date")

# Attributes of each layer kind when the layer schema folder has no file for it.
_FALLBACK_ATTRS: dict[str, dict[str, tuple[str, ...] | None]] = {
    "admin": {"adcode": None, "level": None},
    "redline": {"code": None, "function": None},
    "protected_area": {"type": None, "level": None, "zone": ("核心保护区", "一般控制区", "核心区", "缓冲区", "实验区")},
    "water_source": {"grade": ("一级保护区", "二级保护区", "准保护区"), "type": None},
    "control_unit": {"code": None, "class": ("优先保护", "重点管控", "一般管控")},
    "farmland": {},
    "urban_boundary": {},
    "grassland": {"type": ("基本草原", "一般草原"), "zone": ("禁牧区", "草畜平衡区")},
    "wetland": {"level": ("国家重要湿地", "自治区重要湿地", "一般湿地")},
    "mine": {"type": None, "status": None, "method": None, "green": None,
             "feature": ("采场", "排土场", "采煤沉陷区", "工业场地")},
    "road": {"level": ("高速公路", "国道", "省道", "县道", "乡道")},
    "railway": {"level": None},
    "river": {"level": None},
    "project": {},
    "no_burn_zone": {},
    "sand_closure": {},
    "forest": {"origin": ("天然林", "人工林"), "category": ("公益林", "商品林")},
    "contaminated_site": {"status": ("疑似污染地块", "污染地块", "已完成修复"), "former_use": None},
    "noise_sensitive_area": {"type": ("居住区", "文教区", "医疗区", "机关办公区", "文化生活区", "其他")},
    "ecological_function_zone": {"zone": None},
    "groundwater_zone": {"zone": ("超采区", "禁采区", "限采区", "地下水污染防治重点区", "水源补给区")},
}


# ---------------------------------------------------------------------------
# layer attributes
# ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _layer_attrs(schema_dir: str) -> dict[str, dict[str, tuple[str, ...] | None]]:
    out: dict[str, dict[str, tuple[str, ...] | None]] = {}
    base = Path(schema_dir)
    common: dict[str, tuple[str, ...] | None] = {"name": None}
    cpath = base / "_common.yaml"
    if cpath.is_file():
        cdoc = read_yaml(cpath, what="layer schema")[0] or {}
        for name, spec in (cdoc.get("fields") or {}).items():
            vals = (spec or {}).get("values")
            common[str(name)] = tuple(str(v) for v in vals) if vals else None
    for kind in LAYER_KINDS:
        attrs = dict(common)
        p = base / f"{kind}.yaml"
        if p.is_file():
            doc = read_yaml(p, what="layer schema")[0] or {}
            for name, spec in (doc.get("fields") or {}).items():
                vals = (spec or {}).get("values")
                attrs[str(name)] = tuple(str(v) for v in vals) if vals else None
        else:
            attrs.update(_FALLBACK_ATTRS.get(kind, {}))
        out[kind] = attrs
    return out


def layer_attributes(kind: str) -> dict[str, tuple[str, ...] | None]:
    """Attribute names of a layer kind, each with its allowed values (``None`` = any text)."""
    return _layer_attrs(_resolved(str(settings.schema_dir))).get(kind, {})


@functools.lru_cache(maxsize=16)
def _resolved(path: str) -> str:
    return str(Path(path).resolve())


# ---------------------------------------------------------------------------
# plans (local rule files cite them by key)
# ---------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _plans(path: str, mtime: float) -> dict[str, dict[str, Any]]:
    doc = read_yaml(path, what="plan list")[0] or {}
    out = {}
    for key, spec in (doc.get("plans") or {}).items():
        spec = dict(spec or {})
        for need in ("title", "year", "issuer", "source_file"):
            if not spec.get(need):
                raise RuleError(f"plan {key!r} needs {need!r}", path=path)
        out[str(key)] = spec
    return out


def load_plans(path: str | os.PathLike | None = None) -> dict[str, dict[str, Any]]:
    """The plans local rules cite: key → ``title``, ``year``, ``issuer``, ``source_file`` (``rules/plans.yaml``)."""
    p = Path(path) if path is not None else Path(settings.rules_dir) / "plans.yaml"
    if not p.is_file():
        return {}
    return _plans(str(p.resolve()), p.stat().st_mtime)


def _dates_as_text(doc: Any) -> None:
    """YAML reads unquoted ``2026-03-15`` as a date; keep such values as text for the schema."""
    import datetime as _dt

    if not isinstance(doc, dict):
        return
    rules = doc.get("rules")
    items = [doc] + ([r for r in rules if isinstance(r, dict)] if isinstance(rules, list) else [])
    for d in items:
        for k in _DATE_KEYS:
            if isinstance(d.get(k), _dt.date):
                d[k] = d[k].isoformat()


# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------
@dataclass
class _Errors:
    items: list[RuleError] = field(default_factory=list)

    def add(self, message: str, *, path: str | None, rule: str | None = None, fld: str | None = None,
            hint: str | None = None, line: int | None = None, key: str | None = None) -> None:
        if rule is not None:
            where = f"rule {rule}" + (f", field {fld}" if fld else "")
        elif key is not None:
            where = f"key {key}"
        elif fld:
            where = f"key {fld}"
        else:
            where = None
        if line is not None and where:
            where += f" (line {line})"
        elif line is not None:
            where = f"line {line}"
        self.items.append(RuleError(message, path=path, where=where, hint=hint))

    def extend(self, errs: Iterable[RuleError]) -> None:
        self.items.extend(errs)

    def raise_if_any(self) -> None:
        if not self.items:
            return
        first = self.items[0]
        if len(self.items) == 1:
            err = RuleError(first.message, path=first.path, where=first.where, hint=first.hint)
        else:
            lines = "\n".join(f"  - {e}" for e in self.items)
            err = RuleError(f"{len(self.items)} problems in the rule files:\n{lines}", path=first.path)
        err.errors = list(self.items)  # type: ignore[attr-defined]
        raise err


def _rule_lines(text: str) -> dict[str, int]:
    """Line number of each ``- id: X`` in the file text."""
    out: dict[str, int] = {}
    for i, line in enumerate(text.splitlines(), 1):
        m = re.match(r"^\s*-?\s*id:\s*['\"]?([A-Za-z0-9-]+)", line)
        if m and m.group(1) not in out:
            out[m.group(1)] = i
    return out


# ---------------------------------------------------------------------------
# paths
# ---------------------------------------------------------------------------
def default_rule_paths() -> list[Path]:
    """The bundled national and local rule folders."""
    base = Path(settings.rules_dir)
    return [base / "national", base / "local"]


def collect_rule_files(paths: str | os.PathLike | Sequence[str | os.PathLike] | None) -> list[Path]:
    """Expand files and folders into the rule files they hold (sorted per folder)."""
    if paths is None:
        items: list[Path] = default_rule_paths()
    elif isinstance(paths, (str, os.PathLike)):
        items = [Path(paths)]
    else:
        items = [Path(p) for p in paths]
    out: list[Path] = []
    for p in items:
        if p.is_dir():
            found = sorted(q for q in p.rglob("*") if q.suffix.lower() in (".yaml", ".yml") and q.is_file()
                           and q.name not in RESERVED and not any(part.startswith(".") for part in q.parts))
            out.extend(found)
        elif p.is_file():
            out.append(p)
        else:
            raise RuleError("no such rule file or folder", path=p)
    seen: list[Path] = []
    resolved: set[Path] = set()
    for p in out:  # the first of several names for one file
        r = p.resolve()
        if r not in resolved:
            resolved.add(r)
            seen.append(p)
    return seen


def _display_path(p: Path) -> str:
    base = Path(settings.rules_dir).resolve()
    try:
        return Path(os.path.relpath(p.resolve(), base)).as_posix() if p.resolve().is_relative_to(base) else str(p)
    except ValueError:  # pragma: no cover - other drive on Windows
        return str(p)


# ---------------------------------------------------------------------------
# the loader
# ---------------------------------------------------------------------------
_LOADED: dict[tuple, RuleSet] = {}


def _stamp(p: Path) -> tuple[str, int, int]:
    st = p.stat()
    return (str(p.resolve()), st.st_mtime_ns, st.st_size)


class _Lazy:
    """A value made on first use (``lazy()``)."""

    def __init__(self, make) -> None:
        self._make, self._value = make, None

    def __call__(self):
        if self._value is None:
            self._value = self._make()
        return self._value


def _schema_sha() -> str:
    """SHA-256 of ``rules/schema.json`` (part of every cache key: a new schema revalidates every file)."""
    import hashlib

    p = Path(settings.rules_dir) / "schema.json"
    try:
        return hashlib.sha256(p.read_bytes()).hexdigest()
    except OSError:
        return ""


def rules_key(
    paths: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    *,
    params: Mapping[str, float] | None = None,
    check_cases: bool = True,
) -> tuple | None:
    """What decides the rule set :func:`load_rules` gives for these arguments (``None`` if a file cannot be read).

    The path, modification time and size of every rule, taxonomy, activities, schema and layer-schema file,
    with the arguments: equal keys give equal rule sets, in any process.
    """
    files = collect_rule_files(paths)
    base = Path(settings.rules_dir)
    extra = [base / "taxonomy.yaml", base / "activities.yaml", base / "schema.json", base / "plans.yaml"]
    sdir = Path(settings.schema_dir)
    extra += sorted(sdir.glob("*.yaml")) if sdir.is_dir() else []
    try:
        return (tuple(_stamp(p) for p in files + [e for e in extra if e.exists()]),
                tuple(sorted((str(k), repr(v)) for k, v in (params or {}).items())), check_cases,
                str(base.resolve()))
    except OSError:
        return None


def load_rules(
    paths: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    *,
    params: Mapping[str, float] | None = None,
    taxonomy: Taxonomy | None = None,
    activities: Activities | None = None,
    check_cases: bool = True,
) -> RuleSet:
    """Load rule files into a :class:`~ecogis.rules.model.RuleSet` (see :func:`_load_rules`).

    A result is reused while none of the files (rule files, taxonomy,
    activities, schema, layer schemas) has changed and the arguments are the
    same; rule sets are immutable, so sharing them is safe.
    """
    if taxonomy is not None or activities is not None:
        return _load_rules(paths, params=params, taxonomy=taxonomy, activities=activities, check_cases=check_cases)
    key = rules_key(paths, params=params, check_cases=check_cases)
    if key is None:
        return _load_rules(paths, params=params, check_cases=check_cases)
    hit = _LOADED.get(key)
    if hit is None:
        hit = _load_rules(paths, params=params, check_cases=check_cases)
        if len(_LOADED) > 16:
            _LOADED.clear()
        _LOADED[key] = hit
    return hit


def _load_rules(
    paths: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    *,
    params: Mapping[str, float] | None = None,
    taxonomy: Taxonomy | None = None,
    activities: Activities | None = None,
    check_cases: bool = True,
) -> RuleSet:
    """Load rule files into a :class:`~ecogis.rules.model.RuleSet`.

    Parameters
    ----------
    paths:
        Rule files and/or folders (searched recursively for ``*.yaml``).
        ``None`` loads the bundled ``rules/national`` and ``rules/local``.
    params:
        Overrides for named parameters (``{"mining_setback_road_m": 150}``).
        An unknown name is an error.
    taxonomy, activities:
        The vocabularies (default: ``rules/taxonomy.yaml`` and
        ``rules/activities.yaml``).
    check_cases:
        Check that each rule's cases agree with its ``applies``, ``where`` and
        spatial test (at the file's default parameter values).

    Raises
    ------
    RuleError
        Naming the file, the rule and the field of every problem found.
    """
    taxonomy = taxonomy or load_taxonomy()
    activities = activities or load_activities()
    validator = _Lazy(rule_validator)  # built only when some file is not in the cache
    files = collect_rule_files(paths)
    if not files:
        raise RuleError("no rule files found", path=str(paths) if paths is not None else str(settings.rules_dir))
    errors = _Errors()
    parsed: list[tuple[Path, str, Any, str, str]] = []
    schema_sha = _schema_sha()
    for p in files:
        shown = _display_path(p)
        try:
            text, sha = read_text(p)
            ckey = cache.key("rule-file", sha, schema_sha)
            doc = cache.get("rules", ckey)  # the same bytes parsed and validated before
            hit = doc is not None
            if not hit:
                doc, text, sha = read_yaml(p)
        except RuleError as exc:
            errors.extend([RuleError(exc.message, path=shown, where=exc.where, hint=exc.hint)])
            continue
        if not isinstance(doc, Mapping):
            errors.add("a rule file must be a mapping with a 'rules' list", path=shown)
            continue
        _dates_as_text(doc)
        lines = _rule_lines(text)
        bad = [] if hit else schema_errors(doc, validator=validator())
        if not bad and not hit and cache.json_safe(doc):
            cache.put("rules", ckey, doc)
        for rid, fld, msg, hint in bad:
            errors.add(msg, path=shown, rule=rid, fld=fld, hint=hint, line=lines.get(rid or ""),
                       key=None if rid else fld)
        if bad:
            continue
        parsed.append((p, shown, doc, text, sha))

    # parameters: one namespace across files, so overrides are unambiguous
    parameters: dict[str, Parameter] = {}
    owner: dict[str, str] = {}
    for _, shown, doc, _, _ in parsed:
        for name, spec in (doc.get("parameters") or {}).items():
            if name in parameters:
                errors.add(f"parameter {name!r} is also defined in {owner[name]}", path=shown,
                           key=f"parameters.{name}")
                continue
            v = float(spec["value"])
            if spec["unit"] == "share" and not 0 < v < 1:
                errors.add("a share parameter must be between 0 and 1", path=shown, key=f"parameters.{name}.value")
            parameters[name] = Parameter(name=name, value=v, default=v, unit=spec["unit"], basis=spec["basis"],
                                         file=shown, title_zh=spec.get("title_zh", ""), note=spec.get("note", ""))
            owner[name] = shown
    for name, value in (params or {}).items():
        if name not in parameters:
            near = [n for n in parameters if name in n or n in name][:3]
            errors.add(f"unknown parameter {name!r} in the overrides", path=None, key=f"params.{name}",
                       hint=("known parameters: " + ", ".join(sorted(parameters))) if not near
                       else "did you mean " + ", ".join(near) + "?")
            continue
        try:
            fv = float(value)
        except (TypeError, ValueError):
            errors.add(f"parameter {name!r} must be a number, got {value!r}", path=None, key=f"params.{name}")
            continue
        par = parameters[name]
        if not fv > 0 or (par.unit == "share" and not fv < 1):
            errors.add(f"parameter {name!r} out of range: {value!r}", path=None, key=f"params.{name}")
            continue
        parameters[name] = Parameter(**{**par.__dict__, "value": fv})

    plans = load_plans()
    ends = _file_ends(parsed, errors)
    rules: list[Rule] = []
    rule_files: list[RuleFile] = []
    seen_ids: dict[str, str] = {}
    for p, shown, doc, text, sha in parsed:
        lines = _rule_lines(text)
        before = len(errors.items)
        plan: dict[str, Any] = {}
        if doc["scope"] == "local":
            for key in ("city", "adcode", "source_file", "plan"):
                if not doc.get(key):
                    errors.add(f"a local rule file needs {key!r} in its header", path=shown, key=key,
                               hint="plan: the plan's key in rules/plans.yaml" if key == "plan" else None)
            if doc.get("plan"):
                plan = plans.get(doc["plan"], {})
                if not plan:
                    errors.add(f"plan {doc['plan']!r} is not in rules/plans.yaml", path=shown, key="plan",
                               hint="known plans: " + ", ".join(sorted(plans)))
                elif doc.get("source_file") and plan.get("source_file") != doc["source_file"]:
                    errors.add(f"plan {doc['plan']!r} is the seed {plan.get('source_file')!r}, not "
                               f"{doc['source_file']!r}", path=shown, key="plan")
        fctx = {"plan": plan, "until": ends.get(shown, "")}
        built: list[Rule] = []
        for raw in doc["rules"]:
            rule = _build_rule(raw, doc, shown, sha, lines, parameters, taxonomy, activities, errors, check_cases,
                               fctx)
            rid = raw["id"]
            if rid in seen_ids:
                errors.add(f"duplicate rule ID (also in {seen_ids[rid]})", path=shown, rule=rid, fld="id",
                           line=lines.get(rid))
            else:
                seen_ids[rid] = shown
            if rule is not None:
                built.append(rule)
        if len(errors.items) == before:
            rules.extend(built)
            rule_files.append(RuleFile(
                path=shown, sha256=sha, rule_count=len(built), title=doc["title"], document=doc["document"],
                scope=doc["scope"], version=str(doc["version"]), date=str(doc.get("date", "")),
                number=doc.get("number", ""), city=doc.get("city", ""), adcode=doc.get("adcode", ""),
                source_file=doc.get("source_file", ""), effective_from=doc.get("effective_from", ""),
                effective_until=fctx["until"], superseded_by=doc.get("superseded_by", ""),
                plan=doc.get("plan", ""), plan_title=plan.get("title", ""),
            ))
    errors.raise_if_any()
    return RuleSet(tuple(rules), tuple(rule_files), dict(parameters), taxonomy, activities)


def _file_ends(parsed: Sequence[tuple[Path, str, Any, str, str]], errors: _Errors) -> dict[str, str]:
    """The first day each file is no longer in force: ``effective_until``, else the superseding file's start.

    ``superseded_by`` names a file under the rules folder (``national/x.yaml``) or next to the file.
    """
    starts = {p.resolve(): doc.get("effective_from", "") for p, _, doc, _, _ in parsed}
    out: dict[str, str] = {}
    for p, shown, doc, _, _ in parsed:
        for key in ("effective_from", "effective_until"):
            if doc.get(key):
                try:
                    parse_date(doc[key])
                except ValueError:
                    errors.add(f"{doc[key]!r} is not a date (YYYY-MM-DD)", path=shown, key=key)
                    doc = {**doc, key: ""}
        end = doc.get("effective_until", "")
        by = doc.get("superseded_by", "")
        if by:
            nxt = None
            for cand in (Path(settings.rules_dir) / by, p.parent / by):
                if cand.resolve() in starts:
                    nxt = starts[cand.resolve()]
                    break
                if cand.is_file():
                    try:
                        nxt = (read_yaml(cand)[0] or {}).get("effective_from", "")
                    except RuleError:
                        nxt = None
                    break
            if hasattr(nxt, "isoformat"):
                nxt = nxt.isoformat()
            if nxt is None:
                errors.add(f"superseded_by names no rule file: {by!r}", path=shown, key="superseded_by",
                           hint="give the path under rules/, e.g. national/nature_reserve_2026.yaml")
                continue
            if not nxt and not end:
                errors.add(f"the superseding file {by!r} has no effective_from; give effective_until here",
                           path=shown, key="superseded_by")
                continue
            end = end or str(nxt)
        start = doc.get("effective_from", "")
        if start and end:
            try:
                if parse_date(end) <= parse_date(start):
                    errors.add(f"the file stops being in force ({end}) before it starts ({start})", path=shown,
                               key="effective_until")
            except ValueError:
                pass
        out[shown] = end
    return out


def _codes(codes: Sequence[str], fld: str, ctx: dict, taxonomy: Taxonomy) -> tuple[str, ...]:
    out = []
    for i, c in enumerate(codes):
        try:
            out.append(taxonomy.validate(c, strict=True))
        except EcogisError as exc:
            ctx["errors"].add(exc.message, path=ctx["path"], rule=ctx["rule"], fld=f"{fld}[{i}]", hint=exc.hint,
                              line=ctx["line"])
    return tuple(out)


def _tags(tags: Sequence[str], fld: str, ctx: dict, activities: Activities) -> tuple[str, ...]:
    out = []
    for i, t in enumerate(tags):
        if t in activities:
            out.append(t)
            continue
        try:
            activities.validate(t)
        except EcogisError as exc:
            ctx["errors"].add(exc.message, path=ctx["path"], rule=ctx["rule"], fld=f"{fld}[{i}]", hint=exc.hint,
                              line=ctx["line"])
        else:
            ctx["errors"].add(f"write the activity tag, not its name: {t!r}", path=ctx["path"], rule=ctx["rule"],
                              fld=f"{fld}[{i}]", hint=f"use {activities.validate(t)!r}", line=ctx["line"])
    return tuple(out)


def _clause(spec: Mapping[str, Any], fld: str, ctx: dict, taxonomy: Taxonomy, activities: Activities) -> Clause:
    pre = f"{fld}." if fld else ""
    return Clause(
        industry=_codes(spec.get("industry") or (), f"{pre}industry", ctx, taxonomy),
        nature=tuple(spec.get("nature") or ()),
        flags=tuple((k, bool(v)) for k, v in (spec.get("flags") or {}).items()),
        activity=_tags(spec.get("activity") or (), f"{pre}activity", ctx, activities),
    )


def _check_attrs(kind: str, attrs: Mapping[str, Any], fld: str, ctx: dict, *, values_ok: bool = True) -> None:
    known = layer_attributes(kind)
    for name, value in attrs.items():
        if name not in known:
            near = difflib.get_close_matches(name, list(known), n=1)
            ctx["errors"].add(f"layer kind {kind!r} has no attribute {name!r}", path=ctx["path"], rule=ctx["rule"],
                              fld=f"{fld}.{name}", line=ctx["line"],
                              hint=(f"did you mean {near[0]!r}? " if near else "") + "attributes: " + ", ".join(known))
            continue
        allowed = known[name]
        if not values_ok or allowed is None:
            continue
        vals = value if isinstance(value, list) else [value]
        for i, v in enumerate(vals):
            if v is None:
                continue
            if str(v) not in allowed:
                sub = f"{fld}.{name}" + (f"[{i}]" if isinstance(value, list) else "")
                ctx["errors"].add(f"{v!r} is not a value of {kind}.{name}", path=ctx["path"], rule=ctx["rule"],
                                  fld=sub, hint="allowed: " + ", ".join(allowed), line=ctx["line"])


def _where(spec: Mapping[str, Any] | None) -> tuple[WhereTerm, ...]:
    out = []
    for name, value in (spec or {}).items():
        vals = value if isinstance(value, list) else [value]
        out.append(WhereTerm(attr=name, values=tuple(str(v).strip() for v in vals if v is not None),
                             allow_missing=any(v is None for v in vals)))
    return tuple(out)


def _build_rule(raw: Mapping[str, Any], doc: Mapping[str, Any], shown: str, sha: str, lines: Mapping[str, int],
                parameters: Mapping[str, Parameter], taxonomy: Taxonomy, activities: Activities, errors: _Errors,
                check_cases: bool, fctx: Mapping[str, Any] | None = None) -> Rule | None:
    rid = raw["id"]
    ctx = {"errors": errors, "path": shown, "rule": rid, "line": lines.get(rid)}
    n_before = len(errors.items)

    def err(msg: str, fld: str, hint: str | None = None) -> None:
        errors.add(msg, path=shown, rule=rid, fld=fld, hint=hint, line=ctx["line"])

    scope = doc["scope"]
    kind = raw["layer"]
    if kind not in LAYER_KINDS:
        near = difflib.get_close_matches(kind, LAYER_KINDS, n=1)
        err(f"unknown layer kind {kind!r}", "layer",
            (f"did you mean {near[0]!r}? " if near else "") + "kinds: " + ", ".join(LAYER_KINDS))
    else:
        _check_attrs(kind, raw.get("where") or {}, "where", ctx)

    # applicability
    ap = raw.get("applies") or {}
    base = _clause(ap, "applies", ctx, taxonomy, activities)
    any_of = tuple(_clause(c, f"applies.any_of[{i}]", ctx, taxonomy, activities)
                   for i, c in enumerate(ap.get("any_of") or ()))
    excepts = tuple(_clause(c, f"applies.except[{i}]", ctx, taxonomy, activities)
                    for i, c in enumerate(ap.get("except") or ()))
    applies = Applicability(base=base, any_of=any_of, excepts=excepts)

    # spatial test
    t = raw["test"]
    test = SpatialTest(kind="intersects")
    if isinstance(t, str):
        test = SpatialTest(kind=t)
    else:
        (tkind, tval), = t.items()
        want_unit = "m" if tkind == "within_distance" else "share"
        if isinstance(tval, str):
            par = parameters.get(tval)
            if par is None or par.file != shown:
                where_defined = f" (defined in {par.file}; a rule may only use its own file's parameters)" if par else ""
                err(f"unknown parameter {tval!r}{where_defined}", f"test.{tkind}",
                    "define it under 'parameters:' at the top of this file")
            elif par.unit != want_unit:
                err(f"parameter {tval!r} is in {par.unit!r}, the test needs {want_unit!r}", f"test.{tkind}")
            else:
                test = SpatialTest(kind=tkind, value=par.value, param=tval, default=par.default)
        else:
            test = SpatialTest(kind=tkind, value=float(tval), default=float(tval))

    # messages
    for lang in ("zh", "en"):
        tmpl = raw[f"message_{lang}"]
        try:
            fields = template_fields(tmpl)
        except ValueError as exc:
            err(f"broken message template: {exc}", f"message_{lang}", "write braces as {{ and }}")
            continue
        for name, spec, conv in fields:
            if name not in PLACEHOLDERS:
                near = difflib.get_close_matches(name, sorted(PLACEHOLDERS), n=1)
                err(f"unknown placeholder {{{name}}}", f"message_{lang}",
                    (f"did you mean {{{near[0]}}}? " if near else "") + "see rules/README.md for the placeholders")
            elif spec or conv:
                err(f"placeholder {{{name}}} must not carry a format", f"message_{lang}",
                    "numbers are formatted by ecogis; write just {name}")
    nz, ne = raw["next_steps_zh"], raw["next_steps_en"]
    if len(nz) != len(ne):
        err(f"next_steps_zh has {len(nz)} steps but next_steps_en has {len(ne)}", "next_steps_en")
    if raw["severity"] != "notice" and not nz:
        err("a rule of this severity needs at least one next step", "next_steps_zh")

    # sources
    source = None
    if "source" in raw:
        s = raw["source"]
        if s.get("end_line") is not None and s["end_line"] < s["line"]:
            err("end_line is before line", "source.end_line")
        source = Source(file=s["file"], line=int(s["line"]), end_line=s.get("end_line"))
        if scope == "local" and doc.get("source_file") and s["file"] != doc["source_file"]:
            err(f"source file {s['file']!r} differs from the file header's source_file {doc['source_file']!r}",
                "source.file")
    if scope == "local":
        if source is None:
            err("a local rule must cite its plan file and line", "source", "add source: {file: ..., line: ...}")
        if not raw.get("quote"):
            err("a local rule must quote the plan text it encodes", "quote")
        if not raw.get("section"):
            err("a local rule must name the plan's chapter/section it comes from", "section",
                "e.g. section: 第五章第二节（三）")
    basis_verified = bool(raw.get("basis_verified", True))
    if not basis_verified and not raw.get("unverified"):
        err("basis_verified is false: say what was not verified in 'unverified'", "unverified")
    if basis_verified and raw.get("unverified"):
        err("'unverified' is given but basis_verified is not false", "basis_verified")
    fctx = fctx or {}
    plan = fctx.get("plan") or {}
    section = str(raw.get("section", "")).strip()
    if scope == "local":
        citation = f"{plan.get('title', doc.get('document', ''))}{section}"
    else:
        citation = doc["document"]
    eff_from = raw.get("effective_from") or doc.get("effective_from", "")
    eff_until = raw.get("effective_until") or fctx.get("until", "")
    for key, val in (("effective_from", raw.get("effective_from")), ("effective_until", raw.get("effective_until"))):
        if val:
            try:
                parse_date(val)
            except ValueError:
                err(f"{val!r} is not a date (YYYY-MM-DD)", key)

    # cases
    cases = []
    for i, c in enumerate(raw["cases"]):
        proj = dict(c.get("project") or {})
        if "industry" in proj:
            try:
                proj["industry"] = taxonomy.validate(proj["industry"], strict=True)
            except EcogisError as exc:
                err(exc.message, f"cases[{i}].project.industry", exc.hint)
        if "activity" in proj:
            proj["activity"] = list(_tags(proj["activity"], f"cases[{i}].project.activity", ctx, activities))
        feat = dict(c.get("feature") or {})
        if kind in LAYER_KINDS:
            _check_attrs(kind, feat, f"cases[{i}].feature", ctx)
        try:
            parse_place(c["place"])
        except RuleError as exc:
            err(exc.message, f"cases[{i}].place", exc.hint)
        cases.append(Case(project=proj, feature=feat, place=c["place"], expect=c["expect"], note=c.get("note", "")))
    if not any(c.expect == "trigger" for c in cases):
        err("the rule needs at least one case with expect: trigger", "cases")
    if not any(c.expect == "no_trigger" for c in cases):
        err("the rule needs at least one case with expect: no_trigger", "cases")

    if len(errors.items) > n_before:
        return None
    rule = Rule(
        id=rid, title_zh=raw["title_zh"], title_en=raw["title_en"], layer=kind, where=_where(raw.get("where")),
        applies=applies, test=test, severity=raw["severity"], basis=raw["basis"].strip(),
        message_zh=raw["message_zh"].strip(), message_en=raw["message_en"].strip(),
        next_steps_zh=tuple(nz), next_steps_en=tuple(ne), cases=tuple(cases), family=raw.get("family", rid),
        file=shown, file_sha256=sha, scope=scope, document=doc["document"], city=doc.get("city", ""),
        adcode=doc.get("adcode", ""), source=source,
        quote=raw.get("quote", "").strip(), note=raw.get("note", "").strip(),
        version=str(doc["version"]), effective_from=str(eff_from), effective_until=str(eff_until),
        basis_verified=basis_verified, unverified=str(raw.get("unverified", "")).strip(), citation=citation,
        section=section, _taxonomy=taxonomy, _activities=activities,
    )
    if check_cases:
        for i, c in enumerate(cases):
            try:
                out = rule.case_outcome(c)
            except EcogisError as exc:
                err(f"case {i + 1} cannot be evaluated: {exc.message}", f"cases[{i}]")
                continue
            if out["trigger"] != c.triggers:
                why = ", ".join(f"{k}={'yes' if v else 'no'}" for k, v in out.items() if k != "trigger")
                err(f"case {i + 1} expects {c.expect} but the rule would "
                    f"{'trigger' if out['trigger'] else 'not trigger'} ({why})", f"cases[{i}]")
        if len(errors.items) > n_before:
            return None
    return rule


__all__ = ["load_rules", "read_yaml", "collect_rule_files", "default_rule_paths", "layer_attributes", "load_plans"]
