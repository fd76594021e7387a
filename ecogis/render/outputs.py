"""Write a screening result to a folder: report.html, findings.json, findings.xlsx, conflicts.gpkg."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import geopandas as gpd

from ecogis.errors import InputError

FORMATS = ("html", "json", "xlsx", "gpkg")


def context_layers(result) -> dict[str, gpd.GeoDataFrame]:
    """The workspace features that the findings name, per layer kind."""
    from ecogis.workspace import open_workspace

    if not len(result.findings):
        return {}
    ws = open_workspace(result.meta["workspace"])
    out = {}
    for kind, grp in result.findings.groupby("layer_kind"):
        feats = ws.read(kind, bbox=tuple(result.findings.total_bounds))
        keep = feats["fid"].isin(set(grp["feature_id"].tolist()))
        out[str(kind)] = feats[keep]
    return out


def review_map_html(result, *, lang: str = "zh") -> str:
    """The self-contained review map of all sites and findings."""
    from ecogis.render.webmap import review_map, to_html

    m = review_map(result.sites, result.findings, context_layers(result), lang=lang)
    return to_html(m)


def write_outputs(result, out_dir: str | Path, *, formats: Iterable[str] = FORMATS, lang: str = "zh") -> list[Path]:
    """Write the chosen outputs into ``out_dir``; return the paths written."""
    from ecogis.render.report import findings_document, write_gpkg, write_json, write_xlsx
    from ecogis.render.report_html import write_report

    fmts = [f.strip().lower() for f in formats if f.strip()]
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise InputError(f"unknown output format {', '.join(bad)}", hint=f"choose from {', '.join(FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "json" in fmts:
        written.append(write_json(result, out / "findings.json"))
    if "xlsx" in fmts:
        written.append(write_xlsx(result, out / "findings.xlsx", lang=lang))
    if "gpkg" in fmts:
        written.append(write_gpkg(result, out / "conflicts.gpkg"))
    if "html" in fmts:
        doc = findings_document(result)
        written.append(write_report(doc, out / "report.html", lang=lang, map_html=review_map_html(result, lang=lang)))
    return written
