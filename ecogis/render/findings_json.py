"""``findings.json`` / ``findings.jsonl`` built column-wise with Arrow string kernels (no Python per finding).

The file holds :meth:`ecogis.ScreenResult.to_document` (the structure of
``ecogis/data/findings.schema.json``) in its stored form, format 2: what is
the same on many rows is written once.  A rule's texts (title, severity,
basis, citation, next steps, rule file and version) are one entry of the
top-level ``rules`` list, and each finding names its entry (``"rule": 0``);
a site's checks (layers checked, rules not evaluated, incomplete rules and
layers: ~1.4 KB that thousands of sites share) are one entry of ``checks``
(``"checks": 0``).  At 40,000 sites and 166,883 findings the file is
104 MB instead of 282 MB (written in 0.45 s instead of 0.9 s).  :func:`expand_document` (and
:func:`ecogis.read_findings`) put the shared entries back into every finding
and site: the result is ``to_document()`` exactly, key order included.

The document is encoded without building it as Python dicts: every column
becomes JSON text once — a text column by encoding its distinct values and
taking them per row, numbers by Arrow's shortest round-trip formatting,
lists (``next_steps``, ``checked_layers``, …) once per distinct source text
— then each finding is one ``binary_join_element_wise`` over its
``"key":value`` pieces, the findings of a site are joined into its
``"findings":[…]`` and the sites into the document, whose bytes go to the
file straight from the Arrow buffer.

Values as :meth:`~ecogis.ScreenResult.to_document` gives them, with two
repairs of what ``json.dumps`` would write: a missing text or number is
``null`` and an infinite number ``null`` (never the non-JSON ``NaN`` /
``Infinity``).  A number below 1e-4 or from 1e16 on may be spelled
differently from ``json.dumps`` (``0.00001`` for ``1e-05``: the same
double).  ``tests/test_findings_json.py`` checks the expanded file against
``to_document`` on real and awkward results.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ecogis.errors import FormatError, InputError
from ecogis.fileutil import atomic_path
from ecogis.render.bgwrite import BackgroundWriter
from ecogis.render.conflicts_gpkg import RULE_COLUMNS, distinct_rows, rule_keys
from ecogis.render.xlsx import _text_array
from ecogis.textcolumns import has_bytes, replace_literals, text_bytes
from ecogis.screening.result import (
    _F_NUM, _F_OPTIONAL, _F_ORDER, _F_RULE_TEXT, _S_OPTIONAL, _S_OPTIONAL_LIST, _S_OPTIONAL_TEXT,
)

_L = pa.large_string()
#: The stored form of findings.json written here (``format_version``): rules and checks stored once.
FORMAT_VERSION = 2
#: Finding keys stored once per rule, in ``rules`` (``severity`` stays on each finding too, to filter by).
RULE_KEYS = tuple(RULE_COLUMNS)
#: Site keys stored once per distinct set, in ``checks``.
CHECK_KEYS = ("checked_layers", "not_evaluated", "incomplete_rules", "incomplete_layers")
_CONTROL = r"[\x00-\x1f]"


def _s(text: str) -> pa.Scalar:
    return pa.scalar(text, _L)


def _join(*parts: Any) -> pa.Array:
    """Element-wise concatenation of arrays and constant text (64-bit offsets)."""
    args = [_s(p) if isinstance(p, str) else (p if p.type == _L else p.cast(_L)) for p in parts]
    return pc.binary_join_element_wise(*args, _s(""))


def json_strings(arr: pa.Array) -> pa.Array:
    """Each text as a JSON string literal (``json.dumps(v, ensure_ascii=False)``), ``null`` where missing."""
    if isinstance(arr, pa.DictionaryArray):
        words = json_strings(arr.dictionary)
        return pc.fill_null(pc.take(words, arr.indices), _s("null"))
    arr = arr.cast(_L)
    esc = replace_literals(arr, (("\\", "\\\\"), ('"', '\\"')))
    odd = np.zeros(0, dtype=np.int64)
    if has_bytes(bytes(text_bytes(arr))):  # any control character at all: find its rows
        odd = pc.indices_nonzero(pc.fill_null(pc.match_substring_regex(arr, _CONTROL), False)).to_numpy()
    out = _join('"', esc, '"')
    if len(odd):  # control characters: the few texts holding them are encoded by json itself
        vals = out.to_pylist()
        raw = arr.take(pa.array(odd)).to_pylist()
        for i, v in zip(odd, raw):
            vals[i] = json.dumps(v, ensure_ascii=False)
        out = pa.array(vals, _L)
    return pc.fill_null(out, _s("null"))


def json_numbers(x: np.ndarray) -> pa.Array:
    """Floats as JSON numbers that read back as the same floats (``100.0``, not ``100``); ``null`` for NaN/inf."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    x = np.where(ok, x, np.nan)
    txt = pa.array(x, from_pandas=True).cast(_L)
    # Arrow prints a whole number as digits only ("100"); json, and so the reader, wants a float: "100.0"
    whole = ok & (x == np.trunc(np.where(ok, x, 0.0)))
    if whole.any():
        pos = np.flatnonzero(whole)
        digits = pc.match_substring_regex(txt.take(pa.array(pos)), r"^-?[0-9]+$").to_numpy(zero_copy_only=False)
        whole[pos] = digits
        if whole.any():
            txt = pc.if_else(pa.array(whole), _join(txt, ".0"), txt)
    return pc.fill_null(txt, _s("null"))


