"""Static print maps of a map spec (PDF or PNG) drawn with matplotlib.

A print has the title and subtitle, the layers styled as in the spec, a
legend, a north arrow, a scale bar whose length is measured geodesically on
the CGCS2000 ellipsoid, a graticule labelled in CGCS2000 longitude and
latitude, and the data date, attribution and 审图号 lines.

The map is drawn in Web Mercator, where meridians and parallels are straight
lines and north is up everywhere, so a tiled basemap can sit under it.  No
basemap is drawn unless one is asked for (``basemap=`` or the spec) *and* its
tiles can be fetched; otherwise the print says it was drawn without one.

Chinese text is set in the Noto Sans SC that the set-up installs into
``.venv/fonts`` (see :mod:`ecogis.render.fonts`), whatever the system has, and
embedded in PDFs as TrueType (Type 42) subsets; without it a system CJK font
is used, and without any the print is refused rather than drawn with empty
boxes.
"""

from __future__ import annotations

import io
import math
import os
import re
import urllib.request
from pathlib import Path
from typing import Any, Sequence

import geopandas as gpd
import matplotlib
import matplotlib.patheffects as pe
import numpy as np
import shapely
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure  # no pyplot: no global state, no GUI backend
from matplotlib.patches import Patch, Polygon, Rectangle
from matplotlib.path import Path as MplPath
from pyproj import CRS, Geod, Transformer

from ecogis.errors import SpecError
from ecogis.fileutil import atomic_path
from ecogis.normalise.datum import shift_geometries
from ecogis.notes import Notes
from ecogis.render import fonts, webmap
from ecogis.render.spec import PAPERS, LayerSpec, MapSpec, load_spec, read_layers, text

#: CJK font families tried in turn on the system when the set-up font is absent (see ecogis.render.fonts).
CJK_FAMILIES = fonts.SYSTEM_FAMILIES
FontError = fonts.FontError
find_cjk_font = fonts.find_cjk_font

_GEOD: Geod = CRS.from_epsg(4490).get_geod()  # the CGCS2000 ellipsoid
_TO_MERC = Transformer.from_crs(4490, 3857, always_xy=True)
_FROM_MERC = Transformer.from_crs(3857, 4490, always_xy=True)
_MERC_R = 6378137.0

#: Tiles fetched for a print basemap at most; the zoom is lowered until the view fits.
MAX_TILES = 48
TILE_TIMEOUT_S = 6.0


# --------------------------------------------------------------------------- geometry → matplotlib
def _ring_codes(n: int) -> list[int]:
    return [MplPath.MOVETO] + [MplPath.LINETO] * (n - 2) + [MplPath.CLOSEPOLY]


def _polygon_path(geom: Any) -> MplPath | None:
    """One compound path of a (multi)polygon, holes included (even-odd by ring orientation)."""
    verts: list[np.ndarray] = []
    codes: list[int] = []
    polys = shapely.get_parts(geom)
    for poly in polys:
        if shapely.get_type_id(poly) != 3 or poly.is_empty:
            continue
        rings = [poly.exterior, *poly.interiors]
        for ring in rings:
            xy = np.asarray(ring.coords)[:, :2]
            if len(xy) < 4:
                continue
            verts.append(xy)
            codes += _ring_codes(len(xy))
    if not verts:
        return None
    return MplPath(np.concatenate(verts), codes)


def _line_paths(geom: Any) -> list[np.ndarray]:
    out = []
    for part in shapely.get_parts(geom):
        t = shapely.get_type_id(part)
        if t in (1, 2):
            out.append(np.asarray(part.coords)[:, :2])
        elif t == 3:
            out += [np.asarray(r.coords)[:, :2] for r in (part.exterior, *part.interiors)]
    return out


def _dash(style_dash: str | None, weight: float) -> Any:
    if not style_dash:
        return "solid"
    nums = [float(v) for v in style_dash.split()]
    return (0, tuple(v / max(weight, 0.5) for v in nums))


