"""Patrol targets from several sources, ranked by priority.

Sources (column ``source``):

``clue``
    Change clues from :func:`ecogis.patrol.clues.detect_clues` (a clues
    GeoPackage or the frame); priority is the clue's score.
``ledger``
    Open items of the ledger (台账): the workspace ledger (latest result 属实
    or 整改中) and, optionally, an external ledger file (.gpkg, .csv with
    lon/lat, … with a target ID and a status column).  Priority 75 for 属实
    (confirmed, rectification to check), 65 for 整改中, 60 for an external
    item without status.
``mine``
    Mine features inside or within ``mine_within_m`` (default 1000 m) of a
    protected area or the red line.  Priority: in a core or buffer zone 90,
    in another protected-area zone 75, in the red line 70, nearby 50;
    +5 for a producing mine (在产) or an abandoned one (历史遗留 /
    责任主体灭失: restoration to check) that lies inside.
``finding``
    Existing projects with screening findings (``findings.json`` from
    ``ecogis screen``, located through the workspace ``project`` layer by
    ``site_id``): prohibited 85, restricted 65, review 45.

Targets with the same ID (a clue already in the ledger) are merged: the
highest priority wins and the sources are joined.  Every target is a point
(the feature's representative point) in EPSG:4490.  A finding whose site
cannot be located is returned in ``unlocated``, never dropped silently.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ecogis.errors import FormatError, InputError
from ecogis.notes import Notes
from ecogis.workspace import Workspace, open_workspace

TARGET_COLUMNS = ("target_id", "source", "source_zh", "name", "priority", "check", "basis", "area_ha", "detail")
SOURCE_ZH = {"clue": "遥感线索", "ledger": "台账未销号", "mine": "保护地周边矿山", "finding": "项目筛查发现"}

BASIS_REDLINE = "自然资发〔2022〕142号《关于加强生态保护红线管理的通知（试行）》：红线内除有限人为活动外禁止开发性、生产性建设活动"
BASIS_RESERVE = "《自然保护区条例》第26、27、28、32条；《关于建立以国家公园为主体的自然保护地体系的指导意见》（核心保护区原则上禁止人为活动）"
BASIS_WATER = {"一级保护区": "《水污染防治法》第65条（一级保护区禁止与供水无关的建设项目）",
               "二级保护区": "《水污染防治法》第66条（二级保护区禁止排放污染物的建设项目）",
               "准保护区": "《水污染防治法》第67条（准保护区禁止严重污染水体的建设项目）"}
BASIS_MINE = "《矿产资源法》（自然保护区内未经批准不得开采矿产资源）；《自然保护区条例》第26条；自然资发〔2022〕142号"
BASIS_CLUE = "生态保护红线和自然保护地人类活动遥感监测问题线索核查（绿盾专项行动）"

CHECK_CLUE = ("核实地表变化原因（采矿、采砂、道路、建筑等）及建设主体；是否取得用地、环评等审批手续；"
              "实测扰动范围（公顷）并拍照；判断是否属于允许的有限人为活动")
CHECK_LEDGER = "复核整改情况：违法行为是否停止、设施是否拆除、植被是否恢复；满足条件的按程序销号"
CHECK_MINE = ("核实开采范围是否越界进入保护地或红线、生产状态、矿区生态修复和绿色矿山建设情况；"
              "核对采矿许可证及有效期")
CHECK_FINDING = "核查项目建设现状与审批范围是否一致；是否存在筛查发现的冲突；是否落实避让或论证要求"


@dataclass
class Targets:
    """Ranked targets (points, EPSG:4490), targets without a location, and notes."""

    targets: gpd.GeoDataFrame
    unlocated: pd.DataFrame
    notes: Notes = field(default_factory=Notes)


def _empty() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({c: [] for c in TARGET_COLUMNS}, geometry=gpd.GeoSeries([], crs=4490))


def _frame(rows: dict[str, Any], geoms: np.ndarray) -> gpd.GeoDataFrame:
    df = gpd.GeoDataFrame(rows, geometry=gpd.GeoSeries(shapely.point_on_surface(geoms), crs=4490))
    for c in TARGET_COLUMNS:
        if c not in df.columns:
            df[c] = None
    return df[[*TARGET_COLUMNS, "geometry"]]


def _fmt_ha(v: Any) -> str:
    try:
        return f"{float(v):.2f}"
    except (TypeError, ValueError):
        return "?"


def clue_targets(clues: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Targets from tagged clues (see :func:`ecogis.patrol.clues.tag_clues`)."""
    if len(clues) == 0:
        return _empty()
    c = clues.to_crs(4490) if clues.crs and clues.crs.to_epsg() != 4490 else clues
    get = lambda k: c[k].astype(object).where(c[k].notna(), None) if k in c.columns else pd.Series([None] * len(c))  # noqa: E731
    redline, pa, zone, grade = get("redline"), get("protected_area"), get("pa_zone"), get("water_grade")
    basis, detail = [], []
    for r, p, z, g in zip(redline, pa, zone, grade):
        parts, det = [], []
        if p:
            parts.append(f"{p}{z or ''}：{BASIS_RESERVE}")
            det.append(f"{p}{z or ''}")
        if r:
            parts.append(f"生态保护红线（{r}）：{BASIS_REDLINE}")
            det.append(f"红线 {r}")
        if g:
            parts.append(f"饮用水水源{g}：{BASIS_WATER.get(str(g), '《水污染防治法》')}")
            det.append(f"水源地{g}")
        basis.append("；".join(parts) or BASIS_CLUE)
        detail.append("、".join(det) or "红线和保护地外")
    mine = get("nearest_mine")
    dist = c["mine_distance_m"] if "mine_distance_m" in c.columns else pd.Series([np.nan] * len(c))
    names = [f"植被损失图斑 {_fmt_ha(a)} 公顷" + (f"（最近矿山 {m} {d / 1000:.1f} km）" if m and np.isfinite(d) else "")
             for a, m, d in zip(c["area_ha"], mine, dist.astype(float))]
    return _frame({"target_id": c["clue_id"].astype(str).to_numpy(), "source": "clue",
                   "name": names, "priority": c["priority"].to_numpy(float), "check": CHECK_CLUE,
                   "basis": basis, "area_ha": c["area_ha"].to_numpy(float), "detail": detail},
                  c.geometry.to_numpy())


