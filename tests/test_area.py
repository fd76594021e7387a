"""Ellipsoidal areas on CGCS2000: closed forms, Gauss-Krüger input, equal-area vs geodesic."""

from __future__ import annotations

import math
import warnings

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import CRS, Proj, Transformer
from shapely import GeometryCollection, LineString, MultiPolygon, Point, Polygon, box

from ecogis.errors import CRSError, GeometryError, InputError
from ecogis.normalise.area import (
    AREA_METHOD_TEXT,
    AREA_METHODS,
    area_ha,
    equal_area,
    geodesic_area,
    ha_to_mu,
    survey_area,
    survey_trapezoid,
)
from ecogis.read.crs import gk_epsg

A = 6378137.0
F = 1 / 298.257222101
E2 = F * (2 - F)
GK41 = gk_epsg(41)  # EPSG:4529, CM 123°E, zone number in front of the easting
GK41_PLAIN = gk_epsg(41, prefix=False)  # EPSG:4550
BOTH = (geodesic_area, equal_area, survey_area)


def _q(lat_deg: float) -> float:
    """The authalic-latitude function q(φ) of the CGCS2000 ellipsoid."""
    e = math.sqrt(E2)
    s = math.sin(math.radians(lat_deg))
    return (1 - E2) * (s / (1 - E2 * s * s) - math.log((1 - e * s) / (1 + e * s)) / (2 * e))


def _zone_area(lon0: float, lat0: float, lon1: float, lat1: float) -> float:
    """Closed-form area of the cell between two meridians and two parallels (m²)."""
    return math.radians(lon1 - lon0) * A * A / 2 * (_q(lat1) - _q(lat0))


def test_closed_form_itself_gives_the_known_area_of_the_earth():
    # GRS80 / CGCS2000 surface: 4πR² with the authalic radius 6,371,007.181 m.
    earth = _zone_area(-180, -90, 180, 90)
    assert earth == pytest.approx(4 * math.pi * 6371007.181**2, rel=1e-9)


@pytest.mark.parametrize("func", BOTH)
def test_one_degree_cell_matches_the_closed_form(func):
    cell = box(116.0, 45.0, 117.0, 46.0)  # lon/lat rectangle: edges on meridians and parallels
    expected = _zone_area(116.0, 45.0, 117.0, 46.0)
    assert expected == pytest.approx(8.6865e9, rel=1e-4)  # ~8,686 km²: 78.1 km × 111.2 km
    assert func(cell, "EPSG:4490") == pytest.approx(expected, rel=1e-6)


def _gk_square(easting_offset: float, size: float = 1000.0) -> Polygon:
    """A size × size square in GK zone 41 (with prefix), at 48°N and ``easting_offset`` m east of the CM."""
    x0 = 41_500_000.0 + easting_offset - size / 2
    y0 = 5_316_000.0 - size / 2
    return box(x0, y0, x0 + size, y0 + size)


@pytest.mark.parametrize("offset", [0.0, 150_000.0])
def test_gauss_krueger_square_differs_from_planar_by_the_scale_factor(offset):
    square = _gk_square(offset)
    assert square.area == pytest.approx(1e6)  # 100 ha in the plane
    geo = geodesic_area(square, GK41)
    lon, lat = Transformer.from_crs(GK41, 4490, always_xy=True).transform(*square.centroid.coords[0])
    scale = Proj(CRS.from_epsg(GK41)).get_factors(lon, lat).areal_scale
    # The planar area is the ellipsoidal area times the GK areal scale (k² at the square): 1e-6 relative.
    assert geo * scale == pytest.approx(1e6, rel=1e-6)
    if offset == 0:
        assert geo == pytest.approx(1e6, rel=1e-6)  # on the central meridian k = 1
    else:
        # 150 km from the CM at 48°N k² ≈ 1 + (150/6378)² ≈ 1.00055: planar is larger by 0.055 %.
        assert 1.0004 < 1e6 / geo < 1.0007
    assert equal_area(square, GK41) == pytest.approx(geo, rel=1e-6)


def _star(rng: np.random.Generator, lon: float, lat: float, radius_m: float, n: int) -> Polygon:
    """A random star-shaped (hence simple) polygon of about ``radius_m`` around (lon, lat)."""
    angles = np.sort(rng.uniform(0, 2 * np.pi, n))
    radii = radius_m * rng.uniform(0.5, 1.0, n)
    dx = radii * np.cos(angles) / (111_320 * math.cos(math.radians(lat)))
    dy = radii * np.sin(angles) / 110_574
    return Polygon(np.column_stack([lon + dx, lat + dy]))


