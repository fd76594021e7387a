"""Change clues from rasters: alignment, nodata, tiling, tags, score, recall/precision, CLI."""

from __future__ import annotations

import argparse
import math

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import from_origin

from ecogis.errors import CRSError, InputError
from ecogis.patrol import clues as C
from ecogis.patrol.synth import NODATA, build_pair
from ecogis.workspace import open_workspace

GK = 4549  # CGCS2000 3° GK zone 40 (CM 120°E), no prefix
LON, LAT = 121.5, 50.8
X0, Y0 = (round(v, -1) for v in Transformer.from_crs(4490, GK, always_xy=True).transform(LON, LAT))


def _tif(path, arr, *, res=10.0, crs=GK, x0=X0, y0=Y0, nodata=NODATA):
    arr = np.asarray(arr)
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[1], height=arr.shape[0], count=1,
                       dtype=arr.dtype, crs=crs, transform=from_origin(x0, y0, res, res), nodata=nodata) as dst:
        dst.write(arr, 1)
    return path


def _box_ll(x0, y0, x1, y1):
    """A GK box as an EPSG:4490 polygon."""
    tr = Transformer.from_crs(GK, 4490, always_xy=True)
    g = shapely.segmentize(shapely.box(x0, y0, x1, y1), 20)
    return shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


@pytest.fixture()
def flat_pair(tmp_path):
    """200×200 px at 10 m; one 30×30 px loss block (9 ha) at rows/cols 50–80."""
    before = np.full((200, 200), 0.8, dtype=np.float32)
    after = before.copy()
    after[50:80, 50:80] = 0.1
    return _tif(tmp_path / "b.tif", before), _tif(tmp_path / "a.tif", after), before, after


def test_same_grid_detects_the_block_and_resamples_nothing(flat_pair):
    b, a, *_ = flat_pair
    r = C.detect_clues(b, a, None, min_area_ha=0.5)
    assert len(r.clues) == 1
    assert r.meta["resampled"] is None
    assert r.clues["area_ha"].iloc[0] == pytest.approx(9.0, rel=0.01)
    assert r.clues["pixels"].iloc[0] == 900
    assert r.clues["mean_before"].iloc[0] == pytest.approx(0.8, abs=1e-3)
    assert r.clues["mean_after"].iloc[0] == pytest.approx(0.1, abs=1e-3)
    assert r.clues.crs.to_epsg() == 4490


def test_different_crs_and_resolution_are_aligned_and_reported(tmp_path):
    pair = build_pair(tmp_path, center=(LON, LAT), size_km=4.0, res_after=10.0, res_before=20.0,
                      before_crs="utm", counts=(6, 2, 6), seed=3)
    with rasterio.open(pair.before) as sb, rasterio.open(pair.after) as sa:
        assert sb.crs != sa.crs and sb.res != sa.res
    r = C.detect_clues(pair.before, pair.after, None)
    rs = r.meta["resampled"]
    assert rs["raster"] == "before" and rs["method"] == "bilinear"
    assert rs["from_crs"].startswith("EPSG:326") and rs["to_pixel_m"] == pytest.approx(10.0)
    assert any(n.code == "align" and "bilinear" in n.message for n in r.notes)
    ev = C.evaluate(r.clues, gpd.read_file(pair.truth), min_area_ha=0.5)
    assert ev["truth"] > 5
    assert ev["recall"] >= 0.9 and ev["precision"] >= 0.8


def test_coarser_after_makes_before_the_reference(tmp_path):
    before = np.full((100, 100), 0.8, dtype=np.float32)
    after = np.full((50, 50), 0.8, dtype=np.float32)
    after[10:30, 10:30] = 0.05
    b = _tif(tmp_path / "b.tif", before, res=10.0)
    a = _tif(tmp_path / "a.tif", after, res=20.0)
    r = C.detect_clues(b, a, None)
    assert r.meta["reference_grid"] == "before" and r.meta["resampled"]["raster"] == "after"
    assert r.clues["area_ha"].sum() == pytest.approx(16.0, rel=0.1)


def test_nodata_stays_nodata(tmp_path, flat_pair):
    _, _, before, after = flat_pair
    after = after.copy()
    after[50:80, 50:65] = NODATA  # half the loss block is cloud
    before2 = before.copy()
    before2[120:160, 120:160] = np.nan  # NaN in the before raster over a second loss block
    after[120:160, 120:160] = 0.1
    b = _tif(tmp_path / "b2.tif", before2)
    a = _tif(tmp_path / "a2.tif", after)
    r = C.detect_clues(b, a, None)
    assert len(r.clues) == 1  # the NaN block is not a loss
    assert r.clues["pixels"].iloc[0] == 30 * 15
    assert r.meta["nodata_pixels"] == 30 * 15 + 40 * 40
    assert any(n.code == "nodata" for n in r.notes)


