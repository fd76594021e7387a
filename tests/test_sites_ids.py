"""Site IDs from prepare_sites: missing ones numbered by row, duplicates made unique."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely

from ecogis.notes import Notes
from ecogis.screening.sites import prepare_sites


def _sites(ids: list) -> gpd.GeoDataFrame:
    geoms = [shapely.box(116 + i * 0.01, 40, 116.005 + i * 0.01, 40.005) for i in range(len(ids))]
    return gpd.GeoDataFrame({"site_id": ids}, geometry=geoms, crs=4490)


def test_missing_ids_take_the_row_number_as_before():
    ids = ["A", None, np.nan, "'); DROP TABLE x; --", None, 7, "<script>", "S2", None]
    out = prepare_sites(_sites(ids), notes=Notes())
    # what the per-row version wrote: f"S{row + 1}" for each missing ID; "S2" given twice becomes S2#1, S2#2
    expected = [v if isinstance(v, str) else (str(v) if v == 7 else f"S{i + 1}") for i, v in enumerate(ids)]
    expected = ["S2#1" if i == 1 else ("S2#2" if i == 7 else e) for i, e in enumerate(expected)]
    assert out["site_id"].tolist() == expected


def test_many_missing_ids():
    n = 20_000
    ids = np.full(n, None, dtype=object)
    ids[::3] = [f"given-{i}" for i in range(0, n, 3)]
    out = prepare_sites(_sites(list(ids)), notes=Notes())
    got = out["site_id"].tolist()
    assert got == [v if v is not None else f"S{i + 1}" for i, v in enumerate(ids)]
    assert len(set(got)) == n