@pytest.fixture(scope="module")
def random_polygons() -> np.ndarray:
    rng = np.random.default_rng(42)
    radii = np.geomspace(40, 70_000, 160)
    polys = np.array(
        [_star(rng, rng.uniform(116, 126), rng.uniform(43, 53), r, int(rng.integers(3, 30))) for r in radii]
    )
    # a star with two nearly equal angles can cross itself; areas of invalid rings are not defined
    # (the normalise stage repairs them before any area is taken)
    return polys[shapely.is_valid(polys)]


def test_equal_area_agrees_with_geodesic_from_a_tenth_of_a_hectare_to_ten_thousand_km2(random_polygons):
    geo = geodesic_area(random_polygons, "EPSG:4490")
    keep = (geo >= 1_000) & (geo <= 1e10)  # 0.1 ha – 10,000 km²
    assert keep.sum() >= 140
    assert geo[keep].min() < 5_000 and geo[keep].max() > 5e9
    rel = np.abs(equal_area(random_polygons, "EPSG:4490")[keep] / geo[keep] - 1)
    assert rel.max() < 1e-4  # required: 0.01 %
    assert rel.max() < 2e-5  # measured: 9e-6 at worst, a 0.03 ha polygon (the geodesic method's own error)
    assert rel[geo[keep] > 1e4].max() < 1e-6  # above 1 ha: 7e-7


def _laea_reference(geom, crs, step: float) -> float:
    """The area of ``geom`` as drawn in ``crs``: split finely, then a local Lambert azimuthal equal-area map."""
    dense = shapely.segmentize(geom, step)
    c = gpd.GeoSeries([geom], crs=crs).to_crs(4490).iloc[0].centroid
    t = Transformer.from_crs(crs, f"+proj=laea +lat_0={c.y} +lon_0={c.x} +ellps=GRS80", always_xy=True)
    return shapely.transform(dense, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1]))).area


def test_equal_area_is_the_exact_area_of_the_polygon_as_drawn_in_lon_lat(random_polygons):
    # an independent reference: every edge split to ~1/2000 of the polygon's size, a local equal-area map
    polys = random_polygons[::3]
    ours = equal_area(polys, "EPSG:4490")
    ref = np.array([_laea_reference(p, "EPSG:4490", max(5e-7, math.sqrt(a) / 2e8)) for p, a in zip(polys, ours)])
    assert np.abs(ours / ref - 1).max() < 1e-8  # measured: 6e-10


def test_equal_area_agrees_with_geodesic_for_gauss_krueger_input(random_polygons):
    gk = gpd.GeoSeries(random_polygons, crs=4490).to_crs(GK41)
    rel = np.abs(equal_area(gk) / geodesic_area(gk) - 1)
    # GK input is split to 100 m, so between vertices an edge is straight in GK for neither method
    assert rel.max() < 3e-5  # measured: 1.8e-5, a 0.03 ha polygon; 7e-7 above 1 ha


@pytest.mark.parametrize("func", BOTH)
def test_holes_are_subtracted_whatever_the_ring_orientation(func):
    shell = [(120.0, 45.0), (120.2, 45.0), (120.2, 45.2), (120.0, 45.2)]
    hole = [(120.05, 45.05), (120.1, 45.05), (120.1, 45.1), (120.05, 45.1)]
    outer, inner = func(Polygon(shell), "EPSG:4490"), func(Polygon(hole), "EPSG:4490")
    assert inner / outer == pytest.approx(0.0625, rel=1e-3)
    for ring_shell, ring_hole in [(shell, hole), (shell[::-1], hole), (shell, hole[::-1]), (shell[::-1], hole[::-1])]:
        holed = Polygon(ring_shell, [ring_hole])
        assert func(holed, "EPSG:4490") == pytest.approx(outer - inner, rel=1e-9)
    island = Polygon([(120.06, 45.06), (120.08, 45.06), (120.08, 45.08)])
    multi = MultiPolygon([Polygon(shell, [hole]), island])
    assert func(multi, "EPSG:4490") == pytest.approx(outer - inner + func(island, "EPSG:4490"), rel=1e-9)


@pytest.mark.parametrize("func", BOTH)
def test_non_polygons_empty_and_missing_geometries_are_zero(func):
    square = box(120.0, 45.0, 120.01, 45.01)
    geoms = [
        Point(120, 45),
        LineString([(120, 45), (121, 46)]),
        Polygon(),
        None,
        GeometryCollection([square, LineString([(120, 45), (121, 46)]), Point(1, 1)]),
        GeometryCollection(),
    ]
    out = func(geoms, "EPSG:4490")
    assert isinstance(out, np.ndarray) and out.shape == (6,)
    assert not np.isnan(out).any()
    np.testing.assert_array_equal(out[:4], 0.0)
    assert out[4] == pytest.approx(func(square, "EPSG:4490"), rel=1e-12) and out[4] > 0
    assert out[5] == 0.0
    only_points = func([Point(120, 45)], "EPSG:4490")
    assert only_points.dtype == float and only_points[0] == 0.0
    assert func([], "EPSG:4490").shape == (0,)


