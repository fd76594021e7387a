"""CRS checks: swapped X/Y, missing or extra zone prefix, Gauss-Krüger codes."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from ecogis.errors import CRSError
from ecogis.read.crs import check_coordinates, gk_epsg, gk_zone_for_lon, gk_zone_of


@pytest.mark.parametrize(
    "zone,width,prefix,code",
    [(25, 3, True, 4513), (39, 3, True, 4527), (40, 3, True, 4528), (45, 3, True, 4533),
     (25, 3, False, 4534), (39, 3, False, 4548), (13, 6, True, 4491), (20, 6, True, 4498), (20, 6, False, 4509)],
)
def test_gk_epsg(zone, width, prefix, code):
    assert gk_epsg(zone, width, prefix) == code
    z = gk_zone_of(code)
    assert (z.zone, z.width, z.prefix) == (zone, width, prefix)


def test_gk_epsg_central_meridians_match_pyproj():
    from pyproj import CRS

    for zone in (39, 40, 41):
        assert _lon0(CRS.from_epsg(gk_epsg(zone))) == 3 * zone
    assert _lon0(CRS.from_epsg(gk_epsg(20, 6))) == 117


def _lon0(crs) -> float:
    return next(p.value for p in crs.coordinate_operation.params if "Longitude of natural origin" in p.name)


def test_zone_for_lon():
    assert gk_zone_for_lon(116.0) == 39   # Xilinhot
    assert gk_zone_for_lon(119.9) == 40   # Arxan
    assert gk_zone_for_lon(121.6) == 41   # Genhe (straddles 40/41)
    assert gk_zone_for_lon(117.4, 6) == 20


def _bounds_gk(lon=116.0, lat=43.9, code=4527):
    g = gpd.GeoSeries([shapely.box(lon, lat, lon + 0.05, lat + 0.05)], crs=4490).to_crs(code)
    return tuple(g.total_bounds)


def test_good_gk_passes():
    check_coordinates(_bounds_gk(), 4527)
    check_coordinates(_bounds_gk(code=4548), 4548)


def test_missing_prefix():
    with pytest.raises(CRSError, match="lack the zone prefix 39") as e:
        check_coordinates(_bounds_gk(code=4548), 4527)
    assert "EPSG:4548" in str(e.value)


def test_extra_prefix():
    with pytest.raises(CRSError, match="carry a zone prefix") as e:
        check_coordinates(_bounds_gk(code=4527), 4548)
    assert "EPSG:4527" in str(e.value)


def test_swapped_xy():
    x0, y0, x1, y1 = _bounds_gk()
    with pytest.raises(CRSError, match="swapped"):
        check_coordinates((y0, x0, y1, x1), 4527)


def test_wrong_zone_prefix():
    with pytest.raises(CRSError, match="prefix 39 but"):
        check_coordinates(_bounds_gk(code=4527), 4528)


def test_degrees_vs_metres():
    with pytest.raises(CRSError, match="not degrees"):
        check_coordinates(_bounds_gk(), 4490)
    with pytest.raises(CRSError, match="wrong order"):
        check_coordinates((43.9, 116.0, 44.0, 116.1), 4490)


def test_other_projected_out_of_area():
    # far-west eastings declared as UTM zone 33N land outside its area of use
    with pytest.raises(CRSError, match="area of use"):
        check_coordinates((-9_000_000, 4_800_000, -8_990_000, 4_810_000), "EPSG:32633")
