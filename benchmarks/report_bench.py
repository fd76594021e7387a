"""Benchmark of the reviewer's report for large batches (issue 13, "outputs built for batches").

Synthesises N small sites (0.3-6 ha squares and a few lines) spread over the Xilinhot sample county, with
industry codes drawn from the sample sites (one in ten left blank), screens them with the bundled rules,
writes ``report.html`` (+ the site viewer ``sites/``) and ``findings.xlsx``, then opens the report and the
viewer's first site in Debian's Chromium (Playwright, network blocked) and records the sizes, the time (wall
and CPU) to write and the time until each page is ready (``html[data-ecogis-ready]``: the site table and the
overview map drawn; the site's findings and map drawn).  ``--result x.pkl`` times a pickled ScreenResult
instead of synthesising one.  Results go to ``benchmarks/report_results.json`` via ``--record``.

    PYTHONPATH=. .venv/bin/python benchmarks/report_bench.py 2000 40000 --record
    PYTHONPATH=. .venv/bin/python benchmarks/report_bench.py --result result_overlap_40000.pkl
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely

REPO = Path(__file__).resolve().parent.parent
WS = REPO / "layers" / "sample" / "xilinhot.gpkg"
INDUSTRIES = ["B0620", "D4415", "D4416", "C1329", "C1441", "E4812", "N7869", "A0314", "B0721", "D4430", "C3415",
              "M7472", "E4790", "D4417", "E4821"]


def synth_sites(n: int, seed: int = 7) -> gpd.GeoDataFrame:
    from ecogis.workspace import open_workspace

    rng = np.random.default_rng(seed)
    admin = open_workspace(WS).read("admin")
    county = shapely.union_all(admin.geometry.values)
    x0, y0, x1, y1 = county.bounds
    pts = []
    while len(pts) < n:
        cand = shapely.points(rng.uniform(x0, x1, 4 * n), rng.uniform(y0, y1, 4 * n))
        pts += list(cand[shapely.contains(county, cand)])
    pts = np.array(pts[:n], dtype=object)
    side = np.sqrt(rng.uniform(0.3, 6.0, n) * 1e4) / 111_320.0
    x, y = shapely.get_x(pts), shapely.get_y(pts)
    geoms = shapely.box(x - side, y - side * 0.72, x + side, y + side * 0.72)
    lines = rng.random(n) < 0.03
    ang = rng.uniform(0, np.pi, lines.sum())
    ln = rng.uniform(0.01, 0.08, lines.sum())
    geoms[lines] = shapely.linestrings(np.stack([np.c_[x[lines], y[lines]],
                                                 np.c_[x[lines] + ln * np.cos(ang), y[lines] + ln * np.sin(ang)]],
                                                axis=1))
    industry = rng.choice(INDUSTRIES, n).astype(object)
    industry[rng.random(n) < 0.1] = None
    return gpd.GeoDataFrame({
        "site_id": [f"BX-{i + 1:05d}" for i in range(n)],
        "name": [f"测试地块{i + 1}号" for i in range(n)],
        "industry": industry, "nature": "新建", "linear": lines,
    }, geometry=list(geoms), crs=4490)


def open_in_chromium(path: Path, fragment: str = "") -> dict:
    """Open ``path`` (``#fragment``) at two viewport sizes; time until ``html[data-ecogis-ready]``."""
    from urllib.parse import quote

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                              args=["--no-sandbox", "--disable-gpu"])
        out = {}
        for w, h in ((1280, 900), (390, 844)):
            ctx = b.new_context(viewport={"width": w, "height": h})
            pg = ctx.new_page()
            errors: list[str] = []
            pg.on("pageerror", lambda e: errors.append(str(e)))
            ctx.route("**/*", lambda r: r.continue_() if r.request.url.startswith(("file:", "data:", "blob:"))
                      else r.abort())
            t = time.perf_counter()
            pg.goto(path.resolve().as_uri() + (("#" + quote(fragment, safe="")) if fragment else ""),
                    wait_until="load")
            pg.wait_for_selector("html[data-ecogis-ready]", state="attached", timeout=60_000)
            ready = time.perf_counter() - t
            nav = pg.evaluate("() => { const n = performance.getEntriesByType('navigation')[0];"
                              " return {load: n.loadEventEnd, dcl: n.domContentLoadedEventEnd}; }")
            out[f"{w}"] = {"ready_s": round(ready, 3), "load_ms": round(nav["load"]), "errors": errors,
                           "scroll_width": pg.evaluate("document.documentElement.scrollWidth"),
                           "rows": pg.evaluate("document.querySelectorAll('#site-table tbody tr').length")}
            ctx.close()
        b.close()
    return out


