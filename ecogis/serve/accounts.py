"""Local accounts, sessions and API tokens in the server's ``serve.sqlite``.

Passwords are hashed with Argon2id (argon2-cffi).  Session ids and API
tokens are 256-bit random values; only their SHA-256 is stored, so a copy of
the database does not let anyone log in.  Each session carries its own CSRF
token (bound to that session).
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ecogis.errors import InputError
from ecogis.serve.config import RIGHTS, ROLES

_SCHEMA = """
CREATE TABLE IF NOT EXISTS users (name TEXT PRIMARY KEY, role TEXT NOT NULL, pw_hash TEXT NOT NULL,
                                  created_at REAL NOT NULL, disabled INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS sessions (sid_hash TEXT PRIMARY KEY, user TEXT NOT NULL, csrf TEXT NOT NULL,
                                     expires REAL NOT NULL);
CREATE TABLE IF NOT EXISTS tokens (token_hash TEXT PRIMARY KEY, user TEXT NOT NULL, label TEXT NOT NULL,
                                   created_at REAL NOT NULL);
"""
_NAME_OK = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
_hasher = PasswordHasher()
# a hash to verify against when the user does not exist (same time either way)
_DUMMY = _hasher.hash("not a password")


def _h(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


@dataclass(frozen=True)
class User:
    """A signed-in user."""

    name: str
    role: str
    csrf: str | None = None  # None for API-token requests (no cookie, no CSRF risk)

    def can(self, right: str) -> bool:
        return right in RIGHTS.get(self.role, frozenset())


def check_name(name: str) -> str:
    if not name or len(name) > 64 or not set(name) <= _NAME_OK:
        raise InputError(f"user name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return name


class Accounts:
    """The account database of one server."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._db() as db:
            db.executescript(_SCHEMA)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA journal_mode=WAL")
            self._local.db = db
        return db

    # ----------------------------------------------------------------- users
    def add_user(self, name: str, role: str, password: str, *, replace: bool = False) -> None:
        check_name(name)
        if role not in ROLES:
            raise InputError(f"role {role!r}: use one of {', '.join(ROLES)}")
        if len(password) < 8:
            raise InputError("the password must have at least 8 characters")
        verb = "INSERT OR REPLACE" if replace else "INSERT"
        try:
            self._db().execute(f"{verb} INTO users (name, role, pw_hash, created_at) VALUES (?, ?, ?, ?)",
                               (name, role, _hasher.hash(password), time.time()))
        except sqlite3.IntegrityError:
            raise InputError(f"user {name!r} exists already", hint="use --replace to reset it") from None

    def remove_user(self, name: str) -> bool:
        db = self._db()
        n = db.execute("DELETE FROM users WHERE name = ?", (name,)).rowcount
        db.execute("DELETE FROM sessions WHERE user = ?", (name,))
        db.execute("DELETE FROM tokens WHERE user = ?", (name,))
        return n > 0

    def users(self) -> list[tuple[str, str]]:
        return [tuple(r) for r in self._db().execute("SELECT name, role FROM users ORDER BY name")]

    def verify(self, name: str, password: str) -> User | None:
        row = self._db().execute("SELECT role, pw_hash FROM users WHERE name = ? AND disabled = 0",
                                 (name,)).fetchone()
        try:
            _hasher.verify(row[1] if row else _DUMMY, password)
        except (VerificationError, InvalidHashError):
            return None
        return User(name, row[0]) if row else None

    # -------------------------------------------------------------- sessions
    def new_session(self, user: User, hours: float) -> tuple[str, str]:
        """Return ``(session id, csrf token)``."""
        sid, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        db = self._db()
        db.execute("DELETE FROM sessions WHERE expires < ?", (time.time(),))
        db.execute("INSERT INTO sessions VALUES (?, ?, ?, ?)", (_h(sid), user.name, csrf, time.time() + hours * 3600))
        return sid, csrf

    def session_user(self, sid: str | None) -> User | None:
        if not sid or len(sid) > 100:
            return None
        row = self._db().execute(
            "SELECT u.name, u.role, s.csrf FROM sessions s JOIN users u ON u.name = s.user "
            "WHERE s.sid_hash = ? AND s.expires > ? AND u.disabled = 0", (_h(sid), time.time())).fetchone()
        return User(*row) if row else None

    def end_session(self, sid: str | None) -> None:
        if sid:
            self._db().execute("DELETE FROM sessions WHERE sid_hash = ?", (_h(sid),))

    # ---------------------------------------------------------------- tokens
    def new_token(self, name: str, label: str = "api") -> str:
        if not self._db().execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
            raise InputError(f"no user {name!r}")
        token = "eco_" + secrets.token_urlsafe(32)
        self._db().execute("INSERT INTO tokens VALUES (?, ?, ?, ?)", (_h(token), name, label[:64], time.time()))
        return token

    def token_user(self, token: str | None) -> User | None:
        if not token or len(token) > 100:
            return None
        row = self._db().execute(
            "SELECT u.name, u.role FROM tokens t JOIN users u ON u.name = t.user "
            "WHERE t.token_hash = ? AND u.disabled = 0", (_h(token),)).fetchone()
        return User(row[0], row[1]) if row else None
