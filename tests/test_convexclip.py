"""The convex-clip kernel answers exactly as GEOS does, or declines.

Every pair the kernel answers is checked against ``shapely``: ``OK`` gives
a valid geometry with GEOS's intersection to rounding, ``INSIDE`` a site in
the feature's interior, ``EMPTY`` a pair with no overlap.  The degenerate
cases that Sutherland–Hodgman gets wrong or unsure (shared edges, touching
corners, holes across the site, pieces joined by bridges) must be declined
or answered right, on made-up shapes and on real polygons (Fiona's test
data: 67 wilderness areas of Colorado and Utah).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from ecogis.screening import convexclip
from ecogis.screening.convexclip import (DECLINED, EMPTY, HOLDS, INSIDE, OK, convex_intersection,
                                        convex_intersection_swapped)

pytestmark = pytest.mark.skipif(not convexclip.available(), reason="the C kernel was not built (no compiler)")

FIONA = Path(__file__).parent / "data" / "third_party" / "fiona" / "coutwildrnp.shp"


def _check(sites, feats, f=None, swapped=False):
    """Run the kernel (or its swapped form) and compare every answer with GEOS; return the statuses."""
    sites = np.asarray(sites, dtype=object)
    feats = np.asarray(feats, dtype=object)
    f = np.arange(len(sites)) if f is None else np.asarray(f)
    if swapped:
        out, st = convex_intersection_swapped(sites, feats, f, convexclip.convex_sites(feats))
    else:
        out, st = convex_intersection(sites, feats, f)
    b = feats[f]
    held = st == HOLDS
    if held.any():  # the feature (or a part of it) lies in the site
        assert shapely.covers(sites[held], out[held]).all()
    ok = (st == OK) | held
    if ok.any():
        want = shapely.intersection(sites[ok], b[ok])
        got = out[ok]
        assert shapely.is_valid(got).all()
        assert set(shapely.get_type_id(got)) <= {3, 6}
        scale = shapely.area(sites[ok])
        assert np.all(np.abs(shapely.area(got) - shapely.area(want)) <= 1e-9 * scale)
        # the same shape: vertices within rounding (Hausdorff distance; GEOS's own symmetric_difference of two
        # polygons equal to 1e-14 can fail, counting both whole: seen on grid-snapped shapes)
        assert np.all(shapely.hausdorff_distance(got, want) <= 1e-9 * np.sqrt(scale))
        assert (shapely.get_num_geometries(got) == shapely.get_num_geometries(want)).all()
        # shells clockwise, holes counter-clockwise, as GEOS writes them
        parts = shapely.get_parts(got)
        assert not shapely.is_ccw(shapely.get_exterior_ring(parts)).any()
        n_holes = shapely.get_num_interior_rings(parts)
        if n_holes.any():
            holes = shapely.get_interior_ring(np.repeat(parts, n_holes), np.concatenate([np.arange(k) for k in n_holes]))
            assert shapely.is_ccw(holes).all()
    ins = st == INSIDE
    if ins.any():
        assert shapely.contains_properly(b[ins], sites[ins]).all()
        assert all(o is None for o in out[ins])
    emp = st == EMPTY
    if emp.any():
        assert (shapely.area(shapely.intersection(sites[emp], b[emp])) == 0).all()
    assert all(o is None for o in out[~ok])
    return st


def test_known_cases():
    feat = shapely.box(0, 0, 10, 10)
    sites = [shapely.box(1, 1, 2, 2),            # inside
             shapely.box(9, 9, 11, 11),          # cut at a corner
             shapely.box(20, 20, 21, 21),        # apart
             shapely.box(-1, -1, 11, 11),        # holds the feature
             shapely.Polygon([(5, 5), (15, 4), (15, 6)])]  # a triangle across an edge
    st = _check(sites, [feat] * len(sites))
    assert st.tolist() == [INSIDE, OK, EMPTY, HOLDS, OK]
    out, _ = convex_intersection(sites, [feat] * len(sites))
    assert out[1].equals(shapely.box(9, 9, 10, 10)) and out[3].equals(feat)


@pytest.mark.parametrize("site", [
    shapely.box(10, 0, 11, 1),                               # shares an edge from outside
    shapely.box(9, 0, 10, 1),                                # shares an edge from inside
    shapely.box(10, 10, 11, 11),                             # touches at a corner
    shapely.Polygon([(10, 5), (12, 4), (12, 6)]),            # its vertex on the feature's edge
    shapely.Polygon([(8, 5), (10, 4), (10, 6)]),             # its edge on the feature's edge, inside
    shapely.box(0, 0, 10, 10),                               # the feature itself
    shapely.Polygon([(9, 9), (11, 9), (11, 11), (9, 11), (9, 10)]),  # a collinear vertex on the feature edge
])
def test_touching_and_shared_boundaries_are_declined_or_right(site):
    st = _check([site], [shapely.box(0, 0, 10, 10)])
    assert st[0] in (DECLINED, EMPTY, OK)
    if shapely.intersection(site, shapely.box(0, 0, 10, 10)).area > 0 and st[0] != OK:
        assert st[0] == DECLINED  # never EMPTY when there is an overlap


def test_feature_vertex_on_a_site_edge_and_edge_through_a_site_corner_are_declined():
    site = shapely.box(0, 0, 2, 2)
    spike = shapely.Polygon([(1, 0), (1, -5), (5, -5), (5, 5), (3, 5)])      # its vertex (1, 0) on the site's edge
    corner = shapely.Polygon([(-1, 3), (3, -1), (5, 5)])                       # its edge through (2, 0) and (0, 2)
    st = _check([site, site], [spike, corner])
    assert st[0] == DECLINED and st[1] in (DECLINED, OK)


def test_sites_that_are_not_convex_or_have_holes_are_declined():
    feat = shapely.box(0, 0, 10, 10)
    l_shape = shapely.Polygon([(9, 9), (12, 9), (12, 10.5), (10.5, 10.5), (10.5, 12), (9, 12)])
    holed = shapely.box(9, 9, 12, 12).difference(shapely.box(9.5, 9.5, 9.8, 9.8))
    star = shapely.Polygon([(10, 13), (11, 9), (8, 11.5), (12, 11.5), (9, 9)])  # winds twice: not simple
    line = shapely.LineString([(9, 9), (12, 12)])
    st, _ = convex_intersection([l_shape, holed, line], [feat, feat, feat])[1], None
    assert st.tolist() == [DECLINED] * 3
    assert convex_intersection([star], [feat])[1][0] == DECLINED


def test_holes_inside_the_site_are_kept_and_holes_across_it_are_declined():
    feat = shapely.Polygon(shapely.box(0, 0, 10, 10).exterior.coords,
                           [shapely.box(4, 4, 5, 5).exterior.coords, shapely.box(7, 7, 8, 8).exterior.coords])
    sites = [shapely.box(3, 3, 6, 6),        # holds the first hole: a polygon with a hole
             shapely.box(4.5, 3, 6, 6),      # cuts the first hole: declined
             shapely.box(0.5, 0.5, 1.5, 1.5),  # far from the holes: inside
             shapely.box(4.2, 4.2, 4.8, 4.8)]  # in the hole: declined (GEOS says empty)
    st = _check(sites, [feat] * 4)
    assert st.tolist() == [OK, DECLINED, INSIDE, DECLINED]
    out, _ = convex_intersection(sites[:1], [feat])
    assert len(out[0].interiors) == 1 and shapely.is_ccw(out[0].interiors[0])


def test_multipolygon_features_give_multipolygons():
    feat = shapely.MultiPolygon([shapely.box(0, 0, 4, 10), shapely.box(6, 0, 10, 10)])
    st = _check([shapely.box(3, 3, 7, 7), shapely.box(1, 1, 2, 2), shapely.box(4.5, 1, 5.5, 2)], [feat] * 3)
    assert st.tolist() == [OK, INSIDE, EMPTY]
    out, _ = convex_intersection([shapely.box(3, 3, 7, 7)], [feat])
    assert out[0].geom_type == "MultiPolygon" and len(out[0].geoms) == 2


def test_a_jagged_feature_cutting_a_site_into_pieces():
    """A comb across a square: Sutherland–Hodgman would join the teeth by zero-width bridges along the site's
    edge; the kernel either gives GEOS's pieces or declines, never the bridged ring."""
    teeth = [(x, y) for i in range(5) for x, y in ((2 * i, 0), (2 * i, 5), (2 * i + 1, 5), (2 * i + 1, 0))]
    comb = shapely.Polygon([(-1, 0), *teeth[1:], (10, 0), (10, -2), (-1, -2)])
    assert comb.is_valid
    site = shapely.Polygon([(-0.5, 2), (9.5, 2.3), (9.6, 7), (-0.4, 7.2)])
    st = _check([site], [comb])
    assert st[0] in (OK, DECLINED)


