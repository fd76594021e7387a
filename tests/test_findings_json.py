"""findings.json / findings.jsonl encoded column-wise (issue 13) hold exactly ScreenResult.to_document().

The fast encoder (:mod:`ecogis.render.findings_json`) never builds the document as Python dicts, and
stores each rule's texts and each set of checks once (format 2); these tests parse what it writes,
expand it with :func:`ecogis.read_findings` and compare that with ``json.dumps(result.to_document())``
parsed back, on real screening results and on results made awkward on purpose (text JSON must escape,
missing values, sites sharing an id, findings of no listed site, chunk boundaries), and validate the
stored file against the schema.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import numpy as np
import pandas as pd
import pytest

import ecogis
from ecogis.render import findings_json, report
from ecogis.render.findings_json import write_document
from ecogis.render.report import SCHEMA_PATH, _default, write_json

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"
NASTY = ['say "hi" \\ back\\slash', "tab\tnew\nline\r", "bell\x07 nul\x00 \x1f", "名称🌿 \u2028 \u2029 \x7f", "",
         "</script><b>&amp;", "=1+1"]


def _expected(result) -> dict:
    return json.loads(json.dumps(result.to_document(), ensure_ascii=False, default=_default))


def _both(result, tmp_path: Path) -> tuple[dict, list[dict]]:
    write_document(result, tmp_path / "f.json")
    write_document(result, tmp_path / "f.jsonl", lines=True)
    doc = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    # JSON Lines end at "\n" only (str.splitlines would also split at U+2028, which JSON leaves raw)
    lines = [json.loads(x) for x in (tmp_path / "f.jsonl").read_text(encoding="utf-8").split("\n")[:-1]]
    return doc, lines


def _distinct(entries: list) -> bool:
    return len({json.dumps(e, sort_keys=True, ensure_ascii=False) for e in entries}) == len(entries)


def _check(result, tmp_path: Path) -> dict:
    stored, lines = _both(result, tmp_path)
    want = _expected(result)
    doc = ecogis.read_findings(tmp_path / "f.json")
    assert doc == want
    # and the same types (a float stays a float: 100.0, not 100) in the same key order
    assert json.dumps(doc, ensure_ascii=False) == json.dumps(want, ensure_ascii=False)
    assert [list(s) for s in doc["sites"]] == [list(s) for s in want["sites"]]            # key order too
    assert [[list(f) for f in s["findings"]] for s in doc["sites"]] == \
        [[list(f) for f in s["findings"]] for s in want["sites"]]
    assert ecogis.read_findings(tmp_path / "f.jsonl") == {k: v for k, v in want.items() if k != "accesslist"}
    # the stored form: version, rules and checks once each, findings naming them, no text repeated per row
    assert stored["format_version"] == 2 and lines[0] == {k: stored[k] for k in lines[0]}
    assert set(lines[0]) == {"format_version", "meta", "rules", "checks"} and lines[1:] == stored["sites"]
    assert _distinct(stored["rules"]) and _distinct(stored["checks"])
    for site in stored["sites"]:
        assert "checked_layers" not in site and ("checks" in site) == bool(want["sites"])
        for f in site["findings"]:
            assert "basis" not in f and "next_steps" not in f and isinstance(f["rule"], int)
    jsonschema.validate(stored, json.loads(SCHEMA_PATH.read_text(encoding="utf-8")))
    return doc


@pytest.fixture(scope="module")
def xilinhot():
    return ecogis.screen(SAMPLE / "sites" / "xilinhot.geojson", SAMPLE / "xilinhot.gpkg", progress=False)


def test_the_document_of_a_real_screen(tmp_path, xilinhot, monkeypatch):
    monkeypatch.setattr(findings_json, "CHUNK_SITES", 4)   # several chunks, sites split across them
    doc = _check(xilinhot, tmp_path)
    assert sum(len(s["findings"]) for s in doc["sites"]) == len(xilinhot.findings) > 0
    text = (tmp_path / "f.json").read_text(encoding="utf-8")
    stored = json.loads(text)
    # byte for byte what json.dumps writes (compact) of the stored form, on this result
    assert text == json.dumps(stored, ensure_ascii=False, separators=(",", ":"))
    # one entry per rule cited (their texts do not differ between findings here), far smaller than format 1
    assert sorted(r["rule_id"] for r in stored["rules"]) == sorted(xilinhot.findings["rule_id"].unique())
    format1 = json.dumps(xilinhot.to_document(), ensure_ascii=False, default=_default, separators=(",", ":"))
    assert (tmp_path / "f.json").stat().st_size < 0.8 * len(format1.encode())


def test_write_json_is_indented_when_small_and_encoded_column_wise_when_large(tmp_path, xilinhot, monkeypatch):
    write_json(xilinhot, tmp_path / "small.json")
    assert (tmp_path / "small.json").read_text(encoding="utf-8").startswith('{\n  "format_version": 2,\n  "meta"')
    assert ecogis.read_findings(tmp_path / "small.json") == _expected(xilinhot)
    monkeypatch.setattr(report, "INDENT_LIMIT", 10)
    write_json(xilinhot, tmp_path / "large.json")
    text = (tmp_path / "large.json").read_text(encoding="utf-8")
    assert "\n" not in text and ecogis.read_findings(tmp_path / "large.json") == _expected(xilinhot)
    write_json(xilinhot, tmp_path / "f.jsonl")
    assert len((tmp_path / "f.jsonl").read_text(encoding="utf-8").splitlines()) == len(xilinhot.sites) + 1


def test_awkward_values(tmp_path, xilinhot, monkeypatch):
    """Text JSON must escape, missing values, Arrow-backed and object text, ids shared or unknown."""
    monkeypatch.setattr(findings_json, "CHUNK_SITES", 3)
    r = copy.copy(xilinhot)
    s = xilinhot.sites.copy()
    f = xilinhot.findings.copy()
    s["name"] = pd.array((NASTY * len(s))[: len(s)], dtype="str")                   # Arrow-backed text
    s.loc[s.index[:2], "industry"] = [None, np.nan]
    f["message"] = np.array((NASTY * len(f))[: len(f)], dtype=object)               # object text
    f["feature_name"] = pd.array(([None] + NASTY) * len(f), dtype="str")[: len(f)]
    f.loc[f.index[:6], "overlap_ha"] = [np.nan, -0.0, 1e-7, 100.0, 1e15, 123456789012345.0]
    f.loc[f.index[3:5], "zone"] = [7, 2.5]                                          # numbers in a text column
    f["next_steps"] = (["a；b;  c", None, "", " x "] * len(f))[: len(f)]
    s.loc[s.index[1], "site_id"] = s["site_id"].iloc[0]                            # two sites share an id
    f.loc[f.index[-1], "site_id"] = "NOT-A-SITE"                                   # a finding of no listed site
    r.sites, r.findings = s, f
    r.meta = dict(xilinhot.meta, note=NASTY[0], n=np.int64(3))
    doc = _check(r, tmp_path)
    assert doc["sites"][0]["name"] == NASTY[0] and doc["sites"][0]["findings"] == doc["sites"][1]["findings"]
    assert any(fd["message"] == NASTY[2] for st in doc["sites"] for fd in st["findings"])


def test_without_findings_without_sites_and_with_access_lists(tmp_path, xilinhot):
    r = copy.copy(xilinhot)
    r.findings = xilinhot.findings.iloc[:0]
    assert all(not s["findings"] for s in _check(r, tmp_path)["sites"])
    r.sites = xilinhot.sites.iloc[:0]
    assert _check(r, tmp_path)["sites"] == []

    from ecogis.accesslist.samples import with_sample_lists
    from ecogis.settings import settings

    ws = with_sample_lists("genhe", settings.sample_dir, tmp_path / "ws")
    res = ecogis.screen(SAMPLE / "sites" / "genhe.geojson", ws, progress=False)
    doc = _check(res, tmp_path)
    assert doc["accesslist"]["items"]


def test_rules_that_differ_between_findings_get_an_entry_each(tmp_path, xilinhot):
    """Should a rule's texts differ between two findings, each version is an entry: nothing merged away."""
    r = copy.copy(xilinhot)
    f = xilinhot.findings.copy()
    rid = f["rule_id"].iloc[0]
    f.loc[f.index[-1], ["rule_id", "basis"]] = [rid, "另一依据 <b>"]
    r.findings = f
    _check(r, tmp_path)
    stored = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    assert sum(e["rule_id"] == rid for e in stored["rules"]) == 2


