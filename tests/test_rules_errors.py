"""Broken rule files: each gives a RuleError naming the file, the rule and the field; nothing is skipped."""

from __future__ import annotations

from pathlib import Path

import pytest

from ecogis.errors import RuleError
from ecogis.rules import load_rules

GOOD = """\
title: 测试文件
document: 《测试条例》
version: "1"
scope: national
parameters:
  test_distance_m:
    value: 500
    unit: m
    basis: 《测试条例》第二条：五百米。
rules:
  - id: T-ONE
    title_zh: 测试规则
    title_en: Test rule
    layer: protected_area
    where: {zone: 核心区}
    applies:
      industry: [B]
    test: intersects
    severity: prohibited
    basis: 《测试条例》第一条。
    message_zh: 项目“{site_name}”与“{feature_name}”重叠{overlap_ha}公顷。
    message_en: Site {site_name} overlaps {feature_name}.
    next_steps_zh: [调整选址]
    next_steps_en: [Move the site]
    cases:
      - project: {industry: B0610, nature: 新建}
        feature: {zone: 核心区}
        place: overlap
        expect: trigger
      - project: {industry: D4416, nature: 新建}
        feature: {zone: 核心区}
        place: overlap
        expect: no_trigger
  - id: T-TWO
    title_zh: 距离规则
    title_en: Distance rule
    layer: road
    where: {level: 国道}
    applies:
      industry: [B]
    test: {within_distance: test_distance_m}
    severity: restricted
    basis: 《测试条例》第二条。
    message_zh: 项目“{site_name}”距“{feature_name}”{distance_m}米。
    message_en: Site {site_name} is {distance_m} m from {feature_name}.
    next_steps_zh: [取得批准]
    next_steps_en: [Obtain approval]
    cases:
      - project: {industry: B1019}
        feature: {level: 国道}
        place: near:300
        expect: trigger
      - project: {industry: B1019}
        feature: {level: 国道}
        place: near:800
        expect: no_trigger
"""


