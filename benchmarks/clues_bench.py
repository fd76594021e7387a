"""Benchmark of ``ecogis clues``: recall, precision, peak memory and time.

Two parts:

1. **Accuracy on the sample scenes.**  For each sample city a deterministic
   synthetic NDVI pair (before: WGS 84 / UTM, 20 m; after: CGCS2000 GK, 10 m;
   see :mod:`ecogis.patrol.synth`) with known disturbances is generated,
   clues are detected and compared with the truth for patches ≥ 0.5 ha
   (:func:`ecogis.patrol.clues.evaluate`), three seeds per city.
2. **Memory on a large pair.**  A ``--size`` × ``--size`` pixel after raster
   (default 20,000 × 20,000 at 10 m, 200 km square) and a before raster of
   half the pixels at 20 m in another CRS are generated window by window;
   then ``detect_clues`` runs in a child process whose peak resident memory
   is read from ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``.

Run::

    .venv/bin/python benchmarks/clues_bench.py            # full: ~10 min, ~2.5 GB of temporary rasters
    .venv/bin/python benchmarks/clues_bench.py --size 4000 # quick

Results are printed and written to ``benchmarks/clues_results.json``; the
figures are copied into ``benchmarks/CLUES.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent


def accuracy(work: Path, seeds=(0, 1, 2), max_after: float | None = None) -> dict:
    import geopandas as gpd

    from ecogis.patrol.clues import detect_clues, evaluate
    from ecogis.patrol.synth import SCENES, build_pair

    rows = []
    for city in SCENES:
        ws = REPO / "layers" / "sample" / f"{city}.gpkg"
        for seed in seeds:
            d = work / f"{city}-{seed}"
            pair = build_pair(d, city=city, seed=seed)
            t0 = time.perf_counter()
            kw = {} if max_after is None else {"max_after": max_after}
            res = detect_clues(pair.before, pair.after, ws if ws.exists() else None, **kw)
            dt = time.perf_counter() - t0
            ev = evaluate(res.clues, gpd.read_file(pair.truth), min_area_ha=0.5)
            inside = int(res.clues["in_redline"].sum()) if len(res.clues) else 0
            rows.append({"city": city, "seed": seed, **ev, "in_redline": inside, "seconds": round(dt, 2)})
            print(f"  {city:<10} seed {seed}: truth {ev['truth']:>3}  detected {ev['detected']:>3}  "
                  f"recall {ev['recall']:.3f}  precision {ev['precision']:.3f}  ({inside} in red line, {dt:.1f} s)",
                  flush=True)
            shutil.rmtree(d, ignore_errors=True)
    truth = sum(r["truth"] for r in rows)
    found = sum(r["found"] for r in rows)
    det = sum(r["detected"] for r in rows)
    correct = sum(r["correct"] for r in rows)
    return {"runs": rows, "truth": truth, "found": found, "detected": det, "correct": correct,
            "recall": round(found / truth, 4) if truth else None,
            "precision": round(correct / det, 4) if det else None}


_CHILD = r"""
import json, resource, sys, time
from ecogis.patrol.clues import detect_clues, evaluate
import geopandas as gpd
before, after, truth, block = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
t0 = time.perf_counter()
res = detect_clues(before, after, None, block=block)
secs = time.perf_counter() - t0
ev = evaluate(res.clues, gpd.read_file(truth), min_area_ha=0.5)
print(json.dumps({"seconds": round(secs, 1), "patches": len(res.clues), **ev,
                  "self_maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "notes": [str(n) for n in res.notes]}))
"""


def large(work: Path, size: int, block: int) -> dict:
    from ecogis.patrol.synth import build_pair

    res_after = 10.0
    km = size * res_after / 1000.0
    scale = (km * km) / 144.0
    counts = (max(10, int(10 * scale / 4)), max(5, int(5 * scale / 4)), max(14, int(14 * scale / 4)))
    print(f"  generating a {size} × {size} after raster ({km:.0f} km square, 10 m) and a "
          f"{size // 2} × {size // 2} before raster (20 m, UTM) …", flush=True)
    t0 = time.perf_counter()
    pair = build_pair(work / "large", city="xilinhot", size_km=km, res_after=res_after, res_before=20.0,
                      seed=7, block=2048, counts=counts)
    gen = time.perf_counter() - t0
    sizes = {p.name: round(p.stat().st_size / 2**20, 1) for p in (pair.before, pair.after)}
    print(f"  generated in {gen:.0f} s ({sizes} MiB, {pair.truth_count} disturbances); detecting …", flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _CHILD, str(pair.before), str(pair.after), str(pair.truth),
                          str(block)], capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if out.returncode != 0:
        raise SystemExit(out.stderr)
    child = json.loads(out.stdout.strip().splitlines()[-1])
    peak_kb = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, child["self_maxrss_kb"])
    del before
    return {"size": size, "before_size": size // 2, "pixels_after": size * size, "block": block,
            "generate_seconds": round(gen, 1), "file_mib": sizes, "disturbances": pair.truth_count,
            "wall_seconds": round(wall, 1), "peak_rss_mib": round(peak_kb / 1024, 1), **child}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=20000, help="after raster size in pixels (default 20000)")
    ap.add_argument("--block", type=int, default=2048)
    ap.add_argument("--work", help="folder for the temporary rasters (default: a temp folder, removed)")
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--skip-large", action="store_true")
    ap.add_argument("--out", default=str(HERE / "clues_results.json"))
    a = ap.parse_args(argv)
    work = Path(a.work) if a.work else Path(tempfile.mkdtemp(prefix="ecogis-clues-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    result = {"machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                          "platform": platform.platform()}}
    try:
        if not a.skip_accuracy:
            print("accuracy on the sample scenes (patches ≥ 0.5 ha):", flush=True)
            result["accuracy"] = accuracy(work)
            acc = result["accuracy"]
            print(f"  overall: recall {acc['recall']}, precision {acc['precision']}", flush=True)
            print("ablation: NDVI drop alone (no bare-after test, max_after = 1):", flush=True)
            result["accuracy_drop_only"] = accuracy(work, max_after=1.0)
            acc = result["accuracy_drop_only"]
            print(f"  overall: recall {acc['recall']}, precision {acc['precision']}", flush=True)
        if not a.skip_large:
            print("memory on a large pair:", flush=True)
            result["large"] = large(work, a.size, a.block)
            lg = result["large"]
            print(f"  {lg['size']}² px: {lg['seconds']} s detection, peak RSS {lg['peak_rss_mib']} MiB, "
                  f"recall {lg['recall']}, precision {lg['precision']}", flush=True)
    finally:
        if not a.work:
            shutil.rmtree(work, ignore_errors=True)
    Path(a.out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"wrote {a.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
