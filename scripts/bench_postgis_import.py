"""Time the import of a layer of N polygons with text, number, flag and date columns into a PostGIS workspace.

    ECOGIS_TEST_PG=postgresql://... python scripts/bench_postgis_import.py [N] [REPEATS]

Writes the layer kind ``bench_import`` (replace) REPEATS times into a schema of its own and prints the median and
each time; drops that schema afterwards.  Then times the client side alone: building the COPY data of the layer
in bulk (ecogis.workspace.copytext) against psycopg's per-row formatting (``write_row``'s text, the path before).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ecogis.workspace import open_workspace

KIND = "bench_import"


def layer(n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(13)
    x = 100 + rng.random(n) * 20
    y = 25 + rng.random(n) * 15
    geoms = shapely.buffer(shapely.points(x, y), 0.001, quad_segs=4)  # 17-vertex polygons
    hostile = np.array(["'); DROP TABLE x; --", "<script>alert(1)</script>", "a\tb\nc\\d", "生态保护红线 🌿"], dtype=object)
    names = np.char.add("地块 ", np.arange(n).astype(str)).astype(object)
    names[::7] = hostile[np.arange(len(names[::7])) % 4]
    names[::11] = None
    code = np.char.add("C", np.arange(n).astype(str)).astype(object)
    code[::5] = np.arange(0, n, 5)  # numbers in a text column
    return gpd.GeoDataFrame({
        "name": names,
        "code": code,
        "grade": rng.integers(1, 4, n),
        "area_ha": np.where(rng.random(n) < 0.05, np.nan, rng.random(n) * 100),
        "protected": rng.random(n) < 0.3,
        "established": pd.to_datetime("2000-01-01") + pd.to_timedelta(rng.integers(0, 9000, n), unit="D"),
    }, geometry=geoms, crs=4490)


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    import psycopg

    url = os.environ["ECOGIS_TEST_PG"]
    schema = "bench_" + uuid.uuid4().hex[:10]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in url else "?"
    gdf = layer(n)
    times = []
    try:
        ws = open_workspace(f"{url}{sep}options=-csearch_path%3D{schema},public", create=True)
        for _ in range(repeats):
            t = time.perf_counter()
            ws.write(KIND, gdf, source="bench", version="1", replace=True)
            times.append(time.perf_counter() - t)
        assert ws.count(KIND) == n
        ws.close()
    finally:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")
    print(f"{n} features: import median {statistics.median(times):.2f} s ({', '.join(f'{t:.2f}' for t in times)})")
    print(f"COPY data on the client: bulk {_client_bulk(gdf):.2f} s, per row {_client_rows(gdf):.2f} s")


def _client_bulk(gdf: gpd.GeoDataFrame) -> float:
    from ecogis.workspace import copytext as T

    t = time.perf_counter()
    data = gdf.drop(columns="geometry")
    texts = ([T.column_text(np.arange(1, len(gdf) + 1))]
             + [T.column_text(data[c], target="double precision" if data[c].dtype.kind == "f" else "text",
                              dump=T.psycopg_dump(None)) for c in data.columns]
             + [T.hex_ewkb(gdf.geometry.values, 4490)])
    size = sum(b.size for b in T.copy_buffers([T.escape(c) for c in texts], len(gdf)))
    assert size > 0
    return time.perf_counter() - t


def _client_rows(gdf: gpd.GeoDataFrame) -> float:
    """The path before: ``_cell`` on each value and psycopg's text of each row (what ``write_row`` does)."""
    from psycopg._copy_base import _format_row_text
    from psycopg.adapt import Transformer

    def cell(v):
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return None
        if v is pd.NaT or (not isinstance(v, (str, bytes)) and pd.isna(v) is True):
            return None
        if isinstance(v, np.integer):
            return int(v)
        if isinstance(v, np.floating):
            return float(v)
        if isinstance(v, np.bool_):
            return bool(v)
        return v

    t = time.perf_counter()
    tx = Transformer(None)
    data = gdf.drop(columns="geometry")
    ewkb = shapely.to_wkb(shapely.set_srid(np.asarray(gdf.geometry.values, dtype=object), 4490), hex=True,
                          include_srid=True)
    values = [data[c].astype(object).to_numpy() for c in data.columns]
    out = bytearray()
    for i in range(len(data)):
        _format_row_text([1 + i] + [cell(v[i]) for v in values] + [ewkb[i]], tx, out)
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
