"""Generate the deterministic synthetic NDVI pairs of the sample cities.

Each pair is ``<out>/<city>/before.tif`` (WGS 84 / UTM, 20 m), ``after.tif``
(CGCS2000 3° Gauss-Krüger, 10 m) and ``truth.geojson`` (EPSG:4490): the
injected disturbances — new pits, roads and building footprints, some inside
the red lines and some outside — with their kind and area in 公顷.  See
:mod:`ecogis.patrol.synth` for the landscape model.  The same arguments
always give the same files; nothing is committed (``make demo`` generates the
Genhe pair into ``out/patrol/rasters/``).

Usage::

    .venv/bin/python scripts/build_sample_rasters.py --out out/rasters [--city genhe ...] [--kind ndvi|class]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ecogis.patrol.synth import SCENES, build_pair


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="out/rasters", help="output folder (one sub-folder per city)")
    ap.add_argument("--city", action="append", choices=sorted(SCENES), help="city (default: all four)")
    ap.add_argument("--kind", choices=["ndvi", "class"], default="ndvi")
    ap.add_argument("--size-km", type=float, default=12.0, help="side of the square scene in km (default 12)")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args(argv)
    for city in a.city or sorted(SCENES):
        pair = build_pair(Path(a.out) / city, city=city, kind=a.kind, size_km=a.size_km, seed=a.seed)
        size = sum(p.stat().st_size for p in (pair.before, pair.after)) / 2**20
        print(f"{city}: {pair.truth_count} disturbances, {size:.1f} MiB → {pair.before.parent}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
