"""三线一单 control units that tile the county exactly.

Built by set operations on the boundary (all in lon/lat):

* ``P`` (优先保护) = red line ∪ protected areas ∪ water-source zones ∪
  other ecological space, within the county;
* ``K_i`` (重点管控) = each named development area − ``P`` − earlier ``K``;
* ``G`` (一般管控) = county − ``P`` − ∪K; with no 一般管控 class (Manzhouli)
  it joins ``P`` as 一般生态空间.

``P`` and ``G`` are split into the required number of units by Voronoi
cells of well-spread seeds, so the units share edges exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import shapely

from .geom import area_m2, clean, direction_name, kmeans_seeds, union, voronoi_cells
from .layers import City
from .texts import DIMENSIONS, class_text

CLASS_DIGIT = {"优先保护": "1", "重点管控": "2", "一般管控": "3"}

#: Naming preference of protected-area types for 优先保护 units.
PA_WEIGHT = {"国家公园": 4.0, "自然保护区": 3.0, "森林公园": 2.0, "湿地公园": 2.0, "草原自然公园": 2.0,
             "风景名胜区": 1.5, "地质公园": 1.0}


@dataclass
class KeyArea:
    """A named 重点管控 area and its unit-specific access-list lines."""

    name: str
    geom: shapely.Geometry
    extra: dict[str, str]


def _split(city: City, region: shapely.Geometry, n: int, tag: str) -> list[shapely.Geometry]:
    if n == 1:
        return [region]
    seeds = kmeans_seeds(city.frame, region, n, city.seed("units", tag))
    cells = voronoi_cells(city.frame, seeds, city.boundary)
    parts = [clean(region.intersection(c)) for c in cells]
    if any(p.is_empty for p in parts):
        raise ValueError(f"{city.key}: empty {tag} unit")
    return parts


def _priority_name(city: City, geom: shapely.Geometry, used: set[str]) -> str:
    """Name a 优先保护 unit after its dominant protected area or red line, else its direction."""
    total = area_m2(geom)
    shares: dict[str, tuple[float, float]] = {}
    for attrs, pa in city.records.get("protected_area", []):
        s = area_m2(clean(pa.intersection(geom))) / total
        weight = PA_WEIGHT.get(attrs["type"], 1.0)
        old = shares.get(attrs["name"], (0.0, weight))
        shares[attrs["name"]] = (old[0] + s, weight)
    # the most specific protected area wins: reserves before natural parks, geoparks last
    ranked = sorted(((s * w, s, n) for n, (s, w) in shares.items() if s > 0.2), reverse=True)
    best, share = (ranked[0][2], ranked[0][1]) if ranked else (None, 0.0)
    direction = direction_name(city.frame, geom, city.boundary)
    red = area_m2(clean(city.union_of("redline").intersection(geom))) / total
    if best and share > 0.2:
        base = best.removeprefix("内蒙古").removeprefix(city.name)
        candidates = [f"{city.name}{base}优先保护单元", f"{city.name}{base}{direction}优先保护单元"]
    else:
        kind = "生态保护红线" if red > 0.5 else "一般生态空间"
        candidates = [f"{city.name}{direction}{kind}优先保护单元"]
    k = 2
    while True:
        for name in candidates:
            if name not in used:
                used.add(name)
                return name
        candidates = [f"{candidates[-1].removesuffix(str(k - 1))}{k}"]
        k += 1


def build_units(
    city: City,
    priority: shapely.Geometry,
    key_areas: Sequence[KeyArea],
    counts: tuple[int, int, int],
    priority_extra: dict[str, str] | None = None,
) -> None:
    """Add the control units of ``city`` with ``counts`` = (优先保护, 重点管控, 一般管控)."""
    n_p, n_k, n_g = counts
    if len(key_areas) != n_k:
        raise ValueError(f"{city.key}: {len(key_areas)} key areas for {n_k} 重点管控 units")
    boundary = city.boundary
    P = clean(priority.intersection(boundary))
    taken = P
    keys = []
    for ka in key_areas:
        g = clean(ka.geom.intersection(boundary).difference(taken))
        if g.is_empty or area_m2(g) < 1e4:
            raise ValueError(f"{city.key}: key area {ka.name} vanished under the priority space")
        keys.append(g)
        taken = clean(union([taken, g]))
    G = clean(boundary.difference(taken))
    if n_g == 0:
        P = clean(union([P, G]))
        G = shapely.Polygon()
    elif G.is_empty:
        raise ValueError(f"{city.key}: no room left for 一般管控 units")

    serial = {k: 0 for k in CLASS_DIGIT}

    def code(klass: str) -> str:
        serial[klass] += 1
        return f"ZH{city.adcode}{CLASS_DIGIT[klass]}{serial[klass]:04d}"

    def texts(klass: str, extra: dict[str, str] | None) -> dict[str, str]:
        base = class_text(city.key, klass)
        for dim, line in (extra or {}).items():
            if dim not in DIMENSIONS:
                raise ValueError(f"unknown dimension {dim}")
            base[dim] = base[dim] + line
        return base

    used: set[str] = set()
    for part in _split(city, P, n_p, "priority"):
        extra = {}
        ws = city.union_of("water_source")
        if not ws.is_empty and area_m2(clean(part.intersection(ws))) > 1e4:
            extra = dict(priority_extra or {})
        city.add("control_unit", part, clip=False, code=code("优先保护"), name=_priority_name(city, part, used),
                 **{"class": "优先保护"}, **texts("优先保护", extra))
    for ka, g in zip(key_areas, keys):
        city.add("control_unit", g, clip=False, code=code("重点管控"), name=ka.name,
                 **{"class": "重点管控"}, **texts("重点管控", ka.extra))
    if n_g:
        names: set[str] = set()
        for part in _split(city, G, n_g, "general"):
            where = direction_name(city.frame, part, city.boundary) if n_g > 1 else ""
            base = f"{city.name}{where}一般管控单元"
            name, k = base, 2
            while name in names:
                name, k = f"{base}{k}", k + 1
            names.add(name)
            city.add("control_unit", part, clip=False, code=code("一般管控"), name=name,
                     **{"class": "一般管控"}, **texts("一般管控", None))
