"""Screening against the access lists: every (site, control unit, item) judged 不符合 / 符合 / 需人工核对.

For each site and each control unit it touches (with the overlap share), the
总体准入要求 of every level that covers the unit and the unit's own items are
judged:

* **不符合** — a machine clause applies to the project (industry, nature,
  declared size all inside it); the finding's severity follows the effect
  (禁止 → prohibited, 限制 → restricted, 须满足条件 → review);
* **符合** — every clause of the item is machine-readable and each one
  surely does not apply (industry outside the named kinds' scope, nature
  not named, declared size outside the threshold, an industry exception);
* **需人工核对** — text only, or the project lacks what a clause needs (no
  industry code, no nature, an undeclared size, an open category, a place or
  qualifier the data cannot test).

Judgments are computed on arrays over all (site, clause) pairs at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ecogis.accesslist.clause import EFFECT_SEVERITY, EFFECT_TEXT, PARAM_TEXT
from ecogis.accesslist.store import TABLE, lists_in, read_items
from ecogis.notes import Notes

RESULTS = ("不符合", "需人工核对", "符合")
RESULT_EN = {"不符合": "Non-compliant", "需人工核对": "Check by hand", "符合": "Compliant"}
_RANK = {"符合": 1, "需人工核对": 2, "不符合": 3}
_NAT_BIT = {"新建": 1, "改建": 2, "扩建": 4}
DECLARED = tuple(PARAM_TEXT)
TABLE_COLUMNS = ["site_id", "site_name", "unit_code", "unit_name", "unit_class", "overlap_pct", "level", "dimension",
                 "text", "result", "effect", "severity", "basis", "note", "condition", "question", "item_id", "list_id"]
TABLE_HEADERS = {"unit_code": "单元编码", "unit_name": "单元名称", "unit_class": "类别", "dimension": "维度",
                 "text": "要求原文", "result": "对照结果", "basis": "依据"}
LEVEL_TEXT = {"province": "自治区（省）总体准入要求", "city": "盟市总体准入要求", "county": "旗县市总体准入要求"}


@dataclass
class AccessResult:
    """The access-list table of a screen and what it was computed from."""

    table: pd.DataFrame
    findings: pd.DataFrame
    meta: dict[str, Any]


def _prefixes(codes: np.ndarray) -> pd.DataFrame:
    """(site, prefix) for every site industry code: its section, division, group and class."""
    rows_s, rows_p = [], []
    for n in (1, 3, 4, 5):
        ok = np.array([isinstance(c, str) and len(c) >= n for c in codes], dtype=bool)
        idx = np.flatnonzero(ok)
        rows_s.append(idx)
        rows_p.append(np.array([codes[i][:n] for i in idx], dtype=object))
    return pd.DataFrame({"s": np.concatenate(rows_s), "code": np.concatenate(rows_p)})


def _match(pairs: pd.DataFrame, site_keys: pd.DataFrame, clause_keys: pd.DataFrame) -> np.ndarray:
    """For each (s, c) row of ``pairs``: does a key of site s equal a key of clause c?"""
    if not len(site_keys) or not len(clause_keys) or not len(pairs):
        return np.zeros(len(pairs), dtype=bool)
    hit = site_keys.merge(clause_keys, on="code")[["s", "c"]].drop_duplicates()
    n = int(max(pairs["c"].max(), hit["c"].max() if len(hit) else 0)) + 1
    keys = hit["s"].to_numpy(np.int64) * n + hit["c"].to_numpy(np.int64)
    return np.isin(pairs["s"].to_numpy(np.int64) * n + pairs["c"].to_numpy(np.int64), keys)


def _explode(clauses: pd.DataFrame, col: str) -> pd.DataFrame:
    e = clauses[["c", col]].explode(col).dropna()
    return pd.DataFrame({"c": e["c"].to_numpy(np.int64), "code": e[col].to_numpy(dtype=object)})


def _site_table(sites: pd.DataFrame, declared: dict[str, float] | None) -> pd.DataFrame:
    out = pd.DataFrame({"site_id": sites["site_id"].astype(str).to_numpy(),
                        "site_name": sites["name"].astype(object).to_numpy() if "name" in sites else None})
    ind = sites["industry"] if "industry" in sites else pd.Series([None] * len(sites))
    out["industry"] = [v if isinstance(v, str) and v else None for v in ind]
    nat = sites["nature"] if "nature" in sites else pd.Series([None] * len(sites))
    out["nature_bit"] = [(_NAT_BIT.get(v, 0) if isinstance(v, str) else 0) for v in nat]
    major = sites["national_major"] if "national_major" in sites else pd.Series([False] * len(sites))
    out["national_major"] = major.fillna(False).astype(bool).to_numpy()
    act = sites["activity"] if "activity" in sites else pd.Series([None] * len(sites))
    out["activity"] = [_tags(v) for v in act]
    for p in DECLARED:
        vals = pd.to_numeric(sites[p], errors="coerce") if p in sites else pd.Series(np.nan, index=sites.index)
        if declared and p in declared and declared[p] is not None:
            vals = vals.fillna(float(declared[p]))
        out[p] = vals.to_numpy(dtype=float)
    return out


def _tags(v: Any) -> list[str]:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    if isinstance(v, (list, tuple, set, np.ndarray)):
        return [str(t).strip() for t in v if str(t).strip()]
    return [t.strip() for t in str(v).replace("；", ";").replace(",", ";").split(";") if t.strip()]


def _unit_pairs(site_geoms: np.ndarray, site_area: np.ndarray, units) -> pd.DataFrame:
    """(site, unit) pairs whose interiors meet, with the unit's share of the site in %."""
    from shapely import STRtree

    from ecogis.normalise.area import area_ha

    ugeoms = np.asarray(units.geometry.values, dtype=object)
    s, u = STRtree(ugeoms).query(site_geoms, predicate="intersects")
    if len(s):
        real = shapely.relate_pattern(site_geoms[s], ugeoms[u], "T********")
        s, u = s[real], u[real]
    pct = np.full(len(s), np.nan)
    inter = np.empty(len(s), dtype=object)
    if len(s):
        inside = shapely.covered_by(site_geoms[s], ugeoms[u])
        inter[:] = site_geoms[s]
        poly = site_area[s] > 0
        part = poly & ~inside
        if part.any():
            inter[part] = shapely.intersection(site_geoms[s[part]], ugeoms[u[part]])
            pct[part] = 100.0 * area_ha(inter[part], 4490) / site_area[s[part]]
        pct[poly & inside] = 100.0
    return pd.DataFrame({
        "s": s, "unit_code": units["code"].astype(str).to_numpy()[u], "unit_name": units["name"].astype(object).to_numpy()[u],
        "unit_class": units["class"].astype(str).to_numpy()[u], "overlap_pct": np.round(pct, 3), "geom": inter,
    })


