"""GeoPackage workspace: import, append/replace, metadata, failure leaves the old version."""

from __future__ import annotations

import geopandas as gpd
import pytest
import shapely

from ecogis.errors import SchemaError, WorkspaceError
from ecogis.layers import import_layer
from ecogis.workspace import open_workspace


def test_import_records_metadata(formats_dir, tmp_path):
    ws_path = tmp_path / "ws.gpkg"
    info, notes = import_layer(formats_dir / "shp_gbk" / "保护区.shp", "protected_area", ws_path, version="2024-06")
    assert info.feature_count == 2 and info.version == "2024-06" and len(info.sha256) == 64
    ws = open_workspace(ws_path)
    assert ws.kinds() == ["protected_area"]
    gdf = ws.read("protected_area")
    assert gdf.crs.to_epsg() == 4490
    assert gdf["name"].iloc[0] == "锡林郭勒草原自然保护区"
    meta = ws.info("protected_area")
    assert meta.source.endswith("保护区.shp")
    assert any("alias" == n["code"] for n in meta.notes)


def test_append_then_replace_keeps_history(formats_dir, tmp_path):
    ws_path = tmp_path / "ws.gpkg"
    src = formats_dir / "pa_shp.zip"
    import_layer(src, "protected_area", ws_path, version="v1")
    info = import_layer(src, "protected_area", ws_path, version="v2")[0]
    assert info.feature_count == 4 and info.mode == "append"
    info = import_layer(src, "protected_area", ws_path, version="v3", replace=True)[0]
    ws = open_workspace(ws_path)
    assert len(ws.read("protected_area")) == 2
    assert [h.version for h in ws.history("protected_area")] == ["v1", "v2", "v3"]
    assert [li.version for li in ws.layers()] == ["v3"]


def test_failed_import_leaves_previous_version(formats_dir, tmp_path, monkeypatch):
    ws_path = tmp_path / "ws.gpkg"
    import_layer(formats_dir / "pa_shp.zip", "protected_area", ws_path, version="v1")
    before = ws_path.read_bytes()
    # a schema failure stops before anything is written
    bad = tmp_path / "bad.geojson"
    gpd.GeoDataFrame({"name": ["x"], "zone": ["外围区"]}, geometry=[shapely.box(116, 44, 116.1, 44.1)], crs=4490).to_file(bad)
    with pytest.raises(SchemaError):
        import_layer(bad, "protected_area", ws_path, replace=True)
    assert ws_path.read_bytes() == before
    # a failure in the middle of writing the metadata leaves the old file too
    from ecogis.workspace import gpkg as mod

    def boom(self, db, info):
        raise RuntimeError("disk full (injected)")

    monkeypatch.setattr(mod.GeoPackageWorkspace, "_record", boom)
    with pytest.raises(RuntimeError, match="injected"):
        import_layer(formats_dir / "pa_shp.zip", "protected_area", ws_path, version="v2", replace=True)
    assert ws_path.read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if ".tmp" in p.name]


def test_open_errors(tmp_path):
    with pytest.raises(WorkspaceError, match="not found"):
        open_workspace(tmp_path / "none.gpkg")
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"not a database")
    with pytest.raises(WorkspaceError, match="not a GeoPackage"):
        open_workspace(junk)
    with pytest.raises(WorkspaceError, match="must be a GeoPackage"):
        open_workspace(tmp_path / "ws.sqlite")


def test_read_missing_kind(formats_dir, tmp_path):
    ws_path = tmp_path / "ws.gpkg"
    import_layer(formats_dir / "pa_shp.zip", "protected_area", ws_path, version="v1")
    with pytest.raises(WorkspaceError, match="no layer of kind 'redline'"):
        open_workspace(ws_path).read("redline")


def test_count_sees_rows_deleted_by_another_program_through_the_wal(tmp_path):
    """QGIS edits GeoPackages through SQLite's WAL: the file's time stamp stays, the table empties."""
    import shutil
    import sqlite3
    from pathlib import Path

    ws_path = tmp_path / "ws.gpkg"
    shutil.copy(Path(__file__).resolve().parents[1] / "layers" / "sample" / "xilinhot.gpkg", ws_path)
    other = sqlite3.connect(ws_path)
    try:
        other.execute("PRAGMA journal_mode=WAL")  # from here on the main file is not written until a checkpoint
        ws = open_workspace(ws_path)
        assert ws.count("redline") > 0
        other.execute("DELETE FROM redline")
        other.commit()  # the other program keeps the file open: the rows are gone, the change sits in the WAL
        assert ws.count("redline") == 0
    finally:
        other.close()
