"""The bundled rule set: it loads, its cases agree with the masks, local rules quote their plans."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from ecogis.errors import RuleError
from ecogis.rules import LAYER_KINDS, SEVERITY_RANK, load_rules, prepare_sites
from ecogis.rules.load import layer_attributes
from ecogis.settings import settings

#: The seed plans: ``shared/seeds`` next to the checkout (worktrees sit one level deeper).
SEEDS = next((p / "shared" / "seeds" for p in Path(__file__).resolve().parents if (p / "shared" / "seeds").is_dir()),
             Path(__file__).resolve().parents[2] / "shared" / "seeds")

EXPECTED_FILES = {
    "national/redline_142.yaml", "national/nature_reserve.yaml", "national/nature_reserve_2026.yaml",
    "national/protected_area_system_2019.yaml", "national/forest.yaml", "national/soil_contamination.yaml",
    "national/water_source.yaml", "national/farmland.yaml", "national/grassland.yaml", "national/wetland.yaml",
    "national/mining_setbacks.yaml", "national/sand_control.yaml",
    "local/genhe.yaml", "local/arxan.yaml", "local/manzhouli.yaml", "local/xilinhot.yaml",
}


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def test_bundled_rule_set_loads(rules):
    assert {f.path for f in rules.files} == EXPECTED_FILES
    assert len(rules) >= 100
    assert sum(f.rule_count for f in rules.files) == len(rules)
    ids = [r.id for r in rules]
    assert len(ids) == len(set(ids))
    for f in rules.files:
        assert len(f.sha256) == 64 and f.title and f.document
    assert set(rules.kinds()) <= set(LAYER_KINDS)
    # by_layer covers every rule exactly once
    assert sum(len(v) for v in rules.by_layer().values()) == len(rules)


def test_every_rule_has_both_kinds_of_case(rules):
    for r in rules:
        kinds = Counter(c.expect for c in r.cases)
        assert kinds["trigger"] >= 1 and kinds["no_trigger"] >= 1, r.id


@pytest.mark.parametrize("rule_id", [r.id for r in load_rules()])
def test_cases_agree_with_masks(rules, rule_id):
    """The non-spatial part of each case (applies, where) and the ideal spatial test give its expectation."""
    r = rules[rule_id]
    for i, case in enumerate(r.cases):
        proj = pd.DataFrame([dict(case.project)])
        feat = pd.DataFrame([dict(case.feature)] if case.feature else [{}])
        applies = bool(r.applies_mask(proj)[0])
        where = bool(r.feature_mask(feat)[0])
        spatial = r.spatial_expect(case.place)
        got = applies and where and spatial
        assert got == case.triggers, f"{rule_id} case {i + 1}: applies={applies} where={where} spatial={spatial}"


def test_cases_vectorised_match_one_by_one(rules):
    """All cases of one layer evaluated as one table give the same masks as row by row."""
    for kind, group in rules.by_layer().items():
        rows = [dict(c.project) for r in group for c in r.cases]
        table = pd.DataFrame(rows)
        singles = [prepare_sites(pd.DataFrame([row])) for row in rows]
        for r in group:
            mask = r.applies_mask(table)
            single = [bool(r.applies_mask(ps)[0]) for ps in singles]
            assert mask.tolist() == single, (kind, r.id)


def test_rule_families_give_one_verdict(rules):
    """Within a family, no case project matches two rules of different severity on the same feature."""
    for family, members in rules.by_family().items():
        if len(members) < 2:
            continue
        for r in members:
            for c in r.cases:
                proj = pd.DataFrame([dict(c.project)])
                feat = pd.DataFrame([dict(c.feature)] if c.feature else [{}])
                sev = {m.severity for m in members
                       if m.layer == r.layer and m.applies_mask(proj)[0] and m.feature_mask(feat)[0]}
                assert len(sev) <= 1, f"family {family}: case of {r.id} gets {sev}"


def test_restricted_and_prohibited_rules_name_next_steps(rules):
    for r in rules:
        assert len(r.next_steps_zh) == len(r.next_steps_en)
        if SEVERITY_RANK[r.severity] >= SEVERITY_RANK["review"]:
            assert r.next_steps_zh, r.id
        assert r.basis and ("《" in r.basis or "号" in r.basis), r.id


def test_where_attributes_exist_for_their_layer(rules):
    for r in rules:
        known = layer_attributes(r.layer)
        for t in r.where:
            assert t.attr in known, (r.id, t.attr)


def test_redline_family_single_verdicts(rules):
    """The 142 examples: mining prohibited (a self-declared strategic-mineral tag on a new mine included, D6),
    exploration, existing rights and unavoidable linear works restricted, rebuilt existing roads restricted (D9)."""
    fam = [r for r in rules if r.family == "RL-142"]
    sites = pd.DataFrame([
        {"industry": "B0610", "nature": "新建"},
        {"industry": "B0911", "nature": "新建", "activity": ["strategic_mineral"]},
        {"industry": "M7474", "activity": ["strategic_mineral"]},
        {"industry": "B0911", "nature": "改建", "activity": ["strategic_mineral"]},
        {"industry": "B0911", "nature": "新建", "activity": ["rl142_5_tourism_education"]},
        {"industry": "E4812", "nature": "改建"},
        {"industry": "E4812", "nature": "扩建"},
        {"industry": "E4812", "nature": "新建", "linear": True, "unavoidable": True},
        {"industry": "E4812", "nature": "新建", "linear": True},
        {"industry": "E4811", "nature": "新建", "linear": True, "unavoidable": True, "national_major": True},
        {"industry": "M7462", "activity": "rl142_1_patrol_research"},
    ])
    verdicts = []
    for i in range(len(sites)):
        hits = [r for r in fam if r.applies_mask(sites)[i]]
        assert len(hits) == 1, [r.id for r in hits]
        verdicts.append((hits[0].id, hits[0].severity))
    assert verdicts == [
        ("RL-142-MINING", "prohibited"),
        ("RL-142-MINING", "prohibited"),
        ("RL-142-MINERAL", "restricted"),
        ("RL-142-MINERAL", "restricted"),
        ("RL-142-MINING", "prohibited"),
        ("RL-142-EXISTING", "restricted"),
        ("RL-142-DEVELOPMENT", "prohibited"),
        ("RL-142-LINEAR", "restricted"),
        ("RL-142-DEVELOPMENT", "prohibited"),
        ("RL-142-NATIONAL-MAJOR", "restricted"),
        ("RL-142-LIMITED", "restricted"),
    ]


def test_parameter_override_changes_distance(rules):
    assert rules["MS-ROAD"].test.value == 100
    over = load_rules(params={"mining_setback_road_m": 300, "arx_songhua_riparian_m": 5000})
    r = over["MS-ROAD"]
    assert r.test.value == 300 and r.test.default == 100 and r.test.param == "mining_setback_road_m"
    assert r.distance_m == 300
    assert over.parameters["mining_setback_road_m"].overridden
    assert over["ARX-SONGHUA-3KM"].test.value == 5000
    # cases keep their meaning: they are judged at the file's default
    assert r.spatial_expect("near:150") is False
    assert r.spatial_expect("near:150", use_default=False) is True
    assert "300" in r.render_message("zh", site_name="s", distance_m=150.0)


def test_unknown_parameter_override_is_an_error():
    with pytest.raises(RuleError) as exc:
        load_rules(params={"mining_setback_roads_m": 300})
    assert "mining_setback_roads_m" in str(exc.value)
    assert "mining_setback_road_m" in str(exc.value)  # suggestion
    with pytest.raises(RuleError):
        load_rules(params={"mining_setback_road_m": -5})


def test_every_distance_parameter_cites_its_source(rules):
    assert rules.parameters
    for p in rules.parameters.values():
        assert p.basis and p.value > 0
    for r in rules:
        if r.test.kind == "within_distance":
            assert r.test.param in rules.parameters, r.id


def test_local_rules_name_city_and_source(rules):
    local = [r for r in rules if r.scope == "local"]
    assert {r.city for r in local} == {"genhe", "arxan", "manzhouli", "xilinhot"}
    for r in local:
        assert r.source is not None and r.source.line >= 1 and r.quote, r.id
        assert r.adcode in {"150785", "152202", "150781", "152502"}


@pytest.mark.skipif(not SEEDS.is_dir(), reason="shared/seeds not available")
def test_local_quotes_are_on_the_cited_lines(rules):
    """Each local rule's quote appears on its cited line of the seed plan (whitespace ignored)."""
    cache: dict[str, list[str]] = {}
    for r in rules:
        if r.scope != "local":
            continue
        path = SEEDS / r.source.file
        assert path.is_file(), (r.id, r.source.file)
        lines = cache.setdefault(r.source.file, path.read_text(encoding="utf-8").splitlines())
        end = r.source.end_line or r.source.line
        text = re.sub(r"\s+", "", "".join(lines[r.source.line - 1:end]))
        assert re.sub(r"\s+", "", r.quote) in text, f"{r.id}: quote not on {r.source}"


def test_rule_count_per_file_is_reported(rules, capsys):
    table = {f.path: f.rule_count for f in rules.files}
    print("\n".join(f"{k}: {v}" for k, v in sorted(table.items())))
    assert all(v >= 1 for v in table.values())
    assert table["local/manzhouli.yaml"] >= 10 and table["national/redline_142.yaml"] >= 6


def test_rules_dir_setting_is_used(tmp_path, monkeypatch):
    """load_rules() with no paths reads settings.rules_dir's national and local folders."""
    src = Path(settings.rules_dir)
    (tmp_path / "national").mkdir()
    (tmp_path / "local").mkdir()
    for name in ("taxonomy.yaml", "activities.yaml", "schema.json"):
        (tmp_path / name).write_bytes((src / name).read_bytes())
    (tmp_path / "national" / "farmland.yaml").write_bytes((src / "national" / "farmland.yaml").read_bytes())
    monkeypatch.setattr(settings, "rules_dir", tmp_path)
    rs = load_rules()
    assert [f.path for f in rs.files] == ["national/farmland.yaml"]
    assert len(rs) == 3
