"""The Dask engine keeps the access-list table and its verdicts."""

from __future__ import annotations

import pytest

pytest.importorskip("dask.distributed", reason="the Dask engine needs dask[distributed]")
pytest.importorskip("dask_geopandas", reason="the Dask engine needs dask-geopandas")


def test_dask_keeps_access_table(tmp_path):
    from dask.distributed import Client, LocalCluster

    import ecogis
    from ecogis.accesslist.samples import with_sample_lists
    from ecogis.screening.distributed import screen_dask
    from ecogis.settings import settings

    ws = with_sample_lists("genhe", settings.sample_dir, tmp_path)
    sites = settings.sample_dir / "sites" / "genhe.geojson"
    single = ecogis.screen(sites, ws, progress=False)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None, silence_logs=40) as cluster, Client(cluster) as client:
        dist = screen_dask(sites, ws, client=client, npartitions=3)
    assert len(dist.accesslist) == len(single.accesslist) > 0
    key = ["site_id", "item_id", "unit_code"]
    a = single.accesslist.sort_values(key).reset_index(drop=True)
    b = dist.accesslist.sort_values(key).reset_index(drop=True)
    assert list(a["result"]) == list(b["result"])
    assert list(single.sites.sort_values("site_id")["verdict"]) == list(dist.sites.sort_values("site_id")["verdict"])
