"""Self-contained Folium web maps: the base map, vector layers, legends, the review map.

Every map opens with no network: Leaflet and its plugins are inlined by
:func:`to_html` (see :mod:`ecogis.render.assets`), and the only requests a
page can make are for basemap tiles, and only when a basemap is chosen.

Coordinates are CGCS2000 (EPSG:4490) lon/lat throughout; WGS84 and CGCS2000
agree to centimetres, so they are drawn as they are on Tianditu and
OpenStreetMap tiles.  Amap (高德) tiles are in GCJ-02: with ``basemap="amap"``
every layer drawn by :func:`add_layer` is shifted WGS84 → GCJ-02 (several
hundred metres), the map says so in a visible note, the coordinate read-out
converts the pointer position back to CGCS2000, and the locate-me dot is
shifted to GCJ-02 like the data.

No text from data is ever template source: the element templates are
constants, rendered once (:mod:`ecogis.render.foliumsafe` removes branca's
second pass, which evaluated ``{{ … }}`` in feature names as Jinja).
Every text that comes from data (names, codes, rule text) is HTML-escaped in
Python before it reaches the page; layer names too, as Leaflet's layer
control inserts them as HTML.  Data are embedded as JSON in which ``<`` and
``>`` are written as ``\\u003c`` / ``\\u003e``, so no data can close a
``<script>`` block.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.elements import ElementAddToElement
from folium.template import Template
from pyproj import CRS

from ecogis.errors import CRSError, EmptyLayerError, InputError, SpecError
from ecogis.fileutil import write_text_atomic
from ecogis.normalise.datum import shift_geometries, wgs84_to_gcj02
from ecogis.render import assets, foliumsafe, styles
from ecogis.render.styles import ClassStyle

# branca renders every element's output a second time as Jinja source; never with ecogis (see foliumsafe).
foliumsafe.install()

LANGS = ("zh", "en")

#: Metres per degree of latitude (mean); simplification tolerances are converted with it.
M_PER_DEG = 111_320.0

_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "coords_title": "CGCS2000 经纬度",
        "lon": "经度", "lat": "纬度",
        "fullscreen": "全屏", "fullscreen_exit": "退出全屏",
        "locate": "显示我的位置", "minimap_hide": "隐藏鹰眼图", "minimap_show": "显示鹰眼图",
        "gcj_note": "底图为高德地图（GCJ-02 坐标）：图中所有矢量图层已由 CGCS2000 偏移至 GCJ-02 以与底图对齐，"
                    "偏移量约数百米；坐标读数已换算回 CGCS2000。量测与定位请以 CGCS2000 原始数据为准。",
        "osm_note": "底图为 OpenStreetMap，仅供内部参考，不得用于公开发布的地图。",
        "legend": "图例",
        "review_title": "建设项目生态环境分区管控审查图",
        "site": "项目用地", "findings": "冲突区域", "no_findings": "未发现与所选图层的冲突。",
        "rule": "规则", "severity": "严重程度", "site_id": "项目编号", "site_name": "项目名称",
        "layer_kind": "图层", "feature": "冲突要素", "zone": "分区/类别", "overlap_area": "重叠面积",
        "overlap_pct": "占项目用地", "overlap_length": "穿越长度", "distance": "最近距离", "basis": "依据",
        "message": "说明", "next_steps": "下一步", "ha": "公顷", "mu": "亩", "m": "米",
        "name": "名称", "code": "编码", "class": "类别", "type": "类型", "level": "级别", "grade": "级别",
        "function": "主导功能", "industry": "行业", "nature": "建设性质", "area_ha": "面积（公顷）",
        "verdict": "结论",
        "basemap_vec": "矢量底图", "basemap_img": "影像底图", "basemap_none": "无底图",
    },
    "en": {
        "coords_title": "CGCS2000 lon/lat",
        "lon": "Lon", "lat": "Lat",
        "fullscreen": "Full screen", "fullscreen_exit": "Exit full screen",
        "locate": "Show my location", "minimap_hide": "Hide overview", "minimap_show": "Show overview",
        "gcj_note": "Basemap: Amap (GCJ-02 coordinates). Every vector layer has been shifted from CGCS2000 to "
                    "GCJ-02 (a few hundred metres) to line up with it; the coordinate read-out is converted "
                    "back to CGCS2000. Measure and locate against the original CGCS2000 data.",
        "osm_note": "Basemap: OpenStreetMap, for internal reference only; not for maps published in China.",
        "legend": "Legend",
        "review_title": "Project site screening map",
        "site": "Project site", "findings": "Conflicts", "no_findings": "No conflict with the layers checked.",
        "rule": "Rule", "severity": "Severity", "site_id": "Site ID", "site_name": "Site name",
        "layer_kind": "Layer", "feature": "Feature", "zone": "Zone / class", "overlap_area": "Overlap",
        "overlap_pct": "Share of site", "overlap_length": "Length crossed", "distance": "Distance",
        "basis": "Basis", "message": "Message", "next_steps": "Next steps", "ha": "ha", "mu": "mu", "m": "m",
        "name": "Name", "code": "Code", "class": "Class", "type": "Type", "level": "Level", "grade": "Grade",
        "function": "Function", "industry": "Industry", "nature": "Nature", "area_ha": "Area (ha)",
        "verdict": "Verdict",
        "basemap_vec": "Vector basemap", "basemap_img": "Imagery basemap", "basemap_none": "No basemap",
    },
}


# --------------------------------------------------------------------------- basemaps
@dataclass(frozen=True)
class Tiles:
    """One tile source: URL template (``{s} {x} {y} {z}``, ``{tk}`` for the Tianditu key)."""

    url: str
    attribution: str
    subdomains: str = "abc"
    max_zoom: int = 18


@dataclass(frozen=True)
class Basemap:
    """A basemap choice: its base layers (each a stack of tile sources) and its datum."""

    key: str
    label: str
    label_en: str
    #: Base layers in the layer control, the first shown: ``(text key, tile stack)``.
    layers: tuple[tuple[str, tuple[Tiles, ...]], ...] = ()
    gcj02: bool = False
    needs_key: bool = False
    note: str | None = None


_TDT = "https://t{s}.tianditu.gov.cn/DataServer?T=%s&x={x}&y={y}&l={z}&tk={tk}"
_TDT_ATTR = '&copy; <a href="https://www.tianditu.gov.cn/">天地图</a> 国家地理信息公共服务平台'
_AMAP_ATTR = '&copy; <a href="https://www.amap.com/">高德地图</a> (GCJ-02)'
_OSM_ATTR = '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors'


def _tdt(layer: str) -> Tiles:
    return Tiles(_TDT % layer, _TDT_ATTR, "01234567", 18)


_AMAP_VEC = Tiles("https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1&style=8&x={x}&y={y}&z={z}",
                  _AMAP_ATTR, "1234", 18)
_AMAP_IMG = Tiles("https://webst0{s}.is.autonavi.com/appmaptile?style=6&x={x}&y={y}&z={z}", _AMAP_ATTR, "1234", 18)
_AMAP_LABELS = Tiles("https://webst0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}", _AMAP_ATTR, "1234",
                     18)

#: The basemap choices.  ``tianditu`` and ``amap`` offer vector and imagery base layers
#: (``*_img`` opens on the imagery).  Tianditu and OSM align with CGCS2000; Amap is GCJ-02.
BASEMAPS: dict[str, Basemap] = {
    "none": Basemap("none", "无底图", "No basemap"),
    "osm": Basemap("osm", "OpenStreetMap", "OpenStreetMap",
                   (("basemap_vec", (Tiles("https://tile.openstreetmap.org/{z}/{x}/{y}.png", _OSM_ATTR, "", 19),)),),
                   note="osm_note"),
    "tianditu": Basemap("tianditu", "天地图", "Tianditu",
                        (("basemap_vec", (_tdt("vec_w"), _tdt("cva_w"))),
                         ("basemap_img", (_tdt("img_w"), _tdt("cia_w")))), needs_key=True),
    "tianditu_img": Basemap("tianditu_img", "天地图影像", "Tianditu imagery",
                            (("basemap_img", (_tdt("img_w"), _tdt("cia_w"))),
                             ("basemap_vec", (_tdt("vec_w"), _tdt("cva_w")))), needs_key=True),
    "amap": Basemap("amap", "高德地图", "Amap",
                    (("basemap_vec", (_AMAP_VEC,)), ("basemap_img", (_AMAP_IMG, _AMAP_LABELS))),
                    gcj02=True, note="gcj_note"),
    "amap_img": Basemap("amap_img", "高德影像", "Amap imagery",
                        (("basemap_img", (_AMAP_IMG, _AMAP_LABELS)), ("basemap_vec", (_AMAP_VEC,))),
                        gcj02=True, note="gcj_note"),
}


def _basemap(basemap: str) -> Basemap:
    spec = BASEMAPS.get(str(basemap).strip().lower())
    if spec is None:
        raise SpecError(f"unknown basemap {basemap!r}", where="basemap", hint="choose one of: " + ", ".join(BASEMAPS))
    return spec


def needs_gcj02(basemap: str) -> bool:
    """``True`` if ``basemap``'s tiles are in GCJ-02, so data must be shifted to line up with them."""
    return _basemap(basemap).gcj02


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise SpecError(f"unknown language {lang!r}", where="lang", hint="use 'zh' or 'en'")
    return lang


