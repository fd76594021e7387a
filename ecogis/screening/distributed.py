"""Screening on a Dask cluster: the same findings, in parallel.

:func:`screen_dask` loads the sites once, orders them along a Hilbert curve
(``dask_geopandas`` ``hilbert_distance`` of the site centroids over the
sites' total bounds), cuts that order into spatially compact partitions and
runs the single-machine engine (:func:`ecogis.screen`) on each partition on
the cluster's workers.  Each worker reads only the features near its
partition (the engine reads each layer within the partition's bounding box).
The partial results are concatenated, sorted the engine's way and the
verdicts recomputed from all findings, so the outputs are those of
:func:`ecogis.screen` on the whole input.

Workers open the workspace themselves: a GeoPackage path every worker can
read (a shared file system), or a PostGIS URL.  A PostGIS workspace travels
with the versions the driver pinned, so every partition reads the same
version of every layer even if someone imports meanwhile.
"""

from __future__ import annotations

import math
import os
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from ecogis.errors import InputError
from ecogis.normalise.area import DEFAULT_AREA_METHOD
from ecogis.notes import Notes


def hilbert_order(geoms: gpd.GeoSeries, level: int = 16) -> np.ndarray:
    """Indices that sort ``geoms`` along a Hilbert curve over their total bounds."""
    import dask_geopandas

    if len(geoms) == 0:
        return np.zeros(0, dtype=int)
    frame = gpd.GeoDataFrame(geometry=gpd.GeoSeries(geoms.values, crs=geoms.crs))
    dist = dask_geopandas.from_geopandas(frame, npartitions=1).hilbert_distance(
        total_bounds=tuple(frame.total_bounds), level=level
    ).compute(scheduler="sync")
    return np.argsort(np.asarray(dist), kind="stable")


def partition_sites(sites: gpd.GeoDataFrame, npartitions: int) -> list[gpd.GeoDataFrame]:
    """Spatially compact, nearly equal parts of ``sites`` (Hilbert order, cut into ``npartitions``)."""
    n = max(1, min(int(npartitions), len(sites)))
    order = hilbert_order(sites.geometry)
    return [sites.iloc[np.sort(chunk)] for chunk in np.array_split(order, n) if len(chunk)]


def _screen_part(part: gpd.GeoDataFrame, workspace: Any, ruleset: Any, kwargs: dict[str, Any]):
    """Run on a worker: the single-machine engine on one partition."""
    import ecogis

    kwargs = dict(kwargs)
    kwargs["progress"] = False
    kwargs.setdefault("threads", 1)  # the cluster's workers and threads are the parallelism
    return ecogis.screen(part, workspace, ruleset, **kwargs)