def _draw_layer(ax: Any, geoms: np.ndarray, styles_idx: Sequence[int], styles_list: Sequence[Any],
                scale_pt: float) -> None:
    """Draw geometries: polygons filled and outlined, lines stroked, points as dots."""
    types = shapely.get_type_id(geoms)
    for si, st in enumerate(styles_list):
        sel = np.asarray(styles_idx) == si
        if not sel.any():
            continue
        lw = st.weight * scale_pt
        poly_sel = sel & np.isin(types, (3, 6))
        paths = [p for p in (_polygon_path(g) for g in geoms[poly_sel]) if p is not None]
        if paths:
            ax.add_collection(PathCollection(
                paths, facecolors=[to_rgba(st.fill, st.fill_opacity)] if st.fill_opacity > 0
                else "none", edgecolors=st.stroke, linewidths=lw, linestyles=_dash(st.dash, st.weight),
                zorder=2))
        line_sel = sel & np.isin(types, (1, 2, 5))
        for g in geoms[line_sel]:
            for xy in _line_paths(g):
                ax.plot(xy[:, 0], xy[:, 1], color=st.stroke, lw=lw, ls=_dash(st.dash, st.weight), zorder=3)
        pt_sel = sel & np.isin(types, (0, 4))
        if pt_sel.any():
            xy = shapely.get_coordinates(geoms[pt_sel])
            ax.scatter(xy[:, 0], xy[:, 1], s=18, c=st.fill, edgecolors=st.stroke, zorder=4)


# --------------------------------------------------------------------------- map furniture
def _nice(value: float, steps: Sequence[float] = (1, 2, 5)) -> float:
    """The largest 1/2/5 × 10^n not above ``value``."""
    if value <= 0:
        return 0.0
    exp = math.floor(math.log10(value))
    best = 10.0 ** exp
    for s in steps:
        if s * 10.0 ** exp <= value:
            best = s * 10.0 ** exp
    return best


_GRID_STEPS = (1 / 60, 2 / 60, 5 / 60, 10 / 60, 15 / 60, 0.5, 1.0, 2.0, 5.0, 10.0)


def graticule_step(span_deg: float, target: int = 6) -> float:
    """A graticule interval (degrees, whole minutes) giving about ``target`` lines over ``span_deg``."""
    for s in _GRID_STEPS:
        if span_deg / s <= target:
            return s
    return _GRID_STEPS[-1]


def dms_label(value: float, lat: bool) -> str:
    """``120°30′E`` style label (degrees and whole minutes)."""
    hemi = ("N" if value >= 0 else "S") if lat else ("E" if value >= 0 else "W")
    a = abs(value)
    d = int(math.floor(a + 1e-9))
    m = int(round((a - d) * 60))
    if m == 60:
        d, m = d + 1, 0
    return f"{d}°{m:02d}′{hemi}" if m else f"{d}°{hemi}"


def scale_bar_length(x0: float, x1: float, y: float) -> tuple[float, float]:
    """``(length in metres, the same in Mercator units)`` of a nice scale bar about 1/4 of ``x0..x1`` at ``y``.

    The ground length of the span is measured geodesically (CGCS2000
    ellipsoid) along the parallel through ``y``.
    """
    (lon0, lon1), (lat, _) = _FROM_MERC.transform([x0, x1], [y, y])
    _, _, ground = _GEOD.inv(lon0, lat, lon1, lat)
    per_unit = ground / (x1 - x0)
    metres = _nice(ground / 4.0)
    return metres, metres / per_unit


def _draw_graticule(ax: Any, xlim: tuple[float, float], ylim: tuple[float, float], font: str) -> None:
    (lon0, lon1), (lat0, lat1) = _FROM_MERC.transform([xlim[0], xlim[1]], [ylim[0], ylim[1]])
    step_x = graticule_step(lon1 - lon0)
    step_y = graticule_step(lat1 - lat0)
    lons = np.arange(math.ceil(lon0 / step_x - 1e-9) * step_x, lon1 + 1e-9, step_x)
    lats = np.arange(math.ceil(lat0 / step_y - 1e-9) * step_y, lat1 + 1e-9, step_y)
    xs, _ = _TO_MERC.transform(lons, np.full(len(lons), 0.5 * (lat0 + lat1)))
    _, ys = _TO_MERC.transform(np.full(len(lats), 0.5 * (lon0 + lon1)), lats)
    for x in xs:
        ax.axvline(x, color="#8c8c8c", lw=0.4, ls=(0, (4, 3)), zorder=1.5)
    for y in ys:
        ax.axhline(y, color="#8c8c8c", lw=0.4, ls=(0, (4, 3)), zorder=1.5)
    ax.set_xticks(xs, [dms_label(v, False) for v in lons], fontsize=6.5, family=font)
    ax.set_yticks(ys, [dms_label(v, True) for v in lats], fontsize=6.5, family=font, rotation=90, va="center")
    ax.tick_params(top=True, right=True, labeltop=True, labelright=True, length=3, width=0.5, pad=2)
    for lab in ax.get_yticklabels(which="both"):
        lab.set_rotation(90)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)


