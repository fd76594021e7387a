"""Structural validation of rule files with the JSON Schema in ``rules/schema.json``.

Errors are reported the way a reviewer reads the file: the rule ID and the
field (``rule RL-142-MINING, field applies.industry[0]``), or the key for
file-level fields (``key parameters.x.value``).
"""

from __future__ import annotations

import difflib
import functools
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from ecogis.errors import RuleError, key_path

if TYPE_CHECKING:  # jsonschema is imported when a file is validated (a cached rule file needs none)
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import ValidationError
from ecogis.settings import settings


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Draft202012Validator:
    from jsonschema import Draft202012Validator

    with open(path, encoding="utf-8") as fh:
        try:
            schema = json.load(fh)
        except json.JSONDecodeError as exc:
            raise RuleError(f"the rule schema is not valid JSON: {exc}", path=path) from None
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def rule_validator(path: str | Path | None = None) -> Draft202012Validator:
    """The validator for ``rules/schema.json`` (cached while the file is unchanged)."""
    p = Path(path) if path is not None else Path(settings.rules_dir) / "schema.json"
    if not p.is_file():
        raise RuleError("the rule schema file is missing", path=p)
    return _load(str(p.resolve()), p.stat().st_mtime)


def format_field(parts: Iterable[Any]) -> str:
    """``["applies", "industry", 0]`` → ``"applies.industry[0]"``."""
    return key_path(parts)


def locate(doc: Any, path: list[Any]) -> tuple[str | None, str]:
    """Split a document path into ``(rule_id, field)``.

    ``rule_id`` is ``None`` for file-level keys; a rule without an ``id`` is
    named by its position (``#3``).
    """
    if len(path) >= 2 and path[0] == "rules" and isinstance(path[1], int):
        rules = doc.get("rules") if isinstance(doc, Mapping) else None
        rid = None
        if isinstance(rules, list) and path[1] < len(rules) and isinstance(rules[path[1]], Mapping):
            rid = rules[path[1]].get("id")
        name = str(rid) if isinstance(rid, str) and rid else f"#{path[1] + 1}"
        return name, format_field(path[2:])
    return None, format_field(path)


def _allowed_keys(schema: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    props = list((schema.get("properties") or {}).keys())
    patterns = list((schema.get("patternProperties") or {}).keys())
    return props, patterns


def _type_name(value: Any) -> str:
    return {dict: "mapping", list: "list", str: "text", bool: "true/false", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def _describe(err: ValidationError) -> list[tuple[list[Any], str, str | None]]:
    """Turn one schema error into ``(path, message, hint)`` items."""
    path = list(err.absolute_path)
    v = err.validator
    if v in ("oneOf", "anyOf") and err.context:
        from jsonschema.exceptions import best_match

        inner = best_match(err.context)
        # A test or where value with the wrong shape: say what is accepted.
        if path and path[-1] == "test":
            return [(path, f"invalid test {err.instance!r}",
                     "use intersects, within, outside, {within_distance: <metres or parameter>} "
                     "or {overlap_share: <0–1 or parameter>}")]
        return _describe(inner)
    if v == "additionalProperties":
        props, patterns = _allowed_keys(err.schema)
        out = []
        for key in err.instance:
            if key in props or any(re.search(p, str(key)) for p in patterns):
                continue
            near = difflib.get_close_matches(str(key), props, n=1)
            hint = f"did you mean {near[0]!r}?" if near else (
                f"allowed keys: {', '.join(props)}" if props else "key names are lower_snake_case")
            out.append((path + [key], f"unknown key {key!r}", hint))
        return out or [(path, err.message, None)]
    if v == "required":
        missing = err.validator_value
        have = err.instance if isinstance(err.instance, Mapping) else {}
        keys = [k for k in missing if k not in have]
        return [(path + [k], f"missing required key {k!r}", None) for k in keys] or [(path, err.message, None)]
    if v == "type":
        want = err.validator_value
        want = " or ".join(want) if isinstance(want, list) else want
        return [(path, f"wrong type: expected {want}, got {_type_name(err.instance)} {err.instance!r}", None)]
    if v == "enum":
        return [(path, f"{err.instance!r} is not allowed here",
                 "allowed: " + ", ".join(str(x) for x in err.validator_value))]
    if v == "pattern":
        hint = None
        if path and path[-1] == "id":
            hint = "rule IDs are upper-case words joined by hyphens, e.g. RL-142-MINING"
        elif path and path[-1] == "place":
            hint = "use inside, overlap[:share], near:<metres> or far"
        return [(path, f"{err.instance!r} has the wrong form", hint)]
    if v in ("minItems", "minLength", "minProperties"):
        return [(path, "must not be empty", None)]
    if v in ("exclusiveMinimum", "exclusiveMaximum", "minimum", "maximum"):
        return [(path, f"{err.instance!r} is out of range ({v} {err.validator_value})", None)]
    return [(path, err.message, None)]


def schema_errors(doc: Any, *, validator: Draft202012Validator | None = None) -> list[tuple[str | None, str, str, str | None]]:
    """All structural errors of a parsed rule file.

    Returns ``(rule_id, field, message, hint)`` tuples in document order.
    """
    validator = validator or rule_validator()
    items: list[tuple[list[Any], str, str | None]] = []
    for err in validator.iter_errors(doc):
        items.extend(_describe(err))
    items.sort(key=lambda t: [str(p) for p in t[0]])
    out = []
    seen = set()
    for path, msg, hint in items:
        rid, fld = locate(doc, path)
        key = (rid, fld, msg)
        if key in seen:
            continue
        seen.add(key)
        out.append((rid, fld, msg, hint))
    return out
