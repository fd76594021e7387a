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
from ecogis.accesslist.store import TABLE, read_items
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


def _flat(col) -> tuple[np.ndarray, np.ndarray]:
    """A column of lists → (row index, flat values)."""
    lists = [v if isinstance(v, (list, tuple)) else [] for v in col]
    lens = np.fromiter(map(len, lists), dtype=np.int64, count=len(lists))
    flat = np.array([x for v in lists for x in v], dtype=object)
    return np.repeat(np.arange(len(lists)), lens), flat


def _site_keys(site_idx: np.ndarray, values: np.ndarray) -> np.ndarray:
    return np.char.add(np.char.add(site_idx.astype(str), "|"), values.astype(str)) if len(values) else \
        np.zeros(0, dtype=str)


def _prefix_keys(codes: np.ndarray) -> np.ndarray:
    """``"s|prefix"`` for every site industry code: its section, division, group and class."""
    known = np.array([c is not None for c in codes], dtype=bool)
    idx = np.flatnonzero(known)
    if not len(idx):
        return np.zeros(0, dtype=str)
    full = codes[idx].astype("U5")
    lens = np.char.str_len(full)
    parts = [_site_keys(idx[lens >= n], full[lens >= n].astype(f"U{n}")) for n in (1, 3, 4, 5)]
    return np.concatenate(parts)


def _match(row_site: np.ndarray, col, keys: np.ndarray) -> np.ndarray:
    """For each row (of site ``row_site``): does one of the row's listed values meet a key of its site?"""
    out = np.zeros(len(row_site), dtype=bool)
    r, flat = _flat(col)
    if len(flat) and len(keys):
        hit = np.isin(_site_keys(row_site[r], flat), keys)
        out[r[hit]] = True
    return out


def _obj(a) -> np.ndarray:
    return np.asarray(a, dtype=object)


def _site_table(sites: pd.DataFrame, declared: dict[str, float] | None) -> dict[str, np.ndarray]:
    n = len(sites)

    def col(name, default=None):
        return _obj(sites[name].to_numpy(dtype=object)) if name in sites else np.full(n, default, dtype=object)

    ind = col("industry")
    ind = np.where([isinstance(v, str) and bool(v) for v in ind], ind, None)
    nat = col("nature")
    out = {"site_id": col("site_id").astype(str).astype(object), "site_name": col("name"), "industry": _obj(ind),
           "nature_bit": np.array([_NAT_BIT.get(v, 0) if isinstance(v, str) else 0 for v in nat], dtype=np.int64),
           "national_major": np.array([bool(v) is True and v == v for v in col("national_major", False)], dtype=bool),
           "activity": _obj([_tags(v) for v in col("activity")] + [None])[:-1]}
    for p in DECLARED:
        vals = pd.to_numeric(sites[p], errors="coerce").to_numpy(dtype=float) if p in sites else np.full(n, np.nan)
        if declared and declared.get(p) is not None:
            vals = np.where(np.isnan(vals), float(declared[p]), vals)
        out[p] = vals
    return out


def _tags(v: Any) -> list[str]:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return []
    if isinstance(v, (list, tuple, set, np.ndarray)):
        return [str(t).strip() for t in v if str(t).strip()]
    return [t.strip() for t in str(v).replace("；", ";").replace(",", ";").split(";") if t.strip()]


def _unit_pairs(site_geoms: np.ndarray, site_area: np.ndarray, codes, names, classes, ugeoms) -> dict[str, np.ndarray]:
    """(site, unit) pairs whose interiors meet, with the unit's share of the site in %."""
    from shapely import STRtree

    from ecogis.normalise.area import area_ha

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
    return {"s": s.astype(np.int64), "unit_code": codes[u], "unit_name": names[u], "unit_class": classes[u],
            "overlap_pct": np.round(pct, 3), "geom": inter}


