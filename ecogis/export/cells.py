"""Spreadsheet-safe cells: no text from data ever becomes a formula (CSV / formula injection).

A spreadsheet program opening a CSV treats a cell that starts with ``=``,
``+``, ``-`` or ``@`` (also after leading spaces or a TAB) — or with a TAB or
CR — as a formula: a site name ``=HYPERLINK("http://…","点击")`` becomes a
live link, ``=cmd|' /C calc'!A0`` a DDE call.  Following OWASP's advice
(https://owasp.org/www-community/attacks/CSV_Injection), every CSV ecogis
writes goes through :func:`write_csv`, which prefixes such *text* cells with
an apostrophe ``'`` (shown by no spreadsheet as part of the value once
typed, but kept in the file).

Only text is changed.  Numbers stay numbers: a float column of negative
longitudes is written as ``-116.5``, not ``'-116.5``; so is a text cell that
is exactly a plain decimal number (``"-116.5"``, ``"+3"``), which no
spreadsheet evaluates as anything but that number.  Reading a checklist back
(:func:`undefuse_text`) removes the apostrophe again.

XLSX cells are typed: :func:`literal_workbook` stores every text cell as a
string (openpyxl would otherwise store text starting with ``=`` as a
formula), so the text comes out literally with no apostrophe.
"""

from __future__ import annotations

import csv
import io
import os
import re
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from ecogis.fileutil import atomic_path

__all__ = ["column_letter", "defuse_text", "defuse_cell", "defuse_frame", "defuse_strings", "undefuse_text", "write_csv",
           "write_rows_csv", "literal_workbook"]

#: Characters that make a spreadsheet read a cell as a formula.
TRIGGERS = ("=", "+", "-", "@")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def _dangerous(text: str) -> bool:
    if not text:
        return False
    if text[0] in ("\t", "\r"):
        return True
    head = text.lstrip(" \t\r\n\u3000")
    if not head or head[0] not in TRIGGERS:
        return False
    return not _NUMBER.fullmatch(text.strip())


def defuse_text(text: str) -> str:
    """``text`` with a leading ``'`` if a spreadsheet would read it as a formula."""
    return "'" + text if _dangerous(text) else text


def defuse_cell(value: Any) -> Any:
    """:func:`defuse_text` for text; any other value (numbers, dates, None) as it is."""
    return defuse_text(value) if isinstance(value, str) else value


#: What may start a dangerous cell (the exact test, :func:`_dangerous`, runs on these only).
_CANDIDATE = "^[\t\r]|^[ \t\r\n\u3000]*[=+\\-@]"


def defuse_strings(values: Any) -> Any:
    """:func:`defuse_text` for a whole Arrow string array (nulls stay null), vectorised.

    A regular expression finds the cells that could be dangerous (those
    starting with a trigger, after blanks); the exact test of
    :func:`defuse_text` runs on those few only, so the result is the same
    as defusing cell by cell.  Accepts a ``pyarrow`` (chunked) string array
    and returns a ``pyarrow.StringArray``.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
    if not pa.types.is_string(arr.type):
        arr = arr.cast(pa.string())
    cand = pc.fill_null(pc.match_substring_regex(arr, _CANDIDATE), False)
    pos = pc.indices_nonzero(cand).to_numpy()
    if not len(pos):
        return arr
    texts = arr.take(pa.array(pos)).to_pylist()
    hit = [_dangerous(t) for t in texts]
    if not any(hit):
        return arr
    mask = np.zeros(len(arr), dtype=bool)
    mask[pos] = hit
    return pc.if_else(pa.array(mask), pc.binary_join_element_wise("'", arr, ""), arr)


def undefuse_text(text: str) -> str:
    """Undo :func:`defuse_text` (for checklists read back): ``'=1+1`` → ``=1+1``."""
    if isinstance(text, str) and text.startswith("'") and _dangerous(text[1:]):
        return text[1:]
    return text


def defuse_frame(df: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` whose text cells are defused (numeric columns untouched); headers too."""
    out = df.copy()
    for c in out.columns:
        s = out[c]
        if pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s) \
                or pd.api.types.is_datetime64_any_dtype(s):
            continue
        out[c] = s.map(defuse_cell)
    out.columns = [defuse_cell(c) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | os.PathLike, *, encoding: str = "utf-8-sig", **kwargs: Any) -> Path:
    """``df.to_csv`` with every text cell defused, written atomically."""
    kwargs.setdefault("index", False)
    # CRLF rows: the csv module quotes a field holding any character of the line terminator, so a
    # bare CR in a value is quoted too (with "\n" alone it is not, and a reader sees a new row).
    kwargs.setdefault("lineterminator", "\r\n")
    safe = defuse_frame(df)
    with atomic_path(path) as tmp:
        safe.to_csv(tmp, encoding=encoding, **kwargs)
    return Path(path)


def write_rows_csv(header: Sequence[Any], rows: Iterable[Sequence[Any]], path: str | os.PathLike, *,
                   encoding: str = "utf-8-sig", lineterminator: str = "\r\n") -> Path:
    """Rows (lists of values) to a CSV with every text cell defused, written atomically."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator=lineterminator)
    w.writerow([defuse_cell(h) for h in header])
    for row in rows:
        w.writerow([defuse_cell(v) for v in row])
    with atomic_path(path) as tmp:
        tmp.write_text(buf.getvalue(), encoding=encoding, newline="")
    return Path(path)


def literal_workbook(book: Any) -> Any:
    """Store every text cell of an openpyxl workbook as a string, never a formula; return the book."""
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "f" and isinstance(cell.value, str):
                    cell.data_type = "s"
    return book


def column_letter(j: int) -> str:
    """Spreadsheet column letters of the 0-based column index ``j`` (0 → A, 25 → Z, 26 → AA)."""
    s = ""
    j += 1
    while j:
        j, r = divmod(j - 1, 26)
        s = chr(65 + r) + s
    return s
