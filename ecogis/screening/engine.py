"""The screening engine.

For every layer kind the rules name, the engine:

1. reads the layer's features within the sites' bounding box (padded by the
   largest rule distance);
2. evaluates which rules apply to which sites (``R × S``) and which features
   each rule tests (``R × F``) as boolean matrices;
3. finds candidate (site, feature) pairs in one bulk ``STRtree.query`` —
   ``intersects`` for overlap rules, ``dwithin`` in a local Gauss-Krüger CRS
   for distance rules — keeps the pairs some rule needs, and computes exact
   overlaps only for those (a site wholly inside a feature is its own overlap);
4. applies each rule's spatial test to its pairs with array operations.

No Python loop runs over geometry pairs.  Areas are ellipsoidal on the
CGCS2000 ellipsoid; distances are ellipsoidal lengths of the shortest line
found in the local Gauss-Krüger projection.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from dataclasses import dataclass, field
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from ecogis import __version__
from ecogis.errors import InputError
from ecogis.normalise.area import AREA_METHOD_TEXT, area_ha, ha_to_mu
from ecogis.notes import Notes
from ecogis.screening.pairs import overlay_pairs
from ecogis.screening.geometry import (
    degrees_for_metres,
    from_metric,
    geodesic_distance,
    geodesic_length,
    metric_crs_for,
    to_metric,
)
from ecogis.settings import settings
from ecogis.workspace import Workspace, open_workspace

SEVERITIES = ("prohibited", "restricted", "review", "notice")
SEVERITY_RANK = {"prohibited": 4, "restricted": 3, "review": 2, "notice": 1, "clear": 0, "not_covered": -1}
SEVERITY_TEXT = {
    "prohibited": {"zh": "禁止", "en": "Prohibited"},
    "restricted": {"zh": "限制", "en": "Restricted"},
    "review": {"zh": "需论证", "en": "Needs review"},
    "notice": {"zh": "提示", "en": "Notice"},
    "clear": {"zh": "未发现冲突", "en": "Clear"},
    "not_covered": {"zh": "超出数据覆盖范围", "en": "Not covered by the data"},
}
OVERLAP_TESTS = ("intersects", "within", "overlap_share")
OUTSIDE_TESTS = ("outside",)
FINDING_COLUMNS = [
    "site_id", "site_name", "rule_id", "rule_title", "severity", "layer_kind", "feature_id", "feature_name",
    "zone", "feature_code", "overlap_ha", "overlap_mu", "overlap_pct", "overlap_length_m", "distance_m",
    "basis", "message", "next_steps", "rule_file", "source",
]


@dataclass
class ScreenResult:
    """What :func:`screen` returns.

    Attributes
    ----------
    sites:
        The sites with ``area_ha``, ``verdict``, ``coverage``, ``covered_pct``,
        ``checked_layers`` and ``not_evaluated`` columns.
    findings:
        One row per (site, rule, feature) conflict, with the overlap polygon
        (or, for distance rules, the shortest line) as geometry, EPSG:4490.
    not_evaluated:
        Rules whose layer is missing from the workspace.
    meta:
        Versions and checksums: ecogis, every layer used, every rule file, the
        inputs; the area method; the time.
    """

    sites: gpd.GeoDataFrame
    findings: gpd.GeoDataFrame
    not_evaluated: pd.DataFrame
    meta: dict[str, Any]
    notes: Notes = field(default_factory=Notes)

    @property
    def verdicts(self) -> pd.DataFrame:
        cols = ["site_id", "name", "industry", "nature", "area_ha", "verdict", "coverage", "covered_pct",
                "checked_layers", "not_evaluated"]
        return pd.DataFrame(self.sites[[c for c in cols if c in self.sites.columns]])

    def site_findings(self, site_id: str) -> gpd.GeoDataFrame:
        return self.findings[self.findings["site_id"] == site_id]


def _test_of(rule) -> tuple[str, float | None]:
    """The rule's spatial test as ``(name, value)``."""
    t = rule.test
    if isinstance(t, str):
        return t, None
    if isinstance(t, dict):
        (name, value), = t.items()
        return str(name), (None if value is None else float(value))
    name = getattr(t, "kind", None) or getattr(t, "name")
    value = getattr(t, "value", None)
    return str(name), (None if value is None else float(value))


