"""Load test of ``ecogis serve`` on localhost: N concurrent users screening single sites for a fixed time.

Starts ``ecogis serve`` on a copy of a sample workspace, gives each simulated
user an API token, and has every user POST one 国土TXT after another to
``/api/screen`` until the time is up.  Prints (and with ``--json`` writes)
the request count, errors, throughput and latency percentiles.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/serve_load.py --users 20 --seconds 60 --json out.json

The test suite runs the same code for a shorter time (tests/test_serve_load.py).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of ``pid`` and every live descendant (Linux ``/proc``; 0 elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    stats: dict[int, tuple[int, float]] = {}
    for d in Path("/proc").glob("[0-9]*"):
        try:
            f = (d / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        stats[int(d.name)] = (int(f[1]), (int(f[11]) + int(f[12])) / tick)
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += stats.get(p, (0, 0.0))[1]
        todo += [c for c, (pp, _) in stats.items() if pp == p]
    return total


def start_server(ws: Path, env: dict[str, str], extra: list[str] | None = None) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "ecogis.cli", "serve", "--workspace", str(ws), "--port", str(port),
                             *(extra or [])],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return proc, f"http://127.0.0.1:{port}"
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode())
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, int(round(q / 100 * (len(s) - 1)))))
    return s[k]


def run_load(users: int = 20, seconds: float = 60.0, city: str = "xilinhot", workdir: Path | None = None, *,
             unique: bool = False, server_args: list[str] | None = None) -> dict:
    """Run the load test; return its numbers.

    ``unique`` gives every request its own project name, so no two requests are the same screening
    (the server's result cache never answers; each request runs the engine).  ``server_args`` are
    added to ``ecogis serve`` (e.g. ``["--workers", "1"]``).
    """
    import httpx

    from ecogis.serve.accounts import Accounts
    from ecogis.serve.config import ServeConfig
    from ecogis.settings import settings

    load_before = round(os.getloadavg()[0], 2)
    sample = Path(settings.sample_dir)
    sites = sorted((sample / "sites" / city).glob("*.txt"))
    own = workdir is None
    work = Path(workdir or tempfile.mkdtemp(prefix="serve-load-"))
    ws = work / "ws.gpkg"
    shutil.copy(sample / f"{city}.gpkg", ws)
    acc = Accounts(ServeConfig(ws).db_path)
    tokens = []
    for i in range(users):
        acc.add_user(f"load{i}", "reviewer", "load-test-pass")
        tokens.append(acc.new_token(f"load{i}"))
    env = {**os.environ, "PYTHONPATH": str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc, base = start_server(ws, env, server_args)
    # wait until every worker process answers (uvicorn may accept before all have started)
    import httpx as _h

    with _h.Client(base_url=base, timeout=30) as c0:
        for _ in range(100):
            if c0.get("/login").status_code == 200:
                break
            time.sleep(0.1)
    cpu0 = _cpu_seconds(proc.pid)
    lat: list[float] = []
    when: list[tuple[float, float]] = []  # (start offset s, latency s) of every answered request
    errors: list[str] = []
    verdicts: dict[str, int] = {}
    lock = threading.Lock()
    start = time.time()
    stop_at = start + seconds

    def user(i: int) -> None:
        with httpx.Client(base_url=base, timeout=300, headers={"Authorization": f"Bearer {tokens[i]}"}) as c:
            n = i
            while time.time() < stop_at:
                site = sites[n % len(sites)]
                n += 1
                t0 = time.perf_counter()
                data = {"name": f"load-{i}-{n}"} if unique else {}
                try:
                    r = c.post("/api/screen", files={"file": (site.name, site.read_bytes())}, data=data)
                    dt = time.perf_counter() - t0
                    with lock:
                        if r.status_code == 200:
                            lat.append(dt)
                            when.append((round(time.time() - start - dt, 1), round(dt, 2)))
                            v = r.json()["verdict"]
                            verdicts[v] = verdicts.get(v, 0) + 1
                        else:
                            errors.append(f"{r.status_code} {r.text[:200]}")
                except httpx.HTTPError as exc:
                    with lock:
                        errors.append(repr(exc))

    threads = [threading.Thread(target=user, args=(i,)) for i in range(users)]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.time() - start
    finally:
        cpu = _cpu_seconds(proc.pid) - cpu0
        proc.terminate()
        proc.wait(timeout=20)
        if own:
            shutil.rmtree(work, ignore_errors=True)
    return {
        "users": users, "seconds": seconds, "wall_s": round(wall, 1), "requests": len(lat), "errors": len(errors),
        "error_samples": errors[:3], "throughput_per_s": round(len(lat) / wall, 2),
        "p50_s": round(percentile(lat, 50), 3), "p95_s": round(percentile(lat, 95), 3),
        "max_s": round(max(lat), 3) if lat else None, "verdicts": verdicts, "cpus": os.cpu_count(),
        "unique": unique, "server_args": server_args or [],
        "p95_after_10s": round(percentile([d for t0, d in when if t0 >= 10], 95), 3),
        "over_1s_by_start_s": _histogram([t0 for t0, d in when if d > 1.0]),
        "server_cpu_ms_per_request": round(1000 * cpu / len(lat), 1) if lat else None,
        "loadavg_before": load_before,
    }


def _histogram(starts: list[float], width: float = 10.0) -> dict[str, int]:
    """How many requests started in each ``width``-second slice of the run."""
    out: dict[str, int] = {}
    for t0 in starts:
        k = int(t0 // width) * int(width)
        out[f"{k}-{k + int(width)}s"] = out.get(f"{k}-{k + int(width)}s", 0) + 1
    return dict(sorted(out.items(), key=lambda kv: int(kv[0].split("-")[0])))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--city", default="xilinhot")
    ap.add_argument("--unique", action="store_true",
                    help="a different project name on every request (no two requests are the same screening)")
    ap.add_argument("--workers", type=int, help="passed to ecogis serve --workers")
    ap.add_argument("--no-result-cache", action="store_true", help="passed to ecogis serve")
    ap.add_argument("--json", help="write the numbers to this file")
    a = ap.parse_args()
    extra = (["--workers", str(a.workers)] if a.workers is not None else []) + (
        ["--no-result-cache"] if a.no_result_cache else [])
    res = run_load(a.users, a.seconds, a.city, unique=a.unique, server_args=extra)
    print(json.dumps(res, ensure_ascii=False, indent=2))
    if a.json:
        Path(a.json).write_text(json.dumps(res, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return 0 if res["errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
