"""Build the province-scale screening workload, deterministically.

* ``polygons.parquet``: 20,000 red-line and control-unit polygons (10,000
  each, ``kind`` column) of 400 vertices each (about 8 million vertices),
  1–20 km across (log-uniform), star-shaped with a smooth random outline so
  they are valid, scattered (and partly overlapping) over 116–122°E, 43–50°N;
* ``sites_100k.parquet``: 100,000 site parcels of 4–12 vertices, 50–800 m
  across, over the same extent;
* ``sites_1m.parquet``: the 1,000,000-parcel variant for the Dask run
  (``--big``).

All in CGCS2000 lon/lat (EPSG:4490), written as GeoParquet.  The same seed
gives byte-identical coordinates on every machine (numpy's PCG64).

    python benchmarks/generate.py --out benchmarks/data [--scale 0.1] [--big]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

EXTENT = (116.0, 43.0, 122.0, 50.0)
M_PER_DEG_LAT = 110_946.0


def _deg(dx_m: np.ndarray, dy_m: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return dx_m / (M_PER_DEG_LAT * np.cos(np.radians(lat)))[:, None], dy_m / M_PER_DEG_LAT


def star_polygons(rng: np.random.Generator, n: int, nvert: int, diam_m: np.ndarray, roughness: float,
                  harmonics: int = 6) -> np.ndarray:
    """``n`` valid star-shaped polygons with ``nvert`` vertices and the given diameters, centred in EXTENT."""
    x0, y0, x1, y1 = EXTENT
    cx = rng.uniform(x0, x1, n)
    cy = rng.uniform(y0, y1, n)
    theta = np.linspace(0.0, 2 * np.pi, nvert, endpoint=False)
    # smooth random outline: a few Fourier harmonics, radius factor in (1 - roughness, 1]
    amp = rng.uniform(0, 1, (n, harmonics)) / np.arange(1, harmonics + 1)
    phase = rng.uniform(0, 2 * np.pi, (n, harmonics))
    k = np.arange(1, harmonics + 1)
    wave = (amp[:, :, None] * np.cos(k[None, :, None] * theta[None, None, :] + phase[:, :, None])).sum(axis=1)
    lo, hi = wave.min(axis=1, keepdims=True), wave.max(axis=1, keepdims=True)
    factor = 1.0 - roughness * (wave - lo) / np.where(hi > lo, hi - lo, 1.0)
    r = 0.5 * diam_m[:, None] * factor
    dx, dy = _deg(r * np.cos(theta), r * np.sin(theta), cy)
    xs = cx[:, None] + dx
    ys = cy[:, None] + dy
    ring = np.stack([xs, ys], axis=-1)
    ring = np.concatenate([ring, ring[:, :1]], axis=1)
    return shapely.polygons(ring)


def polygons(seed: int = 20240601, n: int = 20_000, nvert: int = 400) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    diam = np.exp(rng.uniform(np.log(1_000.0), np.log(20_000.0), n))
    geoms = star_polygons(rng, n, nvert, diam, roughness=0.45)
    kind = np.where(np.arange(n) % 2 == 0, "redline", "control_unit")
    return gpd.GeoDataFrame({"pid": np.arange(n, dtype=np.int64), "kind": kind,
                             "name": [f"P{i:05d}" for i in range(n)]}, geometry=geoms, crs=4490)


def sites(seed: int, n: int) -> gpd.GeoDataFrame:
    rng = np.random.default_rng(seed)
    counts = rng.integers(4, 13, n)
    diam = rng.uniform(50.0, 800.0, n)
    geoms = np.empty(n, dtype=object)
    for nv in range(4, 13):  # one vectorised batch per vertex count
        sel = np.flatnonzero(counts == nv)
        if len(sel):
            geoms[sel] = star_polygons(rng, len(sel), int(nv), diam[sel], roughness=0.3, harmonics=2)
    return gpd.GeoDataFrame({"site_id": [f"S{i:07d}" for i in range(n)]}, geometry=geoms, crs=4490)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(Path(__file__).parent / "data"))
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the full size (for quick runs)")
    ap.add_argument("--big", action="store_true", help="also write the 1,000,000-site variant")
    a = ap.parse_args(argv)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    npoly = max(10, int(20_000 * a.scale))
    poly = polygons(n=npoly)
    assert shapely.is_valid(poly.geometry.values).all()
    poly.to_parquet(out / "polygons.parquet", row_group_size=max(1, npoly // 16))
    nsite = max(10, int(100_000 * a.scale))
    s = sites(7, nsite)
    assert shapely.is_valid(s.geometry.values).all()
    s.to_parquet(out / "sites_100k.parquet", row_group_size=max(1, nsite // 16))
    if a.big:
        big = sites(8, max(10, int(1_000_000 * a.scale)))
        big.to_parquet(out / "sites_1m.parquet", row_group_size=max(1, len(big) // 32))
    nv = int(shapely.get_num_coordinates(poly.geometry.values).sum())
    print(f"wrote {npoly} polygons ({nv:,} vertices) and {nsite} sites to {out} in {time.perf_counter() - t:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
