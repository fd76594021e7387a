"""Datum offsets: GCJ-02 (Amap, Tencent) and BD-09 (Baidu) to and from WGS84.

Chinese web maps draw their tiles, and return their coordinates, in
deliberately shifted frames:

* **GCJ-02** (国测局坐标, "Mars coordinates"): WGS84 plus an offset of up to a
  few hundred metres given by a public polynomial-and-sine formula.  Used by
  Amap (高德), Tencent and Google's China tiles.
* **BD-09** (百度坐标): GCJ-02 with a further small polar-coordinate twist and a
  constant offset.  Used by Baidu.

For this purpose WGS84 and CGCS2000 (EPSG:4490) are the same: they agree to
centimetres, far below the size of the offsets, so every ``wgs84`` here can be
read as CGCS2000.

The forward formulas are the ones every public implementation uses
(eviltransform, coordtransform, PRCoords).  The inverses have no closed form;
they are solved here by a vectorised fixed-point iteration to 1e-9° (about
0.1 mm), so a round trip is exact to well under a millimetre.

**Out of China.**  GCJ-02 leaves points outside China unchanged.  Like the
common public implementations we use a rectangle, not the border:
longitude 72.004°E–137.8347°E and latitude 0.8293°N–55.8271°N (bounds
included), see :data:`CHINA_RECT`.  The rectangle is larger than China, so it
also shifts nearby parts of neighbouring countries and seas; every point of
Chinese territory lies well inside it.  For the inverse the test is applied to
the GCJ-02 input, as those implementations do; a point within ~0.01° of the
rectangle's edge (never Chinese territory) may therefore not round-trip.

The BD-09 step is a pure formula relative to GCJ-02 and, as in the reference
implementations, is applied everywhere (outside the rectangle GCJ-02 equals
WGS84, so BD-09 there is WGS84 plus Baidu's twist).
"""

from __future__ import annotations

import math
from typing import Any, Callable

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from ecogis.errors import CRSError

# Krasovsky 1940 ellipsoid, which the GCJ-02 algorithm uses for its metre-to-degree factors.
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323

#: ``(lon_min, lat_min, lon_max, lat_max)`` of the rectangle inside which GCJ-02 applies.
CHINA_RECT = (72.004, 0.8293, 137.8347, 55.8271)

# Baidu's constant offsets and the frequency of its twist (3000 per radian).
_BD_DLON = 0.0065
_BD_DLAT = 0.006
_BD_K = math.pi * 3000.0 / 180.0

#: Inverse iterations stop when every point moved less than this (degrees, ~0.1 mm).
TOLERANCE_DEG = 1e-9
#: At most this many inverse iterations (each gains 2–3 digits; 4–6 are typical).
MAX_ITERATIONS = 30

Coords = tuple[Any, Any]


def _as_float(lon: Any, lat: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """Float64 copies of ``lon``, ``lat`` broadcast to one shape, and whether both were scalars."""
    lon_a = np.array(lon, dtype=float)
    lat_a = np.array(lat, dtype=float)
    scalar = lon_a.ndim == 0 and lat_a.ndim == 0
    lon_a, lat_a = np.broadcast_arrays(lon_a, lat_a)
    return lon_a.copy(), lat_a.copy(), scalar


def _result(lon: np.ndarray, lat: np.ndarray, scalar: bool) -> Coords:
    if scalar:
        return lon[()], lat[()]
    return lon, lat


def in_china(lon: Any, lat: Any) -> np.ndarray:
    """``True`` where (lon, lat) lies in :data:`CHINA_RECT`, the rectangle GCJ-02 applies to.

    NaN coordinates are outside.
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    x0, y0, x1, y1 = CHINA_RECT
    return (lon >= x0) & (lon <= x1) & (lat >= y0) & (lat <= y1)


def _gcj_offset(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (dlon, dlat) in degrees at WGS84 (lon, lat), without the China test."""
    x = lon - 105.0
    y = lat - 35.0
    pi = math.pi
    root = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * pi * x) + 20.0 * np.sin(2.0 * pi * x)) * 2.0 / 3.0
    dlat_m = (
        -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * root
        + common
        + (20.0 * np.sin(pi * y) + 40.0 * np.sin(pi * y / 3.0)) * 2.0 / 3.0
        + (160.0 * np.sin(pi * y / 12.0) + 320.0 * np.sin(pi * y / 30.0)) * 2.0 / 3.0
    )
    dlon_m = (
        300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * root
        + common
        + (20.0 * np.sin(pi * x) + 40.0 * np.sin(pi * x / 3.0)) * 2.0 / 3.0
        + (150.0 * np.sin(pi * x / 12.0) + 300.0 * np.sin(pi * x / 30.0)) * 2.0 / 3.0
    )
    phi = np.radians(lat)
    magic = 1.0 - _KRASOVSKY_EE * np.sin(phi) ** 2
    sqrt_magic = np.sqrt(magic)
    # Lengths of a degree of latitude and longitude (Krasovsky), in metres.
    lat_deg = (_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE)) / (magic * sqrt_magic) * pi / 180.0
    lon_deg = _KRASOVSKY_A / sqrt_magic * np.cos(phi) * pi / 180.0
    return dlon_m / lon_deg, dlat_m / lat_deg