def _progress(iterable, total: int, enabled: bool, desc: str):
    if not enabled:
        return iterable
    from tqdm import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="layer", leave=False)


def screen(
    sites: gpd.GeoDataFrame | str | os.PathLike | Sequence[str | os.PathLike],
    workspace: Any,
    rules: Any = None,
    *,
    overrides: dict[str, Any] | None = None,
    crs: Any = None,
    lang: str | None = None,
    area_method: str = "geodesic",
    progress: bool | None = None,
    threads: int | None = None,
) -> ScreenResult:
    """Screen project sites against a workspace's layers under a set of rules.

    Parameters
    ----------
    sites:
        A GeoDataFrame of sites, or one or more site files (any readable
        format, 国土TXT included).
    workspace:
        A workspace path (``ws.gpkg``) or an open :class:`~ecogis.workspace.Workspace`.
    rules:
        A :class:`~ecogis.rules.RuleSet`, rule file/folder paths, or ``None``
        for the bundled national and local rules.
    overrides:
        Site attributes that fill in or override the files' (``industry``,
        ``nature``, ``name``, ``linear``, ``national_major``, ``unavoidable``,
        ``activity``).
    crs:
        CRS for site files that carry none.
    lang:
        ``zh`` (default) or ``en`` for messages.
    area_method:
        ``geodesic`` (default) or ``equal_area``.
    progress:
        Show a progress bar (default: ``settings.progress``).
    threads:
        Threads for the exact overlaps (default: ``settings.threads``; 0 or
        ``None`` there means every core).  Results do not depend on it.
    """
    lang = lang or settings.lang
    notes = Notes()
    site_gdf, inputs, ws, ruleset = resolve_inputs(sites, workspace, rules, overrides=overrides, crs=crs, notes=notes)
    progress = settings.progress if progress is None else progress
    return _run(site_gdf, ws, ruleset, lang=lang, area_method=area_method, progress=progress,
                inputs=inputs, notes=notes, threads=threads)


def resolve_inputs(sites, workspace, rules, *, overrides=None, crs=None, notes: Notes):
    """Sites, their input checksums, the open workspace and the rule set, as every engine needs them.

    Without ``rules`` the bundled national rules and the local rules of the
    workspace's own city are used.
    """
    from ecogis.rules import RuleSet, load_rules
    from ecogis.screening.sites import load_sites, prepare_sites

    if isinstance(sites, gpd.GeoDataFrame):
        site_gdf = prepare_sites(sites, overrides=overrides, notes=notes)
        inputs: list[dict[str, str]] = []
    else:
        paths = [sites] if isinstance(sites, (str, os.PathLike)) else list(sites)
        site_gdf = load_sites(paths, crs=crs, overrides=overrides, notes=notes)
        inputs = (
            site_gdf[["source_file", "source_sha256"]].drop_duplicates()
            .rename(columns={"source_file": "path", "source_sha256": "sha256"}).to_dict("records")
        )
    ws = open_workspace(workspace)
    if isinstance(rules, RuleSet):
        ruleset = rules
    elif rules is None:
        # the bundled rules' own cases run in the test suite; here only their schema is checked
        ruleset = _local_for_workspace(load_rules(None, check_cases=False), ws, notes)
    else:
        ruleset = load_rules(rules)
    return site_gdf, inputs, ws, ruleset


def _local_for_workspace(ruleset, ws: Workspace, notes: Notes):
    """Keep the national rules and the local rule files of the workspace's own city (by adcode)."""
    import yaml

    from ecogis.rules import RuleSet

    adcodes: set[str] = set()
    if ws.has("admin"):
        admin = ws.read("admin")
        if "adcode" in admin.columns:
            adcodes = {str(a) for a in admin["adcode"].dropna()}
    keep_files, dropped = [], []
    for f in ruleset.files:
        if f.scope != "local":
            keep_files.append(f)
            continue
        adcode = getattr(f, "adcode", None)
        if adcode is None:
            path = settings.rules_dir / f.path if not os.path.isabs(f.path) else f.path
            try:
                adcode = (yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}).get("adcode", "")
            except (OSError, yaml.YAMLError):
                adcode = ""
        if str(adcode) in adcodes:
            keep_files.append(f)
        else:
            dropped.append(f.path)
    if dropped:
        notes.add("rules", "local rule files of other places not applied: " + ", ".join(dropped))
    kept_paths = {f.path for f in keep_files}
    return RuleSet(rules=tuple(r for r in ruleset if r.file in kept_paths), files=tuple(keep_files),
                   parameters=ruleset.parameters, taxonomy=ruleset.taxonomy, activities=ruleset.activities)


