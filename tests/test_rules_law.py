"""The law in force by date, unverified articles, citations for people, and Chinese user text.

Covers issue 11 parts 2, 4 and 5: rule files carry ``effective_from`` /
``superseded_by``; ``RuleSet.in_force`` and ``ecogis.screen(as_of=)`` apply the
text in force on a date; three-zone reserve data are read as the two zones of
the 2026 regulation; ``basis_verified: false`` reaches the findings; local rules
cite their plan by chapter and section; no internal code or English word appears
in any Chinese text a reviewer reads.
"""

from __future__ import annotations

import datetime as dt
import re
import textwrap
from pathlib import Path

import pandas as pd
import pytest

from ecogis.errors import RuleError
from ecogis.rules import load_rules
from ecogis.rules.load import load_plans
from ecogis.settings import settings

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"


@pytest.fixture(scope="module")
def rules():
    return load_rules()


# ---------------------------------------------------------------------------- dates
def test_2017_regulation_superseded_on_2026_03_15(rules):
    old = next(f for f in rules.files if f.path == "national/nature_reserve.yaml")
    new = next(f for f in rules.files if f.path == "national/nature_reserve_2026.yaml")
    assert old.superseded_by == new.path
    assert old.effective_until == new.effective_from == "2026-03-15"
    assert rules["NR-ZONE-CORE"].effective_until == "2026-03-15"


@pytest.mark.parametrize("day, present, absent", [
    ("2025-06-01", "NR-ZONE-BUFFER", "NR-2026-CORE"),
    ("2026-03-14", "NR-ZONE-BUFFER", "NR-2026-CORE"),
    ("2026-03-15", "NR-2026-CORE", "NR-ZONE-BUFFER"),
    (dt.date(2026, 12, 1), "NR-2026-GENERAL", "NR-26-ACTIVITIES"),
])
def test_in_force_selects_one_text(rules, day, present, absent):
    sel = rules.in_force(day)
    assert present in sel and absent not in sel
    assert sel.as_of == str(day)
    # the other files are undated or in force: nothing else is lost
    assert len(sel) == len(rules) - sum(1 for r in rules if not r.in_force(day))
    paths = {f.path for f in sel.files}
    assert ("national/nature_reserve.yaml" in paths) != ("national/nature_reserve_2026.yaml" in paths)


def test_in_force_none_keeps_everything(rules):
    assert rules.in_force(None) is rules


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


_RULE = """
rules:
  - id: T-{n}-RULE
    title_zh: 测试
    title_en: Test
    layer: redline
    applies: {{}}
    test: intersects
    severity: notice
    basis: 测试依据
    message_zh: 测试
    message_en: test
    next_steps_zh: []
    next_steps_en: []
    cases:
      - {{project: {{}}, place: inside, expect: trigger}}
      - {{project: {{}}, place: far, expect: no_trigger}}
"""


def test_superseded_by_resolves_to_the_next_files_start(tmp_path):
    _write(tmp_path, "a.yaml", "title: A\ndocument: A\nversion: '1'\nscope: national\neffective_from: '2020-01-01'\n"
           "superseded_by: b.yaml\n" + _RULE.format(n="A"))
    _write(tmp_path, "b.yaml", "title: B\ndocument: B\nversion: '2'\nscope: national\neffective_from: 2024-05-01\n"
           + _RULE.format(n="B"))
    rs = load_rules(tmp_path)
    a = next(f for f in rs.files if f.path.endswith("a.yaml"))
    assert a.effective_until == "2024-05-01"
    assert [r.id for r in rs.in_force("2023-01-01")] == ["T-A-RULE"]
    assert [r.id for r in rs.in_force("2024-05-01")] == ["T-B-RULE"]
    assert [r.id for r in rs.in_force("2019-12-31")] == []


def test_bad_dates_and_links_are_errors(tmp_path):
    _write(tmp_path, "a.yaml", "title: A\ndocument: A\nversion: '1'\nscope: national\neffective_from: '2020-13-01'\n"
           "superseded_by: national/none.yaml\n" + _RULE.format(n="A"))
    with pytest.raises(RuleError) as err:
        load_rules(tmp_path)
    text = str(err.value)
    assert "not a date" in text and "superseded_by names no rule file" in text


def test_unverified_needs_a_reason(tmp_path):
    body = _RULE.format(n="C").replace("    basis: 测试依据\n", "    basis: 测试依据\n    basis_verified: false\n")
    _write(tmp_path, "c.yaml", "title: C\ndocument: C\nversion: '1'\nscope: national\n" + body)
    with pytest.raises(RuleError, match="unverified"):
        load_rules(tmp_path)


