"""``ecogis map``: render a published-map spec to offline HTML and/or a print (PDF/PNG)."""

from __future__ import annotations

import argparse
import sys

from ecogis.cli.args import int_in
from ecogis.errors import SpecError


def _cmd_map(a: argparse.Namespace) -> int:
    from ecogis.notes import Notes
    from ecogis.render.publish import build_map
    from ecogis.render.spec import load_spec

    spec_path = a.spec or a.spec_opt
    if not spec_path or (a.spec and a.spec_opt and a.spec != a.spec_opt):
        raise SpecError("give one map spec", where="arguments",
                        hint="ecogis map SPEC.yaml --workspace WS.gpkg --out map.html")
    if not a.out and not a.print_out:
        raise SpecError("nothing to write", where="arguments", hint="give --out map.html and/or --print map.pdf")
    spec = load_spec(spec_path)
    if a.out:
        from ecogis.render import webmap

        m = build_map(spec, a.workspace, lang=a.lang, basemap=a.basemap, tianditu_key=a.tianditu_key)
        path = webmap.save_html(m, a.out)
        counts = ", ".join(f"{k} {v}" for k, v in m.ecogis_counts.items())
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB; features: {counts})")
        for n in getattr(m, "ecogis_notes", ()):
            print(f"  warning {n}", file=sys.stderr)
    if a.print_out:
        from ecogis.render.printmap import print_map

        notes = Notes()
        path = print_map(spec, a.workspace, a.print_out, paper=a.paper, dpi=a.dpi, lang=a.lang,
                         basemap=a.basemap, tianditu_key=a.tianditu_key, notes=notes)
        print(f"wrote {path}")
        for n in notes:
            if a.out and n.code == "spec":
                continue  # printed once above
            print(f"  note {n}", file=sys.stderr)
    return 0


def register(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the ``map`` command."""
    p = subparsers.add_parser(
        "map", help="render a published map spec (maps/<city>/*.yaml) to offline HTML and/or PDF/PNG",
        description="Render a map spec from a workspace: one self-contained HTML page (--out) that opens "
                    "with no network, and/or a static print (--print out.pdf|out.png).")
    p.add_argument("spec", nargs="?", help="map spec YAML (see maps/README.md)")
    p.add_argument("--spec", dest="spec_opt", metavar="SPEC", help="the map spec, as an option")
    p.add_argument("--workspace", "-w", required=True, help="workspace (.gpkg) holding the layers")
    p.add_argument("--out", "-o", help="HTML file to write")
    p.add_argument("--print", dest="print_out", metavar="FILE", help="static map to write: .pdf or .png")
    p.add_argument("--basemap", choices=("none", "osm", "tianditu", "tianditu_img", "amap", "amap_img"),
                   default=None, help="basemap (default: the spec's, normally none: no tiles, no network); amap "
                                      "shifts every layer to GCJ-02; a print draws it only if its tiles "
                                      "can be fetched")
    p.add_argument("--tianditu-key", default=None, help="Tianditu browser key (or ECOGIS_TIANDITU_KEY)")
    p.add_argument("--lang", choices=("zh", "en"), default=None, help="map language (default: the spec's, zh)")
    p.add_argument("--paper", type=str.upper, choices=("A4", "A3", "A2", "A1", "A0"), default=None,
                   help="print paper (default: the spec's, A4); A1/A0 for wall maps")
    p.add_argument("--dpi", type=int_in(50, 1200), default=None, help="print resolution, 50 to 1200 (default 200)")
    p.set_defaults(func=_cmd_map)
    return p
