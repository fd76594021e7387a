"""Deterministic synthetic raster pairs with known disturbances (for the demo, tests and benchmarks).

A pair is two rasters of the same landscape at two dates: ``before`` and
``after``.  The landscape is an analytic NDVI field (smooth hills of
vegetation, a river and an old quarry that are bare at both dates) evaluated
at each pixel's ground position, so the two rasters can have different CRS,
resolution and extent and still show the same ground.  Each date adds its own
pixel noise (σ 0.03) and the after date a small phenology shift (−0.02), a
patch of regrowth (+0.2, which is not a loss) and harvested or mown fields
(drops of 0.10–0.32, not in the truth: the deeper ones are false positives of
an NDVI-only detector, as in real data).  Into the after raster are
burnt the **disturbances**, whose polygons are the truth: new pits
(采坑), roads (道路) and building footprints (建筑), some larger and some
smaller than 0.5 ha, placed at random (seeded) over the scene, so some lie
inside the red lines and some outside.  A cloud rectangle in the after
raster is nodata.

Rasters are written window by window, so a 20,000 × 20,000 pixel pair can be
generated in bounded memory.  ``kind="class"`` writes land-cover class
rasters instead of NDVI (codes in :data:`ecogis.patrol.clues.LAND_CLASSES`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import rasterio
import shapely
import shapely.affinity
from pyproj import CRS, Transformer
from rasterio.features import rasterize
from rasterio.transform import from_origin
from rasterio.windows import Window

from ecogis.fileutil import atomic_path, write_text_atomic
from ecogis.read.crs import gk_epsg, gk_zone_for_lon

NODATA = -9999.0
CLASS_NODATA = 255

#: Sample scenes: centre (lon, lat) of each city's synthetic pair, chosen to
#: straddle a red-line border and reach a protected area or water source.
SCENES: dict[str, tuple[float, float]] = {
    "genhe": (121.555, 50.815),
    "arxan": (119.95, 47.20),
    "manzhouli": (117.774, 49.48),
    "xilinhot": (115.99, 43.891),
}


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS, top-left corner, pixel size and shape."""

    crs: CRS
    x0: float
    y0: float
    res: float
    width: int
    height: int

    @property
    def transform(self):
        return from_origin(self.x0, self.y0, self.res, self.res)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0 - self.height * self.res, self.x0 + self.width * self.res, self.y0)


@dataclass(frozen=True)
class SyntheticPair:
    """Paths of a generated pair and its truth."""

    before: Path
    after: Path
    truth: Path
    truth_count: int


