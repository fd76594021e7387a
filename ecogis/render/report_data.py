"""The reviewer's report as tables: every value it shows, prepared in grouped, vectorised passes.

:func:`build_model` turns a screening result into what the report templates
and its small JavaScript need:

* the summary (sites by verdict, findings by rule, the worst sites);
* the site table as compact column arrays for the page's JavaScript (one
  entry per site; the one-line conclusion is rebuilt in the page from a
  dictionary of shared text pieces and the site's numbers);
* the overview map (a point per site, the site outlines for small batches,
  the county boundary);
* for the sites shown in detail: the conclusion line, the findings with their
  display text, the site map (the site, the conflict areas, the features it
  touches clipped around it and drawn with their own boundaries only, the
  county boundary) and the 界址点坐标表.

The findings are sorted once by site and severity; every per-site view is a
slice of that one table (offsets from one ``searchsorted``), never a filter
of the whole table per site.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer

from ecogis.read.crs import gk_epsg, gk_zone_for_lon
from ecogis.render import styles
from ecogis.render.report_text import (
    COVERAGE_TEXT, LABELS, PROVISIONAL_TEXT, SEVERITIES, VERDICT_COLOUR, VERDICT_RANK, VERDICT_TEXT, VERDICTS,
    basis_short, clean_official, coverage_basis_text, distance_method_text, kind_text, kinds_text,
)
from ecogis.render.webmap import _js

#: At most this many sites are shown in full inside ``report.html``; larger batches get ``sites/<id>.html``.
INLINE_MAX = 30
#: At most this many per-site pages (the worst sites first).
MAX_SITE_PAGES = 2000
#: At most this many boundary points listed per site.
MAX_COORD_ROWS = 300
#: Site outlines are drawn on the overview map up to this many sites (points always).
OVERVIEW_OUTLINES_MAX = 300
#: The worst sites listed in the summary.
WORST_N = 20


def _col(df: pd.DataFrame, name: str, default: Any = None) -> pd.Series:
    if name in df.columns:
        return df[name]
    return pd.Series([default] * len(df), index=df.index, dtype=object)


def _blank(s: pd.Series) -> np.ndarray:
    v = s.astype(object)
    return (v.isna() | (v.astype(str).str.strip() == "")).to_numpy()


def _text(s: pd.Series) -> pd.Series:
    """Text of a column with blanks as ''."""
    return s.astype(object).where(~_blank(s), "").astype(str)


def _map_unique(s: pd.Series, fn) -> pd.Series:
    """``fn`` applied once per distinct value of ``s`` (rule texts repeat across thousands of findings)."""
    codes, uniq = pd.factorize(s.astype(object), use_na_sentinel=False)
    done = np.empty(len(uniq), dtype=object)
    done[:] = [fn(u) for u in uniq]
    return pd.Series(done[codes] if len(codes) else np.zeros(0, dtype=object), index=s.index, dtype=object)


def _num(x: np.ndarray, d: int) -> np.ndarray:
    """Numbers formatted with thousands separators and ``d`` decimals (vectorised over the array)."""
    x = np.asarray(x, dtype=float)
    out = np.full(len(x), "", dtype=object)
    ok = np.isfinite(x)
    if ok.any():
        out[ok] = pd.Series(x[ok]).map(("{:,.%df}" % d).format).to_numpy()
    return out


def _round_to(x: np.ndarray, d: int) -> np.ndarray:
    """``x`` rounded so that the page's ``toFixed(d)`` and Python's ``format`` show the same digits."""
    x = np.asarray(x, dtype=float)
    out = np.full(len(x), np.nan)
    ok = np.isfinite(x)
    if ok.any():
        out[ok] = pd.Series(x[ok]).map(("{:.%df}" % d).format).astype(float).to_numpy()
    return out


@dataclass
class ReportModel:
    """Everything the report templates render (see :func:`build_model`)."""

    lang: str
    L: dict[str, str]
    meta: dict[str, Any]
    n_sites: int
    summary: dict[str, Any]
    table: dict[str, Any]
    overview: dict[str, Any]
    sections: list[dict[str, Any]] = field(default_factory=list)
    inline: bool = True
    pages_cut: int = 0
    styles: list[dict[str, Any]] = field(default_factory=list)
    max_pages: int = MAX_SITE_PAGES


# --------------------------------------------------------------------------- styles of map features
def _style_table() -> tuple[list[dict[str, Any]], dict[tuple[str, str], int], list[str]]:
    """Leaflet styles of every kind (and class of the kinds with a palette), with their legend labels."""
    table: list[dict[str, Any]] = []
    labels: list[str] = []
    index: dict[tuple[str, str], int] = {}

    def add(key: tuple[str, str], st: styles.ClassStyle, label: str) -> None:
        index[key] = len(table)
        s = styles.leaflet_style(st)
        table.append({"color": s.get("color"), "fillColor": s.get("fillColor"),
                      "fillOpacity": s.get("fillOpacity"), "weight": s.get("weight"),
                      "dashArray": s.get("dashArray")})
        labels.append(label)

    for kind, st in styles.KIND.items():
        add((kind, ""), st, kind)
    for kind, (_, pal) in styles.KIND_PALETTES.items():
        for value, st in pal.items():
            add((kind, value), st, f"{kind}\x00{value}")
    return table, index, labels


STYLE_TABLE, STYLE_INDEX, _STYLE_LABELS = _style_table()
STYLE_DEFAULT = len(STYLE_TABLE)
STYLE_TABLE.append({"color": styles.DEFAULT_STYLE.stroke, "fillColor": styles.DEFAULT_STYLE.fill,
                    "fillOpacity": 0.25, "weight": 1.5, "dashArray": None})


def style_label(idx: int, lang: str) -> str:
    if idx >= len(_STYLE_LABELS):
        return LABELS[lang]["feature"]
    key = _STYLE_LABELS[idx]
    if "\x00" in key:
        kind, value = key.split("\x00", 1)
        st = styles.KIND_PALETTES[kind][1][value]
        return f"{kind_text(kind, lang)}·{st.text(lang)}"
    return kind_text(key, lang)


def _style_idx(kinds: np.ndarray, zones: np.ndarray) -> np.ndarray:
    out = np.empty(len(kinds), dtype=np.int64)
    for i, (k, z) in enumerate(zip(kinds, zones)):  # a dictionary look-up per feature kept on the map
        out[i] = STYLE_INDEX.get((k, z), STYLE_INDEX.get((k, ""), STYLE_DEFAULT))
    return out


# --------------------------------------------------------------------------- findings
# "0.0000公顷（0.00亩）" / "0.0000 ha (0.00 mu)" (with or without a share) in a rule message
_ZERO_AREA = re.compile(r"(?:重叠)?0\.0000\s*(?:公顷|ha)(?:\s*[（(]\s*0\.00\s*(?:亩|mu)[^）)]*[）)])?")


def _finding_text(f: pd.DataFrame, geoms: np.ndarray, site_linear: np.ndarray, lang: str,
                  rule_titles: dict[str, str], site_point: np.ndarray | None = None) -> pd.DataFrame:
    """Display columns of every finding (vectorised)."""
    L = LABELS[lang]
    out = pd.DataFrame(index=f.index)
    sev = _text(_col(f, "severity"))
    out["severity"] = sev
    out["sev_text"] = sev.map(VERDICT_TEXT[lang]).fillna(sev)
    kinds = _text(_col(f, "layer_kind"))
    kind_words = _map_unique(kinds, lambda k: kind_text(k, lang))
    name = _text(_col(f, "feature_name"))
    zone = _text(_col(f, "zone"))
    q0, q1, z0, z1 = ("“", "”", "（", "）") if lang == "zh" else (" “", "”", " (", ")")
    feat = kind_words.where(name == "", kind_words + q0 + name + q1)
    feat = feat.where(zone == "", feat + z0 + zone + z1)
    out["feature"] = feat
    out["kind"] = kinds
    out["zone"] = zone
    out["feature_id"] = _text(_col(f, "feature_id"))

    ha = pd.to_numeric(_col(f, "overlap_ha"), errors="coerce").to_numpy(dtype=float)
    mu = pd.to_numeric(_col(f, "overlap_mu"), errors="coerce").to_numpy(dtype=float)
    pct = pd.to_numeric(_col(f, "overlap_pct"), errors="coerce").to_numpy(dtype=float)
    length = pd.to_numeric(_col(f, "overlap_length_m"), errors="coerce").to_numpy(dtype=float)
    dist = pd.to_numeric(_col(f, "distance_m"), errors="coerce").to_numpy(dtype=float)
    nparts = np.zeros(len(f), dtype=np.int64)
    if len(f):
        g = np.asarray(geoms, dtype=object)
        ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
        nparts[ok] = shapely.get_num_geometries(g[ok])
    crossing = np.isfinite(length) & (length > 0) & (site_linear | ~(np.nan_to_num(ha) > 0))
    overlap = ~crossing & np.isfinite(ha)
    distance = ~crossing & ~overlap & np.isfinite(dist)
    ha2, mu2, pct2 = _round_to(ha, 4), _round_to(mu, 2), _round_to(pct, 2)
    len1, dist0 = _round_to(length, 1), _round_to(dist, 0)
    s_ha, s_mu, s_pct = _num(ha2, 4), _num(mu2, 2), _num(pct2, 2)
    s_len, s_dist = _num(len1, 1), _num(dist0, 0)
    measure = np.full(len(f), "", dtype=object)
    mk = np.zeros(len(f), dtype=np.int64)
    q = np.full((len(f), 3), np.nan)
    tpl_c, tpl_o, tpl_n, tpl_d = L["crossing"], L["overlap"], L["overlap_nopct"], L["distance"]
    for i in np.flatnonzero(crossing):
        measure[i] = tpl_c.format(len=s_len[i], n=max(int(nparts[i]), 1))
    with_pct = overlap & np.isfinite(pct)
    for i in np.flatnonzero(with_pct):
        measure[i] = tpl_o.format(ha=s_ha[i], mu=s_mu[i], pct=s_pct[i])
    for i in np.flatnonzero(overlap & ~with_pct):
        measure[i] = tpl_n.format(ha=s_ha[i], mu=s_mu[i])
    for i in np.flatnonzero(distance):
        measure[i] = tpl_d.format(d=s_dist[i])
    point = overlap & (site_point if site_point is not None else np.zeros(len(f), dtype=bool))
    measure[point] = L["inside_point"]
    mk[with_pct], mk[overlap & ~with_pct], mk[crossing], mk[distance], mk[point] = 1, 2, 3, 4, 5
    q[with_pct] = np.c_[ha2, mu2, pct2][with_pct]
    q[overlap & ~with_pct, :2] = np.c_[ha2, mu2][overlap & ~with_pct]
    q[crossing, 0] = len1[crossing]
    q[crossing, 1] = np.maximum(nparts[crossing], 1)
    q[distance, 0] = dist0[distance]
    out["measure"] = measure
    out["mk"] = mk
    out["q0"], out["q1"], out["q2"] = q[:, 0], q[:, 1], q[:, 2]
    # the size that ranks findings of one severity: area, else length crossed, else closeness
    out["size"] = np.where(overlap, np.nan_to_num(ha), np.where(crossing, np.nan_to_num(length) / 1e4,
                                                                 -np.nan_to_num(dist, nan=1e12) / 1e12))
    out["rule_id"] = _text(_col(f, "rule_id"))
    out["rule_title"] = _text(_col(f, "rule_title"))
    clean = (lambda s: _map_unique(s, clean_official)) if lang == "zh" else (lambda s: s)
    msg = clean(_text(_col(f, "message")))
    point_rows = overlap & (site_point if site_point is not None else np.zeros(len(f), dtype=bool))
    if crossing.any() or point_rows.any():  # a line or a point has no area: say the length crossed / "inside"
        m = msg.to_numpy(dtype=object).copy()
        unit = "米" if lang == "zh" else " m"
        for i in np.flatnonzero(crossing):
            m[i] = _ZERO_AREA.sub(f"{'穿越' if lang == 'zh' else 'crossing '}{s_len[i]}{unit}", m[i])
        inside = "（点位位于其范围内）" if lang == "zh" else " (the point lies inside)"
        for i in np.flatnonzero(point_rows):
            m[i] = _ZERO_AREA.sub(inside, m[i])
        msg = pd.Series(m, index=msg.index)
    out["message"] = msg
    basis = clean(_text(_col(f, "basis")))
    if "basis_verified" in f.columns:
        unverified = f["basis_verified"].astype(object).map(lambda v: v is False or v == 0 or v == "false")
        basis = basis.where(~unverified.to_numpy(dtype=bool), basis + L["verified_no"])
    out["basis"] = basis
    if "citation" in f.columns:
        cite = _text(f["citation"])
    else:
        cite = pd.Series("", index=f.index)
    # a rule from a local plan names the plan (the rule file's title), never the hashed seed file
    src = _text(_col(f, "source"))
    rf_title = _text(_col(f, "rule_file")).map(rule_titles).fillna("")
    cite = cite.where(cite != "", rf_title.where(src != "", ""))
    out["citation"] = cite
    short = _map_unique(out["basis"], basis_short)
    out["basis_short"] = cite.where(cite != "", short)
    steps = _text(_col(f, "next_steps")).str.replace("；", ";", regex=False)
    out["next_steps"] = _map_unique(steps, lambda s: [p.strip() for p in s.split(";") if p.strip()])
    out["condition"] = clean(_text(_col(f, "condition")))
    out["question"] = clean(_text(_col(f, "question")))
    return out


# --------------------------------------------------------------------------- geometry helpers
def _view_boxes(site_geoms: np.ndarray, extra: list[np.ndarray] | None = None, share: float = 0.6,
                min_m: float = 300.0) -> np.ndarray:
    b = shapely.bounds(site_geoms)
    if extra is not None:
        b = np.c_[np.fmin(b[:, 0], extra[0]), np.fmin(b[:, 1], extra[1]),
                  np.fmax(b[:, 2], extra[2]), np.fmax(b[:, 3], extra[3])]
    lat = 0.5 * (b[:, 1] + b[:, 3])
    min_dy = min_m / 111_320.0
    min_dx = min_dy / np.maximum(np.cos(np.radians(lat)), 0.05)
    dx = np.maximum((b[:, 2] - b[:, 0]) * share, min_dx)
    dy = np.maximum((b[:, 3] - b[:, 1]) * share, min_dy)
    return np.c_[b[:, 0] - dx, b[:, 1] - dy, b[:, 2] + dx, b[:, 3] + dy]


def _grow(box: np.ndarray, k: float) -> np.ndarray:
    w, h = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    return np.c_[box[:, 0] - w * k, box[:, 1] - h * k, box[:, 2] + w * k, box[:, 3] + h * k]


def _gj(geoms: np.ndarray, precision: int = 6) -> np.ndarray:
    """GeoJSON text of each geometry (``null`` for missing/empty), coordinates rounded."""
    g = np.asarray(geoms, dtype=object)
    out = np.full(len(g), "null", dtype=object)
    ok = ~(shapely.is_missing(g) | shapely.is_empty(g))
    if ok.any():
        r = shapely.set_precision(g[ok], 10.0 ** -precision, mode="pointwise")
        out[ok] = shapely.to_geojson(r)
    return out


def _group_join(pos: np.ndarray, items: np.ndarray, n: int) -> list[str]:
    """``items`` grouped by ``pos`` (0..n-1) and joined by commas: one string per group."""
    order = np.argsort(pos, kind="stable")
    pos_s, items_s = pos[order], items[order]
    cuts = np.searchsorted(pos_s, np.arange(n + 1))
    return [",".join(items_s[cuts[i]:cuts[i + 1]]) for i in range(n)]


def _boundary_points(geoms: np.ndarray) -> tuple[np.ndarray, ...]:
    """Vertex table of the sites in CGCS2000 Gauss-Krüger (3-degree zones with the zone prefix).

    Returns ``(site, ring, point_no, X northing, Y easting, lon, lat, zone)``,
    in the order of :mod:`ecogis.export.guotu` (outer rings clockwise from the
    north-western vertex, rings closed on their first point).
    """
    from ecogis.export.guotu import _part_vertices, _polygon_vertices

    n = len(geoms)
    centre = shapely.centroid(geoms)
    zones = np.array([gk_zone_for_lon(float(x), 3) for x in shapely.get_x(centre)], dtype=np.int64) \
        if n else np.zeros(0, dtype=np.int64)
    dims = shapely.get_dimensions(geoms)
    parts: list[tuple[np.ndarray, ...]] = []
    for zone in np.unique(zones):
        sel = np.flatnonzero(zones == zone)
        epsg = gk_epsg(int(zone), 3, True)
        gk = gpd.GeoSeries(geoms[sel], crs=4490).to_crs(epsg).to_numpy()
        for dim in (2, 1, 0):
            m = dims[sel] == dim
            if not m.any():
                continue
            feat = sel[m]
            if dim == 2:
                f, r, p, e, nn = _polygon_vertices(gk[m], feat)
            else:
                f, r, p, e, nn = _part_vertices(gk[m], feat, ring_per_part=(dim == 1))
            back = Transformer.from_crs(epsg, 4490, always_xy=True)
            lon, lat = back.transform(e, nn)
            parts.append((f, r, p, nn, e, np.asarray(lon), np.asarray(lat), np.full(len(f), zone)))
    if not parts:
        empty = np.zeros(0)
        return (np.zeros(0, dtype=np.int64),) * 3 + (empty,) * 4 + (np.zeros(0, dtype=np.int64),)
    cat = [np.concatenate(c) for c in zip(*parts)]
    order = np.argsort(cat[0], kind="stable")
    return tuple(c[order] for c in cat)


# --------------------------------------------------------------------------- the model
def build_model(result, context: dict[str, gpd.GeoDataFrame] | None = None, *, lang: str = "zh",
                inline_max: int = INLINE_MAX, max_pages: int = MAX_SITE_PAGES) -> ReportModel:
    """The report's tables from a screening result (see the module notes)."""
    L = LABELS[lang]
    context = context or {}
    sites_gdf = result.sites
    if sites_gdf.crs is not None and not sites_gdf.crs.equals(4490):
        sites_gdf = sites_gdf.to_crs(4490)
    S = pd.DataFrame(sites_gdf.drop(columns=sites_gdf.geometry.name))
    G = np.asarray(sites_gdf.geometry.values, dtype=object)
    n = len(S)
    S = S.reset_index(drop=True)
    sid = _text(_col(S, "site_id"))
    verdict = _text(_col(S, "verdict")).replace("", "clear")
    industry = _text(_col(S, "industry"))
    if "provisional" in S.columns:
        provisional = S["provisional"].fillna(False).astype(bool).to_numpy()
    else:
        provisional = (industry == "").to_numpy()
    linear = (_col(S, "linear", False).fillna(False).astype(bool).to_numpy()
              | (shapely.get_dimensions(G) == 1))
    area_ha = pd.to_numeric(_col(S, "area_ha"), errors="coerce").fillna(0.0).to_numpy(dtype=float)
    area_mu = pd.to_numeric(_col(S, "area_mu"), errors="coerce").to_numpy(dtype=float)
    area_mu = np.where(np.isfinite(area_mu), area_mu, area_ha * 15.0)
    length_m = pd.to_numeric(_col(S, "length_m"), errors="coerce").fillna(0.0).to_numpy(dtype=float)
    coverage = _text(_col(S, "coverage")).replace("", "full")
    covered_pct = pd.to_numeric(_col(S, "covered_pct"), errors="coerce").fillna(100.0).to_numpy(dtype=float)

    rule_titles = {str(rf.get("path") or rf.get("file") or ""): str(rf.get("title") or "")
                   for rf in result.meta.get("rule_files", []) or []}

    # ---- findings: sorted once by site, severity, size
    fgdf = result.findings
    F = pd.DataFrame(fgdf.drop(columns=fgdf.geometry.name)) if len(fgdf) else pd.DataFrame(
        columns=[c for c in fgdf.columns if c != fgdf.geometry.name])
    FG = np.asarray(fgdf.geometry.values, dtype=object) if len(fgdf) else np.zeros(0, dtype=object)
    F = F.reset_index(drop=True)
    fpos = pd.Index(sid).get_indexer(_text(_col(F, "site_id"))) if len(F) else np.zeros(0, dtype=np.int64)
    keep = fpos >= 0
    F, FG, fpos = F[keep].reset_index(drop=True), FG[keep], fpos[keep]
    is_point = shapely.get_dimensions(G) == 0
    D = _finding_text(F, FG, linear[fpos] if len(F) else np.zeros(0, dtype=bool), lang, rule_titles,
                      is_point[fpos] if len(F) else np.zeros(0, dtype=bool))
    sev_rank = D["severity"].map(VERDICT_RANK).fillna(0).to_numpy(dtype=float)
    # findings of fact before conditional ones of the same severity: the decisive finding of the conclusion
    # line is then one of fact whenever the site has one (issue 11 certainty)
    not_fact = (F["certainty"].fillna("fact").astype(str).to_numpy(dtype=object) != "fact").astype(np.int8) \
        if "certainty" in F.columns else np.zeros(len(F), dtype=np.int8)
    order = np.lexsort((-D["size"].to_numpy(dtype=float), not_fact, -sev_rank, fpos))
    F, FG, fpos, D = F.iloc[order].reset_index(drop=True), FG[order], fpos[order], D.iloc[order].reset_index(
        drop=True)
    D["pos"] = fpos
    cuts = np.searchsorted(fpos, np.arange(n + 1))

    # counts per site and severity
    counts = np.zeros((n, len(SEVERITIES)), dtype=np.int64)
    if len(D):
        sev_i = D["severity"].map({s: i for i, s in enumerate(SEVERITIES)}).fillna(-1).to_numpy(dtype=int)
        ok = sev_i >= 0
        np.add.at(counts, (fpos[ok], sev_i[ok]), 1)
    total_ha = np.zeros(n)
    if len(D):
        np.add.at(total_ha, fpos, np.nan_to_num(np.where(D["mk"].isin([1, 2]), D["q0"], 0.0)))

    # ---- the one-line conclusion: verdict + the decisive finding (the first of the site) + its basis
    vtext = verdict.map(VERDICT_TEXT[lang]).fillna(verdict)
    head_word = vtext.where(~provisional, vtext + ("（待定，缺行业代码）" if lang == "zh"
                                                   else " (provisional: no industry code)"))
    colon = "：" if lang == "zh" else ": "
    has_f = cuts[1:] > cuts[:-1]
    first = cuts[:-1][has_f]
    h_txt = np.full(n, "", dtype=object)
    t_txt = np.full(n, "", dtype=object)
    mk = np.zeros(n, dtype=np.int64)
    q = np.full((n, 3), np.nan)
    measure_site = np.full(n, "", dtype=object)
    fi = np.flatnonzero(has_f)
    if len(fi):
        part = verdict.iloc[fi].isin(["not_covered", "incomplete"]).to_numpy()
        sev_first = D["sev_text"].to_numpy(dtype=object)[first]
        if lang == "zh":
            pre = np.where(part, "已覆盖部分" + sev_first + "：", "")
            h = pre + D["rule_title"].to_numpy(dtype=object)[first] + "（" + D["feature"].to_numpy(dtype=object)[first] + "，"
            t = "）；" + L["basis_prefix"] + D["basis_short"].to_numpy(dtype=object)[first]
        else:
            pre = np.where(part, "on the covered part: " + sev_first + ", ", "")
            h = pre + D["rule_title"].to_numpy(dtype=object)[first] + " (" + D["feature"].to_numpy(dtype=object)[first] + ", "
            t = "); " + L["basis_prefix"] + D["basis_short"].to_numpy(dtype=object)[first]
        h_txt[fi], t_txt[fi] = h, t
        mk[fi] = D["mk"].to_numpy()[first]
        q[fi] = D[["q0", "q1", "q2"]].to_numpy(dtype=float)[first]
        measure_site[fi] = D["measure"].to_numpy(dtype=object)[first]
    checked = _text(_col(S, "checked_layers"))
    verdict_np, checked_np = verdict.to_numpy(dtype=object), checked.to_numpy(dtype=object)
    layer_words: dict[str, str] = {}
    for i in np.flatnonzero(~has_f):  # sites without findings: a sentence of their own (few words each)
        if verdict_np[i] == "not_covered":
            if lang == "zh":
                h = (f"数据覆盖范围内的部分占项目用地面积的 {covered_pct[i]:.1f}%，该部分未发现冲突；须补充范围外的图层后复核"
                     if not linear[i] else "线路部分在数据覆盖范围以外，已覆盖部分未发现冲突；须补充范围外的图层后复核")
            else:
                h = f"{covered_pct[i]:.1f}% of the site lies inside the data; no conflict there; obtain the rest"
        elif verdict_np[i] == "incomplete":
            h = L["incomplete_note"]
        else:
            c = checked_np[i]
            if c not in layer_words:
                layer_words[c] = kinds_text(c, lang) or L["none_short"]
            layers = layer_words[c]
            h = (f"已核查{layers}" if lang == "zh" else f"checked against {layers}")
        h_txt[i] = h
    codes, uniq = pd.factorize(pd.Series(np.r_[h_txt, t_txt], dtype=object))
    plist = [str(u) for u in uniq]
    h_idx = codes[:n].astype(np.int64)
    t_idx = np.where(t_txt == "", -1, codes[n:]).astype(np.int64)
    conclusion = (head_word.to_numpy(dtype=object) + colon + h_txt + measure_site + t_txt)

    # ---- which sites are shown in detail
    vrank = verdict.map(VERDICT_RANK).fillna(0).to_numpy(dtype=float)
    worst_order = np.lexsort((np.arange(n), -total_ha, -counts.sum(axis=1), provisional.astype(int), -vrank))
    flagged = has_f | ~verdict.isin(["clear"]).to_numpy()
    inline = n <= inline_max
    if inline:
        detail = np.arange(n)
        pages_cut = 0
    else:
        cand = worst_order[flagged[worst_order]]
        detail = np.sort(cand[:max_pages])
        pages_cut = max(len(cand) - max_pages, 0)
    safe = sid.str.replace(r"[^0-9A-Za-z_\-\u4e00-\u9fff]", "_", regex=True).str.slice(0, 80)
    safe = safe.where(safe != "", "site")
    dup = safe.duplicated(keep=False).to_numpy()
    safe = safe.where(~dup, safe + "-" + pd.Series(np.arange(n) + 1).astype(str))
    link = np.full(n, "", dtype=object)
    if inline:
        link[:] = ["#site-" + str(i + 1) for i in range(n)]
    else:
        link[detail] = ("sites/" + safe.iloc[detail] + ".html").to_numpy()

    # ---- summary
    vc = verdict.value_counts()
    by_verdict = [{"code": v, "text": VERDICT_TEXT[lang].get(v, v), "colour": VERDICT_COLOUR.get(v, "#555"),
                   "count": int(vc.get(v, 0)), "share": 100.0 * int(vc.get(v, 0)) / max(n, 1)}
                  for v in VERDICTS if int(vc.get(v, 0))]
    n_prov = int(provisional.sum())
    by_rule: list[dict[str, Any]] = []
    if len(D):
        grp = D.assign(ha=np.where(D["mk"].isin([1, 2]), D["q0"], 0.0)).groupby("rule_id", sort=False)
        agg = grp.agg(title=("rule_title", "first"), sev=("severity", "first"), sev_text=("sev_text", "first"),
                      sites=("pos", "nunique"), findings=("pos", "size"), ha=("ha", "sum"),
                      basis=("basis_short", "first"))
        agg["rank"] = agg["sev"].map(VERDICT_RANK).fillna(0)
        agg = agg.sort_values(["rank", "sites", "ha"], ascending=[False, False, False])
        by_rule = [{"title": r.title, "sev": r.sev, "sev_text": r.sev_text, "sites": int(r.sites),
                    "findings": int(r.findings), "ha": float(r.ha), "basis": r.basis}
                   for r in agg.itertuples()]
    names = _text(_col(S, "name"))
    worst = [{"id": sid.iat[i], "name": names.iat[i], "verdict": verdict.iat[i],
              "vtext": vtext.iat[i], "provisional": bool(provisional[i]), "line": conclusion[i], "link": link[i]}
             for i in worst_order[flagged[worst_order]][:WORST_N]]
    summary = {"by_verdict": by_verdict, "by_rule": by_rule, "worst": worst, "n_provisional": n_prov,
               "n_findings": int(len(D)), "n_flagged": int(flagged.sum())}

    # ---- the site table (compact columns, worst first)
    vcode = {v: i for i, v in enumerate(VERDICTS)}
    ordr = worst_order
    table = {
        "verdicts": [VERDICT_TEXT[lang][v] for v in VERDICTS], "colours": [VERDICT_COLOUR[v] for v in VERDICTS],
        "prov": PROVISIONAL_TEXT[lang], "pieces": plist,
        "id": sid.iloc[ordr].tolist(), "name": names.iloc[ordr].tolist(),
        "v": verdict.map(vcode).fillna(0).astype(int).iloc[ordr].tolist(),
        "p": provisional[ordr].astype(int).tolist(),
        "ha": [None if linear[i] or is_point[i] else round(float(area_ha[i]), 4) for i in ordr],
        "len": [round(float(length_m[i])) if linear[i] else None for i in ordr],
        "h": h_idx[ordr].tolist(), "t": t_idx[ordr].tolist(), "mk": mk[ordr].tolist(),
        "q": [[None if not math.isfinite(x) else x for x in row] for row in q[ordr].tolist()],
        "c": [",".join(map(str, r)) for r in counts[ordr].tolist()],
        "link": link[ordr].tolist(),
        "labels": {k: L[k] for k in ("crossing", "overlap", "overlap_nopct", "distance", "inside_point", "page",
                                      "prev", "next",
                                      "hectare", "metre", "detail", "no_detail")},
        "colon": colon,
    }

    # ---- overview map
    pts = shapely.point_on_surface(G)
    px = np.round(shapely.get_x(pts), 5)
    py = np.round(shapely.get_y(pts), 5)
    admin = context.get("admin")
    admin_edges: list[str] = []
    if admin is not None and len(admin):
        ag = np.asarray(admin.to_crs(4490).geometry.values if admin.crs and not admin.crs.equals(4490)
                        else admin.geometry.values, dtype=object)
        ab = shapely.simplify(shapely.boundary(ag), 30.0 / 111_320.0)
        admin_edges = [json.loads(s) for s in _gj(ab, 5) if s != "null"]
    b_all = shapely.total_bounds(G)
    overview = {
        "x": px[ordr].tolist(), "y": py[ordr].tolist(),
        "bounds": [[float(b_all[1]), float(b_all[0])], [float(b_all[3]), float(b_all[2])]],
        "admin": admin_edges,
        "outlines": ([json.loads(s) for s in _gj(shapely.simplify(G[ordr], 2.0 / 111_320.0), 6)]
                     if n <= OVERVIEW_OUTLINES_MAX else []),
    }

    # ---- detail sections
    sections = _sections(detail, S, G, F, FG, D, cuts, context, lang, dict(
        sid=sid, names=names, verdict=verdict, vtext=vtext, provisional=provisional, linear=linear,
        area_ha=area_ha, area_mu=area_mu, length_m=length_m, coverage=coverage, covered_pct=covered_pct,
        industry=industry, conclusion=conclusion, point=is_point, counts=counts, safe=safe, checked=checked))

    meta = report_meta(result, lang)
    return ReportModel(lang=lang, L=L, meta=meta, n_sites=n, summary=summary, table=table, overview=overview,
                       sections=sections, inline=inline, pages_cut=pages_cut, styles=STYLE_TABLE,
                       max_pages=max_pages)


