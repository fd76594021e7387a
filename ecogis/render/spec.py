"""Published-map specs: load a YAML map description, check it, name the key that is wrong.

A spec (``maps/<city>/<map>.yaml``) tells what a published map shows: its
title and subtitle in 中文 and English, the layers taken from a workspace by
kind and attribute filter, a style per class, labels, popup fields, legend
entries, the data date, attribution, an optional 审图号 line, the basemap and
the initial view.  The format is documented in ``maps/README.md``; its JSON
Schema is :data:`SCHEMA` (also written to ``maps/spec.schema.json`` for
editors, and kept equal to it by the tests).

YAML is read by :func:`ecogis.rules.yamlio.read_yaml` (the one safe loader: no Python
objects, alias / depth / size limits, so an alias bomb ends at once), duplicate
keys are refused, and every problem is a :class:`~ecogis.errors.SpecError`
whose ``where`` is the key path, e.g. ``key layers[1].style.fill``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import jsonschema

from ecogis.errors import SpecError
from ecogis.errors import key_path as _key_path
from ecogis.render.styles import ClassStyle

#: The spec format version this code reads.
SPEC_VERSION = 1

#: Paper sizes for prints (mm, portrait).
PAPERS: dict[str, tuple[float, float]] = {"A4": (210.0, 297.0), "A3": (297.0, 420.0), "A2": (420.0, 594.0),
                                          "A1": (594.0, 841.0), "A0": (841.0, 1189.0)}

#: Hatch patterns a layer's ``hatches`` may use (matplotlib's; repeat a character for a denser hatch).
HATCH_PATTERN = r"^[-/\\|+xXoO.*]{0,8}$"

BASEMAP_CHOICES = ("none", "osm", "tianditu", "tianditu_img", "amap", "amap_img")

_COLOUR = {"type": "string", "pattern": r"^#([0-9a-fA-F]{3}|[0-9a-fA-F]{6})$"}
_TEXT = {
    "oneOf": [
        {"type": "string", "minLength": 1},
        {"type": "object", "properties": {"zh": {"type": "string", "minLength": 1},
                                          "en": {"type": "string", "minLength": 1}},
         "additionalProperties": False, "minProperties": 1},
    ],
}
_STYLE = {
    "type": "object",
    "properties": {
        "fill": _COLOUR,
        "stroke": _COLOUR,
        "opacity": {"type": "number", "minimum": 0, "maximum": 1},
        "weight": {"type": "number", "minimum": 0, "maximum": 20},
        "dash": {"type": ["string", "null"], "pattern": r"^[0-9]+( [0-9]+)*$"},
        "label": _TEXT,
    },
    "additionalProperties": False,
}
_FIELD = {"type": "string", "minLength": 1, "maxLength": 64}  # a field name or one of its aliases (名称 …)
_SCALAR = {"type": ["string", "number", "boolean"]}

#: JSON Schema (draft 2020-12) of a map spec.
SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "ecogis published map spec",
    "type": "object",
    "required": ["title", "layers"],
    "additionalProperties": False,
    "properties": {
        "spec_version": {"const": SPEC_VERSION},
        "title": _TEXT,
        "subtitle": _TEXT,
        "data_date": {"type": "string", "minLength": 4},
        "attribution": _TEXT,
        "approval_no": {"oneOf": [{"type": "null"}, _TEXT]},
        "organization": {"oneOf": [{"type": "null"}, _TEXT]},
        "map_date": {"type": ["string", "null"], "minLength": 4},
        "attribution_prefix": {"type": ["string", "null"], "maxLength": 80},
        "basemap": {"enum": list(BASEMAP_CHOICES)},
        "lang": {"enum": ["zh", "en"]},
        "view": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "bounds": {"oneOf": [{"const": "auto"},
                                     {"type": "array", "items": {"type": "number"}, "minItems": 4,
                                      "maxItems": 4}]},
                "padding": {"type": "number", "minimum": 0, "maximum": 1},
            },
        },
        "simplify_m": {"oneOf": [{"const": "auto"}, {"type": "number", "minimum": 0, "maximum": 1000}]},
        "layers": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "required": ["kind"],
                "additionalProperties": False,
                "properties": {
                    "id": {"type": "string", "pattern": r"^[a-z][a-z0-9_]*$"},
                    "kind": {"type": "string"},
                    "title": _TEXT,
                    "filter": {"type": "object", "propertyNames": _FIELD,
                               "additionalProperties": {"oneOf": [_SCALAR, {"type": "array", "items": _SCALAR,
                                                                            "minItems": 1}]}},
                    "style": _STYLE,
                    "style_by": _FIELD,
                    "hatch_by": _FIELD,
                    "hatches": {"type": "object", "additionalProperties": {"type": "string",
                                                                           "pattern": HATCH_PATTERN}},
                    "classes": {"type": "object", "additionalProperties": _STYLE, "minProperties": 1},
                    "label": {"type": "object", "required": ["field"], "additionalProperties": False,
                              "properties": {"field": _FIELD,
                                             "min_zoom": {"type": "integer", "minimum": 0, "maximum": 20},
                                             "size": {"type": "number", "minimum": 4, "maximum": 40}}},
                    "tooltip": _FIELD,
                    "popup": {"type": "object", "additionalProperties": False,
                              "properties": {"title": _FIELD,
                                             "fields": {"type": "array",
                                                        "items": {"type": "object", "required": ["field"],
                                                                  "additionalProperties": False,
                                                                  "properties": {"field": _FIELD,
                                                                                 "label": _TEXT}}}}},
                    "legend": {"type": "boolean"},
                    "show": {"type": "boolean"},
                    "overview": {"type": "boolean"},
                },
            },
        },
        "legend": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "title": _TEXT,
                "entries": {"oneOf": [{"const": "auto"},
                                      {"type": "array", "minItems": 1,
                                       "items": {"type": "object", "required": ["label", "fill"],
                                                 "additionalProperties": False,
                                                 "properties": {"label": _TEXT, "fill": _COLOUR,
                                                                "stroke": _COLOUR}}}]},
            },
        },
        "print": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "paper": {"enum": list(PAPERS)},
                "orientation": {"enum": ["auto", "portrait", "landscape"]},
                "dpi": {"type": "integer", "minimum": 50, "maximum": 1200},
                "grid": {"type": "boolean"},
                "north_arrow": {"type": "boolean"},
                "scale_bar": {"type": "boolean"},
                "numeric_scale": {"type": "boolean"},
                "legend": {"type": "boolean"},
            },
        },
    },
}


# --------------------------------------------------------------------------- model
def text(value: Mapping[str, str] | str | None, lang: str = "zh") -> str | None:
    """The ``lang`` version of a spec text, falling back to the other language."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    other = "en" if lang == "zh" else "zh"
    return value.get(lang) or value.get(other)


