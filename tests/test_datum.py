"""GCJ-02 / BD-09 offsets against the independent implementation PRCoords and published pairs."""

from __future__ import annotations

import warnings

import geopandas as gpd
import numpy as np
import prcoords
import pytest
import shapely
from pyproj import Geod
from shapely import GeometryCollection, LineString, MultiPolygon, Point, Polygon

from ecogis.errors import CRSError
from ecogis.normalise import datum
from ecogis.normalise.datum import (
    CHINA_RECT,
    SHIFTS,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    in_china,
    shift_frame,
    shift_geometries,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)

GEOD = Geod(a=6378137.0, f=1 / 298.257222101)
N = 4000


@pytest.fixture(scope="module")
def china_points() -> tuple[np.ndarray, np.ndarray]:
    """Random WGS84 points over China's extent, away from the edges of the GCJ-02 rectangle."""
    rng = np.random.default_rng(20240601)
    return rng.uniform(73.5, 135.1, N), rng.uniform(3.9, 53.6, N)


def _prc(func, lon, lat, **kw) -> tuple[np.ndarray, np.ndarray]:
    """Apply a PRCoords function (which takes and returns (lat, lon)) point by point."""
    out = np.array([func((la, lo), **kw) for lo, la in zip(lon, lat)])
    return out[:, 1], out[:, 0]


def _metres(lon1, lat1, lon2, lat2) -> np.ndarray:
    return GEOD.inv(lon1, lat1, lon2, lat2)[2]


# -- forward transforms: PRCoords ----------------------------------------------------------------


def test_wgs84_to_gcj02_matches_prcoords(china_points):
    lon, lat = china_points
    glon, glat = wgs84_to_gcj02(lon, lat)
    rlon, rlat = _prc(prcoords.wgs_gcj, lon, lat)
    # Required: < 1e-6°.  The formulas are the same, so they agree to rounding.
    assert np.abs(glon - rlon).max() < 1e-9
    assert np.abs(glat - rlat).max() < 1e-9
    # The offset is real: tens to hundreds of metres everywhere in China.
    d = _metres(lon, lat, glon, glat)
    assert d.min() > 10 and d.max() < 1000


def test_gcj02_to_bd09_and_wgs84_to_bd09_match_prcoords(china_points):
    lon, lat = china_points
    blon, blat = gcj02_to_bd09(lon, lat)
    rlon, rlat = _prc(prcoords.gcj_bd, lon, lat)
    assert np.abs(blon - rlon).max() < 1e-9
    assert np.abs(blat - rlat).max() < 1e-9
    blon, blat = wgs84_to_bd09(lon, lat)
    rlon, rlat = _prc(prcoords.wgs_bd, lon, lat)
    assert np.abs(blon - rlon).max() < 1e-9
    assert np.abs(blat - rlat).max() < 1e-9


# -- inverses: round trips and PRCoords' iterative inverses --------------------------------------


@pytest.mark.parametrize(
    ("forward", "inverse"),
    [(wgs84_to_gcj02, gcj02_to_wgs84), (gcj02_to_bd09, bd09_to_gcj02), (wgs84_to_bd09, bd09_to_wgs84)],
)
def test_inverse_round_trips(china_points, forward, inverse):
    lon, lat = china_points
    back = inverse(*forward(lon, lat))
    worst = _metres(lon, lat, *back).max()
    # Required: < 0.5 m, and < 0.01 m if achieved; measured ~2e-6 m.
    assert worst < 0.01
    assert worst < 1e-4
    # And the other way round: the inverse solves forward(x) == input.
    again = forward(*inverse(lon, lat))
    assert _metres(lon, lat, *again).max() < 1e-4


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (gcj02_to_wgs84, prcoords.gcj_wgs_bored),
        (bd09_to_gcj02, prcoords.bd_gcj_bored),
        (bd09_to_wgs84, prcoords.bd_wgs_bored),
    ],
)
def test_inverses_agree_with_prcoords_iterative_inverses(china_points, ours, theirs):
    lon, lat = china_points
    olon, olat = ours(lon, lat)
    rlon, rlat = _prc(theirs, lon, lat)
    # PRCoords stops its iteration at 1e-5° steps, so it is only good to a few centimetres.
    assert _metres(olon, olat, rlon, rlat).max() < 0.05


def test_closed_form_bd_inverse_is_worse_than_ours(china_points):
    """The usual one-step BD-09 inverse is off by up to decimetres; ours is exact."""
    lon, lat = china_points
    blon, blat = gcj02_to_bd09(lon, lat)
    alon, alat = _prc(prcoords.bd_gcj, blon, blat)
    assert _metres(lon, lat, alon, alat).max() > 0.05
    assert _metres(lon, lat, *bd09_to_gcj02(blon, blat)).max() < 1e-4


# -- published test pairs ------------------------------------------------------------------------

