"""PostgreSQL ``COPY ... FROM STDIN`` text of whole columns.

What psycopg's ``Copy.write_row`` sent one row at a time, built for whole
columns: each value's text by :func:`ecogis.textcolumns.column_text`, NULL as
``\\N``, backspace, tab, newline, vertical tab, form feed, carriage return and
backslash escaped with a backslash (as psycopg escapes them), fields joined by
tabs and rows ended by newlines, handed to ``Copy.write`` in large buffers.
"""

from __future__ import annotations

from typing import Any, Iterator, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ecogis.textcolumns import TEXT, Dump, column_text, constant_text, replace_literals

__all__ = ["column_text", "constant_text", "copy_buffers", "escape", "hex_ewkb", "psycopg_dump", "write_copy"]

NULL = "\\N"
#: Rows per buffer handed to ``Copy.write``.
CHUNK_ROWS = 50_000
# psycopg's COPY escapes (backslash first, so the inserted ones stay single)
_ESCAPES = (("\\", "\\\\"), ("\b", "\\b"), ("\t", "\\t"), ("\n", "\\n"), ("\v", "\\v"), ("\f", "\\f"),
            ("\r", "\\r"))
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


def escape(text: pa.Array) -> pa.Array:
    """COPY-escape a text column and write NULL as ``\\N``; refuses NUL with psycopg's error."""
    text = text.cast(TEXT)
    if len(text) and pc.any(pc.match_substring(text, "\x00")).as_py():
        from psycopg import DataError

        raise DataError("PostgreSQL text fields cannot contain NUL (0x00) bytes")
    text = replace_literals(text, _ESCAPES)  # only the rows holding one of them are rewritten
    return pc.fill_null(text, pa.scalar(NULL, TEXT))


def copy_buffers(columns: Sequence[pa.Array], n: int, *, chunk_rows: int = CHUNK_ROWS) -> Iterator[pa.Buffer]:
    """COPY text of ``n`` rows of the escaped ``columns`` (see :func:`escape`), ``chunk_rows`` rows per buffer."""
    if not columns:
        for lo in range(0, n, chunk_rows):
            yield pa.py_buffer(b"\n" * (min(n, lo + chunk_rows) - lo))
        return
    for lo in range(0, n, chunk_rows):
        part = [c.slice(lo, chunk_rows) for c in columns]
        rows = part[0] if len(part) == 1 else pc.binary_join_element_wise(*part, pa.scalar("\t", TEXT))
        rows = pc.binary_join_element_wise(rows, pa.scalar("", TEXT), pa.scalar("\n", TEXT)).cast(TEXT)
        offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64)[rows.offset:rows.offset + len(rows) + 1]
        yield rows.buffers()[2].slice(int(offsets[0]), int(offsets[-1] - offsets[0]))


def write_copy(cp: Any, columns: Sequence[pa.Array], n: int, *, encoding: str = "utf-8",
               plain: Sequence[int] = ()) -> None:
    """Send the rows of ``columns`` (unescaped text, nulls for NULL) to the psycopg ``Copy`` ``cp`` in bulk.

    ``plain`` lists the columns whose text needs no escape (digits, hex): only their NULLs are written.
    """
    utf8 = encoding.replace("_", "-").lower() in ("utf-8", "utf8")
    step = CHUNK_ROWS
    for lo in range(0, n, step):  # escaped chunk by chunk: one chunk's escaped copy in memory at a time
        part = [c.slice(lo, step) for c in columns]
        escaped = [pc.fill_null(c.cast(TEXT), pa.scalar(NULL, TEXT)) if j in plain else escape(c)
                   for j, c in enumerate(part)]
        for buf in copy_buffers(escaped, len(part[0]) if part else min(step, n - lo), chunk_rows=step):
            cp.write(memoryview(buf) if utf8 else buf.to_pybytes().decode("utf-8"))
