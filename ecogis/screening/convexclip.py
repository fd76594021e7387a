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
OK, EMPTY, DECLINED, INSIDE, HOLDS = 0, 1, 2, 3, 4
_POLYGON, _MULTIPOLYGON = shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON


def _holeless(geoms: np.ndarray) -> np.ndarray:
    """Whether each geometry is a non-empty Polygon without holes (its coordinates are its one ring)."""
    ok = shapely.get_type_id(geoms) == _POLYGON
    ok[ok] = (shapely.get_num_interior_rings(geoms[ok]) == 0) & ~shapely.is_empty(geoms[ok])
    return ok


def _ring_offsets(geoms: np.ndarray) -> np.ndarray:
    """Coordinate offsets of holeless polygons, from their counts (0, n0, n0 + n1, …)."""
    off = np.zeros(len(geoms) + 1, dtype=np.int64)
    np.cumsum(shapely.get_num_coordinates(geoms), out=off[1:])
    return off


def _no_answers(sites: np.ndarray, s_idx: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(s_idx, overlap, status)`` before the kernel: every pair declined, no overlap."""
    s_idx = np.arange(len(sites)) if s_idx is None else np.asarray(s_idx, dtype=np.int64)
    return s_idx, np.full(len(s_idx), None, dtype=object), np.full(len(s_idx), DECLINED, dtype=np.int8)


def available() -> bool:
    """Whether the C kernel was built (else every pair is declined and goes to GEOS)."""
    return _convexclip is not None


def convex_sites(sites: np.ndarray) -> np.ndarray:
    """Whether each site is one the kernel takes: a Polygon without holes whose ring is strictly convex and
    simple after repeated and collinear vertices are dropped (at most 256 vertices).  One pass in C; all
    ``False`` without the kernel."""
    sites = np.asarray(sites, dtype=object)
    out = np.zeros(len(sites), dtype=bool)
    if _convexclip is None or not len(sites):
        return out
    pos = np.flatnonzero(_holeless(sites))
    if len(pos):
        sp = sites[pos]
        flags = _convexclip.convex_rings(_c(shapely.get_coordinates(sp), np.float64), _ring_offsets(sp))
        out[pos] = np.frombuffer(flags, dtype=np.int8).astype(bool)
    return out


def convex_intersection(sites: np.ndarray, feats: np.ndarray, f_idx: np.ndarray | None = None,
                        convex: np.ndarray | None = None, s_idx: np.ndarray | None = None,
                        ragged: tuple[Ragged, Ragged] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(overlap, status)`` of each pair ``(sites[s_idx[i]], feats[f_idx[i]])`` (the indices default to
    0..n-1; each distinct site and feature is converted once).

    ``convex``: optionally, :func:`convex_sites` of the pairs' sites (one per
    pair), computed once by the caller (the other pairs are declined at once).
    ``ragged``: optionally, ``(Ragged(sites), Ragged(feats))`` built once by
    the caller.

    ``overlap`` is an object array: the intersection where ``status`` is
    :data:`OK` (the site is cut by the feature's boundary) or :data:`HOLDS`
    (the feature, or one part of it, lies wholly in the site), ``None``
    elsewhere.  :data:`INSIDE`: the site lies in the feature's interior (no
    crossing, no hole in it, no boundary within rounding); the overlap is the
    site itself.  :data:`EMPTY`: the two do not meet, with no vertex near the
    other's boundary.  :data:`DECLINED`: not answered here (see the module
    notes); ask GEOS.
    """
    sites = np.asarray(sites, dtype=object)
    s_idx, out, status = _no_answers(sites, s_idx)
    n = len(s_idx)
    if _convexclip is None or n == 0:
        return out, status
    f_idx = np.arange(n) if f_idx is None else np.asarray(f_idx, dtype=np.int64)
    feats = np.asarray(feats, dtype=object)
    ftype = shapely.get_type_id(feats)
    fok = (ftype == _POLYGON) | (ftype == _MULTIPOLYGON)
    if convex is None:
        ok = convex_sites(sites)[s_idx] & fok[f_idx]
    else:
        ok = np.asarray(convex, dtype=bool) & fok[f_idx]
    ok[ok] = ~shapely.is_empty(feats[f_idx[ok]])
    pos = np.flatnonzero(ok)
    if len(pos):
        rs, rf = ragged if ragged is not None else (sites, feats)
        status[pos], out[pos] = _clip(rs, s_idx[pos], rf, f_idx[pos])
    return out, status


def convex_intersection_swapped(sites: np.ndarray, feats: np.ndarray, f_idx: np.ndarray,
                                feat_convex: np.ndarray, s_idx: np.ndarray | None = None,
                                ragged: tuple[Ragged, Ragged] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The same as :func:`convex_intersection` with the roles swapped: each *site* clipped by its *feature*
    where the feature is convex (``feat_convex``, :func:`convex_sites` of ``feats``) and the site is any
    Polygon without holes — large jagged sites over small convex patches (wetland plots, wells' zones).

    ``status`` and ``overlap`` mean what they mean there: :data:`INSIDE`, the
    site lies wholly in the feature (overlap: the site, ``None`` here);
    :data:`HOLDS`, the feature lies in the site's interior (overlap: the
    feature object itself).
    """
    sites = np.asarray(sites, dtype=object)
    feats = np.asarray(feats, dtype=object)
    f_idx = np.asarray(f_idx, dtype=np.int64)
    s_idx, out, status = _no_answers(sites, s_idx)
    if _convexclip is None or len(s_idx) == 0:
        return out, status
    ok = np.asarray(feat_convex, dtype=bool)[f_idx]
    seen = np.zeros(len(sites), dtype=bool)  # the sites as subjects, each tested once: holeless Polygons
    seen[s_idx[ok]] = True
    cand = np.flatnonzero(seen)
    good = np.zeros(len(sites), dtype=bool)
    good[cand] = _holeless(sites[cand])
    ok &= good[s_idx]
    pos = np.flatnonzero(ok)
    if not len(pos):
        return out, status
    rs, rf = ragged if ragged is not None else (sites, feats)
    st, geoms = _clip(rf, f_idx[pos], rs, s_idx[pos])
    swapped = st.copy()
    swapped[st == INSIDE] = HOLDS  # the feature (the clip here) lies in the site
    swapped[st == HOLDS] = INSIDE  # the site lies wholly in the feature
    geoms[swapped == INSIDE] = None
    geoms[swapped == HOLDS] = feats[f_idx[pos[swapped == HOLDS]]]
    status[pos], out[pos] = swapped, geoms
    return out, status


class Ragged:
    """Polygonal geometries as the kernel reads them, converted once: coordinates, ring, part and geometry
    offsets (shapely's ragged arrays), each geometry's first ring (the clip ring of a convex one) and the
    boxes of each ring's runs of 16 vertices.  ``rows[i]`` is geometry ``i``'s row here (-1: not polygonal
    or empty, never given to the kernel).

    Built once per screening (:func:`ecogis.screening.pairs.overlay_pairs`)
    before the threads start, so a site met by many features in several
    chunks is converted once, not once per chunk.
    """

    def __init__(self, geoms: np.ndarray, only: np.ndarray | None = None):
        geoms = np.asarray(geoms, dtype=object)
        self.rows = np.full(len(geoms), -1, dtype=np.int64)
        pick = np.arange(len(geoms)) if only is None else np.asarray(only, dtype=np.int64)
        kind = shapely.get_type_id(geoms[pick])
        pick = pick[(kind == _POLYGON) | (kind == _MULTIPOLYGON)]
        pick = pick[~shapely.is_empty(geoms[pick])]
        self.rows[pick] = np.arange(len(pick))
        g = geoms[pick]
        if len(pick) and _holeless(g).all():
            # polygons without holes (most sites and many layers): one ring each, offsets from the counts
            xy = shapely.get_coordinates(g)
            ring_off = _ring_offsets(g)
            part_off = geom_off = np.arange(len(g) + 1, dtype=np.int64)
        elif len(pick):
            fkind, xy, offs = shapely.to_ragged_array(g)
            if fkind == _POLYGON:
                ring_off, part_off = offs
                geom_off = np.arange(len(part_off), dtype=np.int64)
            else:
                ring_off, part_off, geom_off = offs
        else:
            xy = np.zeros((0, 2))
            ring_off, part_off, geom_off = (np.zeros(1, dtype=np.int64),) * 3
        self.xy = _c(xy[:, :2], np.float64)
        self.ring_off, self.part_off, self.geom_off = (_c(o, np.int64) for o in (ring_off, part_off, geom_off))
        first = self.part_off[self.geom_off[:-1]]  # each geometry's first ring
        self.first_begin = _c(self.ring_off[first], np.int64)
        self.first_end = _c(self.ring_off[first + 1], np.int64)
        self._boxes = None

    @property
    def boxes(self) -> tuple[bytes, bytes]:
        """``(boxes, chunk offsets)`` of the rings' runs of vertices (computed on first use)."""
        if self._boxes is None:
            self._boxes = _convexclip.chunk_boxes(self.xy, self.ring_off)
        return self._boxes


def _clip(clips: np.ndarray | Ragged, c_idx: np.ndarray, subjects: np.ndarray | Ragged, s_idx: np.ndarray
          ) -> tuple[np.ndarray, np.ndarray]:
    """The C kernel on pairs ``(clips[c_idx[i]], subjects[s_idx[i]])``: a convex Polygon against a Polygon or
    MultiPolygon (given as geometries, converted here, or as :class:`Ragged` converted once); returns
    ``(status, geometry or None)`` per pair."""
    n = len(c_idx)
    if not isinstance(clips, Ragged):
        clips = Ragged(clips, np.unique(c_idx))
    if not isinstance(subjects, Ragged):
        subjects = Ragged(subjects, np.unique(s_idx))
    cbox, coff = subjects.boxes
    st, xy, ro, po, go = _convexclip.clip_pairs(
        clips.xy, clips.first_begin, clips.first_end, subjects.xy, subjects.ring_off, subjects.part_off,
        subjects.geom_off, cbox, coff, _c(clips.rows[c_idx], np.int64), _c(subjects.rows[s_idx], np.int64))
    st = np.frombuffer(st, dtype=np.int8).copy()
    out = np.full(n, None, dtype=object)
    done = np.flatnonzero((st == OK) | (st == HOLDS))  # the pairs with geometry, in the kernel's order
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
    return st, out


def _ramp(counts: np.ndarray) -> np.ndarray:
    """0, 1, …, c-1 for each count c, concatenated."""
    ends = np.cumsum(counts)
    return np.arange(ends[-1] if len(ends) else 0) - np.repeat(ends - counts, counts)


def _c(a: np.ndarray, dtype) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)