def ledger_targets(ws: Workspace | None, ledger_file: str | os.PathLike | None = None,
                   notes: Notes | None = None) -> gpd.GeoDataFrame:
    """Targets from the open ledger items of the workspace and of an external ledger file."""
    from ecogis.patrol.ledger import OPEN_RESULTS, open_items

    notes = notes if notes is not None else Notes()
    parts = []
    if ws is not None:
        items = open_items(ws)
        if len(items):
            prio = np.where(items["result"] == "属实", 75.0, 65.0)
            checks = [f"{CHECK_LEDGER}（上次：{r}，{d}，{i}{('，' + m) if m else ''}）"
                      for r, d, i, m in zip(items["result"], items["date"], items["inspector"],
                                            items["remarks"].fillna(""))]
            parts.append(_frame({"target_id": items["target_id"].astype(str).to_numpy(), "source": "ledger",
                                 "name": items["name"].fillna("台账问题").astype(str).to_numpy(),
                                 "priority": prio, "check": checks,
                                 "basis": items["basis"].fillna("台账未销号问题").astype(str).to_numpy(),
                                 "area_ha": np.nan, "detail": items["result"].astype(str).to_numpy()},
                                items.geometry.to_numpy()))
    if ledger_file is not None:
        from ecogis.read import read_file

        from ecogis.errors import CRSError

        try:
            ext = read_file(ledger_file, notes=notes)
        except CRSError:
            if Path(ledger_file).suffix.lower() != ".csv":
                raise
            ext = read_file(ledger_file, crs="EPSG:4490", notes=notes)
            notes.add("crs", f"{Path(ledger_file).name}: lon/lat columns taken as CGCS2000 (EPSG:4490)")
        ext = ext.to_crs(4490)
        cols = {c.lower(): c for c in ext.columns}
        pick = lambda *names: next((cols[n] for n in names if n in cols), None)  # noqa: E731
        id_col = pick("target_id", "id", "编号", "问题编号", "线索编号", "目标编号")
        if id_col is None:
            raise FormatError("the ledger file has no ID column", path=ledger_file,
                              hint="name it target_id, id or 编号")
        st_col = pick("result", "status", "状态", "核查结果", "整改状态")
        name_col = pick("name", "名称", "问题名称")
        basis_col = pick("basis", "依据")
        status = ext[st_col].fillna("").astype(str).str.strip() if st_col else pd.Series([""] * len(ext))
        keep = (status.isin(OPEN_RESULTS) | (status == "")).to_numpy()
        closed = int((~keep).sum())
        if closed:
            notes.add("ledger", f"{closed} closed items of {Path(ledger_file).name} skipped (不属实 / 已销号)")
        e = ext[keep]
        s = status[keep]
        parts.append(_frame({
            "target_id": e[id_col].astype(str).to_numpy(), "source": "ledger",
            "name": (e[name_col].fillna("台账问题").astype(str) if name_col else pd.Series(["台账问题"] * len(e))).to_numpy(),
            "priority": np.where(s == "属实", 75.0, np.where(s == "整改中", 65.0, 60.0)),
            "check": CHECK_LEDGER,
            "basis": (e[basis_col].fillna("台账未销号问题").astype(str) if basis_col
                      else pd.Series(["台账未销号问题"] * len(e))).to_numpy(),
            "area_ha": np.nan, "detail": s.replace("", "未核查").to_numpy()}, e.geometry.to_numpy()))
    parts = [p for p in parts if len(p)]
    return pd.concat(parts, ignore_index=True) if parts else _empty()