def write(tmp_path: Path, text: str, name: str = "broken.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_the_template_is_valid(tmp_path):
    rs = load_rules(write(tmp_path, GOOD))
    assert rs.ids == ("T-ONE", "T-TWO")
    assert rs["T-TWO"].test.value == 500


BROKEN = [
    # (name, (old, new), rule, field, words in the message or hint)
    ("unknown key", ("    severity: prohibited\n", "    severty: prohibited\n"), "T-ONE", "severty",
     ["unknown key", "severity"]),
    ("wrong type", ("    next_steps_zh: [调整选址]", "    next_steps_zh: 调整选址"), "T-ONE", "next_steps_zh",
     ["wrong type", "array"]),
    ("unknown industry code", ("      industry: [B]\n    test: intersects", "      industry: [B0699]\n    test: intersects"),
     "T-ONE", "applies.industry[0]", ["B0699", "B0690"]),
    ("unknown layer kind", ("    layer: protected_area", "    layer: protected_areas"), "T-ONE", "layer",
     ["unknown layer kind", "protected_area"]),
    ("unknown attribute in where", ("    where: {zone: 核心区}", "    where: {zones: 核心区}"), "T-ONE", "where.zones",
     ["no attribute", "zone"]),
    ("unknown attribute value", ("    where: {zone: 核心区}", "    where: {zone: 核心}"), "T-ONE", "where.zone",
     ["核心", "核心区"]),
    ("missing no_trigger case", ("        place: overlap\n        expect: no_trigger", "        place: overlap\n        expect: trigger"),
     "T-ONE", "cases", ["no_trigger"]),
    ("bad placeholder", ("与“{feature_name}”重叠", "与“{feature}”和“{area_ha}”重叠"), "T-ONE", "message_zh",
     ["placeholder", "area_ha"]),
    ("formatted placeholder", ("重叠{overlap_ha}公顷", "重叠{overlap_ha:.2f}公顷"), "T-ONE", "message_zh",
     ["must not carry a format"]),
    ("unknown parameter", ("    test: {within_distance: test_distance_m}", "    test: {within_distance: test_dist_m}"),
     "T-TWO", "test.within_distance", ["unknown parameter", "test_dist_m"]),
    ("unknown activity", ("      industry: [B]\n    test: intersects", "      activity: [grazzing]\n    test: intersects"),
     "T-ONE", "applies.activity[0]", ["grazzing", "grazing"]),
    ("case disagrees", ("        place: near:800", "        place: near:400"), "T-TWO", "cases[1]",
     ["expects no_trigger", "spatial=yes"]),
    ("bad test", ("    test: intersects", "    test: touches"), "T-ONE", "test", ["invalid test"]),
    ("bad severity", ("    severity: prohibited", "    severity: forbidden"), "T-ONE", "severity", ["forbidden"]),
    ("bad rule id", ("  - id: T-ONE", "  - id: t_one"), "t_one", "id", ["wrong form"]),
    ("step count mismatch", ("    next_steps_en: [Move the site]", "    next_steps_en: [Move the site, Ask]"), "T-ONE",
     "next_steps_en", ["1 steps", "2"]),
    ("bad place", ("        place: near:300", "        place: nearby"), "T-TWO", "cases[0].place", ["wrong form"]),
    ("industry in case", ("      - project: {industry: B0610, nature: 新建}", "      - project: {industry: B0611, nature: 新建}"),
     "T-ONE", "cases[0].project.industry", ["B0611"]),
    ("section mismatch", ("      industry: [B]\n    test: intersects", "      industry: [C0610]\n    test: intersects"),
     "T-ONE", "applies.industry[0]", ["section B"]),
]


@pytest.mark.parametrize("name, change, rule, field, words", BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_rule_files(tmp_path, name, change, rule, field, words):
    old, new = change
    assert old in GOOD, name
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(RuleError) as exc:
        load_rules(path)
    errs = getattr(exc.value, "errors", [exc.value])
    text = "\n".join(str(e) for e in errs)
    hit = [e for e in errs if e.where and f"rule {rule}" in e.where and f"field {field}" in e.where]
    assert hit, f"no error naming rule {rule} field {field}:\n{text}"
    assert all(str(path) in (e.path or "") for e in hit)
    for w in words:
        assert w in str(hit[0]), f"{w!r} missing from: {hit[0]}"


def test_python_object_tag_is_refused(tmp_path):
    evil = GOOD.replace("    basis: 《测试条例》第一条。", "    basis: !!python/object/apply:os.system ['echo pwned']", 1)
    path = write(tmp_path, evil)
    with pytest.raises(RuleError) as exc:
        load_rules(path)
    msg = str(exc.value)
    assert str(path) in msg and "line 20" in msg and "safe YAML" in msg


def test_duplicate_yaml_key_is_refused(tmp_path):
    dup = GOOD.replace("    severity: prohibited\n", "    severity: prohibited\n    severity: notice\n", 1)
    with pytest.raises(RuleError) as exc:
        load_rules(write(tmp_path, dup))
    assert "duplicate key 'severity'" in str(exc.value) and "line" in str(exc.value)


def test_duplicate_rule_id_across_files(tmp_path):
    a = write(tmp_path, GOOD, "a.yaml")
    b = write(tmp_path, GOOD.replace("parameters:\n  test_distance_m:", "parameters:\n  other_distance_m:")
              .replace("{within_distance: test_distance_m}", "{within_distance: other_distance_m}"), "b.yaml")
    with pytest.raises(RuleError) as exc:
        load_rules([a, b])
    errs = exc.value.errors
    assert any("duplicate rule ID" in e.message and "T-ONE" in e.where and str(b) in e.path for e in errs)
    assert any("a.yaml" in e.message for e in errs)


def test_duplicate_parameter_across_files(tmp_path):
    a = write(tmp_path, GOOD, "a.yaml")
    b = write(tmp_path, GOOD.replace("T-ONE", "T-THREE").replace("T-TWO", "T-FOUR"), "b.yaml")
    with pytest.raises(RuleError) as exc:
        load_rules([a, b])
    assert any("parameter 'test_distance_m' is also defined" in e.message for e in exc.value.errors)


def test_all_errors_are_collected(tmp_path):
    text = (GOOD.replace("    layer: protected_area", "    layer: redlines", 1)
            .replace("    test: {within_distance: test_distance_m}", "    test: {within_distance: nope_m}", 1))
    with pytest.raises(RuleError) as exc:
        load_rules(write(tmp_path, text))
    wheres = [e.where for e in exc.value.errors]
    assert any("rule T-ONE, field layer" in w for w in wheres)
    assert any("rule T-TWO, field test.within_distance" in w for w in wheres)
    assert "2 problems" in str(exc.value)


def test_local_rule_needs_source_and_quote(tmp_path):
    text = GOOD.replace("scope: national", "scope: local\ncity: testville\nadcode: \"150785\"\nsource_file: plan.txt")
    with pytest.raises(RuleError) as exc:
        load_rules(write(tmp_path, text))
    fields = {e.where for e in exc.value.errors}
    assert any("rule T-ONE, field source" in w for w in fields)
    assert any("rule T-ONE, field quote" in w for w in fields)


def test_local_file_needs_its_header(tmp_path):
    text = (GOOD.replace("scope: national", "scope: local")
            .replace("    basis: 《测试条例》第一条。", "    basis: 《测试条例》第一条。\n    source: {file: plan.txt, line: 3}\n"
                                               "    quote: 原文", 1)
            .replace("    basis: 《测试条例》第二条。", "    basis: 《测试条例》第二条。\n    source: {file: plan.txt, line: 4}\n"
                                               "    quote: 原文", 1))
    with pytest.raises(RuleError) as exc:
        load_rules(write(tmp_path, text))
    keys = " ".join(e.where or "" for e in exc.value.errors)
    assert "key city" in keys and "key adcode" in keys and "key source_file" in keys


def test_missing_path_and_empty_folder(tmp_path):
    with pytest.raises(RuleError):
        load_rules(tmp_path / "nope.yaml")
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuleError):
        load_rules(tmp_path / "empty")


def test_not_a_mapping(tmp_path):
    with pytest.raises(RuleError) as exc:
        load_rules(write(tmp_path, "- just\n- a list\n"))
    assert "mapping" in str(exc.value)
