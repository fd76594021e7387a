"""Try to break the verdicts: take data away the way real data arrives short, and never get a false clear.

For every bundled rule, the layers it needs are removed, emptied, cut back in
coverage and stripped of each attribute its ``where`` filters on, in copies of
the four sample workspaces (in memory, and for the GeoPackage paths also on
file copies in tmp dirs).  After each change:

* no site whose verdict on the intact data is not ``clear`` becomes ``clear``;
* every rule that fired on a site at baseline still fires there (as a fact or
  conditionally) or is listed in the site's ``incomplete_rules`` — it never
  just disappears;
* a site a rule could concern, where the rule's layer is missing, empty or
  not covering, is never ``clear`` and names the rule.

A randomised test (fixed seed) does the same with random combinations.
"""

from __future__ import annotations

import datetime
import random
import shutil
import sqlite3
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import ecogis
from ecogis.notes import Notes
from ecogis.rules import load_rules
from ecogis.rules.match import applicability, question_tags
from ecogis.screening.engine import _local_for_workspace
from ecogis.workspace import LayerInfo, Workspace, open_workspace

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"
CITIES = ("genhe", "arxan", "manzhouli", "xilinhot")
INDUSTRIES = ["B0610", "B1019", "C2011", "C2614", "D4416", "E4812", "E4710", "A0314", "N7869", "M7472", "K7010", ""]
NATURES = ["新建", "改建", "扩建", ""]


class MemoryWorkspace(Workspace):
    """A workspace held in memory: the layers of a sample GeoPackage, to change at will without disk I/O."""

    def __init__(self, layers: dict[str, gpd.GeoDataFrame], infos: dict[str, LayerInfo], uri: str = "memory"):
        self._layers = dict(layers)
        self._infos = dict(infos)
        self.uri = uri

    @classmethod
    def copy_of(cls, path: Path) -> "MemoryWorkspace":
        ws = open_workspace(path)
        return cls({k: ws.read(k) for k in ws.kinds()}, {li.kind: li for li in ws.layers()}, uri=f"memory:{path.name}")

    def clone(self) -> "MemoryWorkspace":
        return MemoryWorkspace({k: v.copy() for k, v in self._layers.items()}, dict(self._infos), self.uri)

    def kinds(self) -> list[str]:
        return sorted(self._layers)

    def read(self, kind, *, bbox=None):
        gdf = self._layers[kind]
        if bbox is not None and len(gdf):
            gdf = gdf[shapely.intersects(np.asarray(gdf.geometry.values, dtype=object), shapely.box(*bbox))]
        return gdf.reset_index(drop=True)

    def write(self, kind, gdf, *, source, version, sha256=None, notes=None, replace=False, coverage=None,
              coverage_basis=""):
        self._layers[kind] = gdf.copy()
        info = LayerInfo(kind=kind, version=version, source=source, sha256=sha256 or "", imported_at="now",
                         feature_count=len(gdf), bounds=tuple(gdf.total_bounds),
                         coverage=None if coverage is None else shapely.to_wkb(coverage, hex=True),
                         coverage_basis=coverage_basis)
        self._infos[kind] = info
        return info

    def layers(self):
        return [self._infos[k] for k in self.kinds() if k in self._infos]

    def history(self, kind=None):
        return self.layers()

    # ---- the changes real data arrives with
    def remove(self, kind: str) -> None:
        self._layers.pop(kind, None)
        self._infos.pop(kind, None)

    def empty(self, kind: str) -> None:
        self._layers[kind] = self._layers[kind].iloc[0:0]

    def blank(self, kind: str, attr: str, share: float = 1.0, rng: random.Random | None = None) -> None:
        gdf = self._layers[kind].copy()
        if attr not in gdf.columns:
            return
        if share >= 1.0:
            gdf[attr] = None
        else:
            rng = rng or random.Random(0)
            pick = np.array([rng.random() < share for _ in range(len(gdf))], dtype=bool)
            gdf[attr] = gdf[attr].astype(object).where(~pick, None)
        self._layers[kind] = gdf

    def set_coverage(self, kind: str, geom) -> None:
        info = self._infos[kind]
        self._infos[kind] = LayerInfo(**{**info.__dict__, "coverage": shapely.to_wkb(geom, hex=True),
                                         "coverage_basis": "test"})

    def clip(self, kind: str, geom) -> None:
        """Keep only the features within ``geom`` and record it as the coverage (a partial delivery)."""
        gdf = self._layers[kind].copy()
        cut = shapely.intersection(np.asarray(gdf.geometry.values, dtype=object), geom)
        gdf = gdf.set_geometry(gpd.GeoSeries(cut, crs=4490, index=gdf.index))
        gdf = gdf[~shapely.is_empty(cut)].reset_index(drop=True)
        self._layers[kind] = gdf
        self._infos[kind] = LayerInfo(**{**self._infos[kind].__dict__, "feature_count": len(gdf)})
        self.set_coverage(kind, geom)