def _squares_on(geoms, n, dmax, seed):
    """``n`` rotated squares (half-diagonal up to ``dmax``) centred on random vertices of ``geoms``' boundaries:
    many across those boundaries."""
    xy = shapely.get_coordinates(shapely.boundary(geoms))
    rng = np.random.default_rng(seed)
    pick = rng.choice(len(xy), n, replace=False)
    ang = rng.uniform(0, np.pi / 2, len(pick))[:, None] + np.array([0, 0.5, 1, 1.5]) * np.pi
    d = rng.uniform(0.002, dmax, len(pick))[:, None]
    ring = np.stack([xy[pick, :1] + d * np.cos(ang), xy[pick, 1:] + d * np.sin(ang)], axis=-1)
    return shapely.polygons(np.concatenate([ring, ring[:, :1]], axis=1))


def _random_convex(rng, n, cx, cy, size):
    """Convex polygons: the hulls of random points."""
    pts = rng.normal(size=(n, 12, 2)) * size[:, None, None] + np.column_stack([cx, cy])[:, None, :]
    return shapely.convex_hull(shapely.multipoints(pts))


def test_random_convex_sites_against_jagged_features_agree_with_geos():
    rng = np.random.default_rng(11)
    n_f = 40
    theta = np.linspace(0, 2 * np.pi, 300, endpoint=False)
    feats = []
    for cx, cy, r in zip(rng.uniform(0, 10, n_f), rng.uniform(0, 10, n_f), rng.uniform(0.5, 2, n_f)):
        rad = r * (1 + 0.25 * np.sin(7 * theta + rng.uniform(0, 6)) + 0.08 * rng.uniform(-1, 1, len(theta)))
        feats.append(shapely.Polygon(np.column_stack([cx + rad * np.cos(theta), cy + rad * np.sin(theta)])))
    feats = np.array(feats, dtype=object)
    assert shapely.is_valid(feats).all()
    sites = _random_convex(rng, 4000, rng.uniform(0, 10, 4000), rng.uniform(0, 10, 4000), rng.uniform(0.02, 0.3, 4000))
    s, f = shapely.STRtree(feats).query(sites)
    st = _check(sites[s], feats, f)
    counts = np.bincount(st, minlength=4)
    assert counts[OK] > 1000 and counts[INSIDE] > 1000 and counts[EMPTY] > 100
    assert counts[DECLINED] < 0.01 * len(st)  # only boundaries within rounding of each other