@pytest.mark.parametrize("func", BOTH)
def test_results_do_not_depend_on_the_input_crs(func):
    rng = np.random.default_rng(7)
    # Irregular parcels in GK zone 41, split into 10 m edges so that the vertex lists describe
    # the same shapes in any CRS.
    x = 41_500_000 + rng.uniform(-150_000, 150_000, 20)
    y = 5_000_000 + rng.uniform(0, 600_000, 20)
    parcels = shapely.segmentize(
        [
            shapely.buffer(Point(px, py), r, quad_segs=3).difference(shapely.buffer(Point(px, py), r / 3))
            for px, py, r in zip(x, y, np.geomspace(20, 3000, 20))
        ],
        10.0,
    )
    prefixed = gpd.GeoSeries(parcels, crs=GK41)
    plain = prefixed.to_crs(GK41_PLAIN)
    lonlat = prefixed.to_crs(4490)
    assert (plain.bounds["minx"] < 1_000_000).all()  # really without the zone prefix
    a_prefixed = func(prefixed)
    assert a_prefixed.min() > 500 and a_prefixed.max() > 1e7
    # Same projection, only the false easting differs: equal but for rounding (< 0.001 m²).
    np.testing.assert_allclose(func(plain), a_prefixed, rtol=1e-9, atol=1e-3)
    np.testing.assert_allclose(func(lonlat), a_prefixed, rtol=1e-6)
    np.testing.assert_allclose(func(np.asarray(lonlat.values), "EPSG:4326"), a_prefixed, rtol=1e-6)
    np.testing.assert_allclose(func(np.asarray(prefixed.values), GK41), a_prefixed, rtol=0)


def test_crs_is_required_and_checked():
    square = box(120.0, 45.0, 120.01, 45.01)
    with pytest.raises(CRSError):
        geodesic_area([square])
    with pytest.raises(CRSError, match="contradicts"):
        geodesic_area(gpd.GeoSeries([square], crs=4490), GK41)
    with pytest.raises(CRSError):  # GK metres declared as degrees
        equal_area(_gk_square(0.0), "EPSG:4490")
    with pytest.raises(CRSError):
        equal_area([square], "EPSG:999999")
    with pytest.raises(CRSError, match="cannot be transformed"):  # degrees declared as GK metres
        equal_area([square], GK41)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # shapely warns when building it
        broken = shapely.polygons([(0, 0), (1, np.nan), (1, 1), (0, 0)])
    for crs in ("EPSG:4490", GK41):
        with pytest.raises(GeometryError, match="NaN"):
            geodesic_area([broken], crs)


def test_single_geometries_give_floats_and_series_give_arrays():
    square = box(120.0, 45.0, 120.01, 45.01)
    assert isinstance(geodesic_area(square, 4490), float)
    assert isinstance(equal_area(square, 4490), float)
    series = gpd.GeoSeries([square, square], crs=4490)
    assert geodesic_area(series).shape == (2,)


def test_area_ha_and_mu():
    square = _gk_square(0.0)  # 100 ha
    for method in AREA_METHODS:
        assert area_ha(square, GK41, method=method) == pytest.approx(100.0, rel=1e-6)
    with pytest.raises(InputError):
        area_ha(square, GK41, method="planar")
    assert ha_to_mu(1.0) == 15.0
    assert ha_to_mu(1 / 15) == pytest.approx(1.0)
    assert 10_000 / ha_to_mu(1.0) == pytest.approx(666.67, abs=0.01)  # m² per 亩
    np.testing.assert_allclose(ha_to_mu(np.array([0.0, 2.0, 100.0])), [0.0, 30.0, 1500.0])


def test_method_texts_say_how_areas_were_computed():
    assert set(AREA_METHOD_TEXT) == set(AREA_METHODS)
    for texts in AREA_METHOD_TEXT.values():
        assert set(texts) == {"zh", "en"}
        assert "CGCS2000" in texts["zh"] and "CGCS2000" in texts["en"]
    assert "椭球" in AREA_METHOD_TEXT["geodesic"]["zh"]
    assert "cylindrical equal-area" in AREA_METHOD_TEXT["equal_area"]["en"]
    assert "等积" in AREA_METHOD_TEXT["equal_area"]["zh"]


