"""``ecogis serve --workers N`` on Linux: one listening socket per worker, a dead worker restarted, clean stop."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "layers" / "sample"

pytestmark = pytest.mark.skipif(not (sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")),
                                reason="per-worker sockets need Linux SO_REUSEPORT")


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


def _listening_inodes(port: int) -> set[str]:
    """Inodes of the TCP sockets listening on ``port`` (state 0A in /proc/net/tcp)."""
    inodes = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        f = line.split()
        if f[3] == "0A" and int(f[1].split(":")[1], 16) == port:
            inodes.add(f[9])
    return inodes


def _socket_inodes(pid: int) -> set[str]:
    out = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            out.add(target[8:-1])
    return out


def _get(port: int, path: str = "/login") -> int:
    """Status of one GET on a fresh connection."""
    import httpx

    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=20) as c:
        return c.get(path).status_code


def _wait_answering(port: int, seconds: float = 60.0) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if _get(port) == 200:
                return
        except Exception:  # noqa: BLE001 - not up yet
            pass
        time.sleep(0.2)
    raise AssertionError("server did not answer")


def _workers(pid: int, port: int, want: int, seconds: float = 60.0) -> list[int]:
    """The server's worker processes once ``want`` of them each listen on ``port`` with a socket of their own."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        listening = _listening_inodes(port)
        found = [c for c in _children(pid) if _socket_inodes(c) & listening]
        if len(found) == want:
            return found
        time.sleep(0.2)
    raise AssertionError(f"expected {want} listening workers")


@pytest.fixture
def server(tmp_path):
    ws = tmp_path / "ws.gpkg"
    shutil.copy(SAMPLE / "arxan.gpkg", ws)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen([sys.executable, "-m", "ecogis.cli", "serve", "--workspace", str(ws), "--port",
                             str(port), "--workers", "2", "--data-dir", str(tmp_path / "data")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_answering(port)
        yield proc, port, ws, env
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_each_worker_listens_on_its_own_socket_and_a_dead_one_is_restarted(server):
    proc, port, _, _ = server
    first = _workers(proc.pid, port, 2)
    listening = _listening_inodes(port)
    assert len(listening) == 2  # two sockets, one per worker (uvicorn's workers share one)
    assert len({frozenset(_socket_inodes(p) & listening) for p in first}) == 2
    assert all(_get(port) == 200 for _ in range(30))  # fresh connections, spread by the kernel
    os.kill(first[0], signal.SIGKILL)  # a worker dies (a crash in a native library, say)
    deadline = time.time() + 60
    while time.time() < deadline:
        now = _workers(proc.pid, port, 2)
        if first[0] not in now:
            break
        time.sleep(0.2)
    assert first[0] not in now and first[1] in now
    assert proc.poll() is None
    assert all(_get(port) == 200 for _ in range(10))
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0
    assert not _children(proc.pid)
    assert "starting it again" in proc.stderr.read()


def test_a_port_in_use_is_a_clear_error(server):
    proc, port, ws, env = server
    second = subprocess.run([sys.executable, "-m", "ecogis.cli", "serve", "--workspace", str(ws), "--port",
                             str(port), "--workers", "2"], env=env, capture_output=True, text=True, timeout=60)
    assert second.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in second.stderr
    assert proc.poll() is None and _get(port) == 200


def test_workers_end_when_the_server_is_killed(server):
    """No orphaned worker keeps the port after the server process is killed outright (SIGKILL)."""
    proc, port, _, _ = server
    workers = _workers(proc.pid, port, 2)
    proc.kill()
    proc.wait(10)
    deadline = time.time() + 20
    while time.time() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.2)
    assert not any(Path(f"/proc/{w}").exists() and "zombie" not in (Path(f"/proc/{w}") / "status").read_text()
                   for w in workers)
    assert not _listening_inodes(port)