def _site_areas(site_gdf: gpd.GeoDataFrame, area_method: str) -> tuple[np.ndarray, np.ndarray]:
    geoms = site_gdf.geometry.values
    dims = shapely.get_dimensions(geoms)
    area = np.zeros(len(geoms))
    poly = dims == 2
    if poly.any():
        area[poly] = area_ha(geoms[poly], 4490, method=area_method)
    length = np.zeros(len(geoms))
    line = dims == 1
    if line.any():
        length[line] = geodesic_length(geoms[line])
    return area, length


def _coverage(ws: Workspace, site_geoms: np.ndarray, site_area: np.ndarray, area_method: str):
    """Coverage of each site by the workspace's data: ``full``, ``partial`` or ``none`` and the covered %."""
    if ws.has("admin"):
        admin = ws.read("admin")
        cover = shapely.union_all(admin.geometry.values)
        basis = "admin layer"
    else:
        boxes = [shapely.box(*li.bounds) for li in ws.layers() if li.bounds]
        cover = shapely.union_all(boxes) if boxes else shapely.Polygon()
        basis = "extent of the layers"
    shapely.prepare(cover)
    covered = shapely.covered_by(site_geoms, cover)
    touches = shapely.intersects(site_geoms, cover)
    status = np.where(covered, "full", np.where(touches, "partial", "none"))
    pct = np.where(covered, 100.0, 0.0)
    part = (~covered) & touches & (site_area > 0)
    if part.any():
        inter = shapely.intersection(site_geoms[part], cover)
        pct[part] = np.round(100.0 * area_ha(inter, 4490, method=area_method) / site_area[part], 3)
    return status, pct, basis


def _feature_attr(feats: pd.DataFrame, idx: np.ndarray, *names: str) -> np.ndarray:
    out = np.full(len(idx), None, dtype=object)
    if len(feats) == 0:
        return out
    valid = idx >= 0
    safe = np.where(valid, idx, 0)
    for n in names:
        if n in feats.columns:
            vals = feats[n].to_numpy(dtype=object)[safe]
            vals = np.where(valid, vals, None)
            fill = pd.isna(out) & ~pd.isna(vals)
            out[fill] = vals[fill]
    return out