def _applicable(pairs: pd.DataFrame, items: pd.DataFrame) -> pd.DataFrame:
    """(site, item) rows: each touched unit's own items, and each general item once per site."""
    unit_items = items[items["level"] == "unit"]
    own = pairs.merge(unit_items, on="unit_code", suffixes=("", "_list"))
    general = items[items["level"] != "unit"]
    if len(general) and len(pairs):
        g = pairs.merge(general.drop(columns=["unit_code", "unit_name", "unit_class"]), how="cross")
        adc = g["unit_code"].str.slice(2, 8)
        ok = np.array([a.startswith(p) for a, p in zip(adc, g["scope_code"].astype(str))], dtype=bool)
        ok &= (g["class_filter"].fillna("") == "") | (g["class_filter"] == g["unit_class"])
        g = g[ok]
        agg = g.groupby(["s", "item_id"], sort=False).agg(
            unit_code=("unit_code", lambda x: "、".join(dict.fromkeys(x))),
            overlap_pct=("overlap_pct", "sum"), geom=("geom", "first")).reset_index()
        meta = general.drop(columns=["unit_code", "unit_name", "unit_class"]).drop_duplicates("item_id")
        g = agg.merge(meta, on="item_id")
        g["unit_name"] = g["level"].map(LEVEL_TEXT) + np.where(g["class_filter"].fillna("") != "",
                                                                "（" + g["class_filter"].fillna("") + "单元）", "")
        g["unit_class"] = g["class_filter"].fillna("")
        own = pd.concat([g, own], ignore_index=True)
    return own.reset_index(drop=True)