def _draw_scale_bar(ax: Any, xlim: tuple[float, float], ylim: tuple[float, float], font: str, lang: str) -> None:
    w, h = xlim[1] - xlim[0], ylim[1] - ylim[0]
    y = ylim[0] + 0.05 * h
    metres, length = scale_bar_length(xlim[0], xlim[1], y)
    x = xlim[0] + 0.04 * w
    bh = 0.012 * h
    halo = [pe.withStroke(linewidth=2.5, foreground="white")]
    ax.add_patch(Rectangle((x - 0.01 * w, y - 0.035 * h), length + 0.08 * w, 0.085 * h, fc="white", ec="none",
                           alpha=0.8, zorder=8))
    for i in range(4):
        ax.add_patch(Rectangle((x + i * length / 4, y), length / 4, bh, fc="black" if i % 2 == 0 else "white",
                               ec="black", lw=0.6, zorder=9))
    unit_km = metres >= 1000
    value = metres / 1000 if unit_km else metres
    unit = ("千米" if lang == "zh" else "km") if unit_km else ("米" if lang == "zh" else "m")
    for frac in (0, 0.5, 1):
        v = value * frac
        lab = f"{v:g}" + (f" {unit}" if frac == 1 else "")
        ax.text(x + frac * length, y + bh * 1.6, lab, ha="center", va="bottom", fontsize=6.5, family=font,
                zorder=10, path_effects=halo)
    ax.text(x, y - bh * 0.9, "比例尺（大地线长度，CGCS2000）" if lang == "zh" else "Scale (geodesic, CGCS2000)",
            ha="left", va="top", fontsize=5.5, family=font, zorder=10, color="#333")


def _draw_north_arrow(ax: Any, font: str) -> None:
    """A north arrow in the top-right corner (north is up in Web Mercator)."""
    cx, top, bottom, half = 0.94, 0.93, 0.84, 0.022
    ax.add_patch(Polygon([(cx, top), (cx - half, bottom), (cx, bottom + 0.022)], closed=True, fc="black",
                         ec="black", lw=0.6, transform=ax.transAxes, zorder=10))
    ax.add_patch(Polygon([(cx, top), (cx + half, bottom), (cx, bottom + 0.022)], closed=True, fc="white",
                         ec="black", lw=0.6, transform=ax.transAxes, zorder=10))
    ax.text(cx, top + 0.01, "N", ha="center", va="bottom", fontsize=10, fontweight="bold", family=font,
            transform=ax.transAxes, zorder=10, path_effects=[pe.withStroke(linewidth=2.5, foreground="white")])


# --------------------------------------------------------------------------- basemap tiles
def _tile_xy(x: float, y: float, z: int) -> tuple[float, float]:
    n = 2 ** z
    return (x + math.pi * _MERC_R) / (2 * math.pi * _MERC_R) * n, (math.pi * _MERC_R - y) / (2 * math.pi * _MERC_R) * n


