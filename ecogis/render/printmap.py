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
                scale_pt: float, hatch: Sequence[str] | None = None) -> None:
    """Draw geometries: polygons filled and outlined (and hatched by ``hatch``, one pattern per feature),
    lines stroked, points as dots."""
    types = shapely.get_type_id(geoms)
    if hatch is not None:
        hatch_arr = np.asarray(list(hatch), dtype=object)
        for pattern in sorted({h for h in hatch_arr if h}):
            sel = (hatch_arr == pattern) & np.isin(types, (3, 6))
            paths = [p for p in (_polygon_path(g) for g in geoms[sel]) if p is not None]
            if paths:
                ax.add_collection(PathCollection(paths, facecolors="none", edgecolors="#3a3a3a", linewidths=0,
                                                 hatch=pattern, zorder=2.2))
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


def _draw_graticule(ax: Any, xlim: tuple[float, float], ylim: tuple[float, float], font: str,
                    size: float = 6.5) -> None:
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
    ax.set_xticks(xs, [dms_label(v, False) for v in lons], fontsize=size, family=font)
    ax.set_yticks(ys, [dms_label(v, True) for v in lats], fontsize=size, family=font, rotation=90, va="center")
    ax.tick_params(top=True, right=True, labeltop=True, labelright=True, length=3, width=0.5, pad=2)
    for lab in ax.get_yticklabels(which="both"):
        lab.set_rotation(90)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)


def _draw_scale_bar(ax: Any, xlim: tuple[float, float], ylim: tuple[float, float], font: str, lang: str, *,
                    k: float = 1.0, numeric: int | None = None) -> Any:
    """The graphic scale (geodesic on CGCS2000, at the centre latitude, where the numeric scale is true) and
    the numeric ``1:N`` under it, bottom left; returns the box it occupies (for the label pass)."""
    w = xlim[1] - xlim[0]
    yc = 0.5 * (ylim[0] + ylim[1])
    metres, length = scale_bar_length(xlim[0], xlim[1], yc)
    fig = ax.figure
    pos = ax.get_position()
    aw, ah = pos.width * fig.get_size_inches()[0], pos.height * fig.get_size_inches()[1]
    fx, fy = 1.0 / aw, 1.0 / ah  # one inch in axes fractions
    L = length / w  # the bar, in axes fractions
    x = 0.025 + 0.12 * k * fx
    y = 0.02 + ((0.50 if numeric else 0.22) * k) * fy
    bh = 0.05 * k * fy
    tr = ax.transAxes
    halo = [pe.withStroke(linewidth=2.5 * k, foreground="white")]
    box_w = max(L + 0.30 * k * fx, 1.75 * k * fx if numeric else 0)
    back = Rectangle((0.025, 0.02), box_w, y - 0.02 + 0.30 * k * fy, transform=tr, fc="white", ec="#999",
                     lw=0.4 * k, alpha=0.92, zorder=8)
    ax.add_patch(back)
    for i in range(4):
        ax.add_patch(Rectangle((x + i * L / 4, y), L / 4, bh, transform=tr, fc="black" if i % 2 == 0 else "white",
                               ec="black", lw=0.6 * k, zorder=9))
    unit_km = metres >= 1000
    value = metres / 1000 if unit_km else metres
    unit = ("千米" if lang == "zh" else "km") if unit_km else ("米" if lang == "zh" else "m")
    for frac in (0, 0.5, 1):
        v = value * frac
        ax.text(x + frac * L, y + bh + 0.03 * k * fy, f"{v:g}", ha="center", va="bottom", fontsize=6.5 * k,
                family=font, zorder=10, path_effects=halo, transform=tr)
    ax.text(x + L + 0.08 * k * fx, y + bh / 2, unit, ha="left", va="center", fontsize=6.5 * k, family=font,
            zorder=10, transform=tr)
    if numeric:
        lat = _FROM_MERC.transform(0.5 * sum(xlim), yc)[1]
        ax.text(x, y - 0.06 * k * fy, f"1:{numeric:,}", ha="left", va="top", fontsize=8.5 * k, family=font,
                fontweight="bold", zorder=10, transform=tr)
        ax.text(x, y - 0.26 * k * fy, (f"中心纬度 {lat:.1f}° 处，CGCS2000 椭球" if lang == "zh"
                                       else f"true at {lat:.1f}°, CGCS2000 ellipsoid"),
                ha="left", va="top", fontsize=5.2 * k, family=font, zorder=10, color="#333", transform=tr)
    return back


