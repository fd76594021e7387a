"""Bring layers into CGCS2000 (EPSG:4490), saying so."""

from __future__ import annotations

import geopandas as gpd
from pyproj import CRS

from ecogis.errors import CRSError
from ecogis.notes import Notes
from ecogis.read.crs import describe

CGCS2000 = CRS.from_epsg(4490)
_WGS84_LIKE = {4326, 4490, 4610}


def to_cgcs2000(gdf: gpd.GeoDataFrame, notes: Notes | None = None, *, path=None) -> gpd.GeoDataFrame:
    """Return ``gdf`` in EPSG:4490.

    WGS84 lon/lat is taken as CGCS2000 lon/lat (the two frames agree to a few
    centimetres, below the precision of planning data); that choice is noted.
    """
    notes = notes if notes is not None else Notes()
    if gdf.crs is None:
        raise CRSError("layer has no CRS", path=path, hint="pass --crs EPSG:n")
    code = gdf.crs.to_epsg()
    if code == 4490:
        return gdf
    if code == 4326:
        out = gdf.set_crs(CGCS2000, allow_override=True)
        notes.add("crs", "WGS84 (EPSG:4326) lon/lat taken as CGCS2000 (EPSG:4490); the frames agree to centimetres")
        return out
    if code in {4214, 4610} or (gdf.crs.datum and "Xian 1980" in gdf.crs.datum.name) or (
        gdf.crs.datum and "Beijing 1954" in gdf.crs.datum.name
    ):
        raise CRSError(
            f"{describe(gdf.crs)} uses the Xi'an 1980 or Beijing 1954 datum; converting it to CGCS2000 needs "
            "local transformation parameters",
            path=path,
            hint="convert the data to CGCS2000 with the parameters published for your area, then import it",
        )
    out = gdf.to_crs(CGCS2000)
    notes.add("crs", f"transformed from {describe(gdf.crs)} to EPSG:4490 (CGCS2000)")
    return out
