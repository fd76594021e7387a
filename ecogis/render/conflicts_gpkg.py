"""``conflicts.gpkg``: the sites, the conflicts, and the texts they repeat stored once.

Layers of the file:

``sites`` (a registered spatial view)
    every site with its verdict and every site column of the result in that
    order (polygons, EPSG:4490); read-only;
``sites_base``
    the view's base table: what is particular to each site (id, name,
    industry, areas, verdict …), its geometry (with the R-tree) and
    ``checks_key``;
``checks`` (attribute table)
    one row per distinct set of what was checked for a site and where it came
    from: source file and its SHA-256, the layers checked, the rules not
    evaluated, the incomplete rules and layers.  Those texts run to about 1.3 KB
    and are the same on thousands of sites (at 100,000 sites the sites take
    ~70 MB instead of 205 MB);
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

Should the texts ever differ between two rows that share a rule (or a set of
checks), each distinct set gets its own row (``rule_key``, ``checks_key``
tell them apart): nothing is merged away.  The views read back exactly the
columns of ``result.sites`` and ``result.findings``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio

from ecogis.errors import InputError
from ecogis.fileutil import atomic_path
from ecogis.textcolumns import factorize_objects, group_rows
from ecogis.workspace.gpkg import _ident  # SQLite identifier quoting, one helper for every GeoPackage

#: The finding columns that belong to the rule (the same on each of its findings): stored once, in ``rules``.
RULE_COLUMNS = ("rule_title", "severity", "basis", "next_steps", "rule_file", "source", "citation",
                "basis_verified", "basis_unverified", "rule_version")
#: Columns of ``rules`` that ``conflicts_base`` keeps too (for styling and filtering the table on its own).
KEPT_IN_CONFLICTS = ("severity",)
#: The site columns shared by many sites (what was checked, the source file): stored once, in ``checks``.
CHECK_COLUMNS = ("source_file", "source_sha256", "checked_layers", "not_evaluated", "incomplete_rules",
                 "incomplete_layers")
SITES, SITES_BASE, CHECKS = "sites", "sites_base", "checks"
BASE, RULES, CONFLICTS = "conflicts_base", "rules", "conflicts"


@dataclass(frozen=True)
class _Split:
    """How one layer is stored: a base table, a table of its shared texts, and a view joining them."""

    view: str
    base: str
    side: str
    key: str
    after: str  # the base table's column that the key follows
    kept: tuple[str, ...]  # shared columns the base keeps too
    description: str


_SITES = _Split(SITES, SITES_BASE, CHECKS, "checks_key", "site_id", (),
                "every site with its verdict and what was checked")
_CONFLICTS = _Split(CONFLICTS, BASE, RULES, "rule_key", "rule_id", KEPT_IN_CONFLICTS,
                    "every finding with the texts of the rule it cites")


def distinct_rows(frame: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(key per row, first row of each key)``: keys ``1..k`` number the distinct value rows of ``columns``
    in the order they first appear.  One hashing pass per column and one over the folded code rows
    (:func:`~ecogis.textcolumns.group_rows`);
    missing values are a value of their own.  No Python per row."""
    codes = []
    for c in columns:  # missing values coded −1: a value of their own in the key
        code, _ = factorize_objects(frame[c].to_numpy(dtype=object))
        codes.append(code)
    if not len(frame):
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    group, first = group_rows(np.vstack(codes).T)  # numbered in the order the rows first use them
    return group + 1, first