def report_meta(result, lang: str) -> dict[str, Any]:
    """The report's metadata block: versions and methods, the run's notes, the rules not evaluated."""
    meta = _meta(result.meta, lang)
    meta["notes"] = [str(getattr(nt, "message", nt)) for nt in (getattr(result, "notes", None) or [])]
    ne = getattr(result, "not_evaluated", None)
    meta["not_evaluated"] = ([] if ne is None or not len(ne) else
                             [{"rule": str(r.rule_id), "kind": kind_text(r.layer_kind, lang)}
                              for r in ne.itertuples()])
    # the same, once per layer kind with its number of rules (a missing layer is named once, not once per rule)
    counts = pd.Series([r["kind"] for r in meta["not_evaluated"]], dtype=object).value_counts(sort=False)
    unit = "条规则" if lang == "zh" else " rules"
    one = "条规则" if lang == "zh" else " rule"
    meta["not_evaluated_kinds"] = [
        f"{kind}（{n}{unit}）" if lang == "zh" else f"{kind} ({n}{unit if n > 1 else one})"
        for kind, n in counts.items()]
    return meta


def _meta(meta: dict[str, Any], lang: str) -> dict[str, Any]:
    am = meta.get("area_method_text")
    area_text = am.get(lang) if isinstance(am, dict) else (am or meta.get("area_method", ""))
    gen = str(meta.get("generated_at", ""))
    layers = []
    for kind, li in (meta.get("layers") or {}).items():
        li = li or {}
        layers.append({"kind": kind_text(kind, lang), "version": li.get("version") or "",
                       "count": li.get("feature_count"), "sha256": li.get("sha256") or "",
                       "source": li.get("source") or ""})
    rule_files = [{"path": rf.get("path") or rf.get("file") or "", "title": rf.get("title") or "",
                   "version": rf.get("version") or "", "sha256": rf.get("sha256") or ""}
                  for rf in meta.get("rule_files", []) or []]
    from pathlib import PurePath

    inputs = [{"name": PurePath(str(i.get("path", ""))).name, "sha256": i.get("sha256") or ""}
              for i in meta.get("inputs", []) or []]
    ws = str(meta.get("workspace", ""))
    return {"generated_at": gen, "date": gen[:10], "time": gen[11:16], "time_s": gen[11:19], "ecogis_version": meta.get("ecogis_version"),
            "workspace": PurePath(ws).name if ws else "", "area_method": area_text,
            "distance_method": distance_method_text(meta.get("distance_method"), lang),
            "coverage_basis": coverage_basis_text(meta.get("coverage_basis"), lang),
            "layers": layers, "rule_files": rule_files, "inputs": inputs}


