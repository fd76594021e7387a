"""The per-request fast path of ``ecogis serve`` (issue 17): what it remembers gives the same answers, and never a stale one.

Remembered per data version: where-masks over a whole in-memory layer, distinct values, the layer
versions read in two small queries.  Remembered by value: the bundled rules chosen for a place and a
day, the applicability masks of a few sites.  Skipped: layers with no feature near the sites.  Each is
checked against the plain computation, and the caches against a layer import.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

import ecogis
from ecogis.layers import import_layer
from ecogis.rules import load_rules
from ecogis.rules.match import where_masks
from ecogis.screening import engine
from ecogis.screening.verdict import RANK, site_verdicts
from ecogis.settings import settings
from ecogis.workspace import open_workspace
from ecogis.workspace.cache import LayerCache, metadata_key

SAMPLE = Path(settings.sample_dir)
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from serve_profile import shifted_txt  # noqa: E402


def _doc(result) -> str:
    d = result.to_document()
    d["meta"].pop("generated_at", None)
    return json.dumps(d, sort_keys=True, default=str, ensure_ascii=False)


def _shifted(tmp_path: Path, city: str, moves: list[tuple[float, float]]) -> list[Path]:
    """Sample 国土TXT sites moved by ``(east, north)`` metres, one file each."""
    files = sorted((SAMPLE / "sites" / city).glob("*.txt"))
    out = []
    for i, (dx, dy) in enumerate(moves):
        src = files[i % len(files)]
        p = tmp_path / f"{src.stem}-{i}.txt"
        p.write_bytes(shifted_txt(src.read_bytes(), dx, dy))
        out.append(p)
    return out


def test_moved_sites_give_the_same_result_in_memory_far_ones_never_clear(tmp_path):
    """Sites near features, between them and off the data: the skipped layers change nothing."""
    base = open_workspace(SAMPLE / "xilinhot.gpkg")
    view = LayerCache(base).view()
    moves = [(0, 0), (1500, -800), (-4000, 2500), (9000, 9000), (40_000, -30_000), (400_000, 0)]
    verdicts = []
    for p in _shifted(tmp_path, "xilinhot", moves):
        for ov in (None, {"industry": "B0610", "nature": "新建"}):
            a = ecogis.screen(p, base, overrides=ov, progress=False)
            b = ecogis.screen(p, view, overrides=ov, progress=False)
            assert _doc(a) == _doc(b), (p.name, ov)
            verdicts += list(b.sites["verdict"])
    far = ecogis.screen(_shifted(tmp_path, "xilinhot", [(400_000, 0)])[0], view, progress=False)
    assert set(far.sites["verdict"]) <= {"not_covered", "incomplete"}  # off the data: never clear
    assert "prohibited" in verdicts


def test_where_masks_of_the_whole_layer_taken_at_the_rows_read():
    base = open_workspace(SAMPLE / "manzhouli.gpkg")
    view = LayerCache(base).view()
    rules = load_rules(None, check_cases=False)
    rng = np.random.default_rng(3)
    for kind in view.kinds():
        rs = [r for r in rules if r.layer == kind]
        if not rs:
            continue
        full = view.read(kind)
        x0, y0, x1, y1 = shapely.total_bounds(full.geometry.values)
        allowed = engine._schema_values(kind)
        for _ in range(4):
            xs, ys = np.sort(rng.uniform(x0, x1, 2)), np.sort(rng.uniform(y0, y1, 2))
            box = (xs[0], ys[0], xs[1], ys[1])
            rows = view.bbox_rows(kind, box)
            feats = view.read(kind, bbox=box)
            assert list(feats["fid"]) == list(full["fid"].to_numpy()[rows])
            got = engine._where_masks(view, kind, rs, feats, rows, allowed)
            for r, (fact, maybe, unknown) in zip(rs, got):
                want = where_masks(r.where, feats, allowed)
                assert np.array_equal(fact, want[0]) and np.array_equal(maybe, want[1]), (kind, r.id)
                assert [t for t, _ in unknown] == [t for t, _ in want[2]]
                assert all(np.array_equal(m, w) for (_, m), (_, w) in zip(unknown, want[2]))


def test_a_layer_import_renews_what_is_remembered_of_the_layer(tmp_path):
    ws_path = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE / "xilinhot.gpkg", ws_path)
    base = open_workspace(ws_path)
    cache = LayerCache(base)
    site = SAMPLE / "sites" / "xilinhot" / "XLH-01.txt"
    v1 = cache.view()
    before = ecogis.screen(site, v1, progress=False)
    assert "XLH-CU-PRIORITY" in set(before.findings["rule_id"])
    memo1 = v1.layer_memo("control_unit")[1]
    assert any(k[0] == "where_masks" for k in memo1)
    # every control unit re-classed: the priority rule no longer applies, the key one does
    cu = base.read("control_unit").drop(columns=["fid"])
    cu["class"] = "重点管控"
    src = tmp_path / "cu.geojson"
    cu.to_file(src, driver="GeoJSON")
    import_layer(src, "control_unit", ws_path, version="reclassed", replace=True)
    v2 = cache.view()
    assert v2.layer_memo("control_unit")[1] is not memo1
    after = ecogis.screen(site, v2, progress=False)
    ids = set(after.findings["rule_id"])
    assert "XLH-CU-PRIORITY" not in ids and "XLH-CU-KEY" in ids
    assert _doc(after) == _doc(ecogis.screen(site, open_workspace(ws_path), progress=False))
    assert v2.distinct("control_unit", "class") == ["重点管控"]


def test_applicability_masks_remembered_by_value_and_read_only(tmp_path):
    view = LayerCache(open_workspace(SAMPLE / "xilinhot.gpkg")).view()
    base = open_workspace(SAMPLE / "xilinhot.gpkg")
    site = SAMPLE / "sites" / "xilinhot" / "XLH-04.txt"
    seen = []
    for ov in (None, {"industry": "B0610"}, None, {"industry": "B0610", "nature": "新建"}, {"industry": "B0610"},
               {"activity": "none"}, None):
        a = ecogis.screen(site, view, overrides=ov, progress=False)
        assert _doc(a) == _doc(ecogis.screen(site, base, overrides=ov, progress=False)), ov
        seen.append(a.sites["verdict_text"].iloc[0])
    assert seen[0] == seen[2] == seen[6]
    hit = next(iter(engine._MASKS.values()))[1]
    m = next(iter(hit.values()))
    with pytest.raises(ValueError):
        m.current[0] = not m.current[0]


def test_the_bundled_rules_passed_in_give_the_same_result_and_notes():
    ws = open_workspace(SAMPLE / "genhe.gpkg")
    site = SAMPLE / "sites" / "genhe" / sorted(p.name for p in (SAMPLE / "sites" / "genhe").glob("*.txt"))[0]
    plain = ecogis.screen(site, ws, progress=False)
    given = ecogis.screen(site, ws, progress=False, bundled=load_rules(None, check_cases=False))
    assert _doc(plain) == _doc(given)
    assert any("local rule files of other places" in n.message for n in given.notes)
    # chosen again for another day: the rules in force that day, not the remembered choice
    old = ecogis.screen(site, ws, progress=False, as_of="2000-01-01")
    assert old.meta["as_of"] == "2000-01-01" and old.meta["as_of"] != given.meta["as_of"]


def _old_site_verdicts(findings: pd.DataFrame, sites: pd.DataFrame) -> np.ndarray:
    """The pandas implementation :func:`site_verdicts` replaced (the reference)."""
    n = len(sites)
    worst = np.zeros(n)
    cond = np.zeros(n, dtype=bool)
    ids = sites["site_id"].to_numpy(dtype=object)
    if len(findings):
        cert = findings["certainty"] if "certainty" in findings.columns else pd.Series("fact", index=findings.index)
        rank = findings["severity"].map(RANK).astype(float)
        firm = cert.to_numpy(dtype=object) != "conditional"
        if firm.any():
            w = rank[firm].groupby(findings["site_id"][firm]).max()
            worst = pd.Series(ids).map(w).fillna(0.0).to_numpy(dtype=float)
        soft = set(findings["site_id"][~firm])
        cond = pd.Index(ids).isin(list(soft)) if soft else cond
    if "incomplete_rules" in sites.columns:
        cond |= sites["incomplete_rules"].fillna("").astype(str).to_numpy() != ""
    worst = np.where(cond & (worst < RANK["incomplete"]), RANK["incomplete"], worst)
    verdict = np.full(n, "clear", dtype=object)
    for name, r in RANK.items():
        verdict[worst == r] = name
    partial = sites["coverage"].to_numpy() != "full"
    verdict[partial & (worst < RANK["prohibited"])] = "not_covered"
    return verdict


@pytest.mark.parametrize("seed", range(12))
def test_site_verdicts_as_the_pandas_reference(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    ids = [f"S{i}" for i in range(n)]
    if seed % 3 == 0 and n > 2:  # repeated site ids take the other path
        ids[1] = ids[0]
    sites = pd.DataFrame({"site_id": ids, "coverage": rng.choice(["full", "partial", "none"], n, p=[.8, .1, .1]),
                          "incomplete_rules": rng.choice(["", "", "", "R1", None], n)})
    m = int(rng.integers(0, 60))
    sev = rng.choice(["prohibited", "restricted", "review", "notice", "bogus", None], m)
    findings = pd.DataFrame({"site_id": rng.choice(ids + ["ghost"], m), "severity": pd.Series(sev, dtype=object),
                             "certainty": rng.choice(["fact", "provisional", "conditional"], m)})
    if seed % 4 == 1:
        findings = findings.drop(columns=["certainty"])
    assert list(site_verdicts(findings, sites)) == list(_old_site_verdicts(findings, sites))


def _old_map(result) -> str:
    """The map construction :func:`ecogis.serve.runner.map_geojson` replaced (the reference)."""
    s = result.sites[["site_id", "verdict", "geometry"]].assign(layer="site", severity=None, rule_id=None)
    f = result.findings
    parts = [s]
    if len(f):
        parts.append(f[["site_id", "severity", "rule_id", "geometry"]].assign(layer="finding", verdict=None))
    gdf = gpd.GeoDataFrame(pd.concat(parts, ignore_index=True), crs=result.sites.crs)
    gdf["site_id"] = gdf["site_id"].astype(str)
    return gdf.to_json(drop_id=True)


def test_page_map_is_the_same_geojson():
    pytest.importorskip("fastapi")
    from ecogis.serve.runner import map_geojson

    for city in ("xilinhot", "genhe"):
        files = sorted((SAMPLE / "sites" / city).glob("*.txt"))
        r = ecogis.screen(files, SAMPLE / f"{city}.gpkg", progress=False)
        assert len(r.findings) and json.loads(map_geojson(r)) == json.loads(_old_map(r))
        empty = r.findings.copy()  # findings with no or an empty geometry are drawn as null, as before
        empty.loc[empty.index[:2], "geometry"] = [None, shapely.Polygon()]
        r.findings = empty
        assert json.loads(map_geojson(r)) == json.loads(_old_map(r))
        assert [f["geometry"] for f in json.loads(map_geojson(r))["features"][len(r.sites):][:2]] == [None, None]
        r.findings = r.findings.iloc[:0]
        assert json.loads(map_geojson(r)) == json.loads(_old_map(r))
        r.sites = r.sites.iloc[:0]
        assert json.loads(map_geojson(r))["features"] == []


def test_page_map_keeps_hostile_text_as_text():
    """Site ids with quotes, backslashes, newlines and markup stay JSON strings (the map escapes them)."""
    pytest.importorskip("fastapi")
    from ecogis.serve.runner import map_geojson

    files = sorted((SAMPLE / "sites" / "xilinhot").glob("*.txt"))
    r = ecogis.screen(files, SAMPLE / "xilinhot.gpkg", progress=False)
    hostile = ['a"b', "c\\d", "line\nbreak", "</script><img src=x onerror=alert(1)>", "用地\u2028x"]
    r.sites["site_id"] = [hostile[i % len(hostile)] for i in range(len(r.sites))]
    got = json.loads(map_geojson(r))
    assert [f["properties"]["site_id"] for f in got["features"][:len(r.sites)]] == list(r.sites["site_id"])
    assert got == json.loads(_old_map(r))


def test_layer_versions_in_two_queries_are_the_metadata_key(tmp_path):
    from ecogis.accesslist.samples import with_sample_lists
    from ecogis.workspace.gpkg import GeoPackageWorkspace

    ws = open_workspace(with_sample_lists("genhe", SAMPLE, tmp_path))
    assert isinstance(ws, GeoPackageWorkspace)
    quick = ws.version_key()
    assert len(quick[0]) == len(ws.layers()) and quick[1]
    lk = tuple((li.kind, li.version, li.sha256, li.imported_at, int(li.feature_count), li.mode)
               for li in ws._rows("WHERE current = 1"))
    tk = tuple((t.name, t.version, t.sha256, t.imported_at, t.row_count, t.current) for t in ws.table_history())
    assert quick == (lk, tk) == metadata_key(ws)


def test_reads_from_memory_hand_out_geometries_of_their_own():
    """Two screenings at once must never share a GEOS geometry: the engine prepares features (not thread-safe)."""
    view = LayerCache(open_workspace(SAMPLE / "xilinhot.gpkg")).view()
    full = view.read("redline")
    box = tuple(shapely.total_bounds(full.geometry.values))
    a, b = view.read("redline", bbox=box), view.read("redline", bbox=box)
    assert len(a) and all(x is not y for x, y in zip(a.geometry.values, b.geometry.values))
    assert all(shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=0))
    assert a.crs == full.crs and a.geometry.name == full.geometry.name
    assert not any(x is y for x, y in zip(full.geometry.values, view.read("redline").geometry.values))


def test_screenings_on_threads_share_one_view_safely(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    view = LayerCache(open_workspace(SAMPLE / "xilinhot.gpkg")).view()
    sites = _shifted(tmp_path, "xilinhot", [(30.0 * i, -20.0 * i) for i in range(10)])
    want = {p.name: _doc(ecogis.screen(p, view, progress=False)) for p in sites}
    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(lambda p: (p.name, _doc(ecogis.screen(p, view, progress=False))), sites * 3))
    assert all(doc == want[name] for name, doc in got)
