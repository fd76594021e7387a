"""Day routes for a patrol within a time budget.

Each day is a round trip from the start (the team's base) and back.  A day's
time is ``driving km / speed + stops × visit minutes``, and must not exceed
``hours_per_day``.

**Distances.**  Without a road layer: the geodesic distance × a detour factor
(default 1.3).  With a ``road`` layer: the roads are noded at crossings,
split every 200 m and made into a networkx graph; a stop is joined to its
nearest road node by a straight access leg (× the detour factor), and the
distance between two stops is the shortest path over the network (Dijkstra)
plus the two access legs — or the straight-line × detour distance when the two
stops are closer to each other than to the road (both off-road) or the
network does not connect them.  Tracks follow the roads for the road part.

**Heuristic.**  Targets are taken in priority order and each is put where it
adds the least time (cheapest insertion over every position of every day)
if the day still fits; then every day is improved by 2-opt and stops are
moved between days where that shortens the total (relocate); then the
targets left over are tried again, until nothing changes.  Targets that fit
nowhere are *deferred* with the reason, never dropped silently.  The total
distance is reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ecogis.errors import InputError
from ecogis.normalise.area import GEOD
from ecogis.notes import Notes


@dataclass
class DayRoute:
    """One day: stops (row positions in the targets frame, in visiting order), distance and time."""

    day: int
    stops: list[int]
    legs_km: list[float]
    distance_km: float
    drive_hours: float
    visit_hours: float
    track: list[list[tuple[float, float]]] = field(default_factory=list)  # one lon/lat polyline per leg
    start_name: str = "出发点"
    end_name: str = "出发点"  # where the day ends: the base, or the lodging where the night is spent
    night: str | None = None  # the lodging of the night after this day (None: back at the base)
    end_lonlat: tuple[float, float] | None = None

    @property
    def hours(self) -> float:
        return self.drive_hours + self.visit_hours


@dataclass
class RoutePlan:
    """The routes per day, the deferred targets and the totals."""

    days: list[DayRoute]
    deferred: pd.DataFrame  # position, target_id, reason
    total_km: float
    method: str
    params: dict[str, Any]
    notes: Notes = field(default_factory=Notes)

    @property
    def visited(self) -> list[int]:
        return [s for d in self.days for s in d.stops]


def parse_start(text: str) -> tuple[float, float]:
    """``"LON,LAT"`` (CGCS2000 degrees) → (lon, lat)."""
    try:
        lon, lat = (float(v) for v in str(text).replace("，", ",").split(","))
    except ValueError:
        raise InputError(f"start must be LON,LAT in degrees, got {text!r}", where="--start") from None
    if not (-180 <= lon <= 180 and -90 <= lat <= 90) or not (math.isfinite(lon) and math.isfinite(lat)):
        raise InputError(f"start is not lon/lat degrees: {text!r}", where="--start")
    return lon, lat


def straight_km(lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Geodesic distance matrix (km) between points, vectorised."""
    n = len(lon)
    i, j = np.triu_indices(n, 1)
    _, _, d = GEOD.inv(lon[i], lat[i], lon[j], lat[j])
    m = np.zeros((n, n))
    m[i, j] = np.asarray(d) / 1000.0
    m[j, i] = m[i, j]
    return m


