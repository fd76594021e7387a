"""Where each layer kind can be judged: layer present, not empty, and its coverage extent covering the site.

A rule can only be said to find nothing on a site where its layer kind is
*available*: the layer exists in the workspace, holds features, and the
coverage extent recorded at import (the jurisdiction the data was delivered
for, ``layers import --coverage``) covers the site.  Everywhere else the
rule was not evaluated and the site cannot be called clear.

Layers imported before coverage extents were recorded have none; they are
taken as covering the workspace's ``admin`` boundary (with a note), or,
without an admin layer, the layer's recorded bounding box.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely

from ecogis.normalise.area import area_ha
from ecogis.notes import Notes
from ecogis.screening.geometry import from_metric, geodesic_length, to_metric

#: A site counts as covered when at most this share of it (area or length) lies outside (1e-6 = 1 ppm).
TOLERANCE = 1e-6

STATUS_TEXT = {
    "missing": {"zh": "图层缺失", "en": "layer missing"},
    "empty": {"zh": "图层为空", "en": "layer empty"},
    "outside": {"zh": "{pct}%在图层覆盖范围外", "en": "{pct}% outside the layer's coverage"},
    "reach": {"zh": "{reach}米检索范围的{pct}%在图层覆盖范围外",
              "en": "{pct}% of the {reach} m search zone outside the layer's coverage"},
    "name": {"zh": "图层中无名为{name}的要素", "en": "no feature named {name} in the layer"},
}


@dataclass(frozen=True)
class KindCoverage:
    """Availability of one layer kind: ``ok``, ``missing`` or ``empty``, and where it holds."""

    kind: str
    status: str
    geometry: Any = None
    basis: str = ""


def coverage_geometry(info: Any) -> Any:
    """The recorded coverage extent of a :class:`~ecogis.workspace.LayerInfo` (``None`` when not recorded)."""
    wkb = getattr(info, "coverage", None)
    if not wkb:
        return None
    return shapely.from_wkb(bytes.fromhex(wkb) if isinstance(wkb, str) else wkb)


def admin_union(ws: Any) -> Any:
    """The union of the workspace's ``admin`` polygons, or ``None`` without an admin layer."""
    if not ws.has("admin"):
        return None
    admin = ws.read("admin")
    if not len(admin):
        return None
    return shapely.union_all(np.asarray(admin.geometry.values, dtype=object))


def layer_coverages(ws: Any, kinds: list[str], notes: Notes, *, admin: Any = None) -> dict[str, KindCoverage]:
    """:class:`KindCoverage` of each kind in ``kinds`` (``admin``: the admin union, read if not given)."""
    present = set(ws.kinds())
    infos = {li.kind: li for li in ws.layers()}
    if admin is None:
        admin = admin_union(ws)
    out: dict[str, KindCoverage] = {}
    assumed: list[str] = []
    boxed: list[str] = []
    for kind in kinds:
        if kind not in present:
            out[kind] = KindCoverage(kind, "missing")
            continue
        count = _count(ws, kind)
        info = infos.get(kind)
        declared = count == 0 and getattr(info, "mode", "") == "empty" and coverage_geometry(info) is not None
        if count == 0 and not declared:
            out[kind] = KindCoverage(kind, "empty")
            continue
        geom = coverage_geometry(info) if info is not None else None
        basis = getattr(info, "coverage_basis", "") or ""
        if kind == "admin" and admin is not None:
            geom, basis = admin, "admin boundary"
        elif geom is None and admin is not None:
            geom, basis = admin, "admin boundary (no coverage recorded)"
            assumed.append(kind)
        elif geom is None:
            b = getattr(info, "bounds", None)
            geom = shapely.box(*b) if b else shapely.Polygon()
            basis = "bounding box of the layer (no coverage recorded, no admin layer)"
            boxed.append(kind)
        if declared:
            basis = f"declared to hold no features within: {basis}"
        recorded = getattr(info, "feature_count", None)
        if kind != "admin" and recorded is not None and int(recorded) != count:
            # the table was changed outside ecogis after import: its recorded coverage no longer vouches for it
            feats = ws.read(kind)
            hull = shapely.convex_hull(shapely.union_all(np.asarray(feats.geometry.values, dtype=object)))
            geom = shapely.intersection(geom, hull)
            basis += f"; cut to the hull of its {count} features (the metadata records {recorded})"
            notes.add("coverage", f"layer {kind} holds {count} features but its import recorded {recorded}: it was"
                      " changed outside ecogis; its coverage is cut to the convex hull of what it holds")
        shapely.prepare(geom)
        out[kind] = KindCoverage(kind, "ok", geom, basis)
    if assumed:
        notes.add("coverage", "no coverage extent recorded for " + ", ".join(sorted(assumed))
                  + ": taken as the workspace's admin boundary (re-import with --coverage FILE to record one)")
    if boxed:
        notes.add("coverage", "no coverage extent recorded and no admin layer: the coverage of "
                  + ", ".join(sorted(boxed)) + " is taken as the bounding box of its features")
    return out


