"""Access lists in a workspace: import (versioned, with SHA-256), list, validate against ``control_unit``.

All lists of a workspace live in one attribute table ``accesslist`` (one row
per item, the parsed clauses as JSON).  Importing a list replaces the items of
the same list name and keeps the others; every import is a new version of the
table with the file's SHA-256 in its history.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from ecogis.accesslist.clause import parse_item
from ecogis.accesslist.reader import read_accesslist
from ecogis.accesslist.synonyms import load_synonyms
from ecogis.errors import InputError
from ecogis.fileutil import sha256_file
from ecogis.notes import Notes
from ecogis.workspace import Workspace, open_workspace

TABLE = "accesslist"
#: A snapshot of the control_unit layer taken at import (code, name, class, bounds, WKB), for fast screens.
UNITS_TABLE = "accesslist_units"
STORED_COLUMNS = ["item_id", "list_id", "source_file", "sheet", "row", "level", "scope_code", "class_filter",
                  "unit_code", "unit_name", "unit_class", "dimension", "item_no", "text", "doc", "doc_number",
                  "attachment", "page", "status", "names_industry", "n_clauses", "clauses", "text_parts"]


@dataclass
class Coverage:
    """How much of a list the parser turned into machine clauses."""

    items: int = 0
    machine: int = 0
    partial: int = 0
    text: int = 0
    clauses: int = 0
    naming_industry: int = 0
    naming_industry_machine: int = 0
    #: of those, the items with access wording at all (禁止/严禁/不得/限制/严格控制/须/应 …)
    restrictive_industry: int = 0
    restrictive_industry_machine: int = 0

    @property
    def industry_share(self) -> float:
        """Share of the items naming an industry that hold at least one machine clause."""
        return self.naming_industry_machine / self.naming_industry if self.naming_industry else 1.0

    def as_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["industry_share"] = round(self.industry_share, 4)
        return d

    def line(self) -> str:
        return (f"{self.items} items: {self.machine} machine, {self.partial} partly machine, {self.text} text only;"
                f" {self.clauses} clauses; items naming an industry {self.naming_industry},"
                f" of them with a machine clause {self.naming_industry_machine} ({100 * self.industry_share:.1f} %);"
                f" of the {self.restrictive_industry} with access wording (禁止/限制/须…) {self.restrictive_industry_machine}")


@dataclass
class CheckReport:
    """Codes of the lists against the workspace's ``control_unit`` layer."""

    units_without_list: list[str] = field(default_factory=list)
    entries_without_unit: list[str] = field(default_factory=list)
    class_mismatch: list[str] = field(default_factory=list)
    general_without_unit: list[str] = field(default_factory=list)
    layer_present: bool = True

    def lines(self) -> list[str]:
        out = []
        if not self.layer_present:
            out.append("the workspace has no control_unit layer: unit codes not checked")
        if self.units_without_list:
            out.append(f"{len(self.units_without_list)} units without a list: {', '.join(self.units_without_list[:30])}")
        if self.entries_without_unit:
            out.append(f"{len(self.entries_without_unit)} list entries without a unit in the layer:"
                       f" {', '.join(self.entries_without_unit[:30])}")
        if self.general_without_unit:
            out.append(f"{len(self.general_without_unit)} general requirements (总体准入要求) apply to no unit of the"
                       f" layer: {', '.join(self.general_without_unit[:30])}")
        if self.class_mismatch:
            out.append(f"{len(self.class_mismatch)} class mismatches: {'; '.join(self.class_mismatch[:30])}")
        return out

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class ImportReport:
    list_id: str
    source: str
    sha256: str
    version: str
    items: int
    coverage: Coverage
    check: CheckReport
    notes: Notes


def _clause_dict(c) -> dict[str, Any]:
    d = dataclasses.asdict(c)
    d["thresholds"] = [dataclasses.asdict(t) if not isinstance(t, dict) else t for t in c.thresholds]
    return d


