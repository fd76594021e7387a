"""Layer kinds and their schemas (``layers/schema/*.yaml``).

A schema says a kind's geometry type, its required and optional attributes
and their allowed values.  :func:`apply_schema` maps the field names found in
real data (名称, MC, NAME, 功能分区, GNFQ …) onto the canonical ones, normalises
values through their aliases, and refuses what does not fit, naming the
feature IDs.  Every mapping is reported as a :class:`~ecogis.notes.Note`.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
import shapely

from ecogis.errors import SchemaError
from ecogis.notes import Notes
from ecogis.settings import settings


GEOMETRY_FAMILIES = {
    "polygon": {"Polygon", "MultiPolygon"},
    "line": {"LineString", "MultiLineString", "LinearRing"},
    "point": {"Point", "MultiPoint"},
}
FIELD_TYPES = {"string", "integer", "number", "boolean", "date"}
_TRUE = {"1", "true", "t", "yes", "y", "是", "√", "有"}
_FALSE = {"0", "false", "f", "no", "n", "否", "×", "无", ""}


@dataclass(frozen=True)
class FieldSpec:
    """One attribute of a kind."""

    name: str
    type: str = "string"
    required: bool = False
    values: tuple[str, ...] = ()
    value_aliases: dict[str, str] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    pattern: str | None = None


@dataclass(frozen=True)
class KindSchema:
    """The schema of one layer kind."""

    kind: str
    title_zh: str
    title_en: str
    geometry: str
    fields: dict[str, FieldSpec]

    def title(self, lang: str = "zh") -> str:
        return self.title_zh if lang == "zh" else self.title_en


def _key(text: str) -> str:
    """Normalise a field name for matching: case, spaces, _ and - ignored."""
    return re.sub(r"[\s_\-]+", "", str(text)).casefold()


@functools.lru_cache(maxsize=4)
def _load(schema_dir: str) -> dict[str, KindSchema]:
    folder = Path(schema_dir)
    if not folder.is_dir():
        raise SchemaError("layer schema folder not found", path=folder)
    common_path = folder / "_common.yaml"
    from ecogis.rules.yamlio import read_yaml

    common = read_yaml(common_path, error=SchemaError, what="layer schema", invalid="invalid YAML")[0] \
        if common_path.exists() else {}
    common_fields = (common or {}).get("fields", {})
    out: dict[str, KindSchema] = {}
    for path in sorted(folder.glob("*.yaml")):
        if path.name.startswith("_"):
            continue
        doc = read_yaml(path, error=SchemaError, what="layer schema", invalid="invalid YAML")[0]
        out[doc["kind"]] = _parse_kind(doc, common_fields, path)
    return out


def _parse_kind(doc: dict[str, Any], common: dict[str, Any], path: Path) -> KindSchema:
    for key in ("kind", "geometry", "fields"):
        if key not in doc:
            raise SchemaError(f"missing key {key!r}", path=path)
    if doc["geometry"] not in (*GEOMETRY_FAMILIES, "any"):
        raise SchemaError(f"unknown geometry {doc['geometry']!r}", path=path, where="key geometry")
    fields: dict[str, FieldSpec] = {}
    for fname, spec in doc["fields"].items():
        spec = dict(spec or {})
        ftype = spec.get("type", "string")
        if ftype not in FIELD_TYPES:
            raise SchemaError(f"unknown field type {ftype!r}", path=path, where=f"key fields.{fname}.type")
        aliases = list(spec.get("aliases", [])) + list((common.get(fname) or {}).get("aliases", []))
        fields[fname] = FieldSpec(
            name=fname,
            type=ftype,
            required=bool(spec.get("required", False)),
            values=tuple(str(v) for v in spec.get("values", [])),
            value_aliases={str(k): str(v) for k, v in (spec.get("value_aliases") or {}).items()},
            aliases=tuple(str(a) for a in aliases),
            pattern=spec.get("pattern"),
        )
    return KindSchema(
        kind=doc["kind"],
        title_zh=doc.get("title_zh", doc["kind"]),
        title_en=doc.get("title_en", doc["kind"]),
        geometry=doc["geometry"],
        fields=fields,
    )


def schemas() -> dict[str, KindSchema]:
    """Every kind's schema, keyed by kind."""
    return _load(str(settings.schema_dir))


def kinds() -> list[str]:
    """The known layer kinds."""
    return sorted(schemas())


def get_schema(kind: str) -> KindSchema:
    """The schema of ``kind``; an unknown kind raises :class:`SchemaError` with suggestions."""
    all_ = schemas()
    if kind not in all_:
        close = difflib.get_close_matches(str(kind), list(all_), n=3, cutoff=0.5)
        hint = f"did you mean {', '.join(close)}?" if close else f"known kinds: {', '.join(sorted(all_))}"
        raise SchemaError(f"unknown layer kind {kind!r}", hint=hint)
    return all_[kind]