def json_bools(b: Any) -> pa.Array:
    """``true`` / ``false``."""
    return pc.if_else(pa.array(np.asarray(b, dtype=bool)), _s("true"), _s("false"))


class _Col:
    """A column of the document as JSON values, produced for any set of rows (a chunk) on demand."""

    def chunk(self, pos: np.ndarray) -> pa.Array:
        raise NotImplementedError


class _Coded(_Col):
    """Distinct values encoded once (``words``) and a code per row."""

    def __init__(self, words: pa.Array, codes: np.ndarray) -> None:
        self.words, self.codes = words, codes

    def chunk(self, pos: np.ndarray) -> pa.Array:
        return pc.take(self.words, pa.array(self.codes[pos]))


class _RawText(_Col):
    """Text with mostly distinct values (messages), encoded per chunk."""

    def __init__(self, arr: pa.Array, default: str | None) -> None:
        self.arr = arr if default is None else pc.fill_null(arr, default)

    def chunk(self, pos: np.ndarray) -> pa.Array:
        return json_strings(self.arr.take(pa.array(pos)))


class _Numbers(_Col):
    def __init__(self, x: np.ndarray) -> None:
        self.x = x

    def chunk(self, pos: np.ndarray) -> pa.Array:
        return json_numbers(self.x[pos])


class _Bools(_Col):
    def __init__(self, b: np.ndarray) -> None:
        self.b = np.asarray(b, dtype=bool)

    def chunk(self, pos: np.ndarray) -> pa.Array:
        return json_bools(self.b[pos])


def _per_text(s: pd.Series, fn: Callable[[str], Any]) -> _Coded:
    """``json.dumps(fn(text))`` once per distinct text of ``s`` (missing as ``""``)."""
    text = s.fillna("").astype(str)
    codes, uniq = pd.factorize(text)
    words = pa.array([json.dumps(fn(u), ensure_ascii=False, separators=(",", ":")) for u in uniq], _L)
    return _Coded(words, np.asarray(codes))


def _split(sep: str) -> Callable[[str], list[str]]:
    return lambda t: [p for p in t.split(sep) if p]


def _steps(t: str) -> list[str]:
    return [p.strip() for p in t.replace("；", ";").split(";") if p.strip()]


def _text(col: Any, n: int, default: str | None = None) -> _Col:
    """``str(v)`` (``None`` or ``default`` where missing) as JSON strings."""
    if isinstance(col, pd.Series) and isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow":
        arr = pa.array(col.array)   # Arrow-backed text (often distinct, as messages): no hashing
        return _RawText(arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr, default)
    enc = _text_array(col, n)
    k = len(enc.dictionary)
    words = pa.concat_arrays([json_strings(enc.dictionary),
                              pa.array([json.dumps(default, ensure_ascii=False)], _L)])
    return _Coded(words, pc.fill_null(enc.indices, k).to_numpy(zero_copy_only=False).astype(np.int64))


