"""Exact overlaps of candidate pairs: threads cut by feature give the single-thread answer."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely
from shapely import STRtree

from ecogis.screening import pairs
from ecogis.parallel import thread_count
from ecogis.screening.pairs import _feature_chunks, overlay_pairs


def _layers(seed: int = 7, n_feats: int = 60, n_sites: int = 3000):
    """Large 40-gons (some overlapping) and small boxes, some inside, some cut, some outside."""
    rng = np.random.default_rng(seed)
    cx, cy = rng.uniform(120, 121, n_feats), rng.uniform(45, 46, n_feats)
    ang = np.linspace(0, 2 * np.pi, 40, endpoint=False)
    feats = np.array([
        shapely.Polygon(np.column_stack([x + r * np.cos(ang) * rng.uniform(0.7, 1, 40), y + r * np.sin(ang)]))
        for x, y, r in zip(cx, cy, rng.uniform(0.02, 0.12, n_feats))
    ], dtype=object)
    sx, sy = rng.uniform(120, 121, n_sites), rng.uniform(45, 46, n_sites)
    size = rng.uniform(0.001, 0.01, n_sites)
    sites = shapely.box(sx, sy, sx + size, sy + size)
    s, f = STRtree(feats).query(sites)
    return sites, feats, s, f


def test_feature_chunks_cover_every_pair_once_and_never_split_a_feature():
    f = np.random.default_rng(1).integers(0, 50, 5000)
    chunks = _feature_chunks(f, 8)
    assert len(chunks) > 1
    allpos = np.concatenate(chunks)
    assert np.array_equal(np.sort(allpos), np.arange(len(f)))
    owners = [set(f[c]) for c in chunks]
    for i in range(len(owners)):
        for j in range(i + 1, len(owners)):
            assert not owners[i] & owners[j]


def test_one_feature_everywhere_gives_one_chunk():
    assert len(_feature_chunks(np.zeros(1000, int), 8)) == 1


def test_overlaps_are_right_on_known_cases():
    feat = np.array([shapely.box(0, 0, 10, 10)], dtype=object)
    sites = np.array([shapely.box(1, 1, 2, 2), shapely.box(9, 9, 11, 11), shapely.box(10, 0, 11, 1),
                      shapely.box(20, 20, 21, 21)], dtype=object)
    inside, hit, overlap, part_area = overlay_pairs(sites, feat, np.arange(4), np.zeros(4, int), area=shapely.area,
                                                    threads=1)
    assert inside.tolist() == [True, False, False, False]
    assert hit.tolist() == [True, True, True, False]  # a shared edge intersects; the engine drops it (no area)
    assert overlap[0] is sites[0]  # inside: the site itself, no intersection computed
    assert overlap[1].equals(shapely.box(9, 9, 10, 10))
    assert shapely.area(overlap[2]) == 0 and overlap[3] is None
    assert np.isnan(part_area[0]) and part_area[1] == 1.0 and part_area[2] == 0.0 and np.isnan(part_area[3])


def test_a_site_touching_the_boundary_from_inside_is_inside_only_with_exact_inside():
    """``contains_properly`` decides first; ``covers`` (asked only with ``exact_inside``) adds the touching site.

    Without it the touching site takes the intersection, whose result is the site with the same area.
    """
    feat = np.array([shapely.box(0, 0, 10, 10)], dtype=object)
    sites = np.array([shapely.box(1, 1, 2, 2), shapely.box(0, 0, 1, 1), shapely.box(9, 9, 11, 11)], dtype=object)
    s, f = np.arange(3), np.zeros(3, int)
    exact = overlay_pairs(sites, feat, s, f, area=shapely.area, threads=1)
    quick = overlay_pairs(sites, feat, s, f, area=shapely.area, threads=1, exact_inside=False)
    assert exact[0].tolist() == [True, True, False]
    assert quick[0].tolist() == [True, False, False]
    assert exact[1].tolist() == quick[1].tolist() == [True, True, True]
    assert quick[2][1].equals(sites[1]) and quick[3][1] == shapely.area(sites[1]) == 1.0
    assert exact[2][1] is sites[1] and np.isnan(exact[3][1])
    assert quick[3][2] == exact[3][2] == 1.0


def test_a_feature_held_by_the_site_is_its_own_overlap_and_every_other_case_is_the_intersection():
    """Small features within a large site: the overlap is the feature; the answer is the intersection's."""
    hole = [(40, 40), (60, 40), (60, 60), (40, 60)]
    site = shapely.Polygon([(0, 0), (100, 0), (100, 100), (0, 100)], [hole])
    feats = np.array([
        shapely.box(10, 10, 20, 20),                                   # held
        shapely.Point(5, 5),                                            # a well, held
        shapely.LineString([(1, 50), (30, 50)]),                        # a stream, held
        shapely.box(45, 45, 55, 55),                                    # in the hole: no overlap at all
        shapely.box(35, 35, 65, 65),                                    # around the hole: cut
        shapely.box(0, 10, 10, 20),                                     # touches the edge from inside: cut
        shapely.box(90, 90, 110, 110),                                  # across the edge: cut
        shapely.MultiPolygon([shapely.box(10, 70, 20, 80), shapely.box(120, 70, 130, 80)]),  # one part out
    ], dtype=object)
    n = len(feats)
    sites = np.array([site], dtype=object)
    inside, hit, overlap, part_area = overlay_pairs(sites, feats, np.zeros(n, int), np.arange(n),
                                                    area=shapely.area, threads=1)
    assert not inside.any()
    assert hit.tolist() == [True, True, True, False, True, True, True, True]
    assert overlap[0] is feats[0] and overlap[1] is feats[1] and overlap[2] is feats[2]  # no intersection built
    for i in range(n):
        want = shapely.intersection(site, feats[i])
        if hit[i]:
            assert shapely.equals(overlap[i], want) or (shapely.is_empty(want) and shapely.is_empty(overlap[i])), i
            assert part_area[i] == pytest.approx(shapely.area(want), abs=1e-9), i
    assert overlap[3] is None and np.isnan(part_area[3])