def _run(site_gdf, ws: Workspace, ruleset, *, lang, area_method, progress, inputs, notes,
         threads: int | None = None) -> ScreenResult:
    # plain object arrays: shapely ufuncs on them skip pandas' extension-array dispatch (measured ~20 % faster)
    site_geoms = np.asarray(site_gdf.geometry.values, dtype=object)
    n_sites = len(site_gdf)
    if n_sites == 0:
        raise InputError("no sites to screen")
    site_area, site_length = _site_areas(site_gdf, area_method)
    present = set(ws.kinds())
    by_layer: dict[str, list] = {}
    for rule in ruleset:
        by_layer.setdefault(rule.layer, []).append(rule)
    missing_rules = [r for k, rs in by_layer.items() if k not in present for r in rs]
    bounds = tuple(shapely.total_bounds(site_geoms))
    mcrs = metric_crs_for(bounds)
    site_m = to_metric(site_geoms, mcrs)
    site_attrs = pd.DataFrame(site_gdf.drop(columns=site_gdf.geometry.name))

    parts: list[dict[str, Any]] = []
    checked: list[list[str]] = [[] for _ in range(n_sites)]
    layers_used: dict[str, dict[str, Any]] = {}
    kinds = [k for k in by_layer if k in present]
    for kind in _progress(kinds, len(kinds), progress, "screening"):
        rules = by_layer[kind]
        applies = np.vstack([np.asarray(r.applies_mask(site_attrs), dtype=bool) for r in rules])
        any_applies = applies.any(axis=0)
        for i in np.flatnonzero(any_applies):
            checked[i].append(kind)
        info = ws.info(kind)
        layers_used[kind] = {"version": info.version, "sha256": info.sha256, "source": info.source,
                             "imported_at": info.imported_at, "feature_count": info.feature_count}
        if not any_applies.any():
            continue
        tests = [_test_of(r) for r in rules]
        dmax = max([v for t, v in tests if t == "within_distance"] + [0.0])
        lat = 0.5 * (bounds[1] + bounds[3])
        pad = degrees_for_metres(dmax, lat) if dmax else 1e-6
        feats = ws.read(kind, bbox=(bounds[0] - pad, bounds[1] - pad, bounds[2] + pad, bounds[3] + pad))
        ov = [i for i, (t, _) in enumerate(tests) if t in OVERLAP_TESTS]
        dist = [i for i, (t, _) in enumerate(tests) if t == "within_distance"]
        outs = [i for i, (t, _) in enumerate(tests) if t in OUTSIDE_TESTS]
        unknown = [rules[i].id for i, (t, _) in enumerate(tests)
                   if t not in OVERLAP_TESTS + OUTSIDE_TESTS and t != "within_distance"]
        if unknown:
            raise InputError(f"rules with an unknown spatial test: {', '.join(unknown)}")
        fmask = np.vstack([np.asarray(r.feature_mask(feats), dtype=bool) for r in rules]) if len(feats) else \
            np.zeros((len(rules), 0), dtype=bool)
        fgeoms = np.asarray(feats.geometry.values, dtype=object)
        if outs:
            parts += _outside_findings(
                kind, [rules[i] for i in outs], applies[outs], fmask[outs], site_geoms, fgeoms, site_area, area_method,
                feats,
            )
        if len(feats) == 0:
            continue
        if ov:
            parts += _overlap_findings(
                kind, [rules[i] for i in ov], [tests[i] for i in ov], applies[ov], fmask[ov],
                site_geoms, fgeoms, site_area, site_length, area_method, threads=threads,
            )
        if dist:
            parts += _distance_findings(
                kind, [rules[i] for i in dist], [tests[i] for i in dist], applies[dist], fmask[dist],
                site_geoms, site_m, fgeoms, mcrs,
            )
        for p in parts:
            if p["kind"] == kind and "feats" not in p:
                p["feats"] = feats

    findings = _assemble(parts, site_gdf, site_area, lang)
    coverage, covered_pct, cover_basis = _coverage(ws, site_geoms, site_area, area_method)
    out_sites = site_gdf.copy()
    out_sites["area_ha"] = np.round(site_area, 4)
    out_sites["area_mu"] = np.round(ha_to_mu(site_area), 4)
    out_sites["length_m"] = np.round(site_length, 1)
    out_sites["coverage"] = coverage
    out_sites["covered_pct"] = covered_pct
    out_sites["checked_layers"] = [", ".join(sorted(c)) for c in checked]
    ne_per_site = _not_evaluated_per_site(missing_rules, site_attrs)
    out_sites["not_evaluated"] = ne_per_site
    out_sites["verdict"] = _verdicts(findings, out_sites)
    not_eval = pd.DataFrame(
        [{"rule_id": r.id, "layer_kind": r.layer, "rule_file": getattr(r, "file", ""), "severity": r.severity}
         for r in missing_rules],
        columns=["rule_id", "layer_kind", "rule_file", "severity"],
    )
    meta = {
        "ecogis_version": __version__,
        "generated_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "workspace": ws.uri,
        "layers": layers_used,
        "rule_files": _rule_files(ruleset),
        "inputs": inputs,
        "area_method": area_method,
        "area_method_text": AREA_METHOD_TEXT[area_method],
        "distance_method": f"ellipsoidal length of the shortest line found in {mcrs.name}",
        "coverage_basis": cover_basis,
        "lang": lang,
        "not_evaluated_rules": not_eval["rule_id"].tolist(),
    }
    from ecogis.accesslist.screen import screen_access  # 准入清单 item by item (issue 15)

    return screen_access(ScreenResult(sites=out_sites, findings=findings, not_evaluated=not_eval, meta=meta,
                                      notes=notes), ws, lang=lang)