def _num(s: pd.Series, zero: bool = False) -> _Numbers:
    x = pd.to_numeric(s, errors="coerce").to_numpy(dtype=float)
    return _Numbers(np.nan_to_num(x, nan=0.0, posinf=np.inf, neginf=-np.inf) if zero else x)


def _null(n: int) -> _Coded:
    return _Coded(pa.array(["null"], _L), np.zeros(n, dtype=np.int64))


def _bool_col(frame: pd.DataFrame, name: str) -> _Bools:
    """``bool(v)`` as :func:`ecogis.screening.result._bool_col` (``False`` when absent)."""
    if name not in frame.columns:
        return _Bools(np.zeros(len(frame), dtype=bool))
    col = frame[name]
    vals = col.astype(bool) if pd.api.types.is_bool_dtype(col) else col.astype(object).map(bool)
    return _Bools(vals.to_numpy(dtype=bool))


def _finding_columns(f: pd.DataFrame) -> dict[str, _Col]:
    """The JSON value of every key of a finding, in document order."""
    m = len(f)
    cols: dict[str, _Col] = {}
    for k in _F_ORDER:
        if k in _F_NUM:
            cols[k] = _num(f[k])
        elif k == "next_steps":
            cols[k] = _per_text(f[k], _steps)
        else:
            cols[k] = _text(f[k], m)
    for c in _F_OPTIONAL:
        if c in f.columns:
            cols[c] = _text(f[c], m, "fact" if c == "certainty" else "")
    for c in _F_RULE_TEXT:
        if c in f.columns:
            cols[c] = _text(f[c], m, "")
    if "basis_verified" in f.columns:
        cols["basis_verified"] = _Bools(f["basis_verified"].fillna(True).astype(bool).to_numpy(dtype=bool))
    return cols


def _site_columns(s: pd.DataFrame) -> dict[str, _Col]:
    n = len(s)
    cols: dict[str, _Col] = {
        "site_id": _text(s["site_id"], n),
        "name": _text(s["name"], n) if "name" in s.columns else _null(n),
        "industry": _text(s["industry"], n) if "industry" in s.columns else _null(n),
        "nature": _text(s["nature"], n) if "nature" in s.columns else _null(n),
        "linear": _bool_col(s, "linear"),
        "national_major": _bool_col(s, "national_major"),
        "unavoidable": _bool_col(s, "unavoidable"),
        "area_ha": _num(s["area_ha"], zero=True),
        "area_mu": _num(s["area_mu"], zero=True),
        "length_m": _num(s["length_m"]) if "length_m" in s.columns else _null(n),
        "verdict": _text(s["verdict"], n),
        "coverage": _text(s["coverage"], n),
        "covered_pct": _num(s["covered_pct"], zero=True),
        "checked_layers": _per_text(s["checked_layers"], _split(", ")),
        "not_evaluated": _per_text(s["not_evaluated"], _split(", ")),
    }
    if "repairs" in s.columns:
        cols["repairs"] = _per_text(s["repairs"], _split("\n"))
    for c in _S_OPTIONAL:
        if c in s.columns:
            cols[c] = _bool_col(s, c)
    for c in _S_OPTIONAL_TEXT:
        if c in s.columns:
            cols[c] = _text(s[c], n, "")
    for c in _S_OPTIONAL_LIST:
        if c in s.columns:
            cols[c] = _per_text(s[c], _split(", "))
    return cols


def _objects(cols: dict[str, _Col], pos: np.ndarray, head: list[Any] | None = None,
             tail: list[Any] | None = None, close: bool = True) -> pa.Array:
    """``{"key":value,…}`` for the rows ``pos``, with ``head`` pieces before and ``tail`` pieces after the
    last value (then the closing brace, unless ``close`` is false), joined in one pass."""
    parts: list[Any] = list(head or [])
    for i, (k, v) in enumerate(cols.items()):
        parts += [("{" if i == 0 else ",") + json.dumps(k) + ":", v.chunk(pos)]
    return _join(*parts, *(tail or []), *(["}"] if close else []))