def _draw_north_arrow(ax: Any, font: str, *, k: float = 1.0) -> Any:
    """A north arrow in the top-right corner (north is up in Web Mercator); returns its patch (for labels)."""
    fig = ax.figure
    pos = ax.get_position()
    aw, ah = pos.width * fig.get_size_inches()[0], pos.height * fig.get_size_inches()[1]
    hx, hy = 0.16 * k / aw, 0.16 * k / ah  # half width, in axes fractions
    cx, top = 1 - 0.35 * k / aw, 1 - 0.30 * k / ah
    bottom = top - 0.42 * k / ah
    ax.add_patch(Polygon([(cx, top), (cx - hx, bottom), (cx, bottom + 0.1 * k / ah)], closed=True, fc="black",
                         ec="black", lw=0.6 * k, transform=ax.transAxes, zorder=10))
    ax.add_patch(Polygon([(cx, top), (cx + hx, bottom), (cx, bottom + 0.1 * k / ah)], closed=True, fc="white",
                         ec="black", lw=0.6 * k, transform=ax.transAxes, zorder=10))
    ax.text(cx, top + 0.03 * k / ah, "N", ha="center", va="bottom", fontsize=10 * k, fontweight="bold", family=font,
            transform=ax.transAxes, zorder=10, path_effects=[pe.withStroke(linewidth=2.5 * k, foreground="white")])
    return Rectangle((cx - 1.6 * hx, bottom - 0.03 * k / ah), 3.2 * hx, top - bottom + 0.3 * k / ah,
                     transform=ax.transAxes)


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


#: Round scale denominators: 1, 1.2, 1.25, 1.5, 1.6, 2, 2.5, 3, 4, 5, 6, 7.5, 8 × 10^k (the view grows ≤ 25 %).
_SCALE_STEPS = (1.0, 1.2, 1.25, 1.5, 1.6, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 7.5, 8.0, 10.0)


def nice_scale(denominator: float) -> int:
    """The smallest round scale denominator not below ``denominator`` (1:N with N = 1, 1.5, 2, 2.5 … × 10^k)."""
    exp = math.floor(math.log10(denominator))
    for s in _SCALE_STEPS:
        if s * 10.0 ** exp >= denominator * (1 - 1e-9):
            return int(round(s * 10.0 ** exp))
    return int(round(10.0 ** (exp + 1)))


def scale_denominator(xlim: tuple[float, float], ylim: tuple[float, float], width_in: float) -> float:
    """The true scale 1:N at the map's centre latitude for an axes ``width_in`` inches wide.

    Web Mercator is conformal and its scale depends on latitude only, so along the centre parallel it is
    the ground length of that parallel across the map (an arc of radius N(φ)·cos φ on the CGCS2000
    ellipsoid) over the printed width.
    """
    (lon0, lon1), (lat, _) = _FROM_MERC.transform([xlim[0], xlim[1]], [0.5 * sum(ylim)] * 2)
    a, es = _GEOD.a, _GEOD.es
    phi = math.radians(lat)
    radius = a / math.sqrt(1 - es * math.sin(phi) ** 2) * math.cos(phi)
    ground = radius * math.radians(lon1 - lon0)
    return ground / (width_in * 0.0254)


def _wrap(line: str, width_pt: float, size_pt: float) -> list[str]:
    """``line`` broken into pieces that fit ``width_pt`` at ``size_pt`` (CJK one em wide, others ~0.56 em)."""
    import unicodedata

    out, cur, w = [], "", 0.0
    for ch in line:
        cw = size_pt * (1.0 if unicodedata.east_asian_width(ch) in "WF" else 0.56)
        if cur and w + cw > width_pt:
            out.append(cur)
            cur, w = "", 0.0
        cur += ch
        w += cw
    if cur:
        out.append(cur)
    return out


