"""The server's fast path: layers in memory (same results, imports seen at once), lazy downloads, kept batch jobs,
the access-list table on the record page."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

import ecogis
from ecogis.settings import settings
from ecogis.workspace import open_workspace
from ecogis.workspace.cache import LayerCache

SAMPLE = Path(settings.sample_dir)
REPO = Path(__file__).resolve().parents[1]
PW = "correct-horse-1"


def _doc(result) -> str:
    d = result.to_document()
    d["meta"].pop("generated_at", None)
    return json.dumps(d, sort_keys=True, default=str, ensure_ascii=False)


@pytest.mark.parametrize("city", ["xilinhot", "manzhouli"])
def test_cached_view_gives_the_same_result(city):
    base = open_workspace(SAMPLE / f"{city}.gpkg")
    cache = LayerCache(base)
    for site in sorted((SAMPLE / "sites" / city).glob("*.txt")):
        for ov in (None, {"industry": "B0610", "nature": "新建"}):
            a = ecogis.screen(site, base, overrides=ov, progress=False)
            b = ecogis.screen(site, cache.view(), overrides=ov, progress=False)
            assert _doc(a) == _doc(b), (site.name, ov)


def test_cached_view_with_access_lists_gives_the_same_result(tmp_path):
    from ecogis.accesslist.samples import with_sample_lists

    ws = with_sample_lists("genhe", SAMPLE, tmp_path)
    base = open_workspace(ws)
    cache = LayerCache(base)
    ov = {"industry": "C2521", "nature": "新建"}
    for site in sorted((SAMPLE / "sites" / "genhe").glob("*.txt")):
        a = ecogis.screen(site, base, overrides=ov, progress=False)
        b = ecogis.screen(site, cache.view(), overrides=ov, progress=False)
        assert _doc(a) == _doc(b), site.name
    assert a.to_document().get("accesslist"), "the sample lists should apply to a genhe site"


def test_bbox_reads_are_gdal_reads():
    """Every bounding-box read from memory returns GDAL's rows (same features, columns and dtypes)."""
    base = open_workspace(SAMPLE / "manzhouli.gpkg")
    view = LayerCache(base).view()
    rng = np.random.default_rng(7)
    for kind in view.kinds():
        full = base.read(kind)
        x0, y0, x1, y1 = shapely.total_bounds(full.geometry.values)
        for _ in range(6):
            xs = np.sort(rng.uniform(x0 - 0.05, x1 + 0.05, 2))
            ys = np.sort(rng.uniform(y0 - 0.05, y1 + 0.05, 2))
            bbox = (xs[0], ys[0], xs[1], ys[1])
            want = base.read(kind, bbox=bbox).sort_values("fid").reset_index(drop=True)
            got = view.read(kind, bbox=bbox)
            assert list(got["fid"]) == sorted(got["fid"])
            assert list(got.columns) == list(want.columns) and list(got.dtypes) == list(want.dtypes)
            assert list(got["fid"]) == list(want["fid"]), (kind, bbox)
        assert view.count(kind) == base.count(kind)
    # a frame handed out may be changed by the caller without touching the cache
    a = view.read("redline")
    a["geometry"] = None
    assert view.read("redline").geometry.notna().all()


def _moved_redline(ws_path: Path, tmp_path: Path) -> Path:
    red = open_workspace(ws_path).read("redline").drop(columns=["fid"])
    red["geometry"] = [shapely.box(80.0 + i * 0.02, 30.0, 80.01 + i * 0.02, 30.01) for i in range(len(red))]
    p = tmp_path / "moved_redline.geojson"
    red.to_file(p, driver="GeoJSON")
    return p