@dataclass(frozen=True)
class PopupField:
    field: str
    label: Mapping[str, str] | str | None = None


@dataclass
class LayerSpec:
    """One layer of a published map (see ``maps/README.md``)."""

    id: str
    kind: str
    where: str
    title: Mapping[str, str] | str | None = None
    filter: dict[str, list[Any]] = field(default_factory=dict)
    style: dict[str, Any] = field(default_factory=dict)
    style_by: str | None = None
    classes: dict[str, dict[str, Any]] = field(default_factory=dict)
    label_field: str | None = None
    label_min_zoom: int = 0
    label_size: float = 10.0
    tooltip: str | None = None
    popup_title: str | None = None
    popup_fields: list[PopupField] = field(default_factory=list)
    legend: bool = True
    show: bool = True
    overview: bool = False
    kind_title: str | None = None
    hatch_by: str | None = None
    hatches: dict[str, str] = field(default_factory=dict)

    def name(self, lang: str) -> str:
        """The layer-control and legend name (without a title: the kind's Chinese name, e.g. 行政区划)."""
        return text(self.title, lang) or (self.kind_title if lang == "zh" and self.kind_title else self.kind)

    def class_style(self, value: str) -> ClassStyle:
        """The :class:`ClassStyle` of class ``value`` (``style_by``), over the layer's base style."""
        return to_class_style({**self.style, **self.classes[value]}, value)

    def base_style(self) -> ClassStyle:
        return to_class_style(self.style, "")


def to_class_style(style: Mapping[str, Any], default_label: str) -> ClassStyle:
    """A spec style mapping (``fill, stroke, opacity, weight, dash, label``) as a :class:`ClassStyle`."""
    label = style.get("label")
    fill = style.get("fill", "#9e9e9e")
    return ClassStyle(
        fill=fill,
        stroke=style.get("stroke", fill),
        label=text(label, "zh") or default_label,
        label_en=text(label, "en") or default_label,
        fill_opacity=float(style.get("opacity", 0.45)),
        weight=float(style.get("weight", 1.5)),
        dash=style.get("dash") or None,
    )


