"""Screening records (GeoPackage and PostGIS), the re-screen diff, safe paths and the industry picker."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from ecogis.serve.records import Record, RWLock, open_store
from ecogis.serve.runner import diff_documents
from ecogis.serve.safepath import safe_file
from ecogis.settings import settings

SAMPLE = Path(settings.sample_dir)


def _rec(i: int, user: str = "u") -> Record:
    return Record(id=f"2026-{i:04d}", user_name=user, created_at=f"2026-12-02T00:{i % 60:02d}:00+00:00",
                  input_name=f"site-{i}.txt", input_sha256="ab" * 32, ecogis_version="0.1",
                  data_versions={"redline": "v1"}, rule_versions={"national/redline_142.yaml": "1"},
                  verdict="prohibited" if i % 2 else "clear", n_sites=1, n_findings=i % 3,
                  overrides={"industry": "B0610"}, files=["findings.json"], inputs=["upload-0.txt"])


def _exercise(store) -> None:
    recs = [_rec(i, "a" if i < 5 else "b") for i in range(10)]
    threads = [threading.Thread(target=store.add, args=(r,)) for r in recs]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get("2026-0003") == recs[3]
    assert store.get("nope") is None
    assert len(store.list()) == 10
    assert {r.id for r in store.list(user="a")} == {f"2026-{i:04d}" for i in range(5)}
    assert [r.input_name for r in store.list(q="site-7")] == ["site-7.txt"]
    assert len(store.list(limit=3, offset=8)) == 2
    assert store.list(q="'; DROP TABLE ecogis_screenings; --") == []
    assert len(store.list()) == 10
    # batch jobs live in the same store
    store.add_job({"id": "j1", "user_name": "a", "created_at": "2026-12-02T00:00:00+00:00", "state": "running",
                   "stage": "queued", "pid": 1, "host": "h"})
    store.update_job("j1", stage="screening'; DROP TABLE ecogis_jobs; --")
    store.update_job("j1", state="done", stage="done", record="2026-0003", bogus="x")
    job = store.get_job("j1")
    assert (job["state"], job["stage"], job["record"], job["user_name"]) == ("done", "done", "2026-0003", "a")
    assert store.get_job("nope") is None


def test_gpkg_store_in_the_workspace_and_layers_still_read(tmp_path):
    from ecogis.workspace import open_workspace

    ws_path = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE / "xilinhot.gpkg", ws_path)
    ws = open_workspace(ws_path)
    store = open_store(ws)
    _exercise(store)
    ws2 = open_workspace(ws_path)
    assert "ecogis_screenings" not in ws2.kinds() and len(ws2.read("redline")) > 0
    assert open_store(ws2).get("2026-0009").verdict == "prohibited"  # reopened: the records persist


def test_pg_store(tmp_path, pg_schema_url):
    from ecogis.workspace import open_workspace

    _exercise(open_store(open_workspace(pg_schema_url, create=True)))


def test_rwlock_lets_readers_share_and_writers_wait():
    lock, log = RWLock(), []
    with lock.read():
        with lock.read():
            log.append("two readers")
        t = threading.Thread(target=lambda: (lock.write().__enter__(), log.append("writer")))
        t.start()
        t.join(0.2)
        assert log == ["two readers"]  # the writer waits for the reader
    t.join(2)
    assert log == ["two readers", "writer"]


def test_diff_documents():
    f = {"rule_id": "R1", "feature_id": "7", "severity": "prohibited", "overlap_ha": 2.0, "layer_kind": "redline"}
    old = {"sites": [{"site_id": "S", "verdict": "prohibited", "findings": [f]}]}
    new = {"sites": [{"site_id": "S", "verdict": "restricted",
                      "findings": [{**f, "overlap_ha": 1.0, "severity": "restricted"},
                                   {**f, "feature_id": "8", "severity": "notice"}]}]}
    d = diff_documents(old, new)
    assert d["verdicts"] == [{"site_id": "S", "old": "prohibited", "new": "restricted"}]
    assert [x["feature_id"] for x in d["added"]] == ["8"] and d["removed"] == []
    assert d["changed"][0]["old_severity"] == "prohibited" and d["changed"][0]["overlap_ha"] == 1.0
    assert diff_documents(old, old) == {**diff_documents(old, old), "verdicts": [], "added": [], "removed": [],
                                        "changed": []}


def test_safe_file(tmp_path):
    base = tmp_path / "base"
    (base / "sub").mkdir(parents=True)
    (base / "a.txt").write_text("a")
    (base / "sub" / "b.txt").write_text("b")
    (tmp_path / "secret.txt").write_text("s")
    os.symlink(tmp_path / "secret.txt", base / "link.txt")
    os.symlink(tmp_path, base / "up")
    assert safe_file(base, "a.txt") == (base / "a.txt").resolve()
    assert safe_file(base, "sub/b.txt") == (base / "sub" / "b.txt").resolve()
    for bad in ("../secret.txt", "sub/../../secret.txt", "/etc/passwd", str(tmp_path / "secret.txt"), "link.txt",
                "up/secret.txt", "..", ".", "", "sub", "a.txt\x00", "sub\\..\\..\\secret.txt", ".hidden",
                "C:/x", "%2e%2e/secret.txt"):
        assert safe_file(base, bad) is None, bad


def test_industry_search_by_code_name_and_pinyin():
    pytest.importorskip("pypinyin")
    from ecogis.serve.industries import search

    assert search("D4415")[0]["name"] == "风力发电"
    assert any(h["code"] == "D4415" for h in search("flfd"))
    assert any(h["code"].startswith("B06") for h in search("煤炭"))
    assert all(len(h["code"]) <= 3 for h in search(""))


def test_gpkg_store_group_commit_keeps_every_record(tmp_path):
    """Many threads adding at once: every record committed once, each add returning only after its commit."""
    import shutil
    import threading

    from ecogis.serve.records import GpkgStore
    from ecogis.settings import settings
    from ecogis.workspace import open_workspace

    ws_path = tmp_path / "ws.gpkg"
    shutil.copy(settings.sample_dir / "xilinhot.gpkg", ws_path)
    store = GpkgStore(open_workspace(ws_path))
    seen: list[bool] = []

    def add(i: int) -> None:
        store.add(_rec(i))
        seen.append(store.get(_rec(i).id) is not None)

    threads = [threading.Thread(target=add, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seen) == 40 and all(seen)
    assert len(store.list(limit=100)) == 40
    import pytest

    with pytest.raises(Exception):
        store.add(_rec(3))  # the same id again: refused, not lost silently
    assert len(store.list(limit=100)) == 40
