"""Shapefile export: the dBase limits (10-byte names, 254-byte text) are met by reported changes, not by GDAL."""

from __future__ import annotations

import warnings

import geopandas as gpd
import pytest
import shapely

from ecogis.export.writers import DBF_NAME_BYTES, DBF_TEXT_BYTES, dbf_names, write_file
from ecogis.notes import Notes


def test_dbf_names_are_short_unique_and_never_split_a_character():
    cols = ["name", "priority_score", "priority_rank", "Priority_s", "核查结果说明文字", "area_ha"]
    new = dbf_names(cols)
    assert set(new) == {"priority_score", "priority_rank", "核查结果说明文字"}
    final = [new.get(c, c) for c in cols]
    assert all(len(c.encode("utf-8")) <= DBF_NAME_BYTES for c in final)
    assert len({c.lower() for c in final}) == len(final)  # dBase names ignore case
    assert new["核查结果说明文字"] == "核查结"  # 9 bytes: a fourth character would need 12
    assert new["priority_score"] not in ("Priority_s", "priority_s")  # 'Priority_s' was taken (case-insensitively)


def _frame() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {"name": ["甲", "乙"], "declared_area_ha": [1.5, 2.0], "declared_area_mu": [22.5, 30.0],
         "remarks": ["现场核查" * 30, "短"]},
        geometry=[shapely.box(120, 45, 120.01, 45.01), shapely.box(120.02, 45, 120.03, 45.01)], crs=4490)


@pytest.mark.parametrize("name", ["out.shp", "out.zip"])
def test_shapefile_export_reports_renames_and_cut_text(tmp_path, name):
    notes = Notes()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # GDAL must have nothing left to launder or truncate
        path = write_file(_frame(), tmp_path / name, notes=notes)
    back = gpd.read_file(path)
    assert {"declared_a", "declared_1"} <= set(back.columns)
    assert back["declared_1"].tolist() == [22.5, 30.0]  # the second long name kept its own values
    assert len(back["remarks"].iat[0].encode("utf-8")) <= DBF_TEXT_BYTES
    assert back["remarks"].iat[0].startswith("现场核查") and back["remarks"].iat[1] == "短"
    rename = notes.by_code("rename")[0].message
    assert "declared_area_ha → declared_a" in rename and "declared_area_mu → declared_1" in rename
    cut = notes.by_code("truncate")[0]
    assert "'remarks'" in cut.message and list(cut.ids) == [0]


def test_without_notes_the_changes_come_as_warnings(tmp_path):
    with pytest.warns(UserWarning) as caught:
        write_file(_frame(), tmp_path / "w.shp")
    text = " | ".join(str(w.message) for w in caught)
    assert "w.shp" in text and "declared_area_ha → declared_a" in text and "'remarks'" in text


def test_convert_to_shapefile_prints_the_renames(tmp_path, capsys):
    from ecogis.cli import main

    src = tmp_path / "in.geojson"
    _frame().to_file(src, driver="GeoJSON")
    assert main(["convert", str(src), str(tmp_path / "out.shp")]) == 0
    out = capsys.readouterr().out
    assert "declared_area_ha → declared_a" in out and "254 bytes" in out


def test_clues_to_shapefile_write_every_part(tmp_path):
    from ecogis.patrol.clues import write_clues

    clues = gpd.GeoDataFrame({"clue_id": ["C1"], "priority_score": [3.5], "nearest_mine_name": ["某矿"]},
                             geometry=[shapely.box(120, 45, 120.01, 45.01)], crs=4490)
    write_clues(clues, tmp_path / "clues.shp")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "clues.cpg", "clues.dbf", "clues.prj", "clues.shp", "clues.shx"]  # no stray temporary parts
    back = gpd.read_file(tmp_path / "clues.shp")
    assert back["priority_s"].tolist() == [3.5] and back["nearest_mi"].tolist() == ["某矿"]