@dataclass
class MapSpec:
    """A checked map spec."""

    path: Path | None
    title: Mapping[str, str] | str
    layers: list[LayerSpec]
    subtitle: Mapping[str, str] | str | None = None
    data_date: str | None = None
    attribution: Mapping[str, str] | str | None = None
    approval_no: Mapping[str, str] | str | None = None
    basemap: str = "none"
    lang: str = "zh"
    bounds: tuple[float, float, float, float] | None = None
    padding: float = 0.04
    simplify_m: float | None = None  # None: auto
    legend_title: Mapping[str, str] | str | None = None
    legend_entries: list[dict[str, Any]] | None = None  # None: auto
    paper: str = "A4"
    orientation: str = "auto"
    dpi: int = 200
    organization: Mapping[str, str] | str | None = None
    map_date: str | None = None  # None: the day the map is made
    attribution_prefix: str | None = "Leaflet"
    print_grid: bool = True
    print_north_arrow: bool = True
    print_scale_bar: bool = True
    print_numeric_scale: bool = True
    print_legend: bool = True
    warnings: list[tuple[str, str]] = field(default_factory=list)  # (key path, message)
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The spec's file stem (``zoning``), or ``map``."""
        return self.path.stem if self.path else "map"


# --------------------------------------------------------------------------- loading


def key_path(parts: Sequence[Any]) -> str:
    """``["layers", 1, "style", "fill"]`` → ``layers[1].style.fill``."""
    return _key_path(parts) or "(top level)"


def _schema_error(err: jsonschema.ValidationError) -> tuple[str, str]:
    """``(key path, message)`` of a JSON Schema error; unknown keys are named in the path."""
    parts = list(err.absolute_path)
    if err.validator == "additionalProperties" and isinstance(err.instance, dict):
        known = set(err.schema.get("properties", {}))
        extra = [k for k in err.instance if k not in known]
        if extra:
            where = key_path(parts + [extra[0]])
            allowed = ", ".join(sorted(known)) or "none"
            return where, f"unknown key {extra[0]!r} (allowed here: {allowed})"
    if err.validator == "required":
        return key_path(parts), err.message
    if err.validator == "oneOf" and err.context:
        # Report the alternative that went deepest (e.g. a wrong key inside a {zh, en} text).
        deep = max(err.context, key=lambda e: len(e.absolute_path))
        if len(deep.absolute_path) > len(parts) or deep.validator == "additionalProperties":
            return _schema_error(deep)
        return key_path(parts), f"{err.instance!r} is not valid here"
    return key_path(parts), err.message


def _fail(message: str, parts: Sequence[Any], path: Path | None, hint: str | None = None) -> SpecError:
    return SpecError(message, path=path, where=f"key {key_path(parts)}", hint=hint)


def load_spec(path: str | os.PathLike) -> MapSpec:
    """Read and check a spec file.

    Raises
    ------
    SpecError
        Not YAML, duplicate keys, a key that is unknown or has a wrong
        value, or a layer kind / field the layer schemas do not have; the
        error names the file and the key path.
    """
    from ecogis.rules.yamlio import read_yaml

    p = Path(path)
    doc, _, _ = read_yaml(p, error=SpecError, what="map spec", invalid="not valid YAML", plain=False)
    return parse_spec(doc, path=p)


def parse_spec(doc: Any, *, path: str | os.PathLike | None = None) -> MapSpec:
    """Check a spec already read into Python (a mapping) and return it as a :class:`MapSpec`."""
    p = Path(path) if path is not None else None
    if not isinstance(doc, dict):
        raise SpecError("a map spec must be a YAML mapping", path=p, where="key (top level)")
    validator = jsonschema.Draft202012Validator(SCHEMA)
    errors = sorted(validator.iter_errors(doc), key=lambda e: (list(map(str, e.absolute_path)), e.validator))
    if errors:
        best = jsonschema.exceptions.best_match(errors, key=lambda e: (len(e.absolute_path),
                                                                        e.validator != "additionalProperties"))
        best = max(errors, key=lambda e: len(e.absolute_path)) if best is None else best
        where, message = _schema_error(best)
        raise SpecError(message, path=p, where=f"key {where}",
                        hint="see maps/README.md for the spec format" if len(errors) == 1
                        else f"{len(errors)} problems; this is the first; see maps/README.md")
    return _build(doc, p)


