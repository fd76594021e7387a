"""The text of each value of a column, for text formats (COPY, KML), built per column.

:func:`column_text` gives what ``str()`` (or psycopg's text dumpers) gives value
for value, with pandas, numpy and Arrow kernels per column and, in object
columns, per group of values of one type.  Styles:

* ``"copy"``: psycopg's text dumpers after the PostGIS workspace's cleaning
  (numpy scalars as Python ones): ``t``/``f`` for booleans, ``str()`` of numbers,
  dates and times; other types by the given dumper;
* ``"str"``: ``str()`` of each cleaned value (``True``/``False``);
* ``"plain"``: ``str()`` of each value as pandas yields it (a ``numpy.float32``
  in an object column keeps its own text ``0.1``).

A missing value (``None``, NaN, ``NaT``, ``pd.NA``) is null in the result.
"""

from __future__ import annotations

from typing import Any, Callable, Literal, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Style = Literal["copy", "str", "plain"]
#: Dumps a list of values to their text (``None`` for NULL): psycopg's dumpers in style ``"copy"``.
Dump = Callable[[list[Any]], list[Any]]

TEXT = pa.large_string()
#: SQL types whose input parses a number: any exact decimal text of a float gives the same value there.
NUMERIC_TARGETS = ("double precision", "real", "numeric", "float8", "float4", "decimal")


def _float_text(x: np.ndarray, target: str) -> pa.Array:
    """``str(float(v))`` of each value (NaN as null); into a numeric column, Arrow's shortest text.

    Arrow's shortest text of a float is the same decimal number as Python's
    ``repr`` (only the notation differs, ``1e+16`` or ``-0``), so a numeric
    column stores the same value.
    """
    nan = np.isnan(x)
    if target.lower() in NUMERIC_TARGETS:
        return pc.cast(pa.array(x, type=pa.float64(), mask=nan), TEXT)
    return pa.array(x.astype(str), type=TEXT, mask=nan)  # numpy's float64 text is Python's repr, digit for digit


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
    out = pc.replace_substring(pa.array(text, type=TEXT), "T", " ", max_replacements=1)
    return pc.if_else(pa.array(nat), pa.scalar(None, TEXT), out)


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
            elif t is float or t is np.float64 or (issubclass(t, np.floating) and style != "plain"):
                text[at] = _float_text(group.astype(np.float64), target).to_numpy(zero_copy_only=False)
            elif style == "copy" and dump is not None:
                text[at] = np.asarray(dump(list(group)), dtype=object)
            else:  # str() as such (pandas' astype(str) would decode bytes)
                text[at] = np.array(list(map(str, group)), dtype=object)
    return pa.array(text, type=TEXT, from_pandas=True)


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
        return pa.array(np.where(s.to_numpy(dtype=bool, na_value=False), yes, no), type=TEXT, mask=mask)
    if pd.api.types.is_integer_dtype(dt):
        return pc.cast(pa.array(s, from_pandas=True), TEXT)
    if pd.api.types.is_float_dtype(dt):
        return _float_text(s.to_numpy(dtype=np.float64, na_value=np.nan), target)
    if pd.api.types.is_datetime64_dtype(dt) and isinstance(dt, np.dtype):
        done = _datetime_text(s)
        if done is not None:
            return done
    if isinstance(dt, pd.StringDtype):
        return pa.array(s.to_numpy(dtype=object, na_value=None), type=TEXT, from_pandas=True)
    o = s.astype(object).to_numpy(dtype=object)
    if pd.api.types.infer_dtype(o, skipna=True) in ("string", "empty"):
        return pa.array(o, type=TEXT, from_pandas=True)
    return _object_text(o, style, target, dump)


def constant_text(value: str | None, n: int) -> pa.Array:
    """A column of ``n`` times the same text (or NULL)."""
    return pa.array(np.full(n, value, dtype=object), type=TEXT)