def _judge(rows: pd.DataFrame, site: pd.DataFrame) -> pd.DataFrame:
    """Judge every (row, clause) pair; return per-clause judgments with the row index ``r``."""
    uniq = rows.drop_duplicates("item_id")
    recs = []
    for iid, text in zip(uniq["item_id"].to_numpy(), uniq["clauses"].to_numpy()):  # each distinct item once
        for c in json.loads(text or "[]"):
            c["item_id"] = iid
            recs.append(c)
    if not recs:
        return pd.DataFrame(columns=["r", "result", "effect", "why", "condition", "question"])
    cl = pd.DataFrame({"r": np.arange(len(rows)), "s": rows["s"].to_numpy(), "item_id": rows["item_id"].to_numpy()})
    cl = cl.merge(pd.DataFrame.from_records(recs), on="item_id", sort=False).sort_values("r", kind="stable")
    cl = cl.reset_index(drop=True)
    cl["c"] = np.arange(len(cl))
    pairs = cl[["s", "c"]]
    pre = _prefixes(site["industry"].to_numpy(dtype=object))
    known = site["industry"].notna().to_numpy()[cl["s"].to_numpy()]
    has_ind = cl["industry_terms"].map(len).to_numpy() > 0
    has_act = cl["activity_terms"].map(len).to_numpy() > 0
    ind_core = _match(pairs, pre, _explode(cl, "industry_codes"))
    ind_scope_all = cl["industry_scope"].isna().to_numpy()
    ind_scope = _match(pairs, pre, _explode(cl.assign(industry_scope=cl["industry_scope"].map(lambda v: v or [])),
                                            "industry_scope"))
    exc = _match(pairs, pre, _explode(cl, "exception_codes"))
    T, F, U = 1, 0, -1
    f_ind = np.where(~has_ind, T, np.where(exc & known, F, np.where(ind_core, T,
                     np.where(known & ~ind_scope_all & ~ind_scope, F, U))))
    tags = site[["activity"]].assign(s=np.arange(len(site))).explode("activity").dropna()
    tags = pd.DataFrame({"s": tags["s"].to_numpy(np.int64), "code": tags["activity"].to_numpy(dtype=object)})
    act_tag = _match(pairs, tags, _explode(cl, "activity_tags"))
    act_core = _match(pairs, pre, _explode(cl, "activity_codes"))
    act_scope_all = cl["activity_scope"].isna().to_numpy()
    act_scope = _match(pairs, pre, _explode(cl.assign(activity_scope=cl["activity_scope"].map(lambda v: v or [])),
                                            "activity_scope"))
    f_act = np.where(~has_act, T, np.where(act_tag | act_core, T,
                     np.where(known & ~act_scope_all & ~act_scope, F, U)))
    nat_mask = cl["natures"].map(lambda ns: sum(_NAT_BIT[n] for n in ns)).to_numpy()
    site_nat = site["nature_bit"].to_numpy()[cl["s"].to_numpy()]
    f_nat = np.where(nat_mask == 0, T, np.where(site_nat == 0, U, np.where((nat_mask & site_nat) > 0, T, F)))
    # "新建燃煤锅炉" is about the boiler, not the project: any project may build one
    f_nat = np.where(has_act & ~has_ind & (f_nat == F), T, f_nat)
    # thresholds: every bound must hold; the first one the project has not declared makes it unknown
    f_thr = np.full(len(cl), T)
    thr_param = np.full(len(cl), "", dtype=object)
    n_thr = cl["thresholds"].map(len).to_numpy()
    if (n_thr > 0).any():
        tt = cl[["c", "s", "thresholds"]][n_thr > 0].explode("thresholds")
        td = pd.DataFrame.from_records(tt["thresholds"].tolist())
        td["c"], td["s"] = tt["c"].to_numpy(), tt["s"].to_numpy()
        vals = np.full(len(td), np.nan)
        for p in DECLARED:
            m = (td["param"] == p).to_numpy()
            if m.any():
                vals[m] = site[p].to_numpy()[td["s"].to_numpy()[m]]
        lo, hi = td["lo"].astype(float).to_numpy(), td["hi"].astype(float).to_numpy()
        inside = np.ones(len(td), dtype=bool)
        inside &= np.isnan(lo) | np.where(td["lo_incl"].to_numpy(bool), vals >= lo, vals > lo)
        inside &= np.isnan(hi) | np.where(td["hi_incl"].to_numpy(bool), vals <= hi, vals < hi)
        tv = np.where(np.isnan(vals), U, np.where(inside, T, F))
        td["tv"] = tv
        worst = td.groupby("c")["tv"].agg(lambda x: F if (x == F).any() else (U if (x == U).any() else T))
        f_thr[worst.index.to_numpy()] = worst.to_numpy()
        first_u = td[td["tv"] == U].drop_duplicates("c")
        thr_param[first_u["c"].to_numpy()] = first_u["param"].map(PARAM_TEXT).to_numpy()
    factors = np.vstack([f_ind, f_act, f_nat, f_thr])
    any_f = (factors == F).any(axis=0)
    any_u = (factors == U).any(axis=0)
    major = site["national_major"].to_numpy()[cl["s"].to_numpy()] & cl["exempt_national_major"].to_numpy(bool)
    caveat_loc = cl["location"].fillna("").to_numpy(dtype=object) != ""
    caveat_q = cl["qualifier"].fillna("").to_numpy(dtype=object) != ""
    caveat = caveat_loc | caveat_q | major
    result = np.where(any_f, "符合", np.where(any_u | caveat, "需人工核对", "不符合"))
    s_ind = site["industry"].fillna("").to_numpy(dtype=object)[cl["s"].to_numpy()]
    terms = cl["industry_terms"].map("、".join) + np.where(has_ind & has_act, "、", "") + cl["activity_terms"].map("、".join)
    terms = terms.to_numpy(dtype=object)
    why = np.full(len(cl), "", dtype=object)
    question = np.full(len(cl), "", dtype=object)
    condition = np.full(len(cl), "", dtype=object)
    no = result == "符合"
    why[no & (f_ind == F)] = ("项目行业 " + s_ind[no & (f_ind == F)] + " 不属于：" + terms[no & (f_ind == F)]
                              + np.where(exc[no & (f_ind == F)], "（或属除外行业）", ""))
    sel = no & (f_ind != F) & (f_act == F)
    why[sel] = "项目行业 " + s_ind[sel] + " 不涉及：" + terms[sel]
    sel = no & (f_ind != F) & (f_act != F) & (f_nat == F)
    why[sel] = "建设性质不在条款所列（" + cl["natures"].map("、".join).to_numpy(dtype=object)[sel] + "）之内"
    sel = no & (why == "")
    why[sel] = "申报规模不在条款所列范围内"
    un = result == "需人工核对"
    q_ind = un & (f_ind == U) & ~known
    question[q_ind] = "项目行业代码未申报：是否属于" + terms[q_ind] + "？"
    why[q_ind] = "缺行业代码"
    q_open = un & (f_ind == U) & known
    question[q_open] = "项目（行业 " + s_ind[q_open] + "）是否属于" + terms[q_open] + "？"
    why[q_open] = "行业类别为开放表述，须人工判断"
    q_act = un & (why == "") & (f_act == U)
    question[q_act] = "项目是否涉及：" + terms[q_act] + "？"
    why[q_act] = "未申报是否涉及该设施或活动"
    q_nat = un & (why == "") & (f_nat == U)
    question[q_nat] = "项目建设性质（新建/改建/扩建）未申报"
    why[q_nat] = "缺建设性质"
    q_thr = un & (why == "") & (f_thr == U)
    question[q_thr] = "请申报" + thr_param[q_thr]
    why[q_thr] = "未申报规模"
    q_cav = un & (why == "")
    loc = cl["location"].fillna("").to_numpy(dtype=object)
    qual = cl["qualifier"].fillna("").to_numpy(dtype=object)
    why[q_cav & major] = "按国家重大项目除外情形，须核实"
    question[q_cav & major] = "项目是否确属国家重大项目？"
    sel = q_cav & ~major & caveat_loc
    why[sel] = "条款限定了区域，须核实项目是否位于其中"
    question[sel] = "项目是否位于条款所指区域：" + cl["text"].to_numpy(dtype=object)[sel] + "？"
    sel = q_cav & ~major & ~caveat_loc
    why[sel] = "条款含限定语：" + qual[sel]
    question[sel] = "项目是否属于“" + qual[sel] + "”？"
    yes = result == "不符合"
    exc_text = cl["exception_text"].fillna("").to_numpy(dtype=object)
    req = cl["requirement"].fillna("").to_numpy(dtype=object)
    eff = cl["effect"].to_numpy(dtype=object)
    why[yes] = cl["effect"].map(EFFECT_TEXT).to_numpy(dtype=object)[yes] + "：" + cl["text"].to_numpy(dtype=object)[yes]
    sel = yes & (exc_text != "")
    condition[sel] = "除外情形：" + exc_text[sel]
    question[sel] = "项目是否属于除外情形：" + exc_text[sel] + "？"
    sel = yes & (eff == "condition")
    condition[sel] = np.where(condition[sel] != "", condition[sel] + "；", "") + "须满足：" + req[sel]
    return pd.DataFrame({"r": cl["r"].to_numpy(), "result": result, "effect": eff, "why": why,
                         "condition": condition, "question": question})


