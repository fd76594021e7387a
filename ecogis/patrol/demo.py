"""The inspector's loop on one sample city (``make demo`` step): clues → patrol → field results → ledger.

Everything is written under ``<out_dir>/patrol/``:

``workspace.gpkg``
    A copy of the city's sample workspace (the ledger is added to the copy;
    ``layers/sample`` is never changed).
``rasters/``
    The synthetic NDVI pair (before: WGS 84 / UTM 20 m, after: CGCS2000 GK
    10 m), generated at demo time, and ``truth.geojson``.
``clues.gpkg``, ``clues_eval.json``
    The tagged clues and their recall/precision against the truth.
``findings.json``
    Screening of the workspace's existing projects (the ``project`` layer).
``field/``
    The 3-day field package (route.gpx, route.kml, targets.geojson,
    checklist.xlsx/.csv/.html, patrol.html, patrol.json) and
    ``checklist_filled.csv``: the day-1 rows filled in as an inspector would.
``ledger_open.csv``
    The open ledger items after the results were read back.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pandas as pd

from ecogis.fileutil import atomic_path, write_text_atomic

CITY = "genhe"
#: 根河市 city centre, the base of the patrol.
START = (121.52, 50.78)


def simulate_results(checklist_csv: Path, out_csv: Path, *, day: int = 1, inspector: str = "张三",
                     date: dt.date | None = None) -> int:
    """Fill in the rows of ``day`` as an inspector would (results cycle through the four values)."""
    from ecogis.patrol.fieldpkg import CHECKLIST_COLUMNS

    h = dict(CHECKLIST_COLUMNS)
    df = pd.read_csv(checklist_csv, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    cycle = ["属实", "不属实", "整改中", "属实", "已销号"]
    remarks = {"属实": "现场确认新增扰动，已拍照取证", "不属实": "现场为正常林业作业，无违法情形",
               "整改中": "已责令停止施工，正在恢复植被", "已销号": "已完成整改复绿"}
    sel = df[h["day"]] == str(day)
    idx = df.index[sel]
    when = (date or dt.date.today()).isoformat()
    for k, i in enumerate(idx):
        res = cycle[k % len(cycle)]
        df.loc[i, h["result"]] = res
        df.loc[i, h["date"]] = when
        df.loc[i, h["inspector"]] = inspector
        df.loc[i, h["photo"]] = f"IMG_{k + 1:04d}"
        df.loc[i, h["remarks"]] = remarks[res]
    from ecogis.export.cells import write_csv

    write_csv(df, out_csv)
    return len(idx)


#: Towns of Genhe where a patrol can stay the night (approximate seats of the towns, for the demo only).
DEMO_LODGING = (("金河镇", 121.37, 51.33), ("阿龙山镇", 121.93, 51.55), ("满归镇", 122.07, 52.04),
                ("得耳布尔镇", 120.73, 50.45), ("敖鲁古雅乡", 121.45, 50.80))


def far_patrol(tg, ws, out: Path, *, roads=None, clues=None) -> dict:
    """A patrol whose base lies 150 km from the targets' centre, staying overnight in towns (4 days)."""
    import geopandas as gpd
    import numpy as np
    import shapely

    from ecogis.normalise.area import GEOD
    from ecogis.patrol.fieldpkg import context_layers, write_field_package
    from ecogis.patrol.route import plan_route

    xy = shapely.get_coordinates(shapely.point_on_surface(tg.targets.geometry.to_numpy()))
    cx, cy = float(np.median(xy[:, 0])), float(np.median(xy[:, 1]))
    blon, blat, _ = GEOD.fwd(cx, cy, 200.0, 150_000.0)
    lodging = gpd.GeoDataFrame({"name": [n for n, _, _ in DEMO_LODGING]},
                               geometry=shapely.points([x for _, x, _ in DEMO_LODGING],
                                                       [y for _, _, y in DEMO_LODGING]), crs=4490)
    write_text_atomic(out / "lodging.geojson", lodging.to_json(drop_id=True, ensure_ascii=False))
    plan = plan_route(tg.targets, (blon, blat), days=4, hours_per_day=9.0, speed_kmh=50.0, visit_minutes=30.0,
                      roads=roads, lodging=lodging)
    write_field_package(tg.targets, plan, out / "field_far", title="根河市巡查（基地距目标150千米，在外住宿，示例）",
                        clues=clues, unlocated=tg.unlocated, notes=[*tg.notes, *plan.notes],
                        context=context_layers(ws))
    return {"base": f"{blon:.3f},{blat:.3f}", "targets": len(tg.targets), "planned": len(plan.visited),
            "days": len(plan.days), "nights": [d.night for d in plan.days if d.night]}