@pytest.mark.parametrize("threads", [2, 3, 4])
def test_threads_give_the_single_thread_answer(monkeypatch, threads):
    sites, feats, s, f = _layers()
    assert len(s) > 2000
    one = overlay_pairs(sites, feats, s, f, area=shapely.area, threads=1)
    monkeypatch.setattr(pairs, "MIN_PAIRS_PER_THREAD", 100)  # force the thread pool on this small input
    for _ in range(3):  # fresh geometries each time: the prepared indexes are built inside the threads
        sites2, feats2 = shapely.from_wkb(shapely.to_wkb(sites)), shapely.from_wkb(shapely.to_wkb(feats))
        many = overlay_pairs(sites2, feats2, s, f, area=shapely.area, threads=threads)
        assert np.array_equal(one[0], many[0]) and np.array_equal(one[1], many[1])
        np.testing.assert_array_equal(one[3], many[3])
        got = np.array([np.nan if g is None else shapely.area(g) for g in many[2]])
        want = np.array([np.nan if g is None else shapely.area(g) for g in one[2]])
        np.testing.assert_array_equal(got, want)
    assert one[0].sum() > 100 and (one[1] & ~one[0]).sum() > 100 and (~one[1]).sum() > 10


def test_thread_count_defaults_to_every_core(monkeypatch):
    from ecogis.settings import settings

    monkeypatch.setattr(settings, "threads", 0)
    assert thread_count(None) >= 1
    assert thread_count(3) == 3
    monkeypatch.setattr(settings, "threads", 2)
    assert thread_count(None) == 2


def test_screen_results_do_not_depend_on_threads(monkeypatch):
    import ecogis
    from ecogis.settings import settings

    ws = settings.sample_dir / "xilinhot.gpkg"
    sites = settings.sample_dir / "sites" / "xilinhot.geojson"
    monkeypatch.setattr(pairs, "MIN_PAIRS_PER_THREAD", 1)
    a = ecogis.screen(sites, ws, progress=False, threads=1)
    b = ecogis.screen(sites, ws, progress=False, threads=4)
    cols = ["site_id", "rule_id", "feature_id", "overlap_ha", "distance_m"]
    assert len(a.findings) > 0
    assert a.findings[cols].equals(b.findings[cols])
    assert a.sites["verdict"].tolist() == b.sites["verdict"].tolist()


def test_a_feature_object_repeated_at_two_indices_is_never_shared_between_threads(monkeypatch):
    feat = shapely.box(0, 0, 10, 10)
    feats = np.array([feat] * 50, dtype=object)  # one object, fifty indices
    sites = shapely.box(np.arange(50) * 0.1, 0, np.arange(50) * 0.1 + 0.05, 0.05)
    s, f = np.arange(50), np.arange(50)
    seen = []
    real_chunk = pairs._chunk
    monkeypatch.setattr(pairs, "MIN_PAIRS_PER_THREAD", 1)
    monkeypatch.setattr(pairs, "_chunk", lambda *a, **k: seen.append(len(a[2])) or real_chunk(*a, **k))
    inside, hit, _, _ = overlay_pairs(sites, feats, s, f, threads=4)
    assert seen == [50]  # one chunk, one thread
    assert inside.all() and hit.all()


