"""PostGIS workspace: a shared database for teams.

``open_workspace("postgresql://user@host/db")`` returns a
:class:`PostGISWorkspace`.  It keeps the same layers and metadata as a
GeoPackage workspace:

* the metadata table ``ecogis_layers`` has the same columns as the
  GeoPackage one (one row per import, the current one flagged) plus
  ``table_name``, the physical table holding that version;
* every import writes a **new table** ``ecogis_<kind>_v<N>`` (geometry in
  EPSG:4490, a GiST index, ``fid`` primary key) and, in the same transaction,
  moves the ``current`` flag of the metadata to it.  A failed import rolls
  back as a whole: no half-written table, the previous version untouched;
* readers take the pointers (kind → table) **once** per workspace object,
  so one screen reads one consistent set of versions even while another
  process imports.  Pinning takes a shared advisory lock per version (a
  lease, held until :meth:`~PostGISWorkspace.refresh` or ``close``); an
  import drops old version tables only when nobody holds their lease, so a
  reader never loses the version it pinned.  The newest
  :data:`KEEP_VERSIONS` tables of each kind are always kept; older ones are
  dropped once free, their metadata rows stay (the history).

Every database failure (bad connection string, unreachable server, missing
PostGIS extension, lost connection) becomes a :class:`WorkspaceError` that
names the database, without the password.
"""

from __future__ import annotations

import contextlib
import json
import re
from datetime import datetime, timezone
from typing import Any, Iterator

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ecogis.errors import WorkspaceError
from ecogis.notes import Notes
from ecogis.workspace.copytext import column_text, constant_text, hex_ewkb, psycopg_dump, write_copy
from ecogis.workspace.base import LayerInfo, TableInfo, Workspace, coverage_wkb, merged_coverage