# --------------------------------------------------------------------------- helpers
def _js(value: Any) -> str:
    """JSON for embedding in a ``<script>`` block: ``<``, ``>`` and line separators escaped."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def esc(value: Any) -> str:
    """HTML-escape any value as text (quotes included); line breaks become ``<br>``."""
    return html.escape(str(value), quote=True).replace("\r\n", "\n").replace("\n", "<br>")


def _blank(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    try:
        if pd.isna(value) is True:
            return True
    except (TypeError, ValueError):
        pass
    return isinstance(value, str) and not value.strip()


def _fmt(value: Any, decimals: int | None = None) -> str:
    """Plain text of a value: numbers without trailing zeros (or to ``decimals``), thousands grouped."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        if decimals is not None:
            return f"{float(value):,.{decimals}f}"
        text = f"{float(value):,.4f}".rstrip("0").rstrip(".")
        return text if text not in ("-0", "") else "0"
    return str(value)


def _rows_html(rows: Iterable[tuple[str, Any]]) -> str:
    """``<tr><th>label</th><td>value</td></tr>`` for the non-blank values, everything escaped."""
    return "".join(f"<tr><th>{esc(label)}</th><td>{esc(value)}</td></tr>"
                   for label, value in rows if not _blank(value))


def _popup(title: str | None, rows: Iterable[tuple[str, Any]], *, badge: tuple[str, str] | None = None) -> str:
    head = ""
    if badge:
        head += f'<span class="ecogis-badge" style="background:{badge[1]}">{esc(badge[0])}</span> '
    if title:
        head += f"<b>{esc(title)}</b>"
    body = _rows_html(rows)
    return (f'<div class="ecogis-popup">{head}' + (f"<table>{body}</table>" if body else "") + "</div>")


def _lonlat_frame(gdf: gpd.GeoDataFrame, what: str) -> gpd.GeoDataFrame:
    """``gdf`` in EPSG:4490 without null or empty geometries."""
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise InputError(f"{what}: expected a GeoDataFrame, got {type(gdf).__name__}", where=what)
    if gdf.crs is None:
        raise CRSError(f"{what} has no CRS", where=what, hint="set it (EPSG:4490 for CGCS2000 lon/lat)")
    frame = gdf
    crs = CRS.from_user_input(gdf.crs)
    if not (crs.is_geographic and crs.ellipsoid is not None
            and abs(crs.ellipsoid.semi_major_metre - 6378137.0) < 1e-3):
        frame = gdf.to_crs(4490)
    geoms = frame.geometry.values
    keep = ~(shapely.is_missing(np.asarray(geoms)) | shapely.is_empty(np.asarray(geoms)))
    if not keep.all():
        frame = frame[keep]
    return frame


def _simplify(geoms: np.ndarray, simplify_m: float | None) -> np.ndarray:
    """Topology-preserving simplification to ``simplify_m`` metres (converted with :data:`M_PER_DEG`).

    A layer of polygons that forms a valid coverage (no overlaps, e.g. control
    units) is simplified as a coverage, so neighbours keep their shared edges;
    anything else geometry by geometry with ``preserve_topology=True``.  The
    tolerance in degrees is ``simplify_m / 111320``; east-west that is a
    little less than ``simplify_m`` metres, so the result errs on the side of
    detail.
    """
    if not simplify_m or simplify_m <= 0 or len(geoms) == 0:
        return geoms
    tol = float(simplify_m) / M_PER_DEG
    types = shapely.get_type_id(geoms)
    if len(geoms) > 1 and np.isin(types, (3, 6)).all():
        try:
            if bool(shapely.coverage_is_valid(geoms)):
                out = shapely.coverage_simplify(geoms, tol)
                if not shapely.is_empty(out).any():
                    return out
        except shapely.errors.GEOSException:
            pass
    return shapely.simplify(geoms, tol, preserve_topology=True)


def _round(geoms: np.ndarray, precision: int) -> np.ndarray:
    """Coordinates rounded to ``precision`` decimals (5 ≈ 1 m); Z dropped."""
    return shapely.transform(geoms, lambda xy: np.round(xy, precision))


def _feature_collection(geoms: np.ndarray, style_idx: Sequence[int], popups: Sequence[str | None],
                        tooltips: Sequence[str | None]) -> str:
    """A GeoJSON FeatureCollection string with only the properties the page needs.

    ``s`` is the index of the feature's style, ``p`` its popup HTML and ``t``
    its tooltip HTML, both already escaped.
    """
    gj = shapely.to_geojson(geoms)
    parts = []
    for g, s, p, t in zip(gj, style_idx, popups, tooltips):
        props: dict[str, Any] = {"s": int(s)}
        if p:
            props["p"] = p
        if t:
            props["t"] = t
        parts.append(f'{{"type":"Feature","properties":{_js(props)},"geometry":{g}}}')
    return '{"type":"FeatureCollection","features":[' + ",".join(parts) + "]}"


