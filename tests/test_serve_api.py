"""The web app's JSON API and pages: accounts, CSRF, rights, uploads, screening, history, re-screening."""

from __future__ import annotations

import io
import json
import os
import shutil
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("argon2")
from fastapi.testclient import TestClient  # noqa: E402

from ecogis.serve import ServeConfig, create_app  # noqa: E402
from ecogis.serve.accounts import Accounts  # noqa: E402
from ecogis.settings import settings  # noqa: E402

SAMPLE = Path(settings.sample_dir)
TXT = SAMPLE / "sites" / "xilinhot" / "XLH-01.txt"
PW = "correct-horse-1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    d = tmp_path_factory.mktemp("serve")
    ws = d / "ws.gpkg"
    shutil.copy(SAMPLE / "xilinhot.gpkg", ws)
    cfg = ServeConfig(ws, data_dir=d / "data", max_upload_mb=2, max_members=5, max_vertices=5000)
    acc = Accounts(cfg.db_path)
    acc.add_user("rev", "reviewer", PW)
    acc.add_user("ed", "editor", PW)
    acc.add_user("adm", "admin", PW)
    app = create_app(cfg)
    (d / "outside.txt").write_text("SECRET-OUTSIDE")
    return {"app": app, "cfg": cfg, "dir": d, "acc": acc}


def client(server) -> TestClient:
    return TestClient(server["app"], base_url="https://testserver", follow_redirects=False)


def login(server, name="rev") -> tuple[TestClient, str]:
    c = client(server)
    r = c.post("/api/session", json={"username": name, "password": PW})
    assert r.status_code == 200, r.text
    return c, r.json()["csrf"]


def test_login_page_and_form_login(server):
    c = client(server)
    r = c.get("/login")
    assert r.status_code == 200 and "登录" in r.text
    pre = c.cookies.get("ecogis_pre")
    assert pre and 'name="csrf"' in r.text
    bad = c.post("/login", data={"username": "rev", "password": "wrong", "csrf": pre})
    assert bad.status_code == 303 and "failed=1" in bad.headers["location"]
    assert c.cookies.get("ecogis_session") is None
    no_csrf = c.post("/login", data={"username": "rev", "password": PW})
    assert no_csrf.status_code == 403
    ok = c.post("/login", data={"username": "rev", "password": PW, "csrf": pre})
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"].lower()
    assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie
    page = c.get("/screen")
    assert page.status_code == 200 and "选址审查" in page.text and "industry-search" in page.text
    en = c.get("/screen", params={"lang": "en"})
    assert "Screen a site" in en.text


def test_api_login_failure_and_refusals(server):
    c = client(server)
    assert c.post("/api/session", json={"username": "rev", "password": "nope"}).status_code == 401
    assert c.post("/api/session", json={"username": "ghost", "password": PW}).status_code == 401
    assert c.get("/api/screenings").status_code == 401
    r = c.post("/api/screen", files={"file": (TXT.name, TXT.read_bytes())})
    assert r.status_code == 401
    assert c.get("/history").status_code == 303  # a page sends the browser to the login


def test_refused_without_csrf_token(server):
    c, csrf = login(server)
    r = c.post("/api/screen", files={"file": (TXT.name, TXT.read_bytes())})
    assert r.status_code == 403 and "CSRF" in r.text
    r = c.post("/api/screen", files={"file": (TXT.name, TXT.read_bytes())}, headers={"X-CSRF-Token": "x" * 43})
    assert r.status_code == 403
    r = c.post("/screen", files={"file": (TXT.name, TXT.read_bytes())}, data={"csrf": "wrong"})
    assert r.status_code == 403
    # another session's token does not fit this one
    _, other = login(server)
    r = c.post("/api/tokens", headers={"X-CSRF-Token": other})
    assert r.status_code == 403


def test_reviewer_is_forbidden_to_import_and_manage(server):
    c, csrf = login(server, "rev")
    h = {"X-CSRF-Token": csrf}
    gj = json.dumps({"type": "FeatureCollection", "features": []}).encode()
    assert c.post("/api/layers", headers=h, files={"file": ("x.geojson", gj)}, data={"kind": "redline"}).status_code == 403
    assert c.get("/layers").status_code == 403
    assert c.get("/users").status_code == 403
    assert c.post("/users", data={"csrf": csrf, "username": "x", "password": "12345678",
                                  "role": "admin"}).status_code == 403
    assert [n for n, _ in server["acc"].users()] == ["adm", "ed", "rev"]
    e, _ = login(server, "ed")
    assert e.get("/layers").status_code == 200
    assert e.get("/users").status_code == 403


