"""conflicts.gpkg: rule texts stored once (table ``rules``), what sites share once (table ``checks``); the layers
``conflicts`` and ``sites`` (views) give every finding and every site whole."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

import ecogis
from ecogis.render.conflicts_gpkg import CHECK_COLUMNS, RULE_COLUMNS, split_findings, split_sites, write_conflicts_gpkg

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"


def _same(a: pd.Series, b: pd.Series) -> np.ndarray:
    """Element-wise equality of two columns as text, missing values equal to each other."""
    na, nb = a.isna().to_numpy(), b.isna().to_numpy()
    return (na & nb) | (~na & ~nb & (a.astype(str).to_numpy() == b.astype(str).to_numpy()))


def _assert_detail_is_findings(path: Path, findings, layer: str = "conflicts") -> None:
    view = pyogrio.read_dataframe(path, layer=layer)
    geom = findings.geometry.name  # GDAL gives the geometry last, wherever the frame holds it
    assert list(view.columns) == [c for c in findings.columns if c != geom] + ["geometry"]
    assert len(view) == len(findings)
    for col in findings.columns:
        if col == findings.geometry.name:
            continue
        same = _same(view[col].reset_index(drop=True), findings[col].reset_index(drop=True))
        assert same.all(), (col, view[col][~same].head(3).tolist(), findings[col][~same].head(3).tolist())
    # the overlap geometries themselves (GDAL writes polygons of an 'Unknown' layer as multipolygons)
    a = shapely.normalize(shapely.union_all(view.geometry.values[:200]))
    b = shapely.normalize(shapely.union_all(findings.geometry.values[:200]))
    assert shapely.equals(a, b)
    assert np.allclose(shapely.area(view.geometry.values), shapely.area(findings.geometry.values), rtol=0, atol=1e-15)


@pytest.fixture(scope="module")
def arxan():
    return ecogis.screen(SAMPLE / "sites" / "arxan.geojson", SAMPLE / "arxan.gpkg", progress=False)


def test_rules_once_and_the_view_is_every_finding_whole(arxan, tmp_path):
    p = write_conflicts_gpkg(arxan, tmp_path / "conflicts.gpkg")
    layers = {name: kind for name, kind in pyogrio.list_layers(p)}
    assert set(layers) == {"sites", "sites_base", "checks", "conflicts", "conflicts_base", "rules"}
    assert layers["rules"] is None and layers["checks"] is None  # attribute tables
    base = pyogrio.read_dataframe(p, layer="conflicts_base")
    rules = pyogrio.read_dataframe(p, layer="rules", read_geometry=False)
    # the rule texts are stored once per rule, not on every finding
    assert len(rules) == arxan.findings["rule_id"].nunique() < len(arxan.findings)
    assert not set(RULE_COLUMNS) - {"severity"} & set(base.columns)
    assert rules["rule_key"].is_unique and set(base["rule_key"]) == set(rules["rule_key"])
    assert len(base) == len(arxan.findings)
    _assert_detail_is_findings(p, arxan.findings)
    # the view answers a spatial filter as a layer does (GDAL uses the table's R-tree through OGC_FID)
    box = tuple(shapely.bounds(arxan.findings.geometry.values[0]))
    assert len(pyogrio.read_dataframe(p, layer="conflicts", bbox=box)) == len(
        pyogrio.read_dataframe(p, layer="conflicts_base", bbox=box)) > 0
    _assert_detail_is_findings(p, arxan.sites.drop(columns="fid"), layer="sites")
    assert len(pyogrio.read_dataframe(p, layer="sites", bbox=box)) == len(
        pyogrio.read_dataframe(p, layer="sites_base", bbox=box)) > 0


def test_what_sites_share_is_stored_once_and_the_view_is_every_site_whole(tmp_path):
    """Thousands of sites from one file, checked against one set of layers, share ~1.3 KB of texts (the rules
    not evaluated, the incomplete layers, the source file): ``checks`` holds each distinct set once."""
    res = ecogis.screen(SAMPLE / "sites" / "arxan.geojson", SAMPLE / "arxan.gpkg", progress=False)
    sites = res.sites
    many = sites.iloc[np.arange(600) % len(sites)].reset_index(drop=True)
    many["site_id"] = [f"S{i:04d}" for i in range(len(many))]
    many["fid"] = np.arange(len(many))
    # one site with texts of its own, including hostile ones and a missing value: kept, never merged or run
    odd = "'); DROP TABLE sites; -- <b>{site_name}</b>"
    many.loc[7, "incomplete_layers"] = odd
    many.loc[8, "not_evaluated"] = None
    res2 = type(res)(sites=many, findings=res.findings.iloc[:0], not_evaluated=res.not_evaluated, meta=res.meta)
    p = write_conflicts_gpkg(res2, tmp_path / "conflicts.gpkg")
    base = pyogrio.read_dataframe(p, layer="sites_base")
    checks = pyogrio.read_dataframe(p, layer="checks", read_geometry=False)
    shared = [c for c in CHECK_COLUMNS if c in many.columns]
    assert len(checks) == len(many[shared].astype(str).drop_duplicates()) < 10
    assert not set(shared) & set(base.columns) and len(base) == len(many)
    _assert_detail_is_findings(p, many.drop(columns="fid"), layer="sites")
    back = pyogrio.read_dataframe(p, layer="sites")
    assert back["incomplete_layers"].iloc[7] == odd and back["not_evaluated"].isna().iloc[8]
    with sqlite3.connect(p) as con:
        assert con.execute("SELECT count(*) FROM sites_base").fetchone()[0] == len(many)
        assert con.execute("SELECT type FROM sqlite_master WHERE name = 'sites'").fetchone() == ("view",)


def test_sites_with_unhashable_shared_values_stay_one_table(arxan, tmp_path):
    """Lists in a shared column cannot be compared: the sites are written as one table, whole."""
    sites = arxan.sites.copy()
    sites["checked_layers"] = [["redline", "wetland"]] * len(sites)
    assert split_sites(sites.drop(columns="fid")) is None


def test_texts_that_differ_within_one_rule_are_all_kept(arxan, tmp_path):
    """A rule whose texts differ between its findings gets one ``rules`` row per variant; nothing is merged."""
    f = arxan.findings.copy()
    rid = f["rule_id"].iloc[0]
    rows = np.flatnonzero(f["rule_id"].to_numpy() == rid)
    payload = "'); DROP TABLE conflicts; -- <script>alert(1)</script> {site_name}"
    f.loc[f.index[rows[-1]], "basis"] = payload
    f.loc[f.index[rows[0]], "next_steps"] = None
    res = type(arxan)(sites=arxan.sites, findings=f, not_evaluated=arxan.not_evaluated, meta=arxan.meta)
    conflicts, rules = split_findings(f)
    assert len(rules) == f["rule_id"].nunique() + (1 if len(rows) == 1 else 2)
    p = write_conflicts_gpkg(res, tmp_path / "conflicts.gpkg")
    _assert_detail_is_findings(p, f)
    view = pyogrio.read_dataframe(p, layer="conflicts")
    assert view["basis"].iloc[rows[-1]] == payload  # stored as text, never run
    with sqlite3.connect(p) as con:
        assert con.execute("SELECT count(*) FROM conflicts_base").fetchone()[0] == len(f)
        assert con.execute("SELECT count(*) FROM conflicts").fetchone()[0] == len(f)


def test_no_findings_writes_the_sites_only(arxan, tmp_path):
    res = type(arxan)(sites=arxan.sites, findings=arxan.findings.iloc[:0], not_evaluated=arxan.not_evaluated,
                      meta=arxan.meta)
    p = write_conflicts_gpkg(res, tmp_path / "conflicts.gpkg")
    assert {name for name, _ in pyogrio.list_layers(p)} == {"sites", "sites_base", "checks"}
    assert len(pyogrio.read_dataframe(p, layer="sites")) == len(arxan.sites)


def test_view_is_registered_as_the_geopackage_standard_asks(arxan, tmp_path):
    """gpkg_contents and gpkg_geometry_columns hold the view as they hold a table (OGC 12-128r18 §2.1.3, §2.1.5)."""
    p = write_conflicts_gpkg(arxan, tmp_path / "conflicts.gpkg")
    with sqlite3.connect(p) as con:
        kinds = dict(con.execute("SELECT name, type FROM sqlite_master WHERE name IN ('conflicts', "
                                 "'conflicts_base', 'rules', 'sites', 'sites_base', 'checks')").fetchall())
        assert kinds == {"conflicts": "view", "conflicts_base": "table", "rules": "table", "sites": "view",
                         "sites_base": "table", "checks": "table"}
        for view, table in (("sites", "sites_base"), ("conflicts", "conflicts_base")):
            rows = [con.execute("SELECT data_type, srs_id, min_x, min_y, max_x, max_y FROM gpkg_contents "
                                "WHERE table_name = ?", (t,)).fetchone() for t in (view, table)]
            assert rows[0] == rows[1] and rows[0][0] == "features"
        table = con.execute("SELECT data_type, srs_id, min_x, min_y, max_x, max_y FROM gpkg_contents "
                            "WHERE table_name = 'conflicts_base'").fetchone()
        view = con.execute("SELECT data_type, srs_id, min_x, min_y, max_x, max_y FROM gpkg_contents "
                           "WHERE table_name = 'conflicts'").fetchone()
        assert view == table and view[0] == "features" and view[1] == 4490
        g_table = con.execute("SELECT column_name, geometry_type_name, srs_id, z, m FROM gpkg_geometry_columns "
                              "WHERE table_name = 'conflicts_base'").fetchone()
        g_view = con.execute("SELECT column_name, geometry_type_name, srs_id, z, m FROM gpkg_geometry_columns "
                             "WHERE table_name = 'conflicts'").fetchone()
        assert g_view == g_table
        assert con.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'rules'").fetchone() == (
            "attributes",)
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_fields_whose_names_geopackage_takes_are_renamed_and_reported(arxan, tmp_path):
    """Site attributes called ``geom``, ``OGC_FID``, ``checks_key``, ``GEOMETRY`` … or differing only in case
    would stop the file being written (GDAL refused them; ``GEOMETRY`` aborted the process): renamed, noted."""
    from ecogis.notes import Notes

    sites = arxan.sites.copy()
    hostile = ["geom", "OGC_FID", "checks_key", "Rule_Key", "FID", "NAME", "GEOMETRY", "geom_attr"]
    for i, c in enumerate(hostile):
        sites[c] = f"v{i}"
    notes = Notes()
    res = type(arxan)(sites=sites, findings=arxan.findings, not_evaluated=arxan.not_evaluated, meta=arxan.meta,
                      notes=notes)
    p = write_conflicts_gpkg(res, tmp_path / "conflicts.gpkg")
    back = pyogrio.read_dataframe(p, layer="sites")
    assert len(back) == len(sites)
    for i, c in enumerate(hostile):  # every value kept, under its own name or a renamed one
        name = c if c in back.columns else next(n for n in back.columns if n.startswith(c + "_"))
        assert (back[name] == f"v{i}").all(), c
    assert len({c.casefold() for c in back.columns}) == len(back.columns)
    said = " ".join(n.message for n in notes)
    assert "geom → geom_attr" in said and "GEOMETRY → GEOMETRY_attr" in said
    assert pyogrio.read_dataframe(p, layer="conflicts").shape[0] == len(arxan.findings)