# googollee/eviltransform, python/test.py: (wgs lat, wgs lon, gcj lat, gcj lon)
EVILTRANSFORM = [
    (31.1774276, 121.5272106, 31.17530398364597, 121.531541859215),  # Shanghai
    (22.543847, 113.912316, 22.540796131694766, 113.9171764808363),  # Shenzhen
    (39.911954, 116.377817, 39.91334545536069, 116.38404722455657),  # Beijing
]


@pytest.mark.parametrize(("wlat", "wlon", "glat", "glon"), EVILTRANSFORM)
def test_eviltransform_pairs(wlat, wlon, glat, glon):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert lon == pytest.approx(glon, abs=1e-9) and lat == pytest.approx(glat, abs=1e-9)
    lon, lat = gcj02_to_wgs84(glon, glat)
    assert lon == pytest.approx(wlon, abs=1e-9) and lat == pytest.approx(wlat, abs=1e-9)


def test_coordtransform_pairs():
    """wandergis/coordtransform, test/app.js, for the input (116.404, 39.915)."""
    assert wgs84_to_gcj02(116.404, 39.915) == pytest.approx((116.41024449916938, 39.91640428150164), abs=1e-9)
    assert gcj02_to_bd09(116.404, 39.915) == pytest.approx((116.41036949371029, 39.92133699351021), abs=1e-9)
    # coordtransform's inverses are the one-step approximations: within ~0.1 m (1e-6°) of the exact ones.
    assert bd09_to_gcj02(116.404, 39.915) == pytest.approx((116.39762729119315, 39.90865673957631), abs=1e-6)
    assert gcj02_to_wgs84(116.404, 39.915) == pytest.approx((116.39775550083061, 39.91359571849836), abs=1e-6)


# -- outside China, scalars, shapes, NaN ---------------------------------------------------------


def test_points_outside_china_are_unchanged():
    lon = np.array([0.0, 150.0, 100.0, -74.0, 2.35, 72.0, 137.84, 110.0, 110.0])
    lat = np.array([0.0, 40.0, 60.0, 40.7, 48.85, 40.0, 40.0, 0.8, 55.83])
    assert not in_china(lon, lat).any()
    for func in (wgs84_to_gcj02, gcj02_to_wgs84):
        out_lon, out_lat = func(lon, lat)
        np.testing.assert_array_equal(out_lon, lon)
        np.testing.assert_array_equal(out_lat, lat)


def test_china_rectangle_bounds_are_inclusive():
    x0, y0, x1, y1 = CHINA_RECT
    assert in_china([x0, x1, 105.0], [y0, y1, 35.0]).all()
    lon, lat = wgs84_to_gcj02(x0, y1)
    assert (lon, lat) != (x0, y1)


def test_scalars_give_numpy_scalars_equal_to_the_array_result():
    for func in SHIFTS.values():
        lon, lat = func(120.5, 45.5)
        assert np.ndim(lon) == 0 and np.ndim(lat) == 0
        alon, alat = func(np.array([120.5, 100.0]), np.array([45.5, 30.0]))
        assert float(lon) == alon[0] and float(lat) == alat[0]