def test_pools_never_nest():
    from ecogis.parallel import in_pool, thread_map

    inner = thread_map(lambda _: (in_pool(), thread_map(lambda __: in_pool(), [0, 1], 2)), [0, 1], 2, "t")
    assert inner == [(True, [True, True])] * 2  # the inner map ran on the outer pool's threads
    assert not in_pool()


def test_threads_from_the_environment_and_a_clear_error_for_a_bad_value(monkeypatch):
    from ecogis.settings import Settings

    monkeypatch.setenv("ECOGIS_THREADS", "3")
    assert Settings().threads == 3
    monkeypatch.setenv("ECOGIS_THREADS", "two")
    with pytest.raises(ValueError, match="ECOGIS_THREADS='two' is not a whole number"):
        Settings().threads  # noqa: B018 - a bad variable is named when the setting is used


@pytest.mark.parametrize("threads", [1, 2])
def test_progress_counts_every_pair_once(monkeypatch, threads):
    sites, feats, s, f = _layers(seed=11)
    monkeypatch.setattr(pairs, "MIN_PAIRS_PER_THREAD", 100)
    seen: list[int] = []
    overlay_pairs(sites, feats, s, f, threads=threads, done=seen.append)
    assert sum(seen) == len(s)
    assert len(seen) == (1 if threads == 1 else len(_feature_chunks(f, threads * pairs.CHUNKS_PER_THREAD)))


def test_clip_box_is_wider_than_the_site_and_keeps_the_overlap():
    site = shapely.box(120.0, 45.0, 120.01, 45.01)
    ang = np.linspace(0, 2 * np.pi, 200, endpoint=False)
    big = shapely.Polygon(np.column_stack([120.0 + 0.05 * np.cos(ang), 45.0 + 0.05 * np.sin(ang)]))
    clipped = pairs.clip_to_sites(np.array([big], dtype=object), np.array([site], dtype=object))[0]
    b = shapely.bounds(clipped)
    assert b[0] < 120.0 and b[1] < 45.0 and b[2] > 120.01 and b[3] > 45.01  # the site's own edges are not clip edges
    assert shapely.area(shapely.intersection(site, clipped)) == pytest.approx(
        shapely.area(shapely.intersection(site, big)), rel=1e-12)


def test_large_sites_cut_by_small_features_give_the_direct_intersection():
    """Large sites are clipped to each small feature's box before the intersection (``clip_to_features``):
    on real polygons (Fiona's test data, 67 wilderness areas of Colorado and Utah, up to 266 vertices)
    and on a long line site, every overlap equals the direct ``shapely.intersection``."""
    import pyogrio

    data = Path(__file__).parent / "data" / "third_party" / "fiona" / "coutwildrnp.shp"
    real = np.asarray(pyogrio.read_dataframe(data).geometry.values, dtype=object)
    ang = np.linspace(0, 2 * np.pi, 400)
    line = shapely.LineString(np.column_stack([-110 + 3 * ang / np.pi, 39 + 0.3 * np.sin(5 * ang)]))
    sites = np.concatenate([real, [line]])
    assert shapely.get_num_coordinates(sites).max() >= 400
    # small patches around every 7th vertex of each site: many across its edge
    xy, owner = shapely.get_coordinates(shapely.boundary(sites[:-1]), return_index=True)
    xy = np.concatenate([xy, shapely.get_coordinates(line)])
    pick = np.arange(0, len(xy), 7)
    rng = np.random.default_rng(5)
    d = rng.uniform(0.001, 0.01, len(pick))
    feats = shapely.box(xy[pick, 0] - d, xy[pick, 1] - d, xy[pick, 0] + d, xy[pick, 1] + d)
    s, f = shapely.STRtree(feats).query(sites)
    assert (shapely.get_num_coordinates(sites[s]) > pairs.CLIP_SITE_MIN_VERTICES).mean() > 0.9
    inside, hit, overlap, part_area = overlay_pairs(sites, feats, s, f, area=shapely.area, threads=1)
    cut = hit & ~inside
    assert cut.sum() > 500
    want = shapely.intersection(sites[s[cut]], feats[f[cut]])
    got = overlap[cut]
    assert np.allclose(part_area[cut], shapely.area(want), rtol=1e-9, atol=1e-15)
    assert np.allclose(shapely.length(got), shapely.length(want), rtol=1e-9, atol=1e-12)
    assert shapely.area(shapely.symmetric_difference(got, want)).max() < 1e-12
    assert (shapely.intersects(sites[s], feats[f]) == hit).all()  # no pair lost or gained
