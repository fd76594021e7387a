"""The per-city collection of synthetic layers and the generic builders.

A :class:`City` holds the real boundary, its metric frame and, per layer
kind, a list of ``(attributes, geometry)`` records in lon/lat.  City modules
call the builders below; :mod:`units` and :mod:`sites` finish the job.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import geopandas as gpd
import shapely
import shapely.affinity
import shapely.ops
from shapely.geometry import Point

from .boundary import simplified_boundary
from .geom import (
    EMPTY,
    Frame,
    LonLat,
    area_m2,
    clean,
    fit_area,
    inner_fraction,
    meander,
    seed_of,
    star,
    union,
    voronoi_cells,
)

#: Column order of every layer kind (the attribute names of the brief).
COLUMNS: dict[str, list[str]] = {
    "admin": ["name", "adcode", "level"],
    "redline": ["name", "code", "function"],
    "protected_area": ["name", "type", "level", "zone"],
    "water_source": ["name", "grade", "type"],
    "control_unit": [
        "code", "name", "class", "spatial_constraint", "pollution_control", "risk_control", "resource_efficiency",
    ],
    "farmland": ["name"],
    "urban_boundary": ["name"],
    "grassland": ["name", "type", "zone"],
    "wetland": ["name", "level"],
    "mine": ["name", "type", "status", "method", "green", "licence_expiry", "feature"],
    "road": ["name", "level"],
    "railway": ["name", "level"],
    "river": ["name", "level"],
    "project": ["site_id", "name", "industry", "nature", "linear", "national_major", "unavoidable"],
    "no_burn_zone": ["name"],
    "sand_closure": ["name"],
    "forest": ["name", "origin", "category"],
    "contaminated_site": ["name", "status", "former_use"],
    "noise_sensitive_area": ["name", "type"],
    "ecological_function_zone": ["name", "zone"],
    "groundwater_zone": ["name", "zone"],
}

#: Zone fractions of the protected-area styles (inner to outer).
PA_STYLES: dict[str, list[tuple[str, float]]] = {
    "legacy": [("核心区", 0.38), ("缓冲区", 0.27), ("实验区", 0.35)],
    "new": [("核心保护区", 0.62), ("一般控制区", 0.38)],
    "park": [("一般控制区", 1.0)],
}


@dataclass
class City:
    """The layers of one sample city under construction."""

    key: str
    adcode: str
    name: str
    boundary: shapely.Geometry = field(init=False)
    frame: Frame = field(init=False)
    raw_vertices: int = field(init=False)
    records: dict[str, list[tuple[dict[str, Any], shapely.Geometry]]] = field(default_factory=dict)
    places: dict[str, LonLat] = field(default_factory=dict)
    facts: dict[str, Any] = field(default_factory=dict)
    sites: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.boundary, self.frame, self.raw_vertices = simplified_boundary(self.adcode)

    # ----------------------------------------------------------------- records
    def add_mines(self, mines: list[tuple]) -> shapely.Geometry:
        """Add mine features ``(name, mineral, status, method, green, expiry, feature, centre, ha)``; return their union."""
        for name, mineral, status, method, green, expiry, feature, center, ha in mines:
            g = self.fitted_blob(center, ha, aspect=1.5, rough=0.3, tag=name + feature)
            self.add("mine", g, name=name, type=mineral, status=status, method=method, green=green,
                     licence_expiry=expiry, feature=feature)
        return self.union_of("mine")

    def add(self, kind: str, geom: shapely.Geometry, clip: bool = True, **attrs: Any) -> shapely.Geometry:
        """Add a feature of ``kind`` (clipped to the county unless ``clip=False``)."""
        if clip:
            geom = geom.intersection(self.boundary)
            if geom.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection") and kind != "project":
                if any(g.geom_type in ("Polygon", "MultiPolygon") for g in shapely.get_parts(geom)):
                    geom = clean(geom)
            if geom.geom_type == "GeometryCollection":
                lines = [g for g in shapely.get_parts(geom) if g.geom_type in ("LineString", "MultiLineString")]
                geom = shapely.union_all(lines) if lines else geom
        if geom.is_empty:
            raise ValueError(f"{self.key}: empty {kind} feature {attrs.get('name')!r}")
        missing = [c for c in COLUMNS[kind] if c not in attrs]
        if missing:
            raise ValueError(f"{self.key}: {kind} feature lacks {missing}")
        self.records.setdefault(kind, []).append((attrs, geom))
        return geom

    def geoms(self, kind: str, **where: Any) -> list[shapely.Geometry]:
        """Geometries of ``kind`` whose attributes match ``where`` (values or tuples of values)."""
        out = []
        for attrs, geom in self.records.get(kind, []):
            ok = True
            for key, val in where.items():
                allowed = val if isinstance(val, tuple) else (val,)
                if attrs.get(key) not in allowed:
                    ok = False
                    break
            if ok:
                out.append(geom)
        return out

    def union_of(self, kind: str, **where: Any) -> shapely.Geometry:
        return union(self.geoms(kind, **where))

    def gdf(self, kind: str) -> gpd.GeoDataFrame:
        rows = self.records.get(kind, [])
        data = {c: [a[c] for a, _ in rows] for c in COLUMNS[kind]}
        return gpd.GeoDataFrame(data, geometry=[g for _, g in rows], crs="EPSG:4490")

    def kinds(self) -> list[str]:
        return [k for k in COLUMNS if self.records.get(k)]

    # ----------------------------------------------------------------- shapes
    def seed(self, *parts: object) -> int:
        return seed_of(self.key, *parts)

    def blob(self, center: LonLat, area_ha: float, *, aspect: float = 1.0, angle: float = 0.0,
             rough: float = 0.22, n: int = 56, tag: str = "") -> shapely.Geometry:
        """A blob of ``area_ha`` (before clipping) centred on ``center``, in lon/lat."""
        r = math.sqrt(area_ha * 1e4 / math.pi)
        g = star(self.frame.xy(center), r, aspect=aspect, angle=angle, rough=rough,
                 seed=self.seed("blob", tag or center), n=n)
        return self.frame.ll(g)

    def fitted_blob(self, center: LonLat, area_ha: float, *, within: shapely.Geometry | None = None,
                    aspect: float = 1.0, angle: float = 0.0, rough: float = 0.22, n: int = 64,
                    tag: str = "") -> shapely.Geometry:
        """A blob whose area inside ``within`` (default the county) is exactly ``area_ha``."""
        clip = self.boundary if within is None else within
        xy = self.frame.xy(center)
        seed = self.seed("fitted", tag or center)
        base = star((0.0, 0.0), 1000.0, aspect=aspect, angle=angle, rough=rough, seed=seed, n=n)

        def make(scale: float) -> shapely.Geometry:
            g = shapely.affinity.affine_transform(base, [scale, 0, 0, scale, xy[0], xy[1]])
            return clean(self.frame.ll(g).intersection(clip))

        r0 = math.sqrt(area_ha * 1e4 / math.pi) / 1000.0
        return fit_area(make, area_ha * 1e4, 0.2 * r0, 6.0 * r0)

    def corridor(self, line_ll: shapely.Geometry, area_ha: float, *, within: shapely.Geometry | None = None,
                 tag: str = "") -> shapely.Geometry:
        """A buffer of ``line_ll`` whose area inside ``within`` is ``area_ha``."""
        clip = self.boundary if within is None else within
        line_m = self.frame.m(line_ll)

        def make(w: float) -> shapely.Geometry:
            return clean(self.frame.ll(line_m.buffer(w, quad_segs=4).simplify(15)).intersection(clip))

        length = max(line_m.length, 1.0)
        w0 = area_ha * 1e4 / (2 * length)
        return fit_area(make, area_ha * 1e4, 0.2 * w0, 8.0 * w0)

    def line(self, waypoints: Sequence[LonLat], *, amp: float = 500.0, wavelength: float = 8000.0,
             step: float = 300.0, tag: str = "") -> shapely.Geometry:
        """A meandering line through ``waypoints`` in lon/lat (not clipped)."""
        g = meander(self.frame, waypoints, amp=amp, wavelength=wavelength, step=step,
                    seed=self.seed("line", tag or waypoints[0]))
        return self.frame.ll(g)

    def buffer_ll(self, geom_ll: shapely.Geometry, metres: float, quad_segs: int = 4) -> shapely.Geometry:
        """Buffer a lon/lat geometry by ``metres``."""
        return clean(self.frame.ll(self.frame.m(geom_ll).buffer(metres, quad_segs=quad_segs)))

    def point(self, lonlat: LonLat) -> Point:
        return Point(lonlat)

    # ----------------------------------------------------------------- builders
    def protected_area(self, name: str, type_: str, level: str, outer: shapely.Geometry, style: str) -> None:
        """Add a protected area split into the zones of ``style`` (``legacy``, ``new``, ``park``)."""
        outer = clean(outer.intersection(self.boundary))
        zones = PA_STYLES[style]
        if len(zones) == 1:
            self.add("protected_area", outer, name=name, type=type_, level=level, zone=zones[0][0])
            return
        outer_m = self.frame.m(outer)
        cumulative = 0.0
        previous = EMPTY
        pieces = []
        for zone, frac in zones[:-1]:
            cumulative += frac
            inner = clean(self.frame.ll(inner_fraction(outer_m, cumulative)).intersection(outer))
            pieces.append((zone, clean(inner.difference(previous))))
            previous = inner
        pieces.append((zones[-1][0], clean(outer.difference(previous))))
        for zone, geom in pieces:
            self.add("protected_area", geom, name=name, type=type_, level=level, zone=zone)

    def water_source(self, name: str, type_: str, grade1: shapely.Geometry, widths: tuple[float, float]) -> None:
        """Concentric non-overlapping zones: 一级 = ``grade1``; 二级 and 准保护区 rings of ``widths`` m."""
        g1 = clean(grade1.intersection(self.boundary))
        g2_outer = clean(self.buffer_ll(g1, widths[0], quad_segs=6).intersection(self.boundary))
        g3_outer = clean(self.buffer_ll(g1, widths[0] + widths[1], quad_segs=6).intersection(self.boundary))
        self.add("water_source", g1, name=name, grade="一级保护区", type=type_)
        self.add("water_source", clean(g2_outer.difference(g1)), name=name, grade="二级保护区", type=type_)
        self.add("water_source", clean(g3_outer.difference(g2_outer)), name=name, grade="准保护区", type=type_)

    def river_source(self, name: str, river_ll: shapely.Geometry, intake: LonLat,
                     lengths: tuple[float, float, float], widths: tuple[float, float, float]) -> None:
        """Surface-water zones along ``river_ll`` upstream (towards its start) of ``intake``.

        ``lengths`` are the upstream reach lengths (m) of the 一级, 二级 and
        准保护区 and ``widths`` their half-widths (m); the downstream reach is
        a tenth of each length.
        """
        line_m = self.frame.m(river_ll)
        if line_m.geom_type == "MultiLineString":
            line_m = max(line_m.geoms, key=lambda g: g.length)
        pos = line_m.project(Point(self.frame.xy(intake)))
        shapes = []
        for length, width in zip(lengths, widths):
            seg = shapely.ops.substring(line_m, max(0.0, pos - length), min(line_m.length, pos + length / 10))
            shapes.append(clean(self.frame.ll(seg.buffer(width, quad_segs=4)).intersection(self.boundary)))
        g1 = shapes[0]
        g2 = clean(union([shapes[1], g1]))
        g3 = clean(union([shapes[2], g2]))
        self.add("water_source", g1, name=name, grade="一级保护区", type="地表水")
        self.add("water_source", clean(g2.difference(g1)), name=name, grade="二级保护区", type="地表水")
        self.add("water_source", clean(g3.difference(g2)), name=name, grade="准保护区", type="地表水")

    def redline(self, core: shapely.Geometry, exclude: shapely.Geometry, target_m2: float,
                functions: Sequence[tuple[LonLat, str]], *, dmax: float = 30000.0) -> shapely.Geometry:
        """Calibrate and add the red line: ``core`` grown by a buffer, minus ``exclude``.

        The buffer distance is found by bisection so that the red line's
        area is ``target_m2``; the result is split into one feature per
        function cell (a Voronoi cell around each ``functions`` seed).
        """
        core_m = self.frame.m(core).simplify(30.0)
        boundary = self.boundary

        def make(d: float) -> shapely.Geometry:
            g = core_m.buffer(d, quad_segs=3).simplify(40.0) if d else core_m
            return clean(self.frame.ll(g).intersection(boundary).difference(exclude))

        red = fit_area(make, target_m2, -2000.0, dmax, rtol=1e-4)
        cells = voronoi_cells(self.frame, [p for p, _ in functions], self.boundary)
        serial = 0
        for (_, func), cell in zip(functions, cells):
            part = clean(red.intersection(cell))
            if part.is_empty or area_m2(part) < 1e4:
                continue
            serial += 1
            self.add("redline", part, clip=False, name=f"{self.name}{func}生态保护红线{serial:02d}",
                     code=f"HX{self.adcode}{serial:03d}", function=func)
        self.facts["redline_target_m2"] = target_m2
        return red

    def grassland(self, extent: shapely.Geometry, parts: Sequence[tuple],
                  no_grazing: shapely.Geometry) -> None:
        """Split ``extent`` into named grassland parts, each into 禁牧区 and a rest zone.

        ``parts`` are ``(seed, name, type)`` or ``(seed, name, type, rest_zone)``
        (default rest zone 草畜平衡区); the Voronoi cell of each seed is that part.
        """
        cells = voronoi_cells(self.frame, [p[0] for p in parts], self.boundary)
        for part, cell in zip(parts, cells):
            _, name, type_ = part[:3]
            rest_zone = part[3] if len(part) > 3 else "草畜平衡区"
            piece = clean(extent.intersection(cell))
            if piece.is_empty:
                continue
            ban = clean(piece.intersection(no_grazing))
            rest = clean(piece.difference(no_grazing))
            if not ban.is_empty and area_m2(ban) > 1e4:
                self.add("grassland", ban, clip=False, name=f"{name}{type_}（禁牧）", type=type_, zone="禁牧区")
            if not rest.is_empty and area_m2(rest) > 1e4:
                label = rest_zone.removesuffix("区")
                self.add("grassland", rest, clip=False, name=f"{name}{type_}（{label}）", type=type_, zone=rest_zone)
