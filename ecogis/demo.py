"""``ecogis demo``: the main job on the bundled sample data.

Loads (or builds, if missing) the sample workspaces of the four seed cities
and prints a per-city summary: layers and feature counts, the red-line share
computed from the data beside the plan figure, and the control units by
class.  The same summary is written to ``out/summary.json`` and
``out/summary.md``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import shapely

from ecogis.errors import WorkspaceError
from ecogis.fileutil import write_text_atomic
from ecogis.settings import checkout_root, settings
from ecogis.workspace import open_workspace


def load_cities() -> dict[str, dict[str, Any]]:
    """The seed cities and their plan figures (``layers/cities.yaml``)."""
    path = settings.sample_dir.parent / "cities.yaml"
    from ecogis.rules.yamlio import read_mapping

    return read_mapping(path, "city list")["cities"]


def ensure_samples(sample_dir: Path) -> None:
    """Build the sample workspaces if any is missing."""
    cities = load_cities()
    missing = [c for c in cities if not (sample_dir / f"{c}.gpkg").exists()]
    if not missing:
        return
    root = checkout_root()
    if root is None:  # an installed wheel: it ships the samples, but this folder lacks them
        raise WorkspaceError(f"sample workspaces missing: {', '.join(missing)}", path=sample_dir,
                             hint=f"the package's own are in {settings.sample_dir}; building them needs a checkout")
    script = root / "scripts" / "build_sample_layers.py"
    print(f"building sample workspaces ({', '.join(missing)} missing) …", flush=True)
    done = subprocess.run([sys.executable, str(script), "--out", str(sample_dir)], check=False)
    if done.returncode != 0:
        raise WorkspaceError("building the sample workspaces failed", path=script)


def city_summary(key: str, city: dict[str, Any], gpkg: Path) -> dict[str, Any]:
    """Summary figures of one city's workspace."""
    from ecogis.normalise.area import geodesic_area

    ws = open_workspace(gpkg)
    layers = {li.kind: li.feature_count for li in ws.layers()}
    admin = ws.read("admin")
    city_km2 = float(geodesic_area(admin.geometry.values, admin.crs).sum()) / 1e6
    red = ws.read("redline")
    red_union = shapely.union_all(red.geometry.values)
    red_km2 = float(geodesic_area([red_union], red.crs).sum()) / 1e6
    units = ws.read("control_unit")
    by_class = {c: int((units["class"] == c).sum()) for c in ("优先保护", "重点管控", "一般管控")}
    plan = city["redline"]
    return {
        "city": key,
        "name_zh": city["name_zh"],
        "name_en": city["name_en"],
        "adcode": city["adcode"],
        "area_km2": round(city_km2, 2),
        "layers": layers,
        "versions": {li.kind: li.version for li in ws.layers()},
        "redline_km2": round(red_km2, 2),
        "redline_share_pct": round(100 * red_km2 / city_km2, 2),
        "plan_redline_km2": plan.get("km2"),
        "plan_redline_share_pct": plan.get("share_pct"),
        "plan_source": plan.get("source"),
        "units_by_class": by_class,
        "plan_units_by_class": city.get("units"),
        "area_method": "geodesic area on the CGCS2000 ellipsoid (面积按CGCS2000椭球面大地线计算)",
    }


def _fmt_plan(s: dict[str, Any]) -> str:
    parts = []
    if s["plan_redline_km2"] is not None:
        parts.append(f"{s['plan_redline_km2']:,.2f} km²")
    if s["plan_redline_share_pct"] is not None:
        parts.append(f"{s['plan_redline_share_pct']:.2f} %")
    return " / ".join(parts) or "no figure in plan"


def render_markdown(summaries: list[dict[str, Any]]) -> str:
    """The summary as a Markdown document (Chinese first, English beside)."""
    lines = [
        "# ecogis 示例数据概况 / sample workspace summary",
        "",
        "面积按CGCS2000椭球面计算（大地线面积）。Areas are geodesic on the CGCS2000 ellipsoid.",
        "",
        "| 城市 city | 面积 area km² | 红线 red line km² | 红线占比 share % | 规划数字 plan figure | 优先/重点/一般 units | 规划单元 plan units |",
        "|---|---:|---:|---:|---|---|---|",
    ]
    for s in summaries:
        u = s["units_by_class"]
        pu = s["plan_units_by_class"]
        plan_units = "/".join(str(pu[k]) for k in ("优先保护", "重点管控", "一般管控")) if pu else "not given"
        lines.append(
            f"| {s['name_zh']} {s['name_en']} | {s['area_km2']:,.1f} | {s['redline_km2']:,.2f} | "
            f"{s['redline_share_pct']:.2f} | {_fmt_plan(s)} | {u['优先保护']}/{u['重点管控']}/{u['一般管控']} | {plan_units} |"
        )
    lines += ["", "## 图层 / layers", ""]
    for s in summaries:
        lines.append(f"- **{s['name_zh']}**: " + ", ".join(f"{k} {v}" for k, v in sorted(s["layers"].items())))
    return "\n".join(lines) + "\n"