def demo(out_dir: Path, sample_dir: Path) -> None:
    """Run the whole loop on the Genhe sample and write it under ``out_dir/patrol``."""
    import ecogis
    from ecogis.patrol.clues import detect_clues, evaluate, write_clues
    from ecogis.patrol.fieldpkg import context_layers, write_field_package
    from ecogis.patrol.ledger import ledger_status, update_ledger
    from ecogis.patrol.route import plan_route
    from ecogis.patrol.synth import build_pair
    from ecogis.patrol.targets import gather_targets
    from ecogis.render.report import write_json
    from ecogis.workspace import open_workspace

    import geopandas as gpd

    out = Path(out_dir) / "patrol"
    out.mkdir(parents=True, exist_ok=True)
    ws_path = out / "workspace.gpkg"
    with atomic_path(ws_path) as tmp:
        shutil.copy2(Path(sample_dir) / f"{CITY}.gpkg", tmp)
    ws = open_workspace(ws_path)
    print(f"patrol demo ({CITY}): workspace copied to {ws_path}")

    pair = build_pair(out / "rasters", city=CITY)
    res = detect_clues(pair.before, pair.after, ws)
    write_clues(res, out / "clues.gpkg")
    truth = gpd.read_file(pair.truth)
    ev = evaluate(res.clues, truth, min_area_ha=0.5)
    write_text_atomic(out / "clues_eval.json", json.dumps({**ev, "meta": res.meta}, ensure_ascii=False, indent=2,
                                                          default=str))
    print(f"  1. clues: {len(res.clues)} patches ≥ 0.5 ha from {pair.before.name}/{pair.after.name}; "
          f"recall {ev['recall']:.2f}, precision {ev['precision']:.2f} against {ev['truth']} known disturbances")
    for n in res.notes:
        print(f"     note {n}")

    findings = None
    if ws.has("project"):
        projects = ws.read("project")
        sr = ecogis.screen(projects, ws, progress=False)
        write_json(sr, out / "findings.json")
        findings = out / "findings.json"

    tg = gather_targets(ws, clues=out / "clues.gpkg", findings=findings)
    roads = ws.read("road") if ws.has("road") else None
    plan = plan_route(tg.targets, START, days=3, hours_per_day=8.0, speed_kmh=40.0, visit_minutes=30.0, roads=roads)
    write_field_package(tg.targets, plan, out / "field", title="根河市生态保护红线和自然保护地巡查（示例）",
                        clues=res.clues, unlocated=tg.unlocated, notes=[*tg.notes, *plan.notes],
                        context=context_layers(ws))
    n_def = len(plan.deferred) + len(tg.unlocated)
    print(f"  2. patrol: {len(tg.targets)} targets, {len(plan.visited)} planned in 3 days, "
          f"{plan.total_km:.1f} km, {n_def} deferred → {out / 'field'}")

    far = far_patrol(tg, ws, out, roads=roads, clues=res.clues)
    print(f"  2b. patrol from a base 150 km away ({far['base']}): {far['planned']} of {far['targets']} targets "
          f"planned in {far['days']} days, nights at {', '.join(far['nights']) or '-'} → {out / 'field_far'}")

    n = simulate_results(out / "field" / "checklist.csv", out / "field" / "checklist_filled.csv")
    upd = update_ledger(ws, out / "field" / "checklist_filled.csv")
    print(f"  3. field results: {n} day-1 rows filled in, {upd.added} recorded in the ledger")

    st = ledger_status(ws)
    openi = st[st["open"].astype(bool)].drop(columns="geometry")
    from ecogis.export.cells import write_csv

    write_csv(openi, out / "ledger_open.csv")
    print(f"  4. ledger: {len(openi)} open items of {len(st)} → {out / 'ledger_open.csv'}")
    for r in openi.itertuples(index=False):
        print(f"     {r.target_id:<10} {r.result:<4} {r.date} {r.inspector}  {r.remarks}")