def fetch_basemap(xlim: tuple[float, float], ylim: tuple[float, float], basemap: str, *, width_px: int,
                  tianditu_key: str | None = None, opener: Any = None) -> tuple[np.ndarray, tuple, str] | None:
    """A basemap mosaic ``(image, (x0, x1, y0, y1) in Mercator, attribution)``, or ``None`` if unreachable."""
    from PIL import Image

    spec = webmap._basemap(basemap)
    if not spec.layers:
        return None
    key = (tianditu_key or os.environ.get("ECOGIS_TIANDITU_KEY") or "").strip()
    if spec.needs_key and not key:
        raise SpecError(f"basemap {spec.key!r} needs a Tianditu key", where="basemap",
                        hint="pass --tianditu-key or set ECOGIS_TIANDITU_KEY")
    stack = spec.layers[0][1]
    span = (xlim[1] - xlim[0]) / (2 * math.pi * _MERC_R)
    z = int(max(0, min(18, math.floor(math.log2(max(width_px, 256) / 256 / span)))))
    while True:
        tx0, ty0 = _tile_xy(xlim[0], ylim[1], z)
        tx1, ty1 = _tile_xy(xlim[1], ylim[0], z)
        cols = range(int(tx0), int(tx1) + 1)
        rows = range(int(ty0), int(ty1) + 1)
        if len(cols) * len(rows) <= MAX_TILES or z == 0:
            break
        z -= 1
    opener = opener or urllib.request.urlopen
    mosaic = Image.new("RGBA", (256 * len(cols), 256 * len(rows)), (255, 255, 255, 0))
    for tiles in stack:
        subs = tiles.subdomains or "a"
        for i, tx in enumerate(cols):
            for j, ty in enumerate(rows):
                url = (tiles.url.replace("{s}", subs[(tx + ty) % len(subs)]).replace("{z}", str(z))
                       .replace("{x}", str(tx)).replace("{y}", str(ty)).replace("{tk}", key))
                req = urllib.request.Request(url, headers={"User-Agent": "ecogis print map"})
                try:
                    with opener(req, timeout=TILE_TIMEOUT_S) as resp:
                        tile = Image.open(io.BytesIO(resp.read())).convert("RGBA")
                except Exception:  # noqa: BLE001 - any failure means "not reachable"
                    return None
                mosaic.alpha_composite(tile, (256 * i, 256 * j))
    world = 2 * math.pi * _MERC_R
    ext = (cols[0] / 2 ** z * world - world / 2, (cols[-1] + 1) / 2 ** z * world - world / 2,
           world / 2 - (rows[-1] + 1) / 2 ** z * world, world / 2 - rows[0] / 2 ** z * world)
    attribution = stack[0].attribution
    return np.asarray(mosaic), ext, attribution


# --------------------------------------------------------------------------- the print
def _paper_inches(paper: str, orientation: str, aspect: float) -> tuple[float, float]:
    w, h = PAPERS[paper]
    landscape = orientation == "landscape" or (orientation == "auto" and aspect > 1.0)
    if landscape:
        w, h = h, w
    return w / 25.4, h / 25.4


