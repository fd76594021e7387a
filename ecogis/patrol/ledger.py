"""The inspection ledger (台账): read a filled-in checklist back, list the open items.

The ledger lives in the workspace (:meth:`ecogis.workspace.Workspace.ledger_append`,
table ``ecogis_ledger``) and is append-only: every result read back becomes a
new entry, nothing is overwritten, so a target's trail (属实 → 整改中 → 已销号)
stays whole.  An item is *open* while its latest result is 属实 or 整改中;
不属实 and 已销号 close it.

:func:`update_ledger` checks every row before writing anything: one malformed
row (unknown result, missing or bad date, no inspector, bad coordinates) is
reported with its spreadsheet row number and the ledger is left unchanged.
Rows without a result (stops not visited) are skipped and noted.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ecogis.errors import FormatError, InputError
from ecogis.export.cells import undefuse_text
from ecogis.fileutil import check_input_file, sha256_file
from ecogis.notes import Notes
from ecogis.patrol.fieldpkg import CHECKLIST_COLUMNS
from ecogis.workspace import Workspace, open_workspace

RESULTS = ("属实", "不属实", "整改中", "已销号")
OPEN_RESULTS = ("属实", "整改中")

_HEADER_TO_KEY = {h: k for k, h in CHECKLIST_COLUMNS} | {k: k for k, _ in CHECKLIST_COLUMNS}


@dataclass
class LedgerUpdate:
    """What :func:`update_ledger` did."""

    added: int
    skipped_blank: list[int] = field(default_factory=list)
    skipped_duplicate: list[int] = field(default_factory=list)
    notes: Notes = field(default_factory=Notes)


def read_results(path: str | os.PathLike) -> pd.DataFrame:
    """The rows of a checklist (.xlsx or .csv) as text, with column keys and a ``_row`` spreadsheet row number."""
    p = check_input_file(path)
    ext = p.suffix.lower()
    if ext == ".xlsx":
        import openpyxl

        try:
            wb = openpyxl.load_workbook(p, read_only=True, data_only=True)
        except Exception as exc:
            raise FormatError(f"cannot read the workbook: {exc}", path=p) from None
        ws = wb["checklist"] if "checklist" in wb.sheetnames else wb[wb.sheetnames[0]]
        rows = [list(r) for r in ws.iter_rows(values_only=True)]
        wb.close()
    elif ext == ".csv":
        raw = p.read_bytes()
        for enc in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(enc)
                break
            except UnicodeDecodeError:
                continue
        else:  # pragma: no cover - gb18030 decodes any byte string
            raise FormatError("cannot decode the CSV", path=p)
        rows = list(csv.reader(io.StringIO(text)))
    else:
        raise InputError(f"cannot read results from {ext or 'a file without extension'}", path=p,
                         hint="give the checklist.xlsx or checklist.csv written by ecogis patrol")
    if not rows:
        raise FormatError("the checklist is empty", path=p)
    header = [str(h).strip() if h is not None else "" for h in rows[0]]
    keys = [_HEADER_TO_KEY.get(h) for h in header]
    need = ("target_id", "result", "date", "inspector", "lon", "lat")
    missing = [k for k in need if k not in keys]
    if missing:
        labels = dict(CHECKLIST_COLUMNS)
        raise FormatError(f"the checklist has no column(s) {', '.join(labels[k] for k in missing)}", path=p,
                          where="row 1", hint="keep the header row of the checklist written by ecogis patrol")
    recs = []
    for i, r in enumerate(rows[1:], start=2):
        if all(v is None or str(v).strip() == "" for v in r):
            continue
        rec: dict[str, Any] = {"_row": i}
        for k, v in zip(keys, r):
            if k:
                rec[k] = v
        recs.append(rec)
    return pd.DataFrame(recs, columns=["_row", *[k for k, _ in CHECKLIST_COLUMNS]], dtype=object)


def _text(v: Any) -> str:
    if v is None or (not isinstance(v, (str, bytes)) and np.ndim(v) == 0 and pd.isna(v)):
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return undefuse_text(str(v)).strip()  # the checklist CSV's formula guard ("'=…") taken off again


def _date(v: Any) -> str | None:
    if isinstance(v, pd.Timestamp) and not pd.isna(v):
        return v.date().isoformat()
    if isinstance(v, dt.datetime):
        return v.date().isoformat()
    if isinstance(v, dt.date):
        return v.isoformat()
    s = _text(v).replace("/", "-").replace(".", "-")
    for fmt in ("%Y-%m-%d", "%Y%m%d"):
        try:
            return dt.datetime.strptime(s, fmt).date().isoformat()
        except ValueError:
            pass
    return None


def _float(v: Any) -> float | None:
    try:
        f = float(_text(v))
    except ValueError:
        return None
    return f if np.isfinite(f) else None


def check_rows(df: pd.DataFrame, path: Path, *, today: dt.date | None = None) -> tuple[list[dict[str, Any]], list[int], list[str]]:
    """Validate checklist rows: (good entries, blank row numbers, problems as ``"row N: …"``)."""
    today = today or dt.date.today()
    good, blank, problems = [], [], []
    for rec in df.to_dict("records"):
        row = rec["_row"]
        result = _text(rec.get("result"))
        filled = any(_text(rec.get(k)) for k in ("date", "inspector", "remarks", "photo"))
        if not result:
            if filled:
                problems.append(f"row {row}: date, inspector or remarks given but no result "
                                f"(one of {' / '.join(RESULTS)})")
            else:
                blank.append(row)
            continue
        errs = []
        if result not in RESULTS:
            errs.append(f"result {result!r} is not one of {' / '.join(RESULTS)}")
        tid = _text(rec.get("target_id"))
        if not tid:
            errs.append("no target ID")
        date = _date(rec.get("date"))
        if date is None:
            errs.append(f"date {_text(rec.get('date'))!r} is not a date (YYYY-MM-DD)" if _text(rec.get("date"))
                        else "no date")
        elif dt.date.fromisoformat(date) > today:
            errs.append(f"date {date} is in the future")
        inspector = _text(rec.get("inspector"))
        if not inspector:
            errs.append("no inspector (核查人)")
        lon, lat = _float(rec.get("lon")), _float(rec.get("lat"))
        if lon is None or lat is None or not (-180 <= lon <= 180 and -90 <= lat <= 90):
            errs.append("longitude/latitude missing or not CGCS2000 degrees")
        if errs:
            problems.append(f"row {row}: " + "; ".join(errs))
            continue
        good.append({
            "_row": row, "target_id": tid, "source": _text(rec.get("source")), "name": _text(rec.get("name")),
            "result": result, "date": date, "inspector": inspector, "remarks": _text(rec.get("remarks")),
            "photo": _text(rec.get("photo")), "check": _text(rec.get("check")), "basis": _text(rec.get("basis")),
            "lon": lon, "lat": lat,
        })
    return good, blank, problems


def update_ledger(workspace: str | os.PathLike | Workspace, results: str | os.PathLike, *,
                  today: dt.date | None = None) -> LedgerUpdate:
    """Read a filled-in checklist and append its results to the workspace ledger.

    Raises
    ------
    InputError
        Any malformed row; the message lists every bad row with its number
        (the header is row 1) and nothing is written.
    """
    ws = open_workspace(workspace)
    path = Path(results)
    df = read_results(path)
    good, blank, problems = check_rows(df, path, today=today)
    if problems:
        first = problems[0].split(":", 1)[0]
        shown = "\n  ".join(problems[:20]) + (f"\n  … (+{len(problems) - 20} more)" if len(problems) > 20 else "")
        raise InputError(f"{len(problems)} malformed row(s); the ledger is unchanged:\n  {shown}", path=path,
                         where=first, hint=f"result must be one of {' / '.join(RESULTS)}; date as YYYY-MM-DD")
    notes = Notes()
    upd = LedgerUpdate(added=0, skipped_blank=blank, notes=notes)
    if blank:
        notes.add("blank", "rows without a result (not visited) were not recorded", ids=tuple(blank))
    if not good:
        return upd
    with ws.writing():  # the duplicate check and the append see the same ledger: no other writer between
        return _append_fresh(ws, good, upd, path)


def _append_fresh(ws: Workspace, good: list[dict[str, Any]], upd: LedgerUpdate, path: Path) -> LedgerUpdate:
    notes = upd.notes
    existing = ws.ledger()
    seen = set()
    if len(existing):
        seen = set(zip(existing["target_id"].astype(str), existing["result"].astype(str),
                       existing["date"].astype(str), existing["inspector"].astype(str),
                       existing["remarks"].fillna("").astype(str)))
    fresh = []
    for g in good:
        key = (g["target_id"], g["result"], g["date"], g["inspector"], g["remarks"])
        if key in seen:
            upd.skipped_duplicate.append(g["_row"])
            continue
        seen.add(key)
        fresh.append(g)
    if upd.skipped_duplicate:
        notes.add("duplicate", "rows already in the ledger (same target, result, date, inspector, remarks) "
                               "were not recorded again", ids=tuple(upd.skipped_duplicate))
    if not fresh:
        return upd
    frame = pd.DataFrame(fresh)
    entries = gpd.GeoDataFrame(
        frame.drop(columns=["_row", "lon", "lat"]),
        geometry=shapely.points(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float)), crs=4490)
    upd.added = ws.ledger_append(entries, record_source=f"{path.name} sha256:{sha256_file(path)[:16]}")
    return upd


def ledger_status(workspace: str | os.PathLike | Workspace) -> gpd.GeoDataFrame:
    """The latest entry of every target in the ledger, with ``entries`` (how many) and ``open``."""
    ws = open_workspace(workspace)
    led = ws.ledger()
    if len(led) == 0:
        out = led.copy()
        out["entries"] = pd.Series(dtype=int)
        out["open"] = pd.Series(dtype=bool)
        out["first_date"] = pd.Series(dtype=object)
        return out
    counts = led.groupby("target_id")["entry_id"].count()
    first = led.groupby("target_id")["date"].min()
    last = led.sort_values("entry_id").groupby("target_id", sort=False).tail(1).copy()
    last["entries"] = last["target_id"].map(counts).astype(int)
    last["first_date"] = last["target_id"].map(first)
    last["open"] = last["result"].isin(OPEN_RESULTS)
    return last.sort_values(["open", "date", "target_id"], ascending=[False, True, True]).reset_index(drop=True)


def open_items(workspace: str | os.PathLike | Workspace) -> gpd.GeoDataFrame:
    """The ledger items still open (latest result 属实 or 整改中)."""
    st = ledger_status(workspace)
    return st[st["open"].astype(bool)].reset_index(drop=True)