# --------------------------------------------------------------------------- page elements
_CSS = """
.leaflet-container { background: #f2f1ec; font: 13px/1.4 "Helvetica Neue", Arial, "PingFang SC",
    "Microsoft YaHei", "Noto Sans CJK SC", sans-serif; }
.ecogis-popup table { border-collapse: collapse; margin-top: 4px; }
.ecogis-popup th { text-align: left; font-weight: 600; padding: 2px 8px 2px 0; vertical-align: top;
    white-space: nowrap; color: #444; }
.ecogis-popup td { padding: 2px 0; vertical-align: top; overflow-wrap: anywhere; }
.ecogis-popup { max-width: calc(100vw - 80px); }
.ecogis-badge { display: inline-block; padding: 0 6px; border-radius: 3px; color: #fff; font-weight: 600;
    text-shadow: 0 0 2px rgba(0,0,0,.6); }
.ecogis-box { background: rgba(255,255,255,.92); padding: 6px 8px; border-radius: 4px;
    box-shadow: 0 1px 4px rgba(0,0,0,.3); }
.ecogis-legend { max-height: 40vh; overflow-y: auto; }
.leaflet-control-layers-expanded { max-height: 45vh; overflow-y: auto; }
.ecogis-legend h4 { margin: 0 0 4px; font-size: 13px; }
.ecogis-legend div { display: flex; align-items: center; margin: 2px 0; }
.ecogis-legend i { display: inline-block; width: 18px; height: 12px; margin-right: 6px; border: 2px solid;
    box-sizing: border-box; flex: none; }
.ecogis-coords { font: 12px/1.3 monospace; white-space: pre; }
.ecogis-banner { position: absolute; top: 10px; left: 50%; transform: translateX(-50%); z-index: 800;
    max-width: min(60%, 640px); text-align: center; pointer-events: auto; }
.ecogis-banner h3 { margin: 0; font-size: 15px; }
.ecogis-banner p { margin: 3px 0 0; font-size: 12px; }
.ecogis-banner p.ecogis-warn { color: #8a3b00; font-weight: 600; }
.leaflet-control-minimap .leaflet-container { background: #f2f1ec; }
@media (max-width: 600px) {
    .ecogis-banner { max-width: 60%; }
    .ecogis-legend { max-height: 30vh; font-size: 11px; }
    .leaflet-control-minimap { display: none; }
    .leaflet-control-attribution { max-width: 55%; }  /* leaves the scale bar (bottom left) uncovered */
    .ecogis-dms { display: none; }
}
"""


class _HeaderStyle(MacroElement):
    """ecogis's own CSS, in the page head."""

    _template = Template("""
        {% macro header(this, kwargs) %}
        <style>{{ this.css }}</style>
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()
        self._name = "EcogisStyle"
        self.css = _CSS


class _Script(MacroElement):
    """JS run once the map exists: ``code`` as it is, or ``(code)(map, arg)`` when ``arg`` is given.

    ``code`` is ecogis's own; data only ever arrive through ``arg``, as JSON.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        {%- if this.arg is none %}
        {{ this.code }}
        {%- else %}
        ({{ this.code }})({{ this._parent.get_name() }}, {{ this.arg }});
        {%- endif %}
        {% endmacro %}
    """)

    def __init__(self, code: str, name: str = "EcogisScript", arg: Any = None) -> None:
        super().__init__()
        self._name = name
        self.code = code.strip()
        self.arg = None if arg is None else _js(arg)


class _AssetControl(MacroElement):
    """A control whose plugin files are declared (as CDN URLs) for :func:`assets.inline_assets`."""

    asset_names: tuple[str, ...] = ()

    def render(self, **kwargs):  # noqa: D401 - folium hook
        figure = self.get_root()
        if isinstance(figure, Figure):
            for name in self.asset_names:
                asset = assets.ASSETS[name]
                link = (folium.elements.JavascriptLink(asset.cdn_url) if asset.kind == "js"
                        else folium.elements.CssLink(asset.cdn_url))
                figure.header.add_child(link, name=f"ecogis_{name}")
        super().render(**kwargs)


class _Control(_AssetControl):
    """``{ctor}({options}).addTo(map)``, after ``pre`` (ecogis's own JS; ``{map}`` is the map)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        {{ this.pre.replace('{map}', this._parent.get_name()) }}
        var {{ this.get_name() }} = {{ this.ctor }}({{ this.options_js }}).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, name: str, ctor: str, options: Mapping[str, Any], asset_names: Sequence[str] = (),
                 pre: str = "") -> None:
        super().__init__()
        self._name = name
        self.ctor = ctor
        self.options_js = _js(dict(options))
        self.asset_names = tuple(asset_names)
        self.pre = pre


# leaflet-measure with Leaflet >= 1.8 pans the map on every click unless the capture
# marker's autoPanOnFocus is off (ljagis/leaflet-measure#171; folium applies the same fix).
_MEASURE_FIX = """
L.Control.Measure.include({
    _setCaptureMarkerIcon: function () {
        this._captureMarker.options.autoPanOnFocus = false;
        this._captureMarker.setIcon(L.divIcon({iconSize: this._map.getSize().multiplyBy(2)}));
    }
});
"""

# The GCJ-02 offset (the public formula, as in ecogis.normalise.datum), for the coordinate
# read-out (GCJ-02 -> CGCS2000, fixed-point inverse) and the locate-me dot (WGS84 -> GCJ-02).
_DATUM_JS = """
var ecogisDatum = (function () {
    var A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
    function inside(lon, lat) { return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271; }
    function raw(lon, lat) {
        var x = lon - 105.0, y = lat - 35.0, r = Math.sqrt(Math.abs(x));
        var c = (20 * Math.sin(6 * PI * x) + 20 * Math.sin(2 * PI * x)) * 2 / 3;
        var dlat = -100 + 2 * x + 3 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * r + c
            + (20 * Math.sin(PI * y) + 40 * Math.sin(PI * y / 3)) * 2 / 3
            + (160 * Math.sin(PI * y / 12) + 320 * Math.sin(PI * y / 30)) * 2 / 3;
        var dlon = 300 + x + 2 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * r + c
            + (20 * Math.sin(PI * x) + 40 * Math.sin(PI * x / 3)) * 2 / 3
            + (150 * Math.sin(PI * x / 12) + 300 * Math.sin(PI * x / 30)) * 2 / 3;
        var phi = lat * PI / 180, m = 1 - EE * Math.sin(phi) * Math.sin(phi), sm = Math.sqrt(m);
        return [lon + dlon / (A / sm * Math.cos(phi) * PI / 180), lat + dlat / ((A * (1 - EE)) / (m * sm) * PI / 180)];
    }
    function toGcj(lon, lat) { return inside(lon, lat) ? raw(lon, lat) : [lon, lat]; }
    function fromGcj(lon, lat) {
        if (!inside(lon, lat)) { return [lon, lat]; }
        var w = [lon, lat];
        for (var i = 0; i < 30; i++) {
            var g = raw(w[0], w[1]), dx = g[0] - lon, dy = g[1] - lat;
            w = [w[0] - dx, w[1] - dy];
            if (Math.abs(dx) < 1e-9 && Math.abs(dy) < 1e-9) { break; }
        }
        return w;
    }
    return {toGcj: toGcj, fromGcj: fromGcj};
})();
"""

# The device position (WGS84) shifted to GCJ-02 before Leaflet (and the locate control) sees it.
_LOCATE_GCJ_JS = """
(function (map) {
    var handle = map._handleGeolocationResponse;
    map._handleGeolocationResponse = function (pos) {
        var c = pos.coords, coords = {};
        for (var k in c) { if (typeof c[k] === 'number') { coords[k] = c[k]; } }
        var g = ecogisDatum.toGcj(c.longitude, c.latitude);
        coords.longitude = g[0]; coords.latitude = g[1];
        return handle.call(this, {coords: coords, timestamp: pos.timestamp});
    };
})({map});
"""

_COORDS_JS = """
function (map, arg) {
    var gcj = arg.gcj, labels = arg.labels;
    function dms(v) {
        var a = Math.abs(v), d = Math.floor(a), mf = (a - d) * 60, m = Math.floor(mf), s = (mf - m) * 60;
        if (s >= 59.95) { s = 0; m += 1; } if (m >= 60) { m = 0; d += 1; }
        return d + '\\u00b0' + (m < 10 ? '0' : '') + m + '\\u2032' + (s < 9.95 ? '0' : '') + s.toFixed(1) + '\\u2033';
    }
    var box;
    var ctl = L.control({position: 'bottomleft'});
    ctl.onAdd = function () {
        box = L.DomUtil.create('div', 'ecogis-box ecogis-coords');
        L.DomEvent.disableClickPropagation(box);
        return box;
    };
    ctl.addTo(map);
    function line(text, extra) {  // DOM nodes, never HTML: the labels are text
        var div = document.createElement('div');
        div.textContent = text;
        if (extra) {
            var span = document.createElement('span');
            span.className = 'ecogis-dms';  // hidden on phones, where the box must stay narrow
            span.textContent = extra;
            div.appendChild(span);
        }
        return div;
    }
    function show(ll) {
        var lon = L.Util.wrapNum(ll.lng, [-180, 180], true), lat = ll.lat;
        if (gcj) { var w = ecogisDatum.fromGcj(lon, lat); lon = w[0]; lat = w[1]; }
        box.replaceChildren(
            line(labels.title),
            line(labels.lon + ' ' + lon.toFixed(6) + '\\u00b0', ' ' + dms(lon) + (lon < 0 ? 'W' : 'E')),
            line(labels.lat + ' ' + lat.toFixed(6) + '\\u00b0', ' ' + dms(lat) + (lat < 0 ? 'S' : 'N')));
    }
    map.on('mousemove click', function (e) { show(e.latlng); });
    map.on('moveend', function () { show(map.getCenter()); });
    map.whenReady(function () { show(map.getCenter()); });
}
"""

_LEGEND_JS = """
function (map, html) {
    var ctl = L.control({position: 'bottomleft'});
    ctl.onAdd = function () {
        var div = L.DomUtil.create('div', 'ecogis-box ecogis-legend');
        div.innerHTML = html;
        L.DomEvent.disableClickPropagation(div);
        L.DomEvent.disableScrollPropagation(div);
        return div;
    };
    ctl.addTo(map);
}
"""


class _Banner(MacroElement):
    """A box at the top centre of the map: the title and notes (kept inside the map for full screen)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map, html) {
            if (!html) { return; }
            var div = L.DomUtil.create('div', 'ecogis-box ecogis-banner', map.getContainer());
            div.innerHTML = html;
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
        })({{ this._parent.get_name() }}, {{ this.html_js() }});
        {% endmacro %}
    """)

    def __init__(self) -> None:
        super().__init__()
        self._name = "EcogisBanner"
        self.title: str | None = None
        self.notes: list[tuple[str, bool]] = []

    def html_js(self) -> str:
        parts = []
        if self.title:
            parts.append(f"<h3>{esc(self.title)}</h3>")
        parts += [f'<p class="ecogis-warn">{esc(t)}</p>' if warn else f"<p>{esc(t)}</p>" for t, warn in self.notes]
        return _js("".join(parts))