def print_map(spec: MapSpec | str | os.PathLike, workspace: Any, out: str | os.PathLike, *,
              paper: str | None = None, dpi: int | None = None, lang: str | None = None,
              basemap: str | None = None, tianditu_key: str | None = None, orientation: str | None = None,
              notes: Notes | None = None, opener: Any = None) -> Path:
    """Draw ``spec`` as a static map and write it to ``out`` (``.pdf`` or ``.png``), atomically.

    Parameters
    ----------
    spec:
        A :class:`MapSpec` or a spec file.
    workspace:
        A workspace path, URI or open workspace.
    paper, dpi, orientation, lang, basemap:
        Override the spec's (``print:`` section, ``lang``, ``basemap``).
        ``dpi`` sets the PNG resolution (PDF is vector; rasters in it use it).
    notes:
        Receives a note when a basemap was asked for but could not be fetched.
    opener:
        ``urllib.request.urlopen``-like callable for tiles (tests).

    Raises
    ------
    FontError
        No CJK font is installed.
    SpecError
        Unknown paper, bad output extension.
    """
    if not isinstance(spec, MapSpec):
        spec = load_spec(spec)
    out = Path(out)
    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "png"):
        raise SpecError(f"a print must be .pdf or .png, not {out.suffix or 'no extension'!r}", path=out,
                        where="--print")
    paper = (paper or spec.paper).upper()
    if paper not in PAPERS:
        raise SpecError(f"unknown paper {paper!r}", where="--paper", hint="A4 or A3")
    dpi = spec.dpi if dpi is None else dpi
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not math.isfinite(dpi) or dpi != int(dpi):
        raise SpecError(f"dpi must be a whole number, not {dpi!r}", where="--dpi", hint="50 to 1200")
    dpi = int(dpi)
    if not 50 <= dpi <= 1200:
        raise SpecError(f"dpi {dpi} is out of range", where="--dpi", hint="50 to 1200")
    lang = lang or spec.lang
    basemap = basemap or spec.basemap
    notes = notes if notes is not None else Notes()
    font, _ = find_cjk_font()

    data = read_layers(spec, workspace)
    frames = [webmap._lonlat_frame(g, layer.name(lang)) for layer, g in data]
    from ecogis.render.publish import auto_simplify_m, credit_lines, view_bounds

    bounds = view_bounds(spec, frames)
    gcj = webmap.needs_gcj02(basemap)
    (mx0, mx1), (my0, my1) = _TO_MERC.transform([bounds[0], bounds[2]], [bounds[1], bounds[3]])
    aspect = (mx1 - mx0) / max(my1 - my0, 1e-9)
    orient = orientation or spec.orientation
    fw, fh = _paper_inches(paper, orient, aspect)
    scale_pt = 0.6  # Leaflet pixel widths → points

    # text.parse_math off: a "$...$" in a title, legend label or feature label is text, never mathtext
    with matplotlib.rc_context({**fonts.rc_params(font), "text.parse_math": False, "text.usetex": False}):
        fig = Figure(figsize=(fw, fh), dpi=dpi)
        margin = 0.45 / fw  # ~11 mm for tick labels
        legend_w = 0.24 if fw > fh else 0.30
        top_band, bottom_band = 0.70 / fh + 0.05, 0.80 / fh + 0.02
        box = (margin, bottom_band, 1 - legend_w - 1.6 * margin, 1 - top_band - bottom_band)
        ax = fig.add_axes(box)
        ax.set_facecolor("#fbfaf7")

        simplify = spec.simplify_m if spec.simplify_m is not None else auto_simplify_m(bounds)
        legend_entries: list[tuple[str, Any]] = []
        for (layer, _), frame in zip(data, frames):
            if not len(frame):
                continue
            geoms = np.asarray(frame.geometry.values, dtype=object)
            if gcj:
                geoms = shift_geometries(geoms, "wgs84:gcj02")
            geoms = webmap._simplify(geoms, simplify)
            geoms = shapely.transform(geoms, lambda xy: np.column_stack(_TO_MERC.transform(xy[:, 0], xy[:, 1])))
            styles_list, idx, entries = _layer_styles(layer, frame, lang)
            _draw_layer(ax, geoms, idx, styles_list, scale_pt)
            if layer.legend:
                legend_entries += entries
            if layer.label_field:
                _draw_labels(ax, geoms, frame[layer.label_field].tolist(), layer, font)

        xlim, ylim = _fit_limits((mx0, mx1), (my0, my1), box[2] * fw / (box[3] * fh))
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)

        credits = credit_lines(spec, lang)
        if basemap != "none":
            px = int(fw * dpi * (1 - legend_w))
            got = fetch_basemap(xlim, ylim, basemap, width_px=px, tianditu_key=tianditu_key, opener=opener)
            if got is None:
                msg = (f"底图 {basemap} 无法获取，本图未绘制底图" if lang == "zh"
                       else f"basemap {basemap} could not be fetched; printed without it")
                notes.add("basemap", msg)
                credits.append(msg)
            else:
                img, ext, attribution = got
                ax.imshow(img, extent=ext, zorder=0, interpolation="bilinear")
                credits.append(re.sub(r"<[^>]+>", "", attribution).replace("&copy;", "©"))
                if gcj:
                    credits.append("底图为 GCJ-02 坐标，矢量已偏移至 GCJ-02" if lang == "zh"
                                   else "Basemap in GCJ-02; vector layers shifted to GCJ-02")
        _draw_graticule(ax, xlim, ylim, font)
        _draw_scale_bar(ax, xlim, ylim, font, lang)
        _draw_north_arrow(ax, font)
        for s in ax.spines.values():
            s.set_linewidth(0.8)

        fig.text(0.5, 1 - 0.30 / fh, text(spec.title, lang), ha="center", va="top", fontsize=16,
                 fontweight="bold", family=font)
        sub = text(spec.subtitle, lang)
        if sub:
            fig.text(0.5, 1 - 0.62 / fh, sub, ha="center", va="top", fontsize=10, family=font, color="#333")
        handles = [Patch(facecolor=to_rgba(st.fill, st.fill_opacity) if st.fill_opacity > 0
                         else "none", edgecolor=st.stroke, linewidth=max(st.weight * scale_pt, 0.6),
                         linestyle=_dash(st.dash, st.weight), label=label)
                   for label, st in legend_entries]
        if spec.legend_entries is not None:
            handles = [Patch(facecolor=e["fill"], edgecolor=e.get("stroke", e["fill"]), label=text(e["label"], lang))
                       for e in spec.legend_entries]
        if handles:
            fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(1 - legend_w + 0.01,
                                                                          1 - top_band - 0.005),
                       title=text(spec.legend_title, lang) or webmap._TEXT[lang]["legend"], fontsize=8,
                       title_fontsize=9, frameon=True, framealpha=1, edgecolor="#999", fancybox=False,
                       prop={"family": font, "size": 8}, handlelength=2.2, handleheight=1.2,
                       alignment="left")
        y = 0.22 / fh
        for line in reversed(credits):
            fig.text(margin, y, line, ha="left", va="bottom", fontsize=6.5, family=font, color="#333")
            y += 0.14 / fh
        with atomic_path(out) as tmp:
            fig.savefig(tmp, format=fmt, dpi=dpi, metadata=_metadata(spec, lang, fmt))
    return out


