"""PostgreSQL ``COPY ... FROM STDIN`` text built column by column.

What psycopg's ``Copy.write_row`` sends for one row at a time, built for whole
columns with pandas, numpy and Arrow kernels: each value as its text (``None``,
NaN, ``NaT`` and ``pd.NA`` as ``\\N``), backspace, tab, newline, vertical tab,
form feed, carriage return and backslash escaped with a backslash, fields joined
by tabs and rows ended by newlines.

Two text styles:

* ``"copy"``: psycopg's text dumpers (``t``/``f`` for booleans, ``str()`` of
  numbers, dates and times);
* ``"str"``: ``str()`` of every value (``True``/``False``), as the ledger stores
  its text columns.

Values of types without a kernel (``Decimal``, ``bytes``, ``date`` and the like
in object columns) are grouped by type and dumped group by group, by psycopg's
own dumpers (style ``"copy"``) or ``str`` (style ``"str"``).
"""

from __future__ import annotations

from typing import Any, Callable, Iterator, Literal, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Style = Literal["copy", "str"]
#: Dumps a list of values to their text (``None`` for NULL): psycopg's dumpers in style ``"copy"``.
Dump = Callable[[list[Any]], list[Any]]

NULL = "\\N"
#: Rows per buffer handed to ``Copy.write``.
CHUNK_ROWS = 50_000
_TEXT = pa.large_string()
# psycopg's COPY escapes (backslash first, so the inserted ones stay single)
_ESCAPES = (("\\", "\\\\"), ("\b", "\\b"), ("\t", "\\t"), ("\n", "\\n"), ("\v", "\\v"), ("\f", "\\f"),
            ("\r", "\\r"))
_SPECIAL = "[\\x08\\t\\n\\x0b\\x0c\\r\\\\]"
#: SQL types whose input parses a number: any exact decimal text of a float gives the same value there.
_NUMERIC_TARGETS = ("double precision", "real", "numeric", "float8", "float4", "decimal")
_DIGITS = np.frombuffer(b"0123456789ABCDEF", dtype=np.uint8)
#: Two hex digits of each byte value, as one little-endian uint16 (first digit in the low byte).
_HEX = (_DIGITS[np.arange(256) >> 4].astype("<u2") | (_DIGITS[np.arange(256) & 15].astype("<u2") << 8))


def psycopg_dump(conn: Any) -> Dump:
    """A :data:`Dump` by the text dumpers of ``conn`` (what ``write_row`` would send), decoded."""
    from psycopg.adapt import PyFormat, Transformer

    tx = Transformer(conn)
    enc = conn.info.encoding if conn is not None else "utf-8"

    def dump(values: list[Any]) -> list[Any]:
        out = tx.dump_sequence(values, [PyFormat.TEXT] * len(values))
        return [None if b is None else bytes(b).decode(enc) for b in out]

    return dump


def _float_text(x: np.ndarray, target: str) -> pa.Array:
    """``str(float(v))`` of each value (NaN as null); into a numeric column, Arrow's shortest text.

    Arrow's shortest text of a float is the same decimal number as Python's
    ``repr`` (only the notation differs, ``1e+16`` or ``-0``), so a numeric
    column stores the same value.
    """
    nan = np.isnan(x)
    if target.lower() in _NUMERIC_TARGETS:
        return pc.cast(pa.array(x, type=pa.float64(), mask=nan), _TEXT)
    return pa.array(x.astype(str), type=_TEXT, mask=nan)  # numpy's float64 text is Python's repr, digit for digit


def hex_ewkb(geoms: np.ndarray, srid: int) -> pa.Array:
    """Hex EWKB (upper case, with ``srid``) of each geometry, as ``shapely.to_wkb(hex=True)`` writes it."""
    import shapely

    wkb = pa.array(shapely.to_wkb(shapely.set_srid(np.asarray(geoms, dtype=object), srid), include_srid=True),
                   type=pa.large_binary())
    validity, offsets, data = wkb.buffers()
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, dtype=np.uint8)
    pos = np.frombuffer(offsets, dtype=np.int64)[wkb.offset:wkb.offset + len(wkb) + 1]
    return pa.LargeStringArray.from_buffers(len(wkb), pa.py_buffer(pos * 2), pa.py_buffer(_HEX[raw]),
                                            validity, wkb.null_count)


