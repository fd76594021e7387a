"""``ecogis clues``, ``ecogis patrol``, ``ecogis ledger update|list``: the inspector's loop."""

from __future__ import annotations

import argparse
import json

from ecogis.cli.args import float_in, int_in


def _print_notes(notes) -> None:
    for n in notes:
        print(f"  note {n}")


def _cmd_clues(a: argparse.Namespace) -> int:
    from ecogis.patrol.clues import detect_clues, write_clues

    r = detect_clues(a.before, a.after, a.workspace, index=a.index, threshold=a.threshold,
                     min_area_ha=a.min_area_ha, block=a.block, max_after=a.max_after)
    write_clues(r, a.out)  # before the notes are printed: a Shapefile adds its renames to them
    c = r.clues
    inside = int(c["in_redline"].sum()) if len(c) else 0
    print(f"{len(c)} clues ≥ {a.min_area_ha} ha ({inside} in the red line), {c['area_ha'].sum():.2f} ha in all")
    for row in c.head(10).itertuples(index=False):
        where = row.pa_zone and f"{row.protected_area}{row.pa_zone}" or (row.redline and "红线") or "-"
        print(f"  {row.clue_id}  {row.area_ha:8.2f} ha  priority {row.priority:5.1f}  {where}")
    if len(c) > 10:
        print(f"  … {len(c) - 10} more")
    _print_notes(r.notes)
    print(f"wrote {a.out}")
    return 0


def _cmd_patrol(a: argparse.Namespace) -> int:
    from pathlib import Path

    from ecogis.patrol.fieldpkg import write_field_package
    from ecogis.patrol.route import parse_start, plan_route
    from ecogis.patrol.targets import gather_targets
    from ecogis.workspace import open_workspace

    start = parse_start(a.start)
    ws = open_workspace(a.workspace)
    tg = gather_targets(ws, clues=a.clues, ledger=a.ledger, findings=a.findings, mine_within_m=a.mine_within_m)
    roads = ws.read("road") if (ws.has("road") and not a.no_roads) else None
    from ecogis.patrol.route import read_lodging, workspace_lodging

    lodging = read_lodging(a.lodging) if a.lodging else (None if a.no_overnight else workspace_lodging(ws))
    plan = plan_route(tg.targets, start, days=a.days, hours_per_day=a.hours_per_day, speed_kmh=a.speed_kmh,
                      visit_minutes=a.visit_minutes, roads=roads, detour=a.detour, lodging=lodging)
    clues = None
    if a.clues:
        import pyogrio

        clues = pyogrio.read_dataframe(a.clues)
    notes = [*tg.notes, *plan.notes]
    from ecogis.patrol.fieldpkg import context_layers

    paths = write_field_package(tg.targets, plan, a.out, title=a.title, clues=clues, unlocated=tg.unlocated,
                                basemap=a.basemap, notes=notes, context=context_layers(ws))
    print(f"{len(tg.targets)} targets; {sum(len(d.stops) for d in plan.days)} planned over {len(plan.days)} days, "
          f"{plan.total_km:.1f} km ({plan.method})")
    for d in plan.days:
        night = f"  night at {d.night}" if d.night else ""
        print(f"  day {d.day}: {len(d.stops):>3} stops  {d.distance_km:7.1f} km  {d.hours:4.1f} h{night}")
    n_def = len(plan.deferred) + len(tg.unlocated)
    if n_def:
        print(f"  deferred: {n_def} (see checklist.xlsx sheet 'deferred' and patrol.json)")
        for r in plan.deferred.itertuples(index=False):
            print(f"    {r.target_id}: {r.reason}")
        for r in tg.unlocated.itertuples(index=False):
            print(f"    {r.target_id}: {r.reason}")
    _print_notes(notes)
    for p in paths:
        print(f"wrote {Path(p)}")
    return 0


def _cmd_ledger_update(a: argparse.Namespace) -> int:
    from ecogis.patrol.ledger import update_ledger

    upd = update_ledger(a.workspace, a.results)
    print(f"recorded {upd.added} results in the ledger of {a.workspace}")
    _print_notes(upd.notes)
    return 0