def screen_access(result_or_sites, workspace, *, lang: str = "zh", declared: dict[str, float] | None = None,
                  notes: Notes | None = None):
    """Judge the access-list items for every site and unit it touches.

    Parameters
    ----------
    result_or_sites:
        A :class:`~ecogis.screening.engine.ScreenResult` (its findings, verdicts and meta are
        updated in place and it is returned) or a GeoDataFrame of prepared sites (EPSG:4490; an
        :class:`AccessResult` is returned).
    workspace:
        The workspace holding the ``accesslist`` table and the ``control_unit`` layer.  Without
        either, a result passes through unchanged (``None`` for bare sites).
    declared:
        Sizes the project declares for every site (``boiler_tph``, ``capacity_10kt_a``,
        ``power_mw``, ``livestock_head``, ``water_10k_m3_a``); site columns of these names win.
    """
    from ecogis.workspace import open_workspace

    is_result = hasattr(result_or_sites, "findings") and hasattr(result_or_sites, "sites")
    sites = result_or_sites.sites if is_result else result_or_sites
    ws = open_workspace(workspace)
    info = ws.table_info(TABLE)
    if info is None or not ws.has("control_unit"):
        return result_or_sites if is_result else None
    site_geoms = np.asarray(sites.geometry.values, dtype=object)
    if "area_ha" in sites:
        site_area = sites["area_ha"].to_numpy(dtype=float)
    else:
        from ecogis.normalise.area import area_ha

        dims = shapely.get_dimensions(site_geoms)
        site_area = np.zeros(len(site_geoms))
        if (dims == 2).any():
            site_area[dims == 2] = area_ha(site_geoms[dims == 2], 4490)
    bounds = shapely.total_bounds(site_geoms)
    units = ws.read("control_unit", bbox=tuple(float(b) for b in bounds))
    site = _site_table(sites, declared)
    pairs = _unit_pairs(site_geoms, site_area, units) if len(units) else pd.DataFrame(
        columns=["s", "unit_code", "unit_name", "unit_class", "overlap_pct", "geom"])
    items = read_items(ws, unit_codes=sorted(set(pairs["unit_code"]))) if len(pairs) else read_items(ws).iloc[0:0]
    rows = _applicable(pairs, items) if len(pairs) and len(items) else pd.DataFrame()
    meta = {"table_version": info.version, "sha256": info.sha256, "imported_at": info.imported_at,
            "lists": {k: {kk: v.get(kk) for kk in ("source", "sha256", "version", "items", "coverage")}
                      for k, v in lists_in(ws).items()}}
    if len(rows):
        table = _table(rows, site, lang)
    else:
        table = pd.DataFrame(columns=TABLE_COLUMNS)
    findings = _findings(rows, table, site, site_area, lang) if len(table) else None
    acc = AccessResult(table=table, findings=findings, meta=meta)
    if not is_result:
        return acc
    return _merge_into(result_or_sites, acc)


