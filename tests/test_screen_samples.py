"""The sample project sites of the four cities get the verdicts their rule families call for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geopandas as gpd
import pytest

import ecogis
from ecogis.cli import main

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"
CITIES = ("genhe", "arxan", "manzhouli", "xilinhot")

#: family → the verdicts a site of that family may get (its worst finding decides).
EXPECTED = {
    "redline_mining": {"prohibited"},
    "redline_linear": {"restricted"},
    "strategic_mineral": {"restricted"},
    "pa_core_production": {"prohibited"},
    "water_grade2_polluting": {"prohibited"},
    "water_grade1_supply": {"restricted"},
    "farmland_national_major": {"restricted"},
    "farmland_ordinary": {"prohibited"},
    "mine_setback": {"prohibited", "restricted", "review"},
    # the samples leave activities undeclared and Genhe/Arxan have no sand_closure layer: such sites can be at
    # best incomplete (questions for the applicant, a layer missing); declared complete they are clear
    "clear": {"clear", "review", "notice", "incomplete"},
    "partly_outside": {"not_covered", "prohibited"},
}


@pytest.fixture(scope="module")
def results():
    return {c: ecogis.screen(SAMPLE / "sites" / f"{c}.geojson", SAMPLE / f"{c}.gpkg", progress=False) for c in CITIES}


@pytest.mark.parametrize("city", CITIES)
def test_family_verdicts(results, city):
    res = results[city]
    fams = gpd.read_file(SAMPLE / "sites" / f"{city}.geojson").set_index("site_id")["families"]
    checked = 0
    for rec in res.sites.to_dict("records"):
        for fam in str(fams[rec["site_id"]]).split(","):
            if fam in EXPECTED:
                checked += 1
                assert rec["verdict"] in EXPECTED[fam], (rec["site_id"], rec["name"], fam, rec["verdict"])
    assert checked >= 10


@pytest.mark.parametrize("city", CITIES)
def test_not_covered_is_never_clear(results, city):
    res = results[city]
    partial = res.sites[res.sites["coverage"] != "full"]
    assert len(partial) >= 1
    assert not (partial["verdict"] == "clear").any()


def test_clear_lists_checked_layers():
    sites = gpd.read_file(SAMPLE / "sites" / "xilinhot.geojson")
    sites["activity"] = (sites["activity"].fillna("").astype(str) + ";none").str.strip(";")
    res = ecogis.screen(sites, SAMPLE / "xilinhot.gpkg", progress=False)
    clear = res.sites[res.sites["verdict"] == "clear"]
    assert len(clear)
    assert all("redline" in c for c in clear["checked_layers"])
    assert (clear["incomplete_rules"] == "").all()


def test_undeclared_activities_are_questions_not_silence(results):
    res = results["xilinhot"]
    q = res.findings[res.findings["question"] != ""]
    assert len(q) and (q["certainty"] == "conditional").all()
    assert q["question"].str.startswith("待确认：项目是否涉及").all()
    assert q["message"].str.startswith("【待确认】").all()
    # none of those sites is clear
    assert not res.sites.set_index("site_id").loc[q["site_id"].unique(), "verdict"].eq("clear").any()


def test_not_evaluated_rules_are_listed(tmp_path):
    # a workspace without the farmland layer: farmland rules are reported, not skipped silently
    from ecogis.workspace import open_workspace

    src = open_workspace(SAMPLE / "manzhouli.gpkg")
    ws = open_workspace(tmp_path / "ws.gpkg", create=True)
    for kind in ("admin", "redline"):
        ws.write(kind, src.read(kind), source="copy", version="t")
    res = ecogis.screen(SAMPLE / "sites" / "manzhouli.geojson", ws, progress=False)
    assert "PBF-35-OCCUPATION" in set(res.not_evaluated["rule_id"])
    assert res.sites["not_evaluated"].str.contains("PBF-35-OCCUPATION").any()


def test_cli_screen_outputs_and_exit_codes(tmp_path, capsys):
    out = tmp_path / "out"
    site = SAMPLE / "sites" / "xilinhot" / "XLH-01.txt"
    argv = ["screen", str(site), "--workspace", str(SAMPLE / "xilinhot.gpkg"), "--industry", "B0620",
            "--nature", "新建", "--out", str(out), "--quiet"]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "XLH-01" in text and "禁止" in text
    for name in ("report.html", "findings.json", "findings.xlsx", "conflicts.gpkg"):
        assert (out / name).stat().st_size > 0
    assert main(argv + ["--fail-on", "restricted"]) == 1
    assert main(argv + ["--lang", "en", "--format", "json"]) == 0
    assert "Prohibited" in capsys.readouterr().out


def test_cli_screen_area_method_and_threads(tmp_path):
    import json

    site = SAMPLE / "sites" / "xilinhot.geojson"
    reports = {}
    for method, threads in (("geodesic", "1"), ("equal_area", "2")):
        out = tmp_path / method
        argv = ["screen", str(site), "--workspace", str(SAMPLE / "xilinhot.gpkg"), "--out", str(out), "--quiet",
                "--format", "json", "--area-method", method, "--threads", threads]
        assert main(argv) == 0
        reports[method] = json.loads((out / "findings.json").read_text(encoding="utf-8"))
    g, e = reports["geodesic"], reports["equal_area"]
    assert g["meta"]["area_method"] == "geodesic" and e["meta"]["area_method"] == "equal_area"
    assert "等积" in e["meta"]["area_method_text"]["zh"]

    def areas(report):
        return {(s["site_id"], f["rule_id"], f["feature_id"]): f["overlap_ha"]
                for s in report["sites"] for f in s["findings"] if f.get("overlap_ha")}

    ga, ea = areas(g), areas(e)
    assert ga.keys() == ea.keys() and len(ga) > 10
    for k, v in ga.items():  # same findings; areas within 1e-5 relative (reports round to 0.0001 ha)
        assert abs(ea[k] - v) <= max(1e-5 * v, 1.5e-4), k


def test_cli_screen_bad_input_exit_2(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text("[属性描述]\n带号=39\n[地块坐标]\n5,1.0,A,x,面,,,,@\nJ1,1,abc,39500000\n", encoding="utf-8")
    r = subprocess.run([sys.executable, "-m", "ecogis.cli", "screen", str(bad), "--workspace",
                        str(SAMPLE / "xilinhot.gpkg"), "--out", str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "bad.txt" in r.stderr and "line" in r.stderr
    r = subprocess.run([sys.executable, "-m", "ecogis.cli", "screen", str(SAMPLE / "sites" / "xilinhot.geojson"),
                        "--workspace", str(SAMPLE / "xilinhot.gpkg"), "--industry", "Z9999", "--out",
                        str(tmp_path / "o")], capture_output=True, text=True)
    assert r.returncode == 2 and "Z9999" in r.stderr and "Traceback" not in r.stderr


def test_local_rules_of_other_cities_are_not_applied(results):
    res = results["manzhouli"]
    ids = set(res.findings["rule_id"])
    assert any(i.startswith("MZL-") for i in ids)
    assert not any(i.startswith(("XLH-", "GH-", "ARX-")) for i in ids)
    assert any("local rule files of other places not applied" in n.message for n in res.notes)


def test_long_text_is_clipped_in_html_but_kept_in_json(tmp_path):
    from ecogis.render.outputs import write_outputs

    sites = gpd.read_file(SAMPLE / "sites" / "xilinhot.geojson").iloc[:1].copy()
    long_name = "<b>长</b>" + "长" * 200_000
    sites["name"] = long_name
    res = ecogis.screen(sites, SAMPLE / "xilinhot.gpkg", progress=False)
    write_outputs(res, tmp_path, formats=["html", "json"])
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert len(html) < 2_000_000
    assert "截断，共200,008字符" in html  # the zh report's marker (the en report says "truncated, … characters")
    assert "<b>长</b>" not in html
    doc = (tmp_path / "findings.json").read_text(encoding="utf-8")
    assert long_name in doc
