"""Time write_kml on N polygons (17 vertices) with text, number and flag columns.

    python scripts/bench_kml_export.py [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

from ecogis.export.kml import write_kml


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = np.random.default_rng(13)
    geoms = shapely.buffer(shapely.points(100 + rng.random(n) * 20, 25 + rng.random(n) * 15), 0.001, quad_segs=4)
    names = np.char.add("地块 <", np.arange(n).astype(str)).astype(object)
    names[::11] = None
    gdf = gpd.GeoDataFrame({"name": names, "grade": rng.integers(1, 4, n), "area_ha": rng.random(n) * 100,
                            "protected": rng.random(n) < 0.3}, geometry=geoms, crs=4490)
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        out = write_kml(gdf, Path(d) / "layer.kml")
        took = time.perf_counter() - t
        size = out.stat().st_size
    print(f"{n} polygons: write_kml {took:.2f} s, {size / 1e6:.0f} MB")


if __name__ == "__main__":
    main()