def map_fields(columns: list[str], schema: KindSchema) -> dict[str, str]:
    """Map source column names to canonical field names (``{source: canonical}``).

    A column already named canonically wins; otherwise the first column whose
    name matches an alias is taken.  Columns that match nothing are kept as
    they are.
    """
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    keys = {c: _key(c) for c in columns if c != "geometry"}
    for fname in schema.fields:
        # the column named exactly so wins; else the first whose name matches but for case, spaces, _ and -
        # (``name`` and ``NAME`` both present: ``NAME`` stays as it is, never a second ``name`` column)
        hit = fname if fname in keys else next((c for c, k in keys.items() if k == _key(fname)), None)
        if hit is not None:
            mapping[hit] = fname
            taken.add(fname)
    for fname, spec in schema.fields.items():
        if fname in taken:
            continue
        alias_keys = [_key(a) for a in spec.aliases]
        for ak in alias_keys:  # alias order is priority order
            hit = next((c for c, k in keys.items() if k == ak and c not in mapping), None)
            if hit is not None:
                mapping[hit] = fname
                taken.add(fname)
                break
    return mapping


def unique_field_names(gdf, notes: Notes | None, *, reserved: Sequence[str] = (),
                       what: str = "fields whose names differ only in case renamed"):
    """Rename fields whose names differ only in case (``name`` / ``NAME`` → ``NAME_2``): GeoPackage and
    Shapefile field names are case-insensitive, so they could not be written side by side.  A field named
    like one of ``reserved`` (any case: names a file format keeps for itself) or like the geometry column
    becomes ``<name>_attr``; the geometry column keeps its name.  Each rename is noted, under ``what``."""
    geom = getattr(gdf, "_geometry_column_name", None)
    seen: set[str] = set()
    # a field named like the geometry (any case) is renamed as at reading: ``GEOMETRY`` → ``GEOMETRY_attr``
    taken = {str(r).casefold() for r in reserved} | ({str(geom).casefold()} if geom in gdf.columns else set())
    renames: dict[str, str] = {}
    for col in gdf.columns:
        if col == geom:  # the geometry keeps its name; a field that matches it but for case is renamed
            continue
        low = str(col).casefold()
        if low in taken:
            new = f"{col}_attr"
            while new.casefold() in seen | taken or new in gdf.columns:
                new += "_"
        elif low not in seen:
            seen.add(low)
            continue
        else:
            n = 2
            while f"{col}_{n}".casefold() in seen:
                n += 1
            new = f"{col}_{n}"
        renames[col] = new
        seen.add(new.casefold())
    if not renames:
        return gdf
    if notes is not None:
        notes.add("alias", f"{what}: " + ", ".join(f"{a} → {b}" for a, b in renames.items()))
    return gdf.rename(columns=renames)


def _ids(frame: pd.DataFrame, mask: np.ndarray) -> list[Any]:
    ids = frame["fid"] if "fid" in frame.columns else pd.Series(frame.index, index=frame.index)
    return list(ids[mask])


def _fmt_ids(ids: list[Any], limit: int = 10) -> str:
    shown = ", ".join(str(i) for i in ids[:limit])
    return shown + (f" … (+{len(ids) - limit} more)" if len(ids) > limit else "")


def apply_schema(gdf, kind: str, *, path: Any = None, notes: Notes | None = None):
    """Return a copy of ``gdf`` with canonical field names and checked values.

    Raises :class:`SchemaError` naming the field and the feature IDs when a
    required field is missing or empty, a value is not allowed, or the
    geometry type does not fit the kind.
    """
    notes = notes if notes is not None else Notes()
    schema = get_schema(kind)
    out = gdf.copy()
    mapping = map_fields(list(out.columns), schema)
    renames = {src: dst for src, dst in mapping.items() if src != dst}
    # A canonical name that already exists as an unmapped column would clash.
    for src, dst in list(renames.items()):
        if dst in out.columns and dst not in mapping:
            out = out.rename(columns={dst: f"{dst}_orig"})
            notes.add("alias", f"field {dst!r} renamed to {dst}_orig to make room for {src!r}")
    if renames:
        out = out.rename(columns=renames)
        notes.add("alias", "fields mapped: " + ", ".join(f"{s} → {d}" for s, d in renames.items()))
    out = unique_field_names(out, notes)
    _check_geometry_type(out, schema, path)
    for fname, spec in schema.fields.items():
        if fname not in out.columns:
            if spec.required:
                present = ", ".join(c for c in gdf.columns if c != "geometry") or "none"
                raise SchemaError(
                    f"required field {fname!r} of kind {kind!r} is missing",
                    path=path,
                    where=f"field {fname}",
                    hint=f"fields present: {present}; known aliases: {', '.join(spec.aliases[:8]) or 'none'}",
                )
            continue
        out[fname] = _coerce(out, spec, kind, path, notes)
    return out


def _check_geometry_type(frame, schema: KindSchema, path: Any) -> None:
    if schema.geometry == "any":
        return
    types = shapely.get_type_id(frame.geometry.values)
    allowed_names = GEOMETRY_FAMILIES[schema.geometry]
    allowed_ids = {
        "Point": 0, "LineString": 1, "LinearRing": 2, "Polygon": 3,
        "MultiPoint": 4, "MultiLineString": 5, "MultiPolygon": 6,
    }
    ok = np.isin(types, [allowed_ids[n] for n in allowed_names]) | (types < 0)
    if not ok.all():
        bad = _ids(frame, ~ok)
        found = sorted(set(shapely.get_type_id(frame.geometry.values[~ok]).tolist()))
        names = {v: k for k, v in allowed_ids.items()} | {7: "GeometryCollection"}
        raise SchemaError(
            f"kind {schema.kind!r} needs {schema.geometry} geometries, found "
            f"{', '.join(names.get(t, str(t)) for t in found)}",
            path=path,
            where=f"features {_fmt_ids(bad)}",
        )