META_TABLE = "ecogis_layers"
LEDGER_TABLE = "ecogis_ledger"
#: Version history of the attribute tables; each version's rows live in ``ecogis_t_<name>_v<N>``.
TABLES_META = "ecogis_tables"
_TABLES_DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLES_META} (
    id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL, version TEXT NOT NULL, source TEXT NOT NULL, sha256 TEXT NOT NULL,
    imported_at TEXT NOT NULL, row_count BIGINT NOT NULL, meta TEXT NOT NULL, current INTEGER NOT NULL,
    table_name TEXT NOT NULL
);
"""
#: Version tables kept per kind (older ones are dropped; their metadata stays).
KEEP_VERSIONS = 3
SRID = 4490
_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,40}$")
_LOCK_META = 0x6563_6F67  # advisory lock key for metadata DDL ("ecog")
_LOCK_LEASE = 0x6563_6F68  # high half of the per-version lease keys (low half: the table's OID)
_PIN_TRIES = 20

_META_DDL = f"""
CREATE TABLE IF NOT EXISTS {META_TABLE} (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    version TEXT NOT NULL,
    source TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    feature_count BIGINT NOT NULL,
    repairs TEXT NOT NULL,
    notes TEXT NOT NULL,
    minx DOUBLE PRECISION, miny DOUBLE PRECISION, maxx DOUBLE PRECISION, maxy DOUBLE PRECISION,
    mode TEXT NOT NULL,
    current INTEGER NOT NULL,
    table_name TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS {META_TABLE}_one_current ON {META_TABLE} (kind) WHERE current = 1;
ALTER TABLE {META_TABLE} ADD COLUMN IF NOT EXISTS coverage TEXT;
ALTER TABLE {META_TABLE} ADD COLUMN IF NOT EXISTS coverage_basis TEXT;
"""

_LEDGER_DDL = f"""
CREATE TABLE IF NOT EXISTS {LEDGER_TABLE} (
    entry_id BIGINT PRIMARY KEY,
    target_id TEXT, source TEXT, name TEXT, result TEXT, date TEXT, inspector TEXT, remarks TEXT, photo TEXT,
    "check" TEXT, basis TEXT, recorded_at TEXT, record_source TEXT,
    geom geometry(Point, {SRID})
);
CREATE OR REPLACE FUNCTION {LEDGER_TABLE}_append_only() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION 'the ledger is append-only'; END $$;
DROP TRIGGER IF EXISTS {LEDGER_TABLE}_no_change ON {LEDGER_TABLE};
CREATE TRIGGER {LEDGER_TABLE}_no_change BEFORE UPDATE OR DELETE ON {LEDGER_TABLE}
    FOR EACH ROW EXECUTE FUNCTION {LEDGER_TABLE}_append_only();
"""


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (for messages and ``uri``)."""
    out = re.sub(r"^([a-z]+://[^:/@?]*):[^/?]*@", r"\1:***@", str(url))
    # a password may also hide in the query string (?password=...)
    return re.sub(r"(password=)[^&\s]*", r"\1***", out)


def _dbname(url: str) -> str:
    """``database 'x' on host:port`` for messages, from a libpq URI."""
    m = re.match(r"^[a-z]+://(?:[^/?]*@)?([^/?@]*)(?:/([^?]*))?", str(url))
    if not m:
        return f"database at {redact(url)!r}"
    host = m.group(1) or "localhost"
    db = m.group(2) or ""
    if not db:
        user = re.match(r"^[a-z]+://([^:@/?]*)[:@]", str(url))
        db = user.group(1) if user and "@" in str(url) else ""
    return f"database {db!r} on {host}"


def _lease_key(oid: int) -> int:
    """The advisory-lock key (bigint) of the lease on the version table with this OID."""
    return (_LOCK_LEASE << 32) | int(oid)


def _quote(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _sql_type(s: pd.Series) -> str:
    if pd.api.types.is_bool_dtype(s):
        return "BOOLEAN"
    if pd.api.types.is_integer_dtype(s):
        return "BIGINT"
    if pd.api.types.is_float_dtype(s):
        return "DOUBLE PRECISION"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "TIMESTAMPTZ" if getattr(s.dt, "tz", None) is not None else "TIMESTAMP"
    return "TEXT"


class PostGISWorkspace(Workspace):
    """A workspace in a PostgreSQL database with the PostGIS extension.

    Parameters
    ----------
    url:
        ``postgresql://user[:password]@host[:port]/dbname[?options]`` (libpq
        URI; ``PGPASSWORD`` and ``~/.pgpass`` work as usual).
    create:
        Create the metadata table when the database has no workspace yet;
        without it, opening such a database is an error.
    """

    def __init__(self, url: str, *, create: bool = False) -> None:
        self._dsn = str(url)
        self.uri = redact(self._dsn)
        self.database = _dbname(self._dsn)
        self._create = create
        self._conn = None
        self._pins: dict[str, LayerInfo] | None = None
        self._pin_tables: dict[str, str] = {}
        self._leases: list[int] = []  # advisory-lock keys held (shared) on the pinned version tables
        self._connect()
        if not create and not self._has_table(META_TABLE):
            raise WorkspaceError(
                f"no ecogis workspace in {self.database}", path=self.uri,
                hint="import a layer into it first, e.g. ecogis layers import FILE KIND --workspace URL",
            )

    # ------------------------------------------------------------------ connection
    def _err(self, exc: BaseException, action: str) -> WorkspaceError:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        text = redact(text)
        return WorkspaceError(f"{action} in {self.database}: {text}", path=self.uri)

    def _connect(self) -> None:
        try:
            import psycopg
        except ImportError:  # pragma: no cover - depends on the install
            raise WorkspaceError(
                "PostGIS workspaces need psycopg", path=self.uri, hint="pip install 'ecogis[postgis]'"
            ) from None
        try:
            conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10,
                                   application_name="ecogis")
        except psycopg.Error as exc:
            raise WorkspaceError(
                f"cannot connect to {self.database}: {redact(str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)}",
                path=self.uri, hint="check the URL postgresql://USER[:PASSWORD]@HOST[:PORT]/DBNAME and that the server runs",
            ) from None
        except Exception as exc:  # malformed strings raise outside psycopg.Error in some versions
            raise WorkspaceError(f"bad connection string for {self.database}: {redact(str(exc))}",
                                 path=self.uri) from None
        try:
            has = conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone()
        except psycopg.Error as exc:
            conn.close()
            raise self._err(exc, "cannot query") from None
        if not has:
            conn.close()
            raise WorkspaceError(
                f"the PostGIS extension is not installed in {self.database}", path=self.uri,
                hint="as the database owner: CREATE EXTENSION postgis;",
            )
        self._conn = conn

    @property
    def conn(self):
        if self._conn is None or self._conn.closed:
            self._leases = []  # session locks died with the old connection
            self._connect()
        return self._conn

    @contextlib.contextmanager
    def _guard(self, action: str) -> Iterator[None]:
        """Turn database errors into a :class:`WorkspaceError` naming the database."""
        import psycopg

        try:
            yield
        except psycopg.Error as exc:
            if self._conn is not None and self._conn.broken:
                self._conn = None
            raise self._err(exc, action) from None

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        """A session advisory lock held around a read-then-write (e.g. the ledger's duplicate check)."""
        depth = getattr(self, "_writing_depth", 0)
        if depth:
            self._writing_depth = depth + 1
            try:
                yield
            finally:
                self._writing_depth -= 1
            return
        with self._guard("cannot take the writer lock"):
            self.conn.execute("SELECT pg_advisory_lock(%s)", (_LOCK_META + 2,))
            if not self.conn.autocommit:
                self.conn.commit()
        self._writing_depth = 1
        try:
            yield
        finally:
            self._writing_depth = 0
            with contextlib.suppress(Exception):
                self.conn.execute("SELECT pg_advisory_unlock(%s)", (_LOCK_META + 2,))
                if not self.conn.autocommit:
                    self.conn.commit()

    def close(self) -> None:
        self._leases = []  # session locks end with the connection
        if self._conn is not None:
            with contextlib.suppress(Exception):
                self._conn.close()
        self._conn = None

    def __getstate__(self) -> dict[str, Any]:
        # Dask workers get a copy: no live connection travels; it reconnects lazily.
        d = dict(self.__dict__)
        d["_conn"] = None
        d["_leases"] = []  # the leases stay with the process that pinned
        return d

    def _has_table(self, name: str) -> bool:
        with self._guard("cannot query"):
            row = self.conn.execute("SELECT to_regclass(%s) IS NOT NULL", (name,)).fetchone()
        return bool(row[0])

    # ------------------------------------------------------------------ metadata
    def _rows(self, where: str = "", args: tuple[Any, ...] = ()) -> list[tuple[LayerInfo, str]]:
        if not self._has_table(META_TABLE):
            return []
        with self._guard("cannot read the layer metadata"):
            has_cov = self.conn.execute(
                "SELECT 1 FROM information_schema.columns WHERE table_name = %s AND column_name = 'coverage'"
                " AND table_schema = current_schema()", (META_TABLE,)).fetchone() is not None
            extra = ", coverage, coverage_basis" if has_cov else ", NULL, ''"
            rows = self.conn.execute(
                f"SELECT kind, version, source, sha256, imported_at, feature_count, repairs, notes,"
                f" minx, miny, maxx, maxy, mode, current, table_name{extra} FROM {META_TABLE} {where} ORDER BY id",
                args,
            ).fetchall()
        out = []
        for r in rows:
            bounds = None if r[8] is None else (r[8], r[9], r[10], r[11])
            out.append((
                LayerInfo(kind=r[0], version=r[1], source=r[2], sha256=r[3], imported_at=r[4],
                          feature_count=int(r[5]), repairs=json.loads(r[6]), notes=json.loads(r[7]),
                          bounds=bounds, mode=r[12], current=bool(r[13]), coverage=r[15] or None,
                          coverage_basis=r[16] or ""),
                r[14],
            ))
        return out

    def _pinned(self) -> dict[str, LayerInfo]:
        """The current version of every kind, read once and then kept (one consistent snapshot).

        Each pinned version is leased (a shared advisory lock keyed by its
        table's OID) so no import drops its table while this workspace is open.  An
        import may drop a table between the metadata read and the lease; then
        the pointers are read again.
        """
        if self._pins is not None:
            return self._pins
        for _ in range(_PIN_TRIES):
            rows = self._rows("WHERE current = 1")
            gone = False
            with self._guard("cannot lease the layer versions"):
                for _, t in rows:
                    oid = self._oid(t)
                    if oid is None:
                        gone = True
                        break
                    self.conn.execute("SELECT pg_advisory_lock_shared(%s)", (_lease_key(oid),))
                    self._leases.append(_lease_key(oid))
                    if self._oid(t) != oid:  # dropped before the lease was granted
                        gone = True
                        break
            if not gone:
                self._pins = {li.kind: li for li, _ in rows}
                self._pin_tables = {li.kind: t for li, t in rows}
                return self._pins
            self._release()
        raise WorkspaceError(
            f"the layers in {self.database} kept changing while being read ({_PIN_TRIES} tries)",
            path=self.uri, hint="run again when the import has finished",
        )

    def _release(self) -> None:
        """Give back the version leases of this workspace."""
        ids, self._leases = self._leases, []
        if not ids or self._conn is None or self._conn.closed:
            return
        with self._guard("cannot release the layer versions"):
            for i in ids:
                self.conn.execute("SELECT pg_advisory_unlock_shared(%s)", (i,))

    def refresh(self) -> None:
        """Forget the pinned versions: the next read sees the newest imports."""
        self._release()
        self._pins = None
        self._pin_tables = {}

    def kinds(self) -> list[str]:
        return sorted(self._pinned())

    def layers(self) -> list[LayerInfo]:
        pins = self._pinned()
        return [pins[k] for k in sorted(pins)]

    def history(self, kind: str | None = None) -> list[LayerInfo]:
        if kind is None:
            return [li for li, _ in self._rows()]
        return [li for li, _ in self._rows("WHERE kind = %s", (kind,))]

    def table_of(self, kind: str) -> str:
        """The physical table of the pinned version of ``kind``."""
        if kind not in self._pinned():
            raise WorkspaceError(
                f"no layer of kind {kind!r} in {self.database}", path=self.uri,
                hint=f"present: {', '.join(self.kinds()) or 'none'}",
            )
        return self._pin_tables[kind]

    # ------------------------------------------------------------------ reading
    def read(self, kind: str, *, bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
        table = self.table_of(kind)
        if not self._has_table(table):
            raise WorkspaceError(
                f"version {self._pinned()[kind].version!r} of layer {kind!r} was removed from {self.database}"
                " by newer imports", path=self.uri, hint="run again to use the current version",
            )
        with self._guard(f"cannot read layer {kind!r}"):
            cols = [r[0] for r in self.conn.execute(
                "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0"
                " AND NOT attisdropped ORDER BY attnum", (table,)).fetchall()]
            attrs = [c for c in cols if c not in ("fid", "geom")]
            sel = ", ".join(["fid"] + [_quote(c) for c in attrs] + ["ST_AsBinary(geom)"])
            sql = f"SELECT {sel} FROM {_quote(table)}"
            args: tuple[Any, ...] = ()
            if bbox is not None:
                sql += f" WHERE geom && ST_MakeEnvelope(%s, %s, %s, %s, {SRID})"
                args = tuple(float(b) for b in bbox)
            sql += " ORDER BY fid"
            with self.conn.cursor(binary=True) as cur:
                cur.execute(sql, args)
                rows = cur.fetchall()
        cols_out = ["fid"] + attrs
        if rows:
            columns = list(zip(*rows))
            data = {c: list(v) for c, v in zip(cols_out, columns[:-1])}
            geoms = shapely.from_wkb(np.array([bytes(b) for b in columns[-1]], dtype=object))
        else:
            data = {c: [] for c in cols_out}
            geoms = np.array([], dtype=object)
        df = pd.DataFrame(data, columns=cols_out)
        df["fid"] = df["fid"].astype("int64")
        for c in attrs:
            if df[c].dtype == object:
                df[c] = df[c].infer_objects()
        gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=SRID), crs=SRID)
        gdf.attrs["workspace"] = self.uri
        gdf.attrs["version"] = self._pinned()[kind].version
        return gdf

    def count(self, kind: str) -> int:
        """Rows in the pinned version table of ``kind`` (0 for an emptied table)."""
        table = self.table_of(kind)
        with self._guard(f"cannot count layer {kind!r}"):
            return int(self.conn.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0])

    def distinct(self, kind: str, column: str) -> list[Any]:
        table = self.table_of(kind)
        with self._guard(f"cannot read layer {kind!r}"):
            has = self.conn.execute(
                "SELECT 1 FROM pg_attribute WHERE attrelid = %s::regclass AND attname = %s AND NOT attisdropped",
                (table, column)).fetchone()
            if not has:
                return []
            return [r[0] for r in self.conn.execute(
                f"SELECT DISTINCT {_quote(column)} FROM {_quote(table)} WHERE {_quote(column)} IS NOT NULL").fetchall()]

    # ------------------------------------------------------------------ writing
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
        if not _KIND_RE.match(kind or ""):
            raise WorkspaceError(f"bad layer kind {kind!r}: use lower-case letters, digits and _", path=self.uri)
        if gdf.crs is None or gdf.crs.to_epsg() != SRID:
            raise WorkspaceError(f"layer {kind!r} must be in EPSG:{SRID} before it is stored", path=self.uri)
        declared_empty = len(gdf) == 0
        if declared_empty and coverage is None:
            raise WorkspaceError(f"refusing to store an empty layer {kind!r}", path=self.uri,
                                 hint="to record that the kind has no features, give the coverage it holds for")
        gname = gdf.geometry.name
        data = pd.DataFrame(gdf.drop(columns=[c for c in ("fid", gname) if c in gdf.columns]))
        data = data.rename(columns={c: str(c) for c in data.columns})
        bad = [c for c in data.columns if c.lower() in ("geom", "fid")]
        if bad:
            raise WorkspaceError(f"layer {kind!r} has reserved column name(s) {', '.join(bad)}", path=self.uri)
        notes = notes or Notes()
        info = LayerInfo(
            kind=kind, version=str(version), source=str(source), sha256=sha256 or "",
            imported_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            feature_count=int(len(data)),
            repairs=[n.as_dict() for n in notes if n.code in {"repair", "drop_empty", "drop_z"}],
            notes=notes.as_dicts(),
            bounds=None if declared_empty else tuple(float(b) for b in gdf.total_bounds),
            coverage=coverage_wkb(coverage), coverage_basis=str(coverage_basis or ""),
        )
        ewkb = hex_ewkb(gdf.geometry.values, SRID)
        with self._guard(f"cannot import layer {kind!r}"), self.conn.transaction():
            con = self.conn
            con.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_META,))
            con.execute(_META_DDL)
            prev = con.execute(
                f"SELECT table_name, feature_count, minx, miny, maxx, maxy, coverage, coverage_basis FROM {META_TABLE}"
                " WHERE kind = %s AND current = 1 FOR UPDATE", (kind,)
            ).fetchone()
            append = prev is not None and not replace and not declared_empty and self._oid(prev[0]) is not None
            n = con.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", (META_TABLE,)).fetchone()[0]
            table = f"ecogis_{kind}_v{int(n)}"
            coldefs = {c: _sql_type(data[c]) for c in data.columns}
            start = 1
            if append:
                old_cols = con.execute(
                    "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = %s::regclass"
                    " AND attnum > 0 AND NOT attisdropped ORDER BY attnum", (prev[0],)).fetchall()
                old = {c: t for c, t in old_cols if c not in ("fid", "geom")}
                merged = dict(old)
                for c, t in coldefs.items():
                    merged.setdefault(c, t)
                coldefs = merged
            cols_sql = "".join(f", {_quote(c)} {t}" for c, t in coldefs.items())
            con.execute(
                f"CREATE TABLE {_quote(table)} (fid BIGINT PRIMARY KEY{cols_sql}, geom geometry(Geometry, {SRID}) NOT NULL)"
            )
            if append:
                keep = ", ".join(["fid"] + [_quote(c) for c in old] + ["geom"])
                con.execute(f"INSERT INTO {_quote(table)} ({keep}) SELECT {keep} FROM {_quote(prev[0])}")
                start = int(con.execute(f"SELECT COALESCE(MAX(fid), 0) + 1 FROM {_quote(table)}").fetchone()[0])
            names = list(data.columns)
            copy_cols = ", ".join(["fid"] + [_quote(c) for c in names] + ["geom"])
            dump = psycopg_dump(con)
            texts = ([column_text(np.arange(start, start + len(data), dtype=np.int64))]
                     + [column_text(data[c], target=coldefs[c], dump=dump) for c in names]
                     + [ewkb])
            with con.cursor().copy(f"COPY {_quote(table)} ({copy_cols}) FROM STDIN") as cp:
                write_copy(cp, texts, len(data), encoding=con.info.encoding, plain=(0, len(texts) - 1))
            self._index(table)
            total = int(con.execute(f"SELECT count(*) FROM {_quote(table)}").fetchone()[0])
            if append and prev[2] is not None and info.bounds:
                b = info.bounds
                bounds = (min(prev[2], b[0]), min(prev[3], b[1]), max(prev[4], b[2]), max(prev[5], b[3]))
            else:
                bounds = info.bounds
            cov, cov_basis = info.coverage, info.coverage_basis
            if append:
                cov = merged_coverage(prev[6], cov)
                cov_basis = "; ".join(dict.fromkeys(x for x in (prev[7], cov_basis) if x))
            info = LayerInfo(**{**info.__dict__, "feature_count": total, "bounds": bounds,
                                "mode": "empty" if declared_empty else ("append" if append else "replace"),
                                "coverage": cov,
                                "coverage_basis": cov_basis})
            con.execute(f"UPDATE {META_TABLE} SET current = 0 WHERE kind = %s AND current = 1", (kind,))
            b = info.bounds or (None, None, None, None)
            con.execute(
                f"INSERT INTO {META_TABLE} (id, kind, version, source, sha256, imported_at, feature_count, repairs,"
                " notes, minx, miny, maxx, maxy, mode, current, table_name, coverage, coverage_basis)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s, %s, %s)",
                (int(n), info.kind, info.version, info.source, info.sha256, info.imported_at, total,
                 json.dumps(info.repairs, ensure_ascii=False), json.dumps(info.notes, ensure_ascii=False),
                 *b, info.mode, table, info.coverage, info.coverage_basis),
            )
        self.refresh()
        self._prune(kind)
        return info

    def _oid(self, table: str) -> int | None:
        """The OID of ``table`` (unique in the database), or None when it does not exist."""
        row = self.conn.execute("SELECT to_regclass(%s)::oid::bigint", (table,)).fetchone()
        return None if row[0] is None else int(row[0])

    def _index(self, table: str) -> None:
        """GiST index on the geometry and fresh planner statistics."""
        self.conn.execute(f"CREATE INDEX {_quote(table + '_geom')} ON {_quote(table)} USING GIST (geom)")
        self.conn.execute(f"ANALYZE {_quote(table)}")

    def _prune(self, kind: str) -> None:
        """Drop version tables of ``kind`` beyond the newest :data:`KEEP_VERSIONS` that nobody leases.

        Metadata rows stay (the history).  A version some reader still leases
        is skipped and dropped by a later import once it is free.
        """
        with contextlib.suppress(Exception), self.conn.transaction():
            rows = self.conn.execute(
                f"SELECT table_name FROM {META_TABLE} WHERE kind = %s ORDER BY id DESC OFFSET %s",
                (kind, KEEP_VERSIONS)).fetchall()
            self.conn.execute("SET LOCAL lock_timeout = '100ms'")
            for (t,) in rows:
                oid = self._oid(t)
                if oid is None:
                    continue
                free = self.conn.execute("SELECT pg_try_advisory_xact_lock(%s)", (_lease_key(oid),)).fetchone()[0]
                if free:
                    self.conn.execute(f"DROP TABLE IF EXISTS {_quote(t)}")

    # ------------------------------------------------------------------ ledger
    def ledger(self) -> gpd.GeoDataFrame:
        """Every ledger entry, oldest first (an empty frame if none)."""
        cols = list(self.LEDGER_COLUMNS)
        if not self._has_table(LEDGER_TABLE):
            return gpd.GeoDataFrame({c: [] for c in cols}, geometry=gpd.GeoSeries([], crs=SRID))
        with self._guard("cannot read the ledger"):
            rows = self.conn.execute(
                f"SELECT {', '.join(_quote(c) for c in cols)}, ST_AsBinary(geom) FROM {LEDGER_TABLE} ORDER BY entry_id"
            ).fetchall()
        df = pd.DataFrame([r[:-1] for r in rows], columns=cols)
        geoms = shapely.from_wkb(np.array([bytes(r[-1]) for r in rows], dtype=object)) if rows else []
        return gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, crs=SRID), crs=SRID)

    def ledger_append(self, entries: gpd.GeoDataFrame, *, record_source: str) -> int:
        """Append inspection results to ``ecogis_ledger`` in one transaction (a trigger refuses changes)."""
        if len(entries) == 0:
            return 0
        if entries.crs is None or entries.crs.to_epsg() != SRID:
            raise WorkspaceError(f"ledger entries must be in EPSG:{SRID}", path=self.uri)
        cols = list(self.LEDGER_COLUMNS)
        extra = [c for c in entries.columns if c not in cols and c != entries.geometry.name]
        if extra:
            raise WorkspaceError(f"unknown ledger column(s): {', '.join(extra)}", path=self.uri)
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        ewkb = hex_ewkb(entries.geometry.values, SRID)
        with self._guard("cannot append to the ledger"), self.conn.transaction():
            con = self.conn
            con.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_META + 1,))
            con.execute(_LEDGER_DDL)
            start = int(con.execute(f"SELECT COALESCE(MAX(entry_id), 0) + 1 FROM {LEDGER_TABLE}").fetchone()[0])
            n = len(entries)
            texts = []
            for c in cols:  # str() of each given value, NULL for a missing one or column
                if c == "entry_id":
                    texts.append(column_text(np.arange(start, start + n, dtype=np.int64)))
                elif c == "recorded_at":
                    texts.append(constant_text(now, n))
                elif c == "record_source":
                    texts.append(constant_text(str(record_source), n))
                elif c in entries.columns:
                    texts.append(column_text(entries[c], style="str"))
                else:
                    texts.append(constant_text(None, n))
            with con.cursor().copy(
                f"COPY {LEDGER_TABLE} ({', '.join(_quote(c) for c in cols)}, geom) FROM STDIN"
            ) as cp:
                write_copy(cp, texts + [ewkb], n, encoding=con.info.encoding,
                           plain=(cols.index("entry_id"), len(texts)))
        return int(len(entries))

    # ------------------------------------------------------------------ attribute tables
    def write_table(self, name, df, *, source, version, sha256="", meta=None, index=()):
        """Write a new version table ``ecogis_t_<name>_v<N>`` and make it current, in one transaction."""
        if not _KIND_RE.match(name or ""):
            raise WorkspaceError(f"bad table name {name!r}: use lower-case letters, digits and _", path=self.uri)
        data = pd.DataFrame(df)
        info = TableInfo(name=name, version=str(version), source=str(source), sha256=sha256 or "",
                         imported_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                         row_count=int(len(data)), meta=dict(meta or {}))
        cols = [str(c) for c in data.columns]
        with self._guard(f"cannot write table {name!r}"), self.conn.transaction():
            con = self.conn
            con.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_META + 2,))
            con.execute(_TABLES_DDL)
            n = con.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", (TABLES_META,)).fetchone()[0]
            table = f"ecogis_t_{name}_v{int(n)}"
            defs = ", ".join(f"{_quote(c)} {_sql_type(data[c])}" for c in data.columns)
            con.execute(f"CREATE TABLE {_quote(table)} ({defs})")
            dump = psycopg_dump(con)
            texts = [column_text(data.iloc[:, j], target=_sql_type(data.iloc[:, j]), dump=dump)
                     for j in range(data.shape[1])]
            with con.cursor().copy(f"COPY {_quote(table)} ({', '.join(_quote(c) for c in cols)}) FROM STDIN") as cp:
                write_copy(cp, texts, len(data), encoding=con.info.encoding)
            for col in index:
                con.execute(f"CREATE INDEX {_quote(table + '_' + col)} ON {_quote(table)} ({_quote(col)})")
            con.execute(f"UPDATE {TABLES_META} SET current = 0 WHERE name = %s AND current = 1", (name,))
            con.execute(
                f"INSERT INTO {TABLES_META} (id, name, version, source, sha256, imported_at, row_count, meta, current,"
                " table_name) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, 1, %s)",
                (int(n), name, info.version, info.source, info.sha256, info.imported_at, info.row_count,
                 json.dumps(info.meta, ensure_ascii=False), table))
            old = con.execute(f"SELECT table_name FROM {TABLES_META} WHERE name = %s ORDER BY id DESC OFFSET %s",
                              (name, KEEP_VERSIONS)).fetchall()
            for (t,) in old:
                con.execute(f"DROP TABLE IF EXISTS {_quote(t)}")
        return info

    def read_table(self, name, *, where_in=None, bbox=None):
        if not self._has_table(TABLES_META):
            raise WorkspaceError(f"no table {name!r} in {self.database}", path=self.uri, hint="import it first")
        with self._guard(f"cannot read table {name!r}"):
            row = self.conn.execute(f"SELECT table_name FROM {TABLES_META} WHERE name = %s AND current = 1"
                                    " ORDER BY id DESC LIMIT 1", (name,)).fetchone()
            if row is None:
                raise WorkspaceError(f"no table {name!r} in {self.database}", path=self.uri, hint="import it first")
            sql, args = f"SELECT * FROM {_quote(row[0])}", []
            if where_in:
                conds = []
                for col, values in where_in.items():
                    values = [str(v) for v in values]
                    if values:
                        conds.append(f"{_quote(col)} = ANY(%s)")
                        args.append(values)
                sql += " WHERE (" + (" OR ".join(conds) if conds else "false") + ")"
            if bbox is not None:
                sql += (" AND " if where_in else " WHERE ") + "(maxx >= %s AND minx <= %s AND maxy >= %s AND miny <= %s)"
                args += [float(bbox[0]), float(bbox[2]), float(bbox[1]), float(bbox[3])]
            cur = self.conn.execute(sql, args)
            cols = [d.name for d in cur.description]
            rows = cur.fetchall()
        return pd.DataFrame(rows, columns=cols, dtype=object)  # values as stored

    def table_history(self, name=None):
        if not self._has_table(TABLES_META):
            return []
        where, args = ("WHERE name = %s", (name,)) if name else ("", ())
        with self._guard("cannot read the table metadata"):
            rows = self.conn.execute(f"SELECT name, version, source, sha256, imported_at, row_count, meta, current"
                                     f" FROM {TABLES_META} {where} ORDER BY id", args).fetchall()
        return [TableInfo(name=r[0], version=r[1], source=r[2], sha256=r[3], imported_at=r[4], row_count=int(r[5]),
                          meta=json.loads(r[6]), current=bool(r[7])) for r in rows]
