"""Site files read on a background thread while the workspace opens and the rules are chosen (issue 13).

The result, the notes and their order, and which error is raised must not depend on it.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

import ecogis
from ecogis.errors import EcogisError
from ecogis.parallel import in_background
from ecogis.settings import settings

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"


def test_in_background_gives_the_value_or_raises_the_error_and_runs_in_place_on_one_thread(monkeypatch):
    names = []
    job = in_background(lambda: names.append(threading.current_thread().name) or 42)
    assert job.result() == 42 and names == ["background"]
    with pytest.raises(ZeroDivisionError):
        in_background(lambda: 1 / 0).result()
    monkeypatch.setattr(settings, "threads", 1)
    assert in_background(lambda: threading.current_thread().name).result() == threading.current_thread().name


def _doc(threads: int, monkeypatch):
    monkeypatch.setattr(settings, "threads", threads)
    res = ecogis.screen(SAMPLE / "sites" / "xilinhot.geojson", SAMPLE / "xilinhot.gpkg", progress=False)
    doc = res.to_document()
    doc["meta"] = {k: v for k, v in doc["meta"].items() if k != "generated_at"}
    return doc, [(n.code, n.message) for n in res.notes]


def test_the_same_result_and_notes_in_the_same_order_with_one_thread_or_two(monkeypatch):
    assert _doc(2, monkeypatch) == _doc(1, monkeypatch)


def test_a_bad_site_file_is_the_error_raised_even_when_the_workspace_is_bad_too(tmp_path):
    bad_sites = tmp_path / "sites.geojson"
    bad_sites.write_text('{"type": "FeatureCollection", "features": [', encoding="utf-8")
    with pytest.raises(EcogisError) as both:
        ecogis.screen(bad_sites, tmp_path / "missing.gpkg", progress=False)
    with pytest.raises(EcogisError) as sites_only:
        ecogis.screen(bad_sites, SAMPLE / "xilinhot.gpkg", progress=False)
    assert str(both.value) == str(sites_only.value) and "sites.geojson" in str(both.value)
    with pytest.raises(EcogisError, match="missing.gpkg"):
        ecogis.screen(SAMPLE / "sites" / "xilinhot.geojson", tmp_path / "missing.gpkg", progress=False)