def print_map(spec: MapSpec | str | os.PathLike, workspace: Any, out: str | os.PathLike, *,
              paper: str | None = None, dpi: int | None = None, lang: str | None = None,
              basemap: str | None = None, tianditu_key: str | None = None, orientation: str | None = None,
              notes: Notes | None = None, opener: Any = None) -> Path:
    """Draw ``spec`` as a static 专题图 and write it to ``out`` (``.pdf`` or ``.png``), atomically.

    The print has 图名 (and subtitle), the map with a CGCS2000 graticule, 指北针, 图例, a graphic and a
    numeric scale (1:N, round, true at the centre latitude on the CGCS2000 ellipsoid: the extent is
    widened to make it so), 数据来源, 数据日期, 制图单位, 制图日期 and the 审图号 line — "未经审核" in
    red when the spec has none.  Labels are placed by priority (larger features first) and a label whose
    rendered extent would overlap another, the map furniture or the frame is moved or left out.  Fonts
    are embedded as TrueType/CID (``pdf.fonttype`` 42), never Type 3.

    Parameters
    ----------
    spec:
        A :class:`MapSpec` or a spec file.
    workspace:
        A workspace path, URI or open workspace.
    paper, dpi, orientation, lang, basemap:
        Override the spec's (``print:`` section, ``lang``, ``basemap``).  Papers A4 … A0.
        ``dpi`` sets the PNG resolution (PDF is vector; rasters in it use it).
    notes:
        Receives spec warnings (classes missing from the spec, layers without a title), labels left
        out, and a note when a basemap was asked for but could not be fetched.
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
        raise SpecError(f"unknown paper {paper!r}", where="--paper", hint=", ".join(PAPERS))
    dpi = spec.dpi if dpi is None else dpi
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or not math.isfinite(dpi) or dpi != int(dpi):
        raise SpecError(f"dpi must be a whole number, not {dpi!r}", where="--dpi", hint="50 to 1200")
    dpi = int(dpi)
    if not 50 <= dpi <= 1200:
        raise SpecError(f"dpi {dpi} is out of range", where="--dpi", hint="50 to 1200")
    lang = lang or spec.lang
    zh = lang == "zh"
    basemap = basemap or spec.basemap
    notes = notes if notes is not None else Notes()
    font, _ = find_cjk_font()

    data = read_layers(spec, workspace, notes)
    frames = [webmap._lonlat_frame(g, layer.name(lang)) for layer, g in data]
    from ecogis.render.publish import UNAPPROVED, auto_simplify_m, credit_lines, view_bounds

    bounds = view_bounds(spec, frames)
    gcj = webmap.needs_gcj02(basemap)
    (mx0, mx1), (my0, my1) = _TO_MERC.transform([bounds[0], bounds[2]], [bounds[1], bounds[3]])
    aspect = (mx1 - mx0) / max(my1 - my0, 1e-9)
    orient = orientation or spec.orientation
    fw, fh = _paper_inches(paper, orient, aspect)
    k = min(fw, fh) / (210 / 25.4)  # type grows with the paper: 1 on A4, 4 on A0
    k = k ** 0.75
    scale_pt = 0.6 * k  # Leaflet pixel widths → points

    # text.parse_math off: a "$...$" in a title, legend label or feature label is text, never mathtext
    with matplotlib.rc_context({**fonts.rc_params(font), "hatch.linewidth": 0.6 * k,
                                "text.parse_math": False, "text.usetex": False}):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        fig = Figure(figsize=(fw, fh), dpi=dpi)
        FigureCanvasAgg(fig)
        renderer = fig.canvas.get_renderer()
        margin = 0.42 * k / fw  # tick labels on the left
        margin_r = 0.42 * k / fw
        col_w = (0.26 if fw > fh else 0.30) if spec.print_legend else 0.0
        top_band = (0.95 * k if text(spec.subtitle, lang) else 0.70 * k) / fh
        bottom_band = 0.40 * k / fh
        gap = 0.18 * k / fw
        box = (margin, bottom_band, 1 - col_w - margin - margin_r - gap, 1 - top_band - bottom_band - 0.28 * k / fh)
        ax = fig.add_axes(box)
        ax.set_facecolor("#fbfaf7")
        width_in = box[2] * fw

        xlim, ylim = _fit_limits((mx0, mx1), (my0, my1), box[2] * fw / (box[3] * fh))
        exact = scale_denominator(xlim, ylim, width_in)
        denom = nice_scale(exact)
        grow = denom / exact  # widen the view so the printed scale is exactly 1:denom at the centre
        cx, cy = 0.5 * sum(xlim), 0.5 * sum(ylim)
        xlim = (cx - (cx - xlim[0]) * grow, cx + (xlim[1] - cx) * grow)
        ylim = (cy - (cy - ylim[0]) * grow, cy + (ylim[1] - cy) * grow)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)

        simplify = spec.simplify_m if spec.simplify_m is not None else auto_simplify_m(bounds)
        legend_entries: list[tuple[str, Any, str]] = []
        label_jobs = []
        for (layer, _), frame in zip(data, frames):
            if not len(frame):
                continue
            geoms = np.asarray(frame.geometry.values, dtype=object)
            if gcj:
                geoms = shift_geometries(geoms, "wgs84:gcj02")
            geoms = webmap._simplify(geoms, simplify)
            geoms = shapely.transform(geoms, lambda xy: np.column_stack(_TO_MERC.transform(xy[:, 0], xy[:, 1])))
            styles_list, idx, entries = _layer_styles(layer, frame, lang)
            hatch = _hatches(layer, frame)
            _draw_layer(ax, geoms, idx, styles_list, scale_pt, hatch=hatch)
            if layer.legend:
                legend_entries += [(lab, st, "") for lab, st in entries]
                legend_entries += _hatch_entries(layer, frame, lang)
            if layer.label_field:
                label_jobs.append((geoms, frame[layer.label_field].tolist(), layer))

        credits = credit_lines(spec, lang, approval=False)
        if basemap != "none":
            px = int(fw * dpi * (1 - col_w))
            got = fetch_basemap(xlim, ylim, basemap, width_px=px, tianditu_key=tianditu_key, opener=opener)
            if got is None:
                msg = (f"底图 {basemap} 无法获取，本图未绘制底图" if zh
                       else f"basemap {basemap} could not be fetched; printed without it")
                notes.add("basemap", msg)
                credits.append(msg)
            else:
                img, ext, attribution = got
                ax.imshow(img, extent=ext, zorder=0, interpolation="bilinear")
                credits.append(re.sub(r"<[^>]+>", "", attribution).replace("&copy;", "©"))
                if gcj:
                    credits.append("底图为 GCJ-02 坐标，矢量已偏移至 GCJ-02" if zh
                                   else "Basemap in GCJ-02; vector layers shifted to GCJ-02")
                ax.set_xlim(*xlim)
                ax.set_ylim(*ylim)
        if spec.print_grid:
            _draw_graticule(ax, xlim, ylim, font, size=6.5 * k)
        else:
            ax.set_xticks([])
            ax.set_yticks([])
        obstacles = []
        if spec.print_scale_bar:
            obstacles.append(_draw_scale_bar(ax, xlim, ylim, font, lang, k=k,
                                             numeric=denom if spec.print_numeric_scale else None))
        if spec.print_north_arrow:
            obstacles.append(_draw_north_arrow(ax, font, k=k))
        for sp in ax.spines.values():
            sp.set_linewidth(0.8 * k)
        dropped = 0
        placed: list[Any] = []
        for geoms, values, layer in label_jobs:
            dropped += _place_labels(ax, renderer, geoms, values, layer, font, k, placed, obstacles)
        if dropped:
            notes.add("labels", (f"{dropped} 个标注因与其他标注、图框或图饰重叠而未印出" if zh
                                 else f"{dropped} labels left out: they would overlap others, the frame or the "
                                      "map furniture"))

        fig.text(0.5, 1 - 0.22 * k / fh, text(spec.title, lang), ha="center", va="top", fontsize=17 * k,
                 fontweight="bold", family=font)
        sub = text(spec.subtitle, lang)
        if sub:
            fig.text(0.5, 1 - 0.58 * k / fh, sub, ha="center", va="top", fontsize=10 * k, family=font, color="#333")

        col_x = box[0] + box[2] + gap + 0.04 * k / fw
        col_top = box[1] + box[3]
        if spec.print_legend:
            handles = _legend_handles(legend_entries, scale_pt, k)
            if spec.legend_entries is not None:
                handles = [Patch(facecolor=e["fill"], edgecolor=e.get("stroke", e["fill"]),
                                 label=text(e["label"], lang)) for e in spec.legend_entries]
            if handles:
                fig.legend(handles=handles, loc="upper left", bbox_to_anchor=(col_x - 0.02 * k / fw, col_top),
                           title=text(spec.legend_title, lang) or webmap._TEXT[lang]["legend"],
                           frameon=True, framealpha=1, edgecolor="#999", fancybox=False,
                           prop={"family": font, "size": 8 * k}, title_fontsize=10 * k, handlelength=2.4,
                           handleheight=1.4, alignment="left", borderaxespad=0, labelspacing=0.55)
        # 数据来源 / 数据日期 / 制图单位·制图日期 in the column foot (or the bottom band without a column)
        size = 6.8 * k
        line_h = size * 1.45 / 72 / fh
        col_pt = (col_w - 0.02 * k / fw) * fw * 72 if col_w else (box[2] * fw * 72)
        lines: list[tuple[str, str, bool]] = []
        for c in credits:
            lines += [(piece, "#333", False) for piece in _wrap(c, col_pt, size)]
        approval = text(spec.approval_no, lang)
        if approval:
            ap = approval if approval.startswith(("审图号", "GS", "Map approval")) else (
                ("审图号：" if zh else "Map approval no.: ") + approval)
            lines += [(piece, "#000", True) for piece in _wrap(ap, col_pt, size * 1.1)]
        else:
            lines += [(piece, "#c00000", True) for piece in _wrap(UNAPPROVED[lang], col_pt, size * 1.1)]
        x_text = col_x if col_w else margin
        y = box[1]
        for piece, colour, strong in reversed(lines):
            fig.text(x_text, y, piece, ha="left", va="bottom", fontsize=size * (1.1 if strong else 1.0),
                     family=font, color=colour, fontweight="bold" if strong else "normal")
            y += line_h * (1.1 if strong else 1.0)
        if not approval:  # a stamp on the map itself: an unapproved map never looks finished
            ax.text(0.99, 0.01, "未经审核" if zh else "NOT REVIEWED", transform=ax.transAxes, ha="right",
                    va="bottom", fontsize=11 * k, color="#c00000", fontweight="bold", family=font, zorder=12,
                    bbox={"boxstyle": "square,pad=0.3", "fc": "white", "ec": "#c00000", "lw": 0.9 * k})
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


def _hatches(layer: LayerSpec, frame: gpd.GeoDataFrame) -> list[str] | None:
    """Per-feature hatch pattern of a layer with ``hatch_by`` (kind of protected area …), or None."""
    if not layer.hatch_by or layer.hatch_by not in frame.columns:
        return None
    return [layer.hatches.get(str(v), "") for v in frame[layer.hatch_by].tolist()]


def _hatch_entries(layer: LayerSpec, frame: gpd.GeoDataFrame, lang: str) -> list[tuple[str, Any, str]]:
    """Legend entries of the hatch classes present (white fill, the pattern, a dark outline)."""
    if not layer.hatch_by or layer.hatch_by not in frame.columns:
        return []
    from ecogis.render.styles import ClassStyle

    present = {str(v) for v in frame[layer.hatch_by].dropna().tolist()}
    st = ClassStyle("#ffffff", "#3a3a3a", fill_opacity=1.0, weight=1.0)
    return [(v, st, pat) for v, pat in layer.hatches.items() if v in present]


def _legend_handles(entries: Sequence[tuple[str, Any, str]], scale_pt: float, k: float) -> list[Patch]:
    """Legend patches; entries that would look alike (same fill, outline, dash and hatch) are merged into
    one whose label names them all (``核心保护区/核心区``), so no two entries look the same."""
    merged: dict[tuple, list[str]] = {}
    styles: dict[tuple, tuple[Any, str]] = {}
    for label, st, hatch in entries:
        key = (st.fill, round(st.fill_opacity, 3), st.stroke, st.dash, round(st.weight, 2), hatch)
        if label not in merged.setdefault(key, []):
            merged[key].append(label)
        styles[key] = (st, hatch)
    out = []
    for key, labels in merged.items():
        st, hatch = styles[key]
        out.append(Patch(facecolor=to_rgba(st.fill, st.fill_opacity) if st.fill_opacity > 0 else "none",
                         edgecolor=st.stroke, linewidth=max(st.weight * scale_pt, 0.6 * k),
                         linestyle=_dash(st.dash, st.weight), hatch=hatch or None, label="/".join(labels)))
    return out


def _overlaps(b: Any, others: Sequence[Any]) -> bool:
    return any(b.overlaps(o) for o in others)


def _place_labels(ax: Any, renderer: Any, geoms: np.ndarray, values: list[Any], layer: LayerSpec, font: str,
                  k: float, placed: list[Any], obstacles: Sequence[Any]) -> int:
    """Place a layer's labels without collisions; return how many were left out.

    Larger features first.  Each label tries its feature's representative point, then above, below,
    right and left of it, then the same broken onto two lines; it is kept at the first position whose
    rendered extent is inside the frame and clear of every label already placed and of the map
    furniture (scale bar, north arrow).  ``placed`` collects the kept extents across layers.
    """
    pts = shapely.point_on_surface(geoms)
    area = shapely.area(geoms)
    order = np.argsort(-np.nan_to_num(area, nan=0.0), kind="stable")
    frame_box = ax.get_window_extent(renderer).shrunk(0.985, 0.985)
    blocked = [o.get_window_extent(renderer) for o in obstacles if o is not None]
    size = max(layer.label_size * 0.75, 4.5) * k
    halo = [pe.withStroke(linewidth=1.8 * k, foreground="white")]
    dropped = 0
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    for i in order:
        v, p = values[i], pts[i]
        if v is None or (isinstance(v, float) and math.isnan(v)) or not str(v).strip() or p is None or p.is_empty:
            continue
        if not (x0 <= p.x <= x1 and y0 <= p.y <= y1):
            continue
        label = str(v).strip()
        texts = [label]
        if len(label) > 6:
            mid = len(label) // 2
            texts.append(label[:mid] + "\n" + label[mid:])
        done = False
        for t in texts:
            d = size * 1.3
            for dx, dy in ((0, 0), (0, d), (0, -d), (d * 2.5, 0), (-d * 2.5, 0)):
                art = ax.annotate(t, (p.x, p.y), xytext=(dx, dy), textcoords="offset points", ha="center",
                                  va="center", fontsize=size, family=font, color="#222", zorder=6,
                                  path_effects=halo, annotation_clip=True, multialignment="center")
                bb = art.get_window_extent(renderer).expanded(1.04, 1.1)
                inside = (bb.x0 >= frame_box.x0 and bb.x1 <= frame_box.x1 and bb.y0 >= frame_box.y0
                          and bb.y1 <= frame_box.y1)
                if inside and not _overlaps(bb, placed) and not _overlaps(bb, blocked):
                    placed.append(bb)
                    done = True
                    break
                art.remove()
            if done:
                break
        if not done:
            dropped += 1
    return dropped
