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


# ----------------------------------------------------------------------------- codes of object columns
#: Below this many values pandas' own hashing is as fast.
SMALL_COLUMN = 1_000


def _addresses(values: np.ndarray) -> np.ndarray:
    """The address (CPython's ``id``) of each object of a contiguous object array, as integers.

    Read from the array's buffer of object pointers (no call per element); on
    other Pythons, ``id`` element by element.
    """
    import sys

    if sys.implementation.name == "cpython" and values.flags.c_contiguous:
        import ctypes

        buf = (ctypes.c_ssize_t * len(values)).from_address(values.ctypes.data)
        return np.frombuffer(buf, dtype=np.intp).copy()  # copied: the view must not outlive ``values``
    return np.frompyfunc(id, 1, 1)(values).astype(np.int64)


def unique_objects(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """``(code per value, the distinct objects)`` of an object array, by identity, in order of first appearance.

    A column whose rows repeat a few objects (a rule's basis, citation and
    next steps on each of its findings) is coded by hashing the objects'
    addresses (integers) instead of their text: 615,000 rows of one rule's
    basis take 2.5 ms instead of pandas' 176 ms.  Equal values held by
    different objects get different codes here; :func:`factorize_objects`
    merges them.
    """
    v = np.ascontiguousarray(np.asarray(values, dtype=object).reshape(-1))
    codes, _ = pd.factorize(_addresses(v))
    if not len(codes):
        return codes.astype(np.int64), v[:0]
    # codes number the objects in order of first appearance: a new one starts where the running maximum rises
    top = np.maximum.accumulate(codes)
    first = np.flatnonzero(np.r_[True, top[1:] > top[:-1]])
    return codes.astype(np.int64), v[first]


def repeats_objects(values: np.ndarray) -> bool:
    """Whether a long object array repeats few objects, judged on :data:`SMALL_COLUMN` evenly spaced rows
    (at most a quarter of them distinct): then coding it by identity pays."""
    if len(values) < SMALL_COLUMN:
        return False
    probe = np.ascontiguousarray(values[np.linspace(0, len(values) - 1, SMALL_COLUMN).astype(np.int64)])
    return len(np.unique(_addresses(probe))) <= SMALL_COLUMN // 4


def factorize_objects(values: Any) -> tuple[np.ndarray, np.ndarray]:
    """``pandas.factorize(values)`` of an object array (codes, distinct values; missing values coded −1).

    The same codes and values in the same order (first appearance), found by
    hashing each distinct *object* once (:func:`unique_objects`) and only the
    distinct objects by value.  A column of mostly distinct objects (messages)
    is left to pandas at once.
    """
    v = np.ascontiguousarray(np.asarray(values, dtype=object).reshape(-1))
    if not repeats_objects(v):  # few rows, or rows of mostly distinct objects: pandas at once
        codes, uniq = pd.factorize(v)
        return codes.astype(np.int64), np.asarray(uniq, dtype=object)
    obj_codes, objs = unique_objects(v)
    if len(objs) > len(v) // 2:
        codes, uniq = pd.factorize(v)
        return codes.astype(np.int64), np.asarray(uniq, dtype=object)
    val_codes, uniq = pd.factorize(objs)
    return val_codes.astype(np.int64)[obj_codes], np.asarray(uniq, dtype=object)


# ----------------------------------------------------------------------------- escaping whole columns
def group_rows(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(group of each row, first row of each group)`` for the distinct rows of an integer matrix, the groups
    numbered from 0 in the order their first row appears.

    The columns are folded into one 64-bit key when their ranges allow (one hashing pass, ``pandas.factorize``);
    otherwise the rows are sorted as bytes (``np.unique``).  No Python per row.
    """
    m = np.asarray(m)
    if m.ndim == 1:
        m = m[:, None]
    n = len(m)
    if not n:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    m = m.astype(np.int64, copy=False)
    lo, hi = m.min(axis=0), m.max(axis=0)
    span = (hi - lo + 1).astype(float)
    if float(np.prod(span)) < 2.0 ** 62:
        key = np.zeros(n, dtype=np.int64)
        for j in range(m.shape[1]):  # per column (a few), never per row
            key = key * int(span[j]) + (m[:, j] - lo[j])
        codes, uniq = pd.factorize(key)
        codes = np.asarray(codes, dtype=np.int64)
        k = len(uniq)
    else:
        rows = np.ascontiguousarray(m)
        keys = rows.view(np.dtype((np.void, rows.shape[1] * 8))).ravel()
        _, first_sorted, inv = np.unique(keys, return_index=True, return_inverse=True)
        order = np.argsort(first_sorted, kind="stable")
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order))
        codes, k = rank[inv.ravel()], len(order)
    first = np.empty(k, dtype=np.int64)
    first[codes[::-1]] = np.arange(n - 1, -1, -1)  # the last write per group is its first row
    return codes, first


def text_buffers(arr: pa.Array) -> tuple[np.ndarray, memoryview]:
    """``(offsets, data)`` of a string (or large string) array, without a copy: value ``i`` is
    ``data[offsets[i]:offsets[i + 1]]`` (offsets into the whole buffer, so a slice reads only its own values;
    a null or empty value holds no byte)."""
    if len(arr) == 0 or arr.buffers()[2] is None:
        return np.zeros(len(arr) + 1, dtype=np.int64), memoryview(b"")
    wide = pa.types.is_large_string(arr.type) or pa.types.is_large_binary(arr.type)
    off = np.frombuffer(arr.buffers()[1], dtype=np.int64 if wide else np.int32,
                        count=len(arr) + 1 + arr.offset)[arr.offset:]
    return off, memoryview(arr.buffers()[2])


def text_bytes(arr: pa.Array) -> memoryview:
    """The UTF-8 bytes of every value of a string (or large string) array, concatenated, without a copy
    (a chunked array is combined first)."""
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    off, data = text_buffers(arr)
    return data[int(off[0]):int(off[-1])] if len(data) else data


def has_bytes(data: bytes, needles: Sequence[bytes] = (), *, control: bytes = b"") -> bool:
    """Whether ``data`` holds any of ``needles`` or any control byte (0x00–0x1f) not in ``control``.

    A scan at memory speed (``bytes.find`` and ``bytes.translate``), used to skip
    a column-wide regular expression or replacement when nothing in the column
    could match (the usual case: messages hold no ``&``, ``<``, ``"`` or control
    characters).
    """
    if any(n in data for n in needles):
        return True
    found = data.translate(None, _NOT_CONTROL)  # the control bytes present, in order
    return bool(found.translate(None, control)) if found else False


_NOT_CONTROL = bytes(range(0x20, 0x100))


def replace_literals(arr: pa.Array, pairs: Sequence[tuple[str, str]]) -> pa.Array:
    """``arr`` with each ``old`` replaced by ``new``, pair after pair (chained ``replace_substring``).

    Only the rows that hold some ``old`` are rewritten: a scan of the column's
    bytes tells whether any does, a substring match which rows, and
    ``replace_with_mask`` puts those rows back.  A column without any (most
    of them) is returned as it is, at the cost of one scan instead of one
    rewrite of every value per pair (measured on 614,719 messages: 0.1 s
    instead of 1.5 s for ``& < >``).  Nulls stay null.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    data = bytes(text_bytes(arr))
    olds = [old for old, _ in pairs if old and old.encode("utf-8") in data]
    if not olds:
        return arr
    mask = pc.fill_null(pc.match_substring(arr, olds[0]), False)
    for old in olds[1:]:
        mask = pc.or_(mask, pc.fill_null(pc.match_substring(arr, old), False))
    sub = arr.filter(mask)
    for old, new in pairs:
        sub = pc.replace_substring(sub, old, new)
    return pc.replace_with_mask(arr, mask, sub.cast(arr.type))


# ----------------------------------------------------------------------------- fixed-point numbers
_SPLIT = 134217729.0  # 2**27 + 1, Dekker's splitter
#: Scaled magnitudes from here on are formatted by Python (beyond exact integers in a float).
_EXACT_LIMIT = float(2 ** 52)


def _two_product_error(a: np.ndarray, b: float) -> np.ndarray:
    """The exact rounding error of ``a * b`` (``a * b`` equals ``fl(a*b)`` plus this, exactly)."""
    p = a * b
    c = _SPLIT * a
    ah = c - (c - a)
    al = a - ah
    d = _SPLIT * b
    bh = d - (d - b)
    bl = b - bh
    return ((ah * bh - p) + ah * bl + al * bh) + al * bl


def _digits(ints: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(ints, type=pa.int64()), TEXT)


def _grouped(ints: np.ndarray) -> pa.Array:
    """Non-negative integers with thousands separators (``1,234,567``), one Arrow pass per digit group."""
    low, rest = ints % 1000, ints // 1000
    has = rest > 0
    if not has.any():  # every value below 1,000 (the usual hectares): no separators, one cast
        return _digits(low)
    out = pc.if_else(pa.array(has), pc.utf8_lpad(_digits(low), 3, "0"), _digits(low))
    while has.any():
        low, nxt = rest % 1000, rest // 1000
        more = nxt > 0
        piece = pc.if_else(pa.array(more), pc.utf8_lpad(_digits(low), 3, "0"), _digits(low))
        out = pc.if_else(pa.array(has), pc.binary_join_element_wise(piece, out, pa.scalar(",", TEXT)), out)
        rest, has = nxt, more
    return out


def fixed_text(x: np.ndarray, precision: int, *, commas: bool = False, nan: str = "nan") -> pa.Array:
    """``f"{v:.{precision}f}"`` (``f"{v:,.{precision}f}"`` with ``commas``) of each value, as Arrow text.

    Correctly rounded as Python rounds (ties to even on the exact binary value:
    the product with ``10**precision`` is split into its rounded value and its
    exact error), ``-0.00`` kept; NaN is ``nan``, infinities ``inf``/``-inf``.
    Values whose scaled magnitude is beyond exact integers are formatted by
    Python itself.  No Python call per value otherwise.
    """
    x = np.asarray(x, dtype=np.float64)
    scale = 10.0 ** precision
    with np.errstate(invalid="ignore", over="ignore"):
        a = np.abs(np.where(np.isfinite(x), x, 0.0))
        exact = np.isfinite(x) & (a * scale < _EXACT_LIMIT)
        a = np.where(exact, a, 0.0)
        hi = a * scale
        lo = _two_product_error(a, scale)
    whole = np.floor(hi)
    frac = hi - whole  # exact: whole and hi are within one unit
    # the exact value is whole + frac + lo, |lo| at most half a unit in the last place of hi
    up = (frac > 0.5) | ((frac == 0.5) & ((lo > 0) | ((lo == 0) & (np.fmod(whole, 2.0) == 1.0))))
    n = whole.astype(np.int64) + up
    unit = 10 ** precision
    text = _grouped(n // unit) if commas else _digits(n // unit)
    if precision > 0:
        digits = pc.utf8_lpad(_digits(n % unit), width=precision, padding="0")
        text = pc.binary_join_element_wise(text, digits, pa.scalar(".", TEXT))
    neg = np.signbit(x) & exact
    if neg.any():
        text = pc.if_else(pa.array(neg), pc.binary_join_element_wise(pa.scalar("-", TEXT), text, pa.scalar("", TEXT)),
                          text)
    if not exact.all():  # NaN, infinities and huge values: Python's own text (NaN as ``nan``)
        pos = np.flatnonzero(~exact)
        spec = f"{{:{',' if commas else ''}.{precision}f}}"
        repl = [nan if v != v else spec.format(v) for v in x[pos].tolist()]
        text = pc.replace_with_mask(text, pa.array(~exact), pa.array(repl, type=TEXT))
    return text.cast(TEXT)
