"""A bounded load test: 20 concurrent users screening single sites against ``ecogis serve`` on localhost.

The full 60 s run is ``benchmarks/serve_load.py`` (results in benchmarks/SERVE.md and the serve section of benchmarks/RESULTS.md).
Here: no request may fail, every verdict must be a verdict, and p95 is recorded.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("fastapi")
pytest.importorskip("httpx")

from ecogis.vocab import VERDICTS  # noqa: E402

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "serve_load.py"


def test_twenty_concurrent_users(tmp_path, record_property):
    spec = importlib.util.spec_from_file_location("serve_load", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    res = mod.run_load(users=20, seconds=3, workdir=tmp_path)
    record_property("serve_p95_s", res["p95_s"])
    print(res)
    assert res["errors"] == 0, res["error_samples"]
    assert res["requests"] >= 20  # every user got at least one answer
    assert set(res["verdicts"]) <= set(VERDICTS) and res["verdicts"].get("prohibited", 0) > 0