def _sections(detail: np.ndarray, S, G, F, FG, D, cuts, context, lang, v) -> list[dict[str, Any]]:
    """One dict per site shown in detail: facts, notes, findings, map data, boundary points."""
    L = LABELS[lang]
    if not len(detail):
        return []
    k = len(detail)
    # findings of the detail sites: one slice per site of the sorted table
    fsel = np.concatenate([np.arange(cuts[i], cuts[i + 1]) for i in detail]) if len(D) else np.zeros(0, int)
    fd = D.iloc[fsel]
    fgeom = FG[fsel] if len(fsel) else np.zeros(0, dtype=object)
    local = np.repeat(np.arange(k), [cuts[i + 1] - cuts[i] for i in detail]) if len(D) else np.zeros(0, int)
    records = fd[["severity", "sev_text", "rule_title", "feature", "measure", "message", "basis", "citation",
                  "next_steps", "condition", "question", "mk"]].to_dict("records")
    lcuts = np.searchsorted(local, np.arange(k + 1))

    # map data, vectorised over the detail sites
    sg = G[detail]
    fb = shapely.bounds(fgeom) if len(fgeom) else np.zeros((0, 4))
    ext = np.c_[np.full(k, np.inf), np.full(k, np.inf), np.full(k, -np.inf), np.full(k, -np.inf)]
    if len(fgeom):
        okb = np.isfinite(fb).all(axis=1)
        np.fmin.at(ext[:, 0], local[okb], fb[okb, 0])
        np.fmin.at(ext[:, 1], local[okb], fb[okb, 1])
        np.fmax.at(ext[:, 2], local[okb], fb[okb, 2])
        np.fmax.at(ext[:, 3], local[okb], fb[okb, 3])
    ext[~np.isfinite(ext)] = np.nan
    view = _view_boxes(sg, [ext[:, 0], ext[:, 1], ext[:, 2], ext[:, 3]])
    clip = _grow(view, 1.0)
    clip_geoms = shapely.box(clip[:, 0], clip[:, 1], clip[:, 2], clip[:, 3])
    site_gj = _gj(sg)
    conf_gj = _gj(fgeom) if len(fgeom) else np.zeros(0, dtype=object)
    conf_items = np.array([f'[{_js(s)},{g}]' for s, g in zip(fd["severity"], conf_gj)], dtype=object) \
        if len(fgeom) else np.zeros(0, dtype=object)
    conf_join = _group_join(local, conf_items, k) if len(conf_items) else [""] * k

    # the features each site touches (unique per site), clipped around it: fill without outline,
    # and the feature's own boundary (so a clip edge is never drawn as a boundary)
    feat_join = [""] * k
    legend_styles: list[set[int]] = [set() for _ in range(k)]
    if len(fd):
        pairs = pd.DataFrame({"loc": local, "kind": fd["kind"].to_numpy(), "fid": fd["feature_id"].to_numpy(),
                              "zone": fd["zone"].to_numpy(), "feature": fd["feature"].to_numpy()})
        pairs = pairs.drop_duplicates(["loc", "kind", "fid"])
        items_all, loc_all = [], []
        for kind, grp in pairs.groupby("kind", sort=False):
            layer = context.get(kind)
            if layer is None or not len(layer) or "fid" not in layer.columns:
                continue
            lay = layer.to_crs(4490) if layer.crs is not None and not layer.crs.equals(4490) else layer
            fids = lay["fid"].astype(str).to_numpy()
            at = pd.Index(fids).get_indexer(grp["fid"].to_numpy())
            ok = at >= 0
            if not ok.any():
                continue
            g = grp[ok]
            geoms = np.asarray(lay.geometry.values, dtype=object)[at[ok]]
            box = clip_geoms[g["loc"].to_numpy()]
            dims = shapely.get_dimensions(geoms)
            fill = np.where(dims == 2, shapely.intersection(geoms, box), None)
            edge = shapely.intersection(np.where(dims == 2, shapely.boundary(geoms), geoms), box)
            st = _style_idx(g["kind"].to_numpy(), g["zone"].to_numpy())
            fill_gj, edge_gj = _gj(fill), _gj(edge)
            items_all += [f"[{int(s)},{a},{b},{_js(t)}]" for s, a, b, t in zip(st, fill_gj, edge_gj, g["feature"])]
            loc_all += g["loc"].tolist()
            for lc, s in zip(g["loc"], st):
                legend_styles[lc].add(int(s))
        if items_all:
            feat_join = _group_join(np.asarray(loc_all), np.asarray(items_all, dtype=object), k)

    # the county boundary around each site
    admin_join = [""] * k
    admin = context.get("admin")
    if admin is not None and len(admin):
        ag = np.asarray(admin.to_crs(4490).geometry.values if admin.crs and not admin.crs.equals(4490)
                        else admin.geometry.values, dtype=object)
        ab = shapely.boundary(ag)
        si, ai = shapely.STRtree(ab).query(clip_geoms, predicate="intersects")
        if len(si):
            edges = _gj(shapely.intersection(ab[ai], clip_geoms[si]))
            ok = edges != "null"
            admin_join = _group_join(si[ok], edges[ok], k)

    # boundary points
    bp = _boundary_points(sg)
    bcuts = np.searchsorted(bp[0], np.arange(k + 1))

    nature = _text(_col(S, "nature")).to_numpy(dtype=object)
    major = _col(S, "national_major", False).fillna(False).astype(bool).to_numpy()
    not_eval = _text(_col(S, "not_evaluated")).to_numpy(dtype=object)
    sid, names, verdict_a, vtext_a = (v["sid"].to_numpy(dtype=object), v["names"].to_numpy(dtype=object),
                                      v["verdict"].to_numpy(dtype=object), v["vtext"].to_numpy(dtype=object))
    industry_a, safe_a, coverage_a = (v["industry"].to_numpy(dtype=object), v["safe"].to_numpy(dtype=object),
                                      v["coverage"].to_numpy(dtype=object))
    checked_a = v["checked"].to_numpy(dtype=object)
    sections = []
    for j, i in enumerate(detail):
        recs = records[lcuts[j]:lcuts[j + 1]]
        groups = [(s, VERDICT_TEXT[lang][s], [r for r in recs if r["severity"] == s]) for s in SEVERITIES]
        b = view[j]
        map_json = (f'{{"b":[[{b[1]:.6f},{b[0]:.6f}],[{b[3]:.6f},{b[2]:.6f}]],"s":{site_gj[j]},'
                    f'"c":[{conf_join[j]}],"f":[{feat_join[j]}],"a":[{admin_join[j]}]}}')
        lo, hi = bcuts[j], bcuts[j + 1]
        npts = int(hi - lo)
        shown = min(npts, MAX_COORD_ROWS)
        zone = int(bp[7][lo]) if npts else None
        coords = [(int(bp[2][t]), int(bp[1][t]), f"{bp[3][t]:.3f}", f"{bp[4][t]:.3f}", f"{bp[5][t]:.7f}",
                   f"{bp[6][t]:.7f}") for t in range(lo, lo + shown)]
        sev_present = {r["severity"] for r in recs}
        legend = [(style_label(s, lang), STYLE_TABLE[s]["fillColor"], STYLE_TABLE[s]["color"])
                  for s in sorted(legend_styles[j])]
        sections.append({
            "n": int(i) + 1, "id": sid[i], "name": names[i], "file": safe_a[i],
            "verdict": verdict_a[i], "vtext": vtext_a[i], "provisional": bool(v["provisional"][i]),
            "colour": VERDICT_COLOUR.get(verdict_a[i], "#555"),
            "conclusion": v["conclusion"][i], "linear": bool(v["linear"][i]),
            "area": (f"{v['length_m'][i]:,.1f} {L['metre']}" if v["linear"][i] else L["point_site"]
                     if v["point"][i] else
                     f"{v['area_ha'][i]:,.4f} {L['hectare']}（{v['area_mu'][i]:,.2f} {L['mu']}）" if lang == "zh"
                     else f"{v['area_ha'][i]:,.4f} {L['hectare']} ({v['area_mu'][i]:,.2f} {L['mu']})"),
            "industry": industry_a[i], "nature": nature[i], "national_major": bool(major[i]),
            "coverage": coverage_a[i],
            "coverage_text": COVERAGE_TEXT[lang].get(coverage_a[i], coverage_a[i]),
            "covered_pct": float(v["covered_pct"][i]), "rest_pct": max(100.0 - float(v["covered_pct"][i]), 0.0),
            "checked": kinds_text(checked_a[i], lang),
            "not_evaluated": not_eval[i],
            "counts": v["counts"][i].tolist(), "groups": [g for g in groups if g[2]],
            "n_findings": len(recs), "map_json": map_json, "legend": legend,
            "sev_legend": [(VERDICT_TEXT[lang][s], styles.SEVERITY[s].fill, styles.SEVERITY[s].stroke)
                           for s in SEVERITIES if s in sev_present],
            "coords": coords, "n_points": npts, "coords_cut": npts > shown, "zone": zone,
            "cm": 3 * zone if zone else None,
        })
    return sections
