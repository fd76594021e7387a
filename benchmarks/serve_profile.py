"""CPU cost of one new single-site screening in ``ecogis serve``, measured in-process (issue 17).

Builds the web app on a copy of a sample workspace, then POSTs N distinct
sites to ``/api/screen`` through Starlette's test client (the same code a
request runs, without the network): each site is a sample 国土TXT shifted by
a few metres and given its own project name, so the server's result cache
never answers.  Prints the mean CPU milliseconds per request, and (with
``--engine``) the time of ``ecogis.screen`` alone on the same view.  With
``--profile FILE`` the requests run under cProfile and the stats go to FILE.

    PYTHONPATH=$PWD .venv/bin/python benchmarks/serve_profile.py -n 200 --profile /tmp/serve.prof
"""

from __future__ import annotations

import argparse
import cProfile
import re
import shutil
import tempfile
import time
from pathlib import Path


def shifted_txt(data: bytes, dx: float, dy: float) -> bytes:
    """A 国土TXT with every boundary point moved ``dx`` east and ``dy`` north (metres); other bytes kept."""

    def move(m: re.Match) -> bytes:
        return b"%s,%.4f,%.4f" % (m.group(1), float(m.group(2)) + dy, float(m.group(3)) + dx)

    return re.sub(rb"^(J\d+,\d+),([\d.]+),([\d.]+)", move, data, flags=re.M)


def sites(city: str, n: int) -> list[tuple[str, bytes]]:
    """``n`` distinct 国土TXT uploads: the sample sites in turn, each shifted by its own offset."""
    from ecogis.settings import settings

    files = sorted((Path(settings.sample_dir) / "sites" / city).glob("*.txt"))
    out = []
    for i in range(n):
        f = files[i % len(files)]
        out.append((f.name, shifted_txt(f.read_bytes(), 3.0 * (i + 1), -2.0 * (i + 1))))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=200, help="distinct requests")
    ap.add_argument("--city", default="xilinhot")
    ap.add_argument("--profile", help="write cProfile stats of the requests here")
    ap.add_argument("--engine", action="store_true", help="also time ecogis.screen alone")
    a = ap.parse_args()

    from fastapi.testclient import TestClient

    from ecogis.serve import ServeConfig, create_app
    from ecogis.serve.accounts import Accounts
    from ecogis.settings import settings

    work = Path(tempfile.mkdtemp(prefix="serve-profile-"))
    try:
        ws = work / "ws.gpkg"
        shutil.copy(Path(settings.sample_dir) / f"{a.city}.gpkg", ws)
        cfg = ServeConfig(ws, data_dir=work / "data")
        acc = Accounts(cfg.db_path)
        acc.add_user("prof", "reviewer", "profile-pass-1")
        token = acc.new_token("prof")
        app = create_app(cfg, warm=False)
        c = TestClient(app, base_url="https://testserver", headers={"Authorization": f"Bearer {token}"})
        ups = sites(a.city, a.n + 5)
        for i, (name, data) in enumerate(ups[:5]):  # warm: rules and layers into memory
            r = c.post("/api/screen", files={"file": (name, data)}, data={"name": f"warm-{i}"})
            assert r.status_code == 200, r.text
        verdicts: dict[str, int] = {}
        prof = cProfile.Profile(time.thread_time) if a.profile else None  # CPU time, not waits on the disk
        if prof:  # the request runs in a worker thread: profile the screening there
            from ecogis.serve import runner

            inner = runner.screen_saved

            def profiled(*args, **kw):
                prof.enable()
                try:
                    return inner(*args, **kw)
                finally:
                    prof.disable()
            runner.screen_saved = profiled
        t0, c0 = time.perf_counter(), time.process_time()
        for i, (name, data) in enumerate(ups[5:]):
            r = c.post("/api/screen", files={"file": (name, data)}, data={"name": f"site-{i}"})
            assert r.status_code == 200, r.text
            v = r.json()["verdict"]
            verdicts[v] = verdicts.get(v, 0) + 1
        if prof:
            runner.screen_saved = inner
            prof.dump_stats(a.profile)
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(f"{a.n} requests: {1000 * cpu / a.n:.1f} ms CPU, {1000 * wall / a.n:.1f} ms wall per request; "
              f"verdicts {verdicts}")
        if a.engine:
            import ecogis

            view = app.state.layers.view()
            paths = []
            for i, (name, data) in enumerate(ups[5:]):
                p = work / f"e{i}.txt"
                p.write_bytes(data)
                paths.append(p)
            from ecogis.screening.sites import load_sites

            frames = [load_sites([p]) for p in paths]
            for f in frames:
                f.attrs.clear()  # as the server does (runner._screen_now)
            c0 = time.process_time()
            for f in frames:
                ecogis.screen(f, view, progress=False)
            print(f"ecogis.screen alone: {1000 * (time.process_time() - c0) / len(frames):.1f} ms CPU per site")
        c.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