def test_nodata_outside_the_other_raster_extent(tmp_path):
    """Reference cells the other raster does not cover are nodata, not loss."""
    before = np.full((100, 100), 0.8, dtype=np.float32)
    after = np.full((100, 100), 0.05, dtype=np.float32)  # everything "lost" …
    b = _tif(tmp_path / "b.tif", before, x0=X0 + 500)  # … but before covers only the eastern half
    a = _tif(tmp_path / "a.tif", after)
    r = C.detect_clues(b, a, None)
    assert r.clues["area_ha"].sum() == pytest.approx(50.0, rel=0.02)


def test_tiles_do_not_cut_patches(flat_pair):
    b, a, *_ = flat_pair
    whole = C.detect_clues(b, a, None, block=4096)
    tiled = C.detect_clues(b, a, None, block=16)  # the block spans many 16-px tiles
    assert len(tiled.clues) == len(whole.clues) == 1
    assert tiled.clues["area_ha"].iloc[0] == pytest.approx(whole.clues["area_ha"].iloc[0], rel=1e-6)
    assert tiled.clues["pixels"].iloc[0] == pytest.approx(900)
    assert tiled.clues["mean_after"].iloc[0] == pytest.approx(0.1, abs=1e-3)
    assert shapely.get_num_geometries(tiled.clues.geometry.iloc[0]) == 1


def test_min_area_filter(tmp_path):
    before = np.full((100, 100), 0.8, dtype=np.float32)
    after = before.copy()
    after[10:16, 10:16] = 0.1  # 0.36 ha
    after[50:60, 50:60] = 0.1  # 1 ha
    b, a = _tif(tmp_path / "b.tif", before), _tif(tmp_path / "a.tif", after)
    assert len(C.detect_clues(b, a, None, min_area_ha=0.5).clues) == 1
    assert len(C.detect_clues(b, a, None, min_area_ha=0.1).clues) == 2
    with pytest.raises(InputError):
        C.detect_clues(b, a, None, threshold=-1)


def test_class_rasters(tmp_path):
    before = np.full((100, 100), 1, dtype=np.uint8)  # forest
    before[:, 70:] = 4  # water
    after = before.copy()
    after[10:40, 10:40] = 7  # forest -> construction: loss
    after[10:40, 75:95] = 6  # water -> bare: not a vegetation loss
    after[60:80, 10:40] = 3  # forest -> cropland: not in CLEARED
    b = _tif(tmp_path / "b.tif", before, nodata=255)
    a = _tif(tmp_path / "a.tif", after, nodata=255)
    r = C.detect_clues(b, a, None, index="class")
    assert len(r.clues) == 1 and r.clues["area_ha"].iloc[0] == pytest.approx(9.0, rel=0.01)


def test_raster_without_crs_is_refused(tmp_path, flat_pair):
    _, a, before, _ = flat_pair
    p = tmp_path / "nocrs.tif"
    with rasterio.open(p, "w", driver="GTiff", width=10, height=10, count=1, dtype="float32") as dst:
        dst.write(before[:10, :10], 1)
    with pytest.raises(CRSError) as e:
        C.detect_clues(p, a, None)
    assert "nocrs.tif" in str(e.value)


@pytest.fixture()
def zone_ws(tmp_path):
    """A protected area with a core zone (west) and an experimental zone (east) meeting at x = X0 + 1000."""
    ws = open_workspace(tmp_path / "ws.gpkg", create=True)
    core = _box_ll(X0, Y0 - 2000, X0 + 1000, Y0)
    exp = _box_ll(X0 + 1000, Y0 - 2000, X0 + 2000, Y0)
    pa = gpd.GeoDataFrame({"name": ["测试保护区", "测试保护区"], "zone": ["核心区", "实验区"], "type": "自然保护区",
                           "level": "国家级"}, geometry=[core, exp], crs=4490)
    ws.write("protected_area", pa, source="test", version="t")
    mine = gpd.GeoDataFrame({"name": ["测试矿"], "status": ["在产"]},
                            geometry=[_box_ll(X0 + 1800, Y0 - 1900, X0 + 1900, Y0 - 1800)], crs=4490)
    ws.write("mine", mine, source="test", version="t")
    return ws


def test_patch_on_a_zone_border_takes_the_most_severe_zone(tmp_path, zone_ws):
    before = np.full((200, 200), 0.8, dtype=np.float32)
    after = before.copy()
    after[20:40, 90:110] = 0.1  # straddles the core/experimental border at col 100
    after[120:140, 150:170] = 0.1  # experimental zone only, same size
    b, a = _tif(tmp_path / "b.tif", before), _tif(tmp_path / "a.tif", after)
    r = C.detect_clues(b, a, zone_ws)
    c = r.clues.set_index("pixels", drop=False)
    assert len(r.clues) == 2
    border = r.clues.iloc[0]  # highest priority first
    other = r.clues.iloc[1]
    assert border["pa_zone"] == "核心区"
    assert set(border["pa_zones"].split(";")) == {"核心区", "实验区"}
    assert bool(border["prohibited"]) and not bool(other["prohibited"])
    assert other["pa_zone"] == "实验区"
    assert border["priority"] > other["priority"]
    assert border["clue_id"] == "XS-0001"
    # nearest mine and its distance (metres)
    assert (r.clues["nearest_mine"] == "测试矿").all()
    assert 0 < other["mine_distance_m"] < border["mine_distance_m"]
    assert other["mine_distance_m"] == pytest.approx(math.hypot(100, 400), abs=15)
    assert any("redline" in n.message for n in r.notes)  # missing layers are said
    assert len(c) == 2


