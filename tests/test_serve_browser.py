"""The web app in a real browser: headless Chromium (Playwright) against ``ecogis serve`` on localhost.

Login failure, login, upload a 国土TXT, screen, see the verdict, download the
report, find it in the history, draw a point, and a reviewer refused an
editor's page.  The network is blocked except localhost.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
sync_api = pytest.importorskip("playwright.sync_api")

from ecogis.settings import settings  # noqa: E402
from test_browser_maps import chromium_env  # noqa: E402  (the set-up CJK font in Chromium's fontconfig)

SAMPLE = Path(settings.sample_dir)
TXT = SAMPLE / "sites" / "xilinhot" / "XLH-01.txt"
CHROMIUM = "/usr/bin/chromium"
PW = "browser-pass-1"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    if not os.path.exists(CHROMIUM):
        pytest.skip("needs /usr/bin/chromium")
    d = tmp_path_factory.mktemp("live")
    ws = d / "ws.gpkg"
    shutil.copy(SAMPLE / "xilinhot.gpkg", ws)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    cli = [sys.executable, "-m", "ecogis.cli"]
    add = subprocess.run([*cli, "serve", "users", "add", "rita", "--role", "reviewer", "--workspace", str(ws)],
                         input=PW + "\n", text=True, capture_output=True, env=env, timeout=60)
    assert add.returncode == 0, add.stderr
    port = _free_port()
    proc = subprocess.Popen([*cli, "serve", "--workspace", str(ws), "--port", str(port)], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://localhost:{port}"
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            if proc.poll() is not None:
                pytest.fail(proc.stderr.read().decode())
            time.sleep(0.2)
    yield base, d
    proc.terminate()
    proc.wait(timeout=10)


def test_browser_login_upload_screen_download_history(live, tmp_path):
    base, d = live
    external: list[str] = []
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, env=chromium_env(tmp_path), args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost"])
        ctx = browser.new_context(accept_downloads=True)

        def guard(route):
            url = route.request.url
            if url.startswith(base) or url.startswith(("data:", "blob:")):
                return route.continue_()
            external.append(url)
            return route.abort()
        ctx.route("**/*", guard)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))

        page.goto(base + "/")
        page.fill("input[name=username]", "rita")
        page.fill("input[name=password]", "wrong-password")
        page.click("#login-submit")
        assert page.locator("#login-error").is_visible()

        page.fill("input[name=username]", "rita")
        page.fill("input[name=password]", PW)
        page.click("#login-submit")
        page.wait_for_url("**/screen")
        assert "选址审查" in page.content()
        page.wait_for_function("typeof L !== 'undefined'")  # Leaflet came from the server

        page.fill("#industry-search", "B0610")
        page.wait_for_function("document.getElementById('industry').value === 'B0610'")
        page.set_input_files("#file", str(TXT))
        page.click("#screen-submit")
        page.wait_for_url("**/screenings/*", timeout=60_000)
        assert page.locator("#verdict").get_attribute("data-verdict") == "prohibited"
        assert "禁止" in page.locator("#verdict").inner_text()
        page.wait_for_function("document.querySelectorAll('#map path').length > 0")  # site and overlaps drawn

        with page.expect_download() as dl:
            page.click("#downloads a:text('findings.json')")
        saved = tmp_path / "findings.json"
        dl.value.save_as(saved)
        assert '"XLH-01"' in saved.read_text(encoding="utf-8")
        rid = page.url.rsplit("/", 1)[-1]

        page.click("a[href='/history']")
        assert page.locator(f"#history a[href='/screenings/{rid}']").count() == 1

        # draw a point on the map and screen it
        page.goto(base + "/screen")
        page.click("[data-draw=point]")
        box = page.locator("#map").bounding_box()  # the map opens on China: its centre is in China
        page.locator("#map").click(position={"x": box["width"] / 2, "y": box["height"] / 2})
        assert page.input_value("#drawn").startswith('{"type":"FeatureCollection"')
        page.click("#screen-submit")
        page.wait_for_url("**/screenings/*", timeout=60_000)
        assert page.locator("#verdict").get_attribute("data-verdict")

        # a reviewer may not import layers
        resp = page.goto(base + "/layers")
        assert resp.status == 403

        page.goto(base + "/screen?lang=en")
        assert "Screen a site" in page.content()
        browser.close()
    assert external == [] and errors == []