def test_survey_trapezoid_series_is_the_closed_form_zone_area():
    # the land survey's trapezoid formula (series to e⁸) against the exact authalic zone area
    for lat0, lat1 in [(0.0, 1.0), (18.0, 18.01), (40.0, 41.5), (53.0, 53.0001), (-10.0, 60.0)]:
        s = survey_trapezoid(math.radians(lat0), math.radians(lat1), math.radians(1.0))
        assert s == pytest.approx(_zone_area(0.0, lat0, 1.0, lat1), rel=1e-9)


def _parcel(rng, lon: float, lat: float, size_m: float, nvert: int) -> Polygon:
    """A land parcel shape: an irregular, mostly convex polygon with a notch, ``size_m`` across."""
    ang = np.sort(rng.uniform(0, 2 * np.pi, nvert))
    r = 0.5 * size_m * (0.7 + 0.3 * rng.uniform(0, 1, nvert))
    r[nvert // 3] *= 0.4  # a notch (a parcel cut by a road or a neighbour)
    x = lon + r * np.cos(ang) / (111_320 * math.cos(math.radians(lat)))
    y = lat + r * np.sin(ang) / 110_574
    return shapely.make_valid(Polygon(np.c_[x, y]))



@pytest.mark.parametrize("lat", [18.3, 25.0, 31.2, 40.0, 46.5, 53.3])
def test_default_survey_areas_are_within_0_05_percent_of_karney(lat):
    """Parcels of 10 m to 60 km across, 5–400 vertices: the default areas against Karney's (pyproj.Geod)."""
    from pyproj import Geod

    geod = Geod(a=A, f=F)
    rng = np.random.default_rng(int(lat * 10))
    parcels = [_parcel(rng, 100.0 + lat, lat, size, int(n))
               for size in (10.0, 80.0, 500.0, 3_000.0, 20_000.0, 60_000.0) for n in (5, 12, 60, 400)]
    ours = area_ha(parcels, 4490) * 10_000  # the default method
    # Karney on the polygon as drawn (edges split to 0.001° first, see the module notes)
    rel = np.abs(ours / geodesic_area(parcels, 4490) - 1)
    assert rel.max() < 5e-4  # the target: 0.05 %
    assert rel.max() < 1e-5  # measured: about 1e-6
    # Karney on the raw rings (every edge a geodesic): the same within 0.05 % while edges stay under
    # about 5 km; a 40 km edge linear in lon/lat is another curve than the geodesic (1e-3 at 60 km, 5 vertices)
    raw = np.array([abs(geod.geometry_area_perimeter(p)[0]) for p in parcels])
    edge_km = shapely.length(parcels) / shapely.get_num_coordinates(parcels) * 111.0
    short = edge_km < 5.0
    assert short.sum() >= 15
    assert np.abs(ours[short] / raw[short] - 1).max() < 5e-4


def test_survey_is_the_default_and_stated():
    from ecogis.normalise.area import DEFAULT_AREA_METHOD

    assert DEFAULT_AREA_METHOD == "survey"
    assert "TD/T 1055-2019" in AREA_METHOD_TEXT["survey"]["zh"]
    assert "32号" in AREA_METHOD_TEXT["survey"]["en"]


@pytest.mark.parametrize("method", ["survey", "equal_area"])
def test_areas_in_chunks_of_vertices_equal_the_areas_in_one_pass(monkeypatch, method):
    """Large inputs are cut into chunks of at most CHUNK_VERTICES vertices: each geometry's area is unchanged."""
    from ecogis.normalise import area as area_mod

    rng = np.random.default_rng(3)
    x, y = rng.uniform(100, 120, 600), rng.uniform(20, 50, 600)
    polys = list(shapely.buffer(shapely.points(x, y), rng.uniform(0.001, 0.05, 600), quad_segs=16))
    polys[5] = shapely.Polygon()  # empty
    polys[7] = shapely.MultiPolygon([polys[8], polys[9]])
    polys[11] = shapely.Point(110, 30)  # no area
    polys[13] = shapely.Polygon(shapely.get_exterior_ring(polys[14]), [shapely.get_exterior_ring(polys[15])])
    geoms = np.array(polys, dtype=object)
    one = area_mod.area_ha(geoms, lonlat=True, method=method)
    monkeypatch.setattr(area_mod, "CHUNK_VERTICES", 500)  # about 7 geometries per chunk: 90 chunks
    chunked = area_mod.area_ha(geoms, lonlat=True, method=method)
    also = area_mod.area_ha(geoms, 4490, method=method)
    assert np.array_equal(one, chunked) and np.allclose(one, also, rtol=0, atol=0)
    assert one[5] == 0 and one[11] == 0 and one[0] > 0
