"""Escaping whole text columns: the row-selective helpers give what escaping every value gives.

``replace_literals`` rewrites only the rows that hold something to replace, and ``has_bytes`` skips a
column-wide regular expression when nothing could match; both must give, value for value, what the plain
Arrow kernels (and Python's own escapes) give, on hostile text too.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import escape as xml_escape

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from ecogis.render.findings_json import json_strings
from ecogis.render.xlsx import _edge_blank, _excel_text
from ecogis.textcolumns import factorize_objects, has_bytes, replace_literals, text_bytes, unique_objects

HOSTILE = [
    "项目“甲”与生态保护红线重叠", "A&B <b>x</b>", None, "", "&amp; already", "quote \" and back\\slash",
    "tab\tnew\nline\r", "\x00nul\x01", "_x0041_ literal", "\ufffe\uffff", "=1+1", " lead", "trail ", "中\u3000",
    "<script>alert(1)</script>", "{site_name}", "'); DROP TABLE sites; --", "emoji 🌲 & 〔2022〕142号",
]
XML = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))


def _chained(arr: pa.Array, pairs) -> list:
    for old, new in pairs:
        arr = pc.replace_substring(arr, old, new)
    return arr.to_pylist()


@pytest.mark.parametrize("typ", [pa.string(), pa.large_string()])
@pytest.mark.parametrize("rows", [HOSTILE, [v for v in HOSTILE if v is None or not set("&<>\\\"") & set(v)],
                                  ["plain"] * 50, [None, None], []])
def test_replace_literals_is_chained_replace_substring(typ, rows):
    arr = pa.array(rows, typ)
    for sl in (arr, arr.slice(min(3, len(arr)))):
        for pairs in (XML, (("\\", "\\\\"), ('"', '\\"')), (("项目", "工程"),)):
            out = replace_literals(sl, pairs)
            assert out.type == sl.type
            assert out.to_pylist() == _chained(sl, pairs)
    assert [xml_escape(v) if v is not None else None for v in rows] == replace_literals(arr, XML).to_pylist()


def test_a_column_with_nothing_to_replace_is_returned_as_it_is():
    arr = pa.array(["项目“甲”"] * 1000 + [None])
    assert replace_literals(arr, XML) is arr


def test_has_bytes_finds_needles_and_control_bytes():
    assert not has_bytes("普通文本 plain".encode())
    assert has_bytes(b"a&b", (b"&",)) and not has_bytes(b"ab", (b"&",))
    assert has_bytes(b"a\tb") and not has_bytes(b"a\tb\n", control=b"\t\n")
    assert has_bytes(b"a\x0bb", control=b"\t\n") and has_bytes(b"\x00")
    assert has_bytes("\ufffe".encode(), ("\ufffe".encode(),))
    arr = pa.array(["ab", "c\x01"]).slice(0, 1)  # a slice sees only its own bytes
    assert bytes(text_bytes(arr)) == b"ab" and not has_bytes(bytes(text_bytes(arr)))
    chunked = pa.chunked_array([pa.array(["a&"]), pa.array([None, "<b>"])])
    assert bytes(text_bytes(chunked)) == b"a&<b>"
    assert replace_literals(chunked, XML).to_pylist() == ["a&amp;", None, "&lt;b&gt;"]
    assert bytes(text_bytes(pa.array([None, None], pa.string()))) == b""


def test_json_strings_are_json_dumps_on_hostile_text():
    arr = pa.array(HOSTILE * 3)
    out = json_strings(arr).to_pylist()
    assert out == [json.dumps(v, ensure_ascii=False) if v is not None else "null" for v in HOSTILE * 3]
    assert [json.loads(v) for v in out] == HOSTILE * 3


def test_excel_text_escapes_what_it_must_and_nothing_else():
    out = _excel_text(pa.array(HOSTILE)).to_pylist()
    by = dict(zip(HOSTILE, out))
    assert by["A&B <b>x</b>"] == "A&amp;B &lt;b&gt;x&lt;/b&gt;"
    assert by["<script>alert(1)</script>"] == "&lt;script&gt;alert(1)&lt;/script&gt;"
    assert by["\x00nul\x01"] == "_x0000_nul_x0001_" and by["_x0041_ literal"] == "_x005F_x0041_ literal"
    assert by["=1+1"] == "'=1+1"  # a formula is defused
    assert by["项目“甲”与生态保护红线重叠"] == "项目“甲”与生态保护红线重叠"
    # a column of plain text comes back unchanged (and its escape skipped)
    plain = pa.array(["项目“甲”与红线重叠"] * 100)
    assert _excel_text(plain).to_pylist() == plain.to_pylist()


def test_edge_blank_is_the_regular_expression():
    vals = HOSTILE + [" ", "\t", "\x0ca", "a\xa0", "\u3000"]
    for typ in (pa.string(), pa.large_string()):
        a = pa.array(vals * 4, typ)
        for sl in (a, a.slice(7, 30)):
            ref = pc.fill_null(pc.match_substring_regex(sl, r"^\s|\s$"), False).to_numpy(zero_copy_only=False)
            assert np.array_equal(_edge_blank(sl), ref)


# ----------------------------------------------------------------------------- codes of object columns
def _columns() -> dict[str, np.ndarray]:
    """Object columns shaped like the findings': one object repeated per rule, equal texts held by different
    objects, missing values of three kinds, numbers, and mostly distinct messages."""
    rng = np.random.default_rng(7)
    n = 5_000
    basis = np.empty(n, dtype=object)
    basis[:] = ["红线内禁止开发性、生产性建设活动。", "水源保护区内禁止新建排污口。"] * (n // 2)
    twins = np.array(["".join(["同", "一"]) for _ in range(n)], dtype=object)  # equal text, distinct objects
    missing = np.array([None, np.nan, pd.NA, "a", "b"] * (n // 5), dtype=object)
    ids = np.array([int(i) for i in rng.integers(0, 50, n)], dtype=object)
    mixed = np.array(["x", 1, 1.5, None, "x"] * (n // 5), dtype=object)
    rare = np.full(n, "常量", dtype=object)
    rare[rng.integers(0, n, 30)] = "例外"
    msgs = np.array([f"项目{i}与红线重叠{i % 97}公顷" for i in range(n)], dtype=object)
    some_twins = basis.copy()  # mostly two objects, a tenth of the rows equal copies of them
    for i in rng.integers(0, n, n // 10):
        some_twins[i] = "".join(list(basis[i]))
    return {"basis": basis, "some_twins": some_twins, "twins": twins, "missing": missing, "ids": ids, "mixed": mixed, "rare": rare,
            "messages": msgs, "sliced": basis[::3], "small": basis[:10], "empty": basis[:0]}


@pytest.mark.parametrize("name", list(_columns()))
def test_factorize_objects_is_pandas_factorize(name):
    v = _columns()[name]
    codes, uniq = factorize_objects(v)
    ref_codes, ref_uniq = pd.factorize(v)
    assert np.array_equal(codes, ref_codes)
    assert len(uniq) == len(ref_uniq)
    assert all(a is b or a == b for a, b in zip(uniq, ref_uniq))


def test_unique_objects_codes_by_identity_in_order_of_first_appearance():
    a, b = "同一", "".join(["同", "一"])
    assert a == b and a is not b
    v = np.array([a, b, a, None, b, a] * 400, dtype=object)
    codes, objs = unique_objects(v)
    assert len(objs) == 3 and objs[0] is a and objs[1] is b and objs[2] is None
    assert np.array_equal(codes[:6], [0, 1, 0, 2, 1, 0])
    assert all(objs[c] is x for c, x in zip(codes, v))