def _count(ws: Any, kind: str) -> int:
    count = getattr(ws, "count", None)
    if count is not None:
        return int(count(kind))
    return len(ws.read(kind))


def outside_share(site_geoms: np.ndarray, site_area: np.ndarray | None, site_length: np.ndarray, cover: Any,
                  area_method: str) -> np.ndarray:
    """Share (0–1) of each site outside ``cover``: by area for polygons, length for lines, 0/1 for points.

    ``site_area`` ``None``: the sites are polygons whose areas are computed here, only for those that cross
    the edge of ``cover``.
    """
    n = len(site_geoms)
    out = np.zeros(n)
    if cover is None or shapely.is_empty(cover):
        return np.ones(n)
    shapely.prepare(cover)  # the one large geometry is the prepared side of both tests
    inside = shapely.covers(cover, site_geoms)
    todo = ~inside
    if not todo.any():
        return out
    touches = np.zeros(n, dtype=bool)
    touches[todo] = shapely.intersects(cover, site_geoms[todo])
    out[todo & ~touches] = 1.0
    part = np.flatnonzero(todo & touches)
    if len(part):
        inter = shapely.intersection(site_geoms[part], cover)
        if site_area is None:
            site_area = np.zeros(n)
            site_area[part] = area_ha(site_geoms[part], 4490, method=area_method)
        poly = site_area[part] > 0
        line = ~poly & (site_length[part] > 0)
        share = np.ones(len(part))
        if poly.any():
            a = area_ha(inter[poly], 4490, method=area_method)
            share[poly] = 1.0 - a / site_area[part][poly]
        if line.any():
            share[line] = 1.0 - geodesic_length(inter[line]) / site_length[part][line]
        out[part] = np.clip(share, 0.0, 1.0)
    return out


def buffered_sites(site_m: np.ndarray, distance: float, mcrs: Any) -> np.ndarray:
    """Sites grown by ``distance`` metres (in the metric CRS), back in EPSG:4490."""
    return from_metric(shapely.buffer(site_m, distance, quad_segs=4), mcrs)


def outside_by_kind(coverages: dict[str, KindCoverage], site_geoms: np.ndarray, site_area: np.ndarray,
                    site_length: np.ndarray, area_method: str, *, reach: dict[str, float] | None = None,
                    site_m: np.ndarray | None = None, mcrs: Any = None) -> dict[str, np.ndarray]:
    """Per kind, each site's share (0–1) where the kind is not available.

    ``reach`` gives, per kind, the largest distance its rules look (metres):
    a feature just beyond the coverage edge could be that close, so the site
    grown by it must be covered.
    """
    reach = reach or {}
    out: dict[str, np.ndarray] = {}
    cache: dict[tuple[int, float], np.ndarray] = {}
    for kind, cov in coverages.items():
        if cov.status != "ok":
            out[kind] = np.ones(len(site_geoms))
            continue
        d = float(reach.get(kind, 0.0) or 0.0)
        key = (id(cov.geometry), d)
        if key not in cache:
            if d > 0 and site_m is not None:
                grown = buffered_sites(site_m, d, mcrs)
                cache[key] = outside_share(grown, None, np.zeros(len(grown)), cov.geometry, area_method)
            else:
                cache[key] = outside_share(site_geoms, site_area, site_length, cov.geometry, area_method)
        out[kind] = cache[key]
    return out


__all__ = ["KindCoverage", "layer_coverages", "outside_share", "outside_by_kind", "coverage_geometry",
           "admin_union", "TOLERANCE", "STATUS_TEXT", "to_metric"]