def _fixed_point(
    forward: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
    target_lon: np.ndarray,
    target_lat: np.ndarray,
    lon: np.ndarray,
    lat: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """Solve ``forward(lon, lat) == target`` by ``p <- p - (forward(p) - target)``.

    Starts from (lon, lat) and returns the solution in their shape.  Only points that
    still move take part in the next round; stops when every point moved less
    than :data:`TOLERANCE_DEG` or after :data:`MAX_ITERATIONS` rounds.  The
    offsets' Jacobians differ from the identity by a few thousandths (GCJ-02)
    or hundredths (BD-09), so each round gains two to three digits: 3–4
    rounds in practice.
    """
    shape = np.shape(lon)
    lon = np.array(lon, dtype=float).reshape(-1)
    lat = np.array(lat, dtype=float).reshape(-1)
    target_lon = np.asarray(target_lon, dtype=float).reshape(-1)
    target_lat = np.asarray(target_lat, dtype=float).reshape(-1)
    active = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    for _ in range(MAX_ITERATIONS):
        if active.size == 0:
            break
        flon, flat = forward(lon[active], lat[active])
        step_lon = flon - target_lon[active]
        step_lat = flat - target_lat[active]
        lon[active] -= step_lon
        lat[active] -= step_lat
        moved = np.maximum(np.abs(step_lon), np.abs(step_lat))
        active = active[moved >= TOLERANCE_DEG]
    return lon.reshape(shape), lat.reshape(shape)


def _wgs_to_gcj_raw(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dlon, dlat = _gcj_offset(lon, lat)
    return lon + dlon, lat + dlat


def wgs84_to_gcj02(lon: Any, lat: Any) -> Coords:
    """WGS84 (≈ CGCS2000) lon/lat to GCJ-02; points outside :data:`CHINA_RECT` unchanged.

    Parameters
    ----------
    lon, lat:
        Degrees; scalars or arrays of any (broadcastable) shape.

    Returns
    -------
    (lon, lat):
        Float arrays of the broadcast shape, or numpy scalars for scalar input.
    """
    lon, lat, scalar = _as_float(lon, lat)
    inside = in_china(lon, lat)
    if inside.any():
        glon, glat = _wgs_to_gcj_raw(lon[inside], lat[inside])
        lon[inside] = glon
        lat[inside] = glat
    return _result(lon, lat, scalar)


def gcj02_to_wgs84(lon: Any, lat: Any) -> Coords:
    """GCJ-02 lon/lat to WGS84 (≈ CGCS2000), solved iteratively to 1e-9°.

    Points outside :data:`CHINA_RECT` are returned unchanged.  The start is
    the usual one-step inverse (error of a metre or so), refined by
    fixed-point iteration until every point moved less than
    :data:`TOLERANCE_DEG`.
    """
    lon, lat, scalar = _as_float(lon, lat)
    inside = in_china(lon, lat)
    if inside.any():
        glon, glat = lon[inside], lat[inside]
        dlon, dlat = _gcj_offset(glon, glat)
        wlon, wlat = _fixed_point(_wgs_to_gcj_raw, glon, glat, glon - dlon, glat - dlat)
        lon[inside] = wlon
        lat[inside] = wlat
    return _result(lon, lat, scalar)


def _gcj_to_bd_raw(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_K)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_K)
    return z * np.cos(theta) + _BD_DLON, z * np.sin(theta) + _BD_DLAT


def gcj02_to_bd09(lon: Any, lat: Any) -> Coords:
    """GCJ-02 lon/lat to BD-09 (Baidu), applied everywhere (see the module notes)."""
    lon, lat, scalar = _as_float(lon, lat)
    blon, blat = _gcj_to_bd_raw(lon, lat)
    return _result(blon, blat, scalar)


def bd09_to_gcj02(lon: Any, lat: Any) -> Coords:
    """BD-09 (Baidu) lon/lat to GCJ-02: the exact inverse of :func:`gcj02_to_bd09`.

    Starts from the usual closed-form approximation (error ~1e-7°) and refines
    it by fixed-point iteration to :data:`TOLERANCE_DEG`.
    """
    lon, lat, scalar = _as_float(lon, lat)
    x = lon - _BD_DLON
    y = lat - _BD_DLAT
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_K)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_K)
    glon, glat = _fixed_point(_gcj_to_bd_raw, lon, lat, z * np.cos(theta), z * np.sin(theta))
    return _result(glon, glat, scalar)


