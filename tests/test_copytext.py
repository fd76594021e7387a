"""COPY text built column by column equals what psycopg's write_row sent row by row.

The reference is the per-row path the PostGIS workspace used before: ``_cell``
on each value, then psycopg's own ``_format_row_text`` (text dumpers and COPY
escapes) per row.  No database is needed.
"""

from __future__ import annotations

import datetime as dt
import decimal
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import shapely

psycopg = pytest.importorskip("psycopg")
from psycopg._copy_base import _format_row_text  # noqa: E402
from psycopg.adapt import Transformer  # noqa: E402

from ecogis.workspace import copytext as T  # noqa: E402

HOSTILE = ["'); DROP TABLE x; --", "<script>alert(1)</script>", "a\tb\nc\rd\\e\bf\vg\fh\\N", "名称 🌿 ünïcode",
           "x" * 100_000, "", " ", "\\", "=1+2", "\u2028\u2029"]


def _cell(v: Any) -> Any:
    """The per-row cleaning of the PostGIS workspace before the bulk path (the reference)."""
    if v is None:
        return None
    if isinstance(v, float) and np.isnan(v):
        return None
    if v is pd.NaT or (not isinstance(v, (str, bytes)) and pd.isna(v) is True):
        return None
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating,)):
        return float(v)
    if isinstance(v, (np.bool_,)):
        return bool(v)
    return v


def _row_by_row(df: pd.DataFrame, style: str) -> bytes:
    tx = Transformer(None)
    values = [df[c].astype(object).to_numpy() for c in df.columns]
    out = bytearray()
    for i in range(len(df)):
        row = [_cell(v[i]) for v in values]
        if style == "str":  # the ledger: str() of each present value
            row = [None if x is None else str(x) for x in row]
        _format_row_text(row, tx, out)
    return bytes(out)


class _Sink:
    def __init__(self) -> None:
        self.data = bytearray()
        self.writes = 0

    def write(self, buf: Any) -> None:
        self.data += bytes(buf) if not isinstance(buf, str) else buf.encode()
        self.writes += 1


def _bulk(df: pd.DataFrame, style: str, targets: dict[str, str] | None = None, **kw: Any) -> bytes:
    dump = T.psycopg_dump(None)
    cols = [T.column_text(df[c], style=style, target=(targets or {}).get(c, "text"), dump=dump) for c in df.columns]
    sink = _Sink()
    T.write_copy(sink, cols, len(df), **kw)
    return bytes(sink.data)


