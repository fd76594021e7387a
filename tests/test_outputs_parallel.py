"""Large results are written by two processes (ecogis.render.outputs): same files, errors not lost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyogrio
import pytest

import ecogis
from ecogis.errors import InputError
from ecogis.render import outputs

REPO = Path(__file__).resolve().parents[1]
SITE_TXT = REPO / "tests" / "data" / "guotu" / "sample_zone39.txt"


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    ws = tmp_path_factory.mktemp("par_ws") / "ws.gpkg"
    shutil.copy(REPO / "layers" / "sample" / "xilinhot.gpkg", ws)
    res = ecogis.screen(str(SITE_TXT), str(ws), progress=False)
    assert len(res.findings) > 0
    return res


def _json(path: Path) -> dict:
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc.get("meta", {}).pop("written_at", None)
    return doc


def test_parallel_outputs_equal_sequential(result, tmp_path, monkeypatch):
    seq = outputs.write_outputs(result, tmp_path / "seq")
    monkeypatch.setattr(outputs, "PARALLEL_FINDINGS", 0)
    assert outputs._parallel(result)
    par = outputs.write_outputs(result, tmp_path / "par")
    assert [p.name for p in seq] == [p.name for p in par]  # same files, listed in the same order
    assert _json(tmp_path / "seq" / "findings.json") == _json(tmp_path / "par" / "findings.json")
    for layer in ("sites", "conflicts"):
        a = pyogrio.read_dataframe(tmp_path / "seq" / "conflicts.gpkg", layer=layer)
        b = pyogrio.read_dataframe(tmp_path / "par" / "conflicts.gpkg", layer=layer)
        assert a.drop(columns="geometry").equals(b.drop(columns="geometry"))
        assert a.geometry.geom_equals_exact(b.geometry, 0).all()
    from openpyxl import load_workbook

    wa = load_workbook(tmp_path / "seq" / "findings.xlsx", read_only=True)
    wb = load_workbook(tmp_path / "par" / "findings.xlsx", read_only=True)
    assert wa.sheetnames == wb.sheetnames
    for name in wa.sheetnames:
        assert list(wa[name].values) == list(wb[name].values)


def test_an_error_in_the_writer_process_reaches_the_caller(result, tmp_path, monkeypatch):
    from ecogis.render import report

    def broken(*a, **k):
        raise InputError("injected: cannot write findings.json", hint="a test")

    monkeypatch.setattr(outputs, "PARALLEL_FINDINGS", 0)
    monkeypatch.setattr(report, "write_json", broken)
    with pytest.raises(InputError, match="injected: cannot write findings.json"):
        outputs.write_outputs(result, tmp_path / "out")
    assert not (tmp_path / "out" / "findings.json").exists()


def test_a_writer_process_that_dies_is_an_error(result, tmp_path, monkeypatch):
    import os

    from ecogis.render import report

    monkeypatch.setattr(outputs, "PARALLEL_FINDINGS", 0)
    assert "json" in outputs.BACKGROUND_FORMATS  # findings.json is written by the forked process
    monkeypatch.setattr(report, "write_json", lambda *a, **k: os._exit(9))
    with pytest.raises(RuntimeError, match="exit code 9"):
        outputs.write_outputs(result, tmp_path / "out", formats=["json", "gpkg"])


def test_outside_the_main_thread_nothing_is_forked(result, tmp_path, monkeypatch):
    import os
    import threading

    pids = []
    monkeypatch.setattr(outputs, "PARALLEL_FINDINGS", 0)
    from ecogis.render import report

    real = report.write_json

    def spy(*a, **k):
        pids.append(os.getpid())
        return real(*a, **k)

    monkeypatch.setattr(report, "write_json", spy)
    t = threading.Thread(target=lambda: outputs.write_outputs(result, tmp_path / "thread", formats=["json"]))
    t.start()
    t.join()
    assert pids == [os.getpid()]  # written in this process
    assert (tmp_path / "thread" / "findings.json").exists()


def test_from_the_main_thread_the_tables_are_written_by_another_process(result, tmp_path, monkeypatch):
    import os

    from ecogis.render import report

    real = report.write_json
    mark = tmp_path / "pid.txt"

    def spy(*a, **k):
        mark.write_text(str(os.getpid()))
        return real(*a, **k)

    monkeypatch.setattr(outputs, "PARALLEL_FINDINGS", 0)
    monkeypatch.setattr(report, "write_json", spy)
    outputs.write_outputs(result, tmp_path / "main", formats=["json", "gpkg"])
    assert int(mark.read_text()) != os.getpid()
    assert (tmp_path / "main" / "findings.json").exists() and (tmp_path / "main" / "conflicts.gpkg").exists()