def mine_targets(ws: Workspace, *, within_m: float = 1000.0) -> gpd.GeoDataFrame:
    """Mines inside or within ``within_m`` of a protected area or the red line (vectorised STRtree queries)."""
    from ecogis.screening.geometry import metric_crs_for, to_metric

    if not ws.has("mine"):
        return _empty()
    mines = ws.read("mine")
    if len(mines) == 0:
        return _empty()
    mcrs = metric_crs_for(tuple(mines.total_bounds))
    mg = to_metric(mines.geometry.to_numpy(), mcrs)
    n = len(mines)
    prio = np.zeros(n)
    inside = np.zeros(n, dtype=bool)
    detail = [[] for _ in range(n)]
    basis = np.full(n, BASIS_MINE, dtype=object)
    for kind in ("protected_area", "redline"):
        if not ws.has(kind):
            continue
        f = ws.read(kind)
        fg = to_metric(f.geometry.to_numpy(), mcrs)
        tree = shapely.STRtree(fg)
        mi, fi = tree.query(mg, predicate="dwithin", distance=within_m)
        if len(mi) == 0:
            continue
        d = shapely.distance(mg[mi], fg[fi])
        hit = d <= 0
        if kind == "protected_area":
            zone = f["zone"].astype(str).to_numpy() if "zone" in f.columns else np.full(len(f), "")
            z = zone[fi]
            p = np.where(hit & np.isin(z, ["核心区", "核心保护区", "缓冲区"]), 90.0, np.where(hit, 75.0, 50.0))
            label = f["name"].astype(str).to_numpy()[fi] if "name" in f.columns else np.full(len(fi), "保护地")
            text = [f"{nm}{zz}内" if h else f"距{nm}{zz} {dd:.0f} m" for nm, zz, h, dd in zip(label, z, hit, d)]
        else:
            p = np.where(hit, 70.0, 50.0)
            label = f["name"].astype(str).to_numpy()[fi] if "name" in f.columns else np.full(len(fi), "红线")
            text = [f"红线（{nm}）内" if h else f"距红线（{nm}） {dd:.0f} m" for nm, h, dd in zip(label, hit, d)]
        np.maximum.at(prio, mi, p)
        np.logical_or.at(inside, mi, hit)
        for i, t in zip(mi, text):
            if t not in detail[i]:
                detail[i].append(t)
    sel = prio > 0
    if not sel.any():
        return _empty()
    status = mines["status"].astype(str).to_numpy() if "status" in mines.columns else np.full(n, "")
    bonus = np.where(inside & np.isin(status, ["在产", "历史遗留", "责任主体灭失"]), 5.0, 0.0)
    name = mines["name"].astype(str).to_numpy() if "name" in mines.columns else np.full(n, "矿山")
    feat = mines["feature"].fillna("").astype(str).to_numpy() if "feature" in mines.columns else np.full(n, "")
    full = [f"{a}{('·' + b) if b else ''}（{s}）" for a, b, s in zip(name, feat, status)]
    fid = mines["fid"].to_numpy()
    return _frame({"target_id": [f"KS-{int(i):04d}" for i in fid[sel]], "source": "mine",
                   "name": np.array(full, dtype=object)[sel], "priority": (prio + bonus)[sel],
                   "check": CHECK_MINE, "basis": basis[sel],
                   "area_ha": np.nan, "detail": ["；".join(detail[i]) for i in np.flatnonzero(sel)]},
                  mines.geometry.to_numpy()[sel])


_FINDING_PRIORITY = {"prohibited": 85.0, "restricted": 65.0, "review": 45.0}


