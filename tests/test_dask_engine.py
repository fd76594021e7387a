"""The Dask engine gives the single-machine engine's findings (LocalCluster, 2 workers)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

pytest.importorskip("dask.distributed", reason="the Dask engine needs dask[distributed] (pip install 'ecogis[dask]')")
pytest.importorskip("dask_geopandas", reason="the Dask engine needs dask-geopandas (pip install 'ecogis[dask]')")

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster

    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                           silence_logs=40)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def _sites(city: str, n_random: int, seed: int = 7) -> gpd.GeoDataFrame:
    """The sample city's sites plus random parcels over its extent (many overlapping the layers)."""
    base = gpd.read_file(SAMPLE / "sites" / f"{city}.geojson")
    ws = gpd.read_file(SAMPLE / f"{city}.gpkg", layer="admin")
    x0, y0, x1, y1 = ws.total_bounds
    rng = np.random.default_rng(seed)
    cx = rng.uniform(x0, x1, n_random)
    cy = rng.uniform(y0, y1, n_random)
    half = rng.uniform(0.001, 0.01, n_random)
    rnd = gpd.GeoDataFrame(
        {"site_id": [f"R{i}" for i in range(n_random)], "name": [f"随机地块{i}" for i in range(n_random)],
         "industry": base["industry"].iloc[0] if "industry" in base.columns else None},
        geometry=shapely.box(cx - half, cy - half, cx + half, cy + half), crs=4490)
    base = base.to_crs(4490)
    return gpd.GeoDataFrame(pd.concat([base, rnd], ignore_index=True), crs=4490)


def _same(a, b) -> None:
    cols = [c for c in a.findings.columns if c != "geometry"]
    key = ["site_id", "rule_id", "layer_kind", "feature_id"]
    fa = a.findings.sort_values(key, kind="stable").reset_index(drop=True)
    fb = b.findings.sort_values(key, kind="stable").reset_index(drop=True)
    assert len(fa) == len(fb) > 0
    pd.testing.assert_frame_equal(pd.DataFrame(fa[cols]), pd.DataFrame(fb[cols]))
    # distance findings' shortest lines are found in each partition's own Gauss-Krüger CRS: equal within ~1 cm
    tol = np.where(fa["distance_m"].notna().to_numpy(), 1e-7, 1e-9)
    assert shapely.equals_exact(fa.geometry.values, fb.geometry.values, tolerance=tol).all()
    scols = ["site_id", "verdict", "verdict_text", "provisional", "coverage", "covered_pct", "area_ha",
             "checked_layers", "not_evaluated", "incomplete_rules", "incomplete_layers"]
    pd.testing.assert_frame_equal(pd.DataFrame(a.sites[scols]), pd.DataFrame(b.sites[scols]))
    assert {k: (v["version"], v["sha256"], v["feature_count"]) for k, v in a.meta["layers"].items()} == \
        {k: (v["version"], v["sha256"], v["feature_count"]) for k, v in b.meta["layers"].items()}


def test_dask_equals_single_machine_on_sample_city(client):
    import ecogis
    from ecogis.screening.distributed import screen_dask

    from ecogis.notes import Notes
    from ecogis.rules import load_rules
    from ecogis.screening.engine import _local_for_workspace
    from ecogis.workspace import open_workspace

    sites = _sites("genhe", 200)
    ws = SAMPLE / "genhe.gpkg"
    rules = _local_for_workspace(load_rules(None), open_workspace(ws), Notes())
    single = ecogis.screen(sites, ws, rules, progress=False)
    dist = screen_dask(sites, ws, rules, client=client, npartitions=4)
    _same(single, dist)
    assert dist.meta["engine"]["partitions"] == 4 and dist.meta["engine"]["workers"] == 2
    # a real mix of outcomes (Genhe has no sand_closure layer, so no site there can be clear)
    assert set(single.sites["verdict"]) >= {"prohibited", "incomplete"} and single.sites["verdict"].nunique() >= 3
    # the partitions ran on both workers
    assert len(client.scheduler_info()["workers"]) == 2


def test_dask_with_site_files_keeps_inputs_and_order(client):
    import ecogis
    from ecogis.screening.distributed import screen_dask

    files = [SAMPLE / "sites" / "arxan.geojson"]
    single = ecogis.screen(files, SAMPLE / "arxan.gpkg", progress=False)
    dist = screen_dask(files, SAMPLE / "arxan.gpkg", client=client)
    _same(single, dist)
    assert dist.sites["site_id"].tolist() == single.sites["site_id"].tolist()
    assert dist.meta["inputs"] == single.meta["inputs"]


def test_hilbert_partitions_are_compact_and_complete():
    from ecogis.screening.distributed import partition_sites

    sites = _sites("xilinhot", 400)
    parts = partition_sites(sites, 4)
    assert sorted(np.concatenate([p.index.to_numpy() for p in parts]).tolist()) == list(range(len(sites)))
    assert max(len(p) for p in parts) - min(len(p) for p in parts) <= 1
    whole = shapely.area(shapely.box(*sites.total_bounds))
    # each part covers a small share of the whole extent: a Hilbert cut is spatially compact
    assert sum(shapely.area(shapely.box(*p.total_bounds)) for p in parts) < 1.5 * whole


def test_unreachable_scheduler_is_a_clear_error():
    from ecogis.errors import InputError
    from ecogis.screening.distributed import screen_dask

    with pytest.raises(InputError, match="tcp://127.0.0.1:1"):
        screen_dask(_sites("genhe", 3), SAMPLE / "genhe.gpkg", scheduler="tcp://127.0.0.1:1",
                    connect_timeout=1)


def test_dask_workers_read_a_postgis_workspace_at_the_pinned_versions(client):
    """Workers open the database themselves, at the versions the driver pinned."""
    import os
    import uuid

    import ecogis
    from ecogis.screening.distributed import screen_dask
    from ecogis.workspace import open_workspace

    url = os.environ.get("ECOGIS_TEST_PG", "")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("no PostgreSQL server: set ECOGIS_TEST_PG — required under CI=true")
        pytest.skip("no PostgreSQL server: set ECOGIS_TEST_PG=postgresql://... (eval \"$(scripts/ci_postgis.sh)\")")
    import psycopg

    schema = "t_" + uuid.uuid4().hex[:10]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    try:
        wurl = f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema},public"
        src = open_workspace(SAMPLE / "arxan.gpkg")
        ws = open_workspace(wurl, create=True)
        for li in src.layers():
            ws.write(li.kind, src.read(li.kind), source=li.source, version=li.version, sha256=li.sha256, replace=True)
        from ecogis.notes import Notes
        from ecogis.rules import load_rules
        from ecogis.screening.engine import _local_for_workspace

        rules = _local_for_workspace(load_rules(None), src, Notes())
        sites = SAMPLE / "sites" / "arxan.geojson"
        single = ecogis.screen(sites, src, rules, progress=False)
        pinned = open_workspace(wurl)
        pinned.layers()
        # an import after pinning must not reach the workers
        ws.write("redline", src.read("redline").iloc[:1], source="x", version="later", replace=True)
        dist = screen_dask(sites, pinned, rules, client=client, npartitions=3)
        _same(single, dist)
        assert dist.meta["layers"]["redline"]["version"] == src.info("redline").version
    finally:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")
