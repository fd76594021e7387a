"""The ``ecogis`` command line: a thin layer over the Python API.

Bad input ends with the message on stderr and exit status 2, never a
traceback.  ``--debug`` shows tracebacks for bug reports.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Sequence

from ecogis import __version__
from ecogis.errors import EcogisError
from ecogis.notes import Notes


def _print_notes(notes: Notes, stream=None) -> None:
    stream = stream or sys.stderr
    for n in notes:
        print(f"  note {n}", file=stream)


# ---------------------------------------------------------------------------- layers
def _cmd_layers_import(a: argparse.Namespace) -> int:
    from ecogis.layers import import_layer

    info, notes = import_layer(
        a.file, a.kind, a.workspace, version=a.version, crs=a.crs, layer=a.layer,
        encoding=a.encoding, replace=a.replace,
    )
    from ecogis.workspace import printable_uri

    verb = "replaced" if info.mode == "replace" else "appended to"
    print(f"{verb} {info.kind} in {printable_uri(a.workspace)}: {info.feature_count} features, version {info.version}")
    _print_notes(notes, sys.stdout)
    return 0


def _cmd_layers_list(a: argparse.Namespace) -> int:
    from ecogis.workspace import open_workspace

    ws = open_workspace(a.workspace)
    infos = ws.layers()
    if a.json:
        print(json.dumps([i.as_dict() for i in infos], ensure_ascii=False, indent=2))
        return 0
    if not infos:
        from ecogis.workspace import printable_uri

        print(f"{printable_uri(a.workspace)}: no layers")
        return 0
    from ecogis.normalise.schema import schemas

    names = schemas()
    print(f"{'kind':<16} {'名称':<12} {'features':>8}  {'version':<16} {'imported (UTC)':<26} repairs  source")
    for i in infos:
        title = names[i.kind].title_zh if i.kind in names else ""
        repairs = sum(len(r.get("ids", [])) or 1 for r in i.repairs)
        print(f"{i.kind:<16} {title:<12} {i.feature_count:>8}  {i.version:<16} {i.imported_at:<26} {repairs:>7}  {i.source}")
    return 0


def _cmd_layers_validate(a: argparse.Namespace) -> int:
    from ecogis.layers import validate_layer

    rep = validate_layer(a.file, a.kind, crs=a.crs, layer=a.layer, encoding=a.encoding)
    for fid, msg in rep.record_problems:
        print(f"{a.file}, feature {fid}: {msg}", file=sys.stderr)
    status = "valid" if rep.ok else f"{len(rep.record_problems)} records with problems"
    print(f"{a.file}: {status}; {rep.features} features would import as {a.kind}")
    _print_notes(rep.notes, sys.stdout)
    return 0 if rep.ok else 2


def _cmd_convert(a: argparse.Namespace) -> int:
    from ecogis.layers import convert

    extra = {}
    if a.zone is not None:
        extra["zone"] = a.zone
    out, notes = convert(a.input, a.output, to_crs=a.to_crs, shift=a.shift, crs=a.crs, layer=a.layer,
                         encoding=a.encoding, **extra)
    print(f"wrote {out}")
    _print_notes(notes, sys.stdout)
    return 0


def _cmd_screen(a: argparse.Namespace) -> int:
    import ecogis
    from ecogis.render.outputs import write_outputs
    from ecogis.screening.engine import SEVERITY_RANK, SEVERITY_TEXT

    overrides = {
        "industry": a.industry, "nature": a.nature, "name": a.name, "linear": a.linear,
        "national_major": a.national_major, "unavoidable": a.unavoidable, "activity": a.activity,
    }
    rules = [p for group in (a.rules or []) for p in group] or None
    if a.engine == "dask":
        from ecogis.screening.distributed import screen_dask

        result = screen_dask(a.sites, a.workspace, rules, scheduler=a.scheduler, workers=a.workers,
                             overrides=overrides, crs=a.crs, lang=a.lang, area_method=a.area_method)
    else:
        result = ecogis.screen(a.sites, a.workspace, rules, overrides=overrides, crs=a.crs, lang=a.lang,
                               progress=not a.quiet, area_method=a.area_method, threads=a.threads)
    written = write_outputs(result, a.out, formats=a.format.split(","), lang=a.lang)
    for _, row in result.verdicts.iterrows():
        text = SEVERITY_TEXT[row["verdict"]][a.lang]
        n = int((result.findings["site_id"] == row["site_id"]).sum()) if len(result.findings) else 0
        print(f"{row['site_id']:<14} {str(row['name'])[:28]:<28} {text:<10} {n:>3} findings  {row['area_ha']:.4f} ha")
    if len(result.not_evaluated):
        print(f"not evaluated (layer missing): {', '.join(result.not_evaluated['rule_id'])}")
    for p in written:
        print(f"wrote {p}")
    if a.fail_on:
        worst = max(SEVERITY_RANK[v] for v in result.sites["verdict"])
        if worst >= SEVERITY_RANK[a.fail_on]:
            return 1
    return 0


def _cmd_demo(a: argparse.Namespace) -> int:
    from ecogis.demo import run_demo

    run_demo(out_dir=a.out, sample_dir=a.sample_dir)
    return 0


# ---------------------------------------------------------------------------- parser
#: Modules under ecogis/cli/ that add their own subcommands through ``register(subparsers)``.
COMMAND_MODULES: tuple[str, ...] = ("map", "patrol", "accesslist")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ecogis",
        description="Ecological spatial planning for China: layers in CGCS2000, 国土TXT, screening, maps, patrols.",
    )
    p.add_argument("--version", action="version", version=f"ecogis {__version__}")
    p.add_argument("--debug", action="store_true", help="show Python tracebacks")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    layers = sub.add_parser("layers", help="import, list and validate layers")
    lsub = layers.add_subparsers(dest="layers_command", metavar="SUBCOMMAND")

    def common_read(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--crs", help="CRS for files that carry none, e.g. EPSG:4490 or EPSG:4527")
        sp.add_argument("--layer", help="layer to read from a multi-layer file")
        sp.add_argument("--encoding", help="override the detected text encoding (e.g. gbk)")

    imp = lsub.add_parser("import", help="import a file into a workspace as one layer kind")
    imp.add_argument("file")
    imp.add_argument("--kind", required=True, help="layer kind, e.g. redline, protected_area, control_unit")
    imp.add_argument("--workspace", required=True, help="workspace GeoPackage (created if missing)")
    imp.add_argument("--version", dest="version", help="data version or date recorded with the layer")
    imp.add_argument("--replace", action="store_true", help="replace the layer instead of appending")
    common_read(imp)
    imp.set_defaults(func=_cmd_layers_import)

    ls = lsub.add_parser("list", help="list a workspace's layers and versions")
    ls.add_argument("--workspace", required=True)
    ls.add_argument("--json", action="store_true", help="print JSON")
    ls.set_defaults(func=_cmd_layers_list)

    val = lsub.add_parser("validate", help="check a file against a layer kind without importing it")
    val.add_argument("file")
    val.add_argument("--kind", required=True)
    common_read(val)
    val.set_defaults(func=_cmd_layers_validate)

    conv = sub.add_parser("convert", help="convert between formats (by extension), re-project, shift datum")
    conv.add_argument("input")
    conv.add_argument("output")
    conv.add_argument("--to-crs", help="output CRS, e.g. EPSG:4527")
    conv.add_argument(
        "--shift",
        choices=["gcj02:wgs84", "wgs84:gcj02", "bd09:wgs84", "wgs84:bd09", "gcj02:bd09", "bd09:gcj02"],
        help="datum offset to apply to lon/lat",
    )
    conv.add_argument("--zone", type=int, help="Gauss-Krüger zone for 国土TXT output")
    common_read(conv)
    conv.set_defaults(func=_cmd_convert)

    scr = sub.add_parser("screen", help="screen project sites against a workspace under the rules")
    scr.add_argument("sites", nargs="+", metavar="SITE_FILE", help="site files (国土TXT, shp, gpkg, geojson, kml, csv …)")
    scr.add_argument("--workspace", required=True)
    scr.add_argument("--rules", action="append", nargs="+", metavar="DIR",
                     help="rule files or folders (default: the bundled national and local rules)")
    scr.add_argument("--industry", help="GB/T 4754-2017 industry code, e.g. B0610")
    scr.add_argument("--nature", choices=["新建", "改建", "扩建"])
    scr.add_argument("--name", help="project name")
    scr.add_argument("--linear", action="store_true", default=None, help="linear project (road, pipeline, power line)")
    scr.add_argument("--national-major", action="store_true", default=None, help="national major project")
    scr.add_argument("--unavoidable", action="store_true", default=None, help="cannot avoid the zone (不可避让)")
    scr.add_argument("--activity", help="allowed-activity tags, ';'-separated (see rules/activities.yaml)")
    scr.add_argument("--crs", help="CRS for site files that carry none")
    scr.add_argument("--out", required=True, help="output folder")
    scr.add_argument("--format", default="html,json,xlsx,gpkg", help="comma-separated: html,json,xlsx,gpkg")
    scr.add_argument("--lang", choices=["zh", "en"], default="zh")
    scr.add_argument("--fail-on", choices=["prohibited", "restricted", "review"],
                     help="exit 1 when any site's verdict is at least this severe")
    scr.add_argument("--quiet", action="store_true", help="no progress bar")
    scr.add_argument("--area-method", choices=["geodesic", "equal_area"], default="geodesic",
                     help="geodesic (default, Karney on the CGCS2000 ellipsoid) or equal_area (vectorised, "
                          "within 1e-5 of it; for province-scale runs)")
    scr.add_argument("--threads", type=int, help="threads for the overlaps (default: ECOGIS_THREADS or every core)")
    scr.add_argument("--engine", choices=["local", "dask"], default="local",
                     help="local (default) or dask: partition the sites spatially and screen in parallel")
    scr.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    scr.add_argument("--workers", type=int, default=2, help="workers of the local Dask cluster (default 2)")
    scr.set_defaults(func=_cmd_screen)

    for name in COMMAND_MODULES:
        import importlib

        importlib.import_module(f"ecogis.cli.{name}").register(sub)

    demo = sub.add_parser("demo", help="run the main job on the bundled sample data")
    demo.add_argument("--out", default="out", help="output folder (default: out)")
    demo.add_argument("--sample-dir", help="folder with the sample workspaces (default: layers/sample)")
    demo.set_defaults(func=_cmd_demo)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ecogis`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        if args.command == "layers":
            parser.parse_args(["layers", "--help"])
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except EcogisError as exc:
        if args.debug:
            raise
        print(f"ecogis: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ecogis: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug, not bad input
        if args.debug:
            raise
        print(
            f"ecogis: internal error ({type(exc).__name__}: {exc}); this is a bug — rerun with --debug and report it",
            file=sys.stderr,
        )
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