def screen_samples(out: Path, sample: Path, *, lang: str = "zh") -> dict[str, Any]:
    """Screen every sample project site of the four cities; write reports under ``out/screening/<city>/``."""
    import time

    import ecogis
    from ecogis.render.outputs import write_outputs
    from ecogis.screening.engine import SEVERITY_TEXT

    rows = []
    timing = {}
    t_all = time.perf_counter()
    for key, city in load_cities().items():
        sites = sample / "sites" / f"{key}.geojson"
        t0 = time.perf_counter()
        from ecogis.accesslist.samples import with_sample_lists  # a copy with the sample 准入清单 (issue 15)

        result = ecogis.screen(sites, with_sample_lists(key, sample, out / "workspaces"), progress=False, lang=lang)
        timing[key] = round(time.perf_counter() - t0, 3)
        write_outputs(result, out / "screening" / key, lang=lang)
        counts = result.findings["site_id"].value_counts() if len(result.findings) else {}
        for rec in result.sites.to_dict("records"):
            rows.append({
                "city": city["name_zh"], "site_id": rec["site_id"], "name": rec["name"], "industry": rec["industry"],
                "verdict": rec["verdict"], "verdict_zh": SEVERITY_TEXT[rec["verdict"]][lang],
                "findings": int(counts.get(rec["site_id"], 0)), "area_ha": round(float(rec["area_ha"]), 4),
            })
    total = round(time.perf_counter() - t_all, 2)
    lines = [f"{'城市':<6} {'地块':<9} {'结论':<10} {'冲突':>4}  {'面积(公顷)':>12}  项目名称"]
    for r in rows:
        lines.append(f"{r['city']:<6} {r['site_id']:<9} {r['verdict_zh']:<10} {r['findings']:>4}  "
                     f"{r['area_ha']:>12,.4f}  {r['name']}")
    lines.append(f"screened {len(rows)} sites of {len(timing)} cities in {total:.2f} s "
                 f"(per city: {', '.join(f'{k} {v:.2f} s' for k, v in timing.items())})")
    print("\n".join(lines))
    doc = {"sites": rows, "seconds": total, "seconds_per_city": timing}
    write_text_atomic(out / "screening" / "verdicts.json", json.dumps(doc, ensure_ascii=False, indent=2))
    write_text_atomic(out / "screening" / "verdicts.txt", "\n".join(lines) + "\n")
    return doc


def run_demo(out_dir: str | Path = "out", sample_dir: str | Path | None = None) -> list[dict[str, Any]]:
    """Run the demo; return the per-city summaries."""
    sample = Path(sample_dir) if sample_dir else settings.sample_dir
    out = Path(out_dir)
    ensure_samples(sample)
    summaries = []
    for key, city in load_cities().items():
        summaries.append(city_summary(key, city, sample / f"{key}.gpkg"))
    md = render_markdown(summaries)
    print(md)
    write_text_atomic(out / "summary.md", md)
    write_text_atomic(out / "summary.json", json.dumps(summaries, ensure_ascii=False, indent=2))
    print(f"wrote {out / 'summary.md'} and {out / 'summary.json'}\n")
    print("## 项目选址筛查 / screening the sample project sites\n")
    screen_samples(out, sample)
    print(f"reports: {out / 'screening'}/<city>/report.html")
    for step in DEMO_STEPS:
        import importlib

        module, func = step.split(":")
        getattr(importlib.import_module(module), func)(out, sample)
    return summaries


#: Further demo steps, ``"module:function"`` each called as ``function(out_dir, sample_dir)``.
DEMO_STEPS: tuple[str, ...] = ("ecogis.render.publish:demo", "ecogis.patrol.demo:demo")
