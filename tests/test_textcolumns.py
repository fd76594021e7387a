"""ecogis.textcolumns.group_rows: distinct rows of code matrices (issue 13), against a sorting reference."""

from __future__ import annotations

import numpy as np
import pytest


def _groups_by_sorting(m):
    """The reference: distinct rows by np.unique, numbered in order of first appearance."""
    m = np.ascontiguousarray(np.asarray(m, dtype=np.int64))
    keys = m.view(np.dtype((np.void, m.shape[1] * 8))).ravel()
    _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[inv.ravel()], first[order]


@pytest.mark.parametrize("shape, low, high", [((1000, 3), -1, 4), ((500, 1), 0, 2), ((2000, 6), 0, 256),
                                              ((300, 4), -(2 ** 40), 2 ** 40), ((0, 2), 0, 1), ((1, 1), 5, 6)])
def test_group_rows_numbers_distinct_rows_in_order_of_first_appearance(shape, low, high):
    """Folded keys (small ranges) and the sorted fallback (ranges too wide to fold) give the reference's groups."""
    from ecogis.textcolumns import group_rows

    rng = np.random.default_rng(7)
    m = rng.integers(low, high, size=shape)
    if len(m) > 10:
        m[len(m) // 2:] = m[: len(m) - len(m) // 2]  # repeated rows
    got = group_rows(m)
    want = _groups_by_sorting(m)
    assert np.array_equal(got[0], want[0]) and np.array_equal(got[1], want[1])
