"""Writers never lose data (issue 12 item 2): 8 writers at once, and writers killed with SIGKILL mid-write.

Every writer is a separate ``ecogis`` process, as on a shared machine.
"""

from __future__ import annotations

import csv
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pyogrio
import pytest

from ecogis.workspace import open_workspace

REPO = Path(__file__).resolve().parent.parent
WRITERS = 8
ROWS = 3

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL and the POSIX file lock")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["ECOGIS_PROGRESS"] = "0"
    return env


def _cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "ecogis.cli", *args]


def _checklist(path: Path, tag: str, rows: int = ROWS) -> Path:
    with open(path, "w", newline="", encoding="utf-8-sig") as fh:
        w = csv.writer(fh)
        w.writerow(["target_id", "result", "date", "inspector", "lon", "lat", "remarks"])
        for i in range(rows):
            w.writerow([f"T-{tag}-{i}", "属实", "2026-11-20", f"inspector {tag}", 116.05 + 0.01 * i, 43.95, f"{tag}/{i}"])
    return path


def _workspace(tmp_path: Path) -> Path:
    ws = tmp_path / "ws.gpkg"
    shutil.copy(REPO / "layers" / "sample" / "xilinhot.gpkg", ws)
    return ws


def _run_all(cmds: list[list[str]], cwd: Path) -> list[subprocess.CompletedProcess]:
    procs = [subprocess.Popen(c, cwd=cwd, env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for c in cmds]
    out = []
    for p in procs:
        so, se = p.communicate(timeout=600)
        out.append(subprocess.CompletedProcess(p.args, p.returncode, so, se))
    return out


def _integrity(ws: Path) -> str:
    with sqlite3.connect(f"file:{ws}?mode=ro", uri=True) as con:
        return con.execute("PRAGMA integrity_check").fetchone()[0]


def test_eight_ledger_updates_at_once_keep_every_row(tmp_path):
    ws = _workspace(tmp_path)
    lists = [_checklist(tmp_path / f"c{k}.csv", f"w{k}") for k in range(WRITERS)]
    done = _run_all([_cmd("ledger", "update", "--workspace", str(ws), "--results", str(c)) for c in lists], tmp_path)
    for r in done:
        assert r.returncode == 0, r.stderr
        assert f"recorded {ROWS} results" in r.stdout
    led = open_workspace(ws).ledger()
    assert len(led) == WRITERS * ROWS
    assert sorted(led["entry_id"].astype(int)) == list(range(1, WRITERS * ROWS + 1))
    assert set(led["target_id"]) == {f"T-w{k}-{i}" for k in range(WRITERS) for i in range(ROWS)}
    assert _integrity(ws) == "ok"


def test_the_same_checklist_twice_at_once_is_recorded_once(tmp_path):
    ws = _workspace(tmp_path)
    c = _checklist(tmp_path / "same.csv", "same")
    done = _run_all([_cmd("ledger", "update", "--workspace", str(ws), "--results", str(c)) for _ in range(4)],
                    tmp_path)
    assert all(r.returncode == 0 for r in done), [r.stderr for r in done]
    assert len(open_workspace(ws).ledger()) == ROWS  # the duplicate check ran under the writer lock


def test_eight_layer_imports_at_once_keep_every_feature(tmp_path):
    ws = _workspace(tmp_path)
    src = tmp_path / "redline.gpkg"
    red = pyogrio.read_dataframe(REPO / "layers" / "sample" / "xilinhot.gpkg", layer="redline")
    pyogrio.write_dataframe(red, src, layer="redline")
    before = len(red)
    done = _run_all([_cmd("layers", "import", str(src), "--kind", "redline", "--workspace", str(ws),
                          "--version", f"v{k}") for k in range(WRITERS)], tmp_path)
    for r in done:
        assert r.returncode == 0, r.stderr
    w = open_workspace(ws)
    assert len(w.read("redline")) == before * (WRITERS + 1)
    assert w.info("redline").feature_count == before * (WRITERS + 1)
    appends = [h for h in w.history("redline") if h.mode == "append"]
    assert sorted(h.version for h in appends)[-WRITERS:] == sorted(f"v{k}" for k in range(WRITERS))
    assert _integrity(ws) == "ok"


def _staged(folder: Path) -> list[Path]:
    return list(folder.glob(".ws.*.tmp*"))


@pytest.mark.parametrize("point", ["importing", "staged+0", "staged+0.01", "staged+0.03", "staged+0.08",
                                   "staged+0.15", "staged+0.3"])
def test_a_writer_killed_mid_write_leaves_the_previous_state(tmp_path, point):
    """SIGKILL at points of a ledger update: the ledger is the old one or the new one, never half of it.

    ``staged+t``: killed ``t`` seconds after the writer's staged copy of the workspace appeared (it is
    copying, writing the rows or about to rename); ``importing``: before it reached the workspace.
    """
    ws = _workspace(tmp_path)
    first = _checklist(tmp_path / "first.csv", "first")
    assert subprocess.run(_cmd("ledger", "update", "--workspace", str(ws), "--results", str(first)),
                          env=_env(), capture_output=True).returncode == 0
    big = _checklist(tmp_path / "big.csv", "big", rows=2000)
    p = subprocess.Popen(_cmd("ledger", "update", "--workspace", str(ws), "--results", str(big)), env=_env(),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if point == "importing":
        time.sleep(0.2)
    else:
        deadline = time.monotonic() + 120
        while not _staged(tmp_path) and p.poll() is None and time.monotonic() < deadline:
            time.sleep(0.001)
        time.sleep(float(point.split("+")[1]))
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=60)
    assert _integrity(ws) == "ok"
    n = len(open_workspace(ws).ledger())
    assert n in (ROWS, ROWS + 2000)
    # the lock died with the writer: the next writer goes ahead
    again = _checklist(tmp_path / "again.csv", "again")
    r = subprocess.run(_cmd("ledger", "update", "--workspace", str(ws), "--results", str(again)), env=_env(),
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert len(open_workspace(ws).ledger()) == n + ROWS
    assert _staged(tmp_path) == []  # the killed writer's staged copy was cleared by the next one


def test_eight_ledger_updates_at_once_on_postgis_keep_every_row(tmp_path, pg_schema_url):
    """The same on a PostGIS workspace (a transaction under an advisory lock; the duplicate check under a session lock)."""
    ws = pg_schema_url
    src = tmp_path / "admin.gpkg"
    pyogrio.write_dataframe(pyogrio.read_dataframe(REPO / "layers" / "sample" / "xilinhot.gpkg", layer="admin"),
                            src, layer="admin")
    r = subprocess.run(_cmd("layers", "import", str(src), "--kind", "admin", "--workspace", ws), env=_env(),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lists = [_checklist(tmp_path / f"c{k}.csv", f"w{k}") for k in range(WRITERS)]
    lists.append(lists[0])  # the same checklist twice at once: recorded once
    done = _run_all([_cmd("ledger", "update", "--workspace", ws, "--results", str(c)) for c in lists], tmp_path)
    for r in done:
        assert r.returncode == 0, r.stderr
    led = open_workspace(ws).ledger()
    assert len(led) == WRITERS * ROWS
    assert sorted(led["entry_id"].astype(int)) == list(range(1, WRITERS * ROWS + 1))
