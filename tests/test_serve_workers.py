"""``ecogis serve --workers N``: one web server process, N screening processes taking from one queue.

The screenings of one keep-alive connection are spread over both screening
processes (each worker used to screen only the connections the kernel gave
it); a screening process that dies is replaced and the screening tried again;
the processes end with the server, even when it is killed outright; and a
screening in another process gives what a screening in the request's thread
gives (errors included).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
import shapely

pytest.importorskip("fastapi")
httpx = pytest.importorskip("httpx")

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "layers" / "sample"
PW = "workers-pass-1"
TXT = SAMPLE / "sites" / "arxan" / "ARX-01.txt"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    out = []
    for d in Path("/proc").glob("[0-9]*"):
        try:
            stat = (d / "stat").read_text()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            out.append(int(d.name))
    return out


def _engines(pid: int) -> list[int]:
    """The server's screening processes (multiprocessing's spawned children, not its resource tracker)."""
    out = []
    for c in _children(pid):
        try:
            cmd = Path(f"/proc/{c}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmd:
            out.append(c)
    return sorted(out)


def _cpu_s(pid: int) -> float:
    f = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def _alive(pid: int) -> bool:
    p = Path(f"/proc/{pid}/status")
    try:
        return "zombie" not in p.read_text()
    except OSError:
        return False


def _wait(cond, seconds: float = 60.0, what: str = "condition") -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def server(tmp_path):
    from ecogis.serve.accounts import Accounts
    from ecogis.serve.config import ServeConfig

    ws = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE / "arxan.gpkg", ws)
    data = tmp_path / "data"
    acc = Accounts(ServeConfig(ws, data_dir=data).db_path)
    acc.add_user("rev", "reviewer", PW)
    token = acc.new_token("rev")
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "ecogis.cli", "serve", "--workspace", str(ws), "--port",
                             str(port), "--workers", "2", "--data-dir", str(data)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(base + "/login", timeout=2).status_code == 200
        except httpx.HTTPError:
            return proc.poll() is not None
    try:
        _wait(up, 90, "the server")
        assert proc.poll() is None, proc.stderr.read()
        _wait(lambda: len(_engines(proc.pid)) == 2, 60, "two screening processes")
        yield proc, port, ws, env, httpx.Client(base_url=base, timeout=120,
                                                 headers={"Authorization": f"Bearer {token}"})
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def _screen(c, name: str):
    return c.post("/api/screen", files={"file": (TXT.name, TXT.read_bytes())}, data={"name": name})


def test_one_connection_uses_both_screening_processes(server):
    proc, _, _, _, c = server
    engines = _engines(proc.pid)
    assert len(engines) == 2
    assert _screen(c, "warm").status_code == 200
    before = {p: _cpu_s(p) for p in engines}
    got: list[int] = []

    def one(i: int) -> None:
        got.append(_screen(c, f"same-connection-{i}").status_code)  # one keep-alive client, threads sharing it
    threads = [threading.Thread(target=one, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert got == [200] * 12
    used = {p: _cpu_s(p) - before[p] for p in engines}
    assert all(v > 0.1 for v in used.values()), used  # both processes screened


def test_a_dead_screening_process_is_replaced_and_the_server_stays_up(server):
    proc, _, _, _, c = server
    first = _engines(proc.pid)
    os.kill(first[0], signal.SIGKILL)  # a crash in a native library, say
    r = _screen(c, "after-a-crash")  # tried again on the new processes
    assert r.status_code == 200, r.text
    assert r.json()["verdict"] == "prohibited"
    _wait(lambda: len(_engines(proc.pid)) == 2 and first[0] not in _engines(proc.pid), 60, "new processes")
    assert proc.poll() is None
    assert c.get(f"/api/screenings/{r.json()['id']}").status_code == 200
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    _wait(lambda: not any(_alive(p) for p in _children(proc.pid)), 20, "the processes to end")
    assert "starting the screening processes again" in proc.stderr.read()


def test_a_port_in_use_is_a_clear_error(server):
    proc, port, ws, env, c = server
    second = subprocess.run([sys.executable, "-m", "ecogis.cli", "serve", "--workspace", str(ws), "--port",
                             str(port), "--workers", "2"], env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
    assert proc.poll() is None and c.get("/login").status_code == 200


def test_screening_processes_end_when_the_server_is_killed(server):
    proc, _, _, _, _ = server
    engines = _engines(proc.pid)
    proc.kill()
    proc.wait(10)
    _wait(lambda: not any(_alive(p) for p in engines), 20, "orphaned screening processes to end")


def _cells(path: Path) -> dict[str, list[tuple]]:
    """Every sheet's cell values, the generation time left out."""
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True)
    return {ws.title: [tuple(c for c in row) for row in ws.iter_rows(values_only=True)
                       if not any(isinstance(c, str) and ("generated" in c.lower() or "生成时间" in c) for c in row)]
            for ws in wb.worksheets}


