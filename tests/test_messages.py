"""Column-wise message parts: Arrow-kernel number formatting is Python's formatting, value for value."""

from __future__ import annotations

import numpy as np
import pytest

from ecogis.screening.messages import MISSING, fixed, site_text

EDGES = [0.125, 0.375, 2.5, 0.5, 1.5, 2.675, 1.005, 0.285, 999.995, 999.99999, 1234567.891, -0.0, 0.0, -0.00001,
         -1234.5, 1e15, 1e300, -1e300, np.inf, -np.inf, np.nan, 5e-324, 12.34500000001, 999999.9999]


def _values() -> np.ndarray:
    rng = np.random.default_rng(20261202)
    return np.concatenate([
        np.array(EDGES),
        rng.uniform(-1e7, 1e7, 20_000),
        rng.exponential(10, 20_000),
        np.round(rng.uniform(0, 100, 20_000), 4),  # overlap areas as the engine rounds them, many exact halves
        np.round(rng.uniform(0, 5_000, 20_000), 1),
        rng.integers(-10**9, 10**9, 2_000).astype(float),
    ])


@pytest.mark.parametrize("nd", [0, 1, 2, 4])
@pytest.mark.parametrize("commas", [True, False])
def test_fixed_is_python_format(nd, commas):
    v = _values()
    spec = f"{{:{',' if commas else ''}.{nd}f}}"
    expected = [MISSING if np.isnan(x) else spec.format(x) for x in v.tolist()]
    got = fixed(v, nd, commas=commas).to_pylist()
    bad = [(x, e, g) for x, e, g in zip(v.tolist(), expected, got) if e != g]
    assert not bad, bad[:5]


def test_fixed_of_nothing_and_of_only_missing():
    assert fixed(np.array([], dtype=float), 2).to_pylist() == []
    assert fixed(np.array([np.nan, np.nan]), 2, missing="-").to_pylist() == ["-", "-"]


def test_site_text_blanks_are_a_dash_and_numbers_are_formatted_once():
    names = np.array(["项目一", "", None, "<b>x</b>", "{site_id}"], dtype=object)
    assert site_text("site_name", names).tolist() == ["项目一", MISSING, MISSING, "<b>x</b>", "{site_id}"]
    mixed = np.array(["A-1", 7, 2.5, None], dtype=object)
    assert site_text("site_id", mixed).tolist() == ["A-1", "7", "2.50", MISSING]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_annotated_messages_of_arrow_text_are_those_of_python_strings(lang):
    """The engine keeps messages as Arrow text; its annotation (issue 11 prefixes) must read as the strings'."""
    import pyarrow as pa

    from ecogis.screening.annotate import annotated_messages

    rng = np.random.default_rng(3)
    n = 3_000
    msg = np.array([f"项目“地块{i}”与红线重叠{i % 7}公顷 <b>&</b>" for i in range(n)], dtype=object)
    cols = {"message": msg, "condition": np.array([f"若涉及{i % 5}" for i in range(n)], dtype=object),
            "_question": rng.random(n) < 0.1, "_attr": rng.random(n) < 0.2, "_prov": rng.random(n) < 0.2,
            "_lead": np.array([f"项目是否涉及{i % 3}？若是：" for i in range(n)], dtype=object)}
    ref = annotated_messages(cols, lang)
    got = annotated_messages(dict(cols, message=pa.array(msg, type=pa.large_string())), lang)
    assert isinstance(got, pa.Array) and got.to_pylist() == ref.tolist()
    assert (ref != msg).sum() > 500  # the three kinds of prefix were all exercised
    none = dict(cols, _question=np.zeros(n, bool), _attr=np.zeros(n, bool), _prov=np.zeros(n, bool))
    assert annotated_messages(dict(none, message=pa.array(msg)), lang).to_pylist() == msg.tolist()


def test_messages_as_arrow_are_the_messages():
    import pyarrow as pa

    from ecogis.rules import load_rules
    from ecogis.screening.messages import messages

    rules = load_rules(None, check_cases=False)
    n = 50
    frame = {"site_id": np.array([f"S{i}" for i in range(n)], dtype=object),
             "site_name": np.array(["地块<&>"] * n, dtype=object),
             "feature_name": np.array([f"红线{i}" if i % 4 else None for i in range(n)], dtype=object),
             "zone": np.full(n, None, dtype=object), "feature_code": np.full(n, None, dtype=object),
             "overlap_ha": np.linspace(0.5, 3, n), "overlap_mu": np.linspace(7.5, 45, n),
             "overlap_pct": np.linspace(1, 90, n), "distance_m": np.linspace(10, 900, n),
             "overlap_length_m": np.full(n, np.nan)}
    for rule in rules:
        f = dict(frame, layer_kind=np.full(n, rule.layer, dtype=object), rule_id=np.full(n, rule.id, dtype=object))
        plain = messages(rule, f, "zh")
        arrow = messages(rule, f, "zh", arrow=True)
        assert arrow.type == pa.large_string() and arrow.to_pylist() == plain.tolist(), rule.id