def test_priority_score_formula():
    s = C.priority_score(np.array([1.0, 0.0, 0.6]), np.array([20.0, 0.0, math.e - 1]), np.array([True, False, False]))
    assert s[0] == 100.0 and s[1] == 0.0
    assert s[2] == pytest.approx(round(30 + 30 / math.log1p(20), 1))


def test_cli_clues(tmp_path, flat_pair, zone_ws):
    from ecogis.cli import patrol as cli

    b, a, *_ = flat_pair
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers()
    cli.register(sub)
    out = tmp_path / "clues.gpkg"
    args = ap.parse_args(["clues", "--before", str(b), "--after", str(a), "--workspace", str(zone_ws.uri),
                          "--out", str(out), "--min-area-ha", "1"])
    assert args.func(args) == 0
    got = pyogrio.read_dataframe(out)
    assert list(got["clue_id"]) == ["XS-0001"] and got["pa_zone"].iloc[0] == "核心区"


HOSTILE_ZONES = ["核心区", None, float("nan"), 1, 2.5, "缓冲区 ", "'); DROP TABLE x; --", "<script>", "a\tb\nc\\d",
                 "实验区", "准保护区", "x" * 100_000, "redline", True]


@pytest.mark.parametrize("default", [0.3, 0.0])
def test_zone_rank_is_the_dictionary_lookup_of_str(default):
    # the vectorised lookup gives what ZONE_SEVERITY.get(str(z), default) gave value for value
    values = HOSTILE_ZONES * 50
    for vals in (values, np.asarray(values, dtype=object), gpd.pd.Series(values, dtype=object)):
        got = C.zone_rank(vals, default)
        assert got.tolist() == [C.ZONE_SEVERITY.get(str(z), default) for z in values]
    assert C.zone_rank(np.array([], dtype=object), default).shape == (0,)


def test_a_clue_in_no_zone_adds_no_zone_severity():
    # pandas stores a tag column with missing values as text, the missing ones as NaN: they add nothing
    df = gpd.pd.DataFrame({"a": range(4)})
    df["pa_zone"] = np.array(["缓冲区", None, "未分区", None], dtype=object)
    df["water_grade"] = np.array([None, "一级保护区", None, None], dtype=object)
    df["unit_class"] = np.array([None, None, "重点管控", None], dtype=object)
    df["in_redline"] = [False, False, True, False]
    assert df["pa_zone"].isna().tolist() == [False, True, False, True]
    sev, proh = C._severity(df)
    # 未分区 (an unnamed zone) keeps 0.3, below the red line's 0.8; row 3 is in nothing (the per-row
    # version read its NaN as the text "nan" and gave it 0.3)
    assert sev.tolist() == [0.85, 1.0, 0.8, 0.0]
    assert proh.tolist() == [True, True, True, False]
    sev, _ = C._severity(gpd.pd.DataFrame({"pa_zone": [None], "water_grade": [None], "unit_class": [None],
                                           "in_redline": [False]}))
    assert sev.tolist() == [0.0]
    sev, _ = C._severity(gpd.pd.DataFrame({"pa_zone": ["未分区"], "water_grade": [np.nan], "unit_class": [np.nan],
                                           "in_redline": [False]}))
    assert sev.tolist() == [0.3]


def test_overlay_joins_each_label_as_str():
    # the joined labels are str() of each label, as the per-row version wrote them (None reads "None")
    feats = gpd.GeoDataFrame({"c": ["a;b", None, "<script>", 7]},
                             geometry=[shapely.box(0, 0, 2, 2)] * 4, crs=4490)
    geoms = np.array([shapely.box(0.5, 0.5, 1, 1), shapely.box(5, 5, 6, 6)], dtype=object)
    label = C._first_col(feats, "c")
    best, joined, _ = C._overlay_tag(geoms, feats, label, C.zone_rank(label, 0.0))
    assert joined[1] is None and best[1] is None
    assert sorted(joined[0].split(";")) == sorted(["a", "b", "None", "<script>", "7"])


def test_clue_ids_number_the_sorted_clues_past_9999():
    n = 10_005
    xs = LON + np.arange(n) * 1e-4
    clues = gpd.GeoDataFrame({"area_ha": np.linspace(0.1, 5, n)}, geometry=shapely.box(xs, LAT, xs + 5e-5, LAT + 5e-5),
                             crs=4490)
    out = C.tag_clues(clues, None)
    assert out["clue_id"].tolist() == [f"XS-{i + 1:04d}" for i in range(n)]
    assert out["area_ha"].iloc[0] == 5 and C.tag_clues(clues.iloc[:0], None)["clue_id"].tolist() == []
