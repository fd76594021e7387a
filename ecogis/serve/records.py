"""Where screenings are recorded: a table in the workspace itself.

One small interface, :class:`ScreeningStore`, with two backends: a
GeoPackage workspace gets an ``ecogis_screenings`` attribute table (listed in
``gpkg_contents``, written under the workspace's writer lock so a concurrent
layer import cannot lose a record); a PostGIS workspace gets the same table
through the workspace's connection.  The files of a screening (its inputs and
outputs) are kept in the server's data folder, named in the record.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

TABLE = "ecogis_screenings"
COLUMNS = ("id", "user_name", "created_at", "input_name", "input_sha256", "ecogis_version", "data_versions",
           "rule_versions", "verdict", "n_sites", "n_findings", "overrides", "files", "inputs", "parent_id", "lang")
_JSON = ("data_versions", "rule_versions", "overrides", "files", "inputs")
#: Batch jobs: kept with the records so a restart does not lose them (``pid``/``host``: who runs it).
JOBS_TABLE = "ecogis_jobs"
JOB_COLUMNS = ("id", "user_name", "created_at", "updated_at", "state", "stage", "record", "error", "pid", "host")


@dataclass
class Record:
    """One screening: who, when, what went in, which data and rules, what came out."""

    id: str
    user_name: str
    created_at: str
    input_name: str
    input_sha256: str
    ecogis_version: str
    data_versions: dict[str, str]
    rule_versions: dict[str, str]
    verdict: str
    n_sites: int
    n_findings: int
    overrides: dict[str, Any] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    parent_id: str | None = None
    lang: str = "zh"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def row(self) -> tuple:
        d = self.as_dict()
        return tuple(json.dumps(d[c], ensure_ascii=False) if c in _JSON else d[c] for c in COLUMNS)

    @classmethod
    def from_row(cls, row: tuple) -> "Record":
        d = dict(zip(COLUMNS, row))
        for c in _JSON:
            d[c] = json.loads(d[c]) if d[c] else ({} if c in ("data_versions", "rule_versions", "overrides") else [])
        return cls(**d)


class RWLock:
    """Many readers or one writer, writers first (in-process).

    GDAL reads a GeoPackage without waiting on SQLite's busy lock, so a
    record written while a screening reads the layers would fail that
    screening.  Screenings read under :meth:`read`; records and imports
    write under :meth:`write`.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._waiting = 0

    @contextmanager
    def read(self):
        with self._cond:
            while self._writer or self._waiting:
                self._cond.wait()
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                self._cond.notify_all()

    @contextmanager
    def write(self):
        with self._cond:
            self._waiting += 1
            while self._writer or self._readers:
                self._cond.wait()
            self._waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._cond.notify_all()


class ScreeningStore:
    """Add, get and list screening records; :attr:`rw` orders workspace reads and writes."""

    rw: RWLock

    def add(self, rec: Record) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def get(self, rid: str) -> Record | None:  # pragma: no cover - interface
        raise NotImplementedError

    def list(self, *, q: str = "", user: str | None = None, limit: int = 100, offset: int = 0) -> list[Record]:
        raise NotImplementedError  # pragma: no cover - interface

    # batch jobs: one row each, updated as the job goes on
    def _job_write(self, sql: str, args: tuple) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def _job_rows(self, sql: str, args: tuple) -> list[tuple]:  # pragma: no cover - interface
        raise NotImplementedError

    def add_job(self, job: dict[str, Any]) -> None:
        """Record a new batch job (``job`` has the :data:`JOB_COLUMNS`)."""
        self._job_write(f"INSERT INTO {JOBS_TABLE} ({', '.join(JOB_COLUMNS)}) VALUES ({', '.join([self.ph] * len(JOB_COLUMNS))})",
                        tuple(job.get(c) for c in JOB_COLUMNS))

    def update_job(self, jid: str, **values: Any) -> None:
        """Change a job's ``state``, ``stage``, ``record`` or ``error`` (and its ``updated_at``)."""
        cols = [c for c in values if c in ("state", "stage", "record", "error", "updated_at")]
        if cols:
            self._job_write(f"UPDATE {JOBS_TABLE} SET {', '.join(f'{c} = {self.ph}' for c in cols)} WHERE id = {self.ph}",
                            (*[values[c] for c in cols], jid))

    def get_job(self, jid: str) -> dict[str, Any] | None:
        rows = self._job_rows(f"SELECT {', '.join(JOB_COLUMNS)} FROM {JOBS_TABLE} WHERE id = {self.ph}", (jid,))
        return dict(zip(JOB_COLUMNS, rows[0])) if rows else None

    ph = "?"


