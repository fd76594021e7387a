"""Overlaps of convex sites with features, clipped in C instead of GEOS's general overlay.

Most parcels are convex (quadrilaterals, rectangles, convex polygons of a
few to a dozen vertices), and intersecting a polygon with a *convex* one
needs no overlay graph.  For each (site, feature) pair the small C
extension ``ecogis.screening._convexclip``:

1. drops the feature's vertices far from the site (Cohen–Sutherland
   outcodes over chunks of 16 vertices: a chunk wholly beyond one side of
   the site's box keeps its first vertex, which leaves the ring's
   intersection with the box unchanged) and clips what is left to the
   site's box, a hair wider (Sutherland–Hodgman on four axis lines);
2. finds where the ring's edges cross the site's boundary (Cyrus–Beck:
   at most an entry and an exit per edge, the site being convex) and
   follows the ring inside the site and the site's boundary inside the
   ring from crossing to crossing (Weiler–Atherton), so a jagged red line
   that cuts a parcel into several pieces gives each piece, as GEOS does;
3. with no crossing, the site lies in the ring (a site vertex inside it, by
   crossing number), apart from it, or holds it whole.

GEOS's ``intersection`` spends about 30 µs on a 9-vertex parcel against a
400-vertex red-line polygon (building its overlay graph), and
``contains_properly`` and ``intersects`` a few more; the kernel answers
all three in 1–3 µs a pair and releases the GIL, so chunks run on threads.

It is exact where it answers and *declines* wherever it could be unsure,
leaving those pairs to GEOS:

* the site is not a strictly convex, simple ring without holes (after
  repeated and collinear vertices are dropped), or has more than 256
  vertices;
* a vertex lies within rounding (a relative 1e-12) of the other's
  boundary, a ring edge runs along a site edge's line, passes through or
  grazes a site corner, or two crossings fall at one place: shared and
  touching boundaries;
* a feature hole crosses the site's bounding box without lying wholly
  inside the site, or holes lie in a site cut into several pieces;
* a result ring is not simple or has a tiny edge (a last check).

Every result returned is therefore a valid Polygon or MultiPolygon, with
the same pieces as GEOS's intersection and the same area to rounding
(measured on 58,912 cut pairs: the same 44,195 Polygons and 14,717
MultiPolygons, areas within 3.4e-11 of the site's area), up to the order
and start of its vertices; shells are written clockwise and holes
counter-clockwise, as GEOS writes them.  Without a C compiler at install
the extension is missing and :func:`convex_intersection` declines every
pair (:func:`available`).
"""

from __future__ import annotations

import numpy as np
import shapely

from ecogis.textcolumns import unique_objects

try:  # built by setup.py (optional: the pairs go to GEOS without it)
    from ecogis.screening import _convexclip
except ImportError:  # pragma: no cover - only without a compiler
    _convexclip = None

#: Result codes per pair.
OK, EMPTY, DECLINED, INSIDE = 0, 1, 2, 3
_POLYGON, _MULTIPOLYGON = shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON


def available() -> bool:
    """Whether the C kernel was built (else every pair is declined and goes to GEOS)."""
    return _convexclip is not None


def convex_intersection(sites: np.ndarray, feats: np.ndarray, f_idx: np.ndarray | None = None
                        ) -> tuple[np.ndarray, np.ndarray]:
    """``(overlap, status)`` of each pair ``(sites[i], feats[f_idx[i]])`` (``f_idx`` defaults to 0..n-1).

    ``overlap`` is an object array: the intersection where ``status`` is
    :data:`OK` (the site is cut by the feature's boundary, or holds
    the feature), ``None`` elsewhere.  :data:`INSIDE`: the site lies in the
    feature's interior (its clip is the whole site to a relative 1e-12 of its
    area, with no hole in it and no boundary within rounding); the overlap is
    the site itself.  :data:`EMPTY`: the two do not meet, with no vertex near
    the other's boundary.  :data:`DECLINED`: not answered here (see the
    module notes); ask GEOS.
    """
    sites = np.asarray(sites, dtype=object)
    n = len(sites)
    out = np.full(n, None, dtype=object)
    status = np.full(n, DECLINED, dtype=np.int8)
    if _convexclip is None or n == 0:
        return out, status
    f_idx = np.arange(n) if f_idx is None else np.asarray(f_idx, dtype=np.int64)
    feats = np.asarray(feats, dtype=object)
    ftype = shapely.get_type_id(feats)
    fok = (ftype == _POLYGON) | (ftype == _MULTIPOLYGON)
    ok = (shapely.get_type_id(sites) == _POLYGON) & fok[f_idx]
    ok[ok] = shapely.get_num_interior_rings(sites[ok]) == 0
    ok[ok] = ~shapely.is_empty(sites[ok]) & ~shapely.is_empty(feats[f_idx[ok]])
    pos = np.flatnonzero(ok)
    if not len(pos):
        return out, status
    codes, uniq_pos = np.unique(f_idx[pos], return_inverse=True)
    fkind, fxy, offs = shapely.to_ragged_array(feats[codes])
    if fkind == _POLYGON:
        ring_off, part_off = offs
        geom_off = np.arange(len(part_off), dtype=np.int64)
    else:
        ring_off, part_off, geom_off = offs
    sp = sites[pos]  # polygons without holes: their coordinates are the exterior ring's
    s_off = np.zeros(len(pos) + 1, dtype=np.int64)
    np.cumsum(shapely.get_num_coordinates(sp), out=s_off[1:])
    sxy = shapely.get_coordinates(sp)
    st, xy, ro, po, go = _convexclip.clip_pairs(
        _c(sxy, np.float64), s_off, _c(fxy[:, :2], np.float64), _c(ring_off, np.int64), _c(part_off, np.int64),
        _c(geom_off, np.int64), _c(uniq_pos, np.int64))
    st = np.frombuffer(st, dtype=np.int8)
    status[pos] = st
    done = pos[st == OK]
    if len(done):
        go = np.frombuffer(go, dtype=np.int64)
        parts = shapely.from_ragged_array(  # one polygon per part, then parts of one pair made multi
            _POLYGON, np.frombuffer(xy, dtype=np.float64).reshape(-1, 2),
            (np.frombuffer(ro, dtype=np.int64), np.frombuffer(po, dtype=np.int64)))
        count = np.diff(go)
        single = count == 1
        geoms = np.empty(len(done), dtype=object)
        geoms[single] = parts[go[:-1][single]]
        if not single.all():
            multi = np.flatnonzero(~single)
            take = np.repeat(go[:-1][multi], count[multi]) + _ramp(count[multi])
            geoms[multi] = shapely.multipolygons(parts[take], indices=np.repeat(np.arange(len(multi)), count[multi]))
        out[done] = geoms
    return out, status


def _ramp(counts: np.ndarray) -> np.ndarray:
    """0, 1, …, c-1 for each count c, concatenated."""
    ends = np.cumsum(counts)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - counts, counts)


def _c(a: np.ndarray, dtype) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)