def _units(ws, bounds, snap_meta, notes: Notes, cu=None):
    """Codes, names, classes and geometries of the units near ``bounds``: from the import snapshot when it
    matches the current control_unit layer (``cu``, else read from the metadata), else from the layer."""
    from ecogis.accesslist.store import UNITS_TABLE, current_unit_layer

    cu = cu or current_unit_layer(ws)
    if cu is None:
        return None
    if snap_meta and all(snap_meta.get(k) == cu.get(k) for k in ("version", "sha256", "imported_at")):
        t = ws.read_table(UNITS_TABLE, bbox=bounds)
        a = t[["code", "name", "class", "wkb"]].to_numpy(dtype=object)
        return a[:, 0], a[:, 1], a[:, 2], shapely.from_wkb(a[:, 3]), cu
    notes.add("accesslist", "the control_unit layer changed after the access lists were imported: units read from the"
              " layer (re-import the lists to check their codes against it)")
    units = ws.read("control_unit", bbox=bounds)
    return (_obj(units["code"].astype(str).to_numpy(dtype=object)), _obj(units["name"].to_numpy(dtype=object)),
            _obj(units["class"].astype(str).to_numpy(dtype=object)), np.asarray(units.geometry.values, dtype=object), cu)


def _ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each i, the integers lo[i] … hi[i]-1: (owner i repeated, the integers)."""
    cnt = hi - lo
    owner = np.repeat(np.arange(len(lo)), cnt)
    start = np.repeat(lo - np.concatenate([[0], np.cumsum(cnt)[:-1]]), cnt)
    return owner, start + np.arange(int(cnt.sum()))


def _applicable(pairs: dict[str, np.ndarray], items: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """(site, item) rows: each touched unit's own items, and each general item once per site."""
    lv = items["level"]
    unit_i = np.flatnonzero(lv == "unit")
    order = np.argsort(pairs["unit_code"].astype(str), kind="stable")
    sorted_codes = pairs["unit_code"].astype(str)[order]
    icodes = items["unit_code"][unit_i].astype(str)
    owner, pos = _ranges(np.searchsorted(sorted_codes, icodes, "left"), np.searchsorted(sorted_codes, icodes, "right"))
    own_item, own_pair = unit_i[owner], order[pos]
    rows = {"item": own_item, "pair": own_pair, "unit_code": pairs["unit_code"][own_pair],
            "unit_name": pairs["unit_name"][own_pair], "unit_class": pairs["unit_class"][own_pair]}
    gen_i = np.flatnonzero(lv != "unit")
    if len(gen_i):
        gi = np.repeat(gen_i, len(order))
        pj = np.tile(np.arange(len(order)), len(gen_i))
        adc = np.array([c[2:8] for c in pairs["unit_code"].astype(str)], dtype=str)[pj] if len(pj) else np.zeros(0, str)
        ok = np.char.startswith(adc, items["scope_code"][gi].astype(str)) if len(pj) else np.zeros(0, bool)
        cf = items["class_filter"][gi]
        ok &= (cf == "") | (cf == None) | (cf == pairs["unit_class"][pj])  # noqa: E711
        gi, pj = gi[ok], pj[ok]
        key = pairs["s"][pj] * (len(lv) + 1) + gi
        _, first, inv = np.unique(key, return_index=True, return_inverse=True)
        codes_by: dict[int, list[str]] = {}
        for k, c in zip(inv.tolist(), pairs["unit_code"][pj].tolist()):  # the units a general item applies through
            codes_by.setdefault(k, []).append(c)
        g_item, g_pair = gi[first], pj[first]
        lvl = items["level"][g_item]
        cls = items["class_filter"][g_item]
        name = np.array([LEVEL_TEXT.get(x, x) for x in lvl], dtype=object) + np.where(
            (cls != "") & (cls != None), "（" + cls.astype(str) + "单元）", "")  # noqa: E711
        gen = {"item": g_item, "pair": g_pair,
               "unit_code": _obj(["、".join(dict.fromkeys(codes_by[k])) for k in range(len(first))]),
               "unit_name": name, "unit_class": _obj(np.where(cls == None, "", cls))}  # noqa: E711
        rows = {k: np.concatenate([gen[k], rows[k]]) for k in rows}
    return rows