def _coerce(frame: pd.DataFrame, spec: FieldSpec, kind: str, path: Any, notes: Notes) -> pd.Series:
    col = frame[spec.name]
    missing = col.isna().to_numpy()
    if spec.type == "boolean":
        return _coerce_bool(frame, spec, path)
    if spec.type == "date":
        parsed = pd.to_datetime(col, errors="coerce")
        bad = parsed.isna().to_numpy() & ~missing
        if bad.any():
            raise SchemaError(
                f"field {spec.name!r} has values that are not dates: "
                f"{', '.join(map(str, col[bad].unique()[:5]))}",
                path=path,
                where=f"features {_fmt_ids(_ids(frame, bad))}",
            )
        return parsed.dt.strftime("%Y-%m-%d").where(~parsed.isna(), None)
    if spec.type in {"integer", "number"}:
        parsed = pd.to_numeric(col, errors="coerce")
        bad = parsed.isna().to_numpy() & ~missing
        if bad.any():
            raise SchemaError(
                f"field {spec.name!r} has non-numeric values", path=path, where=f"features {_fmt_ids(_ids(frame, bad))}"
            )
        return parsed
    # strings
    text = _clean_column(col, missing)
    empty = text.isna().to_numpy() | (text == "").to_numpy()
    if spec.required and empty.any():
        raise SchemaError(
            f"required field {spec.name!r} is empty", path=path, where=f"features {_fmt_ids(_ids(frame, empty))}"
        )
    if spec.value_aliases:
        hit = text.map(spec.value_aliases)  # a dict lookup per value, vectorised
        known = hit.notna().to_numpy() & ~empty
        mapped = text.copy()
        mapped[known] = hit[known]
        changed = (mapped != text).to_numpy() & ~empty
        if changed.any():
            pairs = sorted({f"{a} → {b}" for a, b in zip(text[changed], mapped[changed])})
            notes.add("value", f"field {spec.name!r} values normalised: {'; '.join(pairs[:10])}", _ids(frame, changed))
        text = mapped
    if spec.values:
        bad = ~text.isin(spec.values).to_numpy() & ~empty
        if bad.any():
            found = ", ".join(sorted({str(v) for v in text[bad]})[:5])
            raise SchemaError(
                f"field {spec.name!r} has values not allowed for kind {kind!r}: {found}",
                path=path,
                where=f"features {_fmt_ids(_ids(frame, bad))}",
                hint=f"allowed: {' / '.join(spec.values)}",
            )
    if spec.pattern:
        if spec.name == "industry":
            text = text.str.upper().astype(object).where(text.notna(), None)
        matched = text.str.match(spec.pattern).astype(object)
        bad = ~(matched.where(text.notna() & (text != ""), True)).to_numpy().astype(bool)
        if bad.any():
            found = ", ".join(sorted({str(v) for v in text[bad]})[:5])
            raise SchemaError(
                f"field {spec.name!r} has malformed values: {found}",
                path=path,
                where=f"features {_fmt_ids(_ids(frame, bad))}",
                hint=f"expected pattern {spec.pattern}",
            )
    return text


def _clean_column(col: pd.Series, missing: np.ndarray) -> pd.Series:
    """Text of a column as :func:`_clean_text` gives it, per value; ``None`` where missing.

    Text columns are stripped with one vectorised call; other columns
    (numbers, mixed types) are converted once per distinct value.
    """
    if pd.api.types.is_string_dtype(col.dtype) and col.dtype != object:
        text = col.str.strip().astype(object)
    else:
        obj = col.astype("object")
        codes, uniq = pd.factorize(obj, use_na_sentinel=True)
        conv = np.array([_clean_text(v) for v in uniq], dtype=object)
        text = pd.Series(np.where(codes >= 0, conv[np.where(codes >= 0, codes, 0)] if len(conv) else None, None),
                         index=col.index, dtype=object)
    return text.where(~missing, None)


def _clean_text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _coerce_bool(frame: pd.DataFrame, spec: FieldSpec, path: Any) -> pd.Series:
    col = frame[spec.name]

    def conv(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return False
        if isinstance(v, (bool, np.bool_)):
            return bool(v)
        s = str(v).strip().casefold()
        if s in _TRUE:
            return True
        if s in _FALSE:
            return False
        return None

    out = col.map(conv)
    bad = out.isna().to_numpy()
    if bad.any():
        raise SchemaError(
            f"field {spec.name!r} has values that are not yes/no: {', '.join(map(str, col[bad].unique()[:5]))}",
            path=path,
            where=f"features {_fmt_ids(_ids(frame, bad))}",
        )
    return out.astype(bool)