def _frame(n: int = 60) -> pd.DataFrame:
    rng = np.random.default_rng(13)
    mixed = [1, "2", 3.5, None, np.nan, True, np.int64(7), np.float32(0.1), dt.date(2024, 1, 2),
             decimal.Decimal("1.10"), b"ab\\", pd.Timestamp("2024-01-01 00:00:00.5"), pd.NaT, pd.NA, 1e16, -0.0,
             float("inf"), 10**30, np.bool_(False), "3.0", HOSTILE[2]]
    text = (HOSTILE + [None, np.nan]) * (n // 12 + 1)
    return pd.DataFrame({
        "text": text[:n],
        "mixed": (mixed * (n // len(mixed) + 1))[:n],  # numbers, flags and dates in a text column
        "int": rng.integers(-10**12, 10**12, n),
        "Int64": pd.array([*range(n - 2), None, None], dtype="Int64"),
        "float": np.r_[rng.standard_normal(n - 6) * 10.0 ** rng.integers(-20, 20, n - 6),
                       np.nan, np.inf, -np.inf, -0.0, 1e16, 1e-5],
        "float32": np.float32(np.r_[np.linspace(0, 1, n - 1), np.nan]),
        "bool": np.arange(n) % 3 == 0,
        "boolean": pd.array(([True, False, None] * n)[:n], dtype="boolean"),
        "naive": pd.to_datetime((["2024-01-01", "1960-05-06 12:30:00.000001", None,
                                  "2024-01-01 00:00:00.123456789", "1900-02-28 23:59:59"] * n)[:n], format="ISO8601"),
        "ms": pd.to_datetime((["2024-01-01 00:00:00.5", None] * n)[:n]).astype("datetime64[ms]"),
        "s": pd.to_datetime((["2024-06-01 10:00:00", None] * n)[:n]).astype("datetime64[s]"),
        "tz": pd.to_datetime((["2024-01-01 08:00", None, "2024-07-01 00:00:00.25"] * n)[:n], format="ISO8601").tz_localize("Asia/Shanghai"),
        "category": pd.Categorical((["a", "b", None, "<b>"] * n)[:n]),
        "str": pd.array((HOSTILE[:5] + [None]) * (n // 6 + 1), dtype="str")[:n],
        "empty": [None] * n,
    })


@pytest.mark.parametrize("style", ["copy", "str"])
def test_bulk_copy_text_is_the_row_by_row_text_byte_for_byte(style):
    df = _frame()
    assert _bulk(df, style) == _row_by_row(df, style)


def test_each_column_alone_and_in_small_chunks(monkeypatch):
    df = _frame(25)
    for c in df.columns:
        assert _bulk(df[[c]], "copy") == _row_by_row(df[[c]], "copy"), c
    monkeypatch.setattr(T, "CHUNK_ROWS", 7)
    sink = _Sink()
    cols = [T.column_text(df[c], dump=T.psycopg_dump(None)) for c in df.columns]
    bufs = list(T.copy_buffers([T.escape(c) for c in cols], len(df), chunk_rows=7))
    assert len(bufs) == 4
    T.write_copy(sink, cols, len(df))
    assert b"".join(bytes(b) for b in bufs) == bytes(sink.data) == _row_by_row(df, "copy")


def test_floats_into_a_numeric_column_are_the_same_numbers():
    # into DOUBLE PRECISION, Arrow's shortest text is written: the same decimal number as Python's repr
    rng = np.random.default_rng(1)
    x = np.r_[rng.standard_normal(20_000) * 10.0 ** rng.integers(-300, 300, 20_000), 0.0, -0.0, 5e-324,
              1.7976931348623157e308, np.inf, -np.inf, np.nan, 0.1, 1e16, 123456789.123]
    got = T.column_text(pd.Series(x), target="DOUBLE PRECISION").to_pylist()
    ref = [None if np.isnan(v) else repr(float(v)) for v in x]
    assert [g is None for g in got] == [r is None for r in ref]
    fin = [(g, r) for g, r, v in zip(got, ref, x) if r is not None and np.isfinite(v)]
    assert all(decimal.Decimal(g) == decimal.Decimal(r) for g, r in fin)
    assert [g for g, v in zip(got, x) if np.isinf(v)] == ["inf", "-inf"]
    # and as text (a TEXT column in an append) exactly Python's repr
    assert T.column_text(pd.Series(x), target="text").to_pylist() == ref


def test_naive_datetimes_are_str_of_timestamp():
    rng = np.random.default_rng(2)
    ns = rng.integers(-2 * 10**18, 7 * 10**18, 5000)
    ns[::3] -= ns[::3] % 10**9  # whole seconds
    ns[1::3] -= ns[1::3] % 1000  # whole microseconds
    s = pd.Series(ns.astype("datetime64[ns]"))
    s[::17] = pd.NaT
    ref = [None if v is pd.NaT else str(v) for v in s.astype(object)]
    assert T.column_text(s).to_pylist() == ref
    old = pd.Series(np.array(["0001-01-01", "9999-12-31T23:59:59.5", "NaT"], dtype="datetime64[ms]"))
    assert T.column_text(old).to_pylist() == ["0001-01-01 00:00:00", "9999-12-31 23:59:59.500000", None]


def test_nul_is_refused_with_psycopgs_error():
    df = pd.DataFrame({"a": ["ok", "bad\x00text"]})
    with pytest.raises(psycopg.DataError, match="NUL"):
        _row_by_row(df, "copy")
    with pytest.raises(psycopg.DataError, match="NUL"):
        _bulk(df, "copy")


def test_an_unknown_type_fails_as_in_write_row():
    df = pd.DataFrame({"a": [{"k": 1}, "x"]})
    with pytest.raises(psycopg.ProgrammingError):
        _row_by_row(df, "copy")
    with pytest.raises(psycopg.ProgrammingError):
        _bulk(df, "copy")


def test_hex_ewkb_is_shapelys_hex():
    geoms = np.array([shapely.Point(1, 2), None, shapely.box(0, 0, 1, 1), shapely.Point(), shapely.LineString(),
                      shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 2, 3, 3)]),
                      shapely.Point(1, 2, 3)], dtype=object)
    ref = shapely.to_wkb(shapely.set_srid(geoms, 4490), hex=True, include_srid=True)
    got = T.hex_ewkb(geoms, 4490)
    assert got.to_pylist() == list(ref)
    assert T.hex_ewkb(np.array([], dtype=object), 4490).to_pylist() == []
    sliced = T.hex_ewkb(geoms[2:], 4490)
    assert sliced.to_pylist() == list(ref[2:])


def test_non_utf8_connections_get_text():
    df = _frame(12)
    cols = [T.column_text(df[c], dump=T.psycopg_dump(None)) for c in df.columns]
    sink = _Sink()
    T.write_copy(sink, cols, len(df), encoding="gbk")
    assert bytes(sink.data) == _row_by_row(df, "copy")


def test_no_columns_and_no_rows():
    sink = _Sink()
    T.write_copy(sink, [], 3)
    assert bytes(sink.data) == b"\n\n\n"
    sink = _Sink()
    T.write_copy(sink, [pa.array([], type=pa.large_string())], 0)
    assert bytes(sink.data) == b"" and sink.writes == 0