def test_screen_guotu_txt_records_and_downloads(server):
    c, csrf = login(server)
    r = c.post("/api/screen", headers={"X-CSRF-Token": csrf},
               files={"file": (TXT.name, TXT.read_bytes(), "text/plain")},
               data={"industry": "B0610", "nature": "新建"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["verdict"] == "prohibited"
    assert body["sites"][0]["site_id"] == "XLH-01"
    assert body["input_name"] == "XLH-01.txt"
    import hashlib

    assert body["input_sha256"] == hashlib.sha256(TXT.read_bytes()).hexdigest()
    assert body["user_name"] == "rev" and body["data_versions"] and body["rule_versions"]
    assert {"report.html", "findings.json", "findings.xlsx", "conflicts.gpkg"} <= set(body["files"])
    rid = body["id"]
    got = c.get(f"/api/screenings/{rid}").json()
    assert got["result"]["sites"][0]["verdict"] == "prohibited" and got["overrides"]["industry"] == "B0610"
    fj = c.get(f"/api/screenings/{rid}/files/findings.json")
    assert fj.status_code == 200 and json.loads(fj.content)["sites"][0]["site_id"] == "XLH-01"
    rep = c.get(f"/screenings/{rid}/files/report.html")
    assert rep.status_code == 200 and "sandbox" in rep.headers["content-security-policy"]
    assert c.get(f"/screenings/{rid}/files/findings.xlsx").content[:2] == b"PK"
    listed = c.get("/api/screenings", params={"q": "XLH-01"}).json()
    assert rid in [x["id"] for x in listed]
    page = c.get(f"/screenings/{rid}")
    assert page.status_code == 200 and "禁止" in page.text and "findings.json" in page.text
    hist = c.get("/history")
    assert rid in hist.text
    # the record is in the workspace itself
    import sqlite3

    db = sqlite3.connect(server["cfg"].workspace)
    row = db.execute("SELECT user_name, verdict, input_sha256 FROM ecogis_screenings WHERE id = ?", (rid,)).fetchone()
    kinds = {r[0] for r in db.execute("SELECT table_name FROM gpkg_contents")}
    db.close()
    assert row == ("rev", "prohibited", body["input_sha256"]) and "ecogis_screenings" in kinds
    server["rid"] = rid


def test_rescreen_shows_what_changed(server):
    c, csrf = login(server, "ed")
    rid = server.get("rid") or pytest.skip("needs the screening test")
    same = c.post(f"/api/screenings/{rid}/rescreen", headers={"X-CSRF-Token": csrf}).json()
    assert same["parent_id"] == rid and same["diff"]["verdicts"] == [] and same["diff"]["added"] == []
    # today's data changes: the red line layer is replaced by one far away from the site
    import geopandas as gpd
    from shapely.geometry import box

    from ecogis.workspace import open_workspace

    ws = open_workspace(server["cfg"].workspace)
    red = ws.read("redline")
    moved = red.head(1).copy()
    moved["geometry"] = [box(80.0, 30.0, 80.01, 30.01)]
    p = server["dir"] / "moved_redline.geojson"
    moved.to_file(p, driver="GeoJSON")
    r = c.post("/api/layers", headers={"X-CSRF-Token": csrf},
               files={"file": ("moved.geojson", p.read_bytes())},
               data={"kind": "redline", "version": "moved-1", "replace": "1"})
    assert r.status_code == 200, r.text
    assert r.json()["version"] == "moved-1"
    new = c.post(f"/api/screenings/{rid}/rescreen", headers={"X-CSRF-Token": csrf}).json()
    removed = [f for f in new["diff"]["removed"] if f["layer_kind"] == "redline"]
    assert removed, new["diff"]
    assert new["diff"]["verdicts"] == [{"site_id": "XLH-01", "old": "prohibited", "new": new["verdict"]}]
    assert new["data_versions"]["redline"] == "moved-1"
    page = c.get(f"/screenings/{new['id']}")
    assert "与上次审查相比的变化" in page.text and "−" in page.text
    # the original record (import made under the writer lock) is still there
    assert c.get(f"/api/screenings/{rid}").status_code == 200


@pytest.mark.parametrize("name", [
    "..%2F..%2Foutside.txt", "%2e%2e%2f%2e%2e%2foutside.txt", "%2e%2e", "..", "/etc/passwd", "%2Fetc%2Fpasswd",
    "..%5C..%5Coutside.txt", "input%2F..%2F..%2F..%2Foutside.txt", "result.json", "map.geojson",
])
def test_file_path_traversal_is_refused(server, name):
    c, _ = login(server)
    rid = server.get("rid") or pytest.skip("needs the screening test")
    for prefix in (f"/api/screenings/{rid}/files/", f"/screenings/{rid}/files/"):
        r = c.get(prefix + name)
        # a bare ".." is resolved by the client itself (to the record, not outside it)
        assert r.status_code in (404, 400, 405) or "/files/" not in r.request.url.path, (prefix + name, r.status_code)
        assert b"SECRET-OUTSIDE" not in r.content and b"root:" not in r.content


@pytest.mark.parametrize("url", [
    "/static/../../accounts.py", "/static/%2e%2e/%2e%2e/app.py", "/static/%2e%2e%2fapp.py", "/static//etc/passwd",
    "/static/%2Fetc%2Fpasswd", "/vendor/leaflet/..%2F..%2Fpackage.json", "/vendor/leaflet/%2e%2e/package.json",
    "/screenings/..%2F..%2Fserve.sqlite", "/api/screenings/%2e%2e", "/static/link.txt",
])
def test_static_and_record_paths_stay_inside(server, url, tmp_path):
    link = Path(__file__).resolve().parents[1] / "ecogis" / "serve" / "static" / "link.txt"
    if not link.exists() and not link.is_symlink():
        os.symlink(server["dir"] / "outside.txt", link)
    try:
        c, _ = login(server)
        r = c.get(url)
        assert r.status_code in (404, 400, 401, 303, 307), (url, r.status_code)
        assert b"SECRET-OUTSIDE" not in r.content and b"argon2" not in r.content and b"import" not in r.content
    finally:
        link.unlink()
    assert client(server).get("/static/app.js").status_code == 200


def test_upload_limits(server):
    c, csrf = login(server)
    h = {"X-CSRF-Token": csrf}
    big = b"x" * (3 * 2**20)
    r = c.post("/api/screen", headers=h, files={"file": ("big.geojson", big)})
    assert r.status_code == 413
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for i in range(8):
            zf.writestr(f"m{i}.txt", "x")
    r = c.post("/api/screen", headers=h, files={"file": ("many.zip", buf.getvalue())})
    assert r.status_code == 400 and "members" in r.text
    coords = ",".join(f"[{116 + i * 1e-5},{44 + (i % 2) * 1e-5}]" for i in range(6000))
    gj = '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},' \
         '"geometry":{"type":"LineString","coordinates":[' + coords + ']}}]}'
    r = c.post("/api/screen", headers=h, files={"file": ("long.geojson", gj.encode())})
    assert r.status_code == 400 and "vertices" in r.text
    r = c.post("/api/screen", headers=h, files={"file": ("evil.exe", b"MZ")})
    assert r.status_code == 400 and "unsupported" in r.text
    # nothing is left behind in the per-request folders
    assert not list(server["cfg"].tmp_dir.glob("req-*"))


def test_drawn_point_and_bearer_token(server):
    token = server["acc"].new_token("rev")
    c = client(server)
    h = {"Authorization": f"Bearer {token}"}
    drawn = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {"type": "Point", "coordinates": [116.05, 43.95]}}]})
    r = c.post("/api/screen", headers=h, data={"drawn": drawn, "industry": "D4415", "name": "风电<script>"})
    assert r.status_code == 200, r.text
    rid = r.json()["id"]
    page = c.get(f"/screenings/{rid}", headers=h)
    assert "风电&lt;script&gt;" in page.text and "风电<script>" not in page.text
    assert c.get("/api/screenings", headers={"Authorization": "Bearer eco_wrong"}).status_code == 401


