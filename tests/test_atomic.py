"""Atomic writes: a failure injected in the middle of each writer leaves no half-written file (issue 8).

Each writer is run twice: once to make a previous version of its output, and
once with the underlying write call patched to write half of its bytes and
then fail.  Afterwards the previous version must be there byte for byte, and
the folder must hold nothing else (no temporary file left behind).
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
import pyogrio
import pytest
import shapely

import ecogis
from ecogis.export.writers import write_file
from ecogis.errors import WorkspaceError
from ecogis.layers import import_layer
from ecogis.workspace import open_workspace

REPO = Path(__file__).resolve().parent.parent
SITE_TXT = REPO / "tests" / "data" / "guotu" / "sample_zone39.txt"


class Injected(OSError):
    """The failure injected in the middle of a write."""


def _half(path) -> None:
    if hasattr(path, "truncate"):  # an open file
        path.flush()
        path.truncate(path.tell() // 2)
        return
    p = Path(path)
    if p.is_file():
        data = p.read_bytes()
        p.write_bytes(data[: len(data) // 2])


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*")) if p.is_file()
    }


@pytest.fixture
def inject(monkeypatch):
    """``inject(kind)`` makes that kind of write write half its bytes, then fail."""

    def apply(kind: str) -> None:
        if kind == "pyogrio":
            real = pyogrio.write_dataframe

            def broken(df, path, *a, **k):
                real(df, path, *a, **k)
                _half(path)
                raise Injected("injected: disk full in pyogrio.write_dataframe")

            monkeypatch.setattr(pyogrio, "write_dataframe", broken)
        elif kind == "text":
            real_text, real_bytes = Path.write_text, Path.write_bytes

            def text(self, data, *a, **k):
                real_text(self, data[: len(data) // 2], *a, **k)
                raise Injected("injected: disk full in write_text")

            def raw(self, data):
                real_bytes(self, data[: len(data) // 2])
                raise Injected("injected: disk full in write_bytes")

            monkeypatch.setattr(Path, "write_text", text)
            monkeypatch.setattr(Path, "write_bytes", raw)
            from ecogis.render import findings_json  # findings.json(l) streamed from Arrow buffers

            def chunks(path, parts):
                parts = list(parts)
                with open(path, "wb") as fh:
                    for p in parts[: len(parts) // 2]:
                        fh.write(p)
                raise Injected("injected: disk full writing findings.json")

            monkeypatch.setattr(findings_json, "_write_all", chunks)
        elif kind == "csv":
            real_csv = pd.DataFrame.to_csv

            def csv(self, path, *a, **k):
                real_csv(self, path, *a, **k)
                _half(path)
                raise Injected("injected: disk full in to_csv")

            monkeypatch.setattr(pd.DataFrame, "to_csv", csv)
        elif kind == "xlsx":
            real_save = openpyxl.Workbook.save

            def save(self, filename):
                real_save(self, filename)
                _half(filename)
                raise Injected("injected: disk full in Workbook.save")

            monkeypatch.setattr(openpyxl.Workbook, "save", save)
            import zipfile  # findings.xlsx is zipped by ecogis.render.xlsx itself

            real_zclose = zipfile.ZipFile.close

            def zclose(self):
                real_zclose(self)
                if (self.filename and str(self.filename).endswith(".xlsx") and self.mode == "w"
                        and not getattr(self, "_injected", False)):
                    self._injected = True
                    _half(self.filename)
                    raise Injected("injected: disk full in ZipFile.close of a workbook")

            monkeypatch.setattr(zipfile.ZipFile, "close", zclose)
        elif kind == "zip":
            import zipfile

            real_close = zipfile.ZipFile.close

            def close(self):
                real_close(self)
                if self.filename and self.mode == "w" and not getattr(self, "_injected", False):
                    self._injected = True
                    _half(self.filename)
                    raise Injected("injected: disk full in ZipFile.close")

            monkeypatch.setattr(zipfile.ZipFile, "close", close)
        elif kind == "rename":
            real_replace = os.replace
            calls = {"n": 0}

            def replace(src, dst):
                calls["n"] += 1
                if calls["n"] == 3:  # fail part-way through a multi-file move
                    raise Injected("injected: failure during rename")
                return real_replace(src, dst)

            monkeypatch.setattr(os, "replace", replace)
        else:  # pragma: no cover
            raise ValueError(kind)

    return apply


@pytest.fixture(scope="module")
def layer() -> gpd.GeoDataFrame:
    gdf = ecogis.read_file(SITE_TXT) if hasattr(ecogis, "read_file") else None
    if gdf is None:
        from ecogis.read import read_file

        gdf = read_file(SITE_TXT)
    return gdf.to_crs(4490)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    ws = tmp_path_factory.mktemp("atomic_ws") / "ws.gpkg"
    shutil.copy(REPO / "layers" / "sample" / "xilinhot.gpkg", ws)
    res = ecogis.screen(str(SITE_TXT), str(ws), progress=False)
    assert len(res.findings) > 0
    return res


EXPORTS = [
    ("parcels.geojson", "pyogrio"),
    ("parcels.gpkg", "pyogrio"),
    ("parcels.shp", "pyogrio"),
    ("parcels.shp", "rename"),
    ("parcels.zip", "zip"),
    ("parcels.kml", "text"),
    ("parcels.kmz", "zip"),
    ("parcels.csv", "csv"),
    ("parcels.txt", "text"),
]


@pytest.mark.parametrize("name, kind", EXPORTS, ids=[f"{n}-{k}" for n, k in EXPORTS])
def test_export_failure_keeps_previous_file(tmp_path, layer, inject, name, kind):
    out = tmp_path / "out"
    target = out / name
    write_file(layer, target)
    before = _snapshot(out)
    assert target.name in before
    changed = layer.copy()
    changed["name"] = "第二版"
    inject(kind)
    with pytest.raises(Injected):
        write_file(changed, target)
    assert _snapshot(out) == before, "a failed write changed or left files"


@pytest.mark.parametrize("name, kind", [("parcels.geojson", "pyogrio"), ("parcels.txt", "text"),
                                        ("parcels.shp", "pyogrio")])
def test_export_failure_without_previous_file_leaves_nothing(tmp_path, layer, inject, name, kind):
    out = tmp_path / "out"
    out.mkdir()
    inject(kind)
    with pytest.raises(Injected):
        write_file(layer, out / name)
    assert _snapshot(out) == {}


REPORTS = [
    ("findings.json", "json", "text"),
    ("findings.jsonl", "jsonl", "text"),
    ("report.html", "html", "text"),
    ("findings.xlsx", "xlsx", "xlsx"),
    ("conflicts.gpkg", "gpkg", "pyogrio"),
]


@pytest.mark.parametrize("name, fmt, kind", REPORTS, ids=[r[0] for r in REPORTS])
def test_report_failure_keeps_previous_file(tmp_path, result, inject, name, fmt, kind):
    from ecogis.render.outputs import write_outputs

    out = tmp_path / "report"
    write_outputs(result, out, formats=[fmt])
    before = _snapshot(out)
    assert name in before
    inject(kind)
    with pytest.raises(Injected):
        write_outputs(result, out, formats=[fmt])
    assert _snapshot(out) == before


@pytest.mark.parametrize("where", ["layer", "metadata"])
def test_failed_import_keeps_previous_layer_and_metadata(tmp_path, inject, monkeypatch, where):
    ws_path = tmp_path / "ws.gpkg"
    first, _ = import_layer(SITE_TXT, "project", ws_path, version="v1")
    ws = open_workspace(ws_path)
    info_before = ws.info("project").as_dict()
    history_before = [h.as_dict() for h in ws.history("project")]
    rows_before = ws.read("project")
    files_before = sorted(p.name for p in tmp_path.iterdir())
    digest = hashlib.sha256(ws_path.read_bytes()).hexdigest()

    if where == "layer":
        inject("pyogrio")
    else:
        from ecogis.workspace.gpkg import GeoPackageWorkspace

        real_record = GeoPackageWorkspace._record

        def record(self, db, info):
            real_record(self, db, info)
            raise Injected("injected: failure after the metadata row was written")

        monkeypatch.setattr(GeoPackageWorkspace, "_record", record)
    with pytest.raises((Injected, WorkspaceError)):
        import_layer(SITE_TXT, "project", ws_path, version="v2", replace=True)
    monkeypatch.undo()

    assert hashlib.sha256(ws_path.read_bytes()).hexdigest() == digest
    assert sorted(p.name for p in tmp_path.iterdir()) == files_before, "temporary files left beside the workspace"
    ws = open_workspace(ws_path)
    assert ws.info("project").as_dict() == info_before
    assert [h.as_dict() for h in ws.history("project")] == history_before
    after = ws.read("project")
    assert len(after) == len(rows_before) == first.feature_count
    assert shapely.equals(after.geometry.values, rows_before.geometry.values).all()


def test_failed_screen_through_the_cli_leaves_no_output(tmp_path, inject):
    """A run that fails half-way (here in the workbook) leaves no half-written file in the output folder."""
    from ecogis.cli import main

    ws = tmp_path / "ws.gpkg"
    shutil.copy(REPO / "layers" / "sample" / "xilinhot.gpkg", ws)
    out = tmp_path / "out"
    inject("xlsx")
    rc = main(["screen", str(SITE_TXT), "--workspace", str(ws), "--out", str(out), "--quiet", "--format", "xlsx"])
    assert rc != 0
    assert not any(out.rglob("*.xlsx")) and not any(out.rglob(".*"))