_DDL = (f"CREATE TABLE IF NOT EXISTS {TABLE} (id TEXT PRIMARY KEY, user_name TEXT NOT NULL, created_at TEXT NOT NULL, "
        "input_name TEXT, input_sha256 TEXT, ecogis_version TEXT, data_versions TEXT, rule_versions TEXT, "
        "verdict TEXT, n_sites INTEGER, n_findings INTEGER, overrides TEXT, files TEXT, inputs TEXT, "
        "parent_id TEXT, lang TEXT)")
_JOBS_DDL = (f"CREATE TABLE IF NOT EXISTS {JOBS_TABLE} (id TEXT PRIMARY KEY, user_name TEXT NOT NULL, "
             "created_at TEXT NOT NULL, updated_at TEXT, state TEXT NOT NULL, stage TEXT, record TEXT, error TEXT, "
             "pid INTEGER, host TEXT)")


def _where(q: str, user: str | None, ph: str) -> tuple[str, list[Any]]:
    parts, args = [], []
    if q:
        parts.append(f"(input_name LIKE {ph} OR id LIKE {ph} OR verdict LIKE {ph} OR user_name LIKE {ph})")
        args += [f"%{q}%"] * 4
    if user:
        parts.append(f"user_name = {ph}")
        args.append(user)
    return (" WHERE " + " AND ".join(parts)) if parts else "", args