def _client(scheduler: str | None, workers: int, threads_per_worker: int, connect_timeout: float = 10.0):
    """A Dask client on ``scheduler`` or on a new local cluster (closed by the caller)."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:  # pragma: no cover - depends on the install
        raise InputError("the Dask engine needs dask[distributed] and dask-geopandas",
                         hint="pip install 'ecogis[dask]'") from None
    if scheduler:
        try:
            return Client(scheduler, timeout=f"{connect_timeout}s"), None
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler {scheduler}: {exc}",
                             hint="start one with dask scheduler; workers with dask worker tcp://HOST:8786") from None
    cluster = LocalCluster(n_workers=max(1, int(workers)), threads_per_worker=threads_per_worker,
                           processes=True, dashboard_address=None, silence_logs=40)
    return Client(cluster), cluster


def screen_dask(
    sites: gpd.GeoDataFrame | str | os.PathLike | Sequence[str | os.PathLike],
    workspace: Any,
    rules: Any = None,
    *,
    scheduler: str | None = None,
    workers: int = 2,
    npartitions: int | None = None,
    threads_per_worker: int = 1,
    client: Any = None,
    connect_timeout: float = 10.0,
    overrides: dict[str, Any] | None = None,
    crs: Any = None,
    lang: str | None = None,
    area_method: str = DEFAULT_AREA_METHOD,
    as_of: Any = None,
):
    """Screen sites like :func:`ecogis.screen`, partitioned over a Dask cluster (``as_of``: the rules' date).

    Parameters
    ----------
    sites, workspace, rules, overrides, crs, lang, area_method:
        As for :func:`ecogis.screen`.  ``workspace`` must be reachable from
        every worker: a GeoPackage on a shared path or a ``postgresql://`` URL.
    scheduler:
        Address of an existing cluster's scheduler (``tcp://HOST:8786``).
        Without it a local cluster of ``workers`` processes is started and
        stopped again.
    workers:
        Worker processes of the local cluster.
    npartitions:
        Number of site partitions (default: 4 per worker, at least one per
        5,000 sites).
    client:
        An existing ``dask.distributed.Client`` to use (overrides ``scheduler``).
    connect_timeout:
        Seconds to wait for ``scheduler``.

    Returns
    -------
    ScreenResult
        The same sites, findings, not-evaluated rules and metadata as the
        single-machine engine, with ``meta["engine"]`` describing the run.
    """
    from ecogis.screening.engine import EXTRA_FINDING_COLUMNS, _verdicts, resolve_inputs
    from ecogis.screening.result import FINDING_COLUMNS, ScreenResult, combine_context
    from ecogis.screening.verdict import provisional_sites, verdict_texts
    from ecogis.settings import settings
    from ecogis.vocab import VERDICT_RANK

    lang = lang or settings.lang
    notes = Notes()
    site_gdf, inputs, ws, ruleset = resolve_inputs(sites, workspace, rules, overrides=overrides, crs=crs, notes=notes,
                                                   as_of=as_of)
    if len(site_gdf) == 0:
        raise InputError("no sites to screen")
    ws.layers()  # pin the versions (PostGIS) before the workspace travels to the workers
    # the sites are prepared once here; workers must not rename them
    kwargs = {"lang": lang, "area_method": area_method}

    own_client, cluster = (client, None) if client is not None else _client(
        scheduler, workers, threads_per_worker, connect_timeout)
    try:
        nworkers = max(1, len(own_client.scheduler_info(n_workers=-1).get("workers", {})) or workers)
        nparts = npartitions or max(4 * nworkers, math.ceil(len(site_gdf) / 5000))
        parts = partition_sites(site_gdf, nparts)
        ws_f = own_client.scatter(ws, broadcast=True)
        rules_f = own_client.scatter(ruleset, broadcast=True)
        futures = [own_client.submit(_screen_part, p, ws_f, rules_f, kwargs, pure=False) for p in parts]
        results = own_client.gather(futures)
    finally:
        if client is None:
            own_client.close()
            if cluster is not None:
                cluster.close()

    # ---- combine: sites back in input order, findings sorted the engine's way, verdicts recomputed
    out_sites = pd.concat([r.sites for r in results])
    pos = pd.Series(np.arange(len(site_gdf)), index=site_gdf["site_id"].to_numpy())
    out_sites = gpd.GeoDataFrame(
        out_sites.iloc[np.argsort(pos[out_sites["site_id"].to_numpy()].to_numpy(), kind="stable")]
        .reset_index(drop=True), geometry=site_gdf.geometry.name, crs=4490)
    frames = [r.findings for r in results if len(r.findings)]
    if frames:
        df = pd.concat(frames, ignore_index=True)
        rank = df["severity"].map(VERDICT_RANK)
        df = df.assign(_rank=-rank).sort_values(
            ["site_id", "_rank", "rule_id", "feature_name", "feature_id"], kind="stable"
        ).drop(columns=["_rank"]).reset_index(drop=True)
        findings = gpd.GeoDataFrame(df[FINDING_COLUMNS + EXTRA_FINDING_COLUMNS + ["geometry"]], geometry="geometry",
                                    crs=4490)
    else:
        findings = results[0].findings
    # the same verdict as the single-machine engine: from the findings (fact / provisional / conditional) and the
    # per-site columns of what could not be evaluated, which each partition computed for its own sites
    out_sites["verdict"] = _verdicts(findings, out_sites)
    prov, no_ind = provisional_sites(out_sites, findings)
    out_sites["verdict_text"] = verdict_texts(out_sites["verdict"].to_numpy(), prov, lang, no_industry=no_ind)
    not_eval = results[0].not_evaluated
    meta = dict(results[0].meta)
    layers_used: dict[str, Any] = {}
    for r in results:
        layers_used.update(r.meta.get("layers", {}))
    meta["layers"] = {k: layers_used[k] for k in sorted(layers_used, key=list(layers_used).index)}
    meta["inputs"] = inputs
    meta["rule_files"] = results[0].meta.get("rule_files", [])
    meta["engine"] = {"name": "dask", "partitions": len(parts), "workers": nworkers,
                      "scheduler": scheduler or "local", "partitioning": "Hilbert curve of site centroids"}
    seen = {(n.code, n.message) for n in notes}
    for r in results:
        for n in r.notes:
            if (n.code, n.message) not in seen:
                seen.add((n.code, n.message))
                notes.add(n.code, n.message, getattr(n, "ids", ()))
    out = ScreenResult(sites=out_sites, findings=findings, not_evaluated=not_eval, meta=meta, notes=notes,
                       context=combine_context(r.context for r in results))
    tables = [r.accesslist for r in results if getattr(r, "accesslist", None) is not None]  # 准入清单对照 (issue 15)
    if tables:
        out.accesslist = pd.concat(tables, ignore_index=True)
    return out
