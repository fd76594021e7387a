"""GB/T 4754-2017 taxonomy and the activity vocabulary."""

from __future__ import annotations

import pytest

from ecogis.errors import InputError, RuleError
from ecogis.rules import load_activities, load_taxonomy, load_rules


@pytest.fixture(scope="module")
def tax():
    return load_taxonomy()


@pytest.mark.parametrize("raw, norm", [
    ("B", "B"), ("b06", "B06"), (" B 061 ", "B061"), ("B0610", "B0610"), ("0610", "B0610"),
    ("Ｂ０６１０", "B0610"), ("4416", "D4416"), ("d4420", "D4420"), ("E4812", "E4812"), ("M747", "M747"),
    ("T", "T"), ("9700", "T9700"),
])
def test_normalise_and_accept(tax, raw, norm):
    if norm == "T9700":  # a class not listed under an incompletely listed division
        assert tax.validate(raw, strict=False) == norm
        with pytest.raises(RuleError):
            tax.validate(raw)
        return
    assert tax.validate(raw) == norm


def test_every_level_and_required_families(tax):
    for code in ["A", "B", "C", "D", "E", "N", "R", "T"]:
        assert tax.level(code) == "section" and tax.name(code)
    # every division 01-97 exists, under the right section
    for div in range(1, 98):
        code = tax.validate(f"{div:02d}")
        assert tax.level(code) == "division" and tax.name(code)
    for code in ["B06", "B07", "B08", "B09", "B10", "B11", "B12", "D4411", "D4412", "D4413", "D4414",
                 "D4415", "D4416", "D4417", "D4419", "D4420", "E4811", "E4812", "E4852", "M7474", "A0220",
                 "A0314", "H6110", "R9030", "N7723", "N7724", "C2614", "C3011", "C3110", "C3212", "C3360", "D4610"]:
        assert code in tax, code
    assert tax.name("D4415") == "风力发电"
    assert tax.name("D4416") == "太阳能发电"
    assert tax.name("B0620") == "褐煤开采洗选"


def test_implicit_groups(tax):
    # GB/T 4754 has group 061 (class 0610) although the table lists only the class
    assert tax.validate("B061") == "B061" and tax.name("B061") == "烟煤和无烟煤开采洗选"
    assert tax.validate("D442") == "D442"
    assert tax.children("B06") == ["B061", "B062", "B069"]
    assert tax.parent("B0610") == "B061" and tax.parent("B061") == "B06" and tax.parent("B06") == "B"


def test_unknown_codes_suggest_the_nearest(tax):
    with pytest.raises(RuleError) as exc:
        tax.validate("B0699")
    assert "B0690" in exc.value.hint and "其他煤炭采选" in exc.value.hint
    with pytest.raises(RuleError) as exc:
        tax.validate("D4418")
    assert "D4419" in exc.value.hint or "D4417" in exc.value.hint
    with pytest.raises(InputError) as exc:
        tax.validate("X12", error=InputError, path="sites.csv", where="site 3, field industry")
    assert "sites.csv, site 3, field industry" in str(exc.value)


def test_section_mismatch(tax):
    with pytest.raises(RuleError) as exc:
        tax.validate("C0610")
    assert "section B" in str(exc.value) and "B0610" in exc.value.hint


def test_strictness(tax):
    # C29 is listed only as a division: a class under it is accepted for sites, not for rules
    assert tax.validate("C2914", strict=False) == "C2914"
    with pytest.raises(RuleError):
        tax.validate("C2914")
    # B06 is complete: an unknown class under it is refused even for sites
    with pytest.raises(RuleError):
        tax.validate("B0699", strict=False)


def test_is_prefix(tax):
    assert tax.is_prefix("B", "B0610") and tax.is_prefix("b06", "B0610") and tax.is_prefix("B0610", "B0610")
    assert not tax.is_prefix("B07", "B0610")


def test_every_rule_code_is_in_the_taxonomy(tax):
    for r in load_rules():
        clauses = [r.applies.base, *r.applies.any_of, *r.applies.excepts]
        for c in clauses:
            for code in c.industry:
                assert code in tax, (r.id, code)


def test_activities():
    acts = load_activities()
    for i in range(1, 11):
        assert sum(t.startswith(f"rl142_{i}_") for t in acts) == 1, i
    assert len([t for t in acts if t.startswith("rl142_")]) == 10
    tags = acts.parse("strategic_mineral; grazing")
    assert tags == {"strategic_mineral", "rl142_7_geology_minerals", "grazing"}
    assert acts.parse(["放牧", "ecological_restoration"]) >= {"grazing", "rl142_8_ecological_restoration"}
    assert acts.parse("grazing，tourism_facility、water_supply") == {"grazing", "tourism_facility", "water_supply"}
    assert acts.parse(None) == frozenset() and acts.parse(float("nan")) == frozenset()
    with pytest.raises(RuleError) as exc:
        acts.validate("grazzing")
    assert "grazing" in exc.value.hint
    for t in acts:
        assert acts.name(t, "zh") and acts.name(t, "en")