def _viewer(out: Path) -> dict:
    """The site viewer of a batch report: its files, and the first flagged site opened in Chromium."""
    site_dir = out / "sites"
    if not (site_dir / "site.html").is_file():
        return {}
    files = [p for p in site_dir.rglob("*") if p.is_file()]
    text = (site_dir / "data" / "index.js").read_text(encoding="utf-8")
    first = json.loads(text[len("ecogisIndex("):-3])["ids"][0]
    return {"viewer_files": len(files), "viewer_mb": round(sum(p.stat().st_size for p in files) / 1e6, 1),
            "viewer_browser": open_in_chromium(site_dir / "site.html", first)}


def _write_html(result, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of writing report.html (+ sites/) as the CLI does."""
    from ecogis.render.outputs import write_outputs

    t, c = time.perf_counter(), time.process_time()
    write_outputs(result, out, formats=["html"])
    return time.perf_counter() - t, time.process_time() - c


def run(n: int, keep: Path | None = None) -> dict:
    import ecogis
    from ecogis.render.outputs import write_outputs

    sites = synth_sites(n)
    t = time.perf_counter()
    result = ecogis.screen(sites, WS, progress=False)
    t_screen = time.perf_counter() - t
    out = Path(tempfile.mkdtemp(prefix=f"report{n}_"))
    t_html, c_html = _write_html(result, out)
    t = time.perf_counter()
    write_outputs(result, out, formats=["xlsx"])
    t_xlsx = time.perf_counter() - t
    rec = {
        "sites": n, "findings": int(len(result.findings)), "screen_s": round(t_screen, 2),
        "write_html_s": round(t_html, 2), "write_html_cpu_s": round(c_html, 2), "write_xlsx_s": round(t_xlsx, 2),
        "report_mb": round((out / "report.html").stat().st_size / 1e6, 3),
        "xlsx_mb": round((out / "findings.xlsx").stat().st_size / 1e6, 2),
        "browser": open_in_chromium(out / "report.html"),
    }
    rec.update(_viewer(out))
    if keep:
        shutil.copytree(out, keep / f"report{n}", dirs_exist_ok=True)
    shutil.rmtree(out, ignore_errors=True)
    return rec


def run_pickled(path: Path, repeat: int = 3) -> dict:
    """A pickled screening result (``ecogis.screen``'s object): report.html + sites/ written ``repeat`` times."""
    import pickle

    with open(path, "rb") as fh:
        result = pickle.load(fh)  # noqa: S301 (a file the user names)
    out = Path(tempfile.mkdtemp(prefix="report_pkl_"))
    times = [_write_html(result, out) for _ in range(repeat)]
    rec = {"result": path.name, "sites": int(len(result.sites)), "findings": int(len(result.findings)),
           "write_html_s": round(min(t for t, _ in times), 2), "write_html_cpu_s": round(min(c for _, c in times), 2),
           "report_mb": round((out / "report.html").stat().st_size / 1e6, 3),
           "browser": open_in_chromium(out / "report.html")}
    rec.update(_viewer(out))
    shutil.rmtree(out, ignore_errors=True)
    return rec


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("sizes", nargs="*", type=int, default=[])
    ap.add_argument("--record", action="store_true", help="write benchmarks/report_results.json")
    ap.add_argument("--keep", type=Path, help="copy the outputs here")
    ap.add_argument("--result", type=Path, action="append", default=[],
                    help="also time a pickled ScreenResult (repeatable)")
    a = ap.parse_args(argv)
    if not a.sizes and not a.result:
        a.sizes = [2000, 40000]
    results = []
    for path in a.result:
        rec = run_pickled(path)
        print(json.dumps(rec, ensure_ascii=False))
        results.append(rec)
    for n in a.sizes:
        rec = run(n, a.keep)
        print(json.dumps(rec, ensure_ascii=False))
        results.append(rec)
    if a.record:
        (REPO / "benchmarks" / "report_results.json").write_text(
            json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