def _findings_by_site(result, n_sites: int) -> tuple[np.ndarray, np.ndarray]:
    """Finding rows grouped per site row (``rows[off[i]:off[i + 1]]`` are site ``i``'s), in table order.

    As :meth:`~ecogis.ScreenResult.to_document`: a site gets the findings with its ``site_id``;
    findings of no listed site are left out.
    """
    f = result.findings
    if not len(f) or not n_sites:
        return np.zeros(0, dtype=np.int64), np.zeros(n_sites + 1, dtype=np.int64)
    codes, _ = pd.factorize(pd.concat([pd.Series(result.sites["site_id"].to_numpy(dtype=object)),
                                       pd.Series(f["site_id"].to_numpy(dtype=object))], ignore_index=True))
    site_code, find_code = np.asarray(codes[:n_sites]), np.asarray(codes[n_sites:])
    k = int(codes.max()) + 1
    keep = find_code >= 0
    order = np.flatnonzero(keep)[np.argsort(find_code[keep], kind="stable")]
    counts = np.bincount(find_code[keep], minlength=k)
    bounds = np.concatenate([[0], np.cumsum(counts)])
    per_site = np.where(site_code >= 0, counts[np.maximum(site_code, 0)], 0)
    off = np.concatenate([[0], np.cumsum(per_site)]).astype(np.int64)
    starts = np.where(site_code >= 0, bounds[np.maximum(site_code, 0)], 0)
    idx = np.arange(off[-1]) - np.repeat(off[:-1], per_site) + np.repeat(starts, per_site)
    return order[idx], off


#: Sites per step: the buffers of a step stay small and are reused (fresh memory costs page faults).
CHUNK_SITES = 2_048


def _default(o: Any) -> Any:
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, np.bool_):
        return bool(o)
    return str(o)


def _table(cols: dict[str, _Col], key: np.ndarray, first: np.ndarray) -> tuple[str, _Coded]:
    """(``[{…},…]``, the entry number of each row): the entries of a shared table from the rows that first use
    them (``key`` counts from 1, as :func:`~ecogis.render.conflicts_gpkg.distinct_rows`).  Rows whose values
    differ but read the same in JSON (a missing text and an empty one) share an entry."""
    entries = _objects(cols, np.asarray(first, dtype=np.int64)).to_pylist() if len(first) else []
    index: dict[str, int] = {}
    remap = np.array([index.setdefault(e, len(index)) for e in entries], dtype=np.int64)
    words = pa.array([str(i) for i in range(len(index))], _L)
    return "[" + ",".join(index) + "]", _Coded(words, remap[np.asarray(key, dtype=np.int64) - 1])


def _shared_findings(f: pd.DataFrame) -> tuple[dict[str, _Col], str]:
    """(the JSON columns of each finding, the ``rules`` table): a rule's texts stored once."""
    if not len(f):
        return {}, "[]"
    cols = _finding_columns(f)
    key, first = rule_keys(f, [c for c in RULE_KEYS if c in f.columns])
    rules, entry = _table({"rule_id": cols["rule_id"], **{k: cols[k] for k in RULE_KEYS if k in cols}}, key, first)
    own = {k: v for k, v in cols.items() if k not in RULE_KEYS or k == "severity"}
    own["rule"] = entry
    return own, rules


def _shared_sites(s: pd.DataFrame) -> tuple[dict[str, _Col], str]:
    """(the JSON columns of each site, the ``checks`` table): a set of checks shared by sites stored once."""
    cols = _site_columns(s)
    names = [k for k in CHECK_KEYS if k in cols]
    try:
        key, first = distinct_rows(s, names)
    except TypeError:  # values that do not hash (lists): every site its own entry
        key, first = np.arange(1, len(s) + 1), np.arange(len(s))
    checks, entry = _table({k: cols[k] for k in names}, key, first)
    own = {k: v for k, v in cols.items() if k not in names}
    own["checks"] = entry
    return own, checks


