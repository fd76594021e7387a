"""The ``ecogis`` command line: a thin layer over the Python API.

Exit statuses: 0 success; 1 only when ``screen --fail-on`` is met; 2 bad
input or arguments (the message names the file, path or option); 3 an
internal error (a bug: rerun with ``--debug`` for the traceback).  Bad input
never ends in a traceback.  See :mod:`ecogis.cli.args`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
from typing import NoReturn, Sequence

from ecogis import __version__
from ecogis.cli.args import EXIT_BAD_INPUT, EXIT_INTERNAL, check_out_dir, check_out_file, int_in
from ecogis.errors import EcogisError
from ecogis.notes import Notes


def _print_notes(notes: Notes, stream=None, limit: int | None = None) -> None:
    """Print the notes, at most ``limit`` of them (the rest are counted; all are in the written outputs)."""
    stream = stream or sys.stderr
    shown = list(notes) if limit is None else list(notes)[:limit]
    for n in shown:
        print(f"  note {n}", file=stream)
    if len(notes) > len(shown):
        print(f"  … {len(notes) - len(shown)} more notes (all are in findings.json)", file=stream)


# ---------------------------------------------------------------------------- layers
def _cmd_layers_import(a: argparse.Namespace) -> int:
    from ecogis.layers import import_layer

    info, notes = import_layer(
        a.file, a.kind, a.workspace, version=a.version, crs=a.crs, layer=a.layer,
        encoding=a.encoding, replace=a.replace, coverage=a.coverage,
    )
    from ecogis.workspace import printable_uri

    verb = "replaced" if info.mode == "replace" else "appended to"
    print(f"{verb} {info.kind} in {printable_uri(a.workspace)}: {info.feature_count} features, version {info.version}")
    _print_notes(notes, sys.stdout)
    return 0


def _cmd_layers_declare_empty(a: argparse.Namespace) -> int:
    from ecogis.layers import declare_empty
    from ecogis.workspace import printable_uri

    info, notes = declare_empty(a.kind, a.workspace, coverage=a.coverage, version=a.version, crs=a.crs)
    print(f"recorded {info.kind} in {printable_uri(a.workspace)} as holding no features within: {info.coverage_basis}")
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


#: Above this many sites ``ecogis screen`` prints a summary instead of one line per site (``--verbose``: every site).
SUMMARY_ABOVE = 50
#: Sites listed in the summary.
WORST_SITES = 20


def _site_lines(table, lang: str) -> list[str]:
    """One line per site of ``table`` (``site_id``, ``name``, ``verdict``, ``n_findings``, ``area_ha``), column-wise."""
    from ecogis.vocab import labels

    text = table["verdict"].map(labels(lang)).fillna(table["verdict"]).astype(str)
    name = table["name"].fillna("").astype(str).str.slice(0, 28) if "name" in table.columns else ""
    n = table["n_findings"].astype(int).astype(str).str.rjust(3)
    area = table["area_ha"].astype(float).map("{:.4f}".format)
    sid = table["site_id"].astype(str).str.ljust(14)
    lines = sid + " " + name.str.ljust(28) + " " + text.str.ljust(10) + " " + n + " findings  " + area + " ha"
    return lines.tolist()


def screen_summary(result, lang: str = "zh", *, verbose: bool = False) -> list[str]:
    """What ``ecogis screen`` prints: every site up to :data:`SUMMARY_ABOVE` sites (or with ``verbose``),
    else counts by verdict and by rule and the :data:`WORST_SITES` worst sites.  Counts come from
    ``value_counts``/``groupby`` on the tables, never a scan per site."""
    from ecogis.vocab import Verdict

    if verbose or len(result.sites) <= SUMMARY_ABOVE:
        return _site_lines(result.verdicts.assign(n_findings=result.n_findings().to_numpy()), lang)
    sites = result.sites
    c = result.counts()
    zh = lang == "zh"
    out = [f"{len(sites):,} 个地块，{len(result.findings):,} 条冲突" if zh else
           f"{len(sites):,} sites, {len(result.findings):,} findings"]
    out.append("按结论：" if zh else "by verdict:")
    for v, n in c["by_verdict"].items():
        if n:
            out.append(f"  {Verdict(v).text(lang):<12} {int(n):>8,}")
    by_rule = c["by_rule"]
    if len(by_rule):
        out.append("按规则（前20条）：" if zh else "by rule (top 20):")
        for rid, row in by_rule.head(20).iterrows():
            out.append(f"  {str(rid):<24} {int(row['findings']):>8,} findings {int(row['sites']):>8,} sites  "
                       f"{str(row['rule_title'])[:40]}")
        if len(by_rule) > 20:
            out.append(f"  … {len(by_rule) - 20} more rules" if not zh else f"  … 另有 {len(by_rule) - 20} 条规则")
    out.append(f"最严重的{WORST_SITES}个地块：" if zh else f"the {WORST_SITES} worst sites:")
    out += ["  " + line for line in _site_lines(result.worst_sites(WORST_SITES), lang)]
    out.append("（--verbose 列出全部地块）" if zh else "(--verbose lists every site)")
    return out


def _cmd_screen(a: argparse.Namespace) -> int:
    from ecogis.gcpause import bulk_work

    with bulk_work():  # one batch from reading to the last file: fewer garbage collections throughout
        return _screen(a)


def _screen(a: argparse.Namespace) -> int:
    import ecogis
    from ecogis.render.outputs import write_outputs
    from ecogis.vocab import VERDICT_RANK

    overrides = {
        "industry": a.industry, "nature": a.nature, "name": a.name, "linear": a.linear,
        "national_major": a.national_major, "unavoidable": a.unavoidable, "activity": a.activity,
    }
    rules = [p for group in (a.rules or []) for p in group] or None
    if a.engine == "dask":
        from ecogis.screening.distributed import screen_dask

        result = screen_dask(a.sites, a.workspace, rules, scheduler=a.scheduler, workers=a.workers,
                             overrides=overrides, crs=a.crs, lang=a.lang, area_method=a.area_method,
                             as_of=a.as_of)
    else:
        result = ecogis.screen(a.sites, a.workspace, rules, overrides=overrides, crs=a.crs, lang=a.lang,
                               progress=not a.quiet, area_method=a.area_method, threads=a.threads,
                               as_of=a.as_of)
    written = write_outputs(result, a.out, formats=a.format.split(","), lang=a.lang, progress=not a.quiet)
    verbose = getattr(a, "verbose", False)
    print("\n".join(screen_summary(result, a.lang, verbose=verbose)))
    if len(result.not_evaluated):
        ids = result.not_evaluated["rule_id"].tolist()
        more = f" … ({len(ids)} rules)" if len(ids) > 30 else ""
        print(f"not evaluated (layer missing, empty or name not found): {', '.join(ids[:30])}{more}")
    if "incomplete_layers" in result.sites:
        inc = result.sites.loc[result.sites["incomplete_layers"].astype(str) != "", ["site_id", "incomplete_layers"]]
        shown = inc if verbose else inc.head(20)
        if len(inc):
            print(f"incomplete data for {len(inc)} sites" + ("" if len(shown) == len(inc) else " (first 20; --verbose: all)"))
            print("\n".join(f"{sid:<14} incomplete: {layers}" for sid, layers in shown.itertuples(index=False)))
    _print_notes(result.notes, sys.stdout, limit=None if verbose else 30)
    for p in written:
        print(f"wrote {p}")
    if a.fail_on:
        worst = result.sites["verdict"].map(VERDICT_RANK).max()
        if worst >= VERDICT_RANK[a.fail_on]:
            return 1
    return 0


def _cmd_demo(a: argparse.Namespace) -> int:
    from ecogis.demo import run_demo

    run_demo(out_dir=a.out, sample_dir=a.sample_dir)
    return 0


# ---------------------------------------------------------------------------- parser
#: Modules under ecogis/cli/ that add their own subcommands through ``register(subparsers)``.
COMMAND_MODULES: tuple[str, ...] = ("map", "patrol", "accesslist", "serve")


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
    imp.add_argument("--coverage", metavar="FILE|admin",
                     help="the area the layer was delivered for: a polygon file, or 'admin' for the workspace's "
                          "admin boundary (the default; without an admin layer, the layer's own convex hull)")
    common_read(imp)
    imp.set_defaults(func=_cmd_layers_import)

    emp = lsub.add_parser("declare-empty", help="record that a layer kind has no features within an area")
    emp.add_argument("--kind", required=True)
    emp.add_argument("--workspace", required=True)
    emp.add_argument("--coverage", metavar="FILE|admin", help="the area (default: the workspace's admin boundary)")
    emp.add_argument("--version", dest="version", help="data version or date recorded with the declaration")
    emp.add_argument("--crs", help="CRS of a coverage file that carries none")
    emp.set_defaults(func=_cmd_layers_declare_empty)

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
    conv.add_argument("--zone", type=int_in(1, 60), help="Gauss-Krüger zone for 国土TXT output")
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
    scr.add_argument("--activity", help="activity tags, ';'-separated (see rules/activities.yaml); no:TAG declares an "
                                        "activity absent, 'none' declares the list complete (no questions)")
    scr.add_argument("--crs", help="CRS for site files that carry none")
    scr.add_argument("--out", required=True, help="output folder")
    scr.add_argument("--format", default="html,json,xlsx,gpkg",
                     help="comma-separated: html,json,xlsx,gpkg (and jsonl: JSON Lines for very large runs)")
    scr.add_argument("--lang", choices=["zh", "en"], default="zh")
    scr.add_argument("--fail-on", choices=["prohibited", "restricted", "review"],
                     help="exit 1 when any site's verdict is at least this severe")
    scr.add_argument("--quiet", action="store_true", help="no progress bar")
    scr.add_argument("--area-method", choices=["survey", "geodesic", "equal_area"], default="survey",
                     help="survey (default: the land survey's ellipsoidal trapezoid formula on CGCS2000, "
                          "vectorised), geodesic (Karney, one call per ring) or equal_area")
    scr.add_argument("--verbose", action="store_true", help=f"print every site (default above {SUMMARY_ABOVE} "
                     "sites: counts by verdict and rule and the worst sites)")
    scr.add_argument("--threads", type=int_in(0, 1024, meaning=" (0: every core)"),
                     help="threads for the overlaps: 0 every core (default: ECOGIS_THREADS, else every core)")
    scr.add_argument("--as-of", metavar="DATE",
                     help="apply the rules in force on this date, YYYY-MM-DD (default: today); "
                          "the report names the versions applied")
    scr.add_argument("--engine", choices=["local", "dask"], default="local",
                     help="local (default) or dask: partition the sites spatially and screen in parallel")
    scr.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786 (default: a local cluster)")
    scr.add_argument("--workers", type=int_in(1, 1024), default=2, help="workers of the local Dask cluster (default 2)")
    scr.set_defaults(func=_cmd_screen)

    for name in COMMAND_MODULES:
        import importlib

        importlib.import_module(f"ecogis.cli.{name}").register(sub)

    demo = sub.add_parser("demo", help="run the main job on the bundled sample data")
    demo.add_argument("--out", default="out", help="output folder (default: out)")
    demo.add_argument("--sample-dir", help="folder with the sample workspaces (default: layers/sample)")
    demo.set_defaults(func=_cmd_demo)
    return p


#: Output options checked before a command runs: command → ((attribute, option, "file" | "dir"), …).
OUTPUTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "convert": (("output", "OUTPUT", "file"),),
    "screen": (("out", "--out", "dir"),),
    "demo": (("out", "--out", "dir"),),
    "map": (("out", "--out", "file"), ("print_out", "--print", "file")),
    "clues": (("out", "--out", "file"),),
    "patrol": (("out", "--out", "dir"),),
}


def _check_outputs(args: argparse.Namespace) -> None:
    for attr, option, kind in OUTPUTS.get(args.command or "", ()):
        value = getattr(args, attr, None)
        (check_out_dir if kind == "dir" else check_out_file)(value, option)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``ecogis`` command (returns the exit status; see the module docstring)."""
    parser = build_parser()
    args = parser.parse_args(argv)  # bad options: argparse prints the option and exits 2
    if not getattr(args, "func", None):
        if args.command == "layers":
            parser.parse_args(["layers", "--help"])
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        from ecogis.settings import settings

        settings.check_env()  # a bad ECOGIS_* variable is named before anything runs
        _check_outputs(args)
        return int(args.func(args) or 0)
    except EcogisError as exc:
        if args.debug:
            raise
        print(f"ecogis: error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("ecogis: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a path that cannot be read or written: the user's to fix, named
        if args.debug:
            raise
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        print(f"ecogis: error: {where}{exc.strerror or exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except Exception as exc:  # a bug, not bad input
        if args.debug:
            raise
        print(
            f"ecogis: internal error ({type(exc).__name__}: {exc}); this is a bug — rerun with --debug and "
            "report it",
            file=sys.stderr,
        )
        return EXIT_INTERNAL


def run() -> NoReturn:
    """The ``ecogis`` command: :func:`main`, then :func:`exit_now` with its status."""
    exit_now(main())


def exit_now(code: int) -> NoReturn:
    """End the process with ``code`` once its exit handlers have run, without freeing each of its objects.

    A batch leaves millions of Python objects (the result's tables) that the
    interpreter would otherwise free one by one on the way out: 0.15 s at
    40,000 sites.  By now every file is written and closed; the ``atexit``
    handlers (logging, multiprocessing, temporary files) still run, and
    standard output and error are flushed.  With other threads still running,
    or ``ECOGIS_FULL_EXIT=1``, the process exits the usual way.
    """
    if threading.active_count() > 1 or os.environ.get("ECOGIS_FULL_EXIT", "").strip() in ("1", "true", "yes"):
        sys.exit(code)
    import atexit

    try:
        atexit._run_exitfuncs()  # what the interpreter runs at exit, before it frees the objects
    finally:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError):  # a closed pipe: nothing more can be said on it
                pass
    os._exit(code)


if __name__ == "__main__":  # pragma: no cover
    run()