# ----------------------------------------------------------------------------- fixtures
@pytest.fixture(scope="module")
def all_rules():
    return load_rules(None, check_cases=False)


def _sites(city: str, seed: int) -> gpd.GeoDataFrame:
    """The city's sample sites with their list of activities declared complete, plus random sites."""
    base = gpd.read_file(SAMPLE / "sites" / f"{city}.geojson")
    keep = [c for c in ("site_id", "name", "industry", "nature", "linear", "national_major", "unavoidable",
                        "activity") if c in base.columns]
    base = base[keep + ["geometry"]].copy()
    act = base["activity"].fillna("").astype(str) if "activity" in base.columns else pd.Series("", index=base.index)
    base["activity"] = (act + ";none").str.strip(";")
    ws = open_workspace(SAMPLE / f"{city}.gpkg")
    admin = shapely.union_all(np.asarray(ws.read("admin").geometry.values, dtype=object))
    rng = random.Random(seed)
    # random small squares inside the admin boundary, near the sample data
    minx, miny, maxx, maxy = shapely.total_bounds(np.asarray(base.geometry.values, dtype=object))
    rows = []
    while len(rows) < 20:
        x, y = rng.uniform(minx, maxx), rng.uniform(miny, maxy)
        g = shapely.box(x, y, x + 0.004, y + 0.003)
        if not shapely.within(g, admin):
            continue
        rows.append({"site_id": f"R{len(rows):02d}", "name": f"随机地块{len(rows)}", "industry": rng.choice(INDUSTRIES),
                     "nature": rng.choice(NATURES), "activity": rng.choice(["none", "", "none", "blasting;none"]),
                     "geometry": g})
    extra = gpd.GeoDataFrame(rows, geometry="geometry", crs=4490)
    return gpd.GeoDataFrame(pd.concat([base, extra], ignore_index=True), geometry="geometry", crs=4490)


class City:
    def __init__(self, name: str, rules_all):
        self.name = name
        self.ws = MemoryWorkspace.copy_of(SAMPLE / f"{name}.gpkg")
        # the rules in force today (the screen applies only those; superseded files stay out)
        self.rules_all = _local_for_workspace(rules_all, open_workspace(SAMPLE / f"{name}.gpkg"), Notes())
        self.rules = self.rules_all.in_force(datetime.date.today())
        self.sites = _sites(name, seed=CITIES.index(name) + 11)
        self.base = self.screen(self.ws)
        self.kinds = sorted({r.layer for r in self.rules} & set(self.ws.kinds()))
        qt = question_tags(list(self.rules))
        from ecogis.rules.match import prepare_sites

        ps = prepare_sites(pd.DataFrame(self.sites.drop(columns="geometry")), taxonomy=self.rules.taxonomy,
                           activities=self.rules.activities)
        self.could = {r.id: applicability(r.applies, ps, question_tags=qt).any for r in self.rules}
        admin = self.ws.read("admin")
        self.admin = shapely.union_all(np.asarray(admin.geometry.values, dtype=object))

    def screen(self, ws):
        return ecogis.screen(self.sites, ws, self.rules, progress=False)


@pytest.fixture(scope="module")
def cities(all_rules):
    return {c: City(c, all_rules) for c in CITIES}


# ----------------------------------------------------------------------------- checks
def _check(city: City, res, what: str, gone: dict[str, str] | None = None, region=None) -> None:
    """The three promises of the module docstring; ``gone``: kind → why it is unavailable (everywhere, or
    outside ``region``)."""
    base = city.base.sites.set_index("site_id")
    now = res.sites.set_index("site_id")
    inc = now["incomplete_rules"].fillna("").str.split(", ")
    # 1. no false clear
    bad = base.index[(base["verdict"] != "clear") & (now.loc[base.index, "verdict"] == "clear")]
    assert not len(bad), f"{city.name} / {what}: false clear for {list(bad)} (was {list(base.loc[bad, 'verdict'])})"
    # 2. a rule that fired never disappears silently
    fired = city.base.findings[["site_id", "rule_id"]].drop_duplicates()
    still = set(map(tuple, res.findings[["site_id", "rule_id"]].drop_duplicates().to_numpy()))
    for sid, rid in fired.to_numpy():
        assert (sid, rid) in still or rid in inc[sid], f"{city.name} / {what}: {rid} vanished from {sid}"
    # 3. unavailable layers make the sites they concern incomplete
    if gone:
        geoms = np.asarray(city.sites.geometry.values, dtype=object)
        outside = np.ones(len(geoms), dtype=bool) if region is None else ~shapely.within(geoms, region)
        ids = city.sites["site_id"].to_numpy()
        for r in city.rules:
            if r.layer not in gone:
                continue
            hit = city.could[r.id] & outside & (now.loc[ids, "coverage"].to_numpy() == "full")
            for sid in ids[hit]:
                assert r.id in inc[sid], f"{city.name} / {what}: {r.id} not listed as incomplete on {sid}"
                assert now.loc[sid, "verdict"] != "clear", f"{city.name} / {what}: {sid} clear without {r.layer}"


