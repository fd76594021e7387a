"""The corpus of broken and hostile inputs, fed through the public entry points (issue 8).

``tests/corpus/build.py`` builds every file into a temporary folder; the
expected outcome of each case is in ``tests/corpus/manifest.yaml``.  Each
case runs the command line in-process with ``--debug`` so that the exception
itself can be checked: an ecogis error of the expected class, naming the file
and the place, or a result with the expected repairs reported and no feature
dropped silently.  Anything else (another exception, a hang) is a crash.

Entries for commands that are not registered yet (``map``, ``clues``,
``patrol``, ``ledger update`` while those land) are skipped with the reason.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ecogis.cli import build_parser, main
from ecogis.errors import EcogisError
from ecogis.settings import settings

REPO = Path(__file__).resolve().parent.parent
MANIFEST = REPO / "tests" / "corpus" / "manifest.yaml"
from corpus import build as build_corpus  # noqa: E402  (tests/corpus/build.py)

CASES: list[dict[str, Any]] = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))["cases"]

#: Arguments of each entry point when an entry gives no ``args`` (``{file}`` is the corpus file).
DEFAULT_ARGS: dict[str, list[str]] = {
    "layers validate": ["{file}", "--kind", "project"],
    "layers import": ["{file}", "--kind", "project", "--workspace", "{out}/ws.gpkg", "--version", "corpus"],
    "convert": ["{file}", "{out}/converted.geojson"],
    "screen": ["{file}", "--workspace", "{sample_ws}", "--out", "{out}", "--quiet", "--format", "json,html"],
    "map": ["{file}", "--workspace", "{sample_ws}", "--out", "{out}/map.html"],
    "clues": ["--before", "{corpus}/raster/valid.tif", "--after", "{file}", "--workspace", "{sample_ws}",
              "--out", "{out}/clues.gpkg"],
    "patrol": ["--workspace", "{sample_ws}", "--clues", "{file}", "--start", "116.07,43.93", "--days", "1",
               "--out", "{out}"],
    "ledger update": ["--workspace", "{sample_ws}", "--results", "{file}"],
}
OUTCOMES = {"error", "repair", "ok", "invalid"}
TIMEOUT_S = 20


def registered_commands() -> set[str]:
    """Top-level and ``layers`` subcommands the parser knows."""
    import argparse

    parser = build_parser()
    names: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                names.add(name)
                for a2 in sub._actions:
                    if isinstance(a2, argparse._SubParsersAction):
                        names.update(f"{name} {n}" for n in a2.choices)
    return names


REGISTERED = registered_commands()


@pytest.fixture(scope="session")
def corpus(tmp_path_factory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("corpus")
    pwned = root.parent / "PWNED"
    files = build_corpus.build(root, pwned=pwned)
    ws = root.parent / "sample_ws.gpkg"
    shutil.copy(REPO / "layers" / "sample" / "xilinhot.gpkg", ws)
    return {"root": root, "files": files, "sample_ws": ws, "pwned": pwned}


def argv_for(case: dict[str, Any], corpus: dict[str, Any], out: Path) -> list[str]:
    subs = {"file": str(corpus["root"] / case["file"]), "out": str(out), "sample_ws": str(corpus["sample_ws"]),
            "corpus": str(corpus["root"])}
    args = case.get("args", DEFAULT_ARGS[case["entry"]]) + case.get("extra_args", [])
    return case["entry"].split() + [a.format(**subs) for a in args]


class _Timeout(BaseException):
    """Raised by the alarm: an input made ecogis hang (not an Exception, so nothing swallows it)."""


@contextlib.contextmanager
def _deadline(seconds: int):
    def handler(signum, frame):
        raise _Timeout(f"no result after {seconds} s")

    old = signal.signal(signal.SIGALRM, handler)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@contextlib.contextmanager
def _settings(overrides: dict[str, Any]):
    saved = {k: getattr(settings, k) for k in overrides}
    for k, v in overrides.items():
        setattr(settings, k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(settings, k, v)


def run_case(case: dict[str, Any], corpus: dict[str, Any], out: Path) -> dict[str, Any]:
    """Run one case in-process; return ``{outcome, rc, exc, stdout, stderr}``.

    ``outcome`` is ``error`` (an ecogis error), ``ok``/``repair`` (exit 0),
    ``invalid`` (exit 2 with per-record problems, from ``layers validate``),
    ``usage`` (argparse refused the arguments) or ``crash``.
    """
    argv = argv_for(case, corpus, out)
    stdout, stderr = io.StringIO(), io.StringIO()
    result: dict[str, Any] = {"argv": argv, "exc": None, "rc": None}
    try:
        with _settings(case.get("settings", {})), _deadline(case.get("timeout", TIMEOUT_S)), \
                contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            result["rc"] = main(["--debug", *argv])
        result["outcome"] = {0: "ok", 2: "invalid"}.get(result["rc"], f"exit {result['rc']}")
    except EcogisError as exc:
        result.update(outcome="error", exc=exc)
    except SystemExit as exc:
        result.update(outcome="usage", exc=exc)
    except (Exception, _Timeout) as exc:  # noqa: BLE001 - that is the point
        result.update(outcome="crash", exc=exc)
    result["stdout"], result["stderr"] = stdout.getvalue(), stderr.getvalue()
    if result["outcome"] == "ok" and re.search(r"note \[", result["stdout"]):
        result["notes"] = re.findall(r"note \[(\w+)\]", result["stdout"])
    return result


def _case_id(case: dict[str, Any]) -> str:
    return f"{case['file']}@{case['entry'].replace(' ', '-')}" + (f"#{case['variant']}" if "variant" in case else "")


def test_manifest_is_well_formed_and_matches_the_builder():
    ids = [_case_id(c) for c in CASES]
    assert len(ids) == len(set(ids)), "duplicate manifest cases"
    for c in CASES:
        assert c["entry"] in DEFAULT_ARGS, c
        assert c["expect"] in OUTCOMES, c
        assert c["file"] in build_corpus.BUILDERS, f"manifest names {c['file']}, which tests/corpus/build.py does not build"
        if c["expect"] == "error":
            assert c.get("error") and c.get("phrase"), f"{_case_id(c)}: an error case needs error and phrase"
        if c["file"].startswith("third_party/"):
            src = c.get("source") or {}
            assert {"repo", "path", "commit", "licence"} <= set(src), f"{_case_id(c)}: a third-party file needs its source"
    unused = set(build_corpus.BUILDERS) - {c["file"] for c in CASES}
    assert not unused, f"built but not in the manifest: {sorted(unused)}"
    assert len({c["file"] for c in CASES}) >= 100
    assert len(CASES) >= 350


#: The classes of issue 12 (items 3 and 7) and the corpus files that cover them.
ISSUE12_CLASSES: dict[str, tuple[str, ...]] = {
    ".shp/.shx/.dbf record counts disagree": (
        "shp/dbf_fewer_records/", "shp/dbf_more_records/", "shp/dbf_unheaded_record/", "shp/shp_more_than_shx/",
        "shp/shx_cut_short/", "shp/shx_offset_past_end/", "zip/dbf_fewer_records", "zip/shp_more_than_shx"),
    "KML Multi* elements, nested MultiGeometry, gx:Track": (
        "kml/multipolygon_element", "kml/multilinestring_element", "kml/multipoint_element", "kml/nested_multigeometry",
        "kml/gml_members", "kml/gx_track", "kml/gx_multitrack", "kmz/multipolygon_element"),
    "curved geometries linearised (or refused inside a collection)": (
        "gpkg/curvepolygon", "gpkg/compoundcurve_line", "gpkg/multisurface_declared", "gpkg/collection_with_curve",
        "csv/curvepolygon_wkt", "csv/compoundcurve_wkt", "csv/collection_with_curve", "csv/broken_curve_wkt",
        "third_party/fiona/csv/curves_line", "third_party/pyogrio/gpkg/curve"),
    "3-D MultiPatch / TIN refused with what to do": (
        "shp/multipatch/", "zip/multipatch", "gpkg/tin", "gpkg/polyhedral_surface", "csv/tin_wkt",
        "third_party/fiona/test_tin", "third_party/fiona/csv/test_tin"),
    "zero-area 面 parcels and polygons refused with the place": (
        "guotu/collinear_", "guotu/flat_hole", "guotu/second_parcel_flat", "shp/zero_area_polygon/", "shp/ring_three_points/",
        "geojson/zero_area_polygon", "kml/zero_area_polygon", "csv/zero_area_wkt"),
    "repairs reported in the terminal and findings.json": (
        "guotu/bowtie_", "shp/bowtie/", "geojson/bowtie", "kml/bowtie", "csv/bowtie_wkt", "gpkg/bowtie"),
    "NaN / infinite coordinates named": (
        "guotu/coordinate_nan", "guotu/coordinate_inf", "shp/nan_coordinates/", "shp/inf_coordinates/",
        "gpkg/nan_coordinates", "geojson/nan_literal", "geojson/infinity_literal", "csv/nan_", "kml/coordinates_nan",
        "kml/coordinates_inf"),
    "odd field and file names import": (
        "gpkg/odd_field_names", "gpkg/odd_layer_name", "shp/odd_field_names/", "geojson/odd_field_names",
        "geojson/fid_property", "geojson/geometry_property", "geojson/name_and_NAME", "csv/odd_headers",
        "kml/odd_extended_data", "geojson/bang!name", "shp/with!bang/", "third_party/fiona/geojson/!test"),
    "data outside China or its GK zone warned (item 7)": (
        "geojson/us_wilderness", "shp/outside_china/", "kml/outside_china", "csv/outside_china_points",
        "gpkg/outside_gk_band", "guotu/outside_zone_band", "third_party/fiona/coutwildrnp", "third_party/fiona/zip/coutwildrnp"),
}


def _format(file: str) -> str:
    parts = file.split("/")
    return parts[2] if parts[0] == "third_party" and len(parts) > 3 else Path(file).suffix.lstrip(".") or parts[0]


@pytest.mark.parametrize("name", list(ISSUE12_CLASSES))
def test_issue12_class_is_covered_across_formats(name):
    cases = [c for c in CASES if c["file"].startswith(ISSUE12_CLASSES[name])]
    assert len(cases) >= 3, f"{name}: {len(cases)} cases"
    formats = {_format(c["file"]) for c in cases}
    assert len(formats) >= 2, f"{name}: only {formats}"
    if name.startswith("repairs"):
        assert any(c.get("site_repairs") for c in cases), "no case checks findings.json"
    if name.startswith("data outside"):
        assert all("extent" in c.get("notes", []) for c in cases if c["expect"] != "error"), "a case without the warning"


@pytest.mark.parametrize("case", CASES, ids=[_case_id(c) for c in CASES])
def test_corpus_case(case, corpus, tmp_path):
    if case["entry"] not in REGISTERED:
        pytest.skip(f"command {case['entry']!r} is not registered yet; the corpus file is ready for it")
    if case.get("provisional"):
        pytest.skip("outcome written before the command landed: confirm it, then drop 'provisional' in the manifest")
    res = run_case(case, corpus, tmp_path)
    name = Path(case["file"]).name
    if res["outcome"] == "crash" and case.get("xfail"):
        pytest.xfail(f"known crash: {case['xfail']}")
    assert res["outcome"] != "crash", f"CRASH on {case['file']}: {type(res['exc']).__name__}: {res['exc']}"
    assert not corpus["pwned"].exists(), f"{case['file']} made ecogis run code"
    expect = case["expect"]
    if expect == "error":
        exc = res["exc"]
        assert res["outcome"] == "error", f"expected {case['error']}, got {res['outcome']}: {res['stdout'][-400:]}"
        classes = {k.__name__ for k in type(exc).__mro__}
        assert case["error"] in classes, f"expected {case['error']}, got {type(exc).__name__}: {exc}"
        text = str(exc)
        assert case["phrase"] in text, f"{case['phrase']!r} not in {text[:500]!r}"
        assert len(text) < 4000, "an error message must stay short, whatever the input"
        assert exc.path and name in text, f"the message does not name the file: {text[:300]!r}"
        if "where" in case:
            assert case["where"] in (exc.where or ""), f"expected the place {case['where']!r}, got {exc.where!r}"
        return
    assert res["outcome"] == ("invalid" if expect == "invalid" else "ok"), (
        f"expected {expect}, got {res['outcome']}: {res['exc']!s:.500}")
    notes = set(res.get("notes", []))
    for code in case.get("notes", []):
        assert code in notes, f"repair {code!r} not reported (notes: {sorted(notes)})"
    if expect == "ok":
        assert not notes & {"repair", "drop_empty", "split"}, f"unexpected repairs: {res['stdout'][-400:]}"
    if expect == "invalid":
        assert case["phrase"] in res["stderr"], f"{case['phrase']!r} not in {res['stderr'][:400]!r}"
        assert name in res["stderr"]
    if "features" in case:
        # no silent drop: the count that would be imported is the input less what the notes report
        m = re.search(r"(\d+) features", res["stdout"])
        assert m, res["stdout"][-300:]
        assert int(m.group(1)) == case["features"], res["stdout"][-400:]
    if case.get("site_repairs"):
        import json

        doc = json.loads((tmp_path / "findings.json").read_text(encoding="utf-8"))
        repaired = {s["site_id"]: s.get("repairs") for s in doc["sites"]}
        for sid in case["site_repairs"]:
            assert repaired.get(sid), f"the repair of site {sid} is not in findings.json: {repaired}"
    for out_name in case.get("outputs", []):
        assert (tmp_path / out_name).exists(), f"{out_name} not written"
    leftovers = [p.name for p in tmp_path.rglob(".*.tmp*")]
    assert not leftovers, f"temporary files left behind: {leftovers}"


SUBPROCESS_SAMPLE = [
    "guotu/truncated_mid_line.txt", "kml/xxe_file.kml", "zip/path_climbing.zip", "shp/missing_shx/parcels.shp",
    "rules/python_object_tag.yaml",
]


def test_command_line_prints_message_and_exits_2_without_traceback(corpus, tmp_path):
    """A sample of the corpus through a real ``ecogis`` process: exit 2, the message, no traceback."""
    cases = [c for c in CASES if c["file"] in SUBPROCESS_SAMPLE and c["expect"] == "error"
             and c["entry"] in REGISTERED]
    seen = {c["file"] for c in cases}
    assert seen == set(SUBPROCESS_SAMPLE), set(SUBPROCESS_SAMPLE) - seen
    picked = {c["file"]: c for c in cases}  # one entry per file
    env = {**os.environ, "ECOGIS_PROGRESS": "0"}
    for i, case in enumerate(picked.values()):
        out = tmp_path / str(i)
        argv = argv_for(case, corpus, out)
        proc = subprocess.run([sys.executable, "-m", "ecogis.cli", *argv], capture_output=True, text=True,
                              timeout=120, env=env, cwd=tmp_path)
        assert proc.returncode == 2, (case["file"], proc.returncode, proc.stderr[-500:])
        assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout, proc.stderr[-800:]
        assert proc.stderr.startswith("ecogis: error: "), proc.stderr[:300]
        assert case["phrase"] in proc.stderr, (case["phrase"], proc.stderr[:500])
    assert not corpus["pwned"].exists()