class RoadNetwork:
    """A routable graph of a road layer (metric CRS), for distances and tracks."""

    def __init__(self, roads: gpd.GeoDataFrame, *, segment_m: float = 200.0) -> None:
        import networkx as nx

        from ecogis.screening.geometry import metric_crs_for, to_metric

        r = roads.to_crs(4490) if roads.crs and roads.crs.to_epsg() != 4490 else roads
        self.crs = metric_crs_for(tuple(r.total_bounds))
        lines = to_metric(r.geometry.to_numpy(), self.crs)
        lines = lines[shapely.get_dimensions(lines) == 1]
        noded = shapely.get_parts(shapely.union_all(lines)) if len(lines) else np.zeros(0, dtype=object)
        noded = shapely.segmentize(noded, segment_m)
        coords, part = shapely.get_coordinates(noded, return_index=True)
        keys = np.round(coords, 0)
        uniq, inv = np.unique(keys, axis=0, return_inverse=True)
        inv = inv.ravel()
        same = part[1:] == part[:-1]
        u, v = inv[:-1][same], inv[1:][same]
        w = np.hypot(*(coords[1:][same] - coords[:-1][same]).T) / 1000.0
        g = nx.Graph()
        g.add_weighted_edges_from(zip(u.tolist(), v.tolist(), w.tolist()))
        self.graph = g
        self.nodes_xy = uniq
        self.tree = shapely.STRtree(shapely.points(uniq))
        self._nx = nx

    def snap(self, lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Nearest graph node of each point and the straight distance to it (km)."""
        from ecogis.screening.geometry import to_metric

        pts = to_metric(shapely.points(lon, lat), self.crs)
        _, idx = self.tree.query_nearest(pts, all_matches=False)
        d = shapely.distance(pts, shapely.points(self.nodes_xy[idx])) / 1000.0
        return idx, d

    def lengths_from(self, node: int) -> dict[int, float]:
        return self._nx.single_source_dijkstra_path_length(self.graph, int(node), weight="weight")

    def path_lonlat(self, a: int, b: int) -> list[tuple[float, float]]:
        from ecogis.screening.geometry import from_metric

        nodes = self._nx.dijkstra_path(self.graph, int(a), int(b), weight="weight")
        line = shapely.points(self.nodes_xy[nodes])
        ll = shapely.get_coordinates(from_metric(line, self.crs))
        return [(float(x), float(y)) for x, y in ll]


def distance_matrix(lon: np.ndarray, lat: np.ndarray, *, roads: gpd.GeoDataFrame | None = None,
                    detour: float = 1.3, notes: Notes | None = None) -> tuple[np.ndarray, np.ndarray, Any]:
    """(km matrix, bool matrix "leg uses the road", network or None) for points 0..n-1."""
    notes = notes if notes is not None else Notes()
    straight = straight_km(lon, lat) * detour
    if roads is None or len(roads) == 0:
        return straight, np.zeros(straight.shape, dtype=bool), None
    net = RoadNetwork(roads)
    if net.graph.number_of_nodes() == 0:
        notes.add("route", "the road layer has no lines: straight-line distances used")
        return straight, np.zeros(straight.shape, dtype=bool), None
    node, access = net.snap(lon, lat)
    access = access * detour
    n = len(lon)
    road = np.full((n, n), np.inf)
    for src in np.unique(node):
        lengths = net.lengths_from(src)
        rows = np.flatnonzero(node == src)
        net_d = np.array([lengths.get(int(t), np.inf) for t in node])
        for r in rows:
            road[r] = access[r] + net_d + access
    np.fill_diagonal(road, 0.0)
    # off the network: two stops closer to each other than to the road go straight
    off_road = straight < access[:, None] + access[None, :]
    use_road = np.isfinite(road) & ~off_road
    np.fill_diagonal(use_road, False)
    unconnected = int(np.isinf(road).sum() // 2)
    if unconnected:
        notes.add("route", f"{unconnected} pairs of stops are not connected by the road network: "
                           "straight line × detour used for them")
    dist = np.where(use_road, road, straight)
    net.node_of = node
    return dist, use_road, net


def _tour_len(tour: Sequence[int], D: np.ndarray) -> float:
    seq = [0, *tour, 0]
    return float(sum(D[a, b] for a, b in zip(seq[:-1], seq[1:])))


def two_opt(tour: list[int], D: np.ndarray) -> list[int]:
    """Improve a closed tour from node 0 through ``tour`` and back by 2-opt moves until none helps."""
    seq = [0, *tour, 0]
    n = len(seq)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 2):
            for k in range(i + 1, n - 1):
                a, b, c, d = seq[i - 1], seq[i], seq[k], seq[k + 1]
                if D[a, c] + D[b, d] < D[a, b] + D[c, d] - 1e-9:
                    seq[i:k + 1] = seq[i:k + 1][::-1]
                    improved = True
    return seq[1:-1]


def relocate(tours: list[list[int]], D: np.ndarray, fits, max_moves: int = 500) -> list[list[int]]:
    """Move single stops to another day where that shortens the total and the day still ``fits``."""
    tours = [list(t) for t in tours]
    moves = 0
    improved = True
    while improved and moves < max_moves:
        improved = False
        for a, ta in enumerate(tours):
            for i, node in enumerate(ta):
                prev = ta[i - 1] if i > 0 else 0
                nxt = ta[i + 1] if i + 1 < len(ta) else 0
                saving = D[prev, node] + D[node, nxt] - D[prev, nxt]
                best = None
                for b, tb in enumerate(tours):
                    if b == a:
                        continue
                    seq = np.array([0, *tb, 0])
                    delta = D[seq[:-1], node] + D[node, seq[1:]] - D[seq[:-1], seq[1:]]
                    pos = int(np.argmin(delta))
                    if delta[pos] < saving - 1e-6 and (best is None or delta[pos] < best[0]):
                        cand = tb[:pos] + [node] + tb[pos:]
                        if fits(cand):
                            best = (float(delta[pos]), b, cand)
                if best is not None:
                    tours[best[1]] = best[2]
                    del ta[i]
                    moves += 1
                    improved = True
                    break
            if improved:
                break
    return [two_opt(t, D) for t in tours]


def plan_route(targets: gpd.GeoDataFrame, start: tuple[float, float], *, days: int = 3, hours_per_day: float = 8.0,
               speed_kmh: float = 40.0, visit_minutes: float = 30.0, roads: gpd.GeoDataFrame | None = None,
               detour: float = 1.3, tracks: bool = True, lodging: gpd.GeoDataFrame | None = None) -> RoutePlan:
    """Order ``targets`` (ranked, points in EPSG:4490) into day routes from ``start``.

    With ``lodging`` (places to stay the night: points or polygons with a
    ``name``), a trip may stay out overnight: see :func:`plan_overnight`.

    Returns
    -------
    RoutePlan
        ``days[k].stops`` are row positions in ``targets``; ``deferred`` lists
        the rows that did not fit with the reason.
    """
    for name, v in (("days", days), ("hours-per-day", hours_per_day), ("speed-kmh", speed_kmh)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise InputError(f"{name} must be a positive number, got {v!r}", where=f"--{name}")
    if visit_minutes < 0 or detour < 1:
        raise InputError("visit minutes must be ≥ 0 and the detour factor ≥ 1", where="--visit-minutes")
    if lodging is not None and len(lodging) and int(days) > 1:
        return plan_overnight(targets, start, lodging, days=days, hours_per_day=hours_per_day, speed_kmh=speed_kmh,
                              visit_minutes=visit_minutes, roads=roads, detour=detour, tracks=tracks)
    notes = Notes()
    t = targets.to_crs(4490) if targets.crs and targets.crs.to_epsg() != 4490 else targets
    pts = shapely.point_on_surface(t.geometry.to_numpy()) if len(t) else np.zeros(0, dtype=object)
    xy = shapely.get_coordinates(pts) if len(t) else np.zeros((0, 2))
    lon = np.r_[start[0], xy[:, 0]]
    lat = np.r_[start[1], xy[:, 1]]
    D, use_road, net = distance_matrix(lon, lat, roads=roads, detour=detour, notes=notes)
    visit_h = visit_minutes / 60.0
    budget = float(hours_per_day)

    def day_hours(tour: list[int]) -> float:
        return _tour_len(tour, D) / speed_kmh + len(tour) * visit_h

    tours: list[list[int]] = [[] for _ in range(int(days))]
    pending = list(range(1, len(lon)))  # nodes, in priority order (targets are ranked)
    for _round in range(4):
        left = []
        for node in pending:
            best = None
            for d, tour in enumerate(tours):
                seq = np.array([0, *tour, 0])
                delta = D[seq[:-1], node] + D[node, seq[1:]] - D[seq[:-1], seq[1:]]
                pos = int(np.argmin(delta))
                new_h = day_hours(tour) + delta[pos] / speed_kmh + visit_h
                if new_h <= budget + 1e-9 and (best is None or delta[pos] < best[0] - 1e-12):
                    best = (float(delta[pos]), d, pos)
            if best is None:
                left.append(node)
            else:
                tours[best[1]].insert(best[2], node)
        tours = [two_opt(tr, D) for tr in tours]
        tours = relocate(tours, D, lambda tr: day_hours(tr) <= budget + 1e-9)
        if len(left) == len(pending) and _round > 0:
            pending = left
            break
        pending = left
        if not pending:
            break
    # days in order of their most important stop
    tours = [tr for tr in tours if tr] + [tr for tr in tours if not tr]
    tours.sort(key=lambda tr: min(tr) if tr else 10**9)
    out_days = []
    for k, tour in enumerate(tours, start=1):
        seq = [0, *tour, 0]
        legs = [float(D[a, b]) for a, b in zip(seq[:-1], seq[1:])] if tour else []
        track = []
        if tracks and tour:
            for a, b in zip(seq[:-1], seq[1:]):
                pa, pb = (lon[a], lat[a]), (lon[b], lat[b])
                if net is not None and use_road[a, b]:
                    track.append([pa, *net.path_lonlat(net.node_of[a], net.node_of[b]), pb])
                else:
                    track.append([pa, pb])
        dist = float(sum(legs))
        out_days.append(DayRoute(k, [s - 1 for s in tour], legs, round(dist, 3), dist / speed_kmh,
                                 len(tour) * visit_h, track))
    alone = (D[0, :] + D[:, 0]) / speed_kmh + visit_h
    deferred = pd.DataFrame({
        "position": [p - 1 for p in pending],
        "target_id": [str(t["target_id"].iloc[p - 1]) for p in pending] if len(t) else [],
        "reason": ["单独往返即超出每日工作时长" if alone[p] > budget else "日程已满：优先级较低，顺延至下次巡查"
                   for p in pending],
    })
    if len(deferred):
        notes.add("deferred", f"{len(deferred)} targets did not fit into {days} days and are deferred",
                  ids=tuple(deferred["target_id"]))
    method = ("道路网络最短路径（networkx Dijkstra），无路段按直线×绕行系数 "
              f"{detour}" if net is not None else f"直线距离 × 绕行系数 {detour}")
    total = round(sum(d.distance_km for d in out_days), 3)
    params = {"start": [float(start[0]), float(start[1])], "days": int(days), "hours_per_day": budget,
              "speed_kmh": float(speed_kmh), "visit_minutes": float(visit_minutes), "detour": float(detour),
              "roads": net is not None, "heuristic": "priority-ordered cheapest insertion + 2-opt per day"}
    return RoutePlan(out_days, deferred, total, method, params, notes)


def lodging_points(lodging: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(lon, lat, names) of lodging places (points, or a representative point of polygons), EPSG:4490."""
    g = lodging.to_crs(4490) if lodging.crs and lodging.crs.to_epsg() != 4490 else lodging
    g = g[g.geometry.notna() & ~g.geometry.is_empty]
    pts = shapely.point_on_surface(g.geometry.to_numpy())
    xy = shapely.get_coordinates(pts)
    if "name" in g.columns:
        names = [str(v) if v is not None and str(v).strip() and str(v) != "nan" else f"住宿点{i + 1}"
                 for i, v in enumerate(g["name"].tolist())]
    else:
        names = [f"住宿点{i + 1}" for i in range(len(g))]
    return xy[:, 0], xy[:, 1], names


def plan_overnight(targets: gpd.GeoDataFrame, start: tuple[float, float], lodging: gpd.GeoDataFrame, *,
                   days: int = 3, hours_per_day: float = 8.0, speed_kmh: float = 40.0, visit_minutes: float = 30.0,
                   roads: gpd.GeoDataFrame | None = None, detour: float = 1.3, tracks: bool = True) -> RoutePlan:
    """Day routes of a trip that stays out overnight at ``lodging`` places.

    Day 1 leaves the base; each later day starts where the last one ended.
    A day takes targets in turn (the nearest one that still fits, ties to
    the higher priority) as long as the day can still end at a lodging place
    (or at the base) within ``hours_per_day``; the last day ends at the base.
    Among the places it can reach, a day ends at the one nearest to the
    targets still open.  Each day names where the night is spent.
    """
    for name, v in (("days", days), ("hours-per-day", hours_per_day), ("speed-kmh", speed_kmh)):
        if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
            raise InputError(f"{name} must be a positive number, got {v!r}", where=f"--{name}")
    if visit_minutes < 0 or detour < 1:
        raise InputError("visit minutes must be ≥ 0 and the detour factor ≥ 1", where="--visit-minutes")
    notes = Notes()
    t = targets.to_crs(4490) if targets.crs and targets.crs.to_epsg() != 4490 else targets
    pts = shapely.point_on_surface(t.geometry.to_numpy()) if len(t) else np.zeros(0, dtype=object)
    xy = shapely.get_coordinates(pts) if len(t) else np.zeros((0, 2))
    llon, llat, lnames = lodging_points(lodging)
    n, m = len(xy), len(llon)
    lon = np.r_[start[0], xy[:, 0], llon]
    lat = np.r_[start[1], xy[:, 1], llat]
    D, use_road, net = distance_matrix(lon, lat, roads=roads, detour=detour, notes=notes)
    H = D / speed_kmh  # hours
    visit_h = visit_minutes / 60.0
    budget = float(hours_per_day)
    lodge = np.arange(n + 1, n + 1 + m)
    names = {0: "出发点", **{int(k): lnames[i] for i, k in enumerate(lodge)}}
    prio_rank = np.arange(n)  # targets come ranked: lower position = more important
    remaining = list(range(1, n + 1))
    pos = 0
    out_days: list[DayRoute] = []
    for day in range(1, int(days) + 1):
        last = day == int(days)
        ends = np.array([0]) if last else np.r_[0, lodge]
        tour: list[int] = []
        used = 0.0
        here = pos
        while remaining:
            cand = np.array(remaining)
            t_new = used + H[here, cand] + visit_h
            back = H[np.ix_(cand, ends)].min(axis=1)
            ok = t_new + back <= budget + 1e-9
            if not ok.any():
                break
            c = cand[ok]
            score = H[here, c] + 1e-6 * prio_rank[c - 1]
            nxt = int(c[int(np.argmin(score))])
            tour.append(nxt)
            used += H[here, nxt] + visit_h
            here = nxt
            remaining.remove(nxt)
        better = _two_opt_path(pos, tour, H)
        if better and (_path_len([pos, *better], H) + len(better) * visit_h
                       + H[better[-1], ends].min() <= budget + 1e-9):
            tour = better
        here = tour[-1] if tour else pos
        used = _path_len([pos, *tour], H) + len(tour) * visit_h
        reach = [int(e) for e in ends if used + H[here, e] <= budget + 1e-9]
        if not reach:  # cannot even get back (only a last day far from the base): go back anyway, noted
            reach = [int(ends[np.argmin(H[here, ends])])]
            notes.add("route", f"day {day} exceeds {budget:g} h: the return to {names[reach[0]]} does not fit")
        if remaining and not last and len(reach) > 1:
            near = H[np.ix_(reach, remaining)].min(axis=1)
            end = reach[int(np.argmin(near))]
        else:
            end = 0 if 0 in reach else reach[int(np.argmin(H[here, reach]))]
        seq = [pos, *tour, end]
        legs = [float(D[a, b]) for a, b in zip(seq[:-1], seq[1:])]
        track = []
        if tracks:
            for a, b in zip(seq[:-1], seq[1:]):
                pa, pb = (float(lon[a]), float(lat[a])), (float(lon[b]), float(lat[b]))
                if a == b:
                    continue
                if net is not None and use_road[a, b]:
                    track.append([pa, *net.path_lonlat(net.node_of[a], net.node_of[b]), pb])
                else:
                    track.append([pa, pb])
        dist = float(sum(legs))
        out_days.append(DayRoute(day, [s - 1 for s in tour], legs, round(dist, 3), dist / speed_kmh,
                                 len(tour) * visit_h, track, start_name=names[pos], end_name=names[end],
                                 night=None if end == 0 else names[end],
                                 end_lonlat=(float(lon[end]), float(lat[end]))))
        pos = end
    deferred = pd.DataFrame({
        "position": [p - 1 for p in remaining],
        "target_id": [str(t["target_id"].iloc[p - 1]) for p in remaining],
        "reason": ["日程已满：顺延至下次巡查" for _ in remaining],
    })
    if len(deferred):
        notes.add("deferred", f"{len(deferred)} targets did not fit into {days} days and are deferred",
                  ids=tuple(deferred["target_id"]))
    nights = [d.night for d in out_days if d.night]
    method = (("道路网络最短路径" if net is not None else f"直线距离 × 绕行系数 {detour}")
              + f"；可在外住宿（{len(nights)} 晚）")
    params = {"start": [float(start[0]), float(start[1])], "days": int(days), "hours_per_day": budget,
              "speed_kmh": float(speed_kmh), "visit_minutes": float(visit_minutes), "detour": float(detour),
              "roads": net is not None, "lodging": len(lnames),
              "nights": [{"after_day": d.day, "place": d.night, "lon": d.end_lonlat[0], "lat": d.end_lonlat[1]}
                         for d in out_days if d.night],
              "heuristic": "per day: nearest target that still lets the day end at a lodging place, 2-opt"}
    total = round(sum(d.distance_km for d in out_days), 3)
    return RoutePlan(out_days, deferred, total, method, params, notes)


def _path_len(seq: Sequence[int], H: np.ndarray) -> float:
    return float(sum(H[a, b] for a, b in zip(seq[:-1], seq[1:])))


def _two_opt_path(first: int, tour: list[int], H: np.ndarray) -> list[int]:
    """2-opt on an open path that starts at ``first`` (its end is free)."""
    seq = [first, *tour]
    n = len(seq)
    improved = True
    while improved:
        improved = False
        for i in range(1, n - 1):
            for k in range(i + 1, n):
                a, b, c = seq[i - 1], seq[i], seq[k]
                old = H[a, b] + (H[c, seq[k + 1]] if k + 1 < n else 0.0)
                new = H[a, c] + (H[b, seq[k + 1]] if k + 1 < n else 0.0)
                if new < old - 1e-9:
                    seq[i:k + 1] = seq[i:k + 1][::-1]
                    improved = True
    return seq[1:]


def read_lodging(path: str) -> gpd.GeoDataFrame:
    """A lodging layer (``--lodging``): any vector file of points or polygons, with a ``name`` (or 名称) field.

    Raises
    ------
    InputError
        The file cannot be read, is empty or has no CRS.
    """
    import pyogrio

    try:
        g = pyogrio.read_dataframe(path)
    except Exception as exc:  # noqa: BLE001 - the reader's reason is passed on
        raise InputError(f"cannot read the lodging layer: {exc}", path=path, where="--lodging") from None
    if not len(g):
        raise InputError("the lodging layer has no features", path=path, where="--lodging")
    if g.crs is None:
        raise InputError("the lodging layer has no CRS", path=path, where="--lodging",
                         hint="write it with a .prj / CRS (CGCS2000 EPSG:4490)")
    if "name" not in g.columns:
        for c in ("名称", "NAME", "Name", "mc", "MC"):
            if c in g.columns:
                g = g.rename(columns={c: "name"})
                break
    return g


def workspace_lodging(ws: Any) -> gpd.GeoDataFrame | None:
    """The workspace's towns as lodging: its 乡级 admin units (a representative point each), or None."""
    if ws is None or not ws.has("admin"):
        return None
    a = ws.read("admin")
    if "level" not in a.columns:
        return None
    towns = a[a["level"].astype(str) == "乡级"]
    if not len(towns):
        return None
    return gpd.GeoDataFrame({"name": towns["name"].astype(str).to_numpy()},
                            geometry=shapely.point_on_surface(towns.geometry.to_numpy()), crs=towns.crs)
