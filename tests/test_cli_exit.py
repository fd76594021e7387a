"""The ``ecogis`` command ends without freeing each object of a batch (ecogis.cli.exit_now, issue 13), yet its
exit status, its output and the exit handlers are those of a normal exit."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"


def _py(code: str, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(REPO), **env})


def test_exit_handlers_run_output_is_flushed_and_the_status_kept():
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('handler ran', flush=True))\n"
            "from ecogis.cli import exit_now\n"
            "print('unflushed', end='')\n"
            "sys.stderr.write('to stderr')\n"
            "exit_now(3)\n")
    proc = _py(code)
    assert proc.returncode == 3
    assert proc.stdout == "unflushedhandler ran\n" and proc.stderr == "to stderr"


def test_with_another_thread_running_or_asked_for_the_exit_is_the_usual_one():
    code = ("import threading, time, sys\n"
            "from ecogis.cli import exit_now\n"
            "t = threading.Thread(target=lambda: (time.sleep(0.3), print('thread finished', flush=True)))\n"
            "t.start()\n"
            "exit_now(4)\n")
    proc = _py(code)
    assert proc.returncode == 4 and "thread finished" in proc.stdout  # the thread was waited for
    proc = _py("import atexit\nfrom ecogis.cli import exit_now\natexit.register(lambda: print('ran'))\nexit_now(5)",
               ECOGIS_FULL_EXIT="1")
    assert proc.returncode == 5 and proc.stdout == "ran\n"


def test_the_command_gives_its_status_and_every_line(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "ecogis.cli", "screen", str(SAMPLE / "sites" / "xilinhot.geojson"),
                           "--workspace", str(SAMPLE / "xilinhot.gpkg"), "--out", str(out), "--quiet",
                           "--fail-on", "prohibited"], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(REPO)})
    assert proc.returncode == 1, proc.stderr  # a prohibited site with --fail-on prohibited
    lines = proc.stdout.splitlines()
    assert lines[-1].startswith("wrote ") and sum(line.startswith("wrote ") for line in lines) >= 4
    assert (out / "findings.json").stat().st_size > 0 and (out / "conflicts.gpkg").stat().st_size > 0
    bad = subprocess.run([sys.executable, "-m", "ecogis.cli", "screen", str(tmp_path / "missing.geojson"),
                          "--workspace", str(SAMPLE / "xilinhot.gpkg"), "--out", str(out)],
                         capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(REPO)})
    assert bad.returncode == 2 and "missing.geojson" in bad.stderr
