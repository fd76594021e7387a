"""Write a screening result to a folder: report.html, findings.json, findings.xlsx, conflicts.gpkg."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

import geopandas as gpd
import numpy as np
import pandas as pd

from ecogis.errors import InputError
from ecogis.textcolumns import repeats_objects, unique_objects

FORMATS = ("html", "json", "xlsx", "gpkg")
#: Formats that may also be asked for: ``jsonl`` writes findings.jsonl (JSON Lines, for very large runs).
EXTRA_FORMATS = ("jsonl",)
#: Longest text from data shown in HTML (reports, maps); the full text stays in JSON, XLSX and GPKG.
MAX_DISPLAY_CHARS = 2000


def clip_text(value, limit: int = MAX_DISPLAY_CHARS, lang: str | None = None):
    """``value`` cut to ``limit`` characters with a visible marker, if it is a longer string.

    The marker is Chinese for ``lang="zh"``, English for ``"en"`` and both when no language is given.
    """
    if isinstance(value, str) and len(value) > limit:
        if lang == "zh":
            return value[:limit] + f"…（截断，共{len(value):,}字符）"
        if lang == "en":
            return value[:limit] + f"… (truncated, {len(value):,} characters)"
        return value[:limit] + f"…（截断，共{len(value):,}字符 / truncated, {len(value):,} characters）"
    return value


def _too_long(col: pd.Series) -> pd.Series:
    """Which values of a column are text longer than MAX_DISPLAY_CHARS (one pass in C, no Python per value)."""
    if col.dtype != object:  # Arrow-backed text: its lengths by Arrow
        return (col.str.len() > MAX_DISPLAY_CHARS).fillna(False).astype(bool)
    values = col.to_numpy()
    codes = None
    if repeats_objects(values):  # a rule's texts on each of its findings: the length of each object once
        codes, values = unique_objects(values)
    try:
        lens = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    except TypeError:  # missing values or numbers among the text: pandas' string lengths (NaN for non-text)
        if pd.api.types.infer_dtype(values, skipna=True) not in ("string", "mixed", "mixed-integer"):
            return pd.Series(False, index=col.index)  # no text at all (numbers, booleans, nothing)
        lens = pd.Series(values, dtype=object).str.len().fillna(0).to_numpy(dtype=np.int64)
    long = lens > MAX_DISPLAY_CHARS
    return pd.Series(long if codes is None else long[codes], index=col.index)


def clip_frame(frame, lang: str | None = None):
    """``frame`` with every text column clipped for display (a shallow copy when nothing is too long)."""
    long_cols = {}
    for col in frame.columns:
        if col != getattr(frame, "_geometry_column_name", None) and (
            frame[col].dtype == object or pd.api.types.is_string_dtype(frame[col])
        ):
            long = _too_long(frame[col])
            if long.any():
                long_cols[col] = long
    if not long_cols:
        return frame.copy(deep=False)
    out = frame.copy()
    for col, long in long_cols.items():
        out.loc[long, col] = out.loc[long, col].map(lambda v: clip_text(v, lang=lang))
    return out


def clip_doc(value):
    """A findings document with every string clipped for display (recursively)."""
    if isinstance(value, dict):
        return {k: clip_doc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clip_doc(v) for v in value]
    return clip_text(value)


def context_layers(result) -> dict[str, gpd.GeoDataFrame]:
    """The workspace features that the findings name, per layer kind, and the admin boundary around the sites.

    The admin boundary (when the workspace has one) gives the review map its
    county outline and its mini-map something to show without a basemap.
    They are the features the engine read (``result.context``): the
    workspace is not reopened.
    """
    return dict(getattr(result, "context", None) or {})


class _Display:
    """A screening result with every text clipped for display (what the HTML report shows)."""

    def __init__(self, result, lang: str | None = None) -> None:
        self.sites = clip_frame(result.sites, lang)
        self.findings = clip_frame(result.findings, lang)
        self.meta = result.meta
        self.not_evaluated = getattr(result, "not_evaluated", None)
        self.notes = getattr(result, "notes", None)
        self.accesslist = getattr(result, "accesslist", None)  # 准入清单对照 (issue 15)


def review_map_html(result, *, lang: str = "zh") -> str:
    """The self-contained review map of all sites and findings."""
    from ecogis.render.webmap import review_map, to_html

    context = {k: clip_frame(v) for k, v in context_layers(result).items()}
    m = review_map(clip_frame(result.sites), clip_frame(result.findings), context, lang=lang)
    return to_html(m)


def write_outputs(result, out_dir: str | Path, *, formats: Iterable[str] = FORMATS, lang: str = "zh",
                  progress: bool = False) -> list[Path]:
    """Write the chosen outputs into ``out_dir``; return the paths written.

    ``progress`` shows a bar over the files being written (the CLI turns it on).
    For large results (:data:`PARALLEL_FINDINGS` rows or more, more than one
    core) ``findings.json``/``.jsonl`` and the report are written by a
    forked process while this one writes ``conflicts.gpkg`` and ``findings.xlsx``;
    an error in either is raised here.  Every file is written atomically.
    Garbage collection is paused meanwhile (:mod:`ecogis.gcpause`).
    """
    from ecogis.gcpause import bulk_work

    with bulk_work():
        return _write_outputs(result, out_dir, formats=formats, lang=lang, progress=progress)


def _write_outputs(result, out_dir: str | Path, *, formats: Iterable[str], lang: str, progress: bool) -> list[Path]:
    from ecogis.render.report import write_gpkg, write_json
    from ecogis.render.xlsx import write_findings_xlsx

    def write_html() -> list[Path]:
        # imported here: for large results in the forked process, so that folium's import (0.5 s) runs beside
        # this process's writing instead of before the fork
        from ecogis.render.report_html import write_report_files

        return list(write_report_files(_Display(result, lang), out, lang=lang, context=context_layers(result)))

    fmts = [f.strip().lower() for f in formats if f.strip()]
    bad = [f for f in fmts if f not in FORMATS + EXTRA_FORMATS]
    if bad:
        raise InputError(f"unknown output format {', '.join(bad)}",
                         hint=f"choose from {', '.join(FORMATS + EXTRA_FORMATS)}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    todo = [f for f in WRITE_ORDER if f in fmts]
    writers = {
        "json": lambda: [write_json(result, out / "findings.json")],
        "jsonl": lambda: [write_json(result, out / "findings.jsonl", lines=True)],
        "xlsx": lambda: [write_findings_xlsx(result, out / "findings.xlsx", lang=lang)],
        "gpkg": lambda: [write_gpkg(result, out / "conflicts.gpkg")],
        "html": write_html,
    }
    names = {"json": "findings.json", "jsonl": "findings.jsonl", "xlsx": "findings.xlsx",
             "gpkg": "conflicts.gpkg", "html": "report.html"}
    # large results: findings.json and the report are written by a forked process while this one writes the
    # GeoPackage and the workbook, so both cores work; small ones are written here, in order
    background = [f for f in todo if f in BACKGROUND_FORMATS] if _parallel(result) else []
    bar = _writing_bar(todo, progress)
    from ecogis.parallel import forked

    job = forked(lambda: [p for f in background for p in writers[f]()]) if background else None
    written: list[Path] = []
    try:
        for f in todo:
            if f in background:
                continue
            bar.set_postfix_str(names[f])
            written += writers[f]()
            bar.update()
        if job is not None:
            bar.set_postfix_str(", ".join(names[f] for f in background))
            written = job.result() + written
            job = None
            bar.update(len(background))
    finally:
        if job is not None:
            job.cancel()
        bar.close()
    order = {names[f]: i for i, f in enumerate(todo)}
    return sorted(written, key=lambda p: order.get(Path(p).name, len(order)))


#: The order outputs are written and listed in.
WRITE_ORDER = ("json", "jsonl", "xlsx", "gpkg", "html")
#: Outputs the forked process writes for large results.  The split balances the two processes: at 166,883
#: findings and 40,000 sites, alone, JSON 1.4 s + report 1.0 s against GeoPackage 1.9 s + XLSX 0.9 s (measured:
#: all four written in 2.85 s, against 3.0 s with JSON and XLSX in the fork).
BACKGROUND_FORMATS = ("json", "jsonl", "html")
#: Findings above which the outputs are written by two processes (below it a fork costs more than it saves).
PARALLEL_FINDINGS = 20_000


def _parallel(result) -> bool:
    from ecogis.parallel import thread_count

    return thread_count() > 1 and len(result.findings) + len(result.sites) >= PARALLEL_FINDINGS


class _NoBar:
    def set_postfix_str(self, s: str) -> None: ...
    def update(self, n: int = 1) -> None: ...
    def close(self) -> None: ...


def _writing_bar(fmts: list[str], enabled: bool):
    """A progress bar over the files to write (shown after 2 s), or a silent stand-in."""
    if not enabled:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=len(fmts), desc="writing", unit="file", leave=False, delay=2.0)