def _where_attrs(city: City) -> dict[str, list[str]]:
    out: dict[str, set[str]] = {}
    for r in city.rules:
        for t in r.where:
            out.setdefault(t.attr, set()).add(r.layer)
    return {a: sorted(k) for a, k in sorted(out.items())}


# ----------------------------------------------------------------------------- tests
@pytest.mark.parametrize("city", CITIES)
def test_baseline_can_be_clear_and_explains_incomplete(cities, city):
    c = cities[city]
    s = c.base.sites
    # the machinery can still say clear when everything was looked at
    assert (s["verdict"] != "incomplete").any()
    inc = s[s["verdict"] == "incomplete"]
    cond = set(c.base.findings.loc[c.base.findings["certainty"] == "conditional", "site_id"])
    for rec in inc.to_dict("records"):
        assert rec["incomplete_rules"] or rec["site_id"] in cond, rec["site_id"]


@pytest.mark.parametrize("city", CITIES)
def test_remove_or_empty_each_layer(cities, city):
    c = cities[city]
    kinds = [k for k in c.kinds if k != "admin"]  # without admin the jurisdiction changes: test_remove_admin
    # each layer is removed in one screen and emptied in another (two of each per screen)
    for offset in (0, 2):
        for i in range(0, len(kinds), 4):
            group = [kinds[(i + offset + j) % len(kinds)] for j in range(4)]
            ws = c.ws.clone()
            gone = {}
            for kind in group[:2]:
                ws.remove(kind)
                gone[kind] = "missing"
            for kind in group[2:]:
                if kind not in gone:
                    ws.empty(kind)
                    gone[kind] = "empty"
            res = c.screen(ws)
            _check(c, res, "; ".join(f"{v} {k}" for k, v in gone.items()), gone=gone)


@pytest.mark.parametrize("city", CITIES)
def test_remove_admin(cities, city):
    c = cities[city]
    ws = c.ws.clone()
    ws.remove("admin")
    res = c.screen(ws)
    _check(c, res, "remove admin", gone={"admin": "missing"})


@pytest.mark.parametrize("city", CITIES)
@pytest.mark.parametrize("side", ["west", "east"])
def test_shrink_coverage_of_every_layer(cities, city, side):
    c = cities[city]
    minx, miny, maxx, maxy = c.admin.bounds
    mid = float(np.median(shapely.get_x(shapely.centroid(np.asarray(c.sites.geometry.values, dtype=object)))))
    half = shapely.box(minx, miny, mid, maxy) if side == "west" else shapely.box(mid, miny, maxx, maxy)
    region = shapely.intersection(c.admin, half)
    ws = c.ws.clone()
    for kind in c.kinds:
        if kind != "admin":
            ws.set_coverage(kind, region)
    res = c.screen(ws)
    _check(c, res, f"coverage cut to the {side}", gone={k: "outside" for k in c.kinds if k != "admin"},
           region=region)
    # the share outside is named
    inc = res.sites[res.sites["incomplete_layers"].str.contains("覆盖范围外")]
    assert len(inc)


@pytest.mark.parametrize("city", CITIES)
def test_blank_each_attribute(cities, city):
    c = cities[city]
    for attr, kinds in _where_attrs(c).items():
        ws = c.ws.clone()
        for kind in kinds:
            if kind in ws.kinds():
                ws.blank(kind, attr)
        res = c.screen(ws)
        _check(c, res, f"blank {attr} in {', '.join(kinds)}")


def test_random_damage_never_gives_a_false_clear(cities):
    rng = random.Random(20261201)
    for round_ in range(12):
        city = cities[rng.choice(CITIES)]
        ws = city.ws.clone()
        done, gone, region = [], {}, None
        for kind in rng.sample(city.kinds, k=rng.randint(1, 4)):
            act = rng.choice(["remove", "empty", "clip", "blank"])
            if kind == "admin":
                act = "blank"
            if act == "remove":
                ws.remove(kind)
                gone[kind] = act
            elif act == "empty":
                ws.empty(kind)
                gone[kind] = act
            elif act == "clip":
                minx, miny, maxx, maxy = city.admin.bounds
                f = rng.uniform(0.3, 0.7)
                cut = shapely.intersection(city.admin, shapely.box(minx, miny, minx + f * (maxx - minx), maxy))
                ws.clip(kind, cut)
            else:
                attrs = [a for a, ks in _where_attrs(city).items() if kind in ks]
                if not attrs:
                    continue
                a = rng.choice(attrs)
                ws.blank(kind, a, share=rng.choice([1.0, 0.5]), rng=rng)
                act = f"blank {a}"
            done.append(f"{act} {kind}")
        res = city.screen(ws)
        _check(city, res, f"round {round_}: " + "; ".join(done), gone=gone or None)