def _build(doc: dict[str, Any], p: Path | None) -> MapSpec:
    from ecogis.normalise.schema import schemas

    kinds = schemas()
    layers: list[LayerSpec] = []
    warnings: list[tuple[str, str]] = []
    seen: set[str] = set()
    for i, ld in enumerate(doc["layers"]):
        base = ["layers", i]
        if "id" in ld:
            if ld["id"] in seen:
                raise _fail(f"layer id {ld['id']!r} is used twice", base + ["id"], p)
            lid = ld["id"]
        else:  # default: the kind, numbered if it repeats
            lid, n = ld["kind"], 2
            while lid in seen:
                lid, n = f"{ld['kind']}_{n}", n + 1
        seen.add(lid)
        kind = ld["kind"]
        if kind not in kinds:
            raise _fail(f"unknown layer kind {kind!r}", base + ["kind"], p, hint="kinds: " + ", ".join(sorted(kinds)))
        fields = kinds[kind].fields
        allowed = set(fields) | {"fid"}
        alias = {a.casefold(): f for f, fs in fields.items() for a in (fs.aliases or ())}

        def need(name: str, parts: list[Any]) -> str:
            if name in allowed:
                return name
            if name.casefold() in alias:  # a Chinese or upper-case name the layer schema knows
                return alias[name.casefold()]
            raise _fail(f"layer kind {kind!r} has no field {name!r}", parts, p,
                        hint="fields: " + ", ".join(sorted(allowed)) + " (or their aliases, e.g. 名称)")

        flt: dict[str, list[Any]] = {}
        for attr, values in (ld.get("filter") or {}).items():
            attr = need(attr, base + ["filter", attr])
            vals = values if isinstance(values, list) else [values]
            fs = fields.get(attr)
            if fs is not None and fs.values:
                for j, v in enumerate(vals):
                    if str(v) not in fs.values:
                        raise _fail(f"{v!r} is not a value of {kind}.{attr}",
                                    base + ["filter", attr] + ([j] if isinstance(values, list) else []), p,
                                    hint="values: " + ", ".join(fs.values))
            flt[attr] = vals
        style_by = ld.get("style_by")
        if style_by:
            style_by = need(style_by, base + ["style_by"])
        hatch_by = ld.get("hatch_by")
        if hatch_by:
            hatch_by = need(hatch_by, base + ["hatch_by"])
        hatches = {str(k): str(v) for k, v in (ld.get("hatches") or {}).items()}
        if hatches and not hatch_by:
            raise _fail("'hatches' needs 'hatch_by' (the field the hatches are values of)", base + ["hatches"], p)
        if hatch_by and hatch_by in fields and fields[hatch_by].values:
            for h in hatches:
                if h not in fields[hatch_by].values:
                    raise _fail(f"{h!r} is not a value of {kind}.{hatch_by}", base + ["hatches", h], p,
                                hint="values: " + ", ".join(fields[hatch_by].values))
        classes = ld.get("classes") or {}
        if classes and not style_by:
            raise _fail("'classes' needs 'style_by' (the field the classes are values of)", base + ["classes"], p)
        if style_by and style_by in fields and fields[style_by].values:
            for cls in classes:
                if cls not in fields[style_by].values:
                    raise _fail(f"{cls!r} is not a value of {kind}.{style_by}", base + ["classes", cls], p,
                                hint="values: " + ", ".join(fields[style_by].values))
        label = dict(ld.get("label") or {})
        if label:
            label["field"] = need(label["field"], base + ["label", "field"])
        tooltip = need(ld["tooltip"], base + ["tooltip"]) if ld.get("tooltip") else None
        popup = ld.get("popup") or {}
        popup_title = need(popup["title"], base + ["popup", "title"]) if popup.get("title") else None
        pfields = []
        for j, pf in enumerate(popup.get("fields") or []):
            pfields.append(PopupField(need(pf["field"], base + ["popup", "fields", j, "field"]), pf.get("label")))
        if not ld.get("title"):
            warnings.append((key_path(base + ["title"]),
                             f"layer {lid!r} has no title: the legend and layer control show "
                             f"{kinds[kind].title_zh if hasattr(kinds[kind], 'title_zh') else kind!r}"))
        layers.append(LayerSpec(
            id=lid, kind=kind, where=key_path(base), title=ld.get("title"), filter=flt,
            style=dict(ld.get("style") or {}), style_by=style_by, classes={str(k): dict(v) for k, v in classes.items()},
            label_field=label.get("field"), label_min_zoom=int(label.get("min_zoom", 0)),
            label_size=float(label.get("size", 10)), tooltip=tooltip, popup_title=popup_title,
            popup_fields=pfields, legend=bool(ld.get("legend", True)), show=bool(ld.get("show", True)),
            overview=bool(ld.get("overview", kind == "admin")), hatch_by=hatch_by, hatches=hatches,
            kind_title=getattr(kinds[kind], "title_zh", None) or kind,
        ))

    view = doc.get("view") or {}
    bounds = None
    if isinstance(view.get("bounds"), list):
        x0, y0, x1, y1 = (float(v) for v in view["bounds"])
        if not (all(map(math.isfinite, (x0, y0, x1, y1))) and -180 <= x0 < x1 <= 180 and -90 <= y0 < y1 <= 90):
            raise _fail("bounds must be [lon_min, lat_min, lon_max, lat_max] in CGCS2000 degrees",
                        ["view", "bounds"], p)
        bounds = (x0, y0, x1, y1)
    simplify = doc.get("simplify_m", "auto")
    lg = doc.get("legend") or {}
    entries = lg.get("entries", "auto")
    pr = doc.get("print") or {}
    return MapSpec(
        path=p, title=doc["title"], layers=layers, subtitle=doc.get("subtitle"), data_date=doc.get("data_date"),
        attribution=doc.get("attribution"), approval_no=doc.get("approval_no"),
        basemap=doc.get("basemap", "none"), lang=doc.get("lang", "zh"), bounds=bounds,
        padding=float(view.get("padding", 0.04)), simplify_m=None if simplify == "auto" else float(simplify),
        legend_title=lg.get("title"), legend_entries=None if entries == "auto" else list(entries),
        paper=pr.get("paper", "A4"), orientation=pr.get("orientation", "auto"), dpi=int(pr.get("dpi", 200)),
        organization=doc.get("organization"), map_date=doc.get("map_date"),
        attribution_prefix=doc.get("attribution_prefix", "Leaflet"),
        print_grid=bool(pr.get("grid", True)), print_north_arrow=bool(pr.get("north_arrow", True)),
        print_scale_bar=bool(pr.get("scale_bar", True)), print_numeric_scale=bool(pr.get("numeric_scale", True)),
        print_legend=bool(pr.get("legend", True)), warnings=warnings,
        raw=doc,
    )


