"""Geometry primitives for the sample data.

Shapes are drawn in a local Lambert azimuthal equal-area frame (metres, on
the CGCS2000/GRS80 ellipsoid) and converted to lon/lat (EPSG:4490) at once;
every set operation between layers then happens in lon/lat, so layers that
must tile or nest do so exactly in the stored coordinates.  Areas are
measured with :func:`ecogis.normalise.area.equal_area` (vectorised, within
1e-6 of the geodesic area).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterable, Sequence

import numpy as np
import shapely
import shapely.affinity
import shapely.prepared
from pyproj import CRS, Transformer
from shapely.geometry import LineString, Point, Polygon
from shapely.ops import nearest_points

from ecogis.normalise.area import equal_area

LonLat = tuple[float, float]
EMPTY = Polygon()


def area_m2(geom: shapely.Geometry) -> float:
    """Ellipsoidal area of a lon/lat geometry in m² (0 for empty)."""
    if geom is None or geom.is_empty:
        return 0.0
    return float(equal_area(geom, "EPSG:4490"))


def clean(geom: shapely.Geometry) -> shapely.Geometry:
    """Polygonal part of ``geom``, valid, without slivers of zero area."""
    if geom is None or geom.is_empty:
        return EMPTY
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if geom.geom_type == "GeometryCollection":
        polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
        geom = shapely.union_all(polys) if polys else EMPTY
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return EMPTY
    return geom


def union(geoms: Iterable[shapely.Geometry]) -> shapely.Geometry:
    """Union of polygonal geometries (empty if none)."""
    items = [g for g in geoms if g is not None and not g.is_empty]
    return clean(shapely.union_all(items)) if items else EMPTY


@dataclass
class Frame:
    """A local equal-area metric frame centred on (lon0, lat0)."""

    lon0: float
    lat0: float
    crs: CRS = field(init=False)

    def __post_init__(self) -> None:
        self.crs = CRS.from_proj4(
            f"+proj=laea +lat_0={self.lat0:.6f} +lon_0={self.lon0:.6f} +ellps=GRS80 +units=m +no_defs"
        )
        self._fwd = Transformer.from_crs("EPSG:4490", self.crs, always_xy=True)
        self._inv = Transformer.from_crs(self.crs, "EPSG:4490", always_xy=True)

    def m(self, geom: shapely.Geometry) -> shapely.Geometry:
        """Lon/lat geometry to frame metres."""
        return shapely.transform(geom, lambda x, y: self._fwd.transform(x, y), interleaved=False)

    def ll(self, geom: shapely.Geometry) -> shapely.Geometry:
        """Frame-metre geometry to lon/lat."""
        return shapely.transform(geom, lambda x, y: self._inv.transform(x, y), interleaved=False)

    def xy(self, lonlat: LonLat) -> tuple[float, float]:
        x, y = self._fwd.transform(lonlat[0], lonlat[1])
        return float(x), float(y)

    def lonlat(self, xy: tuple[float, float]) -> LonLat:
        lon, lat = self._inv.transform(xy[0], xy[1])
        return float(lon), float(lat)


def seed_of(*parts: object) -> int:
    """A stable integer seed from names (no use of Python's salted ``hash``)."""
    text = "|".join(str(p) for p in parts).encode("utf-8")
    value = 2166136261
    for byte in text:  # FNV-1a, 32 bit
        value = ((value ^ byte) * 16777619) & 0xFFFFFFFF
    return value


def star(
    center: tuple[float, float],
    radius: float,
    *,
    aspect: float = 1.0,
    angle: float = 0.0,
    rough: float = 0.22,
    seed: int = 0,
    n: int = 64,
) -> Polygon:
    """An irregular blob in metres: a star-shaped polygon with smooth random radius.

    ``aspect`` > 1 stretches it along ``angle`` (degrees counter-clockwise
    from east); ``rough`` scales the radial noise.
    """
    rng = np.random.default_rng(seed)
    theta = np.linspace(0.0, 2.0 * math.pi, n, endpoint=False)
    r = np.ones(n)
    for k in range(2, 7):
        r += rough / k * rng.uniform(0.4, 1.0) * np.cos(k * theta + rng.uniform(0, 2 * math.pi))
    r = np.clip(r, 0.35, None)
    x = r * np.cos(theta) * math.sqrt(aspect)
    y = r * np.sin(theta) / math.sqrt(aspect)
    a = math.radians(angle)
    xr = x * math.cos(a) - y * math.sin(a)
    yr = x * math.sin(a) + y * math.cos(a)
    poly = Polygon(np.column_stack([xr, yr]))
    scale = radius / math.sqrt(poly.area / math.pi)
    return shapely.affinity.affine_transform(poly, [scale, 0, 0, scale, center[0], center[1]])


def rect(center: tuple[float, float], w: float, h: float, angle: float = 0.0) -> Polygon:
    """A rectangle of ``w`` × ``h`` metres rotated by ``angle`` degrees."""
    box = shapely.box(-w / 2, -h / 2, w / 2, h / 2)
    box = shapely.affinity.rotate(box, angle, origin=(0, 0))
    return shapely.affinity.translate(box, center[0], center[1])


def meander(
    frame: Frame,
    waypoints: Sequence[LonLat],
    *,
    amp: float = 600.0,
    wavelength: float = 6000.0,
    step: float = 250.0,
    seed: int = 0,
) -> LineString:
    """A wiggly line in metres through ``waypoints`` (lon/lat), passing through each.

    The lateral offset is a sum of three sines tapered to zero at every
    waypoint; ``amp`` is its rough amplitude in metres.
    """
    rng = np.random.default_rng(seed)
    pts = [frame.xy(p) for p in waypoints]
    out: list[tuple[float, float]] = []
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
        length = math.hypot(x1 - x0, y1 - y0)
        n = max(2, int(length / step))
        s = np.linspace(0.0, 1.0, n + 1)
        nx, ny = -(y1 - y0) / length, (x1 - x0) / length
        off = np.zeros_like(s)
        for k in range(3):
            lam = wavelength * rng.uniform(0.5, 1.6) / (k + 1)
            off += amp / (k + 1) * np.sin(2 * math.pi * s * length / lam + rng.uniform(0, 2 * math.pi))
        off *= np.sin(math.pi * s) ** 0.6
        xs = x0 + (x1 - x0) * s + nx * off
        ys = y0 + (y1 - y0) * s + ny * off
        seg = list(zip(xs.tolist(), ys.tolist()))
        out.extend(seg if not out else seg[1:])
    return LineString(out).simplify(step / 5.0)


def bisect(
    func: Callable[[float], float], target: float, lo: float, hi: float, *, rtol: float = 2e-4, it: int = 60
) -> float:
    """``x`` in [lo, hi] with ``func(x)`` ≈ ``target`` for increasing ``func``."""
    flo, fhi = func(lo), func(hi)
    if not (flo <= target <= fhi):
        raise ValueError(f"target {target:.1f} outside [{flo:.1f}, {fhi:.1f}] on [{lo}, {hi}]")
    x = lo
    for _ in range(it):
        x = 0.5 * (lo + hi)
        fx = func(x)
        if abs(fx - target) <= rtol * abs(target):
            return x
        if fx < target:
            lo = x
        else:
            hi = x
    return x


def fit_area(
    make: Callable[[float], shapely.Geometry], target_m2: float, lo: float, hi: float, *, rtol: float = 2e-4
) -> shapely.Geometry:
    """``make(s)`` for the ``s`` in [lo, hi] whose area is ``target_m2``."""
    cache: dict[float, shapely.Geometry] = {}

    def f(s: float) -> float:
        cache[s] = make(s)
        return area_m2(cache[s])

    s = bisect(f, target_m2, lo, hi, rtol=rtol)
    return cache[s] if s in cache else make(s)


def inner_fraction(outer_m: shapely.Geometry, fraction: float) -> shapely.Geometry:
    """A negative buffer of ``outer_m`` (metres) holding ``fraction`` of its area."""
    total = outer_m.area
    size = math.sqrt(total)

    def f(d: float) -> float:  # increasing in d: area of buffer(-(size - d))
        return outer_m.buffer(-(size - d), quad_segs=4).area

    d = bisect(f, fraction * total, 0.0, size, rtol=5e-3)
    return clean(outer_m.buffer(-(size - d), quad_segs=4))


def spot_in(frame: Frame, region_ll: shapely.Geometry, near: LonLat, margin: float = 0.0,
            max_shift: float = 4000.0) -> tuple[float, float]:
    """A point (frame metres) in ``region_ll`` at least ``margin`` m inside, nearest to ``near``.

    Raises if that point is more than ``max_shift`` m from ``near`` (the
    site would no longer be where its name says).
    """
    region = frame.m(region_ll)
    if margin:
        region = region.buffer(-margin, quad_segs=4)
    if region.is_empty:
        raise ValueError("region too small for the margin")
    p = Point(frame.xy(near))
    if region.contains(p):
        return p.x, p.y
    inner = region.buffer(-1.0, quad_segs=2)
    target = inner if not inner.is_empty else region
    q = nearest_points(target, p)[0]
    if q.distance(p) > max_shift:
        raise ValueError(f"nearest room is {q.distance(p) / 1000:.1f} km from {near}")
    return q.x, q.y


def voronoi_cells(frame: Frame, seeds: Sequence[LonLat], extent_ll: shapely.Geometry) -> list[shapely.Geometry]:
    """Voronoi cells (lon/lat) of ``seeds``, in seed order, covering ``extent_ll``'s envelope."""
    pts = shapely.MultiPoint([frame.xy(s) for s in seeds])
    ext_m = frame.m(extent_ll)
    env = shapely.box(*ext_m.bounds).buffer(20000.0, join_style="mitre")
    cells = shapely.get_parts(shapely.voronoi_polygons(pts, extend_to=env))
    ordered: list[shapely.Geometry] = []
    for p in shapely.get_parts(pts):
        hit = [c for c in cells if c.contains(p)]
        ordered.append(frame.ll(hit[0].intersection(env)))
    return ordered


def kmeans_seeds(frame: Frame, region_ll: shapely.Geometry, k: int, seed: int) -> list[LonLat]:
    """``k`` well-spread seed points for splitting ``region_ll`` (Lloyd iterations on samples)."""
    region = frame.m(region_ll)
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = region.bounds
    pts = np.empty((0, 2))
    prepared = shapely.prepared.prep(region)
    while len(pts) < 40 * k:
        cand = np.column_stack([rng.uniform(x0, x1, 4000), rng.uniform(y0, y1, 4000)])
        inside = np.array([prepared.contains(Point(c)) for c in cand])
        pts = np.vstack([pts, cand[inside]])
    pts = pts[: 40 * k]
    cent = pts[rng.choice(len(pts), k, replace=False)]
    for _ in range(30):
        d = ((pts[:, None, :] - cent[None, :, :]) ** 2).sum(axis=2)
        lab = d.argmin(axis=1)
        for j in range(k):
            if (lab == j).any():
                cent[j] = pts[lab == j].mean(axis=0)
    order = np.lexsort((cent[:, 0], -cent[:, 1]))  # north to south, then west to east
    return [frame.lonlat(tuple(c)) for c in cent[order]]


def direction_name(frame: Frame, geom_ll: shapely.Geometry, extent_ll: shapely.Geometry) -> str:
    """北部 / 南部 / 东部 / 西部 / 中部 … of ``geom_ll`` within ``extent_ll``."""
    gx, gy = frame.m(geom_ll).representative_point().coords[0]
    ext = frame.m(extent_ll)
    cx, cy = ext.centroid.coords[0]
    x0, y0, x1, y1 = ext.bounds
    dx, dy = (gx - cx) / (x1 - x0), (gy - cy) / (y1 - y0)
    ns = "北" if dy > 0.15 else "南" if dy < -0.15 else ""
    ew = "东" if dx > 0.15 else "西" if dx < -0.15 else ""
    if not ns and not ew:
        return "中部"
    if ns and ew:
        return ew + ns + "部"
    return (ns or ew) + "部"
