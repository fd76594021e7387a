"""``conflicts.gpkg``: the sites, the conflicts, and the rules they cite stored once.

Layers of the file:

``sites``
    every site with its verdict (polygons, EPSG:4490);
``conflicts`` (a registered spatial view)
    one row per finding with its overlap geometry and every column of
    :data:`ecogis.screening.result.FINDING_COLUMNS` in that order — the table
    GIS staff open in QGIS or ArcGIS, as it always was; read-only;
``conflicts_base``
    the view's base table: what is particular to each finding (site,
    feature, areas, distance, message, certainty …), its geometry (with the
    R-tree the view's spatial filters use) and ``rule_key``;
``rules`` (attribute table)
    one row per rule cited: id, title, severity, legal basis, citation, next
    steps, rule file and version.  A rule's texts are the same on each of its
    findings, so they are written once instead of on thousands of rows (at
    40,000 sites the file is 196 MB instead of 323 MB, and written in half the
    time); the view joins them back.

Should a rule's texts ever differ between two of its findings, each distinct
set gets its own ``rules`` row (``rule_key`` tells them apart): nothing is
merged away.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from ecogis.errors import InputError
from ecogis.fileutil import atomic_path
from ecogis.workspace.gpkg import _ident  # SQLite identifier quoting, one helper for every GeoPackage

#: The finding columns that belong to the rule (the same on each of its findings): stored once, in ``rules``.
RULE_COLUMNS = ("rule_title", "severity", "basis", "next_steps", "rule_file", "source", "citation",
                "basis_verified", "basis_unverified", "rule_version")
#: Columns of ``rules`` that ``conflicts_base`` keeps too (for styling and filtering the table on its own).
KEPT_IN_CONFLICTS = ("severity",)
SITES, BASE, RULES, CONFLICTS = "sites", "conflicts_base", "rules", "conflicts"


def rule_keys(findings: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(key per finding, first finding of each key)``: one key per distinct rule id and rule texts.

    Usually a rule's texts are the same on all its findings: then the key is the rule's own number, found
    with one hashing pass over ``rule_id`` and one comparison per column with the rule's first finding.
    Otherwise one hashing pass per column and one ``np.unique`` over the code rows.  No Python per finding.
    """
    rule_code, _ = pd.factorize(findings["rule_id"].astype(object), use_na_sentinel=False)
    _, first_of = np.unique(rule_code, return_index=True)  # codes number the rules in order of first finding
    same = True
    for c in columns:
        v = findings[c].to_numpy(dtype=object)
        ref = v[first_of][rule_code]
        try:  # elementwise; a rule's constants are one object repeated, compared by identity first
            ok = bool(np.all((ref == v) | (pd.isna(ref) & pd.isna(v))))
        except (TypeError, ValueError):  # values without a plain truth (pd.NA, arrays): hash every column
            ok = False
        if not ok:
            same = False
            break
    if same:
        return rule_code.astype(np.int64) + 1, first_of
    codes = []
    for c in ["rule_id", *columns]:
        code, _ = pd.factorize(findings[c].astype(object), use_na_sentinel=False)
        codes.append(code.astype(np.int64))
    m = np.ascontiguousarray(np.vstack(codes).T)
    keys = m.view(np.dtype((np.void, m.shape[1] * 8))).ravel()
    _, first, inv = np.unique(keys, return_index=True, return_inverse=True)
    # keys numbered in the order the findings first cite them (stable for readers)
    order = np.argsort(first, kind="stable")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(1, len(order) + 1)
    return rank[inv.ravel()], first[order]