def test_shapes_broadcast_and_nan_passes_through():
    lon = np.array([[120.0, np.nan], [100.0, 118.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for func in SHIFTS.values():
            out_lon, out_lat = func(lon, 40.0)
            assert out_lon.shape == out_lat.shape == (2, 2)
            assert np.isnan(out_lon[0, 1])  # a NaN stays NaN, without warnings or errors
            assert np.isfinite(out_lon[[0, 1, 1], [0, 0, 1]]).all()


def test_inputs_are_not_modified():
    lon = np.array([120.0, 121.0])
    lat = np.array([40.0, 41.0])
    for func in SHIFTS.values():
        func(lon, lat)
    np.testing.assert_array_equal(lon, [120.0, 121.0])
    np.testing.assert_array_equal(lat, [40.0, 41.0])


def test_iteration_cap_is_not_reached(monkeypatch):
    """Every inverse converges in a handful of rounds, far below the cap."""
    monkeypatch.setattr(datum, "MAX_ITERATIONS", 6)
    rng = np.random.default_rng(3)
    lon, lat = rng.uniform(73.5, 135, 2000), rng.uniform(4, 53.5, 2000)
    back = bd09_to_wgs84(*wgs84_to_bd09(lon, lat))
    assert _metres(lon, lat, *back).max() < 1e-4


# -- shapely geometries --------------------------------------------------------------------------

SHELL = [(120.0, 45.0), (120.2, 45.0), (120.2, 45.2), (120.0, 45.2)]
HOLE = [(120.05, 45.05), (120.1, 45.05), (120.1, 45.1), (120.05, 45.1)]


def _sample_geoms() -> np.ndarray:
    return np.array(
        [
            Polygon(SHELL, [HOLE]),
            MultiPolygon([Polygon(SHELL, [HOLE]), Polygon([(121, 46), (121.1, 46), (121.1, 46.1)])]),
            LineString([(119.0, 44.0), (119.5, 44.2), (119.9, 44.9)]),
            Point(118.0, 43.0),
            GeometryCollection([Point(118.5, 43.5), LineString([(118, 43), (118.1, 43.1)])]),
            Polygon(),
            None,
        ],
        dtype=object,
    )


@pytest.mark.parametrize("shift", sorted(SHIFTS))
def test_shift_geometries_keeps_structure(shift):
    geoms = _sample_geoms()
    out = shift_geometries(geoms, shift)
    assert isinstance(out, np.ndarray) and out.shape == geoms.shape
    assert out[-1] is None
    present = geoms[:-1]
    moved = out[:-1]
    np.testing.assert_array_equal(shapely.get_type_id(moved), shapely.get_type_id(present))
    np.testing.assert_array_equal(shapely.get_num_geometries(moved), shapely.get_num_geometries(present))
    np.testing.assert_array_equal(shapely.get_num_coordinates(moved), shapely.get_num_coordinates(present))
    parts, parts_out = shapely.get_parts(present), shapely.get_parts(moved)
    np.testing.assert_array_equal(shapely.get_num_interior_rings(parts_out), shapely.get_num_interior_rings(parts))
    assert shapely.is_empty(moved[5])
    # Every coordinate moved exactly as the point function moves it.
    xy = shapely.get_coordinates(present)
    expected = np.column_stack(SHIFTS[shift](xy[:, 0], xy[:, 1]))
    np.testing.assert_array_equal(shapely.get_coordinates(moved), expected)
    assert shapely.is_valid(moved[:2]).all()


def test_shift_geometries_drops_z_and_accepts_single_geometries_and_geoseries():
    out = shift_geometries(Point(120.0, 40.0, 55.0), "wgs84:gcj02")
    assert isinstance(out, Point) and not out.has_z
    assert (out.x, out.y) == pytest.approx(wgs84_to_gcj02(120.0, 40.0))
    series = gpd.GeoSeries(list(_sample_geoms()[:4]), crs=4326)
    out = shift_geometries(series, "gcj02:wgs84")
    assert len(out) == 4 and shapely.get_num_interior_rings(out[0]) == 1


def test_round_trip_of_geometries_is_exact_to_a_millimetre():
    geoms = _sample_geoms()[:3]
    back = shift_geometries(shift_geometries(geoms, "wgs84:bd09"), "bd09:wgs84")
    a, b = shapely.get_coordinates(geoms), shapely.get_coordinates(back)
    assert _metres(a[:, 0], a[:, 1], b[:, 0], b[:, 1]).max() < 1e-3


def test_unknown_shift_lists_the_valid_names():
    with pytest.raises(CRSError) as info:
        shift_geometries([Point(120, 40)], "wgs84:mars")
    for name in SHIFTS:
        assert name in str(info.value)


def test_shift_names_are_forgiving_about_case_and_hyphens():
    out = shift_geometries(Point(120.0, 40.0), "WGS-84:GCJ-02")
    assert (out.x, out.y) == pytest.approx(wgs84_to_gcj02(120.0, 40.0))


# -- GeoDataFrames -------------------------------------------------------------------------------


def _frame(crs) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["a", "b"], "code": [1, 2]},
        geometry=[Polygon(SHELL, [HOLE]), Point(121.0, 46.0)],
        crs=crs,
        index=[10, 20],
    )


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:4490", "OGC:CRS84"])
def test_shift_frame_returns_a_shifted_copy_with_the_same_crs(crs):
    gdf = _frame(crs)
    before = gdf.geometry.copy()
    out = shift_frame(gdf, "wgs84:gcj02")
    assert out.crs == gdf.crs
    assert list(out.index) == [10, 20] and list(out["name"]) == ["a", "b"]
    assert gdf.geometry.geom_equals_exact(before, tolerance=0).all()  # input untouched
    assert not out.geometry.geom_equals_exact(before, tolerance=1e-6).any()
    back = shift_frame(out, "gcj02:wgs84")
    assert back.geometry.geom_equals_exact(before, tolerance=1e-10).all()


@pytest.mark.parametrize("crs", ["EPSG:4527", "EPSG:3857", "EPSG:4214", None])
def test_shift_frame_refuses_projected_other_datum_and_missing_crs(crs):
    gdf = _frame(None)
    if crs is not None:
        gdf = gdf.set_crs(crs)
    with pytest.raises(CRSError) as info:
        shift_frame(gdf, "wgs84:gcj02", path="site.shp")
    assert "site.shp" in str(info.value)


def test_shift_frame_checks_the_shift_name_first():
    with pytest.raises(CRSError, match="unknown datum shift"):
        shift_frame(_frame("EPSG:4326"), "gcj02:xian80")