def _table(rows: pd.DataFrame, site: pd.DataFrame, lang: str) -> pd.DataFrame:
    j = _judge(rows, site)
    per = j.groupby("r").agg(rank=("result", lambda x: max(_RANK[v] for v in x))) if len(j) else pd.DataFrame(
        columns=["rank"])
    rank = np.full(len(rows), _RANK["需人工核对"])  # items with no machine clause: text only
    has_clause = rows["n_clauses"].astype(int).to_numpy() > 0
    if len(per):
        rank[per.index.to_numpy()] = per["rank"].to_numpy()
    partial = rows["status"].to_numpy(dtype=object) == "partial"
    rank = np.where(partial & (rank == _RANK["符合"]), _RANK["需人工核对"], rank)
    names = {v: k for k, v in _RANK.items()}
    result = np.array([names[k] for k in rank], dtype=object)
    # the worst clause of each row gives its effect, note, condition and question
    j = j.assign(k=j["result"].map(_RANK), sev=j["effect"].map({"prohibit": 3, "restrict": 2, "condition": 1}))
    j = j.sort_values(["r", "k", "sev"], ascending=[True, False, False]).drop_duplicates("r")
    j = j.set_index("r").reindex(np.arange(len(rows)))
    note = j["why"].fillna("").to_numpy(dtype=object)
    note = np.where(~has_clause, "仅有文字要求，须人工核对", note)
    text_part = partial & (result == "需人工核对") & (j["result"].fillna("") == "符合").to_numpy()
    note = np.where(text_part, "条款部分为文字要求，须人工核对", note)
    effect = j["effect"].fillna("").to_numpy(dtype=object)
    basis = (rows["doc"].fillna("").astype(str) + np.where(rows["doc_number"].fillna("") != "",
                                                           "（" + rows["doc_number"].fillna("").astype(str) + "）", "")
             + np.where(rows["attachment"].fillna("") != "", " " + rows["attachment"].fillna("").astype(str), "")
             + np.where(rows["page"].fillna("").astype(str) != "", " 第" + rows["page"].fillna("").astype(str) + "页", ""))
    s = rows["s"].to_numpy()
    out = pd.DataFrame({
        "site_id": site["site_id"].to_numpy()[s], "site_name": site["site_name"].to_numpy()[s],
        "unit_code": rows["unit_code"].to_numpy(), "unit_name": rows["unit_name"].to_numpy(),
        "unit_class": rows["unit_class"].to_numpy(), "overlap_pct": rows["overlap_pct"].to_numpy(),
        "level": rows["level"].to_numpy(), "dimension": rows["dimension"].to_numpy(), "text": rows["text"].to_numpy(),
        "result": result, "effect": np.where(result == "不符合", pd.Series(effect).map(EFFECT_TEXT).fillna("").to_numpy(), ""),
        "severity": np.where(result == "不符合", pd.Series(effect).map(EFFECT_SEVERITY).fillna("").to_numpy(), ""),
        "basis": basis.to_numpy(), "note": note,
        "condition": np.where(result == "不符合", j["condition"].fillna("").to_numpy(dtype=object), ""),
        "question": np.where(result == "符合", "", j["question"].fillna("").to_numpy(dtype=object)),
        "item_id": rows["item_id"].to_numpy(), "list_id": rows["list_id"].to_numpy(),
        "_s": s, "_geom": rows["geom"].to_numpy(),
    })
    order = {"province": 0, "city": 1, "county": 2, "unit": 3}
    out = out.assign(_lv=out["level"].map(order), _rk=-out["result"].map(_RANK))
    out = out.sort_values(["site_id", "_lv", "unit_code", "dimension", "_rk"], kind="stable").drop(columns=["_lv", "_rk"])
    return out.reset_index(drop=True)


