"""Access lists at scale: import a 5,000-item list for 1,000 units, and the cost it adds to a single-site screen.

    python benchmarks/accesslist_bench.py [--items 5000] [--units 1000] [--runs 15] [--out benchmarks/accesslist_results.json]

Builds (in a temp folder) a workspace whose ``control_unit`` layer holds
``--units`` grid cells with real-pattern codes across 10 counties, and a list
of ``--items`` items drawn from realistic wordings (numbered multi-line cells,
four dimension columns, as XLSX and as a GBK CSV).  Times:

* ``import_xlsx`` / ``import_csv`` — ``import_accesslist`` end to end (read, parse, check, store);
* ``screen_access`` — the access-list judgment of one site (p50/p95 over ``--runs`` random sites);
* ``screen_with`` / ``screen_without`` — ``ecogis.screen`` of one site with the table present and
  absent (same workspace otherwise); their difference is the cost a screen pays.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

WORDINGS = [
    "禁止新建、扩建{a}项目", "严禁新建{a}、{b}项目", "不得新建{a}项目，{c}除外", "原则上不再新建{a}项目",
    "严格控制{a}项目规模", "限制新建{a}项目", "新建{a}项目须进入依法合规设立的产业园区", "禁止新建每小时{n}蒸吨以下燃煤锅炉",
    "除国家重大项目外，禁止新建{a}项目", "禁止在城市建成区新建{a}项目", "推进{a}企业清洁生产改造", "加强环境风险隐患排查整治",
    "落实生态环境保护基本要求", "新、改、扩建项目优先利用污水处理厂再生水", "禁止新建{a}、{b}等高污染项目",
]
INDUSTRIES = ["化工", "焦化", "电石", "水泥", "钢铁", "电解铝", "有色金属冶炼", "造纸", "制革", "印染", "电镀", "煤化工",
              "火电", "畜禽养殖", "砂石", "露天矿", "平板玻璃", "危险废物处置", "铁合金", "高耗水"]
DIMS = ["空间布局约束", "污染物排放管控", "环境风险防控", "资源利用效率"]
COUNTIES = ["150781", "150785", "152202", "152502", "150702", "150721", "150722", "150723", "150724", "150725"]


def build(tmp: Path, n_units: int, n_items: int, seed: int = 7):
    import csv
    import io

    import geopandas as gpd
    import openpyxl
    import shapely

    from ecogis.workspace import open_workspace

    rnd = random.Random(seed)
    codes, geoms, classes = [], [], []
    side = int(n_units ** 0.5) + 1
    for i in range(n_units):
        cls = "123"[i % 3]
        county = COUNTIES[i % len(COUNTIES)]
        codes.append(f"ZH{county}{cls}{i // len(COUNTIES) + 1:04d}")
        classes.append({"1": "优先保护", "2": "重点管控", "3": "一般管控"}[cls])
        x, y = 117.0 + 0.05 * (i % side), 43.0 + 0.05 * (i // side)
        geoms.append(shapely.box(x, y, x + 0.05, y + 0.05))
    units = gpd.GeoDataFrame({"code": codes, "name": [f"单元{c}" for c in codes], "class": classes}, geometry=geoms,
                             crs=4490)
    ws_path = tmp / "ws.gpkg"
    open_workspace(ws_path, create=True).write("control_unit", units, source="bench", version="b", replace=True)
    per = n_items // n_units
    rows = []
    for c, k in zip(codes, classes):
        cells = {d: [] for d in DIMS}
        for j in range(per):
            w = rnd.choice(WORDINGS).format(a=rnd.choice(INDUSTRIES), b=rnd.choice(INDUSTRIES), c=rnd.choice(INDUSTRIES),
                                            n=rnd.choice([10, 20, 35, 65]))
            cells[DIMS[j % 4]].append(w)
        rows.append([c, f"单元{c}", k + "单元"] + ["\n".join(f"{i + 1}.{t}。" for i, t in enumerate(cells[d])) for d in DIMS])
    head = ["环境管控单元编码", "环境管控单元名称", "管控单元类别"] + DIMS
    wb = openpyxl.Workbook()
    sh = wb.active
    sh.append(head)
    for r in rows:
        sh.append(r)
    xlsx = tmp / "big.xlsx"
    wb.save(xlsx)
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(head)
    w.writerows(rows)
    csv_path = tmp / "big.csv"
    csv_path.write_bytes(buf.getvalue().encode("gbk"))
    return ws_path, xlsx, csv_path, units


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--items", type=int, default=5000)
    ap.add_argument("--units", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--out", default=str(HERE / "accesslist_results.json"))
    a = ap.parse_args(argv)

    import geopandas as gpd
    import shapely

    import ecogis
    from ecogis.accesslist import import_accesslist, screen_access

    tmp = Path(tempfile.mkdtemp(prefix="ecogis-acc-"))
    try:
        ws, xlsx, csv_path, units = build(tmp, a.units, a.items)
        bare = tmp / "bare.gpkg"
        shutil.copy2(ws, bare)
        t0 = time.perf_counter()
        rep = import_accesslist(xlsx, ws)
        t_xlsx = time.perf_counter() - t0
        ws2 = tmp / "ws2.gpkg"
        shutil.copy2(bare, ws2)
        t0 = time.perf_counter()
        rep2 = import_accesslist(csv_path, ws2)
        t_csv = time.perf_counter() - t0
        rnd = random.Random(1)
        picks = [rnd.randrange(len(units)) for _ in range(a.runs)]
        t_acc, c_acc, t_with, t_without, c_with, c_without = [], [], [], [], [], []
        for i in picks:
            g = units.geometry.iloc[i]
            p = shapely.buffer(g.centroid, 0.002)
            site = gpd.GeoDataFrame({"site_id": ["B"], "name": ["b"], "industry": ["C2614"], "nature": ["新建"]},
                                    geometry=[p], crs=4490)
            from ecogis.screening.sites import prepare_sites

            prepared = prepare_sites(site)
            t0, c0 = time.perf_counter(), time.process_time()
            screen_access(prepared, ws)
            t_acc.append(time.perf_counter() - t0)
            c_acc.append(time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            ecogis.screen(site, ws, progress=False)
            t_with.append(time.perf_counter() - t0)
            c_with.append(time.process_time() - c0)
            t0, c0 = time.perf_counter(), time.process_time()
            ecogis.screen(site, bare, progress=False)
            t_without.append(time.perf_counter() - t0)
            c_without.append(time.process_time() - c0)

        def q(xs, f):
            xs = sorted(xs)
            return round(1000 * xs[min(len(xs) - 1, int(f * len(xs)))], 2)

        res = {
            "items": rep.items, "units": a.units, "runs": a.runs,
            "import_xlsx_s": round(t_xlsx, 3), "import_csv_s": round(t_csv, 3),
            "coverage": rep.coverage.as_dict(), "coverage_csv": rep2.coverage.as_dict(),
            "screen_access_ms_p50": q(t_acc, 0.5), "screen_access_ms_p95": q(t_acc, 0.95),
            "screen_with_ms_p50": q(t_with, 0.5), "screen_without_ms_p50": q(t_without, 0.5),
            "screen_added_ms_p50": round(1000 * (statistics.median(t_with) - statistics.median(t_without)), 2),
            "screen_access_cpu_ms_p50": q(c_acc, 0.5), "screen_access_cpu_ms_p95": q(c_acc, 0.95),
            "screen_added_cpu_ms_p50": round(1000 * (statistics.median(c_with) - statistics.median(c_without)), 2),
            "load_average": [round(x, 2) for x in os.getloadavg()], "cpus": os.cpu_count(),
            "python": platform.python_version(), "machine": platform.machine(),
        }
        Path(a.out).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
        print(json.dumps(res, ensure_ascii=False, indent=2))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
