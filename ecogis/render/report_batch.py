"""The reviewer's report for large batches: ``report.html`` plus one static site viewer and its data files.

Above :data:`~ecogis.render.report_data.INLINE_MAX` sites, ``report.html``
holds the summary, the paginated site table and the overview map, and every
flagged site's detail is one click away in ``sites/site.html#<site id>``: one
static page whose script (``sites/viewer.js``) reads the site's data from
``sites/data/`` and draws its conclusion, facts, map, findings and
access-list rows.  The data files are JavaScript files that call
``ecogisIndex(...)`` / ``ecogisChunk(n, ...)`` / ``ecogisFeatures(n, ...)``
with one JSON argument, so the viewer loads them with ``<script src>`` and
works from ``file://`` with no server, fetch or CORS.

Everything is built in one grouped pass over the whole result: the findings
are sorted once (site, severity, fact before condition, size); each chunk of
:data:`CHUNK_SITES` sites is a contiguous slice of every table, written as
packed columns (numbers as little-endian typed arrays, text as UTF-8 bytes
with offsets, geometries as part/ring/vertex counts and coordinates), joined
and base64-encoded once per chunk.  No value from data is ever written into
code: the JSON argument holds only the column layout and a base64 string, and
the viewer puts text into the page with ``textContent``.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely

from ecogis.render import styles
from ecogis.render.report_data import (
    MAX_COORD_ROWS, STYLE_DEFAULT, STYLE_INDEX, STYLE_TABLE, WORST_N, ReportModel, _gj, report_meta, style_label,
)
from ecogis.render.report_text import (
    COVERAGE_TEXT, LABELS, PROVISIONAL_TEXT, SEVERITIES, VERDICT_COLOUR, VERDICT_RANK, VERDICT_TEXT, VERDICTS,
    basis_short, clean_official, kind_text, kinds_text,
)
from ecogis.textcolumns import repeats_objects, unique_objects

#: Sites per data chunk (``sites/data/chunk-NNNN.js``).
CHUNK_SITES = 300
#: Vertices per feature file (``sites/data/feat-NNNN.js``): the workspace features the findings name.
FEATURE_CHUNK_VERTICES = 60_000
#: Conflict and feature coordinates are stored as integers of this many degrees (about 1 cm).
COORD_SCALE = 1e-7
#: The viewer page, its script and the data folder inside ``sites/``.
VIEWER = "site.html"

VIEWER_LABELS = {
    "zh": {"prev_site": "上一个地块", "next_site": "下一个地块", "not_found": "未找到该地块：{id}。请从报告的地块一览打开。",
           "no_data": "无法读取地块数据（{file}）。请确认 sites/data 文件夹与本页面一起复制。",
           "loading": "正在读取地块数据…", "of_flagged": "第 {i} / {n} 个有冲突或待核实的地块", "access": "准入清单对照",
           "no_script": "本页需要启用 JavaScript 才能显示地块详情。",
           "no_table": "地块一览的数据在 sites/data/table.js 中，未能读取；请将 sites 文件夹与本报告一起复制。"},
    "en": {"prev_site": "Previous site", "next_site": "Next site",
           "not_found": "Site not found: {id}. Open it from the site table of the report.",
           "no_data": "The site data could not be read ({file}). Copy the sites/data folder with this page.",
           "loading": "Reading the site data…", "of_flagged": "flagged site {i} of {n}", "access": "Access lists",
           "no_script": "This page needs JavaScript to show the site.",
           "no_table": "The site table's data (sites/data/table.js) could not be read; copy the sites folder "
                       "with this report."},
}

_ACCESS_COLS = ("unit_code", "unit_name", "unit_class", "dimension", "text", "result", "note", "question", "basis")


# --------------------------------------------------------------------------- columns as Arrow / numpy
def _astr(df: pd.DataFrame, name: str, n: int) -> pa.Array:
    """A text column as an Arrow string array with no nulls (missing → '')."""
    if name not in df.columns:
        return pa.array(np.full(n, "", dtype=object), type=pa.string())
    s = df[name]
    arr = None
    codes = None
    if s.dtype == object:
        vals = s.to_numpy()
        if repeats_objects(vals):  # a few objects repeated (conditions, questions): each converted once
            codes, vals = unique_objects(vals)
        try:  # text (and None) only: converted by Arrow in one pass
            arr = pa.array(vals, type=pa.string(), from_pandas=True)
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            arr = None
        if arr is None:  # numbers in an object column (feature ids): their text, missing kept missing
            s = pd.Series(vals, dtype=object).astype("str")
    elif not pd.api.types.is_string_dtype(s.dtype):
        s = s.astype("str")
    if arr is None:
        arr = pa.array(s, from_pandas=True)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    if arr.type != pa.string():
        arr = arr.cast(pa.string())
    if codes is not None:
        arr = arr.take(pa.array(codes))
    return arr.fill_null("")


def _blank_to_empty(a: pa.Array) -> pa.Array:
    """Whitespace-only values as ''."""
    return pc.if_else(pc.equal(pc.utf8_trim_whitespace(a), ""), "", a)


def _num(df: pd.DataFrame, name: str, n: int, default: float = np.nan) -> np.ndarray:
    if name not in df.columns:
        return np.full(n, default)
    return pd.to_numeric(df[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _bool(df: pd.DataFrame, name: str, n: int) -> np.ndarray:
    if name not in df.columns:
        return np.zeros(n, dtype=bool)
    s = df[name]
    if s.dtype == bool:
        return s.to_numpy()
    return s.astype(object).fillna(False).astype(bool).to_numpy()


def _codes_col(df: pd.DataFrame, name: str, n: int, by: np.ndarray | None = None) -> tuple[np.ndarray, list[str]]:
    """Codes of a text column's distinct values (whitespace-only and missing as '') and those values.

    ``by`` (codes of another column, e.g. the rule id) is a hint: where the column holds one value per code
    of ``by`` (a rule's title, basis, citation), checking that takes one comparison per row instead of a hash.
    """
    if name not in df.columns or not n:
        return np.zeros(n, dtype=np.int32), [""]
    col = df[name]
    if by is not None and col.dtype == object:
        vals_all = col.to_numpy()
        rep = np.full(int(by.max()) + 1, -1, dtype=np.int64)
        rep[by[::-1]] = np.arange(n)[::-1]  # the first row of each code
        ok = rep >= 0
        cand = vals_all[rep[ok]]
        where = np.full(len(rep), -1, dtype=np.int64)
        where[ok] = np.arange(ok.sum())
        same = vals_all == cand[where[by]]
        if bool(np.all(same)):
            c2, uniq = pd.factorize(pd.Series(cand, dtype=object), use_na_sentinel=True)
            codes = c2[where[by]]
        else:
            codes, uniq = pd.factorize(col, use_na_sentinel=True)
    else:
        codes, uniq = pd.factorize(col, use_na_sentinel=True)
    vals = ["" if (v is None or (isinstance(v, float) and np.isnan(v)) or not str(v).strip()) else str(v)
            for v in uniq] + [""]
    codes = np.where(codes < 0, len(vals) - 1, codes).astype(np.int32)
    return codes, vals


def _codes(a: pa.Array) -> tuple[np.ndarray, list[str]]:
    """Dictionary codes of a text column and its distinct values (first-seen order)."""
    d = pc.dictionary_encode(a)
    return (np.asarray(d.indices.to_numpy(zero_copy_only=False), dtype=np.int32),
            [str(x) for x in d.dictionary.to_pylist()])


# --------------------------------------------------------------------------- packed columns
class _Strings:
    """A text column ready to be sliced into chunks: UTF-8 bytes and their offsets."""

    def __init__(self, a: pa.Array) -> None:
        if isinstance(a, pa.ChunkedArray):
            a = a.combine_chunks()
        a = a.cast(pa.string())
        bufs = a.buffers()
        self.off = np.frombuffer(bufs[1], dtype=np.int32)[a.offset:a.offset + len(a) + 1].astype(np.int64) \
            if len(a) else np.zeros(1, dtype=np.int64)
        self.data = memoryview(bufs[2]) if len(a) and bufs[2] is not None else memoryview(b"")


class _Geoms:
    """Geometries as nested counts (parts per geometry, rings per part, vertices per ring) and coordinates."""

    def __init__(self, geoms: np.ndarray, scale: float | None) -> None:
        g = np.asarray(geoms, dtype=object)
        n = len(g)
        ok = ~(shapely.is_missing(g) | shapely.is_empty(g)) if n else np.zeros(0, dtype=bool)
        g = np.where(ok, g, None)
        # parts: a single-part geometry is its own part; multi-part ones and collections are split
        parts, pidx = g[ok], np.flatnonzero(ok)
        while len(parts):
            multi = np.isin(shapely.get_type_id(parts), (4, 5, 6, 7))
            if not multi.any():
                break
            sub, sidx = shapely.get_parts(parts[multi], return_index=True)
            keep = np.flatnonzero(~multi)
            key = np.r_[keep, np.flatnonzero(multi)[sidx]]
            o = np.argsort(key, kind="stable")
            parts = np.concatenate([parts[keep], sub])[o]
            pidx = np.r_[pidx[keep], pidx[multi][sidx]][o]
        ptype = shapely.get_type_id(parts).astype(np.int8) if len(parts) else np.zeros(0, dtype=np.int8)
        poly = ptype == 3
        # rings: a polygon without holes stands for its exterior (same vertices); holes split off
        holed = np.zeros(len(parts), dtype=bool)
        if poly.any():
            holed[poly] = shapely.get_num_interior_rings(parts[poly]) > 0
        hrings, hpart = shapely.get_rings(parts[holed], return_index=True)
        hpart = np.flatnonzero(holed)[hpart]
        plain = np.flatnonzero(~holed)
        rings = np.concatenate([parts[plain], hrings]) if len(hrings) else parts[plain]
        rp = np.r_[plain, hpart]
        order = np.argsort(rp, kind="stable")
        rings, rp = rings[order], rp[order]
        xy, cidx = shapely.get_coordinates(rings, return_index=True)
        self.n_parts = np.bincount(pidx, minlength=n).astype(np.int32)
        self.part_type = np.where(poly, 3, np.where(np.isin(ptype, (1, 2)), 2, 1)).astype(np.uint8)
        self.n_rings = np.bincount(rp, minlength=len(parts)).astype(np.int32)
        self.n_xy = np.bincount(cidx, minlength=len(rings)).astype(np.int32)
        if scale:
            # in place: the coordinates are this call's own array, and fresh temporaries of millions of
            # values cost more in page faults than the arithmetic (615,000 overlaps: 0.34 → 0.1 s)
            np.multiply(xy, 1.0 / scale, out=xy)
            np.rint(xy, out=xy)
            self.xy = xy.astype(np.int32)
            self.kind = "i4"
        else:
            self.xy = np.ascontiguousarray(xy, dtype=np.float64)
            self.kind = "f8"
        self._offsets()

    def _offsets(self) -> None:
        """Cumulative offsets, to slice a run of geometries."""
        self.p_off = np.r_[0, np.cumsum(self.n_parts, dtype=np.int64)]
        self.r_off = np.r_[0, np.cumsum(self.n_rings, dtype=np.int64)]
        self.c_off = np.r_[0, np.cumsum(self.n_xy, dtype=np.int64)]

    def take(self, rows: np.ndarray) -> "_Geoms":
        """The geometries ``rows`` in that order (the tables are read in the geometries' own order, which is
        faster, and then gathered)."""
        out = object.__new__(_Geoms)
        out.kind = self.kind
        p = _ranges(self.p_off, rows)
        r = _ranges(self.r_off, p)
        c = _ranges(self.c_off, r)
        out.n_parts, out.part_type, out.n_rings = self.n_parts[rows], self.part_type[p], self.n_rings[p]
        out.n_xy, out.xy = self.n_xy[r], self.xy[c]
        out._offsets()
        return out


def _ranges(off: np.ndarray, items: np.ndarray) -> np.ndarray:
    """The indices ``off[i]:off[i+1]`` of every ``i`` in ``items``, concatenated (vectorised)."""
    lo, hi = off[items], off[np.asarray(items) + 1]
    n = hi - lo
    if not len(n) or not n.sum():
        return np.zeros(0, dtype=np.int64)
    start = np.repeat(lo - np.r_[0, np.cumsum(n)[:-1]], n)
    return start + np.arange(int(n.sum()))


class _Packer:
    """Columns of one chunk packed into one byte string, with a layout the viewer reads."""

    def __init__(self) -> None:
        self.parts: list[bytes | memoryview] = []
        self.layout: list[list[Any]] = []
        self.size = 0

    def _add(self, data) -> tuple[int, int]:
        start = self.size
        n = memoryview(data).nbytes
        self.parts.append(data)
        self.size += n
        pad = (-self.size) % 8
        if pad:
            self.parts.append(b"\0" * pad)
            self.size += pad
        return start, n

    def num(self, table: str, name: str, arr: np.ndarray) -> None:
        kind = {np.dtype(np.float64): "f8", np.dtype(np.float32): "f4", np.dtype(np.int32): "i4",
                np.dtype(np.uint8): "u1", np.dtype(np.int8): "i1"}[arr.dtype]
        start, n = self._add(np.ascontiguousarray(arr).tobytes())  # little-endian machines (x86, ARM)
        self.layout.append([table, name, kind, start, n])

    def text(self, table: str, name: str, col: _Strings, a: int, b: int, packed: bool = False) -> None:
        """Rows ``a:b`` of a text column; ``packed``: its bytes LZ4-compressed (raw block format; for long,
        repetitive texts such as the rule messages, about a tenth of their size)."""
        o0, o1 = int(col.off[a]), int(col.off[b])
        raw = col.data[o0:o1]
        packed = packed and o1 > o0
        start, n = self._add(pa.compress(raw, codec="lz4_raw", asbytes=True) if packed else raw)
        ostart, on = self._add((col.off[a:b + 1] - o0).astype("<i4").tobytes())
        self.layout.append([table, name, "l" if packed else "s", start, n, ostart, on])

    def geoms(self, table: str, g: _Geoms, a: int, b: int) -> None:
        p0, p1 = int(g.p_off[a]), int(g.p_off[b])
        r0, r1 = int(g.r_off[p0]), int(g.r_off[p1])
        c0, c1 = int(g.c_off[r0]), int(g.c_off[r1])
        self.num(table, "gp", g.n_parts[a:b])
        self.num(table, "gt", g.part_type[p0:p1])
        self.num(table, "gr", g.n_rings[p0:p1])
        self.num(table, "gc", g.n_xy[r0:r1])
        self.num(table, "gxy", g.xy[c0:c1].reshape(-1))
        self.layout.append([table, "gscale", g.kind, COORD_SCALE if g.kind == "i4" else 1.0])

    def script(self, fn: str, k: int, extra: dict[str, Any] | None = None) -> bytes:
        """The data file: ``fn(k, {layout}, "base64");`` (ASCII)."""
        head = dict(extra or {}, layout=self.layout)
        return b"".join([f"{fn}({k},{_json(head)},\"".encode("ascii"), base64.b64encode(b"".join(self.parts)),
                         b"\");\n"])


def _json(value: Any) -> str:
    """JSON for a data script: no '<' (so no '</script>' or '<!--'), no raw line separators, no NaN."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (text.replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


# --------------------------------------------------------------------------- the model
@dataclass
class BatchReport:
    """What :func:`build_batch` prepared: the report model and the viewer's tables."""

    model: ReportModel
    tables: dict[str, Any]


def _measure_text(mk: int, q: np.ndarray, L: dict[str, str]) -> str:
    """The extent of a finding in words (as :func:`ecogis.render.report_data._finding_text` writes it)."""
    if mk == 1:
        return L["overlap"].format(ha=f"{q[0]:,.4f}", mu=f"{q[1]:,.2f}", pct=f"{q[2]:,.2f}")
    if mk == 2:
        return L["overlap_nopct"].format(ha=f"{q[0]:,.4f}", mu=f"{q[1]:,.2f}")
    if mk == 3:
        return L["crossing"].format(len=f"{q[0]:,.1f}", n=max(int(q[1]), 1))
    if mk == 4:
        return L["distance"].format(d=f"{q[0]:,.0f}")
    if mk == 5:
        return L["inside_point"]
    return ""


def _kind_words(kinds: list[str], lang: str) -> list[str]:
    return [kind_text(k, lang) for k in kinds]


def build_batch(result, context: dict[str, gpd.GeoDataFrame] | None = None, *, lang: str = "zh") -> BatchReport:
    """The batch report's model (summary, site table, overview) and the tables of the site viewer."""
    L = LABELS[lang]
    context = context or {}
    sites_gdf = result.sites
    if sites_gdf.crs is not None and not sites_gdf.crs.equals(4490):
        sites_gdf = sites_gdf.to_crs(4490)
    S = sites_gdf  # columns are read one by one; the frame is not copied
    G = np.asarray(sites_gdf.geometry.values, dtype=object)
    n = len(S)
    sid_a = _astr(S, "site_id", n)
    sid = np.asarray(sid_a.to_numpy(zero_copy_only=False), dtype=object)
    names_a = _blank_to_empty(_astr(S, "name", n))
    verdict = np.asarray(_blank_to_empty(_astr(S, "verdict", n)).to_numpy(zero_copy_only=False), dtype=object)
    verdict[verdict == ""] = "clear"
    vcode_map = {v: i for i, v in enumerate(VERDICTS)}
    v_i = pd.Series(verdict).map(vcode_map).fillna(VERDICTS.index("clear")).to_numpy(dtype=np.uint8)
    industry_a = _blank_to_empty(_astr(S, "industry", n))
    if "provisional" in S.columns:
        provisional = _bool(S, "provisional", n)
    else:
        provisional = pc.equal(industry_a, "").to_numpy(zero_copy_only=False)
    dims = shapely.get_dimensions(G)
    linear = _bool(S, "linear", n) | (dims == 1)
    is_point = dims == 0
    area_ha = np.nan_to_num(_num(S, "area_ha", n), nan=0.0)
    area_mu = _num(S, "area_mu", n)
    area_mu = np.where(np.isfinite(area_mu), area_mu, area_ha * 15.0)
    length_m = np.nan_to_num(_num(S, "length_m", n), nan=0.0)
    coverage = np.asarray(_blank_to_empty(_astr(S, "coverage", n)).to_numpy(zero_copy_only=False), dtype=object)
    coverage[coverage == ""] = "full"
    covered_pct = np.nan_to_num(_num(S, "covered_pct", n), nan=100.0)
    rule_titles = {str(rf.get("path") or rf.get("file") or ""): str(rf.get("title") or "")
                   for rf in result.meta.get("rule_files", []) or []}

    # ---- findings: sorted once by site, severity, fact before condition, size.  The frame itself is not
    # reordered: every column used is read once (text as codes of its distinct values) and permuted.
    fgdf = result.findings
    F = fgdf
    FG = np.asarray(fgdf.geometry.values, dtype=object) if len(fgdf) else np.zeros(0, dtype=object)
    m = len(F)
    fpos = pd.Index(sid).get_indexer(np.asarray(_astr(F, "site_id", m).to_numpy(zero_copy_only=False),
                                                dtype=object)) if m else np.zeros(0, dtype=np.int64)
    sev_codes, sev_vals = _codes_col(F, "severity", m)
    sev_of = np.array([SEVERITIES.index(v) if v in SEVERITIES else len(SEVERITIES) for v in sev_vals],
                      dtype=np.int64)
    sev_i = sev_of[sev_codes] if m else np.zeros(0, dtype=np.int64)
    sev_rank = np.array([VERDICT_RANK[s] for s in SEVERITIES] + [0], dtype=float)[sev_i]
    ha = _num(F, "overlap_ha", m)
    mu = _num(F, "overlap_mu", m)
    pct = _num(F, "overlap_pct", m)
    length = _num(F, "overlap_length_m", m)
    dist = _num(F, "distance_m", m)
    nparts = np.zeros(m, dtype=np.int64)
    if m:
        okg = ~(shapely.is_missing(FG) | shapely.is_empty(FG))
        nparts[okg] = shapely.get_num_geometries(FG[okg])
    f_linear, f_point = linear[fpos], is_point[fpos]
    crossing = np.isfinite(length) & (length > 0) & (f_linear | ~(np.nan_to_num(ha) > 0))
    overlap = ~crossing & np.isfinite(ha)
    distance = ~crossing & ~overlap & np.isfinite(dist)
    with_pct = overlap & np.isfinite(pct)
    point = overlap & f_point
    mk = np.zeros(m, dtype=np.uint8)
    mk[with_pct], mk[overlap & ~with_pct], mk[crossing], mk[distance], mk[point] = 1, 2, 3, 4, 5
    q = np.full((m, 3), np.nan)
    q[with_pct] = np.c_[ha, mu, pct][with_pct]
    q[overlap & ~with_pct, :2] = np.c_[ha, mu][overlap & ~with_pct]
    q[crossing, 0] = length[crossing]
    q[crossing, 1] = np.maximum(nparts[crossing], 1)
    q[distance, 0] = dist[distance]
    size = np.where(overlap, np.nan_to_num(ha), np.where(crossing, np.nan_to_num(length) / 1e4,
                                                         -np.nan_to_num(dist, nan=1e12) / 1e12))
    # findings of fact before conditional ones of the same severity (issue 11 certainty)
    if "certainty" in F.columns and m:
        cc, cv = pd.factorize(F["certainty"], use_na_sentinel=True)
        nf_of = np.array([str(v) != "fact" for v in cv] + [False], dtype=np.int8)
        not_fact = nf_of[cc]
    else:
        not_fact = np.zeros(m, dtype=np.int8)
    keep = fpos >= 0  # findings of a site not in the site table cannot be shown
    order = np.lexsort((-size, not_fact, -sev_rank, fpos))
    order = order[keep[order]]
    m = len(order)
    FG_orig = FG
    FG, fpos, sev_i, mk, q = FG[order], fpos[order], sev_i[order], mk[order], q[order]
    cuts = np.searchsorted(fpos, np.arange(n + 1))
    take = pa.array(order)

    counts = np.zeros((n, len(SEVERITIES)), dtype=np.int32)
    okc = sev_i < len(SEVERITIES)
    np.add.at(counts, (fpos[okc], sev_i[okc]), 1)
    total_ha = np.zeros(n)
    np.add.at(total_ha, fpos, np.nan_to_num(np.where(np.isin(mk, (1, 2)), q[:, 0], 0.0)))

    # ---- texts of the findings: distinct values coded (rule texts repeat across thousands of findings)
    rid_all, rid_vals = _codes_col(F, "rule_id", len(F))

    def coded(name: str) -> tuple[np.ndarray, list[str]]:
        c, v = _codes_col(F, name, len(F), rid_all)
        return (c[order] if len(c) else c), v

    rid_codes = rid_all[order]
    title_codes, title_vals = coded("rule_title")
    kind_codes, kind_vals = coded("layer_kind")
    kind_words = _kind_words(kind_vals, lang)
    fname_a = _blank_to_empty(_astr(F, "feature_name", len(F)).take(take))
    zone_a = _blank_to_empty(_astr(F, "zone", len(F)).take(take))
    clean = clean_official if lang == "zh" else str
    basis_codes, basis_raw = coded("basis")
    if "basis_verified" in F.columns and m:
        vc_, vv_ = pd.factorize(F["basis_verified"].astype(object), use_na_sentinel=True)
        un_of = np.array([v is False or v == 0 or v == "false" for v in vv_] + [False], dtype=bool)
        unverified = un_of[vc_][order]
    else:
        unverified = np.zeros(m, dtype=bool)
    basis_codes, pairs = pd.factorize(pd.Series(basis_codes.astype(np.int64) * 2 + unverified))
    basis_codes = basis_codes.astype(np.int32)
    basis_vals, basis_short_vals = [], []
    for key in np.asarray(pairs, dtype=np.int64):  # once per distinct basis text
        b = clean(basis_raw[key // 2]) + (L["verified_no"] if key % 2 else "")
        basis_vals.append(b)
        basis_short_vals.append(basis_short(b))
    # the citation: the rule's own, else (local plans) the rule file's title
    cite_codes, cite_raw = coded("citation")
    src_codes, src_vals = coded("source")
    rf_codes, rf_vals = coded("rule_file")
    if m:
        ctab = pd.DataFrame({"c": cite_codes, "s": src_codes, "r": rf_codes})
        cite_codes, ckeys = pd.factorize(ctab["c"].astype(np.int64) * 1_000_003 ** 2 + ctab["s"] * 1_000_003
                                         + ctab["r"])
        cite_codes = cite_codes.astype(np.int32)
        cite_vals = []
        for key in np.asarray(ckeys, dtype=np.int64):  # once per distinct (citation, source, rule file)
            c, rest = divmod(int(key), 1_000_003 ** 2)
            sv, rv = divmod(rest, 1_000_003)
            cite_vals.append(cite_raw[c] or (rule_titles.get(rf_vals[rv], "") if src_vals[sv] else ""))
    else:
        cite_vals = []
    steps_codes, steps_keys = coded("next_steps")
    steps_vals = [[p.strip() for p in s.replace("；", ";").split(";") if p.strip()] for s in steps_keys]
    fid_codes, fid_vals = coded("feature_id")
    sev_a = pa.array(np.array(sev_vals, dtype=object)[sev_codes[order]] if m else np.zeros(0, dtype=object),
                     type=pa.string())

    # ---- the one-line conclusion of each site: verdict + the decisive (first) finding + its basis
    colon = "：" if lang == "zh" else ": "
    has_f = cuts[1:] > cuts[:-1]
    fi = np.flatnonzero(has_f)
    first = cuts[:-1][fi]
    h_txt = np.full(n, "", dtype=object)
    t_txt = np.full(n, "", dtype=object)
    s_mk = np.zeros(n, dtype=np.uint8)
    s_q = np.full((n, 3), np.nan)
    if len(fi):
        kw = np.array(kind_words + [""], dtype=object)[kind_codes[first]]
        fn = np.asarray(fname_a.take(pa.array(first)).to_numpy(zero_copy_only=False), dtype=object)
        zn = np.asarray(zone_a.take(pa.array(first)).to_numpy(zero_copy_only=False), dtype=object)
        q0, q1, z0, z1 = ("“", "”", "（", "）") if lang == "zh" else (" “", "”", " (", ")")
        feat = np.where(fn == "", kw, kw + q0 + fn + q1)
        feat = np.where(zn == "", feat, feat + z0 + zn + z1)
        title = np.array(title_vals + [""], dtype=object)[title_codes[first]]
        bshort = np.array(basis_short_vals + [""], dtype=object)[basis_codes[first]]
        sevw = np.array([VERDICT_TEXT[lang].get(s, s) for s in SEVERITIES] + [""], dtype=object)[sev_i[first]]
        part = np.isin(verdict[fi], ["not_covered", "incomplete"])
        cite_first = np.array(cite_vals + [""], dtype=object)[cite_codes[first]]
        short = np.where(cite_first != "", cite_first, bshort)
        if lang == "zh":
            pre = np.where(part, "已覆盖部分" + sevw + "：", "")
            h_txt[fi] = pre + title + "（" + feat + "，"
            t_txt[fi] = "）；" + L["basis_prefix"] + short
        else:
            pre = np.where(part, "on the covered part: " + sevw + ", ", "")
            h_txt[fi] = pre + title + " (" + feat + ", "
            t_txt[fi] = "); " + L["basis_prefix"] + short
        s_mk[fi] = mk[first]
        s_q[fi] = q[first]
    nf_ = np.flatnonzero(~has_f)
    if len(nf_):
        checked_codes, checked_vals = _codes(_astr(S, "checked_layers", n))
        cwords = np.array([kinds_text(c, lang) or L["none_short"] for c in checked_vals] + [""], dtype=object)
        pct_txt = pd.Series(covered_pct[nf_]).map(lambda x: f"{x:.1f}")  # once per site without findings
        vv = verdict[nf_]
        if lang == "zh":
            nc = np.where(linear[nf_], "线路部分在数据覆盖范围以外，已覆盖部分未发现冲突；须补充范围外的图层后复核",
                          "数据覆盖范围内的部分占项目用地面积的 " + pct_txt.to_numpy(dtype=object)
                          + "%，该部分未发现冲突；须补充范围外的图层后复核")
            ok_txt = "已核查" + cwords[checked_codes[nf_]]
        else:
            nc = pct_txt.to_numpy(dtype=object) + "% of the site lies inside the data; no conflict there; obtain the rest"
            ok_txt = "checked against " + cwords[checked_codes[nf_]]
        h_txt[nf_] = np.where(vv == "not_covered", nc, np.where(vv == "incomplete", L["incomplete_note"], ok_txt))
    codes_ht, uniq_ht = pd.factorize(pd.Series(np.r_[h_txt, t_txt], dtype=object))
    plist = [str(u) for u in uniq_ht]
    h_idx = codes_ht[:n].astype(np.int64)
    t_idx = np.where(t_txt == "", -1, codes_ht[n:]).astype(np.int64)

    # ---- order of the table (worst first) and the sites with a detail
    vrank = pd.Series(verdict).map(VERDICT_RANK).fillna(0).to_numpy(dtype=float)
    worst_order = np.lexsort((np.arange(n), -total_ha, -counts.sum(axis=1), provisional.astype(int), -vrank))
    flagged = has_f | (verdict != "clear")
    detail = worst_order[flagged[worst_order]]
    names = np.asarray(names_a.to_numpy(zero_copy_only=False), dtype=object)

    # ---- summary
    vc = pd.Series(verdict).value_counts()
    by_verdict = [{"code": v, "text": VERDICT_TEXT[lang].get(v, v), "colour": VERDICT_COLOUR.get(v, "#555"),
                   "count": int(vc.get(v, 0)), "share": 100.0 * int(vc.get(v, 0)) / max(n, 1)}
                  for v in VERDICTS if int(vc.get(v, 0))]
    by_rule: list[dict[str, Any]] = []
    if m:
        nr = len(rid_vals)
        ha_f = np.nan_to_num(np.where(np.isin(mk, (1, 2)), q[:, 0], 0.0))
        n_find = np.bincount(rid_codes, minlength=nr)
        n_site = np.bincount(np.unique(rid_codes.astype(np.int64) * n + fpos) // n, minlength=nr)
        ha_r = np.bincount(rid_codes, weights=ha_f, minlength=nr)
        first_r = np.full(nr, m, dtype=np.int64)
        np.minimum.at(first_r, rid_codes, np.arange(m))
        first_r = np.minimum(first_r, m - 1)
        sev_r = np.asarray(sev_a.take(pa.array(first_r)).to_numpy(zero_copy_only=False), dtype=object)
        rank_r = pd.Series(sev_r).map(VERDICT_RANK).fillna(0).to_numpy()
        for r in np.lexsort((-ha_r, -n_site, -rank_r)):  # once per rule
            if not n_find[r]:
                continue
            j = first_r[r]
            s = sev_r[r]
            by_rule.append({"title": title_vals[title_codes[j]], "sev": s, "sev_text": VERDICT_TEXT[lang].get(s, s),
                            "sites": int(n_site[r]), "findings": int(n_find[r]), "ha": float(ha_r[r]),
                            "basis": cite_vals[cite_codes[j]] or basis_short_vals[basis_codes[j]]})
    viewer_link = "sites/" + VIEWER + "#"
    worst_i = detail[:WORST_N]
    worst = []
    if len(worst_i):
        # the conclusion lines of the worst sites, with their measures in Python's own wording
        meas = np.array([_measure_text(int(s_mk[i]), s_q[i], L) for i in worst_i], dtype=object)
        vt = np.array([VERDICT_TEXT[lang].get(v, v) for v in verdict[worst_i]], dtype=object)
        head = np.where(provisional[worst_i], vt + ("（待定，缺行业代码）" if lang == "zh"
                                                   else " (provisional: no industry code)"), vt)
        lines = head + colon + h_txt[worst_i] + meas + t_txt[worst_i]
        for k, i in enumerate(worst_i):  # the 20 worst sites
            worst.append({"id": sid[i], "name": names[i], "verdict": verdict[i], "vtext": vt[k],
                          "provisional": bool(provisional[i]), "line": lines[k],
                          "link": viewer_link + quote(str(sid[i]), safe="")})
    summary = {"by_verdict": by_verdict, "by_rule": by_rule, "worst": worst,
               "n_provisional": int(provisional.sum()), "n_findings": int(m), "n_flagged": int(flagged.sum())}

    # ---- the site table (compact columns, worst first) and the overview points, as JSON in one pass
    o = worst_order
    table = {
        "verdicts": [VERDICT_TEXT[lang][v] for v in VERDICTS], "colours": [VERDICT_COLOUR[v] for v in VERDICTS],
        "prov": PROVISIONAL_TEXT[lang], "pieces": plist,
        "id": sid[o], "name": names[o], "v": v_i[o], "p": provisional[o].astype(np.uint8),
        "ha": np.where(linear | is_point, np.nan, np.round(area_ha, 4))[o],
        "len": np.where(linear, np.round(length_m), np.nan)[o],
        "h": h_idx[o], "t": t_idx[o], "mk": s_mk[o], "q": s_q[o], "c": counts[o],
        "link": flagged[o].astype(np.uint8), "viewer": viewer_link,
        "labels": {k: L[k] for k in ("crossing", "overlap", "overlap_nopct", "distance", "inside_point", "page",
                                      "prev", "next", "hectare", "metre", "detail", "no_detail")},
        "colon": colon, "provWord": "（待定，缺行业代码）" if lang == "zh" else " (provisional)",
        "cols": [L[k] for k in ("site_id", "name", "verdict", "conclusion", "area", "counts")],
    }
    bb = shapely.bounds(G)  # a dot per site on the overview: the centre of its box
    px = np.round(0.5 * (bb[:, 0] + bb[:, 2]), 5)
    py = np.round(0.5 * (bb[:, 1] + bb[:, 3]), 5)
    admin_geoms = _admin(context)
    admin_edges: list[Any] = []
    if admin_geoms is not None:
        ab = shapely.simplify(shapely.boundary(admin_geoms), 30.0 / 111_320.0)
        admin_edges = [json.loads(s) for s in _gj(ab, 5) if s != "null"]
    b_all = shapely.total_bounds(G)
    overview = {"x": px[o], "y": py[o],
                "bounds": [[float(b_all[1]), float(b_all[0])], [float(b_all[3]), float(b_all[2])]],
                "admin": admin_edges, "outlines": []}
    data_json = _json_fast({"table": table, "overview": overview})

    meta = report_meta(result, lang)
    model = ReportModel(lang=lang, L=L, meta=meta, n_sites=n, summary=summary, table={}, overview={},
                        sections=[], inline=False, pages_cut=0, styles=STYLE_TABLE, max_pages=len(detail))
    model.data_json = data_json  # type: ignore[attr-defined]

    tables = dict(
        n=n, detail=detail, sid=sid_a, names=names_a, industry=industry_a, v_i=v_i, provisional=provisional,
        linear=linear, is_point=is_point, area_ha=area_ha, area_mu=area_mu, length_m=length_m,
        coverage=coverage, covered_pct=covered_pct, S=S, G=G, h_txt=h_txt, t_txt=t_txt, s_mk=s_mk, s_q=s_q,
        counts=counts, cuts=cuts, F=F, FG=FG, fpos=fpos, sev_i=sev_i, mk=mk, q=q,
        title_codes=title_codes, title_vals=title_vals, kind_codes=kind_codes, kind_vals=kind_vals,
        kind_words=kind_words, fname=fname_a, zone=zone_a, basis_codes=basis_codes, basis_vals=basis_vals,
        cite_codes=cite_codes, cite_vals=cite_vals, steps_codes=steps_codes, steps_vals=steps_vals,
        fid_codes=fid_codes, fid_vals=fid_vals, order=order, FGorig=FG_orig, rid_codes=rid_codes, rid_vals=rid_vals, admin=admin_geoms)
    return BatchReport(model=model, tables=tables)


def _json_fast(value: Any) -> str:
    """JSON of nested dicts and lists whose large members are numpy arrays (numbers through pandas' C
    writer, text arrays through the json module's C encoder), escaped like :func:`_json`."""
    def enc(v: Any) -> str:
        if isinstance(v, dict):
            return "{" + ",".join(json.dumps(str(k)) + ":" + enc(x) for k, x in v.items()) + "}"
        if isinstance(v, np.ndarray):
            if v.dtype == object:
                return json.dumps(v.tolist(), ensure_ascii=False, separators=(",", ":"))
            if v.ndim == 2:
                return pd.DataFrame(v).to_json(orient="values", double_precision=10)
            return pd.Series(v).to_json(orient="values", double_precision=10)
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return (enc(value).replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _admin(context: dict[str, gpd.GeoDataFrame]) -> np.ndarray | None:
    admin = context.get("admin")
    if admin is None or not len(admin):
        return None
    return np.asarray(admin.to_crs(4490).geometry.values if admin.crs and not admin.crs.equals(4490)
                      else admin.geometry.values, dtype=object)


# --------------------------------------------------------------------------- the viewer's files
def _features(t: dict[str, Any], context: dict[str, gpd.GeoDataFrame]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The workspace features the findings name: (feature index of each finding or -1, geometries, styles)."""
    m = len(t["fpos"])
    feat_of = np.full(m, -1, dtype=np.int32)
    geoms_all: list[np.ndarray] = []
    styles_all: list[np.ndarray] = []
    base = 0
    kinds = np.array(t["kind_vals"] + [""], dtype=object)
    for kc, kind in enumerate(t["kind_vals"]):  # once per layer kind
        layer = context.get(kind)
        if layer is None or not len(layer) or "fid" not in layer.columns:
            continue
        rows = np.flatnonzero(t["kind_codes"] == kc)
        if not len(rows):
            continue
        lay = layer.to_crs(4490) if layer.crs is not None and not layer.crs.equals(4490) else layer
        fids = pd.Index(lay["fid"].astype(str).to_numpy(dtype=object))
        at = fids.get_indexer(np.asarray(t["fid_vals"], dtype=object))[t["fid_codes"][rows]]
        ok = at >= 0
        if not ok.any():
            continue
        used, inv = np.unique(at[ok], return_inverse=True)
        feat_of[rows[ok]] = base + inv
        geoms_all.append(np.asarray(lay.geometry.values, dtype=object)[used])
        # the style of each feature: its kind, or its kind and class where the kind has a palette
        zone = np.asarray(t["zone"].take(pa.array(rows[ok])).to_numpy(zero_copy_only=False), dtype=object)
        first = np.zeros(len(used), dtype=np.int64)
        first[inv[::-1]] = np.arange(len(inv))[::-1]
        key = pd.Series(zone[first], dtype=object).map(lambda z, k=kind: STYLE_INDEX.get((k, z)))
        st = key.fillna(STYLE_INDEX.get((kinds[kc], ""), STYLE_DEFAULT)).to_numpy(dtype=np.int32)
        styles_all.append(st)
        base += len(used)
    if not geoms_all:
        return feat_of, np.zeros(0, dtype=object), np.zeros(0, dtype=np.int32)
    return feat_of, np.concatenate(geoms_all), np.concatenate(styles_all).astype(np.int32)


def _access(result, sid: np.ndarray, rank: np.ndarray) -> tuple[pd.DataFrame | None, np.ndarray]:
    """Access-list rows (issue 15) sorted by the viewer's site order; their site's rank in that order."""
    t = getattr(result, "accesslist", None)
    if not isinstance(t, pd.DataFrame) or not len(t) or "site_id" not in t.columns:
        return None, np.zeros(0, dtype=np.int64)
    pos = pd.Index(sid).get_indexer(t["site_id"].astype(str).to_numpy(dtype=object))
    r = np.where(pos >= 0, rank[np.maximum(pos, 0)], -1)
    ok = r >= 0
    order = np.argsort(r[ok], kind="stable")
    return t[ok].iloc[order].reset_index(drop=True), r[ok][order]


def write_viewer(batch: BatchReport, result, folder: Path, *, lang: str, context: dict[str, gpd.GeoDataFrame],
                 page_html: str, assets_text: dict[str, str]) -> int:
    """Write ``site.html``, its scripts and ``data/`` into ``folder``; return the number of chunks."""
    t = batch.tables
    L = LABELS[lang]
    detail = t["detail"]
    k = len(detail)
    n = t["n"]
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    for name, text in assets_text.items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / VIEWER).write_text(page_html, encoding="utf-8")

    rank = np.full(n, -1, dtype=np.int64)
    rank[detail] = np.arange(k)
    # findings in the viewer's order: every chunk is a contiguous slice
    fr = rank[t["fpos"]]
    fo = np.argsort(fr, kind="stable")  # findings are already sorted within a site
    fr = fr[fo]
    fcuts = np.searchsorted(fr, np.arange(0, k + CHUNK_SITES, CHUNK_SITES).clip(max=k))
    feat_of, fgeoms, fstyles = _features(t, context)
    F = t["F"]
    take = pa.array(t["order"][fo])
    fcols = {
        "fname": _Strings(t["fname"].take(pa.array(fo))), "zone": _Strings(t["zone"].take(pa.array(fo))),
        "msg": _Strings(_astr(F, "message", len(F)).take(take)),
        "cond": _Strings(_astr(F, "condition", len(F)).take(take)),
        "quest": _Strings(_astr(F, "question", len(F)).take(take)),
    }
    fnum = {"sev": t["sev_i"][fo].astype(np.uint8), "mk": t["mk"][fo], "q0": t["q"][fo, 0], "q1": t["q"][fo, 1],
            "q2": t["q"][fo, 2], "rule": t["title_codes"][fo], "kind": t["kind_codes"][fo],
            "basis": t["basis_codes"][fo], "cite": t["cite_codes"][fo], "steps": t["steps_codes"][fo],
            "feat": feat_of[fo]}
    fgeo = _Geoms(t["FGorig"], COORD_SCALE).take(t["order"][fo])

    take_s = pa.array(detail)
    S = t["S"]
    scols = {"id": _Strings(t["sid"].take(take_s)), "name": _Strings(t["names"].take(take_s)),
             "industry": _Strings(t["industry"].take(take_s)),
             "nature": _Strings(_blank_to_empty(_astr(S, "nature", n)).take(take_s)),
             "h": _Strings(pa.array(t["h_txt"][detail], type=pa.string()))}
    tail_codes, tail_vals = pd.factorize(pd.Series(t["t_txt"][detail], dtype=object))
    checked_codes, checked_vals = _codes(_astr(S, "checked_layers", n))
    cov_codes = pd.Series(t["coverage"]).map({"full": 0, "partial": 1, "none": 2}).fillna(0).to_numpy(np.uint8)
    nf = (t["cuts"][1:] - t["cuts"][:-1]).astype(np.int32)
    snum = {"v": t["v_i"][detail], "p": t["provisional"][detail].astype(np.uint8),
            "lin": t["linear"][detail].astype(np.uint8), "pt": t["is_point"][detail].astype(np.uint8),
            "maj": _bool(S, "national_major", n)[detail].astype(np.uint8), "cov": cov_codes[detail],
            "cpct": t["covered_pct"][detail], "ha": t["area_ha"][detail], "mu": t["area_mu"][detail],
            "len": t["length_m"][detail], "nf": nf[detail], "checked": checked_codes[detail],
            "tail": tail_codes.astype(np.int32),
            "noteval": np.asarray(pc.not_equal(_blank_to_empty(_astr(S, "not_evaluated", n)), "")
                                  .to_numpy(zero_copy_only=False), dtype=np.uint8)[detail],
            "mk": t["s_mk"][detail], "q0": t["s_q"][detail, 0], "q1": t["s_q"][detail, 1],
            "q2": t["s_q"][detail, 2]}
    for j, s in enumerate(SEVERITIES):
        snum["c" + str(j)] = t["counts"][detail, j]
    sgeo = _Geoms(t["G"], None).take(detail)

    acc, arank = _access(result, np.asarray(t["sid"].to_numpy(zero_copy_only=False), dtype=object), rank)
    if acc is not None:
        acols = {c: _Strings(_blank_to_empty(_astr(acc, c, len(acc)))) for c in _ACCESS_COLS}
        acuts = np.searchsorted(arank, np.arange(0, k + CHUNK_SITES, CHUNK_SITES).clip(max=k))

    n_chunks = (k + CHUNK_SITES - 1) // CHUNK_SITES
    for c in range(n_chunks):  # one file per chunk of CHUNK_SITES sites
        a, b = c * CHUNK_SITES, min((c + 1) * CHUNK_SITES, k)
        fa, fb = int(fcuts[c]), int(fcuts[c + 1])
        p = _Packer()
        for name, col in scols.items():
            p.text("s", name, col, a, b)
        for name, arr in snum.items():
            p.num("s", name, np.ascontiguousarray(arr[a:b]))
        p.geoms("s", sgeo, a, b)
        for name, col in fcols.items():
            p.text("f", name, col, fa, fb, packed=name == "msg")
        for name, arr in fnum.items():
            p.num("f", name, np.ascontiguousarray(arr[fa:fb]))
        p.geoms("f", fgeo, fa, fb)
        if acc is not None:
            aa, ab = int(acuts[c]), int(acuts[c + 1])
            p.num("a", "site", (arank[aa:ab] - a).astype(np.int32))
            for name, col in acols.items():
                p.text("a", name, col, aa, ab)
        (data / f"chunk-{c:04d}.js").write_bytes(p.script("ecogisChunk", c, {"n": b - a, "nf": fb - fa}))

    # features: files of about FEATURE_CHUNK_VERTICES vertices, the features in index order
    nfeat = len(fgeoms)
    ftab = _Geoms(fgeoms, COORD_SCALE)
    if nfeat:
        verts = ftab.c_off[ftab.r_off[ftab.p_off]]  # vertices before each feature (n+1 values)
        starts = np.unique(np.searchsorted(verts[:-1], np.arange(0, int(verts[-1]) + 1, FEATURE_CHUNK_VERTICES),
                                           side="right") - 1).clip(min=0)
        fcut = np.r_[np.unique(np.r_[0, starts]), nfeat]
    else:
        fcut = np.zeros(1, dtype=np.int64)
    for j in range(len(fcut) - 1):  # once per feature file
        a, b = int(fcut[j]), int(fcut[j + 1])
        p = _Packer()
        p.num("g", "style", fstyles[a:b])
        p.geoms("g", ftab, a, b)
        (data / f"feat-{j:04d}.js").write_bytes(p.script("ecogisFeatures", j, {"first": a, "n": b - a}))

    admin = t["admin"]
    admin_edges = []
    if admin is not None:
        ab = shapely.simplify(shapely.boundary(admin), 3.0 / 111_320.0)
        admin_edges = [json.loads(s) for s in _gj(ab, 6) if s != "null"]
    (data / "admin.js").write_text(f"ecogisAdmin({_json(admin_edges)});\n", encoding="utf-8")

    ids = t["sid"].take(take_s).to_pylist() if k else []
    sev_legend = [[VERDICT_TEXT[lang][s], styles.SEVERITY[s].fill, styles.SEVERITY[s].stroke] for s in SEVERITIES]
    index = {
        "lang": lang, "size": CHUNK_SITES, "chunks": n_chunks, "ids": ids,
        "featCuts": fcut.astype(int).tolist(), "nFeatures": int(nfeat),
        "labels": dict(L, **VIEWER_LABELS[lang]), "colon": "：" if lang == "zh" else "; ",
        "verdicts": list(VERDICTS), "verdictText": [VERDICT_TEXT[lang][v] for v in VERDICTS],
        "verdictColour": [VERDICT_COLOUR[v] for v in VERDICTS], "severities": list(SEVERITIES),
        "sevText": [VERDICT_TEXT[lang][s] for s in SEVERITIES], "sevLegend": sev_legend,
        "provText": PROVISIONAL_TEXT[lang],
        "provWord": "（待定，缺行业代码）" if lang == "zh" else " (provisional: no industry code)",
        "coverage": [COVERAGE_TEXT[lang][c] for c in ("full", "partial", "none")],
        "rules": t["title_vals"], "kinds": t["kind_words"], "basis": t["basis_vals"], "cites": t["cite_vals"],
        "steps": t["steps_vals"], "tails": [str(x) for x in tail_vals], "checked": [kinds_text(c, lang) for c in checked_vals],
        "styles": STYLE_TABLE, "styleLabels": [style_label(i, lang) for i in range(len(STYLE_TABLE))],
        "access": acc is not None, "maxCoordRows": MAX_COORD_ROWS,
    }
    index["colon"] = "：" if lang == "zh" else ": "
    (data / "index.js").write_text(f"ecogisIndex({_json(index)});\n", encoding="utf-8")
    return n_chunks


def replace_folder(tmp: Path, target: Path) -> None:
    """Put the folder ``tmp`` in the place of ``target`` (the old one removed after the rename)."""
    old = None
    if target.exists():
        old = target.parent / f".{target.name}-old-{os.getpid()}"
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)
        target.rename(old)
    tmp.rename(target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def new_folder(parent: Path, prefix: str) -> Path:
    """A new empty folder in ``parent`` (permissions from the umask, like any folder the user makes)."""
    import uuid

    path = parent / f"{prefix}{os.getpid()}-{uuid.uuid4().hex[:8]}"
    path.mkdir()
    return path