def rule_keys(findings: pd.DataFrame, columns: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """``(key per finding, first finding of each key)``: one key per distinct rule id and rule texts.

    Usually a rule's texts are the same on all its findings: then the key is the rule's own number, found
    with one hashing pass over ``rule_id`` and one comparison per column with the rule's first finding.
    Otherwise :func:`distinct_rows` over the id and the texts.  No Python per finding.
    """
    rule_code, _ = factorize_objects(findings["rule_id"].to_numpy(dtype=object))
    if len(rule_code) and rule_code.min() < 0:  # findings without a rule id: keyed with the rest of their texts
        return distinct_rows(findings, ["rule_id", *columns])
    _, first_of = np.unique(rule_code, return_index=True)  # codes number the rules in order of first finding
    for c in columns:
        v = findings[c].to_numpy(dtype=object)
        ref = v[first_of][rule_code]
        try:  # elementwise; a rule's constants are one object repeated, compared by identity first
            eq = np.asarray(ref == v, dtype=bool)
            odd = np.flatnonzero(~eq)  # only these may still be equal as two missing values
            ok = bool(np.all(pd.isna(ref[odd]) & pd.isna(v[odd]))) if len(odd) else True
        except (TypeError, ValueError):  # values without a plain truth (pd.NA, arrays): hash every column
            ok = False
        if not ok:
            return distinct_rows(findings, ["rule_id", *columns])
    return rule_code.astype(np.int64) + 1, first_of


def _split(frame, spec: _Split, cols: list[str], key_first) -> tuple[pd.DataFrame, pd.DataFrame]:
    geom = frame.geometry.name
    key, first = key_first(frame, cols)
    side = pd.DataFrame({spec.key: np.arange(1, len(first) + 1, dtype=np.int64)})
    lead = ["rule_id"] if spec is _CONFLICTS else []
    for c in [*lead, *cols]:
        side[c] = frame[c].to_numpy()[first]
    keep = [c for c in frame.columns if c == geom or c not in cols or c in spec.kept]
    base = frame[keep].copy(deep=False)
    base.insert(base.columns.get_loc(spec.after) + 1, spec.key, key)
    return base, side


def split_findings(findings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(base, rules)``: the findings without their rule texts (plus ``rule_key``), and those texts once."""
    return _split(findings, _CONFLICTS, [c for c in RULE_COLUMNS if c in findings.columns], rule_keys)


def split_sites(sites) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """``(base, checks)``: the sites without what they share (plus ``checks_key``), and that once.

    ``None`` when there is nothing to share (no such columns, no sites) or a shared column holds values
    that cannot be compared (lists): the sites are then written as one table, as they are.
    """
    cols = [c for c in CHECK_COLUMNS if c in sites.columns]
    if not cols or not len(sites) or "site_id" not in sites.columns:
        return None
    try:
        return _split(sites, _SITES, cols, distinct_rows)
    except TypeError:  # unhashable values (lists, dicts) in a shared column
        return None


def _add_view(path: Path, spec: _Split, columns: list[str], side_cols: list[str]) -> None:
    """Create the view ``spec.view`` (the base table joined with its shared texts), registered as a feature
    layer the way the GeoPackage standard registers a table (OGC 12-128r18 §2.1.3, §2.1.5)."""
    import sqlite3

    con = sqlite3.connect(path)
    try:
        geom_col, geom_type, srs_id, z, m = con.execute(
            "SELECT column_name, geometry_type_name, srs_id, z, m FROM gpkg_geometry_columns WHERE table_name = ?",
            (spec.base,)).fetchone()
        extent = con.execute("SELECT min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = ?",
                             (spec.base,)).fetchone()
        # the columns as GDAL stored them (read back, never assumed): every column, from its table
        stored = {t: {row[1] for row in con.execute(f"PRAGMA table_info({_ident(t)})")}
                  for t in (spec.base, spec.side)}
        select = ["b.fid AS OGC_FID"]
        for c in columns:
            if c in side_cols and c not in spec.kept and c in stored[spec.side]:
                select.append(f"s.{_ident(c)}")
            elif c in stored[spec.base]:
                select.append(f"b.{_ident(c)}")
            else:
                raise InputError(f"conflicts.gpkg: column {c!r} was not stored as given",
                                 hint="rename the column (the GeoPackage driver changed its name)")
        select.append(f"b.{_ident(geom_col)}")
        with con:
            con.execute(f"CREATE VIEW {_ident(spec.view)} AS SELECT {', '.join(select)} FROM {_ident(spec.base)} b "
                        f"JOIN {_ident(spec.side)} s ON s.{_ident(spec.key)} = b.{_ident(spec.key)}")
            con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, description, min_x, min_y, "
                        "max_x, max_y, srs_id) VALUES (?, 'features', ?, ?, ?, ?, ?, ?, ?)",
                        (spec.view, spec.view, spec.description, *extent, srs_id))
            con.execute("INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, "
                        "z, m) VALUES (?, ?, ?, ?, ?, ?)", (spec.view, geom_col, geom_type, srs_id, z, m))
    finally:
        con.close()


def _write_split(tmp: Path, frame, spec: _Split, base: pd.DataFrame, side: pd.DataFrame, **geom_opts) -> None:
    pyogrio.write_dataframe(base, tmp, layer=spec.base, driver="GPKG", use_arrow=True, **geom_opts)
    pyogrio.write_dataframe(side, tmp, layer=spec.side, driver="GPKG", use_arrow=True)
    columns = [c for c in frame.columns if c != frame.geometry.name]
    _add_view(tmp, spec, columns, list(side.columns))


#: Names the file itself uses (any case): GDAL's geometry column and feature ID, the views' ID, the keys.
RESERVED_NAMES = ("geom", "fid", "ogc_fid", "checks_key", "rule_key")


def writable_names(frame, notes=None):
    """``frame`` with every column GeoPackage could not store under its own name renamed, each rename noted.

    GeoPackage (SQLite) field names are case-insensitive, and the file uses :data:`RESERVED_NAMES` itself: a
    site attribute called ``geom``, ``OGC_FID`` or ``checks_key`` (→ ``<name>_attr``), or two that differ
    only in case (→ ``<name>_2``), would otherwise stop the file being written.
    """
    from ecogis.normalise.schema import unique_field_names

    return unique_field_names(frame, notes, reserved=RESERVED_NAMES,
                              what="conflicts.gpkg: fields renamed, their names are taken in a GeoPackage")


def write_conflicts_gpkg(result, path: str | Path) -> Path:
    """Write ``conflicts.gpkg`` (the views ``sites`` and ``conflicts``, their base tables, ``checks`` and
    ``rules``), atomically.

    Columns go to GDAL as Arrow arrays (pyogrio ``use_arrow``): no Python per row.
    """
    with atomic_path(path) as tmp:
        notes = getattr(result, "notes", None)
        sites = writable_names(result.sites.drop(columns=[c for c in ("fid",) if c in result.sites.columns]), notes)
        parts = split_sites(sites)
        if parts is None:
            pyogrio.write_dataframe(sites, tmp, layer=SITES, driver="GPKG", promote_to_multi=None, use_arrow=True)
        else:
            _write_split(tmp, sites, _SITES, *parts, promote_to_multi=None)
        findings = result.findings
        if len(findings):
            findings = writable_names(findings, notes)
            # each overlap keeps its own type (a polygon stays a polygon) in the GEOMETRY column: no
            # promotion of every polygon to a multipolygon (0.13 s at 166,883 findings)
            _write_split(tmp, findings, _CONFLICTS, *split_findings(findings), geometry_type="Unknown",
                         promote_to_multi=False)
    return Path(path)


__all__ = ["CHECK_COLUMNS", "RESERVED_NAMES", "RULE_COLUMNS", "distinct_rows", "rule_keys", "split_findings", "split_sites",
           "writable_names", "write_conflicts_gpkg"]