def _rule_files(ruleset) -> list[dict[str, Any]]:
    files = getattr(ruleset, "files", None)
    out = []
    for f in files or []:
        if isinstance(f, dict):
            out.append(f)
        else:
            out.append({k: getattr(f, k) for k in ("path", "sha256", "version", "title", "rule_count") if hasattr(f, k)})
    return out


def _not_evaluated_per_site(missing_rules: list, site_attrs: pd.DataFrame) -> list[str]:
    if not missing_rules:
        return [""] * len(site_attrs)
    masks = np.vstack([np.asarray(r.applies_mask(site_attrs), dtype=bool) for r in missing_rules])
    ids = np.array([r.id for r in missing_rules], dtype=object)
    return [", ".join(ids[masks[:, i]]) for i in range(len(site_attrs))]


def _candidate_pairs(features, sites, applies, fmask, **query):
    """(site, feature) index pairs from one bulk STRtree query, kept only where some rule needs them.

    Without a predicate the query is by bounding box; the exact test is then
    :func:`ecogis.screening.pairs.overlay_pairs`, with the features (the large
    polygons) prepared rather than the small sites.
    """
    s_idx, f_idx = STRtree(features).query(sites, **query)
    if len(s_idx):
        need = (applies[:, s_idx] & fmask[:, f_idx]).any(axis=0)
        s_idx, f_idx = s_idx[need], f_idx[need]
    return s_idx, f_idx


def _overlap_findings(kind, rules, tests, applies, fmask, site_geoms, fgeoms, site_area, site_length, area_method,
                      threads=None):
    s_idx, f_idx = _candidate_pairs(fgeoms, site_geoms, applies, fmask)
    if len(s_idx) == 0:
        return []
    # inside: the feature covers the site (the overlap is the site); hit: they intersect at all
    inside, hit, inter, part_ha = overlay_pairs(
        site_geoms, fgeoms, s_idx, f_idx, area=lambda g: area_ha(g, 4490, method=area_method), threads=threads)
    s_idx, f_idx, inside, inter, part_ha = s_idx[hit], f_idx[hit], inside[hit], inter[hit], part_ha[hit]
    if len(s_idx) == 0:
        return []
    a, b = site_geoms[s_idx], fgeoms[f_idx]
    dims = shapely.get_dimensions(a)
    ov_ha = np.zeros(len(a))
    ov_len = np.zeros(len(a))
    poly = dims == 2
    if poly.any():
        ov_ha[poly] = np.where(inside[poly], site_area[s_idx[poly]], part_ha[poly])
    line = dims == 1
    if line.any():
        ov_len[line] = np.where(inside[line], site_length[s_idx[line]], geodesic_length(inter[line]))
    # Interiors must meet: touching boundaries are no conflict.  Between polygons that is "inside or
    # overlap area > 0"; with a line or point on either side it takes the DE-9IM test.
    both_poly = poly & (shapely.get_dimensions(b) == 2)
    real = np.ones(len(a), dtype=bool)
    real[both_poly] = inside[both_poly] | (ov_ha[both_poly] > 0)
    other = ~both_poly
    if other.any():
        real[other] = shapely.relate_pattern(a[other], b[other], "T********")
    s_idx, f_idx, inside, inter, ov_ha, ov_len = (x[real] for x in (s_idx, f_idx, inside, inter, ov_ha, ov_len))
    if len(s_idx) == 0:
        return []
    out = []
    for r, (test, value), app, fm in zip(rules, tests, applies, fmask):
        sel = app[s_idx] & fm[f_idx]
        if test == "within":
            sel &= inside
        elif test == "overlap_share":
            share = np.zeros(len(site_area))
            np.add.at(share, s_idx[sel], ov_ha[sel])
            with np.errstate(divide="ignore", invalid="ignore"):
                frac = np.where(site_area > 0, share / site_area, 0.0)
            sel &= frac[s_idx] >= (value or 0.0)
        if sel.any():
            out.append({"kind": kind, "rule": r, "s": s_idx[sel], "f": f_idx[sel], "geom": inter[sel],
                        "overlap_ha": ov_ha[sel], "overlap_len": np.where(ov_len[sel] > 0, ov_len[sel], np.nan),
                        "distance": np.full(int(sel.sum()), np.nan)})
    return out