def test_import_by_the_cli_is_seen_by_the_next_screening(tmp_path):
    ws_path = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE / "xilinhot.gpkg", ws_path)
    cache = LayerCache(open_workspace(ws_path))
    site = SAMPLE / "sites" / "xilinhot" / "XLH-01.txt"
    before = ecogis.screen(site, cache.view(), progress=False)
    assert (before.findings["layer_kind"] == "redline").any()
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    r = subprocess.run([sys.executable, "-m", "ecogis.cli", "layers", "import", str(_moved_redline(ws_path, tmp_path)),
                        "--kind", "redline", "--workspace", str(ws_path), "--version", "moved-cli", "--replace"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    after = ecogis.screen(site, cache.view(), progress=False)
    assert not (after.findings["layer_kind"] == "redline").any()
    assert after.meta["layers"]["redline"]["version"] == "moved-cli"


# ---------------------------------------------------------------- through the app
fastapi = pytest.importorskip("fastapi")
pytest.importorskip("argon2")
from fastapi.testclient import TestClient  # noqa: E402


def _app(ws: Path, data: Path, *, lazy_idle: float | None = 3600):
    from ecogis.serve import ServeConfig, create_app
    from ecogis.serve.accounts import Accounts

    cfg = ServeConfig(ws, data_dir=data)
    acc = Accounts(cfg.db_path)
    if not acc.users():
        acc.add_user("ed", "editor", PW)
    app = create_app(cfg)
    if lazy_idle is not None:
        app.state.files.idle_s = lazy_idle  # no background writing: the download path is what is tested
    return app, cfg


def _login(app) -> tuple[TestClient, dict]:
    c = TestClient(app, base_url="https://testserver", follow_redirects=False)
    r = c.post("/api/session", json={"username": "ed", "password": PW})
    assert r.status_code == 200, r.text
    return c, {"X-CSRF-Token": r.json()["csrf"]}


def test_app_sees_a_cli_import_and_writes_downloads_on_demand_even_after_a_restart(tmp_path):
    ws = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE / "xilinhot.gpkg", ws)
    app, cfg = _app(ws, tmp_path / "data")
    c, h = _login(app)
    txt = SAMPLE / "sites" / "xilinhot" / "XLH-01.txt"
    r = c.post("/api/screen", headers=h, files={"file": (txt.name, txt.read_bytes())})
    assert r.status_code == 200, r.text
    first = r.json()
    assert first["verdict"] == "prohibited" and first["data_versions"]["redline"] != "moved-cli"
    folder = cfg.files_dir / first["id"]
    # recorded and shown before any download file exists
    assert (folder / "result.json").is_file() and not (folder / "report.html").exists()
    assert c.get(f"/screenings/{first['id']}").status_code == 200
    # the redline is replaced by the CLI (another process) while the server runs
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-m", "ecogis.cli", "layers", "import", str(_moved_redline(ws, tmp_path)),
                        "--kind", "redline", "--workspace", str(ws), "--version", "moved-cli", "--replace"],
                       env=env, capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    second = c.post("/api/screen", headers=h, files={"file": (txt.name, txt.read_bytes())}).json()
    assert second["data_versions"]["redline"] == "moved-cli"
    got = c.get(f"/api/screenings/{second['id']}").json()["result"]
    assert not any(f["layer_kind"] == "redline" for s in got["sites"] for f in s["findings"])
    # a restarted server (a new app on the same folders) writes the first screening's files from its stored result
    app2, _ = _app(ws, tmp_path / "data")
    c2, _ = _login(app2)
    x = c2.get(f"/api/screenings/{first['id']}/files/findings.xlsx")
    assert x.status_code == 200 and x.content[:2] == b"PK"
    fj = c2.get(f"/api/screenings/{first['id']}/files/findings.json")
    doc = json.loads(fj.content)
    # the file is the first screening's (the red line as it was then), not today's data
    assert any(f["layer_kind"] == "redline" for s in doc["sites"] for f in s["findings"])
    rep = c2.get(f"/screenings/{first['id']}/files/report.html")
    assert rep.status_code == 200 and "XLH-01" in rep.text
    gp = c2.get(f"/screenings/{first['id']}/files/conflicts.gpkg")
    assert gp.status_code == 200 and gp.content[:16] == b"SQLite format 3\x00"
    assert c2.get(f"/api/screenings/{first['id']}/files/result.pkl").status_code == 404
    # once idle, the background writer writes the rest and drops the stored result
    app2.state.files.idle_s = 0.0
    folder = cfg.files_dir / second["id"]
    app2.state.files.stash(folder, (folder / "result.pkl").read_bytes(), "zh")
    deadline = time.time() + 60
    while (cfg.files_dir / second["id"] / "result.pkl").exists() and time.time() < deadline:
        time.sleep(0.2)
    assert {"report.html", "findings.json", "findings.xlsx", "conflicts.gpkg"} <= {
        p.name for p in (cfg.files_dir / second["id"]).iterdir()}
    assert not (cfg.files_dir / second["id"] / "result.pkl").exists()


