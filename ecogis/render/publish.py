"""Published maps: render a map spec (``maps/<city>/<map>.yaml``) from a workspace to one offline HTML page.

The page is made by the same code as the screening report's review map
(:mod:`ecogis.render.webmap`): Leaflet and its plugins inlined, no request
unless a basemap is chosen, every data text escaped, layers shifted to
GCJ-02 (and the map saying so) on an Amap basemap.  What this module adds is
the spec: which layers, filters, styles, labels, popups and legend, the
title and subtitle, the data date, attribution and 审图号 line, and a
simplification tolerance fitted to the view.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import shapely

from ecogis.errors import EmptyLayerError, SpecError
from ecogis.fileutil import write_text_atomic
from ecogis.normalise.datum import shift_geometries
from ecogis.render import webmap
from ecogis.render.spec import LayerSpec, MapSpec, load_spec, read_layers, text
from ecogis.settings import settings

#: The published maps of each sample city (spec file stems under ``maps/<city>/``).
SAMPLE_MAPS = ("zoning", "redline", "protected_areas")

#: Auto simplification: the tolerance is the view's larger side / this, clamped to [min, max] metres.
AUTO_SIMPLIFY_DIVISOR = 8000.0
AUTO_SIMPLIFY_RANGE = (2.0, 25.0)

#: The shipped map specs at import time; :func:`sample_specs` reads ``settings.maps_dir`` when called.
MAPS_DIR = settings.maps_dir

_LABEL_CSS = """
.ecogis-label { background: transparent; border: none; box-shadow: none; padding: 0; color: #222;
    font-weight: 600; text-shadow: 0 0 2px #fff, 0 0 2px #fff, 0 0 3px #fff; white-space: nowrap; }
.ecogis-label::before { display: none; }
.ecogis-credit { font-size: 11px; }
.leaflet-container path.leaflet-interactive:focus { outline: none; }
@media (max-width: 600px) { .ecogis-credit { font-size: 9px; } }
"""

# Permanent labels (text set as DOM text, never as HTML), shown from ``minZoom`` on.
_LABELS_JS = """
function (group, arg) {
    var labels = L.layerGroup();
    arg.items.forEach(function (it) {
        var span = document.createElement('span');
        span.textContent = it[2];
        span.style.fontSize = arg.size + 'px';
        labels.addLayer(L.tooltip({permanent: true, direction: 'center', className: 'ecogis-label',
                                   interactive: false}).setLatLng([it[1], it[0]]).setContent(span));
    });
    function update() {
        var map = group._map;
        if (!map) { return; }
        if (map.getZoom() >= arg.minZoom) { group.addLayer(labels); } else { group.removeLayer(labels); }
    }
    var hooked = null;
    group.on('add', function () {
        if (hooked !== group._map) { hooked = group._map; hooked.on('zoomend', update); }
        update();
    });
    if (group._map) { hooked = group._map; hooked.on('zoomend', update); update(); }
}
"""

# Data date, attribution and 审图号 in the attribution control (text arrives escaped).
_CREDIT_JS = """
function (map, html) {
    var ctl = map.attributionControl;
    if (!ctl) { ctl = L.control.attribution({prefix: false}).addTo(map); }
    ctl.addAttribution('<span class="ecogis-credit">' + html + '</span>');
}
"""


class _Css(webmap._HeaderStyle):
    def __init__(self, css: str) -> None:
        super().__init__()
        self._name = "EcogisPublishStyle"
        self.css = css


def view_bounds(spec: MapSpec, frames: Sequence[gpd.GeoDataFrame]) -> tuple[float, float, float, float]:
    """The initial view: the spec's bounds, or every layer's extent padded by ``spec.padding``."""
    if spec.bounds is not None:
        return spec.bounds
    boxes = [f.total_bounds for f in frames if len(f)]
    boxes = [b for b in boxes if np.isfinite(b).all()]
    if not boxes:
        raise EmptyLayerError("no features to map", path=spec.path, where="key layers",
                              hint="check the layers' kinds and filters against the workspace")
    arr = np.array(boxes)
    x0, y0, x1, y1 = arr[:, 0].min(), arr[:, 1].min(), arr[:, 2].max(), arr[:, 3].max()
    dx, dy = (x1 - x0) * spec.padding, (y1 - y0) * spec.padding
    return float(x0 - dx), float(y0 - dy), float(x1 + dx), float(y1 + dy)


def auto_simplify_m(bounds: Sequence[float]) -> float:
    """A simplification tolerance (m) for a view: its larger side / :data:`AUTO_SIMPLIFY_DIVISOR`, clamped.

    At the full-extent zoom a screen pixel is about side / 1000 m, so the
    tolerance stays well under a pixel there and under two pixels four zoom
    levels in; the 25 m ceiling keeps county maps sharp at street zoom.
    """
    x0, y0, x1, y1 = bounds
    lat = math.radians(0.5 * (y0 + y1))
    side = max((x1 - x0) * webmap.M_PER_DEG * math.cos(lat), (y1 - y0) * webmap.M_PER_DEG)
    lo, hi = AUTO_SIMPLIFY_RANGE
    return float(min(max(side / AUTO_SIMPLIFY_DIVISOR, lo), hi))


#: Shown in place of the 审图号 when a spec has none (``approval_no: null``): an unapproved map never looks finished.
UNAPPROVED = {"zh": "审图号：未经审核（不得公开使用）", "en": "Map approval no.: NOT REVIEWED (not for publication)"}


def _prefixed(value: str, prefixes: Sequence[str], prefix: str) -> str:
    """``value`` with ``prefix`` in front, unless it already starts with one of ``prefixes``."""
    v = value.strip()
    return v if any(v.startswith(p) for p in prefixes) else prefix + v


def map_date(spec: MapSpec) -> str:
    """The 制图日期: the spec's ``map_date``, or today (YYYY-MM-DD)."""
    import datetime as _dt

    return spec.map_date or _dt.date.today().isoformat()


def credit_lines(spec: MapSpec, lang: str, *, approval: bool = True) -> list[str]:
    """The data-date, attribution, 制图单位 / 制图日期 and 审图号 lines (plain text), in that order.

    A line whose text already starts with its label (``数据来源：…``) is not labelled twice.  With
    no ``approval_no`` the last line is :data:`UNAPPROVED`.
    """
    zh = lang == "zh"
    out = []
    if spec.data_date:
        out.append(("数据日期：" if zh else "Data date: ") + spec.data_date)
    att = text(spec.attribution, lang)
    if att:
        out.append(_prefixed(att, ("数据来源", "Sources", "Source"), "数据来源：" if zh else "Sources: "))
    org = text(spec.organization, lang)
    made = ("制图日期：" if zh else "Map date: ") + map_date(spec)
    out.append(_prefixed(org, ("制图单位", "制图：", "Map by", "Cartography"), "制图单位：" if zh else "Map by: ")
               if org else ("制图单位：（未填写）" if zh else "Map by: (not set)"))
    out.append(made)
    if approval:
        ap = text(spec.approval_no, lang)
        out.append(_prefixed(ap, ("审图号", "GS", "Map approval"), "审图号：" if zh else "Map approval no.: ")
                   if ap else UNAPPROVED[lang])
    return out


def _popup_fields(layer: LayerSpec, lang: str) -> list[tuple[str, str]]:
    return [(f.field, text(f.label, lang) or f.field) for f in layer.popup_fields]


def _add_labels(m: webmap.EcogisMap, fg: Any, layer: LayerSpec, gdf: gpd.GeoDataFrame) -> None:
    values = gdf[layer.label_field]
    keep = values.notna().to_numpy() & (values.astype(str).str.strip() != "").to_numpy()
    if not keep.any():
        return
    pts = shapely.point_on_surface(np.asarray(gdf.geometry.values[keep], dtype=object))
    if m.ecogis_gcj02:
        pts = shift_geometries(pts, "wgs84:gcj02")
    xy = np.round(shapely.get_coordinates(pts), 5)
    items = [[float(x), float(y), str(t)] for (x, y), t in zip(xy, values[keep].astype(str))]
    webmap._Script(_LABELS_JS, "EcogisLabels",
                   {"items": items, "minZoom": layer.label_min_zoom, "size": layer.label_size}).add_to(fg)


def build_map(spec: MapSpec, workspace: Any, *, lang: str | None = None, basemap: str | None = None,
              tianditu_key: str | None = None) -> webmap.EcogisMap:
    """The Folium map of ``spec`` with data from ``workspace`` (path, URI or open workspace).

    ``lang`` and ``basemap`` override the spec's.  The returned map has
    ``ecogis_counts``: layer id → number of features drawn.
    """
    from ecogis.notes import Notes

    lang = lang or spec.lang
    basemap = basemap or spec.basemap
    notes = Notes()
    data = read_layers(spec, workspace, notes)
    frames = [webmap._lonlat_frame(g, layer.name(lang)) for layer, g in data]
    bounds = view_bounds(spec, frames)
    simplify = spec.simplify_m if spec.simplify_m is not None else auto_simplify_m(bounds)
    m = webmap.base_map(bounds, lang=lang, basemap=basemap, tianditu_key=tianditu_key,
                        title=text(spec.title, lang))
    webmap.set_attribution_prefix(m, spec.attribution_prefix)
    m.ecogis_notes = notes
    _Css(_LABEL_CSS).add_to(m)
    sub = text(spec.subtitle, lang)
    if sub:
        webmap.add_note(m, sub)
    entries: list[tuple[str, str, str]] = []
    overview: list[Any] = []
    counts: dict[str, int] = {}
    for (layer, _), frame in zip(data, frames):
        name = layer.name(lang)
        common = dict(name=name, popup_fields=_popup_fields(layer, lang), tooltip=layer.tooltip,
                      popup_title=layer.popup_title, simplify_m=simplify, precision=5, show=layer.show)
        if layer.style_by:
            palette = {k: layer.class_style(k) for k in layer.classes}
            fg = webmap.add_layer(m, frame, style_by=layer.style_by, palette=palette, **common)
        else:
            style = layer.base_style()
            fg = webmap.add_layer(m, frame, style=style, **common)
            fg.legend_entries = [(style.text(lang) if (style.label or style.label_en) else name,
                                  style.fill, style.stroke)]
        fg.ecogis_layer_id = layer.id
        counts[layer.id] = int(len(frame))
        if layer.legend:
            entries += fg.legend_entries
        if layer.label_field and len(frame):
            _add_labels(m, fg, layer, frame)
        if layer.overview:
            overview += list(frame.geometry.values)
    if spec.legend_entries is not None:
        entries = [(text(e["label"], lang), e["fill"], e.get("stroke", e["fill"])) for e in spec.legend_entries]
    webmap.legend(m, entries, text(spec.legend_title, lang) or webmap._TEXT[lang]["legend"])
    if overview:
        webmap._set_minimap_geoms(m, overview, 200.0)
    credits = credit_lines(spec, lang)
    if credits:
        webmap._Script(_CREDIT_JS, "EcogisCredit", " · ".join(webmap.esc(c) for c in credits)).add_to(m)
    m.ecogis_counts = counts
    return m


def render_html(spec: MapSpec | str | os.PathLike, workspace: Any, *, lang: str | None = None,
                basemap: str | None = None, tianditu_key: str | None = None) -> str:
    """The self-contained HTML page of a spec (a :class:`MapSpec` or a spec file)."""
    if not isinstance(spec, MapSpec):
        spec = load_spec(spec)
    return webmap.to_html(build_map(spec, workspace, lang=lang, basemap=basemap, tianditu_key=tianditu_key))


def publish(spec: MapSpec | str | os.PathLike, workspace: Any, out: str | os.PathLike, *,
            lang: str | None = None, basemap: str | None = None, tianditu_key: str | None = None) -> Path:
    """Write the spec's map to ``out`` (one HTML file, atomically) and return the path."""
    return write_text_atomic(out, render_html(spec, workspace, lang=lang, basemap=basemap,
                                              tianditu_key=tianditu_key))


def sample_specs(maps_dir: str | os.PathLike | None = None) -> dict[str, dict[str, Path]]:
    """``{city: {map: spec path}}`` of the shipped specs (``maps/<city>/<map>.yaml``)."""
    root = Path(maps_dir) if maps_dir is not None else Path(settings.maps_dir)
    if not root.is_dir():
        raise SpecError("the map specs folder is missing", path=root)
    out: dict[str, dict[str, Path]] = {}
    for city in sorted(p for p in root.iterdir() if p.is_dir()):
        specs = {name: city / f"{name}.yaml" for name in SAMPLE_MAPS if (city / f"{name}.yaml").is_file()}
        if specs:
            out[city.name] = specs
    return out


def demo(out_dir: str | os.PathLike, sample_dir: str | os.PathLike) -> list[Path]:
    """Write every sample city's published maps, as HTML and PDF, to ``out_dir/maps/<city>/``.

    Cities are those with both specs under ``maps/`` and a workspace
    ``sample_dir/<city>.gpkg``.  Returns the files written.
    """
    from ecogis.render.printmap import print_map

    out_root = Path(out_dir) / "maps"
    written: list[Path] = []
    for city, specs in sample_specs().items():
        ws = Path(sample_dir) / f"{city}.gpkg"
        if not ws.is_file():
            continue
        for name, path in specs.items():
            spec = load_spec(path)
            written.append(publish(spec, ws, out_root / city / f"{name}.html"))
            written.append(print_map(spec, ws, out_root / city / f"{name}.pdf"))
    return written
