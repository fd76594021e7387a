"""Batch screening as users run it: the API and the CLI with every default output, against geopandas.overlay.

Five workload shapes, each at several sizes (sites; the features grow with
them, one polygon per 20 sites, so the region grows like a county → a
province and time should grow linearly):

``inside``
    mostly inside, smooth: 96-vertex smooth polygons 2–20 km across, 70 % of
    the parcels placed inside one;
``boundary``
    boundary-heavy: jagged, overlapping red-line polygons of ~400 vertices
    1–8 km across, parcels scattered, so most pairs are cut by a boundary;
``overlap``
    the issue's workload: jagged red-line polygons of ~400 vertices 3–14 km
    across, so that they overlap several deep (about 3.4 pairs per site,
    under half of them wholly inside);
``multi``
    several layer kinds under the real rulebooks: red line (jagged, 200
    vertices), protected areas with zones, water-source zones with grades,
    三线一单 control units; parcels with mixed industry codes.
``patches``
    the reverse of ``inside``: large jagged sites (60 vertices, 0.5–2.5 km
    across) over many small red-line patches (12 vertices, 30–300 m; two
    per site), most of them wholly within a site — the workload on which
    the engine first ran no faster than overlay (it intersected every held
    patch).

Every run uses the bundled rules (``rules/``), a GeoPackage workspace built
with ``ecogis.layers.import_layer``, and (but for ``patches``) parcels of 4–12 vertices, 50–800 m
across, with an industry code, written as a GeoPackage.

Each measurement runs in its own subprocess (its own peak memory):

* ``api``: ``ecogis.screen(sites_gdf, "ws.gpkg")`` with the default (survey)
  areas; the site frame is loaded before the clock starts, the workspace is
  read by the engine inside the clock;
* ``cli``: ``ecogis screen sites.gpkg --workspace ws.gpkg --out DIR --quiet``
  with every default output (html, json, xlsx, gpkg), wall time minus the
  start-up (interpreter plus the imports the command needs, timed apart);
  its stdout lines and the size of ``report.html`` are recorded;
* ``overlay``: ``geopandas.overlay(sites, features, how="intersection")`` of
  the sites with every feature layer at once, plus Albers areas (the
  features and sites loaded before the clock starts).

The total overlap area with the red line (every site is under one of the
red-line rules, so every intersecting pair is a finding) is compared between
the API and overlay.

    python benchmarks/batch.py --sizes 1000,10000 [--shapes inside,boundary,multi] [--plot FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=105 +x_0=0 +y_0=0 +ellps=GRS80 +units=m +no_defs"
SHAPES = ("inside", "boundary", "overlap", "multi", "patches")
M_PER_DEG = 110_946.0
SITES_PER_POLYGON = 20
#: Parcel density: sites per km² of the region (the issue's workload: 40,000 parcels over ~1.2° × 1.2°).
SITES_PER_KM2 = 3.0
INDUSTRIES = np.array(["B0610", "C3011", "D4411", "E4813", "K7010", "G5411"], dtype=object)


# ----------------------------------------------------------------------------- data
def _star(rng, cx, cy, diam_m, nvert: int, roughness: float, harmonics: int, noise: float = 0.0):
    """Valid star-shaped polygons (the radius is a function of the angle, so the ring never crosses itself)."""
    import shapely

    n = len(cx)
    theta = np.linspace(0.0, 2 * np.pi, nvert, endpoint=False)
    amp = rng.uniform(0, 1, (n, harmonics)) / np.arange(1, harmonics + 1) ** 0.7
    phase = rng.uniform(0, 2 * np.pi, (n, harmonics))
    k = np.arange(1, harmonics + 1)
    wave = (amp[:, :, None] * np.cos(k[None, :, None] * theta[None, None, :] + phase[:, :, None])).sum(axis=1)
    if noise:
        wave = wave + noise * rng.uniform(-1, 1, wave.shape) * np.ptp(wave, axis=1, keepdims=True)
    lo, hi = wave.min(axis=1, keepdims=True), wave.max(axis=1, keepdims=True)
    factor = 1.0 - roughness * (wave - lo) / np.where(hi > lo, hi - lo, 1.0)
    r = 0.5 * diam_m[:, None] * factor
    xs = cx[:, None] + r * np.cos(theta) / (M_PER_DEG * np.cos(np.radians(cy)))[:, None]
    ys = cy[:, None] + r * np.sin(theta) / M_PER_DEG
    ring = np.stack([xs, ys], axis=-1)
    return shapely.polygons(np.concatenate([ring, ring[:, :1]], axis=1))


def _extent(n_sites: int) -> tuple[float, float, float, float]:
    km2 = n_sites / SITES_PER_KM2
    side_deg = np.sqrt(km2) * 1000.0 / M_PER_DEG
    x0, y0 = 116.0, 42.0
    return x0, y0, x0 + side_deg / np.cos(np.radians(y0 + side_deg / 2)), y0 + side_deg


def _polys(rng, n, ext, nvert, roughness, harmonics, dmin, dmax, noise=0.0):
    x0, y0, x1, y1 = ext
    cx, cy = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    diam = np.exp(rng.uniform(np.log(dmin), np.log(dmax), n))
    return _star(rng, cx, cy, diam, nvert, roughness, harmonics, noise), cx, cy, diam


def _sites(rng, n, ext, inside_of=None, share_inside=0.0):
    import geopandas as gpd

    x0, y0, x1, y1 = ext
    cx, cy = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    if inside_of is not None and share_inside:
        px, py, pd_ = inside_of
        k = np.flatnonzero(rng.uniform(0, 1, n) < share_inside)
        j = rng.integers(0, len(px), len(k))
        ang, rad = rng.uniform(0, 2 * np.pi, len(k)), 0.25 * pd_[j] * np.sqrt(rng.uniform(0, 1, len(k)))
        cx[k] = px[j] + rad * np.cos(ang) / (M_PER_DEG * np.cos(np.radians(py[j])))
        cy[k] = py[j] + rad * np.sin(ang) / M_PER_DEG
    counts = rng.integers(4, 13, n)
    diam = rng.uniform(50.0, 800.0, n)
    geoms = np.empty(n, dtype=object)
    for nv in range(4, 13):
        sel = np.flatnonzero(counts == nv)
        if len(sel):
            geoms[sel] = _star(rng, cx[sel], cy[sel], diam[sel], int(nv), 0.3, 2)
    return gpd.GeoDataFrame({"site_id": [f"S{i:07d}" for i in range(n)],
                             "name": [f"项目{i:07d}" for i in range(n)],
                             "industry": INDUSTRIES[rng.integers(0, len(INDUSTRIES), n)],
                             "nature": "新建"}, geometry=geoms, crs=4490)


def build(shape: str, n_sites: int, out: Path, seed: int = 20261201) -> Path:
    """Write the workload ``shape`` at ``n_sites`` to ``out`` (features, workspace, sites); return ``out``."""
    import geopandas as gpd
    import shapely

    from ecogis.layers import import_layer

    out.mkdir(parents=True, exist_ok=True)
    if (out / "done").exists():
        return out
    rng = np.random.default_rng(seed + SHAPES.index(shape) * 7 + n_sites)
    ext = _extent(n_sites)
    n_poly = max(5, n_sites // SITES_PER_POLYGON)
    if shape == "inside":
        n_poly = max(3, n_sites // (5 * SITES_PER_POLYGON))  # large polygons: fewer, for the same overlap depth
    layers: dict[str, gpd.GeoDataFrame] = {}
    if shape == "inside":
        g, cx, cy, d = _polys(rng, n_poly, ext, 96, 0.25, 3, 2_000.0, 20_000.0)
        layers["redline"] = gpd.GeoDataFrame({"name": [f"红线{i}" for i in range(n_poly)]}, geometry=g, crs=4490)
        sites = _sites(rng, n_sites, ext, (cx, cy, d), 0.7)
    elif shape == "boundary":
        g, *_ = _polys(rng, n_poly, ext, 400, 0.6, 24, 1_000.0, 8_000.0, noise=0.08)
        layers["redline"] = gpd.GeoDataFrame({"name": [f"红线{i}" for i in range(n_poly)]}, geometry=g, crs=4490)
        sites = _sites(rng, n_sites, ext)
    elif shape == "overlap":
        g, *_ = _polys(rng, n_poly, ext, 400, 0.6, 24, 3_000.0, 14_000.0, noise=0.08)
        layers["redline"] = gpd.GeoDataFrame({"name": [f"红线{i}" for i in range(n_poly)]}, geometry=g, crs=4490)
        sites = _sites(rng, n_sites, ext)
    elif shape == "multi":
        per = max(3, n_poly // 2)
        g, *_ = _polys(rng, per, ext, 200, 0.55, 16, 1_000.0, 10_000.0, noise=0.05)
        layers["redline"] = gpd.GeoDataFrame({"name": [f"红线{i}" for i in range(per)]}, geometry=g, crs=4490)
        g, *_ = _polys(rng, per, ext, 120, 0.4, 8, 2_000.0, 15_000.0)
        layers["protected_area"] = gpd.GeoDataFrame({
            "name": [f"保护地{i}" for i in range(per)], "type": "自然保护区", "level": "省级",
            "zone": np.array(["核心区", "缓冲区", "实验区"], dtype=object)[rng.integers(0, 3, per)]},
            geometry=g, crs=4490)
        g, *_ = _polys(rng, per, ext, 64, 0.3, 4, 500.0, 4_000.0)
        layers["water_source"] = gpd.GeoDataFrame({
            "name": [f"水源地{i}" for i in range(per)],
            "grade": np.array(["一级保护区", "二级保护区", "准保护区"], dtype=object)[rng.integers(0, 3, per)]},
            geometry=g, crs=4490)
        g, *_ = _polys(rng, per, ext, 150, 0.5, 10, 3_000.0, 20_000.0)
        cls = rng.integers(1, 4, per)
        layers["control_unit"] = gpd.GeoDataFrame({
            "name": [f"单元{i}" for i in range(per)],
            "code": [f"ZH150102{c}{i % 1000:03d}" for i, c in zip(range(per), cls)],
            "class": np.array(["优先保护", "重点管控", "一般管控"], dtype=object)[cls - 1]},
            geometry=g, crs=4490)
        sites = _sites(rng, n_sites, ext)
    elif shape == "patches":
        g, *_ = _polys(rng, 2 * n_sites, ext, 12, 0.3, 3, 30.0, 300.0)
        layers["redline"] = gpd.GeoDataFrame({"name": [f"斑块{i}" for i in range(len(g))]}, geometry=g, crs=4490)
        sites = _sites(rng, n_sites, ext)
        sg, *_ = _polys(rng, n_sites, ext, 60, 0.5, 8, 500.0, 2_500.0, noise=0.05)
        sites = sites.set_geometry(gpd.GeoSeries(sg, crs=4490))
    else:
        raise SystemExit(f"unknown shape {shape}")
    ws = out / "ws.gpkg"
    for p in (ws, out / "sites.gpkg"):
        if p.exists():
            p.unlink()
    for kind, gdf in layers.items():
        assert shapely.is_valid(gdf.geometry.values).all(), kind
        src = out / f"{kind}.gpkg"
        gdf.to_file(src, driver="GPKG")
        import_layer(src, kind, ws, version="bench-2026-12", replace=True)
    assert shapely.is_valid(sites.geometry.values).all()
    sites.to_file(out / "sites.gpkg", driver="GPKG")
    nv = sum(int(shapely.get_num_coordinates(g.geometry.values).sum()) for g in layers.values())
    (out / "info.json").write_text(json.dumps({"shape": shape, "sites": n_sites, "features": {
        k: len(v) for k, v in layers.items()}, "feature_vertices": nv, "extent": ext}), encoding="utf-8")
    (out / "done").write_text("ok")
    return out


# ----------------------------------------------------------------------------- one measurement (subprocess)
def _rss_mb(who=resource.RUSAGE_SELF) -> float:
    """Peak resident memory in MB: this process's own (VmHWM; ``ru_maxrss`` would include the memory of the
    process it was forked from before ``exec``), or of the waited-for children."""
    if who == resource.RUSAGE_SELF:
        try:
            for line in Path("/proc/self/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
        except OSError:
            pass
    return resource.getrusage(who).ru_maxrss / 1024.0


def one_api(data: Path) -> dict:
    import geopandas as gpd

    import ecogis

    sites = gpd.read_file(data / "sites.gpkg")
    t, c = time.perf_counter(), time.process_time()
    res = ecogis.screen(sites, data / "ws.gpkg", progress=False)
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    f = res.findings
    red = f[(f["layer_kind"] == "redline") & f["overlap_ha"].notna()]
    red = red.drop_duplicates(["site_id", "feature_id"])
    return {"wall_s": wall, "cpu_s": cpu, "peak_mb": _rss_mb(), "findings": len(f), "redline_pairs": len(red),
            "redline_m2": float(red["overlap_ha"].sum() * 1e4),
            "verdicts": res.sites["verdict"].value_counts().to_dict()}


def _startup_s() -> float:
    code = ("import ecogis.cli, ecogis.screening.engine, ecogis.render.outputs, ecogis.render.report_html, "
            "ecogis.render.webmap, ecogis.render.report, geopandas, pyogrio, openpyxl, folium, jinja2")
    best = float("inf")
    for _ in range(2):
        t = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        best = min(best, time.perf_counter() - t)
    return best


def one_cli(data: Path, out: Path) -> dict:
    import shutil

    if out.exists():
        shutil.rmtree(out)
    startup = _startup_s()
    cmd = [sys.executable, "-m", "ecogis.cli", "screen", str(data / "sites.gpkg"), "--workspace",
           str(data / "ws.gpkg"), "--out", str(out), "--quiet"]
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise SystemExit(f"cli failed ({proc.returncode}): {proc.stderr[-2000:]}")
    sizes = {p.name: p.stat().st_size for p in out.iterdir() if p.is_file()}
    return {"wall_s": wall - startup, "wall_gross_s": wall, "startup_s": startup,
            "peak_mb": _rss_mb(resource.RUSAGE_CHILDREN), "stdout_lines": len(proc.stdout.splitlines()),
            "report_mb": sizes.get("report.html", 0) / 1e6, "files": sizes}


def one_overlay(data: Path) -> dict:
    import geopandas as gpd
    import pandas as pd

    info = json.loads((data / "info.json").read_text(encoding="utf-8"))
    t0 = time.perf_counter()
    feats = []
    for kind in info["features"]:
        g = gpd.read_file(data / f"{kind}.gpkg")
        feats.append(g.assign(kind=kind, fid_=np.arange(len(g)))[["kind", "fid_", "geometry"]])
    feats = gpd.GeoDataFrame(pd.concat(feats, ignore_index=True), geometry="geometry", crs=4490)
    sites = gpd.read_file(data / "sites.gpkg")[["site_id", "geometry"]]
    load = time.perf_counter() - t0
    t, c = time.perf_counter(), time.process_time()
    ov = gpd.overlay(sites, feats, how="intersection", keep_geom_type=True)
    area = ov.geometry.to_crs(ALBERS).area.to_numpy()
    wall, cpu = time.perf_counter() - t, time.process_time() - c
    red = ov["kind"].to_numpy() == "redline"
    return {"wall_s": wall, "cpu_s": cpu, "load_s": load, "peak_mb": _rss_mb(), "pairs": len(ov),
            "redline_pairs": int(red.sum()), "redline_m2": float(area[red].sum())}


# ----------------------------------------------------------------------------- the run
def _child(tool: str, data: Path, out: Path, timeout: float) -> dict:
    cmd = [sys.executable, __file__, "--one", tool, "--data", str(data), "--out-dir", str(out)]
    env = dict(os.environ, PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        return {"error": proc.stderr[-1500:]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    return (f"{cpu}; {os.cpu_count()} cores; {mem:.0f} GiB RAM; Python {platform.python_version()}; "
            f"load average {load:.1f} at the start (the machine is shared: times are noisy)")


def table(results: list[dict]) -> list[str]:
    lines = ["| shape | sites | features (vertices) | API s | CLI s (net) | overlay s | API × | CLI × | "
             "API / overlay CPU s | API / overlay MB | report.html MB | stdout lines | overlap area diff |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for r in results:
        api, cli, ov = r.get("api", {}), r.get("cli", {}), r.get("overlay", {})
        if api and ov and not cli and "error" not in api and "error" not in ov:  # API and overlay only (large runs)
            cli = {"wall_s": float("nan"), "report_mb": float("nan"), "stdout_lines": "—"}
        if any("error" in x for x in (api, cli, ov)) or not (api and cli and ov):
            lines.append(f"| {r['shape']} | {r['sites']:,} | — | error | | | | | | | | | |")
            continue
        diff = abs(api["redline_m2"] / ov["redline_m2"] - 1) if ov["redline_m2"] else 0.0
        nf = sum(r["info"]["features"].values())
        if cli["wall_s"] != cli["wall_s"]:  # not run
            lines.append(
                f"| {r['shape']} | {r['sites']:,} | {nf:,} ({r['info']['feature_vertices']:,}) | {api['wall_s']:.2f} | "
                f"not run | {ov['wall_s']:.2f} | {ov['wall_s'] / api['wall_s']:.1f}× | — | "
                f"{api['cpu_s']:.2f} / {ov['cpu_s']:.2f} | {api['peak_mb']:,.0f} / {ov['peak_mb']:,.0f} | — | — | "
                f"{diff:.1e} |")
            continue
        lines.append(
            f"| {r['shape']} | {r['sites']:,} | {nf:,} ({r['info']['feature_vertices']:,}) | {api['wall_s']:.2f} | "
            f"{cli['wall_s']:.2f} | {ov['wall_s']:.2f} | {ov['wall_s'] / api['wall_s']:.1f}× | "
            f"{ov['wall_s'] / cli['wall_s']:.1f}× | {api['cpu_s']:.2f} / {ov['cpu_s']:.2f} | "
            f"{api['peak_mb']:,.0f} / {ov['peak_mb']:,.0f} | "
            f"{cli['report_mb']:.2f} | {cli['stdout_lines']} | {diff:.1e} |")
    return lines


def plot(results: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(SHAPES), figsize=(4.2 * len(SHAPES), 3.6), sharey=True)
    for ax, shape in zip(np.atleast_1d(axes), SHAPES):
        rs = sorted([r for r in results if r["shape"] == shape and "wall_s" in r.get("api", {})],
                    key=lambda r: r["sites"])
        if not rs:
            continue
        n = [r["sites"] for r in rs]
        for key, label, style in (("api", "ecogis.screen", "o-"), ("cli", "ecogis screen (all outputs)", "s-"),
                                  ("overlay", "geopandas.overlay", "^--")):
            ys = [r.get(key, {}).get("wall_s", np.nan) for r in rs]
            ax.plot(n, ys, style, label=label)
        lin = [rs[0]["api"]["wall_s"] * k / n[0] for k in n]
        ax.plot(n, lin, ":", color="grey", label="linear (from the first API point)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(shape)
        ax.set_xlabel("sites")
        ax.grid(True, which="both", alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("wall time, s")
    np.atleast_1d(axes)[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


BEGIN, END = "<!-- batch:begin -->", "<!-- batch:end -->"

#: What the run of 2026-12-04 showed (kept with the table; update after a new run).
NOTES = [
    "Notes (run of 2026-12-04 21:39–21:42 UTC; every row API, CLI and overlay in the same run, each in its own "
    "process; the overlap 40k row from the second invocation; the machine is shared and a tool's time varies "
    "by 10–20 % between runs of the same hour — overlap 40k overlay 8.3–9.8 s, CLI 2.8–3.6 s net; boundary 100k "
    "API 1.39–1.65 s — so compare the ratios):",
    "",
    "* **Targets.** API ≥ 5× overlay on the boundary-heavy workloads: `overlap` (the issue's 40,000 parcels × "
    "2,000 jagged red-line polygons) 8.8×, 8.1× at 100k; `multi` 100k 6.2×; `boundary` 100k 4.8× in this run "
    "(5.4× and 5.6× in the two runs before it the same hour: at the line). CLI ≥ 3× with every default output: "
    "`overlap` 40k **3.0×** (2.77 s net; 2.7–2.8× in the runs before), 10k 3.0×, 100k 2.4×; **not met** on "
    "`boundary` (1.6×), `multi` (1.8×), `patches` (0.8×): there the files to write (100,000 sites, 123,000–"
    "615,000 findings, 0.2–1 GB) cost more than the screening. Time linear in sites from 10k up (the 1k rows "
    "are fixed costs, about 0.1 s). report.html ≤ 5 MB (≤ 1.8 MB), stdout ≤ 67 lines, total overlap area "
    "within 2.1e-7 of overlay's in every row.",
    "* **Changed since the 2026-12-03 table**: `findings.json` format 2 stores each rule's texts and each set of "
    "checks once (overlap 40k: 282 → 104 MB, written in 0.45 s instead of 0.9; overlap 100k 731 → 273 MB; "
    "`ecogis.read_findings` reads it back as `to_document()`); garbage collection paused while a batch is "
    "screened and written (`ecogis.gcpause`: CPython otherwise walked the whole heap again and again, and in "
    "the forked writer copied every page holding a Python object; overlap 40k CLI 4.40 → 4.15 s, boundary 100k "
    "API 1.9 → 1.65 s); the site file read on a background thread while the workspace opens and the rules are "
    "chosen; the command's exit without freeing each object (0.15 → 0.04 s); PyYAML and jsonschema imported "
    "only when a rule file is not in the cache; the package's bytecode compiled by `make install` / `make "
    "bench` (a fresh process's first screen of 1,000 sites 0.22 → 0.11 s); `worst_sites` in one lexsort; "
    "distinct code rows by hashing folded keys. Earlier: the convex-clip kernel, ragged arrays, GeoPackage "
    "sites through GDAL's Arrow stream.",
    "* **What bounds the CLI**: after screening (0.95–1.3 s at overlap 40k) the four files are written by two "
    "processes, both cores busy (this process `conflicts.gpkg` 1.2–1.5 s, of which GDAL's own insert and "
    "R-tree 0.8–1.05, and `findings.xlsx` 0.7–0.9 s; the forked one `findings.json` 0.45–0.65 s and the "
    "report with its site viewer 1.1–1.4 s). That split is the best of the four files' (ideal 1.9 s against "
    "2.0 s); what is left is CPU in GDAL, Arrow and ISA-L deflate, and page faults for the 320 MB written. "
    "Tried and not kept: GDAL's `OGR_SQLITE_JOURNAL`/`SYNCHRONOUS` off (3 %, and process-wide, so also on a "
    "workspace a server writes), the findings handed to GDAL as an Arrow table built per distinct object, the "
    "GeoPackage and workbook on two threads, threads instead of the fork (the GIL), the other write order, "
    "glibc and mimalloc huge pages (fewer faults, no measurable time).",
    "* `patches` (small features wholly inside large jagged sites, 614,719 findings at 100k) stays at 2.1× for the "
    "API: the assembly of the findings (2.4 s) and the clip (1.8 s on two threads) scale with the findings.",
]


def report(runs: list[dict], machine_text: str, path: Path, plot_name: str) -> None:
    """Write (or replace) the batch section at the top of ``RESULTS.md``."""
    lines = [BEGIN, "# Batch screening as users run it (`benchmarks/batch.py`)", "",
             f"Machine: {machine_text}.", "",
             "API: `ecogis.screen(sites_gdf, 'ws.gpkg')`, default (survey) areas, workspace read inside the clock. "
             "CLI: `ecogis screen sites.gpkg --workspace ws.gpkg --out DIR --quiet` with every default output "
             "(report.html, findings.json, findings.xlsx, conflicts.gpkg), start-up subtracted. overlay: "
             "`geopandas.overlay` of the sites with every layer + Albers areas, data loaded before the clock. "
             "× = overlay time / ecogis time. MB = peak RSS of the process. Area diff: total red-line overlap "
             "area, API against overlay (relative).", "",
             *table(runs), "",
             f"![time against sites]({plot_name})", ""]
    per = {}
    for r in runs:
        if "wall_s" in r.get("api", {}) and "wall_s" in r.get("overlay", {}):
            per.setdefault(r["shape"], []).append(r)
    for shape, rs in per.items():
        rs = sorted(rs, key=lambda r: r["sites"])
        if len(rs) > 1:
            a, b = rs[0], rs[-1]
            k = b["sites"] / a["sites"]
            lines.append(f"* {shape}: {k:.0f}× the sites took {b['api']['wall_s'] / a['api']['wall_s']:.1f}× the API "
                         f"time ({b['api']['cpu_s'] / a['api']['cpu_s']:.1f}× its CPU time), "
                         f"{b['overlay']['wall_s'] / a['overlay']['wall_s']:.1f}× overlay's.")
    lines += ["", *NOTES, "", END, ""]
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if BEGIN in text and END in text:
        text = text[:text.index(BEGIN)] + text[text.index(END) + len(END):].lstrip("\n")
    path.write_text("\n".join(lines) + "\n" + text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="1000,10000,100000")
    ap.add_argument("--shapes", default=",".join(SHAPES))
    ap.add_argument("--data", default=str(HERE / "data" / "batch"))
    ap.add_argument("--out-dir", default=str(HERE / "out" / "batch"))
    ap.add_argument("--results", default=str(HERE / "batch_results.json"))
    ap.add_argument("--plot", default=str(HERE / "batch_time_vs_sites.png"))
    ap.add_argument("--tools", default="api,cli,overlay")
    ap.add_argument("--report", default=str(HERE / "RESULTS.md"), help="Markdown file to put the table in ('' to skip)")
    ap.add_argument("--report-only", action="store_true", help="only rewrite the report and plot from --results")
    ap.add_argument("--timeout", type=float, default=3600)
    ap.add_argument("--one", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.one:
        data, out = Path(a.data), Path(a.out_dir)
        res = {"api": lambda: one_api(data), "cli": lambda: one_cli(data, out / "cli"),
               "overlay": lambda: one_overlay(data)}[a.one]()
        print(json.dumps(res, default=str))
        return 0
    results_path = Path(a.results)
    old = json.loads(results_path.read_text(encoding="utf-8")) if results_path.exists() else {"runs": []}
    keep = {(r["shape"], r["sites"]): r for r in old.get("runs", [])}
    for shape in ([] if a.report_only else a.shapes.split(",")):
        for n in (int(s) for s in a.sizes.split(",")):
            t = time.perf_counter()
            data = build(shape, n, Path(a.data) / f"{shape}_{n}")
            info = json.loads((data / "info.json").read_text(encoding="utf-8"))
            row = {"shape": shape, "sites": n, "info": info, "build_s": time.perf_counter() - t,
                   "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": os.getloadavg()[0]}
            for tool in a.tools.split(","):
                row[tool] = _child(tool, data, Path(a.out_dir) / f"{shape}_{n}", a.timeout)
                print(shape, n, tool, json.dumps({k: v for k, v in row[tool].items() if k != "files"},
                                                 default=str)[:300], flush=True)
            keep[(shape, n)] = row
            results_path.write_text(json.dumps({"machine": machine(), "runs": list(keep.values())}, indent=1,
                                               default=str), encoding="utf-8")
    runs = sorted(keep.values(), key=lambda r: (SHAPES.index(r["shape"]), r["sites"]))
    print("\n".join(table(runs)))
    if a.plot:
        plot(runs, Path(a.plot))
    if a.report:
        report(runs, old.get("machine", machine()) if a.report_only else machine(), Path(a.report),
               Path(a.plot).name if a.plot else "")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
