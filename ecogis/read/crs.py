"""CRS checks: never guess a CRS silently.

Gauss-Krüger helpers for CGCS2000 and the checks that refuse data whose
coordinates do not fit the declared CRS (swapped X/Y, a missing or extra zone
prefix, lon/lat swapped, projected numbers declared as degrees).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from pyproj import CRS, Transformer
from pyproj.exceptions import CRSError as PyprojCRSError

from ecogis.errors import CRSError

CGCS2000 = "EPSG:4490"

# EPSG code ranges of CGCS2000 Gauss-Krüger CRSs.
_GK3_PREFIX = (4513, 25, 45)  # first code, first zone, last zone
_GK3_PLAIN = (4534, 25, 45)
_GK6_PREFIX = (4491, 13, 23)
_GK6_PLAIN = (4502, 13, 23)


@dataclass(frozen=True)
class GKZone:
    """A CGCS2000 Gauss-Krüger zone."""

    zone: int
    width: int  # 3 or 6 degrees
    prefix: bool  # zone number written in front of the easting

    @property
    def central_meridian(self) -> float:
        return 3.0 * self.zone if self.width == 3 else 6.0 * self.zone - 3.0

    @property
    def false_easting(self) -> float:
        return self.zone * 1_000_000 + 500_000 if self.prefix else 500_000

    @property
    def epsg(self) -> int:
        return gk_epsg(self.zone, self.width, self.prefix)

    @property
    def crs(self) -> CRS:
        return CRS.from_epsg(self.epsg)


def gk_epsg(zone: int, width: int = 3, prefix: bool = True) -> int:
    """EPSG code of the CGCS2000 Gauss-Krüger CRS for ``zone``.

    >>> gk_epsg(39)          # 3-degree zone 39 with prefix, CM 117°E
    4527
    >>> gk_epsg(39, prefix=False)
    4548
    """
    if width == 3:
        first, lo, hi = _GK3_PREFIX if prefix else _GK3_PLAIN
    elif width == 6:
        first, lo, hi = _GK6_PREFIX if prefix else _GK6_PLAIN
    else:
        raise CRSError(f"Gauss-Krüger zone width must be 3 or 6 degrees, not {width}")
    if not lo <= zone <= hi:
        raise CRSError(
            f"{width}-degree Gauss-Krüger zone {zone} is outside China's range {lo}–{hi}"
        )
    return first + zone - lo


def gk_zone_for_lon(lon: float, width: int = 3) -> int:
    """The Gauss-Krüger zone number whose central meridian is nearest ``lon``."""
    if width == 3:
        return int(math.floor(lon / 3.0 + 0.5))
    return int(math.floor(lon / 6.0)) + 1


def gk_zone_of(crs: Any) -> GKZone | None:
    """The :class:`GKZone` of a CGCS2000 Gauss-Krüger CRS, or ``None``."""
    try:
        code = CRS.from_user_input(crs).to_epsg()
    except PyprojCRSError:
        return None
    if code is None:
        return None
    for (first, lo, hi), width, prefix in (
        (_GK3_PREFIX, 3, True),
        (_GK3_PLAIN, 3, False),
        (_GK6_PREFIX, 6, True),
        (_GK6_PLAIN, 6, False),
    ):
        if first <= code <= first + hi - lo:
            return GKZone(lo + code - first, width, prefix)
    return None


def parse_crs(value: Any, *, path: Any = None) -> CRS:
    """Parse a user-given CRS (``EPSG:4490``, ``4527``, WKT, PROJ) or raise :class:`CRSError`."""
    if isinstance(value, CRS):
        return value
    text = str(value).strip()
    if text.isdigit():
        text = f"EPSG:{text}"
    try:
        return CRS.from_user_input(text)
    except PyprojCRSError as exc:
        raise CRSError(f"unknown CRS {value!r}: {exc}", path=path) from None


def describe(crs: Any) -> str:
    """``EPSG:4527 (CGCS2000 / 3-degree Gauss-Kruger zone 39)`` or the CRS name."""
    c = CRS.from_user_input(crs)
    code = c.to_epsg()
    return f"EPSG:{code} ({c.name})" if code else c.name


def _china_box() -> tuple[float, float, float, float]:
    return (73.0, 3.0, 136.0, 54.0)


#: A generous box around China (mainland, Hainan, the South China Sea islands), lon/lat degrees.
CHINA_EXTENT = (72.0, 2.0, 137.0, 55.0)
#: How far (degrees of longitude) data may spill beyond its Gauss-Krüger zone's band before a warning.
GK_BAND_SLACK = 0.5


def extent_notes(geoms, crs: Any, ids, notes) -> None:
    """Warn (a note ``extent``) about features outside China or outside their Gauss-Krüger zone's band.

    A red line in Utah validates without complaint otherwise; data outside
    China, or far outside the declared zone, is almost always a CRS mistake.
    Per-feature bounds are only computed when the layer's own bounds leave
    the box.
    """
    import shapely

    b = shapely.bounds(np.asarray(geoms, dtype=object))
    ok = np.isfinite(b).all(axis=1)
    if not ok.any():
        return
    c = CRS.from_user_input(crs)
    gk = gk_zone_of(c) if c.is_projected else None
    total = np.array([b[ok, 0].min(), b[ok, 1].min(), b[ok, 2].max(), b[ok, 3].max()])

    def lonlat(box: np.ndarray) -> np.ndarray:
        if c.is_geographic:
            return box
        tr = Transformer.from_crs(c, CRS.from_epsg(4490), always_xy=True)
        xs, ys = box[:, [0, 2, 0, 2]], box[:, [1, 1, 3, 3]]
        lon, lat = tr.transform(xs.ravel(), ys.ravel())
        lon, lat = np.asarray(lon).reshape(xs.shape), np.asarray(lat).reshape(ys.shape)
        return np.column_stack([lon.min(axis=1), lat.min(axis=1), lon.max(axis=1), lat.max(axis=1)])

    w, s_, e, n = CHINA_EXTENT
    if gk is not None:
        half = gk.width / 2 + GK_BAND_SLACK
        w, e = max(w, gk.central_meridian - half), min(e, gk.central_meridian + half)
    t = lonlat(total[None, :])[0]
    if w <= t[0] and t[2] <= e and s_ <= t[1] and t[3] <= n:
        return
    ll = np.full_like(b, np.nan)
    ll[ok] = lonlat(b[ok])
    china = (ll[:, 0] >= CHINA_EXTENT[0]) & (ll[:, 2] <= CHINA_EXTENT[2]) & (ll[:, 1] >= CHINA_EXTENT[1]) \
        & (ll[:, 3] <= CHINA_EXTENT[3])
    out_china = ok & ~china
    ids = np.asarray(ids)
    if out_china.any():
        k = int(np.flatnonzero(out_china)[0])
        lon, lat = (ll[k, 0] + ll[k, 2]) / 2, (ll[k, 1] + ll[k, 3]) / 2
        notes.add("extent", f"warning: {int(out_china.sum())} of {len(b)} features lie outside China "
                  f"({CHINA_EXTENT[0]:g}–{CHINA_EXTENT[2]:g}°E, {CHINA_EXTENT[1]:g}–{CHINA_EXTENT[3]:g}°N), the first "
                  f"near {abs(lon):.2f}°{'E' if lon >= 0 else 'W'} {abs(lat):.2f}°{'N' if lat >= 0 else 'S'}; "
                  "this is almost always a wrong CRS (check --crs, the .prj, the axis order)", ids[out_china])
    if gk is not None:
        off = ok & china & ((ll[:, 0] < w) | (ll[:, 2] > e))
        if off.any():
            notes.add("extent", f"warning: {int(off.sum())} features lie more than {GK_BAND_SLACK:g}° outside the band "
                      f"of Gauss-Krüger zone {gk.zone} ({gk.central_meridian - gk.width / 2:g}–"
                      f"{gk.central_meridian + gk.width / 2:g}°E) of {describe(c)}; check the zone", ids[off])


def check_coordinates(bounds: tuple[float, float, float, float], crs: Any, *, path: Any = None) -> None:
    """Refuse coordinates that do not fit ``crs``.

    ``bounds`` is ``(minx, miny, maxx, maxy)`` in the layer's own axis order
    as geopandas keeps it (x = easting / longitude).  Raises :class:`CRSError`
    with a diagnosis: lat/lon swapped, X/Y swapped, a missing or extra
    Gauss-Krüger zone prefix, or simply out of the CRS's area of use.
    """
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    if not all(math.isfinite(b) for b in (minx, miny, maxx, maxy)):
        raise CRSError("coordinates are not finite numbers (NaN or infinity)", path=path)
    c = CRS.from_user_input(crs)
    desc = describe(c)
    if c.is_geographic:
        _check_geographic(minx, miny, maxx, maxy, desc, path)
        return
    if not c.is_projected:
        raise CRSError(f"{desc} is neither geographic nor projected", path=path)
    gk = gk_zone_of(c)
    if gk is not None:
        _check_gk(minx, miny, maxx, maxy, gk, desc, path)
        return
    _check_projected(minx, miny, maxx, maxy, c, desc, path)


def _check_geographic(minx, miny, maxx, maxy, desc, path) -> None:
    lon0, lat0, lon1, lat1 = _china_box()
    in_china = lon0 <= minx and maxx <= lon1 and lat0 <= miny and maxy <= lat1
    swapped = lon0 <= miny and maxy <= lon1 and lat0 <= minx and maxx <= lat1
    if not in_china and swapped:
        raise CRSError(
            f"coordinates look like latitude/longitude in the wrong order "
            f"(x {minx:.3f}…{maxx:.3f}, y {miny:.3f}…{maxy:.3f}); x must be the longitude",
            path=path,
            hint="swap the columns or the axis order of the source",
        )
    if max(abs(minx), abs(maxx)) > 180 + 1e-6 or max(abs(miny), abs(maxy)) > 90 + 1e-6:  # 180.00000000000006 occurs
        raise CRSError(
            f"coordinates ({minx:.0f}…{maxx:.0f}, {miny:.0f}…{maxy:.0f}) are not degrees, "
            f"but the CRS is geographic {desc}",
            path=path,
            hint="these look like projected metres: give the real CRS with --crs, e.g. EPSG:4527",
        )


def _check_gk(minx, miny, maxx, maxy, gk: GKZone, desc, path) -> None:
    fe = gk.false_easting
    # A 3-degree zone is ~±130 km wide at these latitudes; allow generous slack
    # for data spilling into the next zone.
    half = 400_000 if gk.width == 3 else 700_000
    east_ok = fe - half <= minx and maxx <= fe + half
    north_ok = 0 <= miny and maxy <= 6_200_000
    if east_ok and north_ok:
        return
    # Diagnose.
    plain_ok = 500_000 - half <= minx and maxx <= 500_000 + half
    swapped_e = fe - half <= miny and maxy <= fe + half
    swapped_plain = 500_000 - half <= miny and maxy <= 500_000 + half
    northing_like_x = 0 <= minx and maxx <= 6_200_000
    if swapped_e and northing_like_x and not east_ok:
        raise CRSError(
            "X and Y look swapped: x holds northings and y holds eastings "
            f"(x {minx:.0f}…{maxx:.0f}, y {miny:.0f}…{maxy:.0f}) for {desc}",
            path=path,
            hint="in 国土TXT and surveying X is the northing; GIS x must be the easting",
        )
    if gk.prefix and plain_ok and north_ok:
        plain = GKZone(gk.zone, gk.width, False)
        raise CRSError(
            f"eastings {minx:.0f}…{maxx:.0f} lack the zone prefix {gk.zone} that {desc} expects",
            path=path,
            hint=f"use EPSG:{plain.epsg} ({plain.crs.name}) for coordinates without the prefix",
        )
    if not gk.prefix and north_ok and minx >= 1_000_000:
        zone = int(minx // 1_000_000)
        if zone == int(maxx // 1_000_000):
            try:
                code = gk_epsg(zone, gk.width, True)
                hint = f"eastings carry zone prefix {zone}: use EPSG:{code}"
            except CRSError:
                hint = None
            raise CRSError(
                f"eastings {minx:.0f}…{maxx:.0f} carry a zone prefix, which {desc} does not expect",
                path=path,
                hint=hint,
            )
    if swapped_plain and northing_like_x:
        raise CRSError(
            "X and Y look swapped: x holds northings and y holds eastings "
            f"(x {minx:.0f}…{maxx:.0f}, y {miny:.0f}…{maxy:.0f}) for {desc}",
            path=path,
        )
    if gk.prefix and north_ok and minx >= 1_000_000 and int(minx // 1_000_000) != gk.zone:
        zone = int(minx // 1_000_000)
        raise CRSError(
            f"eastings carry zone prefix {zone} but {desc} is zone {gk.zone}",
            path=path,
            hint="give the CRS of the zone the coordinates were computed in",
        )
    raise CRSError(
        f"coordinates (x {minx:.0f}…{maxx:.0f}, y {miny:.0f}…{maxy:.0f}) do not fit {desc}",
        path=path,
    )


def _check_projected(minx, miny, maxx, maxy, c: CRS, desc, path) -> None:
    aou = c.area_of_use
    try:
        tr = Transformer.from_crs(c, CRS.from_epsg(4326), always_xy=True)
        xs = np.array([minx, maxx, minx, maxx])
        ys = np.array([miny, miny, maxy, maxy])
        lon, lat = tr.transform(xs, ys)
    except Exception as exc:  # pyproj raises several types
        raise CRSError(f"coordinates cannot be transformed from {desc}: {exc}", path=path) from None
    if not (np.all(np.isfinite(lon)) and np.all(np.isfinite(lat))):
        raise CRSError(f"coordinates fall outside the valid range of {desc}", path=path)
    if aou is not None:
        w, s, e, n = aou.west, aou.south, aou.east, aou.north
        pad = 5.0
        if lon.min() < w - pad or lon.max() > e + pad or lat.min() < s - pad or lat.max() > n + pad:
            raise CRSError(
                f"coordinates fall outside the area of use of {desc} "
                f"({w:.1f}…{e:.1f}°E, {s:.1f}…{n:.1f}°N)",
                path=path,
                hint="check the CRS, or whether X and Y are swapped",
            )
