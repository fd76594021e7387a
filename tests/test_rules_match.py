"""Vectorised applicability and feature masks, unknown values, messages and places."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ecogis.errors import InputError, RuleError
from ecogis.rules import load_rules, parse_place, prepare_sites, spatial_expect
from ecogis.rules.model import SpatialTest


@pytest.fixture(scope="module")
def rules():
    return load_rules()


def test_applies_mask_is_vectorised_and_typed(rules):
    r = rules["RL-142-MINING"]
    sites = pd.DataFrame({
        "industry": ["B0610", "0620", "D4416", "B0911", None],
        "nature": ["新建", "扩建", "新建", "新建", "新建"],
        "activity": [None, "", [], "strategic_mineral", np.nan],
    })
    mask = r.applies_mask(sites)
    assert isinstance(mask, np.ndarray) and mask.dtype == bool and mask.shape == (5,)
    # unknown industry (row 4) matches the industry filter: an unknown never hides a restriction;
    # a new mine claiming a strategic mineral (row 3) is still mining (audit D6)
    assert mask.tolist() == [True, True, False, True, True]
    assert r.applies_mask(sites, unknown_industry="no_match").tolist() == [True, True, False, True, False]


def test_missing_columns(rules):
    sites = pd.DataFrame({"name": ["a", "b"]})
    # no industry, no flags: generic red-line prohibition applies, permissions do not
    assert rules["RL-142-DEVELOPMENT"].applies_mask(sites).tolist() == [True, True]
    assert rules["RL-142-LINEAR"].applies_mask(sites).tolist() == [False, False]
    # missing nature matches any nature filter
    assert rules["MZL-GRASS-INDUSTRY"].applies_mask(pd.DataFrame({"industry": ["B0620"]})).tolist() == [True]
    # but never grants an exception that needs a nature
    assert rules["WS-67-QUASI-REBUILD"].applies_mask(pd.DataFrame({"industry": ["C2614"]})).tolist() == [True]


def test_unknown_never_grants_an_exception(rules):
    r = rules["PBF-35-OCCUPATION"]      # except industry A01 … and national_major+unavoidable
    sites = pd.DataFrame({"industry": ["A0111", None, "K7010"], "national_major": [None, "是", True],
                          "unavoidable": [None, None, "true"]})
    assert r.applies_mask(sites).tolist() == [False, True, False]


def test_flags_text_and_activity_separators(rules):
    r = rules["RL-142-LINEAR"]
    sites = pd.DataFrame({
        "industry": ["E4812", "E4812", "E4821", "E4812"],
        "linear": ["是", "1", "否", "yes"],
        "unavoidable": ["是", "true", "", "no"],
        "activity": [None, None, "rl142_6_infrastructure;water_supply", None],
    })
    assert r.applies_mask(sites).tolist() == [True, True, True, False]


def test_prepare_sites_errors_name_the_row():
    with pytest.raises(InputError) as exc:
        prepare_sites(pd.DataFrame({"industry": ["B0610", "B0699"]}, index=["s1", "s2"]), path="sites.csv")
    assert "sites.csv" in str(exc.value) and "site s2" in str(exc.value) and "B0690" in exc.value.hint
    with pytest.raises(InputError):
        prepare_sites(pd.DataFrame({"nature": ["新建", "重建"]}))
    with pytest.raises(InputError) as exc:
        prepare_sites(pd.DataFrame({"activity": ["grazing", "flying"]}))
    assert "flying" in str(exc.value)
    with pytest.raises(InputError):
        prepare_sites(pd.DataFrame({"linear": ["maybe"]}))


def test_prepared_sites_are_reused(rules):
    sites = pd.DataFrame({"industry": ["B0610", "D4416"] * 50, "nature": "新建"})
    ps = prepare_sites(sites)
    assert ps.n == 100 and set(ps.industry) == {"B0610", "D4416"}
    for r in rules:
        assert (r.applies_mask(ps) == r.applies_mask(sites)).all(), r.id


def test_cache_sees_changes(rules):
    r = rules["RL-142-MINING"]
    sites = pd.DataFrame({"industry": ["B0610"]})
    assert r.applies_mask(sites).tolist() == [True]
    sites.loc[0, "industry"] = "D4416"
    assert r.applies_mask(sites).tolist() == [False]


def test_feature_mask(rules):
    feats = pd.DataFrame({"type": ["自然保护区", "自然保护区", "自然保护区", "森林公园", None],
                          "zone": ["核心区", None, " 实验区 ", None, "核心区"]})
    assert rules["NR-ZONE-CORE"].feature_mask(feats).tolist() == [True, False, False, False, False]
    assert rules["NR-ZONE-UNKNOWN"].feature_mask(feats).tolist() == [False, True, False, False, False]
    assert rules["NR-ZONE-EXPERIMENTAL-OTHER"].feature_mask(feats).tolist() == [False, False, True, False, False]
    assert rules["PAS-NATURAL-PARK"].feature_mask(feats).tolist() == [False, False, False, True, False]
    assert rules["RL-142-MINING"].feature_mask(feats).all()          # where: null
    # an absent column counts as missing everywhere
    assert rules["NR-ZONE-UNKNOWN"].feature_mask(pd.DataFrame({"type": ["自然保护区"]})).tolist() == [True]
    assert rules["NR-ZONE-CORE"].feature_mask(pd.DataFrame({"type": ["自然保护区"]})).tolist() == [False]


def test_render_message(rules):
    r = rules["RL-142-DEVELOPMENT"]
    zh = r.render_message("zh", site_name="测试项目", feature_name="红线甲", overlap_ha=1.23456, overlap_mu=18.518,
                          overlap_pct=12.345)
    assert "测试项目" in zh and "红线甲" in zh and "1.23公顷" in zh and "18.52亩" in zh and "12.3%" in zh
    en = r.render_message("en", site_name="A")
    assert 'Site "A"' in en and "— ha" in en          # missing values print as a dash
    d = rules["MS-RAILWAY"].render_message("zh", site_name="矿", feature_name="滨洲线", distance_m=812.4)
    assert "812米" in d and "1,000米" in d               # limit_m comes from the rule
    # preformatted strings (as an engine may pass them) are used as they are
    assert "0.5000" in r.render_message("zh", overlap_ha="0.5000")


def test_places_and_spatial_oracle():
    assert parse_place("overlap") == ("overlap", 0.5)
    assert parse_place("overlap:0.2") == ("overlap", 0.2)
    assert parse_place("near:300") == ("near", 300.0)
    assert parse_place("outside") == ("far", None)
    for bad in ("near", "near:-1", "overlap:2", "inside:3", "beside"):
        with pytest.raises(RuleError):
            parse_place(bad)
    inter, within, out = SpatialTest("intersects"), SpatialTest("within"), SpatialTest("outside")
    dist = SpatialTest("within_distance", 500.0, default=500.0)
    share = SpatialTest("overlap_share", 0.3, default=0.3)
    table = {
        "inside": (True, True, False, True, True),
        "overlap": (True, False, True, True, True),
        "overlap:0.1": (True, False, True, True, False),
        "near:400": (False, False, True, True, False),
        "near:600": (False, False, True, False, False),
        "far": (False, False, True, False, False),
    }
    for place, want in table.items():
        got = tuple(spatial_expect(t, place) for t in (inter, within, out, dist, share))
        assert got == want, place


def test_rule_objects_are_frozen_and_hashable(rules):
    r = rules["RL-142-MINING"]
    with pytest.raises(Exception):
        r.severity = "notice"  # type: ignore[misc]
    assert len({r, rules["RL-142-MINING"], rules["RL-142-LINEAR"]}) == 2
    assert r.severity_rank == 4 and r.severity_zh == "禁止"
    assert rules.select(layer="redline", scope="national").ids == tuple(
        x.id for x in rules if x.layer == "redline" and x.scope == "national")


def test_large_table_is_fast(rules):
    """10 000 sites × every rule stays well under a few seconds (no per-pair Python)."""
    import time

    rng = np.random.default_rng(0)
    codes = np.array(["B0610", "D4416", "C2614", "K7010", "E4812", "A0111", "H6110"])
    sites = pd.DataFrame({
        "industry": codes[rng.integers(0, len(codes), 10_000)],
        "nature": np.array(["新建", "改建", "扩建"])[rng.integers(0, 3, 10_000)],
        "linear": rng.random(10_000) < 0.2,
        "unavoidable": rng.random(10_000) < 0.1,
        "activity": np.where(rng.random(10_000) < 0.1, "grazing;strategic_mineral", ""),
    })
    t = time.perf_counter()
    ps = prepare_sites(sites)
    masks = np.vstack([r.applies_mask(ps) for r in rules])
    assert masks.shape == (len(rules), 10_000)
    assert time.perf_counter() - t < 5