def _outside_findings(kind, rules, applies, fmask, site_geoms, fgeoms, site_area, area_method, feats):
    """Sites (partly) outside every matching feature: the finding's overlap is the area outside."""
    n = len(site_geoms)
    if len(fgeoms):
        s_idx, f_idx = STRtree(fgeoms).query(site_geoms, predicate="intersects")
    else:
        s_idx = f_idx = np.zeros(0, dtype=int)
    inter_ha = np.zeros(len(s_idx))
    if len(s_idx):
        inside = shapely.covered_by(site_geoms[s_idx], fgeoms[f_idx])
        inter_ha = np.where(inside, site_area[s_idx], 0.0)
        part = ~inside
        if part.any():
            inter_ha[part] = area_ha(shapely.intersection(site_geoms[s_idx[part]], fgeoms[f_idx[part]]), 4490,
                                     method=area_method)
    out = []
    for r, app, fm in zip(rules, applies, fmask):
        sel = fm[f_idx] if len(f_idx) else np.zeros(0, dtype=bool)
        covered = np.zeros(n)
        np.add.at(covered, s_idx[sel], inter_ha[sel])
        outside = np.clip(site_area - covered, 0.0, None)
        hit = app & (outside > np.maximum(1e-6 * site_area, 1e-6))
        # points and lines: outside when they touch no matching feature at all
        no_area = site_area <= 0
        if no_area.any():
            touched = np.zeros(n, dtype=bool)
            touched[s_idx[sel]] = True
            hit |= app & no_area & ~touched
        idx = np.flatnonzero(hit)
        if len(idx):
            out.append({"kind": kind, "rule": r, "s": idx, "f": np.full(len(idx), -1), "geom": site_geoms[idx],
                        "overlap_ha": outside[idx], "overlap_len": np.full(len(idx), np.nan),
                        "distance": np.full(len(idx), np.nan), "feats": feats})
    return out


def _distance_findings(kind, rules, tests, applies, fmask, site_geoms, site_m, fgeoms, mcrs):
    fm_geoms = to_metric(fgeoms, mcrs)
    dmax = max(v for _, v in tests)
    s_idx, f_idx = _candidate_pairs(fm_geoms, site_m, applies, fmask, predicate="dwithin", distance=dmax * 1.01 + 1.0)
    if len(s_idx) == 0:
        return []
    lines_m = shapely.shortest_line(site_m[s_idx], fm_geoms[f_idx])
    lines = from_metric(lines_m, mcrs)
    dist = geodesic_distance(lines)
    touching = shapely.intersects(site_geoms[s_idx], fgeoms[f_idx])
    dist[touching] = 0.0
    geom = lines.copy()
    if touching.any():
        geom[touching] = shapely.intersection(site_geoms[s_idx][touching], fgeoms[f_idx][touching])
    out = []
    for r, (_, value), app, fm in zip(rules, tests, applies, fmask):
        sel = app[s_idx] & fm[f_idx] & (dist <= value)
        if sel.any():
            out.append({"kind": kind, "rule": r, "s": s_idx[sel], "f": f_idx[sel], "geom": geom[sel],
                        "overlap_ha": np.full(int(sel.sum()), np.nan), "overlap_len": np.full(int(sel.sum()), np.nan),
                        "distance": dist[sel]})
    return out