def document_chunks(result, *, lines: bool = False) -> Iterator[memoryview]:
    """The bytes of ``findings.json`` (or ``.jsonl``), format 2, a few thousand sites at a time.

    JSON Lines: the first line is ``{"format_version":2,"meta":…,"rules":[…],"checks":[…]}``, then one site
    per line.
    """
    s = result.sites
    n = len(s)
    dumps = json.JSONEncoder(ensure_ascii=False, default=_default, separators=(",", ":")).encode
    scols, checks = _shared_sites(s) if n else ({}, "[]")
    fcols, rules = _shared_findings(result.findings) if n else ({}, "[]")
    head = (f'{{"format_version":{FORMAT_VERSION},"meta":' + dumps(result.meta) + ',"rules":' + rules
            + ',"checks":' + checks)
    if lines:
        head, sep, end = head + "}\n", "\n", ""   # every line ends with "\n"
    else:
        from ecogis.accesslist.output import access_document  # 准入清单对照 (issue 15)

        access = access_document(result)
        head, sep = head + ',"sites":[', ","
        end = "]" + (',"accesslist":' + dumps(access) if access else "") + "}"
    yield memoryview(head.encode())
    if n:
        rows, off = _findings_by_site(result, n)
        for a in range(0, n, CHUNK_SITES):
            b = min(n, a + CHUNK_SITES)
            fpos = rows[off[a]:off[b]]
            if len(fpos):
                # a comma before every finding but the first of its site; a site's findings are then a
                # slice of one buffer
                first = np.zeros(len(fpos), dtype=bool)
                first[off[a:b][np.diff(off[a:b + 1]) > 0] - off[a]] = True
                objs = _objects(fcols, fpos, head=[pc.if_else(pa.array(first), _s(""), _s(","))])
                o = np.frombuffer(objs.buffers()[1], dtype=np.int64, count=len(objs) + 1 + objs.offset)[objs.offset:]
                bounds = np.ascontiguousarray(o[off[a:b + 1] - off[a]], dtype=np.int64)
                found = pa.LargeStringArray.from_buffers(b - a, pa.py_buffer(bounds), objs.buffers()[2])
            else:
                found = pa.array(np.full(b - a, "", dtype=object), _L)
            last = np.full(b - a, sep, dtype=object)
            if b == n and not lines:
                last[-1] = ""
            out = _objects(scols, np.arange(a, b), tail=[',"findings":[', found, "]}", pa.array(last, _L)],
                           close=False)
            yield _buffer(out)
    yield memoryview(end.encode())


# ----------------------------------------------------------------------------- reading it back
#: Key order of a finding and a site in :meth:`~ecogis.ScreenResult.to_document` (expanded documents).
_FINDING_ORDER = (*_F_ORDER, *_F_OPTIONAL, *_F_RULE_TEXT, "basis_verified")
_SITE_ORDER = ("site_id", "name", "industry", "nature", "linear", "national_major", "unavoidable", "area_ha",
               "area_mu", "length_m", "verdict", "coverage", "covered_pct", "checked_layers", "not_evaluated",
               "repairs", *_S_OPTIONAL, *_S_OPTIONAL_TEXT, *_S_OPTIONAL_LIST)


def _ordered(d: dict[str, Any], order: tuple[str, ...]) -> dict[str, Any]:
    out = {k: d[k] for k in order if k in d}
    out.update((k, v) for k, v in d.items() if k not in out)
    return out


def _entry(table: list, i: Any, what: str, where: str) -> dict[str, Any]:
    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i < len(table) or not isinstance(table[i], dict):
        raise FormatError(f"findings document: {what} {i!r} is not an entry of '{what}s'", where=where)
    return table[i]


