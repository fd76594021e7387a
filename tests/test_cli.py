"""The command line: exit codes, messages, no tracebacks for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import geopandas as gpd
import pytest

from ecogis.cli import main


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ecogis.cli", *args], capture_output=True, text=True)


def test_import_list_validate(formats_dir, tmp_path, capsys):
    ws = str(tmp_path / "ws.gpkg")
    assert main(["layers", "import", str(formats_dir / "shp_gbk" / "保护区.shp"), "--kind", "protected_area",
                 "--workspace", ws, "--version", "2024-06"]) == 0
    out = capsys.readouterr().out
    assert "2 features" in out and "MC → name" in out
    assert main(["layers", "list", "--workspace", ws, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed[0]["kind"] == "protected_area" and listed[0]["version"] == "2024-06"
    assert main(["layers", "list", "--workspace", ws]) == 0
    assert "自然保护地" in capsys.readouterr().out
    assert main(["layers", "validate", str(formats_dir / "pa_shp.zip"), "--kind", "protected_area"]) == 0


def test_bad_input_exit_2_without_traceback(formats_dir, tmp_path):
    r = run("layers", "validate", str(formats_dir / "points_gbk.csv"), "--kind", "project")
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "no coordinate reference system" in r.stderr
    r = run("layers", "import", str(formats_dir / "pa_shp.zip"), "--kind", "nosuchkind", "--workspace",
            str(tmp_path / "w.gpkg"))
    assert r.returncode == 2 and "unknown layer kind" in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize("ext", [".geojson", ".gpkg", ".shp", ".zip", ".kml", ".kmz", ".csv"])
def test_convert_round_trip(formats_dir, tmp_path, ext, capsys):
    out = tmp_path / f"out{ext}"
    assert main(["convert", str(formats_dir / "pa_shp.zip"), str(out)]) == 0
    kw = {"crs": "EPSG:4490"} if ext == ".csv" else {}
    from ecogis.read import read_file

    back = read_file(out, **kw)
    src = read_file(formats_dir / "pa_shp.zip")
    assert len(back) == len(src)
    assert back.to_crs(4490).geometry.iloc[0].equals_exact(src.geometry.iloc[0], tolerance=1e-7)


def test_convert_geojson_has_area_in_4490(formats_dir, tmp_path):
    out = tmp_path / "o.geojson"
    assert main(["convert", str(formats_dir / "shp_gbk" / "保护区.shp"), str(out)]) == 0
    g = gpd.read_file(out)
    assert g.crs.to_epsg() == 4490
    assert (g["area_ha"] > 0).all()
    # the second feature is a 0.06° × 0.04° box near 44°N: ~ 2,146 ha
    assert g["area_ha"].iloc[1] == pytest.approx(2146, rel=0.01)


def test_convert_to_gk(formats_dir, tmp_path):
    out = tmp_path / "o.gpkg"
    assert main(["convert", str(formats_dir / "pa_shp.zip"), str(out), "--to-crs", "EPSG:4527"]) == 0
    assert gpd.read_file(out).crs.to_epsg() == 4527


def test_screen_with_fields_named_like_what_the_outputs_use(tmp_path, capsys):
    """Attributes called GEOMETRY, geom, fid, OGC_FID, checks_key or differing only in case: every output is
    written (they once made an internal error or a GDAL refusal), each rename reported."""
    import pyogrio
    from pathlib import Path

    repo = Path(__file__).resolve().parent.parent
    doc = json.loads((repo / "layers" / "sample" / "sites" / "arxan.geojson").read_text(encoding="utf-8"))
    for f in doc["features"]:
        f["properties"].update({"GEOMETRY": "g", "geom": "x", "NAME": "dup", "checks_key": 1, "OGC_FID": 5,
                                "fid": 9})
    sites = tmp_path / "sites.geojson"
    sites.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    out = tmp_path / "out"
    assert main(["screen", str(sites), "--workspace", str(repo / "layers" / "sample" / "arxan.gpkg"),
                 "--out", str(out), "--quiet"]) == 0
    said = capsys.readouterr().out
    assert "GEOMETRY_attr" in said and "geom → geom_attr" in said
    back = pyogrio.read_dataframe(out / "conflicts.gpkg", layer="sites")
    assert len(back) == len(doc["features"]) and (back["geom_attr"] == "x").all()
    assert {"report.html", "findings.json", "findings.xlsx", "conflicts.gpkg"} <= {p.name for p in out.iterdir()}