def parse_items(items: pd.DataFrame) -> pd.DataFrame:
    """Parse every item's text (each distinct text once) and add the stored clause columns."""
    syn = load_synonyms()
    cache: dict[str, tuple[str, bool, int, str, str]] = {}
    texts = items["text"].astype(str).to_numpy()
    for t in dict.fromkeys(texts):
        p = parse_item(t, syn)
        cache[t] = (p.status, p.names_industry, len(p.clauses),
                    json.dumps([_clause_dict(c) for c in p.clauses], ensure_ascii=False),
                    json.dumps(p.text_parts, ensure_ascii=False))
    cols = list(zip(*(cache[t] for t in texts))) if len(texts) else [(), (), (), (), ()]
    out = items.copy()
    for name, values in zip(("status", "names_industry", "n_clauses", "clauses", "text_parts"), cols):
        out[name] = list(values)
    return out


def coverage_of(items: pd.DataFrame) -> Coverage:
    """Parser coverage of parsed items (see :func:`parse_items`)."""
    from ecogis.accesslist.clause import _MUST, _PROHIBIT, _RESTRICT

    st = items["status"]
    named = items["names_industry"].astype(bool)
    text = items["text"].astype(str)
    wording = [bool(_PROHIBIT.search(t) or _RESTRICT.search(t) or _MUST.search(t)) for t in text]
    restrictive = named & pd.Series(wording, index=items.index, dtype=bool)
    return Coverage(
        restrictive_industry=int(restrictive.sum()), restrictive_industry_machine=int((restrictive & (st != "text")).sum()),
        items=int(len(items)), machine=int((st == "machine").sum()), partial=int((st == "partial").sum()),
        text=int((st == "text").sum()), clauses=int(items["n_clauses"].sum()), naming_industry=int(named.sum()),
        naming_industry_machine=int((named & (st != "text")).sum()),
    )


def check_units(items: pd.DataFrame, ws: Workspace) -> CheckReport:
    """Units of the layer without any unit-level item, list entries without a unit, class mismatches."""
    rep = CheckReport()
    if not ws.has("control_unit"):
        rep.layer_present = False
        return rep
    units = ws.read("control_unit")
    layer = pd.DataFrame({"unit_code": units["code"].astype(str), "layer_class": units["class"].astype(str)})
    listed = items[items["level"] == "unit"][["unit_code", "unit_class"]].drop_duplicates("unit_code")
    have = set(listed["unit_code"])
    rep.units_without_list = sorted(set(layer["unit_code"]) - have)
    rep.entries_without_unit = sorted(have - set(layer["unit_code"]))
    both = listed.merge(layer, on="unit_code")
    bad = both[(both["unit_class"] != "") & (both["unit_class"] != both["layer_class"])]
    rep.class_mismatch = [f"{c}: list {a}, layer {b}" for c, a, b in bad[["unit_code", "unit_class", "layer_class"]].to_numpy()]
    gen = items[items["level"] != "unit"][["scope_code", "class_filter"]].drop_duplicates()
    for scope, cls in gen.itertuples(index=False):
        hit = layer[layer["unit_code"].str.slice(2, 8).str.startswith(str(scope))]
        if not len(hit) or (cls and not (hit["layer_class"] == cls).any()):
            rep.general_without_unit.append(f"{scope}{'/' + cls if cls else ''}")
    return rep


def read_items(ws: Workspace, *, unit_codes: list[str] | None = None) -> pd.DataFrame:
    """Stored items: all, or those of ``unit_codes`` plus every general (总体) item."""
    if unit_codes is None:
        if ws.table_info(TABLE) is None:
            return pd.DataFrame(columns=STORED_COLUMNS)
        return ws.read_table(TABLE)
    return ws.read_table(TABLE, where_in={"unit_code": list(unit_codes), "level": ["province", "city", "county"]})