def split_findings(findings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(base, rules)``: the findings without their rule texts (plus ``rule_key``), and those texts once."""
    geom = findings.geometry.name
    cols = [c for c in RULE_COLUMNS if c in findings.columns]
    key, first = rule_keys(findings, cols)
    rules = pd.DataFrame({"rule_key": np.arange(1, len(first) + 1, dtype=np.int64)})
    for c in ["rule_id", *cols]:
        rules[c] = findings[c].to_numpy()[first]
    keep = [c for c in findings.columns if c == geom or c not in cols or c in KEPT_IN_CONFLICTS]
    conflicts = findings[keep].copy(deep=False)
    at = conflicts.columns.get_loc("rule_id") + 1
    conflicts.insert(at, "rule_key", key)
    return conflicts, rules


def _add_view(path: Path, columns: list[str], rule_cols: list[str]) -> None:
    """Create the view ``conflicts`` (``conflicts_base`` joined with ``rules``), registered as a feature layer."""
    import sqlite3

    con = sqlite3.connect(path)
    try:
        geom_col, geom_type, srs_id, z, m = con.execute(
            "SELECT column_name, geometry_type_name, srs_id, z, m FROM gpkg_geometry_columns WHERE table_name = ?",
            (BASE,)).fetchone()
        extent = con.execute("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?",
                             (BASE,)).fetchone()
        # the columns as GDAL stored them (read back, never assumed): every finding column, from its table
        stored = {t: {row[1] for row in con.execute(f"PRAGMA table_info({_ident(t)})")} for t in (BASE, RULES)}
        select = ["c.fid AS OGC_FID"]
        for c in columns:
            if c in rule_cols and c not in KEPT_IN_CONFLICTS and c in stored[RULES]:
                select.append(f"r.{_ident(c)}")
            elif c in stored[BASE]:
                select.append(f"c.{_ident(c)}")
            else:
                raise InputError(f"conflicts.gpkg: column {c!r} was not stored as given",
                                 hint="rename the column (the GeoPackage driver changed its name)")
        select.append(f"c.{_ident(geom_col)}")
        with con:
            con.execute(f"CREATE VIEW {_ident(CONFLICTS)} AS SELECT {', '.join(select)} FROM {_ident(BASE)} c "
                        f"JOIN {_ident(RULES)} r ON r.rule_key = c.rule_key")
            con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, "
                        "max_x, max_y, srs_id) VALUES (?, 'features', ?, ?, ?, ?, ?, ?, ?)",
                        (CONFLICTS, CONFLICTS, "every finding with the texts of the rule it cites", *extent,
                         srs_id))
            con.execute("INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, "
                        "z, m) VALUES (?, ?, ?, ?, ?, ?)", (CONFLICTS, geom_col, geom_type, srs_id, z, m))
    finally:
        con.close()


def write_conflicts_gpkg(result, path: str | Path) -> Path:
    """Write ``conflicts.gpkg`` (``sites``, the view ``conflicts``, ``conflicts_base``, ``rules``), atomically.

    Columns go to GDAL as Arrow arrays (pyogrio ``use_arrow``): no Python per row.
    """
    with atomic_path(path) as tmp:
        sites = result.sites.drop(columns=[c for c in ("fid",) if c in result.sites.columns])
        pyogrio.write_dataframe(sites, tmp, layer=SITES, driver="GPKG", promote_to_multi=None, use_arrow=True)
        findings = result.findings
        if len(findings):
            conflicts, rules = split_findings(findings)
            # each overlap keeps its own type (a polygon stays a polygon) in the GEOMETRY column: no
            # promotion of every polygon to a multipolygon (0.13 s at 166,883 findings)
            pyogrio.write_dataframe(conflicts, tmp, layer=BASE, driver="GPKG", geometry_type="Unknown",
                                    promote_to_multi=False, use_arrow=True)
            pyogrio.write_dataframe(rules, tmp, layer=RULES, driver="GPKG", use_arrow=True)
            columns = [c for c in findings.columns if c != findings.geometry.name]
            _add_view(tmp, columns, list(rules.columns))
    return Path(path)


__all__ = ["RULE_COLUMNS", "rule_keys", "split_findings", "write_conflicts_gpkg"]