# ------------------------------------------------------------ 2026 regulation content
def test_three_zone_data_read_as_two_zones(rules):
    feats = pd.DataFrame({"type": ["自然保护区", "自然保护区", "自然保护区", None, "森林公园"],
                          "zone": ["核心区", "缓冲区", "实验区", "核心区", "核心保护区"]})
    assert rules["NR-2026-CORE"].feature_mask(feats).tolist() == [True, True, False, True, False]
    assert rules["NR-2026-GENERAL"].feature_mask(feats).tolist() == [False, False, True, False, False]
    assert rules["PAS-CORE"].feature_mask(feats).tolist() == [False, False, False, False, True]


def test_article_26_activities_are_not_prohibited_in_the_core_zone(rules):
    """D5: restoration, monitoring and heritage work are allowed by art. 26 (一), with approval."""
    sites = pd.DataFrame([
        {"industry": "E4863", "activity": ["ecological_restoration"]},
        {"industry": "M7462", "activity": ["rl142_1_patrol_research"]},
        {"industry": "M7462", "activity": ["rl142_3_archaeology_specimen"]},
        {"industry": "B0610", "nature": "新建"},
    ])
    for ban, allowed in (("NR-2026-CORE", "NR-2026-CORE-ALLOWED"), ("PAS-CORE", "PAS-CORE-MONITORING")):
        assert rules[ban].applies_mask(sites).tolist() == [False, False, False, True]
        assert rules[allowed].applies_mask(sites).tolist() == [True, True, True, False]
        assert rules[ban].severity == "prohibited" and rules[allowed].severity == "restricted"


def test_nr26_2017_list_complete(rules):
    """D16: fishing, herb collection and burning are in the 2017 art. 26 list."""
    r = rules["NR-26-ACTIVITIES"]
    sites = pd.DataFrame([{"industry": "A0422"}, {"industry": "A0252"}, {"activity": ["burning_vegetation"]},
                          {"industry": "H6110", "nature": "新建"}])
    assert r.applies_mask(sites).tolist() == [True, True, True, False]


def test_new_mine_with_a_strategic_mineral_tag_stays_prohibited(rules):
    """D6, national and local: a self-declared tag never turns a new mine into a limited activity."""
    site = pd.DataFrame([{"industry": "B0911", "nature": "新建", "activity": ["strategic_mineral"]}])
    for rid in ("RL-142-MINING", "GH-REDLINE", "ARX-REDLINE", "MZL-REDLINE", "XLH-REDLINE"):
        assert rules[rid].applies_mask(site).tolist() == [True], rid
    assert rules["RL-142-MINERAL"].applies_mask(site).tolist() == [False]


def test_waste_treatment_is_not_an_ecological_activity(rules):
    """D8: N7723–N7725 are not excepted; ecological protection (N771) still is."""
    sites = pd.DataFrame([{"industry": "N7724", "nature": "新建"}, {"industry": "N7711", "nature": "新建"}])
    for rid in ("GH-PA-NON-ECOLOGICAL", "MZL-PA-NON-ECOLOGICAL", "GH-WETLAND-USE"):
        assert rules[rid].applies_mask(sites).tolist() == [True, False], rid


def test_logging_rules_follow_item_4(rules):
    """D10: natural-forest logging prohibited, declared plantation tending restricted, both cite plan controls."""
    sites = pd.DataFrame([{"industry": "A0241"}, {"industry": "A0241", "activity": ["rl142_4_forest_tending"]}])
    for city in ("GH", "ARX"):
        ban, tend = rules[f"{city}-LOGGING"], rules[f"{city}-LOGGING-TENDING"]
        assert ban.severity == "prohibited" and tend.severity == "restricted"
        assert ban.applies_mask(sites).tolist() == [True, False]
        assert tend.applies_mask(sites).tolist() == [False, True]
    assert rules["GH-LOGGING"].source.line != 33  # not the background sentence


def test_genhe_and_arxan_have_control_unit_rules(rules):
    """D7."""
    for city in ("genhe", "arxan"):
        classes = {r.where_dict().get("class") for r in rules if r.city == city and r.layer == "control_unit"}
        assert classes == {"优先保护", "重点管控", "一般管控"}, city


# ---------------------------------------------------------------------------- citations
def test_every_plan_has_title_year_issuer(rules):
    plans = load_plans()
    assert set(plans) == {"genhe", "arxan", "manzhouli", "xilinhot"}
    for key, p in plans.items():
        assert p["title"].startswith("《") and p["title"].endswith("》"), key
        assert 2020 <= int(p["year"]) <= 2026 and p["issuer"], key
    for f in rules.files:
        if f.scope == "local":
            assert f.plan_title == plans[f.plan]["title"]