def test_real_wilderness_polygons_against_convex_sites():
    """Fiona's coutwildrnp.shp (67 real polygons, 26–266 vertices) against rotated squares along and across
    their boundaries."""
    import pyogrio

    feats = np.asarray(pyogrio.read_dataframe(FIONA).geometry.values, dtype=object)
    sites = _squares_on(feats, 3000, 0.05, seed=3)
    s, f = shapely.STRtree(feats).query(sites)
    st = _check(sites[s], feats, f)
    assert (st == OK).sum() > 1000
    # sites centred on a vertex of the feature's own boundary: none may be called EMPTY or INSIDE wrongly
    assert (shapely.intersects(sites[s], feats[f])[st == EMPTY] == False).all()  # noqa: E712


def test_without_the_kernel_every_pair_is_declined(monkeypatch):
    monkeypatch.setattr(convexclip, "_convexclip", None)
    out, st = convex_intersection([shapely.box(0, 0, 1, 1)], [shapely.box(0, 0, 2, 2)])
    assert st.tolist() == [DECLINED] and out[0] is None


def test_bad_offsets_are_a_clear_error():
    from ecogis.screening import _convexclip

    z = np.zeros(3, dtype=np.int64)
    with pytest.raises(ValueError, match="offsets"):
        _convexclip.clip_pairs(np.zeros(8), z, z, np.zeros(8), z, z, z, np.zeros(4), z, z[:2],
                               np.full(2, 7, dtype=np.int64))