def import_accesslist(path: str | os.PathLike, workspace: str | os.PathLike | Workspace, *, name: str | None = None,
                      version: str | None = None, encoding: str | None = None, sheet: str | None = None,
                      defaults: dict[str, str] | None = None, strict: bool = False) -> ImportReport:
    """Read, parse and store an access list in ``workspace`` (table ``accesslist``).

    Parameters
    ----------
    name:
        The list's name in the workspace (default: the file name without extension); an import
        replaces the items of the list with the same name.
    strict:
        Refuse the import when list entries name units the ``control_unit`` layer lacks.
    """
    notes = Notes()
    p = Path(path)
    items = read_accesslist(p, encoding=encoding, sheet=sheet, notes=notes, defaults=defaults)
    list_id = name or p.stem
    sha = sha256_file(p)
    version = version or datetime.now(timezone.utc).strftime("%Y-%m-%d") + f"+{sha[:8]}"
    parsed = parse_items(items)
    parsed.insert(0, "list_id", list_id)
    parsed.insert(0, "item_id", [f"{list_id}:{i + 1}" for i in range(len(parsed))])
    parsed = parsed[STORED_COLUMNS]
    ws = open_workspace(workspace)
    existing = read_items(ws)
    keep = existing[existing["list_id"] != list_id] if len(existing) else existing
    table = pd.concat([keep.astype(parsed.dtypes.to_dict(), errors="ignore"), parsed], ignore_index=True) \
        if len(keep) else parsed
    check = check_units(table, ws)
    if strict and check.entries_without_unit:
        raise InputError(f"{len(check.entries_without_unit)} list entries name units the control_unit layer lacks:"
                         f" {', '.join(check.entries_without_unit[:20])}", path=p)
    cov = coverage_of(parsed)
    prev = ws.table_info(TABLE)
    lists = dict((prev.meta.get("lists") or {}) if prev else {})
    lists[list_id] = {"source": str(p), "sha256": sha, "version": version, "items": int(len(parsed)),
                      "coverage": cov.as_dict(), "imported_at": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    syn = load_synonyms()
    meta = {"lists": lists, "synonyms": {"path": syn.path, "version": syn.version, "sha256": sha256_file(syn.path)}}
    meta["control_unit"] = write_unit_snapshot(ws)
    table = table.copy()
    table["row"] = table["row"].astype(int)
    table["n_clauses"] = table["n_clauses"].astype(int)
    table["names_industry"] = table["names_industry"].astype(bool).astype(int)
    ws.write_table(TABLE, table, source=str(p), version=version, sha256=sha, meta=meta, index=("unit_code", "level"))
    return ImportReport(list_id, str(p), sha, version, int(len(parsed)), cov, check, notes)


def lists_in(ws: Workspace) -> dict[str, dict[str, Any]]:
    """The lists stored in ``ws`` with their source, SHA-256, version and coverage."""
    info = ws.table_info(TABLE)
    return dict(info.meta.get("lists") or {}) if info else {}


def current_unit_layer(ws: Workspace) -> dict[str, Any] | None:
    """Version, SHA-256 and import time of the current ``control_unit`` layer, from the metadata only."""
    rows = [li for li in ws.history("control_unit") if li.current]
    if not rows:
        return None
    li = rows[-1]
    return {"version": li.version, "sha256": li.sha256, "imported_at": li.imported_at}


def write_unit_snapshot(ws: Workspace) -> dict[str, Any] | None:
    """Store the control_unit layer's codes, names, classes, bounds and WKB in table ``accesslist_units``.

    Screens read the units a site meets from it with one indexed query; they fall back to the layer
    when the layer has changed since (its version is recorded here).
    """
    import shapely

    if not ws.has("control_unit"):
        return None
    units = ws.read("control_unit")
    geoms = units.geometry.values
    b = shapely.bounds(geoms)
    snap = pd.DataFrame({"code": units["code"].astype(str), "name": units["name"].astype(str),
                         "class": units["class"].astype(str), "minx": b[:, 0], "miny": b[:, 1], "maxx": b[:, 2],
                         "maxy": b[:, 3], "wkb": shapely.to_wkb(geoms, hex=True)})
    cu = current_unit_layer(ws)
    ws.write_table(UNITS_TABLE, snap, source=ws.uri, version=(cu or {}).get("version", ""),
                   sha256=(cu or {}).get("sha256", ""), meta={"control_unit": cu}, index=("minx", "maxx"))
    return cu