def test_batch_jobs_survive_a_restart(tmp_path):
    ws = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE / "xilinhot.gpkg", ws)
    app, cfg = _app(ws, tmp_path / "data", lazy_idle=None)
    c, h = _login(app)
    files = [("file", (p.name, p.read_bytes())) for p in sorted((SAMPLE / "sites" / "xilinhot").glob("*.txt"))[:2]]
    jid = c.post("/api/batch", headers=h, files=files).json()["job"]
    deadline = time.time() + 120
    while (st := c.get(f"/api/jobs/{jid}").json())["state"] == "running" and time.time() < deadline:
        time.sleep(0.3)
    assert st["state"] == "done", st
    app2, _ = _app(ws, tmp_path / "data", lazy_idle=None)
    c2, _ = _login(app2)
    again = c2.get(f"/api/jobs/{jid}").json()
    assert again["state"] == "done" and again["record"] == st["record"]
    page = c2.get(f"/jobs/{jid}")
    assert page.status_code == 200 and st["record"] in page.text
    rec = c2.get(f"/api/screenings/{st['record']}").json()
    assert rec["n_sites"] == 2 and (cfg.files_dir / rec["id"] / "report.html").is_file()  # a batch writes its files
    # a job left running by a process that is gone reads as interrupted
    store = app2.state.store
    store.add_job({"id": "ab" * 16, "user_name": "ed", "created_at": "2026-01-01T00:00:00+00:00", "state": "running",
                   "stage": "screening", "pid": 2**22 + 12345, "host": __import__("socket").gethostname()[:200]})
    lost = c2.get("/api/jobs/" + "ab" * 16).json()
    assert lost["state"] == "failed" and "restart" in lost["error"]
    assert c2.get("/api/jobs/..%2F..%2Fserve.sqlite").status_code == 404


def test_record_page_shows_the_access_list_table_escaped(tmp_path):
    from ecogis.accesslist.samples import with_sample_lists

    ws = with_sample_lists("genhe", SAMPLE, tmp_path)
    app, cfg = _app(ws, tmp_path / "data")
    c, h = _login(app)
    txt = sorted((SAMPLE / "sites" / "genhe").glob("*.txt"))[0]
    r = c.post("/api/screen", headers=h, files={"file": (txt.name, txt.read_bytes())},
               data={"industry": "C2521", "nature": "新建", "name": "焦化<script>alert(1)</script>"})
    assert r.status_code == 200, r.text
    rid = r.json()["id"]
    doc = c.get(f"/api/screenings/{rid}").json()["result"]
    items = doc["accesslist"]["items"]
    assert items and any(i["result"] == "不符合" for i in items)
    zh = c.get(f"/screenings/{rid}").text
    assert 'id="accesslist"' in zh and "生态环境准入清单逐项对照" in zh and "不符合" in zh
    assert items[0]["unit_code"] in zh and "<script>alert(1)" not in zh and "&lt;script&gt;" in zh
    en = c.get(f"/screenings/{rid}", params={"lang": "en"}).text
    assert "Environmental access lists, item by item" in en and "Non-compliant" in en
    # without lists the page says so
    ws2 = tmp_path / "plain.gpkg"
    shutil.copy(SAMPLE / "genhe.gpkg", ws2)
    app2, _ = _app(ws2, tmp_path / "data2")
    c2, h2 = _login(app2)
    rid2 = c2.post("/api/screen", headers=h2, files={"file": (txt.name, txt.read_bytes())}).json()["id"]
    assert 'id="accesslist-none"' in c2.get(f"/screenings/{rid2}").text


def test_result_memo_reuses_only_an_identical_screening(tmp_path):
    ws = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE / "xilinhot.gpkg", ws)
    app, cfg = _app(ws, tmp_path / "data")
    memo = app.state.memo
    c, h = _login(app)
    txt = SAMPLE / "sites" / "xilinhot" / "XLH-04.txt"

    def screen(**data):
        r = c.post("/api/screen", headers=h, files={"file": (txt.name, txt.read_bytes())}, data=data)
        assert r.status_code == 200, r.text
        return r.json()["id"], c.get(f"/api/screenings/{r.json()['id']}").json()

    def same(a, b):
        a, b = json.loads(json.dumps(a["result"])), json.loads(json.dumps(b["result"]))
        a["meta"].pop("generated_at"), b["meta"].pop("generated_at")
        return a == b

    id1, one = screen()
    id2, two = screen()
    assert memo.hits == 1 and id1 != id2 and same(one, two)
    assert two["input_sha256"] == one["input_sha256"] and two["data_versions"] == one["data_versions"]
    _, three = screen(industry="B0610")  # other overrides: screened anew
    assert memo.hits == 1 and three["result"]["sites"][0]["industry"] == "B0610"
    # an import (here through the workspace, as the CLI does) changes the key: screened anew on the new data
    from ecogis.layers import import_layer

    import_layer(_moved_redline(ws, tmp_path), "redline", open_workspace(ws), version="moved-memo", replace=True)
    _, four = screen()
    assert memo.hits == 1 and four["data_versions"]["redline"] == "moved-memo"
    # the remembered result's own files are still its own
    x = c.get(f"/api/screenings/{id2}/files/findings.json")
    assert x.status_code == 200 and json.loads(x.content)["meta"]["layers"]["redline"]["version"] != "moved-memo"