def test_shapes_snapped_to_a_coarse_grid_are_right_or_declined():
    """Integer coordinates on a 12 × 12 grid: shared edges, vertices on edges, collinear runs and corners that
    coincide everywhere — the kernel must never answer wrongly."""
    rng = np.random.default_rng(19)
    feats = []
    while len(feats) < 60:
        pts = rng.integers(0, 12, (rng.integers(4, 9), 2)).astype(float)
        g = shapely.make_valid(shapely.Polygon(pts))
        g = shapely.get_parts(g)
        g = g[shapely.get_type_id(g) == 3]
        feats.extend(p for p in g if p.area > 0)
    feats = np.array(feats[:60], dtype=object)
    sites = shapely.convex_hull(shapely.multipoints(rng.integers(0, 12, (600, 5, 2)).astype(float)))
    sites = sites[shapely.get_type_id(sites) == 3]
    s, f = shapely.STRtree(feats).query(sites)
    st = _check(sites[s], feats, f)
    assert (st == DECLINED).sum() > 0 and (st == OK).sum() > 100  # both kinds occur on such data


def test_convex_sites_tells_which_sites_the_kernel_takes():
    sites = [shapely.box(0, 0, 1, 1), shapely.Polygon([(0, 0), (2, 0), (2, 2), (1, 0.5), (0, 2)]),
             shapely.Polygon([(0, 0), (1, 0), (2, 0), (2, 2), (0, 2)]),  # a collinear vertex: dropped, convex
             shapely.box(0, 0, 3, 3).difference(shapely.box(1, 1, 2, 2)), shapely.Point(0, 0), shapely.Polygon()]
    assert convexclip.convex_sites(sites).tolist() == [True, False, True, False, False, False]
    # the pairs of the others are declined at once
    out, st = convex_intersection(sites, [shapely.box(-1, -1, 5, 5)] * 6, convex=convexclip.convex_sites(sites))
    assert st.tolist() == [INSIDE, DECLINED, INSIDE, DECLINED, DECLINED, DECLINED]


def test_jagged_sites_clipped_by_convex_features_with_the_roles_swapped():
    """Real wilderness polygons (Fiona's test data) as the sites, small rotated squares as the features:
    each site is clipped by its convex feature; inside and held swap meaning."""
    import pyogrio

    sites = np.asarray(pyogrio.read_dataframe(FIONA).geometry.values, dtype=object)
    feats = _squares_on(sites, 2000, 0.08, seed=8)
    inner = shapely.point_on_surface(sites)  # and squares well inside each site
    feats = np.concatenate([feats, shapely.buffer(inner, 0.001, quad_segs=2)])
    s, f = shapely.STRtree(feats).query(sites)
    st = _check(sites[s], feats, f, swapped=True)
    assert (st == OK).sum() > 1000 and (st == HOLDS).sum() >= 60
    out, _ = convex_intersection_swapped(sites[s], feats, f, convexclip.convex_sites(feats))
    assert all(out[i] is feats[f[i]] for i in np.flatnonzero(st == HOLDS))  # the feature object itself
    # a site wholly inside a convex feature is INSIDE
    big = shapely.box(*shapely.total_bounds(sites[:1])).buffer(0.5, join_style="mitre")
    st2 = _check(sites[:1], [big], swapped=True)
    assert st2.tolist() == [INSIDE]