def test_local_rules_cite_chapter_and_section(rules):
    pat = re.compile(r"^(第[一二三四五六七八九十]+(章|部分))(第[一二三四五六七八九十]+节|（[一二三四五六七八九十]+）)?(第\d+项)?$")
    for r in rules:
        if r.scope != "local":
            continue
        assert pat.match(r.section), (r.id, r.section)
        assert r.citation == load_plans()[_plan_key(r)]["title"] + r.section
        assert str(r.source).startswith(r.source.file)  # file and line stay as provenance


def _plan_key(r) -> str:
    return r.city


_ASCII_WORD = re.compile(r"[A-Za-z]{2,}")
_INTERNAL = re.compile(r"control_unit|placeholder|_m\b|占位|疑为|错置|rl142|[a-z]+_[a-z]+")


def _zh_texts(r):
    yield "title_zh", r.title_zh
    yield "message_zh", r.message_zh
    yield "basis", r.basis
    yield "unverified", r.unverified
    yield "citation", r.citation
    for i, s in enumerate(r.next_steps_zh):
        yield f"next_steps_zh[{i}]", s


def test_chinese_text_has_no_internal_codes_or_english(rules):
    """Part 5: a reviewer pastes these texts into an opinion (placeholders are filled in first)."""
    bad = []
    for r in rules:
        for fld, text in _zh_texts(r):
            plain = re.sub(r"\{[a-z_]+\}", "", text)
            plain = plain.replace("GB/T", "")  # a standard's designation is not an English word
            if _ASCII_WORD.search(plain) or _INTERNAL.search(plain):
                bad.append((r.id, fld, plain[:60]))
    assert not bad, bad


# ---------------------------------------------------------------------------- screening
@pytest.mark.skipif(not (SAMPLE / "genhe.gpkg").exists(), reason="sample workspaces not built")
def test_screen_as_of_names_the_version_and_marks_unverified():
    import ecogis

    sites = SAMPLE / "sites" / "genhe.geojson"
    old = ecogis.screen(sites, SAMPLE / "genhe.gpkg", progress=False, as_of="2025-06-01")
    new = ecogis.screen(sites, SAMPLE / "genhe.gpkg", progress=False, as_of="2026-12-01")
    for res, day, doc in ((old, "2025-06-01", "national/nature_reserve.yaml"),
                          (new, "2026-12-01", "national/nature_reserve_2026.yaml")):
        assert res.meta["as_of"] == day
        versions = {v["path"]: v for v in res.meta["rule_versions"]}
        assert doc in versions and len([p for p in versions if p.startswith("national/nature_reserve")]) == 1
        f = res.findings
        assert {"citation", "basis_verified", "rule_version"} <= set(f.columns)
        assert f["citation"].str.len().gt(0).all()
        nr = f[f["rule_id"].str.startswith("NR-")]
        assert len(nr)
        # every finding carries its rule's own verification flag (the zone articles are unverified)
        flags = {r.id: bool(r.basis_verified) for r in load_rules(None, check_cases=False)}
        assert (nr["basis_verified"].astype(bool) == nr["rule_id"].map(flags)).all()
        assert not nr.loc[nr["rule_id"].str.contains("ZONE"), "basis_verified"].astype(bool).any()
    assert old.findings["rule_id"].str.startswith("NR-ZONE").any()
    assert new.findings["rule_id"].str.startswith("NR-2026").any()
    assert not new.findings["rule_id"].str.startswith("NR-ZONE").any()
    local = new.findings[new.findings["rule_id"].str.startswith("GH-")]
    assert local["citation"].str.startswith("《内蒙古自治区根河市").all()
    assert local["source"].str.contains(r"000_d3cb95a7d047a5de\.txt L\d+").all()


def test_bad_as_of_is_an_input_error(tmp_path):
    import ecogis
    from ecogis.errors import InputError

    if not (SAMPLE / "genhe.gpkg").exists():
        pytest.skip("sample workspaces not built")
    with pytest.raises(InputError, match="as_of"):
        ecogis.screen(SAMPLE / "sites" / "genhe.geojson", SAMPLE / "genhe.gpkg", progress=False, as_of="2026-02-30")


def test_cli_has_as_of():
    from ecogis.cli import build_parser

    a = build_parser().parse_args(["screen", "x.txt", "--workspace", "w.gpkg", "--out", "o", "--as-of", "2025-06-01"])
    assert a.as_of == "2025-06-01"
    assert settings.rules_dir  # bundled data through settings