def _layers(path: Path) -> dict[str, list[dict]]:
    """Every layer of a GeoPackage as records (geometry as WKB)."""
    import pyogrio

    out = {}
    for name, _ in pyogrio.list_layers(path):
        df = pyogrio.read_dataframe(path, layer=name)
        if "geometry" in df:
            wkb = shapely.to_wkb(df["geometry"].values)
            df = pd.DataFrame(df.drop(columns="geometry")).assign(wkb=wkb)
        out[str(name)] = df.astype(object).where(df.notna(), None).to_dict("records")
    return out


def test_a_screening_in_a_process_is_the_screening_in_the_thread(tmp_path):
    """The same input through the pool and in the request's thread: the same document, files and errors."""
    from fastapi.testclient import TestClient

    from ecogis.serve import ServeConfig, create_app
    from ecogis.serve.accounts import Accounts

    docs, files, errors = [], [], []
    ws = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE / "arxan.gpkg", ws)
    for engines in (0, 1):
        cfg = ServeConfig(ws, data_dir=tmp_path / f"data{engines}", result_cache=0)
        acc = Accounts(cfg.db_path)
        acc.add_user("rev", "reviewer", PW)
        token = acc.new_token("rev")
        app = create_app(cfg, warm=False, engines=engines)
        with TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {token}"}) as tc:
            r = tc.post("/api/screen", files={"file": (TXT.name, TXT.read_bytes())}, data={"industry": "0610"})
            assert r.status_code == 200, r.text
            rid = r.json()["id"]
            doc = tc.get(f"/api/screenings/{rid}").json()["result"]
            fj = json.loads(tc.get(f"/api/screenings/{rid}/files/findings.json").content)
            for d in (doc, fj):
                d["meta"].pop("generated_at", None)
            docs.append((r.json()["verdict"], r.json()["sites"], doc))
            xlsx = tmp_path / f"f{engines}.xlsx"
            xlsx.write_bytes(tc.get(f"/api/screenings/{rid}/files/findings.xlsx").content)
            gpkg = tmp_path / f"c{engines}.gpkg"
            gpkg.write_bytes(tc.get(f"/api/screenings/{rid}/files/conflicts.gpkg").content)
            files.append((fj, _cells(xlsx), _layers(gpkg)))
            bad = tc.post("/api/screen", files={"file": ("broken.txt", "[属性描述]\n坐标系=2000国家大地坐标系\n@\n"
                                                                      "J1,1,abc,def\n".encode())})
            errors.append((bad.status_code, bad.json()["detail"]))
    assert docs[0] == docs[1]
    assert files[0] == files[1]
    assert {s["source_file"] for s in files[0][2]["sites"]} == {TXT.name}  # not the server's request folder
    assert errors[0] == errors[1] and errors[0][0] == 400
    assert errors[0][1].startswith("broken.txt, line 4: ") and str(tmp_path) not in errors[0][1]  # the user's name
