"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("ECOGIS_PROGRESS", "0")

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parent.parent


@pytest.fixture
def formats_dir() -> Path:
    return DATA / "formats"


@pytest.fixture
def pg_schema_url():
    """A PostgreSQL URL whose search path is a new, empty schema (dropped afterwards).

    Skips without ``ECOGIS_TEST_PG`` (``eval "$(scripts/ci_postgis.sh)"`` starts a server and sets it).
    """
    url = os.environ.get("ECOGIS_TEST_PG", "")
    if not url:
        pytest.skip("no PostgreSQL server: set ECOGIS_TEST_PG (eval \"$(scripts/ci_postgis.sh)\")")
    import uuid

    import psycopg

    schema = "t_" + uuid.uuid4().hex[:10]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    try:
        yield f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema},public"
    finally:
        with psycopg.connect(url, autocommit=True) as c:
            c.execute(f"DROP SCHEMA {schema} CASCADE")
