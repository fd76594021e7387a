"""Every rule's own cases, run through the real screening engine.

Each case in a rule file says where a site sits relative to one feature
(``inside``, ``overlap[:share]``, ``near:<metres>``, ``far``) and whether the
rule must fire.  Here each case gets its own cell of a grid far from the
others: the feature, the site and a covering ``admin`` layer go into a
workspace per layer kind, and one ``screen`` call per kind checks them all.
"""

from __future__ import annotations

import datetime as dt

from collections import defaultdict

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import CRS, Transformer

import ecogis
from ecogis.rules import load_rules
from ecogis.rules.model import RuleSet, parse_place
from ecogis.workspace import open_workspace

LINE_KINDS = {"road", "railway", "river"}
SPACING = 0.6  # degrees between cells
HALF = 1000.0  # feature half-size (m)
SITE = 200.0  # site side (m)


def _local(lon: float, lat: float):
    aeqd = CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +ellps=GRS80 +units=m")
    tr = Transformer.from_crs(aeqd, 4490, always_xy=True)
    return lambda g: shapely.transform(g, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def _geoms(kind: str, place: str, lon: float, lat: float):
    to_ll = _local(lon, lat)
    pk, val = parse_place(place)
    if kind in LINE_KINDS:
        feat = shapely.LineString([(-2 * HALF, 0), (2 * HALF, 0)])
        if pk in ("inside", "overlap"):
            site = shapely.box(-SITE / 2, -SITE / 2, SITE / 2, SITE / 2)
        elif pk == "near":
            site = shapely.box(-SITE / 2, val, SITE / 2, val + SITE)
        else:
            site = shapely.box(-SITE / 2, 20_000, SITE / 2, 20_000 + SITE)
    else:
        feat = shapely.box(-HALF, -HALF, HALF, HALF)
        if pk == "inside":
            site = shapely.box(-SITE / 2, -SITE / 2, SITE / 2, SITE / 2)
        elif pk == "overlap":
            x0 = HALF - val * SITE
            site = shapely.box(x0, -SITE / 2, x0 + SITE, SITE / 2)
        elif pk == "near":
            site = shapely.box(HALF + val, -SITE / 2, HALF + val + SITE, SITE / 2)
        else:
            site = shapely.box(HALF + 20_000, -SITE / 2, HALF + 20_000 + SITE, SITE / 2)
    return to_ll(feat), to_ll(site)


def _day_in_force(rule) -> str:
    """A date on which ``rule`` is in force: today, or the last day before it was superseded."""
    if rule.effective_until:
        return (dt.date.fromisoformat(rule.effective_until) - dt.timedelta(days=1)).isoformat()
    return dt.date.today().isoformat()


def _all_cases():
    rs = load_rules()
    cells = []
    for rule in rs:
        for j, case in enumerate(rule.cases):
            cells.append((rule, j, case))
    return rs, cells


RULESET, CELLS = _all_cases()


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    # one screening per layer kind and per date: a superseded rule is screened on its last day in force
    by_kind: dict[tuple[str, str], list] = defaultdict(list)
    for cell in CELLS:
        by_kind[(cell[0].layer, _day_in_force(cell[0]))].append(cell)
    got: dict[tuple[str, int], bool] = {}
    for (kind, day), cells in by_kind.items():
        ncol = int(np.ceil(np.sqrt(len(cells))))
        feats, sites = [], []
        for i, (rule, j, case) in enumerate(cells):
            lon = 115.0 + SPACING * (i % ncol)
            lat = 43.0 + SPACING * (i // ncol)
            feat, site = _geoms(kind, case.place, lon, lat)
            feats.append({"name": f"F{i}", **dict(case.feature), "geometry": feat})
            proj = {k: (";".join(v) if isinstance(v, (list, tuple)) else v) for k, v in dict(case.project).items()}
            sites.append({"site_id": f"{rule.id}#{j}", "name": f"case {i}", **proj, "geometry": site})
        ws = open_workspace(tmp_path_factory.mktemp(f"{kind}_{day}") / "ws.gpkg", create=True)
        fdf = gpd.GeoDataFrame(pd.DataFrame(feats), geometry="geometry", crs=4490)
        for col in fdf.columns:
            if col != "geometry" and fdf[col].dtype == object:
                fdf[col] = fdf[col].astype(object)
        ws.write(kind, fdf, source="test", version="t")
        lons = [115.0 - 1, 115.0 + SPACING * ncol + 1]
        lats = [43.0 - 1, 43.0 + SPACING * (len(cells) // ncol + 1) + 1]
        admin = gpd.GeoDataFrame({"name": ["test"], "adcode": ["150000"]},
                                 geometry=[shapely.box(lons[0], lats[0], lons[1], lats[1])], crs=4490)
        ws.write("admin", admin, source="test", version="t")
        sdf = gpd.GeoDataFrame(pd.DataFrame(sites), geometry="geometry", crs=4490)
        ids = {c[0].id for c in cells}
        rules = RuleSet(rules=tuple(r for r in RULESET if r.id in ids), files=RULESET.files,
                        parameters=RULESET.parameters, taxonomy=RULESET.taxonomy, activities=RULESET.activities)
        res = ecogis.screen(sdf, ws, rules, progress=False, as_of=day)
        # a case's expectation is about the project as declared: questions about undeclared activities and
        # worst-case readings of unknown attributes (certainty "conditional") are not triggers
        firm = res.findings[res.findings["certainty"] != "conditional"]
        fired = set(zip(firm["site_id"], firm["rule_id"]))
        for rule, j, _case in cells:
            got[(rule.id, j)] = (f"{rule.id}#{j}", rule.id) in fired
    return got


def test_every_rule_has_trigger_and_no_trigger_case():
    for rule in RULESET:
        expects = {c.expect for c in rule.cases}
        assert {"trigger", "no_trigger"} <= expects, rule.id


@pytest.mark.parametrize("rule_id,j", [(r.id, j) for r, j, _ in CELLS], ids=[f"{r.id}-{j}" for r, j, _ in CELLS])
def test_case(outcomes, rule_id, j):
    rule = RULESET[rule_id]
    case = rule.cases[j]
    assert outcomes[(rule_id, j)] == case.triggers, (
        f"{rule_id} case {j} ({case.place}, project {dict(case.project)}, feature {dict(case.feature)}) "
        f"expected {case.expect}"
    )