# ----------------------------------------------------------------------------- on GeoPackage copies
def test_gpkg_copy_emptied_and_removed_by_sql(tmp_path, cities):
    """The same on a file copy changed behind ecogis' back: a table emptied, another dropped, one clipped."""
    c = cities["genhe"]
    path = tmp_path / "genhe.gpkg"
    shutil.copy(SAMPLE / "genhe.gpkg", path)
    with sqlite3.connect(path) as con:
        con.execute("DELETE FROM redline")
        con.execute("DELETE FROM wetland WHERE fid IN (SELECT fid FROM wetland ORDER BY fid LIMIT 2)")
    import pyogrio

    pa = pyogrio.read_dataframe(path, layer="protected_area")
    pa["type"] = None  # rewritten with GDAL, behind ecogis' back (the metadata is not told)
    pyogrio.write_dataframe(pa, path, layer="protected_area", driver="GPKG")
    ws = open_workspace(path)
    assert ws.count("redline") == 0
    res = c.screen(ws)
    _check(c, res, "gpkg: redline emptied, wetland cut, protected_area.type blank", gone={"redline": "empty"})
    row = res.sites.set_index("name").loc["根河市铜钼矿普查"]
    assert row["verdict"] != "clear" and "RL-142" in row["incomplete_rules"]
    assert "redline" not in row["checked_layers"]
    assert any("changed outside ecogis" in n.message for n in res.notes)


def test_reserve_without_type_still_gets_reserve_rules(tmp_path, cities):
    """D2: a reserve in three zones with no type: a new mine in its core zone is not silent."""
    c = cities["genhe"]
    ws = c.ws.clone()
    ws.blank("protected_area", "type")
    pa = ws.read("protected_area")
    core = pa[pa["zone"].isin(["核心区", "核心保护区"])]
    assert len(core)
    g = shapely.buffer(shapely.point_on_surface(core.geometry.values[0]), 0.001)
    site = gpd.GeoDataFrame([{"site_id": "T1", "name": "核心区新建铁矿", "industry": "B0810", "nature": "新建",
                              "activity": "none", "geometry": g}], geometry="geometry", crs=4490)
    res = ecogis.screen(site, ws, c.rules, progress=False)
    f = res.findings
    # the 2026 regulation's core-zone rule reads a typeless three-zone core as 核心保护区 (rules/national/
    # nature_reserve_2026.yaml); the 2017 rule, applied to an earlier date, is a worst-case reading of the type
    nr = f[f["rule_id"].str.startswith("NR-2026-CORE") & (f["severity"] == "prohibited")]
    assert len(nr)
    assert res.sites["verdict"].iloc[0] == "prohibited"
    old = ecogis.screen(site, ws, c.rules_all, progress=False, as_of="2025-06-01").findings
    nr17 = old[old["rule_id"].str.startswith("NR-ZONE-CORE")]
    assert len(nr17) and (nr17["certainty"] == "conditional").all()
    assert nr17["condition"].str.contains("类型未知").all() and nr17["condition"].str.contains("自然保护区").all()


def test_name_bound_rule_that_matches_nothing_is_reported(cities):
    """D15: a river layer that spells 锡林河 otherwise (or not at all) makes the rule incomplete, not silent."""
    c = cities["xilinhot"]
    ws = c.ws.clone()
    river = ws.read("river").copy()
    river["name"] = "某河"
    ws._layers["river"] = river
    res = c.screen(ws)
    assert any("XLH-XILIN-RIVER" in n.message and "not evaluated" in n.message for n in res.notes)
    could = c.could["XLH-XILIN-RIVER"]
    assert res.sites.loc[could, "incomplete_rules"].str.contains("XLH-XILIN-RIVER").all()
    assert res.sites.loc[could, "incomplete_layers"].str.contains("锡林河").all()
    _check(c, res, "river names changed")
    # a variant containing the name still matches (洮儿河干流 ⊇ 洮儿河)
    ws2 = c.ws.clone()
    river = ws2.read("river").copy()
    river["name"] = river["name"].astype(str).str.replace("锡林河", "锡林河干流", regex=False)
    ws2._layers["river"] = river
    res2 = c.screen(ws2)
    assert not res2.sites["incomplete_layers"].str.contains("无名为").any()
    assert any("containment" in n.message for n in res2.notes)
