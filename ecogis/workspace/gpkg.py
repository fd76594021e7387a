"""GeoPackage workspace: the embedded default backend.

One table per layer kind (named after the kind) in EPSG:4490, plus the
attribute table ``ecogis_layers`` with every import's metadata.  A write
copies the file, changes the copy and renames it into place, so a failed
import leaves the previous version untouched and concurrent readers always see
a whole version.  Writers are serialised by a file lock (``ws.gpkg.lock``,
:mod:`ecogis.workspace.lock`) taken before they read what they change, so
concurrent imports and ledger updates never lose each other's rows.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import geopandas as gpd
import pyogrio

from ecogis.errors import WorkspaceError
from ecogis.fileutil import atomic_path
from ecogis.notes import Notes
from ecogis.settings import settings
from ecogis.workspace import lock
from ecogis.workspace.base import LayerInfo, TableInfo, Workspace, coverage_wkb, merged_coverage

META_TABLE = "ecogis_layers"
#: Version history of the attribute tables (``write_table``); the rows live in ``ecogis_t_<name>``.
TABLES_META = "ecogis_tables"
_TABLES_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLES_META} (
    id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL, version TEXT NOT NULL, source TEXT NOT NULL,
    sha256 TEXT NOT NULL, imported_at TEXT NOT NULL, row_count INTEGER NOT NULL, meta TEXT NOT NULL,
    current INTEGER NOT NULL
)
"""
#: The append-only inspection ledger (台账): a point table, not a layer kind.
LEDGER_TABLE = "ecogis_ledger"

_LEDGER_TRIGGERS = (
    f"CREATE TRIGGER IF NOT EXISTS {LEDGER_TABLE}_no_update BEFORE UPDATE ON {LEDGER_TABLE}"
    " BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
    f"CREATE TRIGGER IF NOT EXISTS {LEDGER_TABLE}_no_delete BEFORE DELETE ON {LEDGER_TABLE}"
    " BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END",
)

_META_DDL = f"""
CREATE TABLE IF NOT EXISTS {META_TABLE} (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    feature_count INTEGER NOT NULL,
    repairs TEXT NOT NULL,
    notes TEXT NOT NULL,
    minx REAL, miny REAL, maxx REAL, maxy REAL,
    mode TEXT NOT NULL,
    current INTEGER NOT NULL,
    coverage TEXT,
    coverage_basis TEXT
)
"""
#: Columns added after the first release; older workspaces get them on their next import.
_META_ADDED = (("coverage", "TEXT"), ("coverage_basis", "TEXT"))