def _assemble(parts: list[dict[str, Any]], site_gdf: gpd.GeoDataFrame, site_area: np.ndarray, lang: str):
    if not parts:
        return gpd.GeoDataFrame(columns=FINDING_COLUMNS, geometry=gpd.GeoSeries([], crs=4490), crs=4490)
    frames = []
    site_ids = site_gdf["site_id"].to_numpy(dtype=object)
    site_names = site_gdf["name"].to_numpy(dtype=object)
    for p in parts:
        r, s, f, feats = p["rule"], p["s"], p["f"], p["feats"]
        ov = p["overlap_ha"]
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(site_area[s] > 0, 100.0 * ov / site_area[s], np.nan)
        frames.append(pd.DataFrame({
            "site_id": site_ids[s],
            "site_name": site_names[s],
            "rule_id": r.id,
            "rule_title": r.title_zh if lang == "zh" else r.title_en,
            "severity": r.severity,
            "layer_kind": p["kind"],
            "feature_id": _feature_attr(feats, f, "fid"),
            "feature_name": _feature_attr(feats, f, "name"),
            "zone": _feature_attr(feats, f, "zone", "grade", "class", "level"),
            "feature_code": _feature_attr(feats, f, "code"),
            "overlap_ha": np.round(ov, 4),
            "overlap_mu": np.round(ha_to_mu(ov), 4),
            "overlap_pct": np.round(pct, 3),
            "overlap_length_m": np.round(p["overlap_len"], 1),
            "distance_m": np.round(p["distance"], 1),
            "basis": r.basis,
            "rule_file": str(getattr(r, "file", "")),
            "source": _source_text(r),
            "_rule": [r] * len(s),
            "geometry": p["geom"],
        }))
    df = pd.concat(frames, ignore_index=True)
    df["message"] = [_message(rule, rec, lang) for rule, rec in zip(df["_rule"], df.to_dict("records"))]
    df["next_steps"] = [_next_steps(rule, lang) for rule in df["_rule"]]
    df = df.drop(columns=["_rule"])
    rank = df["severity"].map(SEVERITY_RANK)
    df = df.assign(_rank=-rank).sort_values(["site_id", "_rank", "rule_id", "feature_name"], kind="stable")
    df = df.drop(columns=["_rank"]).reset_index(drop=True)
    return gpd.GeoDataFrame(df[FINDING_COLUMNS + ["geometry"]], geometry="geometry", crs=4490)


def _source_text(rule) -> str:
    src = getattr(rule, "source", None)
    if not src:
        return ""
    if isinstance(src, dict):
        return f"{src.get('file', '')} L{src.get('line', '')}".strip()
    file_, line = getattr(src, "file", ""), getattr(src, "line", "")
    return f"{file_} L{line}" if file_ else str(src)


def _fmt(v: Any, nd: int = 2) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "—"
    if isinstance(v, (float, np.floating)):
        return f"{v:,.{nd}f}"
    return str(v)


def _message(rule, rec: dict[str, Any], lang: str) -> str:
    values = {
        "site_name": rec["site_name"], "site_id": rec["site_id"], "feature_name": _fmt(rec["feature_name"]),
        "zone": _fmt(rec["zone"]), "grade": _fmt(rec["zone"]), "class": _fmt(rec["zone"]),
        "layer_kind": rec["layer_kind"], "overlap_ha": _fmt(rec["overlap_ha"], 4),
        "overlap_mu": _fmt(rec["overlap_mu"], 2), "overlap_pct": _fmt(rec["overlap_pct"], 2),
        "distance_m": _fmt(rec["distance_m"], 0), "feature_code": _fmt(rec["feature_code"]),
        "rule_id": rec["rule_id"],
    }
    return rule.render_message(lang, **values)


def _next_steps(rule, lang: str) -> str:
    steps = getattr(rule, "next_steps_zh" if lang == "zh" else "next_steps_en", None) or []
    return "；".join(steps) if lang == "zh" else "; ".join(steps)


def _verdicts(findings: gpd.GeoDataFrame, sites: gpd.GeoDataFrame) -> np.ndarray:
    worst = np.zeros(len(sites), dtype=int)
    if len(findings):
        ranks = findings.groupby("site_id")["severity"].agg(lambda s: max(SEVERITY_RANK[v] for v in s))
        worst = sites["site_id"].map(ranks).fillna(0).astype(int).to_numpy()
    names = {v: k for k, v in SEVERITY_RANK.items()}
    verdict = np.array([names[w] for w in worst], dtype=object)
    partial = sites["coverage"].to_numpy() != "full"
    # Off coverage a site is never clear; only a prohibition found on the covered part stands.
    verdict[partial & (worst < SEVERITY_RANK["prohibited"])] = "not_covered"
    return verdict