def test_two_worker_processes_share_sessions_and_records_and_die_with_the_server(tmp_path):
    """``ecogis serve --workers 2``: any worker answers for a session and a record; none outlives a SIGKILLed server."""
    import signal
    import socket

    httpx = pytest.importorskip("httpx")
    ws = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE / "xilinhot.gpkg", ws)
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    cli = [sys.executable, "-m", "ecogis.cli", "serve"]
    subprocess.run([*cli, "users", "add", "rev", "--role", "reviewer", "--password-stdin", "--workspace", str(ws)],
                   input=PW + "\n", text=True, env=env, check=True, capture_output=True, timeout=120)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([*cli, "--workspace", str(ws), "--port", str(port), "--workers", "2"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if httpx.get(base + "/login", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.3)
        with httpx.Client(base_url=base, timeout=120) as c:
            r = c.post("/api/session", json={"username": "rev", "password": PW})
            assert r.status_code == 200
            h = {"X-CSRF-Token": r.json()["csrf"]}
            c.cookies.set("ecogis_session", r.cookies.get("ecogis_session"))
            txt = SAMPLE / "sites" / "xilinhot" / "XLH-01.txt"
            ids = []
            for _ in range(4):  # new connections: the kernel spreads them over both workers
                with httpx.Client(base_url=base, timeout=120, cookies=c.cookies) as one:
                    got = one.post("/api/screen", headers=h, files={"file": (txt.name, txt.read_bytes())})
                    assert got.status_code == 200, got.text
                    assert got.json()["verdict"] == "prohibited"
                    ids.append(got.json()["id"])
            for rid in ids:
                with httpx.Client(base_url=base, timeout=120, cookies=c.cookies) as one:
                    assert one.get(f"/api/screenings/{rid}").status_code == 200
                    f = one.get(f"/api/screenings/{rid}/files/findings.xlsx")
                    assert f.status_code == 200 and f.content[:2] == b"PK"
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    deadline = time.time() + 15
    alive = True
    while time.time() < deadline and alive:
        try:
            httpx.get(base + "/login", timeout=1)
            time.sleep(0.5)
        except httpx.HTTPError:
            alive = False
    assert not alive, "a worker process outlived the killed server"


def test_cached_view_on_postgis_gives_the_same_result_and_sees_imports(tmp_path, pg_schema_url):
    pg = open_workspace(pg_schema_url, create=True)
    src = open_workspace(SAMPLE / "xilinhot.gpkg")
    for li in src.layers():
        pg.write(li.kind, src.read(li.kind).drop(columns=["fid"]), source=li.source, version=li.version,
                 replace=True, coverage=shapely.from_wkb(bytes.fromhex(li.coverage)) if li.coverage else None,
                 coverage_basis=li.coverage_basis)
    cache = LayerCache(pg)
    site = SAMPLE / "sites" / "xilinhot" / "XLH-01.txt"
    a = ecogis.screen(site, pg, progress=False)
    b = ecogis.screen(site, cache.view(), progress=False)
    da, db = json.loads(_doc(a)), json.loads(_doc(b))
    assert da["sites"] == db["sites"]
    assert (b.findings["layer_kind"] == "redline").any()
    # another connection (another process) replaces the red line
    other = open_workspace(pg_schema_url)
    red = other.read("redline").drop(columns=["fid"])
    red["geometry"] = [shapely.box(80.0 + i * 0.02, 30.0, 80.01 + i * 0.02, 30.01) for i in range(len(red))]
    other.write("redline", red, source="moved", version="moved-pg", replace=True)
    other.close()
    c2 = ecogis.screen(site, cache.view(), progress=False)
    assert not (c2.findings["layer_kind"] == "redline").any()
    assert c2.meta["layers"]["redline"]["version"] == "moved-pg"
    pg.close()