def _is_sqlite(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(16) == b"SQLite format 3\x00"


def _ident(name: str) -> str:
    """An SQL identifier quoted for SQLite (names come from the file itself, never from a user)."""
    return '"' + str(name).replace('"', '""') + '"'


class GeoPackageWorkspace(Workspace):
    """A workspace in one GeoPackage file."""

    def __init__(self, path: str | os.PathLike, *, create: bool = False) -> None:
        self.path = Path(path)
        self.uri = str(self.path)
        if self.path.exists():
            if self.path.is_dir():
                raise WorkspaceError("is a folder, not a GeoPackage", path=self.path)
            if self.path.stat().st_size and not _is_sqlite(self.path):
                raise WorkspaceError("is not a GeoPackage (no SQLite header)", path=self.path)
        elif not create:
            raise WorkspaceError(
                "workspace not found", path=self.path, hint="import a layer into it first, e.g. ecogis layers import"
            )

    # ------------------------------------------------------------------ reading
    def _exists(self) -> bool:
        return self.path.exists() and self.path.stat().st_size > 0

    def kinds(self) -> list[str]:
        if not self._exists():
            return []
        st = self.path.stat()
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        cached = getattr(self, "_kinds_cache", None)
        if cached is not None and cached[0] == stamp:
            return list(cached[1])
        try:
            listed = pyogrio.list_layers(self.path)
        except Exception as exc:  # GDAL raises DataSourceError and friends
            raise WorkspaceError(f"cannot list layers: {exc}", path=self.path) from None
        out = sorted(str(name) for name, gtype in listed
                     if name not in (META_TABLE, LEDGER_TABLE, TABLES_META) and gtype is not None)
        self._kinds_cache = (stamp, tuple(out))  # the file is replaced (new inode) on every write
        return out

    def read(self, kind: str, *, bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
        if kind not in self.kinds():
            raise WorkspaceError(
                f"no layer of kind {kind!r}", path=self.path, hint=f"present: {', '.join(self.kinds()) or 'none'}"
            )
        try:
            gdf = pyogrio.read_dataframe(self.path, layer=kind, bbox=bbox, fid_as_index=True)
        except Exception as exc:
            raise WorkspaceError(f"cannot read layer {kind!r}: {exc}", path=self.path) from None
        gdf.index.name = "fid"
        gdf = gdf.reset_index()
        if gdf.crs is None or gdf.crs.to_epsg() != 4490:
            raise WorkspaceError(f"layer {kind!r} is not stored in EPSG:4490", path=self.path)
        gdf.attrs["workspace"] = self.uri
        return gdf

    def count(self, kind: str) -> int:
        """Features stored in the table of ``kind``: ``COUNT(*)`` in the file now (not the metadata, not a cache).

        Counted afresh on every call, so a table emptied or cut by another
        program (QGIS writes GeoPackages through SQLite's WAL, which leaves the
        file's time stamp alone) is seen at once.
        """
        if kind not in self.kinds():
            return 0
        try:
            with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
                return int(con.execute(f"SELECT COUNT(*) FROM {_ident(kind)}").fetchone()[0])
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot count layer {kind!r}: {exc}", path=self.path) from None

    def distinct(self, kind: str, column: str) -> list[Any]:
        if kind not in self.kinds():
            return []
        try:
            with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
                cols = {row[1] for row in con.execute(f"PRAGMA table_info({_ident(kind)})")}
                if column not in cols:
                    return []
                rows = con.execute(f"SELECT DISTINCT {_ident(column)} FROM {_ident(kind)} "
                                   f"WHERE {_ident(column)} IS NOT NULL").fetchall()
        except sqlite3.Error as exc:
            raise WorkspaceError(f"cannot read layer {kind!r}: {exc}", path=self.path) from None
        return [r[0] for r in rows]

    def _rows(self, where: str = "", args: tuple[Any, ...] = ()) -> list[LayerInfo]:
        if not self._exists():
            return []
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
            has = con.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (META_TABLE,)
            ).fetchone()
            if not has:
                return []
            have = {row[1] for row in con.execute(f"PRAGMA table_info({META_TABLE})")}
            extra = ", coverage, coverage_basis" if "coverage" in have else ", NULL, ''"
            cur = con.execute(
                f"SELECT kind, version, source, sha256, imported_at, feature_count, repairs, notes,"
                f" minx, miny, maxx, maxy, mode, current{extra} FROM {META_TABLE} {where} ORDER BY id",
                args,
            )
            out = []
            for r in cur.fetchall():
                bounds = None if r[8] is None else (r[8], r[9], r[10], r[11])
                out.append(
                    LayerInfo(
                        kind=r[0], version=r[1], source=r[2], sha256=r[3], imported_at=r[4],
                        feature_count=r[5], repairs=json.loads(r[6]), notes=json.loads(r[7]),
                        bounds=bounds, mode=r[12], current=bool(r[13]), coverage=r[14] or None,
                        coverage_basis=r[15] or "",
                    )
                )
            return out

    def version_key(self) -> tuple[tuple, tuple]:
        """:func:`ecogis.workspace.cache.metadata_key` in two small queries (no notes, repairs or coverage read).

        Each current layer's ``(kind, version, sha256, imported_at, feature_count, mode)`` and each table
        version's ``(name, version, sha256, imported_at, row_count, current)``, in import order.
        """
        if not self._exists():
            return (), ()
        con = self._table_con()

        def rows(sql: str) -> list[tuple]:
            try:
                return con.execute(sql).fetchall()
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    return []
                raise WorkspaceError(f"cannot read the versions: {exc}", path=self.path) from None

        layers = rows(f"SELECT kind, version, sha256, imported_at, feature_count, mode FROM {META_TABLE}"
                      " WHERE current = 1 ORDER BY id")
        tables = rows(f"SELECT name, version, sha256, imported_at, row_count, current FROM {TABLES_META} ORDER BY id")
        return (tuple((k, v, sha, at, int(n), mode) for k, v, sha, at, n, mode in layers),
                tuple((k, v, sha, at, int(n), bool(cur)) for k, v, sha, at, n, cur in tables))

    def layers(self) -> list[LayerInfo]:
        present = set(self.kinds())
        return [li for li in self._rows("WHERE current = 1") if li.kind in present]

    def history(self, kind: str | None = None) -> list[LayerInfo]:
        if kind is None:
            return self._rows()
        return self._rows("WHERE kind = ?", (kind,))

    # ------------------------------------------------------------------ writing
    def writing(self) -> contextlib.AbstractContextManager[None]:
        return lock.exclusive(self.path)

    @contextlib.contextmanager
    def _staged(self) -> Iterator[Path]:
        """A copy of the workspace to change; renamed into place on success (call under :meth:`writing`)."""
        with self.writing():
            # Staged copies left by a writer that was killed: under the lock no other writer has one open.
            for stale in self.path.parent.glob(f".{glob.escape(self.path.stem)}.*.tmp{glob.escape(self.path.suffix)}*"):
                with contextlib.suppress(OSError):
                    stale.unlink()
            with atomic_path(self.path) as tmp:
                if self._exists():
                    shutil.copy2(self.path, tmp)
                yield tmp

    def write(
        self,
        kind: str,
        gdf: gpd.GeoDataFrame,
        *,
        source: str,
        version: str,
        sha256: str | None = None,
        notes: Notes | None = None,
        replace: bool = False,
        coverage: Any = None,
        coverage_basis: str = "",
    ) -> LayerInfo:
        if gdf.crs is None or gdf.crs.to_epsg() != 4490:
            raise WorkspaceError(
                f"layer {kind!r} must be in {settings.storage_crs} before it is stored", path=self.path
            )
        declared_empty = len(gdf) == 0
        if declared_empty and coverage is None:
            raise WorkspaceError(f"refusing to store an empty layer {kind!r}", path=self.path,
                                 hint="to record that the kind has no features, give the coverage it holds for")
        with self.writing():
            return self._write_locked(kind, gdf, source=source, version=version, sha256=sha256, notes=notes,
                                      replace=replace, coverage=coverage, coverage_basis=coverage_basis,
                                      declared_empty=declared_empty)

    def _write_locked(self, kind: str, gdf: gpd.GeoDataFrame, *, source: str, version: str,
                      sha256: str | None, notes: Notes | None, replace: bool, coverage: Any,
                      coverage_basis: str, declared_empty: bool) -> LayerInfo:
        data = gdf.drop(columns=[c for c in ("fid",) if c in gdf.columns])
        exists = kind in self.kinds()
        append = exists and not replace and not declared_empty
        notes = notes or Notes()
        info = LayerInfo(
            kind=kind,
            version=str(version),
            source=str(source),
            sha256=sha256 or "",
            imported_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            feature_count=int(len(data)),
            repairs=[n.as_dict() for n in notes if n.code in {"repair", "drop_empty", "drop_z"}],
            notes=notes.as_dicts(),
            bounds=None if declared_empty else tuple(float(b) for b in data.total_bounds),
            mode="empty" if declared_empty else ("append" if append else "replace"),
            coverage=coverage_wkb(coverage),
            coverage_basis=str(coverage_basis or ""),
        )
        with self._staged() as tmp:
            try:
                pyogrio.write_dataframe(
                    data,
                    tmp,
                    layer=kind,
                    driver="GPKG",
                    append=append,
                    promote_to_multi=None,
                    geometry_type="Unknown" if not append else None,
                )
            except Exception as exc:
                raise WorkspaceError(f"cannot write layer {kind!r}: {exc}", path=self.path) from None
            self._record(tmp, info)
        if append:
            info = self._current(kind) or info
        return info

    def _current(self, kind: str) -> LayerInfo | None:
        rows = self._rows("WHERE kind = ? AND current = 1", (kind,))
        return rows[-1] if rows else None

    def _record(self, db: Path, info: LayerInfo) -> None:
        with contextlib.closing(sqlite3.connect(db)) as con, con:
            con.execute(_META_DDL)
            have = {row[1] for row in con.execute(f"PRAGMA table_info({META_TABLE})")}
            for col, typ in _META_ADDED:
                if col not in have:
                    con.execute(f"ALTER TABLE {META_TABLE} ADD COLUMN {col} {typ}")
            con.execute(
                "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description)"
                " VALUES (?, 'attributes', ?, ?)",
                (META_TABLE, META_TABLE, "ecogis layer metadata and version history"),
            )
            cov, basis = info.coverage, info.coverage_basis
            if info.mode in ("replace", "empty"):
                con.execute(f"UPDATE {META_TABLE} SET current = 0 WHERE kind = ?", (info.kind,))
                count = info.feature_count
            else:
                prev = con.execute(
                    f"SELECT feature_count, coverage, coverage_basis FROM {META_TABLE} WHERE kind = ? AND current = 1",
                    (info.kind,),
                ).fetchone()
                con.execute(f"UPDATE {META_TABLE} SET current = 0 WHERE kind = ?", (info.kind,))
                count = info.feature_count + (prev[0] if prev else 0)
                if prev:
                    cov = merged_coverage(prev[1], cov)
                    basis = "; ".join(dict.fromkeys(x for x in (prev[2], basis) if x))
            b = info.bounds or (None, None, None, None)
            con.execute(
                f"INSERT INTO {META_TABLE} (kind, version, source, sha256, imported_at, feature_count,"
                " repairs, notes, minx, miny, maxx, maxy, mode, current, coverage, coverage_basis)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
                (
                    info.kind, info.version, info.source, info.sha256, info.imported_at, count,
                    json.dumps(info.repairs, ensure_ascii=False), json.dumps(info.notes, ensure_ascii=False),
                    *b, info.mode, cov, basis,
                ),
            )

    # ------------------------------------------------------------------ ledger
    def _has_table(self, name: str) -> bool:
        if not self._exists():
            return False
        with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
            return con.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name=?", (name,)).fetchone() is not None

    def ledger(self) -> gpd.GeoDataFrame:
        """Every ledger entry, oldest first (table ``ecogis_ledger``; empty frame if none)."""
        cols = list(self.LEDGER_COLUMNS)
        if not self._has_table(LEDGER_TABLE):
            return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=4490))
        try:
            gdf = pyogrio.read_dataframe(self.path, layer=LEDGER_TABLE)
        except Exception as exc:
            raise WorkspaceError(f"cannot read the ledger: {exc}", path=self.path) from None
        gdf = gdf.sort_values("entry_id", kind="stable").reset_index(drop=True)
        return gdf[cols + [gdf.geometry.name]]

    def ledger_append(self, entries: gpd.GeoDataFrame, *, record_source: str) -> int:
        """Append ``entries`` to ``ecogis_ledger`` in a staged copy (all-or-nothing).

        SQLite triggers refuse any UPDATE or DELETE on the table, so the
        history stays append-only even for other tools writing to the file.
        """
        if len(entries) == 0:
            return 0
        if entries.crs is None or entries.crs.to_epsg() != 4490:
            raise WorkspaceError("ledger entries must be in EPSG:4490", path=self.path)
        cols = list(self.LEDGER_COLUMNS)
        extra = [c for c in entries.columns if c not in cols and c != entries.geometry.name]
        if extra:
            raise WorkspaceError(f"unknown ledger column(s): {', '.join(extra)}", path=self.path)
        with self.writing():
            return self._ledger_append_locked(entries, cols, record_source)

    def _ledger_append_locked(self, entries: gpd.GeoDataFrame, cols: list[str], record_source: str) -> int:
        start = 1
        if self._has_table(LEDGER_TABLE):
            with contextlib.closing(sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)) as con:
                start = int(con.execute(f"SELECT COALESCE(MAX(entry_id), 0) FROM {LEDGER_TABLE}").fetchone()[0]) + 1
        data = entries.copy()
        for c in cols:
            if c not in data.columns:
                data[c] = None
        data["entry_id"] = range(start, start + len(data))
        data["recorded_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        data["record_source"] = str(record_source)
        for c in cols:
            if c != "entry_id":
                data[c] = data[c].astype(object).where(data[c].notna(), None).map(lambda v: None if v is None else str(v))
        data = gpd.GeoDataFrame(data[cols], geometry=data.geometry.to_numpy(), crs=4490)
        append = start > 1
        with self._staged() as tmp:
            try:
                pyogrio.write_dataframe(data, tmp, layer=LEDGER_TABLE, driver="GPKG", append=append,
                                        geometry_type="Point" if not append else None)
                with contextlib.closing(sqlite3.connect(tmp)) as con, con:
                    for ddl in _LEDGER_TRIGGERS:
                        con.execute(ddl)
            except Exception as exc:
                raise WorkspaceError(f"cannot append to the ledger: {exc}", path=self.path) from None
        return int(len(data))

    # ------------------------------------------------------------------ attribute tables
    def _table_con(self) -> sqlite3.Connection:
        """A read-only connection for the table reads, reopened whenever the file was replaced."""
        st = os.stat(self.path)
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if getattr(self, "_tcon_key", None) != key:
            old = getattr(self, "_tcon", None)
            if old is not None:
                old.close()
            self._tcon = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
            self._tcon_key = key
        return self._tcon

    def write_table(self, name, df, *, source, version, sha256="", meta=None, index=()):
        """Replace table ``ecogis_t_<name>`` with ``df`` in a staged copy and record the version."""
        import pandas as pd

        from ecogis.workspace.postgis import _KIND_RE

        if not _KIND_RE.match(name or ""):
            raise WorkspaceError(f"bad table name {name!r}: use lower-case letters, digits and _", path=self.path)
        table = f"ecogis_t_{name}"
        info = TableInfo(name=name, version=str(version), source=str(source), sha256=sha256 or "",
                         imported_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                         row_count=int(len(df)), meta=dict(meta or {}))
        data = pd.DataFrame(df).copy()
        data.columns = [str(c) for c in data.columns]
        with self._staged() as tmp:
            try:
                with contextlib.closing(sqlite3.connect(tmp)) as con, con:
                    con.execute(f'DROP TABLE IF EXISTS "{table}"')
                    data.to_sql(table, con, index=False)
                    for col in index:
                        con.execute(f'CREATE INDEX "{table}_{col}" ON "{table}" ("{col}")')
                    con.execute(_TABLES_DDL)
                    # not registered in gpkg_contents: GDAL then does not list them, so layer listings
                    # (which every screen makes) stay as fast as without the tables (measured +1 ms per listing)
                    con.execute(f"UPDATE {TABLES_META} SET current = 0 WHERE name = ?", (name,))
                    con.execute(
                        f"INSERT INTO {TABLES_META} (name, version, source, sha256, imported_at, row_count, meta, current)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, 1)",
                        (name, info.version, info.source, info.sha256, info.imported_at, info.row_count,
                         json.dumps(info.meta, ensure_ascii=False)))
            except (sqlite3.Error, ValueError) as exc:
                raise WorkspaceError(f"cannot write table {name!r}: {exc}", path=self.path) from None
        return info

    def read_table(self, name, *, where_in=None, bbox=None):
        import pandas as pd

        table = f"ecogis_t_{name}"
        sql, args = f'SELECT * FROM "{table}"', []
        where = []
        if where_in:
            conds = []
            for col, values in where_in.items():
                values = list(values)
                if not values:
                    continue
                conds.append(f'"{col}" IN ({", ".join("?" * len(values))})')
                args += [str(v) for v in values]
            where.append("(" + (" OR ".join(conds) if conds else "0") + ")")
        if bbox is not None:
            where.append("(maxx >= ? AND minx <= ? AND maxy >= ? AND miny <= ?)")
            args += [float(bbox[0]), float(bbox[2]), float(bbox[1]), float(bbox[3])]
        if where:
            sql += " WHERE " + " AND ".join(where)
        if not self._exists():
            raise WorkspaceError(f"no table {name!r}", path=self.path, hint="import it first")
        if True:
            con = self._table_con()
            try:
                cur = con.execute(sql, args)
            except sqlite3.OperationalError as exc:
                if "no such table" in str(exc):
                    raise WorkspaceError(f"no table {name!r}", path=self.path, hint="import it first") from None
                raise WorkspaceError(f"cannot read table {name!r}: {exc}", path=self.path) from None
            cols = [d[0] for d in cur.description]
            return pd.DataFrame(cur.fetchall(), columns=cols, dtype=object)  # values as stored

    def table_history(self, name=None):
        if not self._exists():
            return []
        where, args = ("WHERE name = ?", (name,)) if name else ("", ())
        try:
            rows = self._table_con().execute(f"SELECT name, version, source, sha256, imported_at, row_count, meta,"
                                             f" current FROM {TABLES_META} {where} ORDER BY id", args).fetchall()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return []
            raise WorkspaceError(f"cannot read the table versions: {exc}", path=self.path) from None
        return [TableInfo(name=r[0], version=r[1], source=r[2], sha256=r[3], imported_at=r[4], row_count=int(r[5]),
                          meta=json.loads(r[6]), current=bool(r[7])) for r in rows]