def _fit_limits(xlim: tuple[float, float], ylim: tuple[float, float],
                box_aspect: float) -> tuple[tuple[float, float], tuple[float, float]]:
    """``xlim, ylim`` widened about their centre so that width / height equals ``box_aspect`` (1:1 units)."""
    w, h = xlim[1] - xlim[0], max(ylim[1] - ylim[0], 1e-9)
    if w / h < box_aspect:
        w = h * box_aspect
    else:
        h = w / box_aspect
    cx, cy = 0.5 * (xlim[0] + xlim[1]), 0.5 * (ylim[0] + ylim[1])
    return (cx - w / 2, cx + w / 2), (cy - h / 2, cy + h / 2)


def _metadata(spec: MapSpec, lang: str, fmt: str) -> dict[str, str]:
    title = text(spec.title, lang) or ""
    if fmt == "pdf":
        return {"Title": title, "Creator": "ecogis", "CreationDate": None}
    return {"Title": title, "Software": "ecogis"}


def _layer_styles(layer: LayerSpec, frame: gpd.GeoDataFrame, lang: str) -> tuple[list, list[int], list]:
    """Styles, per-feature style index and legend entries ``(label, style)`` of a layer, as on the web map."""
    from ecogis.render import styles

    if layer.style_by:
        keys = list(layer.classes)
        sts = [layer.class_style(k) for k in keys] + [styles.DEFAULT_STYLE]
        values = [None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
                  for v in frame[layer.style_by].tolist()]
        pos = {k: i for i, k in enumerate(keys)}
        idx = [pos.get(v, len(keys)) if v is not None else len(keys) for v in values]
        present = set(idx)
        entries, seen = [], set()
        for i, st in enumerate(sts):
            label = st.text(lang)
            if i in present and label not in seen:
                seen.add(label)
                entries.append((label, st))
        return sts, idx, entries
    st = layer.base_style()
    label = st.text(lang) if (st.label or st.label_en) else layer.name(lang)
    return [st], [0] * len(frame), [(label, st)]


def _draw_labels(ax: Any, geoms: np.ndarray, values: list[Any], layer: LayerSpec, font: str) -> None:
    pts = shapely.point_on_surface(geoms)
    halo = [pe.withStroke(linewidth=1.8, foreground="white")]
    for p, v in zip(pts, values):
        if v is None or (isinstance(v, float) and math.isnan(v)) or not str(v).strip() or p is None or p.is_empty:
            continue
        ax.text(p.x, p.y, str(v), ha="center", va="center", fontsize=max(layer.label_size * 0.75, 4.5),
                family=font, color="#222", zorder=6, path_effects=halo, clip_on=True)