def finding_targets(ws: Workspace, findings: str | os.PathLike | dict | Any,
                    notes: Notes | None = None) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Targets from screening findings (findings.json, its dict, or a ``ScreenResult``)."""
    notes = notes if notes is not None else Notes()
    from ecogis.render.findings_json import expand_document, read_findings

    if hasattr(findings, "to_document"):  # a ScreenResult: its own document
        doc = findings.to_document()
    elif isinstance(findings, dict):
        doc = expand_document(findings)
    else:
        doc = read_findings(findings)  # either format, rules and checks put back in place
    sites = doc["sites"]
    rows = []
    for s in sites:
        v = s.get("verdict")
        if v not in _FINDING_PRIORITY:
            continue
        fs = sorted(s.get("findings") or [], key=lambda f: -_FINDING_PRIORITY.get(f.get("severity"), 0))
        titles = "；".join(dict.fromkeys(str(f.get("rule_title")) for f in fs[:3]))
        basis = "；".join(dict.fromkeys(str(f.get("basis")) for f in fs[:3] if f.get("basis")))
        rows.append({"site_id": str(s.get("site_id")), "name": s.get("name") or str(s.get("site_id")),
                     "priority": _FINDING_PRIORITY[v], "detail": titles, "basis": basis or "项目筛查发现",
                     "area_ha": s.get("area_ha")})
    if not rows:
        return _empty(), pd.DataFrame(columns=["target_id", "source", "name", "reason"])
    df = pd.DataFrame(rows)
    located = np.zeros(len(df), dtype=bool)
    geoms = np.full(len(df), None, dtype=object)
    if ws.has("project"):
        proj = ws.read("project")
        if "site_id" in proj.columns:
            first = proj.drop_duplicates("site_id").set_index(proj.drop_duplicates("site_id")["site_id"].astype(str))
            hit = df["site_id"].isin(first.index).to_numpy()
            geoms[hit] = first.geometry.loc[df["site_id"][hit]].to_numpy()
            located = hit
    un = df[~located]
    unlocated = pd.DataFrame({"target_id": "XM-" + un["site_id"], "source": "finding", "name": un["name"],
                              "reason": "工作空间 project 图层中找不到该项目的位置（site_id）"})
    if len(un):
        notes.add("unlocated", "findings without a project location in the workspace", ids=tuple(un["site_id"]))
    d = df[located]
    frame = _frame({"target_id": ("XM-" + d["site_id"]).to_numpy(), "source": "finding", "name": d["name"].to_numpy(),
                    "priority": d["priority"].to_numpy(float),
                    "check": [f"{CHECK_FINDING}（筛查发现：{t}）" if t else CHECK_FINDING for t in d["detail"]],
                    "basis": d["basis"].to_numpy(),
                    "area_ha": d["area_ha"].to_numpy(float), "detail": d["detail"].to_numpy()}, geoms[located])
    return frame, unlocated


def gather_targets(workspace: str | os.PathLike | Workspace, *, clues: str | os.PathLike | gpd.GeoDataFrame | None = None,
                   ledger: str | os.PathLike | None = None, findings: Any = None, mines: bool = True,
                   mine_within_m: float = 1000.0, use_ws_ledger: bool = True) -> Targets:
    """All targets, merged by ID and ranked by priority (highest first)."""
    ws = open_workspace(workspace)
    notes = Notes()
    parts = []
    if clues is not None:
        cg = clues
        if not isinstance(clues, gpd.GeoDataFrame):
            import pyogrio

            try:
                cg = pyogrio.read_dataframe(clues)
            except Exception as exc:
                raise FormatError(f"cannot read clues: {exc}", path=clues) from None
        if "clue_id" not in cg.columns:
            raise FormatError("not a clues file (no clue_id column)", path=str(clues) if not isinstance(clues, gpd.GeoDataFrame) else None,
                              hint="make it with ecogis clues")
        parts.append(clue_targets(cg))
    parts.append(ledger_targets(ws if use_ws_ledger else None, ledger, notes))
    if mines:
        parts.append(mine_targets(ws, within_m=mine_within_m))
    unlocated = pd.DataFrame(columns=["target_id", "source", "name", "reason"])
    if findings is not None:
        fr, unlocated = finding_targets(ws, findings, notes)
        parts.append(fr)
    parts = [p for p in parts if len(p)]
    if not parts:
        return Targets(_empty(), unlocated, notes)
    allt = pd.concat(parts, ignore_index=True)
    allt = gpd.GeoDataFrame(allt, geometry="geometry", crs=4490)
    allt["_order"] = allt["source"].map({"ledger": 0, "clue": 1, "mine": 2, "finding": 3}).fillna(9)
    allt = allt.sort_values(["priority", "_order"], ascending=[False, True], kind="stable")
    dup = allt["target_id"].duplicated(keep="first")
    if dup.any():
        srcs = allt.groupby("target_id")["source"].agg(lambda s: "+".join(dict.fromkeys(s)))
        allt = allt[~dup].copy()
        allt["source"] = allt["target_id"].map(srcs)
        notes.add("merge", "targets from several sources merged by ID", ids=tuple(srcs[srcs.str.contains("+", regex=False)].index))
    allt["source_zh"] = allt["source"].map(lambda s: "+".join(SOURCE_ZH.get(x, x) for x in str(s).split("+")))
    allt = allt.drop(columns="_order").reset_index(drop=True)
    allt.insert(0, "rank", np.arange(1, len(allt) + 1))
    return Targets(allt, unlocated, notes)