class _FitBounds(MacroElement):
    """Fit the map to ``bounds`` now and again once the page has loaded.

    A map inside an ``<iframe>`` (the screening report) is created before its
    frame is laid out, so the first fit picks a zoom for the wrong size.
    """

    _template = Template("""
        {% macro script(this, kwargs) %}
        (function (map, bounds, options) {
            map.fitBounds(bounds, options);
            window.addEventListener('load', function () {
                setTimeout(function () { map.invalidateSize(); map.fitBounds(bounds, options); }, 0);
            });
        })({{ this._parent.get_name() }}, {{ this.bounds_js }}, {{ this.options_js }});
        {% endmacro %}
    """)

    def __init__(self, bounds: list[list[float]], max_zoom: int) -> None:
        super().__init__()
        self._name = "EcogisFitBounds"
        self.bounds_js = _js(bounds)
        self.options_js = _js({"maxZoom": max_zoom})


class _BaseLayer(folium.map.Layer):
    """A base layer made of stacked tile layers (e.g. Tianditu vec_w + cva_w)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.layerGroup([
        {%- for t in this.tiles %}
            L.tileLayer({{ t[0] }}, {{ t[1] }}){{ "," if not loop.last }}
        {%- endfor %}
        ]);
        {% endmacro %}
    """)

    def __init__(self, name: str, tiles: Sequence[Tiles], key: str | None, show: bool) -> None:
        super().__init__(name=esc(name), overlay=False, control=True, show=show)
        self._name = "BaseLayer"
        self.tiles = [(_js(_tile_url(t, key)), _js(_tile_options(t))) for t in tiles]


def _tile_url(t: Tiles, key: str | None) -> str:
    return t.url.replace("{tk}", key or "")


def _tile_options(t: Tiles) -> dict[str, Any]:
    opts: dict[str, Any] = {"attribution": t.attribution, "maxZoom": 20, "maxNativeZoom": t.max_zoom}
    if t.subdomains:
        opts["subdomains"] = t.subdomains
    return opts


class _VectorData(MacroElement):
    """GeoJSON features with per-feature style index, popup and tooltip, added to a FeatureGroup."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJSON({{ this.data }}, {
            style: (function (styles) { return function (f) { return styles[f.properties.s]; }; })({{ this.styles }}),
            pointToLayer: function (f, ll) { return L.circleMarker(ll); },
            onEachFeature: function (f, layer) {
                if (f.properties.p) { layer.bindPopup(f.properties.p, {maxWidth: Math.min(420, window.innerWidth - 60), autoPanPaddingTopLeft: L.point(12, 96)}); }
                if (f.properties.t) { layer.bindTooltip(f.properties.t, {sticky: true}); }
            }
        }).addTo({{ this._parent.get_name() }});
        {% endmacro %}
    """)

    def __init__(self, data: str, styles_js: str, bounds: tuple[float, float, float, float] | None) -> None:
        super().__init__()
        self._name = "EcogisGeoJson"
        self.data = data
        self.styles = styles_js
        self._bounds = bounds

    def _get_self_bounds(self):
        if self._bounds is None:
            return [[None, None], [None, None]]
        x0, y0, x1, y1 = self._bounds
        return [[y0, x0], [y1, x1]]


class _LayerControlMobile(MacroElement):
    """On phones and narrow windows, start with the layer control folded (a tap on its icon opens it)."""

    _template = Template("""
        {% macro script(this, kwargs) %}
        if (L.Browser.mobile || (window.matchMedia && window.matchMedia('(max-width: 600px)').matches)) {
            {{ this.lc.get_name() }}.collapse();
            {{ this._parent.get_name() }}.on('click', function () { {{ this.lc.get_name() }}.collapse(); });
        }
        {% endmacro %}
    """)

    def __init__(self, lc: folium.LayerControl) -> None:
        super().__init__()
        self._name = "EcogisLayerControlMobile"
        self.lc = lc