def _findings(rows, table: pd.DataFrame, site: pd.DataFrame, site_area: np.ndarray, lang: str):
    import geopandas as gpd

    from ecogis.normalise.area import ha_to_mu

    bad = table[table["result"] == "不符合"]
    if not len(bad):
        return None
    s = bad["_s"].to_numpy()
    pct = bad["overlap_pct"].astype(float).to_numpy()
    ov = np.where(np.isnan(pct), np.nan, pct / 100.0 * site_area[s])
    msg = ("项目“" + bad["site_name"].fillna("").astype(str) + "”位于“" + bad["unit_name"].astype(str) + "”（"
           + bad["unit_code"].astype(str) + "），不符合生态环境准入清单（" + bad["dimension"] + "）："
           + bad["text"].astype(str))
    df = pd.DataFrame({
        "site_id": bad["site_id"].to_numpy(), "site_name": bad["site_name"].to_numpy(),
        "rule_id": ("ACCESS-" + bad["item_id"].astype(str)).to_numpy(),
        "rule_title": ("生态环境准入清单：" + bad["dimension"]).to_numpy(), "severity": bad["severity"].to_numpy(),
        "layer_kind": "control_unit", "feature_id": None, "feature_name": bad["unit_name"].to_numpy(),
        "zone": bad["unit_class"].to_numpy(), "feature_code": bad["unit_code"].to_numpy(),
        "overlap_ha": np.round(ov, 4), "overlap_mu": np.round(ha_to_mu(ov), 4), "overlap_pct": np.round(pct, 3),
        "overlap_length_m": np.nan, "distance_m": np.nan,
        "basis": (bad["basis"].astype(str) + "：" + bad["text"].astype(str)).to_numpy(),
        "message": msg.to_numpy(), "next_steps": np.where(bad["question"] != "", bad["question"], "对照准入清单调整项目选址或方案"),
        "rule_file": ("accesslist:" + bad["list_id"].astype(str)).to_numpy(), "source": bad["item_id"].to_numpy(),
        "condition": bad["condition"].to_numpy(), "question": bad["question"].to_numpy(),
    })
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(bad["_geom"].to_numpy(), crs=4490), crs=4490)