def _datetime_text(s: pd.Series) -> pa.Array | None:
    """``str(Timestamp)`` of each value of a naive datetime64 column (None when a year has not 4 digits)."""
    v = s.to_numpy()
    nat = np.isnat(v)
    years = v[~nat].astype("datetime64[Y]").astype(np.int64) + 1970
    if len(years) and (years.min() < 1 or years.max() > 9999):
        return None
    unit = np.datetime_data(v.dtype)[0]
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}.get(unit)
    if per_second is None:
        return None
    ticks = np.mod(v.view(np.int64), per_second) * (10**9 // per_second)  # nanoseconds in the second
    text = np.datetime_as_string(v, unit="ns" if unit == "ns" else "us")
    # pandas writes nanoseconds when there are any, else microseconds when there are any, else whole seconds
    keep = np.where(ticks % 1000 != 0, 29, np.where(ticks != 0, 26, 19))
    text = np.where(keep == 29, text, np.where(keep == 26, text.astype("U26"), text.astype("U19")))
    out = pc.replace_substring(pa.array(text, type=_TEXT), "T", " ", max_replacements=1)
    return pc.if_else(pa.array(nat), pa.scalar(None, _TEXT), out)


def _object_text(o: np.ndarray, style: Style, target: str, dump: Dump | None) -> pa.Array:
    """Text of an object column: values grouped by type, each group converted at once."""
    null = np.asarray(pd.isna(o), dtype=bool)
    text = np.full(len(o), None, dtype=object)
    pos = np.flatnonzero(~null)
    if len(pos):
        types = pd.Series(o[pos], dtype=object).map(type)
        codes, kinds = pd.factorize(types)
        for k, t in enumerate(kinds):
            at = pos[codes == k]
            group = o[at]
            if t is str or t is np.str_:
                text[at] = group
            elif t is bool or t is np.bool_:
                yes, no = ("t", "f") if style == "copy" else ("True", "False")
                text[at] = np.where(group.astype(bool), yes, no)
            elif t is int or issubclass(t, np.integer):
                text[at] = pd.Series(group, dtype=object).astype(str).to_numpy(dtype=object)
            elif t is float or issubclass(t, np.floating):
                text[at] = _float_text(group.astype(np.float64), target).to_numpy(zero_copy_only=False)
            elif style == "copy" and dump is not None:
                text[at] = np.asarray(dump(list(group)), dtype=object)
            else:  # str() as such (pandas' astype(str) would decode bytes)
                text[at] = np.array(list(map(str, group)), dtype=object)
    return pa.array(text, type=_TEXT, from_pandas=True)


def column_text(values: pd.Series | np.ndarray | Sequence[Any], *, style: Style = "copy", target: str = "text",
                dump: Dump | None = None) -> pa.Array:
    """The unescaped text of each value of a column (null for a missing value).

    ``target`` is the SQL type of the column the values go to: into a numeric
    column a float may be written in any text of the same decimal number.
    """
    s = values if isinstance(values, pd.Series) else pd.Series(values, dtype=object)
    s = s.reset_index(drop=True)
    dt = s.dtype
    if pd.api.types.is_bool_dtype(dt):
        yes, no = ("t", "f") if style == "copy" else ("True", "False")
        mask = s.isna().to_numpy(dtype=bool)
        return pa.array(np.where(s.to_numpy(dtype=bool, na_value=False), yes, no), type=_TEXT, mask=mask)
    if pd.api.types.is_integer_dtype(dt):
        return pc.cast(pa.array(s, from_pandas=True), _TEXT)
    if pd.api.types.is_float_dtype(dt):
        return _float_text(s.to_numpy(dtype=np.float64, na_value=np.nan), target)
    if pd.api.types.is_datetime64_dtype(dt) and isinstance(dt, np.dtype):
        done = _datetime_text(s)
        if done is not None:
            return done
    if isinstance(dt, pd.StringDtype):
        return pa.array(s.to_numpy(dtype=object, na_value=None), type=_TEXT, from_pandas=True)
    o = s.astype(object).to_numpy(dtype=object)
    if pd.api.types.infer_dtype(o, skipna=True) in ("string", "empty"):
        return pa.array(o, type=_TEXT, from_pandas=True)
    return _object_text(o, style, target, dump)


def constant_text(value: str | None, n: int) -> pa.Array:
    """A column of ``n`` times the same text (or NULL)."""
    return pa.array(np.full(n, value, dtype=object), type=_TEXT)


def escape(text: pa.Array) -> pa.Array:
    """COPY-escape a text column and write NULL as ``\\N``; refuses NUL with psycopg's error."""
    text = text.cast(_TEXT)
    if len(text) and pc.any(pc.match_substring(text, "\x00")).as_py():
        from psycopg import DataError

        raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    if len(text) and pc.any(pc.match_substring_regex(text, _SPECIAL)).as_py():
        for old, new in _ESCAPES:
            text = pc.replace_substring(text, old, new)
    return pc.fill_null(text, pa.scalar(NULL, _TEXT))


def copy_buffers(columns: Sequence[pa.Array], n: int, *, chunk_rows: int = CHUNK_ROWS) -> Iterator[pa.Buffer]:
    """COPY text of ``n`` rows of the escaped ``columns`` (see :func:`escape`), ``chunk_rows`` rows per buffer."""
    if not columns:
        for lo in range(0, n, chunk_rows):
            yield pa.py_buffer(b"\n" * (min(n, lo + chunk_rows) - lo))
        return
    for lo in range(0, n, chunk_rows):
        part = [c.slice(lo, chunk_rows) for c in columns]
        rows = part[0] if len(part) == 1 else pc.binary_join_element_wise(*part, pa.scalar("\t", _TEXT))
        rows = pc.binary_join_element_wise(rows, pa.scalar("", _TEXT), pa.scalar("\n", _TEXT)).cast(_TEXT)
        offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset:rows.offset + len(rows) + 1]
        yield rows.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def write_copy(cp: Any, columns: Sequence[pa.Array], n: int, *, encoding: str = "utf-8",
               plain: Sequence[int] = ()) -> None:
    """Send the rows of ``columns`` (unescaped text, nulls for NULL) to the psycopg ``Copy`` ``cp`` in bulk.

    ``plain`` lists the columns whose text needs no escape (digits, hex): only their NULLs are written.
    """
    escaped = [pc.fill_null(c.cast(_TEXT), pa.scalar(NULL, _TEXT)) if j in plain else escape(c)
               for j, c in enumerate(columns)]
    utf8 = encoding.replace("_", "-").lower() in ("utf-8", "utf8")
    for buf in copy_buffers(escaped, n):
        cp.write(memoryview(buf) if utf8 else buf.to_pybytes().decode("utf-8"))