class EcogisMap(folium.Map):
    """A :class:`folium.Map` that knows its basemap, datum and language.

    Made by :func:`base_map`.  Rendering moves the layer control behind every
    layer (folium needs it last) wherever layers were added.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.ecogis_lang = "zh"
        self.ecogis_basemap = "none"
        self.ecogis_gcj02 = False
        self.ecogis_layer_control: folium.LayerControl | None = None
        self.ecogis_banner: _Banner | None = None
        self.ecogis_minimap: _Control | None = None
        self.ecogis_after_layer_control: list[MacroElement] = []

    def move_controls_last(self) -> None:
        """Put the layer control (and what goes with it) behind every layer."""
        for el in [self.ecogis_layer_control, *self.ecogis_after_layer_control]:
            for key, child in list(self._children.items()):
                if child is el:
                    self._children.move_to_end(key)

    def render(self, **kwargs: Any) -> None:
        self.move_controls_last()
        super().render(**kwargs)


def _text(m: folium.Map, key: str) -> str:
    return _TEXT[getattr(m, "ecogis_lang", "zh")][key]


def _check_bounds(bounds: Sequence[float]) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in bounds)
    except (TypeError, ValueError) as exc:
        raise InputError(f"bounds must be (lon_min, lat_min, lon_max, lat_max), got {bounds!r}",
                         where="bounds") from exc
    if not all(map(math.isfinite, (x0, y0, x1, y1))) or x0 > x1 or y0 > y1 \
            or not (-180 <= x0 <= 180 and -180 <= x1 <= 180 and -90 <= y0 <= 90 and -90 <= y1 <= 90):
        raise InputError(f"bounds are not lon/lat degrees (lon_min, lat_min, lon_max, lat_max): {bounds!r}",
                         where="bounds", hint="give CGCS2000 (EPSG:4490) longitude and latitude")
    return x0, y0, x1, y1


def _pad_bounds(b: tuple[float, float, float, float], share: float = 0.1,
                min_m: float = 150.0) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = b
    lat = 0.5 * (y0 + y1)
    min_dy = min_m / M_PER_DEG
    min_dx = min_dy / max(math.cos(math.radians(lat)), 0.05)
    dx = max((x1 - x0) * share, min_dx)
    dy = max((y1 - y0) * share, min_dy)
    return x0 - dx, max(y0 - dy, -85.0), x1 + dx, min(y1 + dy, 85.0)


def _shift_bounds(b: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    xs, ys = wgs84_to_gcj02(np.array([b[0], b[2], b[0], b[2]]), np.array([b[1], b[1], b[3], b[3]]))
    return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())


def _prepare_render(m: folium.Map) -> None:
    """Make rendering deterministic and repeatable.

    folium names elements with random hex.  Every element of the tree gets a
    sequential id instead, once (later renders keep it), so the same map
    gives the same page.  What an earlier render (e.g. a notebook display)
    left in the figure is dropped: the page body and script sections are
    regenerated by every render, and head entries made under an element's
    old name are renamed in place.  (So a script put straight into
    ``m.get_root().script`` does not survive; add an element to the map.)
    """
    if isinstance(m, EcogisMap):
        m.move_controls_last()
    root = m.get_root()
    for section in ("html", "script"):
        part = getattr(root, section, None)
        if part is not None:
            part._children.clear()
    header = getattr(root, "header", None)
    counter = getattr(m, "_ecogis_next_id", 0)
    renamed: dict[str, str] = {}

    def name(el: Element) -> str:
        nonlocal counter
        if not getattr(el, "_ecogis_id", False):
            old = el.get_name()
            counter += 1
            el._id = f"{counter:06x}"
            el._ecogis_id = True
            renamed[old] = el.get_name()
        return el.get_name()

    name(root)
    stack = [root]
    while stack:
        el = stack.pop()
        items = []
        for key, child in el._children.items():
            if isinstance(child, ElementAddToElement):
                continue  # made by Layer.render; made again by the next render
            old = child.get_name()
            new = name(child)
            items.append((new if key == old else key, child))
        el._children.clear()
        el._children.update(items)
        stack.extend(reversed([c for _, c in items]))
    if header is not None and renamed:
        # Keep the head entries made under old names in place (the next render refills them).
        items = [(renamed.get(k, k), v) for k, v in header._children.items()]
        header._children.clear()
        header._children.update(items)
    m._ecogis_next_id = counter


_PREFIX_JS = """
function (map, prefix) {
    var ctl = map.attributionControl;
    if (!ctl) { ctl = L.control.attribution().addTo(map); }
    ctl.setPrefix(prefix);
}
"""


def set_attribution_prefix(m: folium.Map, prefix: str | None) -> None:
    """Set the attribution control's prefix to plain text ``prefix`` (escaped; ``None`` or ``""``: none).

    Leaflet 1.9's default prefix carries a flag icon; ecogis maps show plain "Leaflet" unless a spec says
    otherwise (``attribution_prefix``).
    """
    for k, child in list(m._children.items()):
        if getattr(child, "_name", "") == "EcogisPrefix":
            del m._children[k]
    _Script(_PREFIX_JS, "EcogisPrefix", esc(prefix) if prefix else False).add_to(m)


# --------------------------------------------------------------------------- public API
def base_map(bounds: Sequence[float], *, lang: str = "zh", basemap: str = "none",
             tianditu_key: str | None = None, title: str | None = None) -> EcogisMap:
    """An empty web map of ``bounds`` with ecogis's controls and no tiles unless a basemap is chosen.

    Parameters
    ----------
    bounds:
        ``(lon_min, lat_min, lon_max, lat_max)`` in CGCS2000 degrees; the map opens on them.
    lang:
        ``"zh"`` or ``"en"`` for the controls' text.
    basemap:
        ``"none"`` (a plain background; the page makes no request at all),
        ``"osm"``, ``"tianditu"`` / ``"tianditu_img"`` (needs ``tianditu_key``
        or ``ECOGIS_TIANDITU_KEY``; vec_w + cva_w and img_w + cia_w, aligned
        with CGCS2000), ``"amap"`` / ``"amap_img"`` (GCJ-02: layers are
        shifted, see :func:`needs_gcj02`).  Tianditu is the basemap legal for
        published maps; OSM and Amap are for internal viewing.
    tianditu_key:
        A Tianditu browser key.  It is written into the page.
    title:
        Shown at the top centre of the map.

    Controls: zoom, full screen, locate-me, measure (m / km, ha / 亩), scale
    bar (metric), CGCS2000 coordinate read-out (decimal degrees and DMS),
    mini-map (the basemap, or without one a vector outline: the bounds until
    :func:`set_minimap_outline` gives one), layer control.

    Raises
    ------
    SpecError
        Unknown basemap or language; Tianditu without a key.
    InputError
        ``bounds`` not lon/lat.
    """
    lang = _lang(lang)
    spec = _basemap(basemap)
    key = None
    if spec.needs_key:
        key = (tianditu_key or os.environ.get("ECOGIS_TIANDITU_KEY") or "").strip()
        if not key:
            raise SpecError(f"basemap {spec.key!r} needs a Tianditu key", where="basemap",
                            hint="pass tianditu_key= or set ECOGIS_TIANDITU_KEY; get a browser key at "
                                 "https://console.tianditu.gov.cn/ — or use basemap='none'")
        if not re.fullmatch(r"[A-Za-z0-9_-]{8,128}", key):
            raise SpecError("the Tianditu key has unexpected characters", where="tianditu_key",
                            hint="a Tianditu key is a string of letters and digits")
    b = _check_bounds(bounds)
    gcj = spec.gcj02
    view = _shift_bounds(b) if gcj else b
    text = _TEXT[lang]

    m = EcogisMap(location=[0.5 * (view[1] + view[3]), 0.5 * (view[0] + view[2])], tiles=None, zoom_start=12,
                  max_zoom=20, control_scale=False, zoom_control=True)
    m.ecogis_lang = lang
    m.ecogis_basemap = spec.key
    m.ecogis_gcj02 = gcj
    _HeaderStyle().add_to(m)

    for i, (label_key, stack) in enumerate(spec.layers):
        label = f"{spec.label if lang == 'zh' else spec.label_en} · {text[label_key]}"
        _BaseLayer(label, stack, key, show=(i == 0)).add_to(m)
    if gcj:
        _Script(_DATUM_JS, "EcogisDatum").add_to(m)

    _Control("EcogisScale", "L.control.scale",
             {"position": "bottomleft", "metric": True, "imperial": False, "maxWidth": 150}).add_to(m)
    _Script(_COORDS_JS, "EcogisCoords",
            {"gcj": gcj, "labels": {"title": text["coords_title"], "lon": text["lon"], "lat": text["lat"]}}).add_to(m)
    _Control("EcogisFullscreen", "new L.Control.FullScreen",
             {"position": "topleft", "title": text["fullscreen"], "titleCancel": text["fullscreen_exit"]},
             ("fullscreen_js", "fullscreen_css")).add_to(m)
    _Control("EcogisLocate", "L.control.locate",
             {"position": "topleft", "flyTo": False, "showPopup": False, "drawCircle": True,
              "strings": {"title": text["locate"]},
              "locateOptions": {"enableHighAccuracy": True, "maxZoom": 17}},
             ("locate_js", "locate_css"), pre=_LOCATE_GCJ_JS if gcj else "").add_to(m)
    _Control("EcogisMeasure", "L.control.measure", _measure_options(lang),
             ("measure_js_zh" if lang == "zh" else "measure_js_en", "measure_css"), pre=_MEASURE_FIX).add_to(m)
    m.ecogis_minimap = _minimap(m, spec, key, b)
    m.ecogis_minimap.add_to(m)

    banner = _Banner()
    banner.title = title
    if spec.note:
        banner.notes.append((text[spec.note], spec.gcj02))
    banner.add_to(m)
    m.ecogis_banner = banner

    _FitBounds([[view[1], view[0]], [view[3], view[2]]], max_zoom=17).add_to(m)
    lc = folium.LayerControl(position="topright", collapsed=False)
    lc.add_to(m)
    m.ecogis_layer_control = lc
    mobile = _LayerControlMobile(lc)
    mobile.add_to(m)
    m.ecogis_after_layer_control.append(mobile)
    set_attribution_prefix(m, "Leaflet")
    return m


def _measure_options(lang: str) -> dict[str, Any]:
    if lang == "zh":
        units = {"meters": {"factor": 1, "display": "米", "decimals": 0},
                 "kilometers": {"factor": 0.001, "display": "千米", "decimals": 3},
                 "hectares": {"factor": 0.0001, "display": "公顷", "decimals": 4},
                 "mu": {"factor": 0.0015, "display": "亩", "decimals": 2},
                 "sqmeters": {"factor": 1, "display": "平方米", "decimals": 0}}
    else:
        units = {"hectares": {"factor": 0.0001, "display": "ha", "decimals": 4},
                 "mu": {"factor": 0.0015, "display": "mu (亩)", "decimals": 2}}
    return {"position": "topleft", "primaryLengthUnit": "meters", "secondaryLengthUnit": "kilometers",
            "primaryAreaUnit": "hectares", "secondaryAreaUnit": "mu", "activeColor": "#d7191c",
            "completedColor": "#9e0f12", "units": units}


def _minimap(m: EcogisMap, spec: Basemap, key: str | None, b: tuple[float, float, float, float]) -> _Control:
    text = _TEXT[m.ecogis_lang]
    options = {"position": "bottomright", "toggleDisplay": True, "width": 140, "height": 140,
               "zoomLevelOffset": -5, "strings": {"hideText": text["minimap_hide"], "showText": text["minimap_show"]}}
    if spec.layers:
        t = spec.layers[0][1][0]
        layer = f"L.tileLayer({_js(_tile_url(t, key))}, {_js(_tile_options(t))})"
    else:
        layer = f"L.geoJSON({_outline_geojson(m, [shapely.box(*b)])}, {_js(_OUTLINE_STYLE)})"
    ctl = _Control("EcogisMiniMap", "(function (o) { return new L.Control.MiniMap(%s, o); })" % layer,
                   options, ("minimap_js", "minimap_css"))
    return ctl


_OUTLINE_STYLE = {"style": {"color": "#525252", "weight": 1, "fillColor": "#9e9e9e", "fillOpacity": 0.15}}


def _outline_geojson(m: folium.Map, geoms: Sequence[Any], simplify_m: float = 0.0) -> str:
    g = np.asarray(list(geoms), dtype=object)
    if getattr(m, "ecogis_gcj02", False):
        g = shift_geometries(g, "wgs84:gcj02")
    g = _round(_simplify(g, simplify_m), 4)
    return _feature_collection(g, [0] * len(g), [None] * len(g), [None] * len(g))


def set_minimap_outline(m: folium.Map, gdf: gpd.GeoDataFrame, *, simplify_m: float = 200.0) -> None:
    """Draw ``gdf`` (e.g. the county outline and the sites) in the mini-map of a map without a basemap.

    With a basemap the mini-map shows the basemap and this does nothing.
    """
    frame = _lonlat_frame(gdf, "minimap outline")
    _set_minimap_geoms(m, frame.geometry.values, simplify_m)


def _set_minimap_geoms(m: folium.Map, geoms: Sequence[Any], simplify_m: float) -> None:
    ctl = getattr(m, "ecogis_minimap", None)
    if ctl is None or getattr(m, "ecogis_basemap", "none") != "none":
        return
    # points (e.g. point sites) as small circles: the default marker image has no place in the mini-map
    layer = (
        f"L.geoJSON({_outline_geojson(m, geoms, simplify_m)}, Object.assign({_js(_OUTLINE_STYLE)}, "
        "{pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 2, weight: 1}); }}))"
    )
    ctl.ctor = "(function (o) { return new L.Control.MiniMap(%s, o); })" % layer


def add_note(m: folium.Map, text: str, *, warn: bool = False) -> None:
    """Add a line of text (escaped) under the map title; ``warn`` shows it in bold amber."""
    banner = getattr(m, "ecogis_banner", None)
    if banner is None:
        banner = _Banner()
        banner.add_to(m)
        m.ecogis_banner = banner
    banner.notes.append((str(text), warn))


def _unique_layer_name(m: folium.Map, name: str) -> str:
    taken = {c.layer_name for c in m._children.values() if isinstance(c, folium.map.Layer)}
    out, n = name, 2
    while out in taken:
        out, n = f"{name} ({n})", n + 1
    return out


def _add_vector(m: folium.Map, frame: gpd.GeoDataFrame, *, name: str, styles_list: Sequence[ClassStyle],
                style_idx: Sequence[int], popups: Sequence[str | None], tooltips: Sequence[str | None],
                simplify_m: float | None, precision: int, show: bool = True) -> folium.FeatureGroup:
    """Draw prepared features as one layer-control group; the only place geometry is written."""
    geoms = np.asarray(frame.geometry.values, dtype=object)
    if getattr(m, "ecogis_gcj02", False) and len(geoms):
        geoms = shift_geometries(geoms, "wgs84:gcj02")
    geoms = _round(_simplify(geoms, simplify_m), int(precision))
    data = _feature_collection(geoms, style_idx, popups, tooltips)
    bounds = tuple(shapely.total_bounds(geoms)) if len(geoms) else None
    fg = folium.FeatureGroup(name=_unique_layer_name(m, esc(name)), overlay=True, control=True, show=show)
    fg.add_to(m)
    _VectorData(data, _js([styles.leaflet_style(s) for s in styles_list]), bounds).add_to(fg)
    return fg


def add_layer(m: folium.Map, gdf: gpd.GeoDataFrame, *, name: str, style_by: str | None = None,
              palette: Mapping[Any, ClassStyle | str] | None = None,
              popup_fields: Sequence[tuple[str, str]] = (), tooltip: str | None = None,
              simplify_m: float | None = None, precision: int = 5, style: ClassStyle | str | None = None,
              popup_title: str | None = None, show: bool = True) -> folium.FeatureGroup:
    """Draw a GeoDataFrame as one group in the layer control.

    Parameters
    ----------
    m:
        A map from :func:`base_map` (a plain :class:`folium.Map` works too, with no datum shift).
    gdf:
        Features in any CRS (projected ones are transformed to EPSG:4490).
        Null and empty geometries are skipped.  When the map's basemap is
        GCJ-02, geometries are shifted WGS84 → GCJ-02 here.
    name:
        Layer-control label (escaped).
    style_by, palette:
        Colour features by the text of column ``style_by`` using ``palette``
        (value → :class:`~ecogis.render.styles.ClassStyle` or a CSS colour);
        without a palette colours are handed out in sorted value order.
        Values missing from the palette get :data:`~ecogis.render.styles.DEFAULT_STYLE`.
    popup_fields:
        ``(column, label)`` rows of the popup; values are escaped, blanks skipped.
    tooltip:
        Column whose (escaped) value shows on hover.
    simplify_m:
        Topology-preserving simplification tolerance in metres (``None``: none).
    precision:
        Decimals kept in coordinates (5 ≈ 1 m).
    style:
        The style of every feature when ``style_by`` is not given.
    popup_title:
        Column whose value heads the popup in bold.

    Returns
    -------
    folium.FeatureGroup
        With ``legend_entries``: the ``(label, fill, stroke)`` rows for :func:`legend`.
    """
    frame = _lonlat_frame(gdf, name)
    lang = getattr(m, "ecogis_lang", "zh")
    wanted = [c for c, _ in popup_fields] + [c for c in (style_by, tooltip, popup_title) if c]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise InputError(f"layer {name!r} has no column(s) {', '.join(map(repr, missing))}", where=f"layer {name}",
                         hint="columns: " + ", ".join(map(str, frame.columns)))
    if style_by:
        values = frame[style_by].astype(object).where(frame[style_by].notna(), None)
        texts = [None if v is None else str(v) for v in values]
        pal = ({str(k): styles.as_style(v, str(k)) for k, v in palette.items()} if palette
               else styles.auto_palette(texts))
        keys = list(pal)
        styles_list = [pal[k] for k in keys] + [styles.DEFAULT_STYLE]
        pos = {k: i for i, k in enumerate(keys)}
        style_idx = [pos.get(t, len(keys)) if t is not None else len(keys) for t in texts]
        used = [k for k in keys if k in set(texts)]
        entries = styles.legend_entries({k: pal[k] for k in used}, lang)
        if len(keys) in style_idx:
            entries += styles.legend_entries({"": styles.DEFAULT_STYLE}, lang)
    else:
        one = styles.as_style(style, name) if style is not None else styles.DEFAULT_STYLE
        styles_list, style_idx = [one], [0] * len(frame)
        entries = [(name, one.fill, one.stroke)]
    popups: list[str | None] = [None] * len(frame)
    if popup_fields or popup_title:
        cols = [frame[c].tolist() for c, _ in popup_fields]
        titles = frame[popup_title].tolist() if popup_title else [None] * len(frame)
        labels = [lab for _, lab in popup_fields]
        rows = zip(*cols) if cols else [()] * len(frame)
        popups = [_popup(None if _blank(t) else _fmt(t),
                         [(lab, None if _blank(v) else _fmt(v)) for lab, v in zip(labels, row)])
                  for t, row in zip(titles, rows)]
    tooltips: list[str | None] = [None] * len(frame)
    if tooltip:
        tooltips = [None if _blank(v) else esc(_fmt(v)) for v in frame[tooltip].tolist()]
    fg = _add_vector(m, frame, name=name, styles_list=styles_list, style_idx=style_idx, popups=popups,
                     tooltips=tooltips, simplify_m=simplify_m, precision=precision, show=show)
    fg.legend_entries = entries
    return fg


def legend(m: folium.Map, entries: Sequence[tuple[str, str, str]], title: str | None = None) -> MacroElement:
    """A legend control (bottom left, above the scale and the coordinates): a swatch per ``(label, fill, stroke)`` row.

    The right-hand side holds the layer control (top) and the mini-map
    (bottom); keeping the legend on the left stops the two columns from
    growing into each other on maps with many layers.  Text is escaped.

    Colours must be CSS colours (``#rgb``, ``#rrggbb``, ``rgb()`` or a name).
    """
    rows = []
    for label, fill, stroke in entries:
        rows.append(f'<div><i style="background:{_colour(fill)};border-color:{_colour(stroke)}"></i>'
                    f"<span>{esc(label)}</span></div>")
    body = (f"<h4>{esc(title)}</h4>" if title else "") + "".join(rows)
    el = _Script(_LEGEND_JS, "EcogisLegend", body)
    el.add_to(m)
    return el


_COLOUR = re.compile(r"#[0-9a-fA-F]{3,8}|rgba?\([\d\s.,%]+\)|[a-zA-Z]{3,20}")


def _colour(value: str) -> str:
    text = str(value).strip()
    if not _COLOUR.fullmatch(text):
        raise SpecError(f"not a CSS colour: {value!r}", where="legend")
    return text


# --------------------------------------------------------------------------- the review map
_CONTEXT_FIELDS = ("name", "code", "class", "zone", "type", "level", "grade", "function")
_SITE_FIELDS = ("site_id", "name", "industry", "nature", "area_ha", "verdict")


def _kind_label(kind: str, lang: str) -> str:
    st = styles.KIND.get(kind)
    return st.text(lang) if st else kind


def _finding_popups(f: pd.DataFrame, lang: str) -> tuple[list[str], list[str | None]]:
    """Popup and tooltip HTML (escaped) of each finding; missing columns and blank values left out."""
    t = _TEXT[lang]

    def col(name: str) -> list[Any]:
        return f[name].tolist() if name in f.columns else [None] * len(f)

    popups, tips = [], []
    for rid, rtitle, sv, sid, sname, kind, fname, zone, ha, mu, pct, length, dist, basis, msg, nxt in zip(
            col("rule_id"), col("rule_title"), col("severity"), col("site_id"), col("site_name"), col("layer_kind"),
            col("feature_name"), col("zone"), col("overlap_ha"), col("overlap_mu"), col("overlap_pct"),
            col("overlap_length_m"), col("distance_m"), col("basis"), col("message"), col("next_steps")):
        st = styles.SEVERITY.get(str(sv), styles.DEFAULT_STYLE)
        sev_text = st.text(lang) if str(sv) in styles.SEVERITY else ("" if _blank(sv) else str(sv))
        title = " ".join(str(v) for v in (rid, rtitle) if not _blank(v))
        area = None
        if not _blank(ha):
            area = f"{_fmt(ha, 4)} {t['ha']}" + ("" if _blank(mu) else f" / {_fmt(mu, 2)} {t['mu']}")
        site = " ".join(str(v) for v in (sid, sname) if not _blank(v))
        feature = " · ".join(str(v) for v in (_kind_label(str(kind), lang) if not _blank(kind) else None,
                                              fname) if not _blank(v))
        rows = [
            (t["site_name"], site or None),
            (t["feature"], feature or None),
            (t["zone"], zone),
            (t["overlap_area"], area),
            (t["overlap_pct"], None if _blank(pct) else f"{_fmt(pct, 2)} %"),
            (t["overlap_length"], None if _blank(length) else f"{_fmt(length, 1)} {t['m']}"),
            (t["distance"], None if _blank(dist) else f"{_fmt(dist, 1)} {t['m']}"),
            (t["basis"], basis),
            (t["message"], msg),
            (t["next_steps"], nxt),
        ]
        popups.append(_popup(title or None, rows, badge=(sev_text, st.fill) if sev_text else None))
        tip = " · ".join(str(v) for v in (sev_text, rid, fname) if not _blank(v))
        tips.append(esc(tip) if tip else None)
    return popups, tips


def _frame_bounds(*frames: gpd.GeoDataFrame) -> tuple[float, float, float, float] | None:
    boxes = [f.total_bounds for f in frames if f is not None and len(f)]
    boxes = [b for b in boxes if np.isfinite(b).all()]
    if not boxes:
        return None
    arr = np.array(boxes)
    return float(arr[:, 0].min()), float(arr[:, 1].min()), float(arr[:, 2].max()), float(arr[:, 3].max())


def _clip_context(frame: gpd.GeoDataFrame, box: tuple[float, float, float, float]) -> gpd.GeoDataFrame:
    """Features meeting ``box``, clipped to it (big red-line or county polygons stay small in the page)."""
    if not len(frame):
        return frame
    hits = frame.sindex.query(shapely.box(*box), predicate="intersects")
    sub = frame.iloc[np.sort(hits)].copy()
    if not len(sub):
        return sub
    clipped = shapely.clip_by_rect(np.asarray(sub.geometry.values, dtype=object), *box)
    sub = sub.set_geometry(gpd.GeoSeries(clipped, index=sub.index, crs=sub.crs))
    return sub[~shapely.is_empty(clipped)]


def review_map(site_gdf: gpd.GeoDataFrame, findings_gdf: gpd.GeoDataFrame | None,
               context: Mapping[str, gpd.GeoDataFrame] | None = None, *, lang: str = "zh",
               basemap: str = "none", tianditu_key: str | None = None, title: str | None = None,
               context_simplify_m: float = 5.0, context_extent: float = 4.0) -> EcogisMap:
    """The reviewer's map for a screening report.

    Draws, bottom to top: the context layers (one group per layer kind,
    classes coloured by :data:`~ecogis.render.styles.KIND_PALETTES`), the
    findings' overlap polygons and distance lines (one group per severity,
    coloured by :data:`~ecogis.render.styles.SEVERITY`; distance lines
    dashed), and the site outlines.  Popups give the finding (rule, title,
    severity, overlap in ha / 亩 / % of the site, length crossed, distance,
    basis, message, next steps).  A legend lists what is drawn.

    Parameters
    ----------
    site_gdf:
        The site(s); ``site_id`` and ``name`` (or ``site_name``) columns are shown when present.
    findings_gdf:
        Rows as made by the screening engine: ``site_id, site_name, rule_id,
        rule_title, severity, layer_kind, feature_name, zone, overlap_ha,
        overlap_mu, overlap_pct, distance_m, basis, message, next_steps,
        geometry`` (EPSG:4490); missing columns are left out of the popups.
        Rows with an empty geometry are not drawn.
    context:
        Layer kind → the features to show (e.g. the conflicting ones).  They
        are kept only within ``context_extent`` × the view around the sites
        and clipped to it, and simplified by ``context_simplify_m`` metres.
        An ``admin`` layer also outlines the mini-map.
    lang, basemap, tianditu_key, title:
        As for :func:`base_map`; the title defaults to the review-map title.
    """
    lang = _lang(lang)
    text = _TEXT[lang]
    sites = _lonlat_frame(site_gdf, "sites")
    if not len(sites):
        raise EmptyLayerError("no site geometry to map", where="sites")
    findings = (_lonlat_frame(findings_gdf, "findings") if findings_gdf is not None and len(findings_gdf)
                else None)
    view = _pad_bounds(_frame_bounds(sites, findings) or tuple(sites.total_bounds))
    m = base_map(view, lang=lang, basemap=basemap, tianditu_key=tianditu_key,
                 title=title if title is not None else text["review_title"])
    entries: list[tuple[str, str, str]] = []

    w, h = view[2] - view[0], view[3] - view[1]
    k = max(float(context_extent), 1.0)
    ext = (view[0] - w * (k - 1) / 2, view[1] - h * (k - 1) / 2, view[2] + w * (k - 1) / 2, view[3] + h * (k - 1) / 2)
    outline = list(sites.geometry.values)
    for kind, gdf in (context or {}).items():
        if gdf is None or not len(gdf):
            continue
        src = _lonlat_frame(gdf, f"context {kind}")
        if kind == "admin":
            # the county is drawn as its boundary line, cut to the view: a cut edge is never drawn as a boundary
            src = src.set_geometry(gpd.GeoSeries(shapely.boundary(np.asarray(src.geometry.values, dtype=object)),
                                                 index=src.index, crs=src.crs))
        frame = _clip_context(src, ext)
        if not len(frame):
            continue
        if kind == "admin":
            outline += list(_lonlat_frame(gdf, "context admin").geometry.values)
        by, pal = styles.KIND_PALETTES.get(kind, (None, None))
        fields = [(c, text.get(c, c)) for c in _CONTEXT_FIELDS if c in frame.columns]
        label = _kind_label(kind, lang)
        if by and by in frame.columns:
            fg = add_layer(m, frame, name=label, style_by=by, palette=pal, popup_fields=fields,
                           tooltip="name" if "name" in frame.columns else None, simplify_m=context_simplify_m)
        else:
            fg = add_layer(m, frame, name=label, style=styles.KIND.get(kind, styles.DEFAULT_STYLE),
                           popup_fields=fields, tooltip="name" if "name" in frame.columns else None,
                           simplify_m=context_simplify_m)
        entries += fg.legend_entries

    if findings is not None and len(findings):
        sev = (findings["severity"].astype(str) if "severity" in findings.columns
               else pd.Series("", index=findings.index))
        order = [s for s in styles.SEVERITY if (sev == s).any()] + sorted(set(sev) - set(styles.SEVERITY))
        for s in order:
            part = findings[(sev == s).to_numpy()]
            st = styles.SEVERITY.get(s, styles.DEFAULT_STYLE)
            lines = np.isin(shapely.get_type_id(np.asarray(part.geometry.values, dtype=object)), (1, 2, 5))
            dashed = ClassStyle(st.fill, st.fill, st.label, st.label_en, st.fill_opacity, st.weight + 0.5, "6 5")
            popups, tips = _finding_popups(part, lang)
            label = st.text(lang) if s in styles.SEVERITY else s
            _add_vector(m, part, name=f"{text['findings']} · {label} ({len(part)})", styles_list=[st, dashed],
                        style_idx=lines.astype(int).tolist(), popups=popups, tooltips=tips, simplify_m=None,
                        precision=6)
            entries.append((f"{text['findings']} · {label}", st.fill, st.stroke))
    else:
        add_note(m, text["no_findings"])

    site_rows = []
    name_col = "name" if "name" in sites.columns else ("site_name" if "site_name" in sites.columns else None)
    for c in _SITE_FIELDS:
        col = name_col if c == "name" else c
        if col and col in sites.columns:
            site_rows.append((col, text["site_name"] if c == "name" else text.get(c, c)))
    add_layer(m, sites, name=text["site"], style=styles.SITE, popup_fields=site_rows,
              tooltip=name_col, popup_title=None, simplify_m=None, precision=6)
    entries.append((styles.SITE.text(lang), styles.SITE.fill, styles.SITE.stroke))

    _set_minimap_geoms(m, outline, 200.0)
    legend(m, entries, text["legend"])
    return m


# --------------------------------------------------------------------------- output
def to_html(m: folium.Map) -> str:
    """Render ``m`` to one self-contained HTML page.

    Element ids are made deterministic (the same map gives the same bytes),
    Leaflet and the plugins are inlined (:func:`assets.inline_assets`) and
    the page is checked to load no external file (:func:`assets.assert_offline`).
    """
    _prepare_render(m)
    page = m.get_root().render()
    page = assets.inline_assets(page)
    return assets.assert_offline(page)


def save_html(m: folium.Map, path: str | os.PathLike) -> Path:
    """Write :func:`to_html` of ``m`` to ``path`` atomically and return the path."""
    return write_text_atomic(path, to_html(m))