def wgs84_to_bd09(lon: Any, lat: Any) -> Coords:
    """WGS84 (≈ CGCS2000) lon/lat to BD-09, through GCJ-02."""
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: Any, lat: Any) -> Coords:
    """BD-09 lon/lat to WGS84 (≈ CGCS2000), through GCJ-02; both inverses iterative."""
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


#: Named shifts, ``"from:to"``.  ``wgs84`` stands for WGS84 and CGCS2000 alike.
SHIFTS: dict[str, Callable[[Any, Any], Coords]] = {
    "gcj02:wgs84": gcj02_to_wgs84,
    "wgs84:gcj02": wgs84_to_gcj02,
    "bd09:wgs84": bd09_to_wgs84,
    "wgs84:bd09": wgs84_to_bd09,
    "gcj02:bd09": gcj02_to_bd09,
    "bd09:gcj02": bd09_to_gcj02,
}


def get_shift(shift: str) -> Callable[[Any, Any], Coords]:
    """The function for a named shift, or :class:`~ecogis.errors.CRSError` listing the valid names."""
    key = str(shift).strip().lower().replace("-", "")
    func = SHIFTS.get(key)
    if func is None:
        raise CRSError(
            f"unknown datum shift {shift!r}",
            hint="valid shifts: " + ", ".join(SHIFTS),
        )
    return func


def shift_geometries(geoms: Any, shift: str) -> Any:
    """Apply a named shift to shapely geometries, all coordinates at once.

    Parameters
    ----------
    geoms:
        A shapely geometry, or an array, list or GeoSeries of them (``None``
        allowed).  Coordinates are lon/lat degrees.
    shift:
        A key of :data:`SHIFTS`, e.g. ``"gcj02:wgs84"``.

    Returns
    -------
    numpy.ndarray
        Object array of shifted 2-D geometries (Z dropped), same shape as the
        input; a single geometry for a single geometry.  Rings, holes and
        parts are kept as they are.
    """
    func = get_shift(shift)
    if isinstance(geoms, shapely.Geometry):
        values: Any = geoms
    else:
        values = np.asarray(geoms, dtype=object)
    return shapely.transform(values, lambda x, y: func(x, y), include_z=False, interleaved=False)


def _is_wgs84_like(crs: CRS) -> bool:
    """Geographic lon/lat in degrees on the WGS84 or CGCS2000 (GRS80) ellipsoid."""
    if not crs.is_geographic:
        return False
    ellipsoid = crs.ellipsoid
    if ellipsoid is None or abs(ellipsoid.semi_major_metre - 6378137.0) > 1e-3:
        return False
    if abs(ellipsoid.inverse_flattening - 298.2572) > 1e-3:
        return False
    pm = crs.prime_meridian
    if pm is not None and abs(pm.longitude) > 1e-12:
        return False
    return all(abs(a.unit_conversion_factor - math.pi / 180.0) < 1e-12 for a in crs.axis_info[:2])


def shift_frame(gdf: gpd.GeoDataFrame, shift: str, *, path: Any = None) -> gpd.GeoDataFrame:
    """A copy of ``gdf`` with its geometry shifted by ``shift``, CRS unchanged.

    The frame must be geographic lon/lat on the WGS84 / CGCS2000 ellipsoid
    (EPSG:4326, EPSG:4490 or an equivalent); anything else, including a
    missing CRS, raises :class:`~ecogis.errors.CRSError`: project it to
    EPSG:4490 first.  GCJ-02 and BD-09 data are usually labelled EPSG:4326.
    """
    get_shift(shift)
    if gdf.crs is None:
        raise CRSError("layer has no CRS; a datum shift needs lon/lat degrees", path=path,
                       hint="set the CRS (GCJ-02 and BD-09 data are usually labelled EPSG:4326)")
    crs = CRS.from_user_input(gdf.crs)
    if not _is_wgs84_like(crs):
        raise CRSError(
            f"a {shift} shift needs lon/lat on the WGS84/CGCS2000 ellipsoid, not {crs.name}",
            path=path,
            hint="transform the layer to EPSG:4490 first",
        )
    out = gdf.copy()
    name = gdf.geometry.name
    out[name] = gpd.GeoSeries(shift_geometries(gdf.geometry.values, shift), index=gdf.index, crs=gdf.crs)
    return out