class GpkgStore(ScreeningStore):
    """Records in an attribute table of a GeoPackage workspace."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.path = ws.path
        self._lock = threading.Lock()
        self._qlock = threading.Lock()
        self._queue: list[list] = []
        self._leading = False
        self.rw = RWLock()
        with self.ws.writing():
            db = sqlite3.connect(self.path, timeout=30)
            try:
                db.execute(_DDL)
                db.execute(_JOBS_DDL)
                has_contents = db.execute(
                    "SELECT 1 FROM sqlite_master WHERE name = 'gpkg_contents'").fetchone()
                if has_contents:
                    db.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description)"
                               " VALUES (?, 'attributes', ?, ?)",
                               (TABLE, TABLE, "ecogis serve: screenings (who, when, input SHA-256, versions)"))
                    db.execute("INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description)"
                               " VALUES (?, 'attributes', ?, ?)",
                               (JOBS_TABLE, JOBS_TABLE, "ecogis serve: batch jobs (state, stage, record)"))
                db.commit()
            finally:
                db.close()

    def _read(self, sql: str, args: list[Any] | tuple = ()) -> list[tuple]:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def _write(self, sql: str, args: tuple) -> None:
        with self.rw.write(), self._lock, self.ws.writing():
            db = sqlite3.connect(self.path, timeout=30)
            try:
                db.execute(sql, args)
                db.commit()
            finally:
                db.close()

    def add(self, rec: Record) -> None:
        """Insert ``rec``; returns once it is committed.

        Records arriving together are committed together (group commit): the
        first caller writes every record queued meanwhile in one transaction
        under the workspace's writer lock, the others wait for that commit.
        One commit per record would make the disk's sync the server's limit.
        """
        item = [rec, threading.Event(), None]
        with self._qlock:
            self._queue.append(item)
            lead = not self._leading
            if lead:
                self._leading = True
        if not lead:
            item[1].wait()
            if item[2] is not None:
                raise item[2]
            return
        done = False
        try:
            while True:
                with self._qlock:
                    batch, self._queue = self._queue, []
                    if not batch:
                        self._leading = False
                        done = True
                        break
                try:
                    self._insert([b[0] for b in batch])
                except Exception as exc:
                    if len(batch) == 1:
                        batch[0][2] = exc
                    else:  # one bad record must not fail the others: one by one
                        for b in batch:
                            try:
                                self._insert([b[0]])
                            except Exception as one:
                                b[2] = one
                for b in batch:
                    b[1].set()
        finally:
            if not done:  # interrupted: hand nothing over silently
                with self._qlock:
                    self._leading = False
                    rest, self._queue = self._queue, []
                for b in rest:
                    b[2] = RuntimeError("the record writer was interrupted")
                    b[1].set()
        if item[2] is not None:
            raise item[2]

    def _insert(self, recs: list[Record]) -> None:
        sql = f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
        with self.rw.write(), self._lock, self.ws.writing():
            db = sqlite3.connect(self.path, timeout=30)
            try:
                db.executemany(sql, [r.row() for r in recs])
                db.commit()
            finally:
                db.close()

    def _job_write(self, sql: str, args: tuple) -> None:
        self._write(sql, args)

    def _job_rows(self, sql: str, args: tuple) -> list[tuple]:
        return self._read(sql, args)

    def get(self, rid: str) -> Record | None:
        rows = self._read(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE id = ?", (rid,))
        return Record.from_row(rows[0]) if rows else None

    def list(self, *, q: str = "", user: str | None = None, limit: int = 100, offset: int = 0) -> list[Record]:
        where, args = _where(q, user, "?")
        rows = self._read(f"SELECT {', '.join(COLUMNS)} FROM {TABLE}{where} ORDER BY created_at DESC, id "
                          "LIMIT ? OFFSET ?", [*args, int(limit), int(offset)])
        return [Record.from_row(r) for r in rows]


class PgStore(ScreeningStore):
    """Records in a table of a PostGIS workspace (through its connection)."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self._lock = threading.Lock()  # one connection: one statement at a time
        self.rw = RWLock()
        with self._lock:
            self._exec(_DDL)
            self._exec(_JOBS_DDL)

    ph = "%s"

    def _job_write(self, sql: str, args: tuple) -> None:
        with self._lock:
            self._exec(sql, args)

    def _job_rows(self, sql: str, args: tuple) -> list[tuple]:
        with self._lock:
            return self._exec(sql, args, fetch=True)

    def _exec(self, sql: str, args: tuple | list = (), fetch: bool = False) -> list[tuple]:
        conn = self.ws.conn
        cur = conn.execute(sql, args)
        rows = cur.fetchall() if fetch else []
        if not conn.autocommit:
            conn.commit()
        return rows

    def add(self, rec: Record) -> None:
        with self._lock:
            self._exec(f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))})",
                       rec.row())

    def get(self, rid: str) -> Record | None:
        with self._lock:
            rows = self._exec(f"SELECT {', '.join(COLUMNS)} FROM {TABLE} WHERE id = %s", (rid,), fetch=True)
        return Record.from_row(rows[0]) if rows else None

    def list(self, *, q: str = "", user: str | None = None, limit: int = 100, offset: int = 0) -> list[Record]:
        where, args = _where(q, user, "%s")
        with self._lock:
            rows = self._exec(f"SELECT {', '.join(COLUMNS)} FROM {TABLE}{where} ORDER BY created_at DESC, id "
                              "LIMIT %s OFFSET %s", [*args, int(limit), int(offset)], fetch=True)
        return [Record.from_row(r) for r in rows]


def open_store(ws) -> ScreeningStore:
    """The store for an open workspace."""
    from ecogis.workspace.gpkg import GeoPackageWorkspace

    if isinstance(ws, GeoPackageWorkspace):
        return GpkgStore(ws)
    return PgStore(ws)