def _clauses(items: dict[str, np.ndarray], item_idx: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The clauses of the rows' items: (row of each clause, clause fields as arrays)."""
    uniq, inv = np.unique(item_idx, return_inverse=True)
    per_item = [json.loads(items["clauses"][i] or "[]") for i in uniq]
    lens = np.array([len(c) for c in per_item], dtype=np.int64)
    start = np.concatenate([[0], np.cumsum(lens)[:-1]]) if len(lens) else np.zeros(0, np.int64)
    flat = [c for cs in per_item for c in cs]
    row_owner, pos = _ranges(start[inv], start[inv] + lens[inv])
    fields = {}
    if flat:
        for k in flat[0]:
            fields[k] = _obj([c.get(k) for c in flat] + [None])[:-1][pos]
    return row_owner, fields


def _judge(rows: dict[str, np.ndarray], items, pairs, site) -> dict[str, np.ndarray]:
    """Judge every (row, clause) pair; per-clause arrays with the row index ``r``."""
    r, cl = _clauses(items, rows["item"])
    if not len(r):
        return {"r": r}
    rs = pairs["s"][rows["pair"][r]]
    pre = _prefix_keys(site["industry"])
    known = np.array([v is not None for v in site["industry"]], dtype=bool)[rs]
    has_ind = np.array([bool(v) for v in cl["industry_terms"]], dtype=bool)
    has_act = np.array([bool(v) for v in cl["activity_terms"]], dtype=bool)
    ind_core = _match(rs, cl["industry_codes"], pre)
    ind_scope_all = np.array([v is None for v in cl["industry_scope"]], dtype=bool)
    ind_scope = _match(rs, cl["industry_scope"], pre)
    exc = _match(rs, cl["exception_codes"], pre)
    T, F, U = 1, 0, -1
    f_ind = np.where(~has_ind, T, np.where(exc & known, F, np.where(ind_core, T,
                     np.where(known & ~ind_scope_all & ~ind_scope, F, U))))
    t_idx, t_val = _flat(site["activity"])
    act_tag = _match(rs, cl["activity_tags"], _site_keys(t_idx, t_val))
    act_core = _match(rs, cl["activity_codes"], pre)
    act_scope_all = np.array([v is None for v in cl["activity_scope"]], dtype=bool)
    act_scope = _match(rs, cl["activity_scope"], pre)
    f_act = np.where(~has_act, T, np.where(act_tag | act_core, T, np.where(known & ~act_scope_all & ~act_scope, F, U)))
    nat_mask = np.array([sum(_NAT_BIT[n] for n in ns) for ns in cl["natures"]], dtype=np.int64)
    site_nat = site["nature_bit"][rs]
    f_nat = np.where(nat_mask == 0, T, np.where(site_nat == 0, U, np.where((nat_mask & site_nat) > 0, T, F)))
    # "新建燃煤锅炉" is about the boiler, not the project: any project may build one
    f_nat = np.where(has_act & ~has_ind & (f_nat == F), T, f_nat)
    # thresholds: every bound must hold; an undeclared size makes the clause unknown
    f_thr = np.full(len(r), T)
    thr_param = np.full(len(r), "", dtype=object)
    t_own, t_list = _flat(cl["thresholds"])
    if len(t_list):
        param = _obj([t["param"] for t in t_list])
        vals = np.full(len(t_list), np.nan)
        for p in DECLARED:
            m = param == p
            if m.any():
                vals[m] = site[p][rs[t_own[m]]]
        lo = np.array([np.nan if t["lo"] is None else t["lo"] for t in t_list], dtype=float)
        hi = np.array([np.nan if t["hi"] is None else t["hi"] for t in t_list], dtype=float)
        lo_in = np.array([bool(t["lo_incl"]) for t in t_list])
        hi_in = np.array([bool(t["hi_incl"]) for t in t_list])
        with np.errstate(invalid="ignore"):
            inside = (np.isnan(lo) | np.where(lo_in, vals >= lo, vals > lo)) & (np.isnan(hi) | np.where(hi_in, vals <= hi, vals < hi))
        tv = np.where(np.isnan(vals), U, np.where(inside, T, F))
        any_f = np.zeros(len(r), bool)
        any_f[t_own[tv == F]] = True
        any_u = np.zeros(len(r), bool)
        any_u[t_own[tv == U]] = True
        f_thr = np.where(any_f, F, np.where(any_u, U, T))
        first_u = t_own[tv == U]
        thr_param[first_u[::-1]] = _obj([PARAM_TEXT.get(x, x) for x in param[tv == U]])[::-1]
    factors = np.vstack([f_ind, f_act, f_nat, f_thr])
    any_f = (factors == F).any(axis=0)
    any_u = (factors == U).any(axis=0)
    major = site["national_major"][rs] & np.array([bool(v) for v in cl["exempt_national_major"]], dtype=bool)
    loc = _obj(["" if v is None else v for v in cl["location"]])
    qual = _obj(["" if v is None else v for v in cl["qualifier"]])
    caveat_loc, caveat_q = loc != "", qual != ""
    result = np.where(any_f, "符合", np.where(any_u | caveat_loc | caveat_q | major, "需人工核对", "不符合")).astype(object)
    s_ind = _obj(["" if v is None else v for v in site["industry"]])[rs]
    terms = _obj(["、".join(list(a) + list(b)) for a, b in zip(cl["industry_terms"], cl["activity_terms"])])
    text = cl["text"]
    why = np.full(len(r), "", dtype=object)
    question = np.full(len(r), "", dtype=object)
    condition = np.full(len(r), "", dtype=object)
    no = result == "符合"
    sel = no & (f_ind == F)
    why[sel] = "项目行业 " + s_ind[sel] + " 不属于：" + terms[sel] + np.where(exc[sel], "（或属除外行业）", "")
    sel = no & (f_ind != F) & (f_act == F)
    why[sel] = "项目行业 " + s_ind[sel] + " 不涉及：" + terms[sel]
    sel = no & (why == "") & (f_nat == F)
    why[sel] = "建设性质不在条款所列（" + _obj(["、".join(n) for n in cl["natures"]])[sel] + "）之内"
    why[no & (why == "")] = "申报规模不在条款所列范围内"
    un = result == "需人工核对"
    sel = un & (f_ind == U) & ~known
    question[sel] = "项目行业代码未申报：是否属于" + terms[sel] + "？"
    why[sel] = "缺行业代码"
    sel = un & (f_ind == U) & known
    question[sel] = "项目（行业 " + s_ind[sel] + "）是否属于" + terms[sel] + "？"
    why[sel] = "行业类别为开放表述，须人工判断"
    sel = un & (why == "") & (f_act == U)
    act_terms = _obj(["、".join(b) for b in cl["activity_terms"]])
    question[sel] = "项目是否涉及：" + act_terms[sel] + "？"
    why[sel] = "未申报是否涉及该设施或活动"
    sel = un & (why == "") & (f_nat == U)
    question[sel] = "项目建设性质（新建/改建/扩建）未申报"
    why[sel] = "缺建设性质"
    sel = un & (why == "") & (f_thr == U)
    question[sel] = "请申报" + thr_param[sel]
    why[sel] = "未申报规模"
    cav = un & (why == "")
    why[cav & major] = "按国家重大项目除外情形，须核实"
    question[cav & major] = "项目是否确属国家重大项目？"
    sel = cav & ~major & caveat_loc
    why[sel] = "条款限定了区域，须核实项目是否位于其中"
    question[sel] = "项目是否位于条款所指区域：" + text[sel] + "？"
    sel = cav & ~major & ~caveat_loc
    why[sel] = "条款含限定语：" + qual[sel]
    question[sel] = "项目是否属于“" + qual[sel] + "”？"
    yes = result == "不符合"
    exc_text = _obj(["" if v is None else v for v in cl["exception_text"]])
    req = _obj(["" if v is None else v for v in cl["requirement"]])
    eff = cl["effect"]
    why[yes] = _obj([EFFECT_TEXT[e] for e in eff])[yes] + "：" + text[yes]
    sel = yes & (exc_text != "")
    condition[sel] = "除外情形：" + exc_text[sel]
    question[sel] = "项目是否属于除外情形：" + exc_text[sel] + "？"
    sel = yes & (eff == "condition")
    condition[sel] = np.where(condition[sel] != "", condition[sel] + "；", "") + "须满足：" + req[sel]
    return {"r": r, "result": result, "effect": eff, "why": why, "condition": condition, "question": question}


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
    if info is None:
        return result_or_sites if is_result else None
    notes = notes if notes is not None else (result_or_sites.notes if is_result else Notes())
    site_geoms = np.asarray(sites.geometry.values, dtype=object)
    if "area_ha" in sites:
        site_area = sites["area_ha"].to_numpy(dtype=float)
    else:
        from ecogis.normalise.area import area_ha

        dims = shapely.get_dimensions(site_geoms)
        site_area = np.zeros(len(site_geoms))
        if (dims == 2).any():
            site_area[dims == 2] = area_ha(site_geoms[dims == 2], 4490)
    bounds = tuple(float(b) for b in shapely.total_bounds(site_geoms))
    used = (result_or_sites.meta.get("layers") or {}).get("control_unit") if is_result else None
    cu = {k: used.get(k) for k in ("version", "sha256", "imported_at")} if used else None
    got = _units(ws, bounds, info.meta.get("control_unit"), notes, cu)
    if got is None:
        return result_or_sites if is_result else None
    codes, names, classes, ugeoms, cu = got
    meta = {"table_version": info.version, "sha256": info.sha256, "imported_at": info.imported_at,
            "control_unit": cu,
            "lists": {k: {kk: v.get(kk) for kk in ("source", "sha256", "version", "items", "coverage")}
                      for k, v in (info.meta.get("lists") or {}).items()}}
    site = _site_table(sites, declared)
    table = pd.DataFrame(columns=TABLE_COLUMNS)
    findings = None
    if len(codes):
        pairs = _unit_pairs(site_geoms, site_area, codes, names, classes, ugeoms)
        if len(pairs["s"]):
            df = read_items(ws, unit_codes=sorted(set(pairs["unit_code"].tolist())))
            arr = df.to_numpy(dtype=object)
            items = {c: arr[:, i] for i, c in enumerate(df.columns)}
            if len(df):
                rows = _applicable(pairs, items)
                if len(rows["item"]):
                    table, keep = _table(rows, items, pairs, site)
                    findings = _findings(table, keep, site_area)
    acc = AccessResult(table=table, findings=findings, meta=meta)
    if not is_result:
        return acc
    return _merge_into(result_or_sites, acc)


def _table(rows, items, pairs, site) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    n = len(rows["item"])
    j = _judge(rows, items, pairs, site)
    rank = np.full(n, _RANK["需人工核对"])  # items with no machine clause: text only
    pick = np.full(n, -1)
    if len(j["r"]):
        k = np.array([_RANK[v] for v in j["result"]])
        sev = np.array([{"prohibit": 3, "restrict": 2, "condition": 1}[e] for e in j["effect"]])
        order = np.lexsort((-sev, -k, j["r"]))  # per row: worst result, then strongest effect first
        r_sorted = j["r"][order]
        first = order[np.r_[True, r_sorted[1:] != r_sorted[:-1]]]
        rank[j["r"][first]] = k[first]
        pick[j["r"][first]] = first
    it = rows["item"]
    status = items["status"][it]
    partial = status == "partial"
    has_clause = np.array([int(x) > 0 for x in items["n_clauses"][it]], dtype=bool)
    rank = np.where(partial & (rank == _RANK["符合"]), _RANK["需人工核对"], rank)
    names = {v: k for k, v in _RANK.items()}
    result = _obj([names[x] for x in rank])

    def take(key, default=""):
        out = np.full(n, default, dtype=object)
        if len(j["r"]):
            ok = pick >= 0
            out[ok] = j[key][pick[ok]]
        return out

    note = np.where(~has_clause, "仅有文字要求，须人工核对", take("why"))
    note = np.where(partial & (result == "需人工核对") & (take("result") == "符合"), "条款部分为文字要求，须人工核对", note)
    effect = take("effect")
    bad = result == "不符合"

    def txt(key):
        return _obj(["" if v is None else str(v) for v in items[key][it]])

    doc, num, att, page = txt("doc"), txt("doc_number"), txt("attachment"), txt("page")
    basis = doc + np.where(num != "", "（" + num + "）", "") + np.where(att != "", " " + att, "") + \
        np.where(page != "", np.where(np.char.isdigit(page.astype(str)), " 第" + page + "页", " " + page), "")
    s = pairs["s"][rows["pair"]]
    level = items["level"][it]
    lv_order = np.array([{"province": 0, "city": 1, "county": 2}.get(x, 3) for x in level])
    cols = {
        "site_id": site["site_id"][s], "site_name": site["site_name"][s], "unit_code": rows["unit_code"],
        "unit_name": rows["unit_name"], "unit_class": rows["unit_class"], "overlap_pct": pairs["overlap_pct"][rows["pair"]],
        "level": level, "dimension": items["dimension"][it], "text": items["text"][it], "result": result,
        "effect": np.where(bad, _obj([EFFECT_TEXT.get(e, "") for e in effect]), ""),
        "severity": np.where(bad, _obj([EFFECT_SEVERITY.get(e, "") for e in effect]), ""),
        "basis": basis, "note": note, "condition": np.where(bad, take("condition"), ""),
        "question": np.where(result == "符合", "", take("question")), "item_id": items["item_id"][it],
        "list_id": items["list_id"][it],
    }
    order = np.lexsort((-rank, cols["dimension"].astype(str), rows["unit_code"].astype(str), lv_order,
                        cols["site_id"].astype(str)))
    table = pd.DataFrame({k: v[order] for k, v in cols.items()}, columns=TABLE_COLUMNS, dtype=object)
    table["overlap_pct"] = table["overlap_pct"].astype(float)
    keep = {"s": s[order], "geom": pairs["geom"][rows["pair"]][order]}
    return table, keep


def _findings(table: pd.DataFrame, keep: dict[str, np.ndarray], site_area: np.ndarray):
    import geopandas as gpd

    from ecogis.normalise.area import ha_to_mu

    badm = (table["result"] == "不符合").to_numpy()
    if not badm.any():
        return None
    bad = {c: table[c].to_numpy(dtype=object)[badm] for c in table.columns}
    s = keep["s"][badm]
    pct = bad["overlap_pct"].astype(float)
    ov = np.where(np.isnan(pct), np.nan, pct / 100.0 * site_area[s])
    name = _obj(["" if v is None else str(v) for v in bad["site_name"]])
    msg = ("项目“" + name + "”位于“" + bad["unit_name"].astype(str) + "”（" + bad["unit_code"].astype(str)
           + "），不符合生态环境准入清单（" + bad["dimension"] + "）：" + bad["text"])
    df = pd.DataFrame({
        "site_id": bad["site_id"], "site_name": bad["site_name"], "rule_id": "ACCESS-" + bad["item_id"].astype(str),
        "rule_title": "生态环境准入清单：" + bad["dimension"], "severity": bad["severity"], "layer_kind": "control_unit",
        "feature_id": None, "feature_name": bad["unit_name"], "zone": bad["unit_class"], "feature_code": bad["unit_code"],
        "overlap_ha": np.round(ov, 4), "overlap_mu": np.round(ha_to_mu(ov), 4), "overlap_pct": np.round(pct, 3),
        "overlap_length_m": np.nan, "distance_m": np.nan, "basis": bad["basis"] + "：" + bad["text"], "message": msg,
        "next_steps": np.where(bad["question"] != "", bad["question"], "对照准入清单调整项目选址或方案"),
        "rule_file": "accesslist:" + bad["list_id"].astype(str), "source": bad["item_id"],
        "condition": bad["condition"], "question": bad["question"],
    })
    return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(keep["geom"][badm], crs=4490), crs=4490)


def _merge_into(result, acc: AccessResult):
    """Add the 不符合 findings to the result, raise the verdicts they make worse, keep the table."""
    from ecogis.screening.engine import SEVERITY_RANK

    result.accesslist = acc.table
    result.meta["accesslist"] = acc.meta
    n_check = int((acc.table["result"] == "需人工核对").sum()) if len(acc.table) else 0
    if n_check:
        result.notes.add("accesslist", f"{n_check} access-list items need checking by hand (需人工核对); they do not"
                         " change the verdict — see the 准入清单对照 table")
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
