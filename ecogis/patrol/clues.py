"""Change clues (人类活动遥感监测问题线索) from two rasters: where vegetation was lost.

Steps of :func:`detect_clues`:

1. **Align.**  The raster with the finer pixel (in metres; the after raster on
   a tie) is the reference grid.  The other one is read through a
   ``rasterio.vrt.WarpedVRT`` onto that grid: bilinear resampling for NDVI,
   nearest for land-cover classes.  What was resampled, from which CRS and
   pixel size to which, is written to the notes.  Reference pixels the other
   raster does not cover are nodata.
2. **Detect, window by window.**  The reference grid is read in fixed tiles
   (default 2048 × 2048), so memory stays bounded whatever the raster size.
   NDVI: loss where ``before − after ≥ threshold`` (default 0.25), the
   before NDVI shows vegetation (``≥ 0.3``) and the after NDVI is bare
   (``≤ max_after``, default 0.3: a harvested or mown field keeps some green).  Classes: loss where a vegetated
   class (林地 1, 草地 2, 湿地 5) became bare (6) or built-up (7).  Nodata in
   either raster (its nodata value, or NaN) is never a loss.
3. **Polygonise** the loss mask of each tile with ``rasterio.features.shapes``
   (8-connectivity).  Patches touching an inner tile edge are merged across
   tiles at the end, so a patch is never cut by the tiling.
4. **Filter** by area (公顷, equal-area on the CGCS2000 ellipsoid, see
   :mod:`ecogis.normalise.area`), default ``≥ 0.5 ha``.
5. **Tag** (:func:`tag_clues`) each patch, vectorised with STRtree bulk
   queries: red line, protected area and zone, water-source grade, control
   unit, nearest mine and its distance; then the priority score
   (:func:`priority_score`).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow
import pyarrow.compute as pc
import rasterio
import shapely
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from rasterio.features import shapes
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from ecogis.errors import CRSError, InputError
from ecogis.notes import Notes
from ecogis.normalise.area import area_ha
from ecogis.workspace import Workspace, open_workspace

#: Land-cover codes understood by ``index="class"``.
LAND_CLASSES: dict[int, str] = {1: "林地", 2: "草地", 3: "耕地", 4: "水体", 5: "湿地", 6: "裸地", 7: "建设用地"}
#: Classes that count as vegetation before, and as loss after.
VEGETATED = (1, 2, 5)
CLEARED = (6, 7)

DEFAULT_THRESHOLD = {"ndvi": 0.25, "class": None}
MIN_BEFORE_NDVI = 0.3
#: The after NDVI must be at most this (bare soil, rock, construction) for a loss: a harvested or
#: mown field keeps some green and is not a clue.
MAX_AFTER_NDVI = 0.3

#: Zone severity (0–1) by what a clue falls in; the highest applies.
ZONE_SEVERITY: dict[str, float] = {
    "核心区": 1.0, "核心保护区": 1.0, "缓冲区": 0.85, "实验区": 0.6, "一般控制区": 0.6,
    "一级保护区": 1.0, "二级保护区": 0.8, "准保护区": 0.5,
    "redline": 0.8,
    "优先保护": 0.4, "重点管控": 0.15, "一般管控": 0.1,
}
#: Zones where development and production construction is prohibited.
PROHIBITED_ZONES = ("核心区", "核心保护区", "缓冲区", "一级保护区", "二级保护区")
#: Weights of the priority score (sum 100).
SCORE_WEIGHTS = {"severity": 50.0, "area": 30.0, "prohibited": 20.0}
#: Area (ha) at which the area term saturates.
AREA_FULL_HA = 20.0


@dataclass
class ClueResult:
    """The tagged patches (EPSG:4490, sorted by priority) and what was done."""

    clues: gpd.GeoDataFrame
    notes: Notes
    meta: dict[str, Any] = field(default_factory=dict)


def _pixel_m(src) -> float:
    """The pixel size of ``src`` in metres (approximate for geographic CRS)."""
    res = max(abs(src.transform.a), abs(src.transform.e))
    crs = CRS.from_user_input(src.crs)
    if crs.is_geographic:
        b = src.bounds
        lat = 0.5 * (b.bottom + b.top)
        return res * 111_320.0 * max(math.cos(math.radians(lat)), 0.05)
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return res * unit


def _open(path: str | os.PathLike, what: str):
    from ecogis.fileutil import check_input_file

    p = Path(path)
    if not p.exists():
        raise InputError(f"{what} raster not found", path=p)
    check_input_file(p)
    try:
        src = rasterio.open(p)
    except rasterio.errors.RasterioIOError as exc:
        raise InputError(f"cannot read the {what} raster: {exc}", path=p) from None
    if src.crs is None:
        src.close()
        raise CRSError(f"the {what} raster has no CRS", path=p, hint="assign one, e.g. gdal_edit.py -a_srs EPSG:4527")
    return src


def _valid(arr: np.ndarray, nodata: float | None) -> np.ndarray:
    ok = np.ones(arr.shape, dtype=bool)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        ok &= arr != nodata
    if arr.dtype.kind == "f":
        ok &= np.isfinite(arr)
    return ok


def loss_mask(before: np.ndarray, after: np.ndarray, valid: np.ndarray, *, index: str,
              threshold: float | None, max_after: float = MAX_AFTER_NDVI) -> np.ndarray:
    """Pixels where vegetation was lost (``valid`` excludes nodata)."""
    if index == "ndvi":
        b = before.astype(np.float32)
        a = after.astype(np.float32)
        with np.errstate(invalid="ignore"):
            return valid & (b - a >= threshold) & (b >= MIN_BEFORE_NDVI) & (a <= max_after)
    return valid & np.isin(before, VEGETATED) & np.isin(after, CLEARED)


def _tiles(width: int, height: int, block: int) -> Iterator[Window]:
    for row in range(0, height, block):
        for col in range(0, width, block):
            yield Window(col, row, min(block, width - col), min(block, height - row))


def _check_overlap(ref, oth, before, after) -> None:
    """Refuse two rasters whose extents do not meet (never an empty result that reads as \"no change\")."""
    from rasterio.warp import transform_bounds

    try:
        ob = transform_bounds(oth.crs, ref.crs, *oth.bounds, densify_pts=21)
    except Exception as exc:  # noqa: BLE001 - rasterio/PROJ raise several types
        raise InputError(f"cannot bring the two rasters into one CRS: {exc}", path=after) from None
    rb = ref.bounds
    if ob[0] >= rb[2] or ob[2] <= rb[0] or ob[1] >= rb[3] or ob[3] <= rb[1]:
        raise InputError(
            f"the two rasters do not overlap ({before} and {after})", path=after,
            hint="give two images of the same area")


def detect_clues(before: str | os.PathLike, after: str | os.PathLike, workspace: str | os.PathLike | Workspace | None,
                 *, index: str = "ndvi", threshold: float | None = None, min_area_ha: float = 0.5,
                 block: int = 2048, notes: Notes | None = None, area_method: str = "equal_area",
                 max_after: float = MAX_AFTER_NDVI) -> ClueResult:
    """Find vegetation-loss patches between ``before`` and ``after`` and tag them.

    Parameters
    ----------
    before, after:
        GeoTIFFs (any GDAL raster) of NDVI or land-cover classes; CRS,
        resolution and extent may differ.
    workspace:
        The workspace to tag against (``None``: no tags, for tests of detection alone).
    index:
        ``"ndvi"`` or ``"class"`` (codes in :data:`LAND_CLASSES`).
    threshold:
        NDVI drop that counts as loss (default 0.25); not used for classes.
    max_after:
        Highest after NDVI of a loss pixel (default 0.3; 1 turns the test off).
    min_area_ha:
        Smallest patch kept, in 公顷.
    block:
        Tile size in pixels (memory is about 40 bytes × block²).

    Returns
    -------
    ClueResult
        ``clues`` with clue_id, area_ha, area_mu, pixels, mean_before, mean_after,
        the tags of :func:`tag_clues` and ``priority``.
    """
    if index not in ("ndvi", "class"):
        raise InputError(f"unknown index {index!r}", where="--index", hint="use ndvi or class")
    if threshold is None:
        threshold = DEFAULT_THRESHOLD[index]
    elif index == "ndvi" and not (0 < threshold <= 2):
        raise InputError(f"NDVI threshold must be in (0, 2], got {threshold}", where="--threshold")
    if min_area_ha < 0:
        raise InputError("the minimum area must not be negative", where="--min-area-ha")
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or not 16 <= block <= 65536:
        raise InputError(f"the tile size must be a whole number of pixels from 16 to 65536, not {block!r}",
                         where="--block")
    notes = notes if notes is not None else Notes()
    resampling = Resampling.bilinear if index == "ndvi" else Resampling.nearest
    with rasterio.Env(GDAL_CACHEMAX=128), _open(before, "before") as sb, _open(after, "after") as sa:
        ref_is_after = _pixel_m(sa) <= _pixel_m(sb) * 1.0001
        ref, oth = (sa, sb) if ref_is_after else (sb, sa)
        ref_name, oth_name = ("after", "before") if ref_is_after else ("before", "after")
        same_grid = (CRS.from_user_input(ref.crs) == CRS.from_user_input(oth.crs)
                     and ref.transform == oth.transform and ref.shape == oth.shape)
        meta: dict[str, Any] = {
            "before": str(before), "after": str(after), "index": index, "threshold": threshold,
        "max_after": max_after if index == "ndvi" else None,
            "min_area_ha": min_area_ha, "reference_grid": ref_name,
            "grid": {"crs": ref.crs.to_string(), "pixel_m": round(_pixel_m(ref), 3), "width": ref.width,
                     "height": ref.height},
        }
        _check_overlap(ref, oth, before, after)
        if same_grid:
            meta["resampled"] = None
            notes.add("align", "the two rasters share one grid: nothing was resampled")
            other_ds = oth
        else:
            meta["resampled"] = {"raster": oth_name, "from_crs": oth.crs.to_string(),
                                 "from_pixel_m": round(_pixel_m(oth), 3), "to_crs": ref.crs.to_string(),
                                 "to_pixel_m": round(_pixel_m(ref), 3), "method": resampling.name}
            notes.add("align", f"{oth_name} raster resampled ({resampling.name}) from {oth.crs.to_string()} "
                               f"{_pixel_m(oth):.2f} m to the {ref_name} grid {ref.crs.to_string()} "
                               f"{_pixel_m(ref):.2f} m; cells outside its extent are nodata")
            vrt_nodata = oth.nodata if oth.nodata is not None else (
                np.nan if np.dtype(oth.dtypes[0]).kind == "f" else None)
            other_ds = WarpedVRT(oth, crs=ref.crs, transform=ref.transform, width=ref.width, height=ref.height,
                                 resampling=resampling, nodata=vrt_nodata, src_nodata=oth.nodata)
        try:
            geoms, pixels, sum_b, sum_a, n_nodata = _scan(ref, other_ds, ref_is_after, index, threshold, block,
                                                           min_area_ha, max_after)
        finally:
            if other_ds is not oth:
                other_ds.close()
        ref_crs = CRS.from_user_input(ref.crs)
        pix_area = abs(ref.transform.a * ref.transform.e)
    meta["nodata_pixels"] = int(n_nodata)
    if n_nodata >= meta["grid"]["width"] * meta["grid"]["height"]:
        from ecogis.errors import EmptyLayerError

        raise EmptyLayerError(
            "no pixel has data in both rasters (all nodata where they meet): nothing can be compared",
            path=after, hint="check the nodata value and the extents of the two rasters")
    if n_nodata:
        notes.add("nodata", f"{n_nodata} reference pixels are nodata in one raster or the other and were not compared")
    ha = area_ha(geoms, ref_crs, area_method) if len(geoms) else np.zeros(0)
    keep = ha >= min_area_ha
    dropped = int((~keep).sum())
    if dropped:
        notes.add("min_area", f"{dropped} patches under {min_area_ha} ha dropped")
    geoms, ha, pixels, sum_b, sum_a = geoms[keep], ha[keep], pixels[keep], sum_b[keep], sum_a[keep]
    to_ll = Transformer.from_crs(ref_crs, 4490, always_xy=True)
    ll = shapely.transform(geoms, lambda xy: np.column_stack(to_ll.transform(xy[:, 0], xy[:, 1]))) if len(geoms) else geoms
    with np.errstate(invalid="ignore", divide="ignore"):
        frame = gpd.GeoDataFrame({
            "area_ha": np.round(ha, 4), "area_mu": np.round(ha * 15.0, 3), "pixels": pixels.astype(np.int64),
            "mean_before": np.round(sum_b / np.maximum(pixels, 1), 3) if index == "ndvi" else np.nan,
            "mean_after": np.round(sum_a / np.maximum(pixels, 1), 3) if index == "ndvi" else np.nan,
        }, geometry=gpd.GeoSeries(ll, crs=4490))
    meta["patches"] = int(len(frame))
    meta["pixel_area_m2"] = pix_area
    meta["area_method"] = area_method
    ws = open_workspace(workspace) if workspace is not None else None
    frame = tag_clues(frame, ws, notes=notes)
    return ClueResult(frame, notes, meta)


def _scan(ref, other, ref_is_after: bool, index: str, threshold: float | None, block: int, min_area_ha: float,
          max_after: float = MAX_AFTER_NDVI):
    """Tile loop: loss mask, polygonise, keep interior patches, pool edge patches, merge at the end."""
    done: list[np.ndarray] = []
    stats: list[np.ndarray] = []
    pool: list[shapely.Geometry] = []
    pool_stats: list[tuple[float, float, float]] = []
    n_nodata = 0
    W, H = ref.width, ref.height
    T = ref.transform
    pix_area = abs(T.a * T.e)
    # planar pre-filter only in a projected CRS in metres: 70 % of the minimum, the exact filter comes later
    crs = CRS.from_user_input(ref.crs)
    pre_min_px = 0.7 * min_area_ha * 10_000.0 / pix_area if (crs.is_projected and pix_area > 0) else 0.0
    for win in _tiles(W, H, block):
        r = ref.read(1, window=win)
        o = other.read(1, window=win)
        valid = _valid(r, ref.nodata) & _valid(o, other.nodata)
        n_nodata += int(valid.size - valid.sum())
        b, a = (o, r) if ref_is_after else (r, o)
        mask = loss_mask(b, a, valid, index=index, threshold=threshold, max_after=max_after)
        if not mask.any():
            continue
        wt = rasterio.windows.transform(win, T)
        labels_geoms = [shapely.geometry.shape(g) for g, _ in shapes(mask.view(np.uint8), mask=mask,
                                                                       connectivity=8, transform=wt)]
        if not labels_geoms:
            continue
        g = np.array(labels_geoms, dtype=object)
        px = shapely.area(g) / pix_area
        # per-patch sums of before/after: rasterise labels once per tile
        lab = rasterio.features.rasterize(((gg, i + 1) for i, gg in enumerate(g)), out_shape=mask.shape,
                                          transform=wt, fill=0, dtype="int32")
        lab = np.where(mask, lab, 0).ravel()
        if index == "ndvi":
            sb = np.bincount(lab, weights=np.where(valid, b, 0).ravel().astype(np.float64), minlength=len(g) + 1)[1:]
            sa = np.bincount(lab, weights=np.where(valid, a, 0).ravel().astype(np.float64), minlength=len(g) + 1)[1:]
        else:
            sb = sa = np.zeros(len(g))
        x0, y1 = wt.c, wt.f
        x1, y0 = x0 + win.width * T.a, y1 + win.height * T.e
        inner = []
        if win.col_off > 0:
            inner.append(shapely.LineString([(x0, y0), (x0, y1)]))
        if win.col_off + win.width < W:
            inner.append(shapely.LineString([(x1, y0), (x1, y1)]))
        if win.row_off > 0:
            inner.append(shapely.LineString([(x0, y1), (x1, y1)]))
        if win.row_off + win.height < H:
            inner.append(shapely.LineString([(x0, y0), (x1, y0)]))
        edge = (shapely.intersects(g, shapely.MultiLineString(inner)) if inner
                else np.zeros(len(g), dtype=bool))
        keep = ~edge & (px >= pre_min_px)
        done.append(g[keep])
        stats.append(np.column_stack([px[keep], sb[keep], sa[keep]]))
        pool.extend(g[edge])
        pool_stats.extend(zip(px[edge], sb[edge], sa[edge]))
    if pool:
        pg = np.array(pool, dtype=object)
        ps = np.array(pool_stats, dtype=float)
        merged = shapely.get_parts(shapely.union_all(pg, grid_size=None))
        # sum the pieces' statistics into the merged patch each lies in
        tree = shapely.STRtree(merged)
        idx_piece, idx_merged = tree.query(shapely.point_on_surface(pg), predicate="intersects")
        agg = np.zeros((len(merged), 3))
        np.add.at(agg, idx_merged, ps[idx_piece])
        keep = agg[:, 0] >= pre_min_px
        done.append(merged[keep])
        stats.append(agg[keep])
    if not done:
        return np.zeros(0, dtype=object), np.zeros(0), np.zeros(0), np.zeros(0), n_nodata
    geoms = np.concatenate(done)
    st = np.concatenate(stats) if stats else np.zeros((0, 3))
    return geoms, st[:, 0], st[:, 1], st[:, 2], n_nodata


# ------------------------------------------------------------------------------------------------ tags
def zone_rank(values: pd.Series | np.ndarray, default: float) -> np.ndarray:
    """:data:`ZONE_SEVERITY` of ``str(value)`` for each value; ``default`` where it names no known zone."""
    # each distinct value looked up once by its str() (the keys are text); a missing value names no zone.
    # Values factorize by equality, so 1, 1.0 and True share a code: none of their texts is a zone name.
    codes, uniq = pd.factorize(pd.Series(np.asarray(values, dtype=object), dtype=object))
    ranks = np.array([ZONE_SEVERITY.get(str(u), default) for u in uniq] + [default], dtype=float)
    return ranks[codes]  # code -1 (missing) takes the trailing default


def _first_col(df: pd.DataFrame, *names: str) -> pd.Series:
    for n in names:
        if n in df.columns:
            return df[n].astype(object).where(df[n].notna(), None)
    return pd.Series([None] * len(df), index=df.index, dtype=object)


def _overlay_tag(geoms: np.ndarray, feats: gpd.GeoDataFrame, label: pd.Series, rank: np.ndarray,
                 name: pd.Series | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each clue: the label of the most severe intersecting feature, all labels joined, and that feature's name."""
    n = len(geoms)
    best = np.full(n, None, dtype=object)
    joined = np.full(n, None, dtype=object)
    best_name = np.full(n, None, dtype=object)
    if n == 0 or len(feats) == 0:
        return best, joined, best_name
    tree = shapely.STRtree(feats.geometry.to_numpy())
    ci, fi = tree.query(geoms, predicate="intersects")
    if len(ci) == 0:
        return best, joined, best_name
    order = np.lexsort((-rank[fi], ci))  # by clue, most severe first
    ci, fi = ci[order], fi[order]
    first = np.r_[True, ci[1:] != ci[:-1]]
    labels = label.to_numpy(dtype=object)
    best[ci[first]] = labels[fi[first]]
    if name is not None:
        best_name[ci[first]] = name.to_numpy(dtype=object)[fi[first]]
    # str() of each label; a missing one (None, see _first_col) reads "None" as str(None) does
    pairs = pd.DataFrame({"c": ci, "l": pd.Series(labels[fi], dtype=object).astype(str).fillna("None").to_numpy()})
    agg = pairs.drop_duplicates().groupby("c", sort=False)["l"].agg(";".join)
    joined[agg.index.to_numpy()] = agg.to_numpy()
    return best, joined, best_name


def tag_clues(clues: gpd.GeoDataFrame, ws: Workspace | None, *, notes: Notes | None = None,
              mine_within_m: float | None = None) -> gpd.GeoDataFrame:
    """Tag clue patches (EPSG:4490) with what they fall in and score them.

    Adds: ``in_redline`` and ``redline`` (names), ``protected_area``, ``pa_zone``
    (most severe zone) and ``pa_zones`` (all), ``water_source``, ``water_grade``,
    ``control_unit`` (code) and ``unit_class``, ``nearest_mine`` and
    ``mine_distance_m`` (metres, 0 inside), ``prohibited`` (in a zone of
    :data:`PROHIBITED_ZONES`), ``severity`` and ``priority``; sorts by
    priority and numbers the clues ``XS-0001`` …  Missing workspace layers
    leave their columns empty and are noted.
    """
    from ecogis.screening.geometry import metric_crs_for, to_metric

    notes = notes if notes is not None else Notes()
    out = clues.copy()
    geoms = out.geometry.to_numpy()
    n = len(out)
    cols = {c: np.full(n, None, dtype=object) for c in (
        "redline", "protected_area", "pa_zone", "pa_zones", "water_source", "water_grade", "control_unit",
        "unit_class", "nearest_mine")}
    mine_d = np.full(n, np.nan)
    missing = []

    def layer(kind: str) -> gpd.GeoDataFrame | None:
        if ws is None or not ws.has(kind):
            missing.append(kind)
            return None
        return ws.read(kind)

    if n:
        rl = layer("redline")
        if rl is not None:
            names = _first_col(rl, "name", "code")
            _, cols["redline"], _ = _overlay_tag(geoms, rl, names, np.zeros(len(rl)))
        pa = layer("protected_area")
        if pa is not None:
            zone = _first_col(pa, "zone")
            rank = zone_rank(zone, 0.3)
            cols["pa_zone"], cols["pa_zones"], cols["protected_area"] = _overlay_tag(
                geoms, pa, zone.fillna("未分区"), rank, _first_col(pa, "name"))
        wsrc = layer("water_source")
        if wsrc is not None:
            grade = _first_col(wsrc, "grade")
            rank = zone_rank(grade, 0.3)
            cols["water_grade"], _, cols["water_source"] = _overlay_tag(geoms, wsrc, grade.fillna("未分级"), rank,
                                                                        _first_col(wsrc, "name"))
        cu = layer("control_unit")
        if cu is not None:
            cls = _first_col(cu, "class")
            rank = zone_rank(cls, 0.0)
            cols["unit_class"], _, cols["control_unit"] = _overlay_tag(geoms, cu, cls, rank, _first_col(cu, "code"))
        mines = layer("mine")
        if mines is not None and len(mines):
            b = out.total_bounds
            mcrs = metric_crs_for(tuple(b))
            cm = to_metric(geoms, mcrs)
            mm = to_metric(mines.geometry.to_numpy(), mcrs)
            tree = shapely.STRtree(mm)
            ci, mi = tree.query_nearest(cm, all_matches=False, return_distance=False)
            d = shapely.distance(cm[ci], mm[mi])
            mine_d[ci] = np.round(d, 1)
            cols["nearest_mine"][ci] = _first_col(mines, "name").to_numpy(dtype=object)[mi]
    if missing:
        notes.add("tags", f"workspace has no {', '.join(sorted(set(missing)))} layer: those tags are empty")
    for k, v in cols.items():
        out[k] = v
    out["in_redline"] = pd.notna(out["redline"]).to_numpy(dtype=bool) if n else np.zeros(0, dtype=bool)
    out["mine_distance_m"] = mine_d
    sev, prohibited = _severity(out)
    out["severity"] = np.round(sev, 3)
    out["prohibited"] = prohibited
    out["priority"] = priority_score(sev, out["area_ha"].to_numpy(dtype=float), prohibited)
    out = out.sort_values(["priority", "area_ha"], ascending=[False, False], kind="stable").reset_index(drop=True)
    number = pc.utf8_lpad(pc.cast(pyarrow.array(np.arange(1, len(out) + 1)), pyarrow.string()), width=4, padding="0")
    out.insert(0, "clue_id", pc.binary_join_element_wise("XS-", number, "").to_numpy(zero_copy_only=False))
    return out


def _severity(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    n = len(df)
    parts = [np.zeros(n)]
    for col in ("pa_zone", "water_grade", "unit_class"):
        # a clue in no such zone (missing: None, or NaN once pandas stores the column as text) adds nothing
        v = df[col]
        parts.append(np.where(pd.isna(v).to_numpy(dtype=bool), 0.0,
                              zone_rank(v, 0.3 if col == "pa_zone" else 0.0)))
    parts.append(np.where(df["in_redline"].to_numpy(dtype=bool), ZONE_SEVERITY["redline"], 0.0) if n else np.zeros(0))
    sev = np.max(np.vstack(parts), axis=0) if n else np.zeros(0)
    proh = (df["pa_zone"].isin(PROHIBITED_ZONES) | df["water_grade"].isin(PROHIBITED_ZONES)
            | df["in_redline"].astype(bool)).to_numpy(dtype=bool) if n else np.zeros(0, dtype=bool)
    return sev, proh


def priority_score(severity: np.ndarray, area_ha: np.ndarray, prohibited: np.ndarray) -> np.ndarray:
    """The clue priority, 0–100.

    ``50 × severity + 30 × min(1, ln(1 + area_ha) / ln(1 + 20)) + 20 × prohibited``

    - *severity* (0–1) is the highest :data:`ZONE_SEVERITY` of what the
      patch touches: protected-area core zone or grade-1 water source 1.0,
      buffer 0.85, red line 0.8, grade-2 water 0.8, experimental / general
      control zone 0.6, quasi water zone 0.5, 优先保护 unit 0.4, other units
      0.1–0.15, nothing 0;
    - the *area* term grows with the logarithm of the area and is full at 20 ha;
    - *prohibited* is 1 when the patch touches a zone where development is
      prohibited (:data:`PROHIBITED_ZONES`, or the red line).
    """
    sev = np.asarray(severity, dtype=float)
    a = np.clip(np.log1p(np.maximum(np.asarray(area_ha, dtype=float), 0)) / math.log1p(AREA_FULL_HA), 0, 1)
    p = np.asarray(prohibited, dtype=float)
    w = SCORE_WEIGHTS
    return np.round(w["severity"] * sev + w["area"] * a + w["prohibited"] * p, 1)


def write_clues(result: ClueResult | gpd.GeoDataFrame, path: str | os.PathLike) -> Path:
    """Write clues to ``path`` (.gpkg, .geojson or .shp, by extension), atomically.

    A Shapefile goes through :func:`ecogis.export.writers.write_file` (all its
    parts swapped in at once; long field names and text shortened, and the
    changes added to the result's notes, or warned about for a bare frame).
    """
    from ecogis.fileutil import atomic_path

    gdf = result.clues if isinstance(result, ClueResult) else result
    p = Path(path)
    ext = p.suffix.lower()
    driver = {".gpkg": "GPKG", ".geojson": "GeoJSON", ".json": "GeoJSON", ".shp": "ESRI Shapefile"}.get(ext)
    if driver is None:
        raise InputError(f"cannot write clues as {ext or 'a file without extension'}", path=p,
                         hint="use .gpkg, .geojson or .shp")
    if driver == "ESRI Shapefile":
        from ecogis.export.writers import write_file

        notes = result.notes if isinstance(result, ClueResult) else None
        return write_file(gdf, p, notes=notes)
    import pyogrio

    with atomic_path(p) as tmp:
        if len(gdf) == 0:
            gdf = gdf.copy()
        pyogrio.write_dataframe(gdf, tmp, layer="clues" if driver == "GPKG" else None, driver=driver,
                                promote_to_multi=True)
    return p


def evaluate(clues: gpd.GeoDataFrame, truth: gpd.GeoDataFrame, *, min_area_ha: float = 0.5,
             cover: float = 0.5) -> dict[str, Any]:
    """Recall and precision of ``clues`` against known disturbances (both EPSG:4490).

    A truth patch of at least ``min_area_ha`` is *found* when detected patches
    cover at least ``cover`` of its area.  A detected patch is *correct* when
    at least ``cover`` of it lies on a truth patch (of any size).
    """
    from ecogis.screening.geometry import metric_crs_for, to_metric

    t = truth[truth["area_ha"] >= min_area_ha]
    if len(clues) == 0 or len(t) == 0:
        return {"truth": int(len(t)), "detected": int(len(clues)), "found": 0, "correct": 0,
                "recall": 0.0 if len(t) else 1.0, "precision": 1.0 if len(clues) == 0 else 0.0}
    mcrs = metric_crs_for(tuple(truth.total_bounds))
    tg = to_metric(t.geometry.to_numpy(), mcrs)
    all_t = shapely.union_all(to_metric(truth.geometry.to_numpy(), mcrs))
    cg = to_metric(clues.geometry.to_numpy(), mcrs)
    detected = shapely.union_all(cg)
    found = shapely.area(shapely.intersection(tg, detected)) >= cover * shapely.area(tg)
    correct = shapely.area(shapely.intersection(cg, all_t)) >= cover * shapely.area(cg)
    return {"truth": int(len(t)), "detected": int(len(cg)), "found": int(found.sum()), "correct": int(correct.sum()),
            "recall": round(float(found.mean()), 4), "precision": round(float(correct.mean()), 4)}