def expand_site(site: dict[str, Any], rules: list, checks: list) -> dict[str, Any]:
    """One site of a format-2 document with its checks and its findings' rule texts put back in place."""
    if not isinstance(site, dict):
        raise FormatError(f"findings document: a site is {type(site).__name__}, not an object", where="key sites")
    s = dict(site)
    if "checks" in s:
        s.update(_entry(checks, s.pop("checks"), "checks", f"site {s.get('site_id')!r}"))
    found = []
    findings = s.pop("findings", None) or []
    if not isinstance(findings, list) or not all(isinstance(f, dict) for f in findings):
        raise FormatError("findings document: a site's findings are not a list of objects",
                          where=f"site {s.get('site_id')!r}")
    for f in findings:
        r = _entry(rules, f.get("rule"), "rule", f"site {s.get('site_id')!r}") if "rule" in f else {}
        found.append(_ordered({**r, **{k: v for k, v in f.items() if k != "rule"}}, _FINDING_ORDER))
    return {**_ordered(s, _SITE_ORDER), "findings": found}


def expand_document(doc: dict[str, Any]) -> dict[str, Any]:
    """A findings document as :meth:`~ecogis.ScreenResult.to_document` gives it.

    Format 2 (what ``findings.json`` stores) has every rule's texts and every set of checks once, in
    ``rules`` and ``checks``; here they are put back into each finding and site.  A document without
    ``format_version`` (format 1, every text on every row) is returned as it is.
    """
    if not isinstance(doc, dict) or not isinstance(doc.get("sites"), list):
        raise FormatError("not a findings document (no 'sites' list)", where="key sites")
    version = doc.get("format_version", 1)
    if version == 1:
        return doc
    if version != FORMAT_VERSION:
        raise FormatError(f"findings document of format {version!r}; this ecogis reads formats 1 and 2",
                          hint="upgrade ecogis", where="key format_version")
    rules, checks = doc.get("rules") or [], doc.get("checks") or []
    if not isinstance(rules, list) or not isinstance(checks, list):
        raise FormatError("findings document: 'rules' and 'checks' must be lists", where="key rules")
    out = {"meta": doc.get("meta", {}), "sites": [expand_site(s, rules, checks) for s in doc["sites"]]}
    if "accesslist" in doc:
        out["accesslist"] = doc["accesslist"]
    return out


def read_findings(path: str | Path) -> dict[str, Any]:
    """Read ``findings.json`` or ``findings.jsonl`` (either format) as :meth:`~ecogis.ScreenResult.to_document`.

    Raises :class:`~ecogis.errors.InputError` when the file is missing and
    :class:`~ecogis.errors.FormatError` when it is not a findings document.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError("findings file not found", path=p) from None
    except UnicodeDecodeError as exc:
        raise FormatError(f"not a findings file (not UTF-8: {exc.reason})", path=p) from None
    try:
        if p.suffix.lower() == ".jsonl":
            # lines end at "\n" only (str.splitlines would also split at U+2028, which JSON leaves raw)
            rows = [json.loads(x) for x in text.split("\n") if x.strip()]
            if not rows or not isinstance(rows[0], dict) or "meta" not in rows[0]:
                raise FormatError("not a findings.jsonl (its first line holds no 'meta')", path=p, where="line 1")
            doc = {**rows[0], "sites": rows[1:]}
        else:
            doc = json.loads(text)
    except json.JSONDecodeError as exc:
        raise FormatError(f"not a findings file: {exc}", path=p) from None
    try:
        return expand_document(doc)
    except FormatError as exc:
        raise FormatError(exc.message, path=p, where=exc.where, hint=exc.hint) from None


_buffer = text_bytes


def _write_all(path: Path, chunks: Iterable[memoryview]) -> None:
    """Write the chunks in order, each while the next is being built."""
    with open(path, "wb") as fh, BackgroundWriter(fh) as out:
        for c in chunks:
            out.write(c)


def write_document(result, path: str | Path, *, lines: bool = False) -> Path:
    """Write ``findings.json`` / ``findings.jsonl`` atomically, chunk by chunk from the Arrow buffers."""
    with atomic_path(path) as tmp:
        _write_all(tmp, document_chunks(result, lines=lines))
    return Path(path)