def test_batch_job_progress(server):
    import time

    c, csrf = login(server)
    files = [("file", (p.name, p.read_bytes())) for p in sorted((SAMPLE / "sites" / "xilinhot").glob("*.txt"))[:2]]
    r = c.post("/api/batch", headers={"X-CSRF-Token": csrf}, files=files)
    assert r.status_code == 200, r.text
    jid = r.json()["job"]
    deadline = time.time() + 60
    while time.time() < deadline:
        st = c.get(f"/api/jobs/{jid}").json()
        if st["state"] != "running":
            break
        time.sleep(0.3)
    assert st["state"] == "done", st
    rec = c.get(f"/api/screenings/{st['record']}").json()
    assert rec["n_sites"] == 2 and "report.html" in rec["files"]


def test_industry_picker_and_openapi(server):
    c, _ = login(server)
    hits = c.get("/api/industries", params={"q": "fl"}).json()
    assert any(h["code"] == "D4415" and h["name"] == "风力发电" for h in hits)
    assert c.get("/api/industries", params={"q": "B0610"}).json()[0]["code"] == "B0610"
    spec = client(server).get("/openapi.json").json()
    assert {"/api/screen", "/api/screenings", "/api/screenings/{rid}", "/api/screenings/{rid}/files/{name}"} <= set(
        spec["paths"])