# --------------------------------------------------------------------------- data
def read_layers(spec: MapSpec, workspace: Any, notes: Any = None) -> list[tuple[LayerSpec, Any]]:
    """Each layer's features from ``workspace`` (a path, URI or open workspace), filtered; EPSG:4490.

    Raises
    ------
    SpecError
        The workspace has no layer of a spec layer's kind, or lacks a field the spec filters or
        styles by.  Fields only shown (popup, label, tooltip) that it lacks are added blank.
    """
    import numpy as np

    from ecogis.workspace import open_workspace

    ws = open_workspace(workspace) if isinstance(workspace, (str, os.PathLike)) else workspace
    out = []
    for layer in spec.layers:
        if not ws.has(layer.kind):
            raise SpecError(f"the workspace has no {layer.kind!r} layer", path=spec.path,
                            where=f"key {layer.where}.kind",
                            hint="workspace layers: " + ", ".join(ws.kinds()))
        gdf = ws.read(layer.kind)
        needed = [*layer.filter, layer.style_by]
        missing = sorted({c for c in needed if c and c not in gdf.columns})
        if missing:
            raise SpecError(f"the workspace's {layer.kind!r} layer has no column(s) {', '.join(missing)}",
                            path=spec.path, where=f"key {layer.where}")
        shown = [layer.label_field, layer.tooltip, layer.popup_title, *(f.field for f in layer.popup_fields)]
        blank = sorted({c for c in shown if c and c not in gdf.columns})
        if blank:  # optional fields the workspace does not hold: shown as blank (left out of popups)
            gdf = gdf.assign(**{c: None for c in blank})
        if layer.filter:
            keep = np.ones(len(gdf), dtype=bool)
            for attr, values in layer.filter.items():
                keep &= gdf[attr].astype(str).isin([str(v) for v in values]).to_numpy()
            gdf = gdf[keep]
        if layer.style_by and layer.classes and len(gdf):
            vals = gdf[layer.style_by]
            vals = vals[vals.notna()].astype(str)
            extra = sorted(set(vals.unique()) - set(layer.classes))
            if extra:
                n = int(vals.isin(extra).sum())
                msg = (f"{spec.path.name if spec.path else 'spec'} key {layer.where}.classes: {n} features have "
                       f"{layer.style_by} values not in the spec ({', '.join(extra)}); they are drawn grey as 其他 — "
                       "add them to classes")
                if notes is not None:
                    notes.add("spec", msg)
        out.append((layer, gdf))
    if notes is not None:
        for where, msg in spec.warnings:
            notes.add("spec", f"{spec.path.name if spec.path else 'spec'} key {where}: {msg}")
    return out