def scene_grids(center: tuple[float, float], size_km: float, *, res_after: float = 10.0,
                res_before: float = 20.0, before_crs: str | int | None = "utm") -> tuple[Grid, Grid, CRS]:
    """The after grid (CGCS2000 3° GK, no zone prefix) and a before grid in another CRS and resolution.

    ``before_crs="utm"`` puts the before raster in WGS 84 / UTM (a different
    CRS, as an older image often is) with a 5 % larger extent; ``None`` uses
    the after CRS.
    """
    lon, lat = center
    gk = CRS.from_epsg(gk_epsg(gk_zone_for_lon(lon), 3, prefix=False))
    cx, cy = Transformer.from_crs(4490, gk, always_xy=True).transform(lon, lat)
    half = size_km * 500.0
    n_after = int(round(2 * half / res_after))
    after = Grid(gk, math.floor(cx - half), math.floor(cy + half), res_after, n_after, n_after)
    if before_crs == "utm":
        bcrs = CRS.from_epsg(32600 + int((lon + 180) // 6) + 1)
    elif before_crs is None:
        bcrs = gk
    else:
        bcrs = CRS.from_user_input(before_crs)
    bx, by = Transformer.from_crs(4490, bcrs, always_xy=True).transform(lon, lat)
    bhalf = half * 1.05
    n_before = int(round(2 * bhalf / res_before))
    before = Grid(bcrs, math.floor(bx - bhalf), math.floor(by + bhalf), res_before, n_before, n_before)
    return after, before, gk


def _field(x: np.ndarray, y: np.ndarray, x0: float, y0: float) -> np.ndarray:
    """The noise-free NDVI of the landscape at metric ground coordinates (scene CRS)."""
    u, v = x - x0, y - y0
    f = 0.66 + 0.10 * np.sin(u / 900.0) * np.cos(v / 1300.0) + 0.05 * np.sin((u + v) / 410.0)
    river = np.abs(v - 3000.0 - 700.0 * np.sin(u / 1800.0)) < 25.0
    quarry = (u - 2500.0) ** 2 + (v + 2500.0) ** 2 < 180.0**2
    f = np.where(river | quarry, 0.08, f)
    return f.astype(np.float32)


def make_disturbances(grid: Grid, *, seed: int = 0, n_pits: int = 10, n_roads: int = 5,
                      n_buildings: int = 14) -> list[dict]:
    """Random (seeded) disturbance polygons in the grid's CRS: pits, roads and buildings."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = grid.bounds
    margin = 600.0
    out: list[dict] = []
    placed: list = []

    # keep the truth off the cloud (nodata: undetectable) and the regrowth patch
    avoid = [_cloud(grid).buffer(300.0), _regrowth(grid).buffer(300.0)]

    def free_spot() -> tuple[float, float]:
        for _ in range(200):
            p = (rng.uniform(x0 + margin, x1 - margin), rng.uniform(y0 + margin, y1 - margin))
            pt = shapely.Point(p)
            if (shapely.distance(pt, np.array(placed + avoid, dtype=object)) > 250).all():
                return p
        return p

    for _ in range(n_pits):
        cx, cy = free_spot()
        r = rng.uniform(35.0, 170.0)
        ang = np.linspace(0, 2 * np.pi, 13)[:-1]
        rad = r * rng.uniform(0.75, 1.25, size=ang.size)
        g = shapely.Polygon(np.column_stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)]))
        out.append({"kind": "pit", "kind_zh": "新增采坑", "geometry": g})
        placed.append(g)
    for _ in range(n_roads):
        cx, cy = free_spot()
        length = rng.uniform(700.0, 2500.0)
        a = rng.uniform(0, np.pi)
        t = np.linspace(-0.5, 0.5, 8) * length
        wiggle = 60.0 * np.sin(t / 300.0)
        xs = cx + t * np.cos(a) - wiggle * np.sin(a)
        ys = cy + t * np.sin(a) + wiggle * np.cos(a)
        width = rng.uniform(20.0, 32.0)
        g = shapely.LineString(np.column_stack([xs, ys])).buffer(width / 2, cap_style="flat")
        out.append({"kind": "road", "kind_zh": "新修道路", "geometry": g})
        placed.append(g)
    for _ in range(n_buildings):
        cx, cy = free_spot()
        w, h = rng.uniform(45.0, 130.0), rng.uniform(45.0, 110.0)
        g = shapely.affinity.rotate(shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
                                    rng.uniform(0, 90))
        out.append({"kind": "building", "kind_zh": "新建建筑", "geometry": g})
        placed.append(g)
    return out


def make_confounders(grid: Grid, *, seed: int = 0, n: int = 8) -> list[dict]:
    """Harvested or mown fields: NDVI drops of 0.10–0.32 that are not disturbances (not in the truth).

    Drops above the detection threshold are false positives of an NDVI-only detector, as in real data.
    """
    rng = np.random.default_rng([seed, 99])
    x0, y0, x1, y1 = grid.bounds
    out = []
    for _ in range(n):
        cx, cy = rng.uniform(x0 + 800, x1 - 800), rng.uniform(y0 + 800, y1 - 800)
        w, h = rng.uniform(120, 300), rng.uniform(120, 300)
        out.append({"geometry": shapely.box(cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2),
                    "drop": float(rng.uniform(0.10, 0.32))})
    return out


def _cloud(grid: Grid) -> shapely.Polygon:
    x0, y0, x1, y1 = grid.bounds
    w, h = x1 - x0, y1 - y0
    return shapely.box(x0 + 0.05 * w, y1 - 0.12 * h, x0 + 0.22 * w, y1 - 0.02 * h)


def _regrowth(grid: Grid) -> shapely.Polygon:
    x0, y0, x1, y1 = grid.bounds
    w, h = x1 - x0, y1 - y0
    return shapely.box(x0 + 0.75 * w, y0 + 0.05 * h, x0 + 0.9 * w, y0 + 0.15 * h)


def write_raster(path: Path, grid: Grid, scene: Grid, *, date: str, seed: int, kind: str = "ndvi",
                 disturbances: Sequence[dict] = (), confounders: Sequence[dict] = (), block: int = 2048) -> Path:
    """Write one date of the scene on ``grid``, window by window.

    ``scene`` is the after grid: the landscape field and the disturbance
    polygons are in its CRS.  ``date`` is ``"before"`` or ``"after"``.
    """
    to_scene = Transformer.from_crs(grid.crs, scene.crs, always_xy=True)
    same = grid.crs == scene.crs
    sx0, sy0 = scene.x0, scene.y0
    after = date == "after"
    shapes_dist = [(d["geometry"], 1) for d in disturbances] if after else []
    extra = [(_regrowth(scene), 2), (_cloud(scene), 3)] if after else []
    conf = list(confounders) if after else []
    drops = np.array([0.0] * 10 + [c["drop"] for c in conf], dtype=np.float32)
    # confounders first, so a disturbance drawn over one wins
    shapes_dist = [(c["geometry"], 10 + k) for k, c in enumerate(conf)] + shapes_dist
    is_class = kind == "class"
    profile = {
        "driver": "GTiff", "width": grid.width, "height": grid.height, "count": 1,
        "dtype": "uint8" if is_class else "float32", "nodata": CLASS_NODATA if is_class else NODATA,
        "crs": grid.crs, "transform": grid.transform, "tiled": True, "blockxsize": 256, "blockysize": 256,
        "compress": "deflate", "predictor": 2 if is_class else 3, "BIGTIFF": "IF_SAFER",
    }
    with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
        for row in range(0, grid.height, block):
            for col in range(0, grid.width, block):
                win = Window(col, row, min(block, grid.width - col), min(block, grid.height - row))
                wt = rasterio.windows.transform(win, grid.transform)
                cols = np.arange(win.width) + 0.5
                rows = np.arange(win.height) + 0.5
                xs = wt.c + cols * wt.a
                ys = wt.f + rows * wt.e
                gx, gy = np.meshgrid(xs, ys)
                if not same:
                    gx, gy = to_scene.transform(gx, gy)
                f = _field(gx, gy, sx0, sy0)
                rng = np.random.default_rng([seed, 0 if not after else 1, row, col])
                shape = (int(win.height), int(win.width))
                burn = np.zeros(shape, dtype=np.uint16)
                if shapes_dist or extra:
                    both = shapes_dist + extra
                    burn = rasterize(both, out_shape=shape, transform=wt, fill=0, dtype="uint16")
                if is_class:
                    cls = np.where(f > 0.62, 1, np.where(f > 0.3, 2, 6)).astype(np.uint8)
                    river = f < 0.1
                    cls[river] = 4
                    cls[burn == 1] = 7
                    cls[(burn >= 10) & (cls == 1)] = 2  # harvest: forest thinned to grass, not a loss
                    cls[burn == 3] = CLASS_NODATA
                    dst.write(cls, 1, window=win)
                    continue
                val = f + rng.normal(0.0, 0.03, size=shape).astype(np.float32)
                if after:
                    val = val - 0.02
                    dist = burn == 1
                    val[dist] = rng.uniform(0.04, 0.16, size=int(dist.sum())).astype(np.float32)
                    val[burn == 2] += 0.2
                    harvest = burn >= 10
                    val[harvest] -= drops[burn[harvest]]
                    val[burn == 3] = NODATA
                dst.write(np.clip(val, -1, 1, where=val != NODATA, out=val).astype(np.float32), 1, window=win)
    return path


def build_pair(out_dir: str | Path, *, city: str = "genhe", center: tuple[float, float] | None = None,
               size_km: float = 12.0, res_after: float = 10.0, res_before: float = 20.0,
               before_crs: str | int | None = "utm", kind: str = "ndvi", seed: int = 0,
               block: int = 2048, counts: tuple[int, int, int] = (10, 5, 14)) -> SyntheticPair:
    """Generate ``before.tif``, ``after.tif`` and ``truth.geojson`` (EPSG:4490) in ``out_dir``.

    The same arguments always give the same files (the noise is seeded per window).
    """
    from ecogis.normalise.area import area_ha
    from ecogis.screening.geometry import from_metric

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    ctr = center or SCENES[city]
    after_g, before_g, scene_crs = scene_grids(ctr, size_km, res_after=res_after, res_before=res_before,
                                               before_crs=before_crs)
    dist = make_disturbances(after_g, seed=seed, n_pits=counts[0], n_roads=counts[1], n_buildings=counts[2])
    write_raster(out / "before.tif", before_g, after_g, date="before", seed=seed, kind=kind, block=block)
    conf = make_confounders(after_g, seed=seed, n=max(8, int(8 * (size_km / 12.0) ** 2 / 4)))
    write_raster(out / "after.tif", after_g, after_g, date="after", seed=seed, kind=kind, disturbances=dist,
                 confounders=conf, block=block)
    geoms = np.array([d["geometry"] for d in dist], dtype=object)
    ha = area_ha(geoms, scene_crs, "equal_area") if len(geoms) else np.zeros(0)
    ll = from_metric(geoms, scene_crs) if len(geoms) else geoms
    feats = []
    for i, (d, g, a) in enumerate(zip(dist, ll, ha)):
        feats.append({"type": "Feature", "properties": {"truth_id": f"T{i + 1:03d}", "kind": d["kind"],
                                                        "kind_zh": d["kind_zh"], "area_ha": round(float(a), 4)},
                      "geometry": json.loads(shapely.to_geojson(shapely.set_precision(g, 1e-7)))})
    doc = {"type": "FeatureCollection", "name": "truth",
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4490"}},
           "ecogis": {"city": city, "center": list(ctr), "size_km": size_km, "kind": kind, "seed": seed, "confounders": len(conf),
                      "after": {"crs": after_g.crs.to_string(), "res_m": res_after, "size": after_g.width},
                      "before": {"crs": before_g.crs.to_string(), "res_m": res_before, "size": before_g.width}},
           "features": feats}
    write_text_atomic(out / "truth.geojson", json.dumps(doc, ensure_ascii=False))
    return SyntheticPair(out / "before.tif", out / "after.tif", out / "truth.geojson", len(feats))