def _cmd_ledger_list(a: argparse.Namespace) -> int:
    from ecogis.patrol.ledger import ledger_status
    from ecogis.workspace import open_workspace

    ws = open_workspace(a.workspace)
    if a.history:
        df = ws.ledger().drop(columns="geometry")
    else:
        st = ledger_status(ws)
        df = st if a.all else st[st["open"].astype(bool)]
        df = df.drop(columns="geometry")
    if a.json:
        print(json.dumps(df.astype(object).where(df.notna(), None).to_dict("records"), ensure_ascii=False, indent=2,
                         default=str))
        return 0
    if len(df) == 0:
        print("no open ledger items" if not (a.all or a.history) else "the ledger is empty")
        return 0
    if a.history:
        for r in df.itertuples(index=False):
            print(f"{r.entry_id:>5}  {r.target_id:<12} {r.result:<4} {r.date}  {r.inspector:<8} {r.remarks or ''}")
        return 0
    print(f"{'target':<12} {'result':<5} {'date':<10}  {'inspector':<8} entries  name / remarks")
    for r in df.itertuples(index=False):
        print(f"{r.target_id:<12} {r.result:<5} {r.date:<10}  {r.inspector:<8} {r.entries:>7}  "
              f"{(r.name or '')[:30]} {('— ' + r.remarks) if r.remarks else ''}")
    return 0


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``clues``, ``patrol`` and ``ledger`` to the ``ecogis`` command."""
    c = sub.add_parser("clues", help="vegetation-loss clues from two rasters (NDVI or land-cover classes)")
    c.add_argument("--before", required=True, help="raster of the earlier date")
    c.add_argument("--after", required=True, help="raster of the later date")
    c.add_argument("--workspace", required=True, help="workspace to tag the clues against")
    c.add_argument("--out", required=True, help="clues file (.gpkg or .geojson)")
    c.add_argument("--index", choices=["ndvi", "class"], default="ndvi")
    c.add_argument("--threshold", type=float_in(0, 2, lo_open=True), help="NDVI drop counted as loss (default 0.25)")
    c.add_argument("--max-after", type=float_in(-1, 1), default=0.3,
                   help="highest after NDVI counted as loss (bare or built; default 0.3)")
    c.add_argument("--min-area-ha", type=float_in(0), default=0.5, help="smallest patch kept, in 公顷 (default 0.5)")
    c.add_argument("--block", type=int_in(16, 65536), default=2048,
                   help="processing tile size in pixels, 16 to 65536 (default 2048)")
    c.set_defaults(func=_cmd_clues)

    p = sub.add_parser("patrol", help="plan a patrol: targets, day routes, GPX/KML, checklists, offline map")
    p.add_argument("--workspace", required=True)
    p.add_argument("--clues", help="clues file from ecogis clues")
    p.add_argument("--ledger", help="an external ledger file (.gpkg, .csv with lon/lat …) of open items")
    p.add_argument("--findings", help="findings.json of ecogis screen, for existing projects")
    p.add_argument("--start", required=True, help="start (base) as LON,LAT in CGCS2000 degrees")
    p.add_argument("--days", type=int_in(1, 366), default=3)
    p.add_argument("--hours-per-day", type=float_in(0, 24, lo_open=True), default=8.0)
    p.add_argument("--speed-kmh", type=float_in(0, 300, lo_open=True), default=40.0)
    p.add_argument("--visit-minutes", type=float_in(0, 24 * 60), default=30.0)
    p.add_argument("--detour", type=float_in(1, 10), default=1.3, help="straight-line detour factor (default 1.3)")
    p.add_argument("--mine-within-m", type=float_in(0, 1_000_000), default=1000.0,
                   help="mines within this distance of a protected area or the red line become targets")
    p.add_argument("--no-roads", action="store_true", help="ignore the workspace road layer")
    p.add_argument("--lodging", help="places to stay overnight (points or polygons with a name: towns, "
                                     "guest houses); default: the workspace's 乡级 admin units (towns), if any")
    p.add_argument("--no-overnight", action="store_true", help="day trips only: every day ends at the base")
    p.add_argument("--basemap", default="none", help="none (default, fully offline), osm, tianditu, amap …")
    p.add_argument("--title", default="生态环境监管巡查路线")
    p.add_argument("--out", required=True, help="output folder")
    p.set_defaults(func=_cmd_patrol)

    led = sub.add_parser("ledger", help="the inspection ledger (台账)")
    lsub = led.add_subparsers(dest="ledger_command", metavar="SUBCOMMAND")
    u = lsub.add_parser("update", help="read a filled-in checklist back into the ledger")
    u.add_argument("--workspace", required=True)
    u.add_argument("--results", required=True, help="checklist.xlsx or checklist.csv with results filled in")
    u.set_defaults(func=_cmd_ledger_update)
    ls = lsub.add_parser("list", help="show the open ledger items")
    ls.add_argument("--workspace", required=True)
    ls.add_argument("--all", action="store_true", help="every target's latest status, closed ones too")
    ls.add_argument("--history", action="store_true", help="every entry, oldest first")
    ls.add_argument("--json", action="store_true")
    ls.set_defaults(func=_cmd_ledger_list)
    led.set_defaults(func=lambda a: (led.print_help(), 2)[1])