def test_format_1_is_read_as_it_is_and_broken_documents_are_refused(tmp_path, xilinhot):
    from ecogis.errors import FormatError, InputError

    old = _expected(xilinhot)
    (tmp_path / "v1.json").write_text(json.dumps(old, ensure_ascii=False), encoding="utf-8")
    assert ecogis.read_findings(tmp_path / "v1.json") == old
    write_document(xilinhot, tmp_path / "f.json")
    stored = json.loads((tmp_path / "f.json").read_text(encoding="utf-8"))
    bad = copy.deepcopy(stored)
    next(s for s in bad["sites"] if s["findings"])["findings"][0]["rule"] = len(bad["rules"])
    cases = [(bad, "rule"), ({**stored, "format_version": 9}, "format 9"), ({"meta": {}}, "sites"),
             ({**stored, "checks": {"0": {}}}, "must be lists"), ({**stored, "sites": ["x"]}, "not an object"),
             ({**stored, "sites": [{"site_id": "a", "findings": "none"}]}, "not a list of objects")]
    for doc, words in cases:
        (tmp_path / "bad.json").write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        with pytest.raises(FormatError, match=words):
            ecogis.read_findings(tmp_path / "bad.json")
    (tmp_path / "cut.json").write_bytes((tmp_path / "f.json").read_bytes()[:500])
    with pytest.raises(FormatError, match="not a findings file"):
        ecogis.read_findings(tmp_path / "cut.json")
    with pytest.raises(InputError, match="not found"):
        ecogis.read_findings(tmp_path / "missing.json")
