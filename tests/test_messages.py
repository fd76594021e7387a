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