def _merge_into(result, acc: AccessResult):
    """Add the 不符合 findings to the result, raise the verdicts they make worse, keep the table."""
    from ecogis.screening.engine import SEVERITY_RANK

    result.accesslist = acc.table.drop(columns=["_s", "_geom"], errors="ignore")
    result.meta["accesslist"] = acc.meta
    if acc.findings is None or not len(acc.findings):
        return result
    import geopandas as gpd

    merged = pd.concat([result.findings, acc.findings], ignore_index=True) if len(result.findings) else acc.findings
    rank = merged["severity"].map(SEVERITY_RANK).fillna(0)
    merged = merged.assign(_rank=-rank).sort_values(["site_id", "_rank", "rule_id"], kind="stable").drop(columns="_rank")
    result.findings = gpd.GeoDataFrame(merged.reset_index(drop=True), geometry="geometry", crs=4490)
    worst = acc.findings.groupby("site_id")["severity"].agg(lambda x: max(SEVERITY_RANK[v] for v in x))
    names = {v: k for k, v in SEVERITY_RANK.items()}
    sites = result.sites
    new = sites["site_id"].map(worst).fillna(-99).to_numpy()
    old = sites["verdict"].map(lambda v: SEVERITY_RANK.get(v, 0)).to_numpy()
    off = sites["verdict"].to_numpy() == "not_covered"
    up = (new > old) & (~off | (new >= SEVERITY_RANK["prohibited"]))
    if up.any():
        sites.loc[up, "verdict"] = [names[int(v)] for v in new[up]]
    return result
