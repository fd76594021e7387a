"""The PostGIS workspace against a real PostgreSQL + PostGIS server.

Set ``ECOGIS_TEST_PG=postgresql://USER:PASS@HOST:PORT/DB`` (a database with
the postgis extension; ``eval "$(scripts/ci_postgis.sh)"`` starts one).
Without it the tests skip with that reason; under ``CI=true`` they fail.
Each test module works in its own schema, dropped at the end.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import time
import uuid
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import shapely

REPO = Path(__file__).resolve().parent.parent
SAMPLE = REPO / "layers" / "sample"


def pg_url() -> str:
    """The test server URL, or skip (fail under CI) when there is none."""
    url = os.environ.get("ECOGIS_TEST_PG", "")
    ci = os.environ.get("CI", "").lower() == "true"
    if not url:
        msg = "no PostgreSQL server: set ECOGIS_TEST_PG=postgresql://... (eval \"$(scripts/ci_postgis.sh)\")"
        if ci:
            pytest.fail(msg + " — required under CI=true")
        pytest.skip(msg)
    try:
        import psycopg

        with psycopg.connect(url, connect_timeout=5) as c:
            c.execute("SELECT 1")
    except Exception as exc:  # noqa: BLE001 - any failure means no server
        msg = f"PostgreSQL server at ECOGIS_TEST_PG does not answer: {str(exc).splitlines()[0] if str(exc) else exc}"
        if ci:
            pytest.fail(msg)
        pytest.skip(msg)
    return url


def with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema},public"


@pytest.fixture(scope="module")
def pg():
    """A fresh schema; yields the workspace URL that writes into it."""
    import psycopg

    url = pg_url()
    schema = "t_" + uuid.uuid4().hex[:10]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    yield with_schema(url, schema)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture
def fresh(pg):
    """A new empty schema per test (for tests that count tables)."""
    import psycopg

    url = os.environ["ECOGIS_TEST_PG"]
    schema = "t_" + uuid.uuid4().hex[:10]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    yield with_schema(url, schema), schema
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


def _layer(n: int, tag: str, x0: float = 121.0, y0: float = 50.0) -> gpd.GeoDataFrame:
    xs = x0 + 0.01 * np.arange(n)
    geoms = shapely.box(xs, y0, xs + 0.008, y0 + 0.008)
    return gpd.GeoDataFrame({"name": [f"{tag}-{i}" for i in range(n)], "ver": tag, "code": np.arange(n),
                             "share": np.linspace(0, 1, n)}, geometry=geoms, crs=4490)


def _copy_sample(url: str, city: str = "genhe"):
    from ecogis.workspace import open_workspace

    src = open_workspace(SAMPLE / f"{city}.gpkg")
    dst = open_workspace(url, create=True)
    for li in src.layers():
        dst.write(li.kind, src.read(li.kind), source=li.source, version=li.version, sha256=li.sha256, replace=True)
    return src, dst


# ---------------------------------------------------------------------------- content


def test_sample_workspace_round_trip_and_screen_equals_geopackage(pg):
    import ecogis

    src, ws = _copy_sample(pg)
    assert ws.kinds() == src.kinds()
    from urllib.parse import urlsplit

    password = urlsplit(pg).password
    if password:
        assert f":{password}@" not in ws.uri and ":***@" in ws.uri
    for kind in ("redline", "control_unit", "road"):
        a, b = src.read(kind), ws.read(kind)
        assert list(a.columns) == list(b.columns)
        assert a["fid"].tolist() == b["fid"].tolist()
        assert shapely.equals_exact(a.geometry.values, b.geometry.values, tolerance=0).all()
        assert b.crs.to_epsg() == 4490
    box = tuple(src.read("redline").total_bounds)
    part = ws.read("redline", bbox=(box[0], box[1], (box[0] + box[2]) / 2, box[3]))
    assert 0 < len(part) <= len(src.read("redline"))

    sites = SAMPLE / "sites" / "genhe.geojson"
    r1 = ecogis.screen(sites, src, progress=False)
    r2 = ecogis.screen(sites, pg, progress=False)
    cols = [c for c in r1.findings.columns if c != "geometry"]
    assert len(r1.findings) > 0
    assert r1.findings[cols].equals(r2.findings[cols])
    assert r1.sites["verdict"].tolist() == r2.sites["verdict"].tolist()
    assert r2.meta["layers"]["redline"]["version"] == src.info("redline").version
    assert r2.meta["workspace"] == ws.uri  # no password in reports


def test_metadata_matches_geopackage_and_keeps_history(pg, tmp_path):
    from ecogis.workspace import open_workspace

    ws = open_workspace(pg, create=True)
    gp = open_workspace(tmp_path / "ws.gpkg", create=True)
    for w in (ws, gp):
        w.write("history_demo", _layer(5, "v1"), source="a.shp", version="2024-01", sha256="aa", replace=True)
        w.write("history_demo", _layer(7, "v2"), source="b.shp", version="2024-06", sha256="bb", replace=True)
        w.write("history_demo", _layer(3, "v3", y0=49.0), source="c.shp", version="2024-07", sha256="cc")
    hp, hg = ws.history("history_demo"), gp.history("history_demo")
    assert [h.version for h in hp] == ["2024-01", "2024-06", "2024-07"] == [h.version for h in hg]
    for a, b in zip(hp, hg):
        da, db = a.as_dict(), b.as_dict()
        da.pop("imported_at"), db.pop("imported_at")
        if a.mode == "append":  # PostGIS keeps the whole layer's extent; the GeoPackage only the batch's
            assert da.pop("bounds") == [121.0, 49.0, 121.068, 50.008]
            db.pop("bounds")
        assert da == db, (da, db)
    cur = ws.info("history_demo")
    assert (cur.mode, cur.feature_count, cur.version) == ("append", 10, "2024-07")
    g = ws.read("history_demo")
    assert g["fid"].tolist() == list(range(1, 11))
    assert sorted(set(g["ver"])) == ["v2", "v3"]
    assert g["code"].dtype.kind == "i" and g["share"].dtype.kind == "f"


def test_geometry_srid_gist_index_and_one_current_row(fresh):
    import psycopg

    from ecogis.workspace import open_workspace

    url, schema = fresh
    ws = open_workspace(url, create=True)
    ws.write("redline", _layer(4, "a"), source="x", version="1", replace=True)
    table = ws.table_of("redline")
    base = os.environ["ECOGIS_TEST_PG"]
    with psycopg.connect(base) as c:
        srid = c.execute("SELECT srid, type FROM geometry_columns WHERE f_table_schema = %s AND f_table_name = %s",
                         (schema, table)).fetchone()
        idx = c.execute("SELECT indexdef FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
                        (schema, table)).fetchall()
        cur = c.execute(f"SELECT count(*) FROM {schema}.ecogis_layers WHERE kind = 'redline' AND current = 1").fetchone()
    assert srid == (4490, "GEOMETRY")
    assert any("USING gist (geom)" in d for (d,) in idx)
    assert cur == (1,)


class Boom(RuntimeError):
    pass


def test_failed_import_leaves_previous_version_and_no_table(fresh, monkeypatch):
    import psycopg

    from ecogis.workspace import open_workspace
    from ecogis.workspace.postgis import PostGISWorkspace

    url, schema = fresh
    ws = open_workspace(url, create=True)
    ws.write("redline", _layer(4, "good"), source="x", version="good", replace=True)

    def tables():
        with psycopg.connect(os.environ["ECOGIS_TEST_PG"]) as c:
            return sorted(r[0] for r in c.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,)).fetchall())

    before = tables()

    def boom(self, table):  # fail after the rows are copied, before the pointer moves
        raise Boom("disk full")

    monkeypatch.setattr(PostGISWorkspace, "_index", boom)
    for replace in (True, False):
        with pytest.raises(Boom):
            ws.write("redline", _layer(9, "bad"), source="y", version="bad", replace=replace)
    monkeypatch.undo()
    assert tables() == before
    other = open_workspace(url)
    assert [h.version for h in other.history("redline")] == ["good"]
    g = other.read("redline")
    assert len(g) == 4 and set(g["ver"]) == {"good"}
    # a row the database refuses fails inside COPY: same result, and a clear error naming the database
    bad = _layer(2, "worse")
    bad["name"] = ["a\x00b", "c"]  # NUL cannot be stored in PostgreSQL text
    from ecogis.errors import WorkspaceError

    with pytest.raises(WorkspaceError, match="database 'ecogis_test"):
        ws.write("redline", bad, source="z", version="worse", replace=True)
    assert tables() == before
    assert open_workspace(url).info("redline").version == "good"


# ---------------------------------------------------------------------------- concurrency


def _reader(url: str, stop_at: float, q) -> None:
    from ecogis.workspace import open_workspace

    checks, bad = 0, []
    try:
        while time.time() < stop_at:
            ws = open_workspace(url)
            if not ws.has("redline"):
                continue
            info = ws.info("redline")
            time.sleep(0.05)  # let the writer move on (several imports) between metadata and data
            g = ws.read("redline")
            sub = ws.read("redline", bbox=(121.0, 50.0, 121.05, 50.01))
            vers = set(g["ver"])
            if len(g) != info.feature_count or vers != {info.version} or set(sub["ver"]) - vers:
                bad.append((info.version, info.feature_count, len(g), sorted(vers)))
            checks += 1
            ws.close()
    except Exception as exc:  # reported, not a silent hang of the parent's queue
        bad.append(repr(exc))
    q.put((checks, bad))


def _writer(url: str, n: int, q) -> None:
    from ecogis.workspace import open_workspace

    ws = open_workspace(url, create=True)
    for i in range(n):
        tag = f"v{i}"
        ws.write("redline", _layer(20 + 15 * i, tag), source="gen", version=tag, replace=True)
        time.sleep(0.01)
    q.put(("writer", n))


def test_concurrent_readers_see_one_whole_version_while_importing(fresh):
    from ecogis.workspace import open_workspace

    url, _ = fresh
    open_workspace(url, create=True).write("redline", _layer(20, "v0"), source="gen", version="v0", replace=True)
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    stop_at = time.time() + 4.0
    procs = [ctx.Process(target=_reader, args=(url, stop_at, q)) for _ in range(3)]
    procs.append(ctx.Process(target=_writer, args=(url, 12, q)))
    for p in procs:
        p.start()
    results = [q.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    readers = [r for r in results if r[0] != "writer"]
    assert sum(c for c, _ in readers) >= 10
    assert [b for _, b in readers] == [[], [], []]
    ws = open_workspace(url)
    assert ws.info("redline").version == "v11"
    assert [h.version for h in ws.history("redline")] == ["v0"] + [f"v{i}" for i in range(12)]


def test_pinned_versions_until_refresh(fresh):
    from ecogis.workspace import open_workspace

    url, _ = fresh
    a = open_workspace(url, create=True)
    a.write("redline", _layer(3, "one"), source="s", version="one", replace=True)
    reader = open_workspace(url)
    assert reader.info("redline").version == "one"
    a.write("redline", _layer(5, "two"), source="s", version="two", replace=True)
    assert reader.info("redline").version == "one" and len(reader.read("redline")) == 3
    reader.refresh()
    assert reader.info("redline").version == "two" and len(reader.read("redline")) == 5


def test_a_pointer_to_a_dropped_table_is_read_again(fresh, monkeypatch):
    """An import may drop a version table between the metadata read and the lease: pinning reads again."""
    from ecogis.errors import WorkspaceError
    from ecogis.workspace import open_workspace
    from ecogis.workspace.postgis import _PIN_TRIES, PostGISWorkspace

    url, _ = fresh
    open_workspace(url, create=True).write("redline", _layer(3, "live"), source="s", version="live", replace=True)
    real = PostGISWorkspace._rows
    calls = []

    def stale_first(self, where="", args=()):
        rows = real(self, where, args)
        calls.append(where)
        if len(calls) == 1:  # the first read points at a table that no longer exists
            return [(li, "ecogis_redline_v999999") for li, _ in rows]
        return rows

    monkeypatch.setattr(PostGISWorkspace, "_rows", stale_first)
    ws = open_workspace(url)
    assert ws.info("redline").version == "live" and len(ws.read("redline")) == 3
    assert len(calls) == 2 and len(ws._leases) == 1  # read twice; only the real table leased
    ws.close()

    monkeypatch.setattr(PostGISWorkspace, "_rows",
                        lambda self, where="", args=(): [(li, "ecogis_gone") for li, _ in real(self, where, args)])
    with pytest.raises(WorkspaceError, match=f"kept changing while being read \\({_PIN_TRIES} tries\\)"):
        open_workspace(url).layers()


def test_a_leased_version_outlives_many_imports(fresh):
    from ecogis.workspace import open_workspace
    from ecogis.workspace.postgis import KEEP_VERSIONS

    url, schema = fresh
    a = open_workspace(url, create=True)
    a.write("redline", _layer(3, "old"), source="s", version="old", replace=True)
    reader = open_workspace(url)
    assert reader.info("redline").version == "old"  # pinned and leased
    for i in range(KEEP_VERSIONS + 3):
        a.write("redline", _layer(4 + i, f"n{i}"), source="s", version=f"n{i}", replace=True)
    g = reader.read("redline")
    assert len(g) == 3 and set(g["ver"]) == {"old"} and g.attrs["version"] == "old"

    import psycopg

    def version_tables() -> int:
        with psycopg.connect(url) as con:
            return con.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = %s AND tablename LIKE 'ecogis_redline_v%%'",
                (schema,)).fetchone()[0]

    assert version_tables() == KEEP_VERSIONS + 1  # the newest ones plus the leased one
    reader.close()  # the lease ends; the next import drops the old table
    a.write("redline", _layer(2, "last"), source="s", version="last", replace=True)
    assert version_tables() == KEEP_VERSIONS
    assert len(open_workspace(url).history("redline")) == KEEP_VERSIONS + 5  # metadata keeps every version


# ---------------------------------------------------------------------------- errors


def test_bad_connection_strings_are_clear_errors():
    from ecogis.errors import WorkspaceError
    from ecogis.workspace import open_workspace

    with pytest.raises(WorkspaceError) as e:
        open_workspace("postgresql://someone:s3cret@127.0.0.1:1/plans")
    text = str(e.value)
    assert "plans" in text and "s3cret" not in text
    with pytest.raises(WorkspaceError) as e:
        open_workspace("postgresql://someone:s3cret@localhost:notaport/plans")
    assert "plans" in str(e.value) and "s3cret" not in str(e.value)


def test_cli_error_has_no_traceback(capsys):
    from ecogis.cli import main

    code = main(["layers", "list", "--workspace", "postgresql://u:pw123@127.0.0.1:1/teamdb"])
    err = capsys.readouterr().err
    assert code == 2
    assert "teamdb" in err and "Traceback" not in err and "pw123" not in err


def test_missing_postgis_extension_is_named(pg):
    import psycopg

    from ecogis.errors import WorkspaceError
    from ecogis.workspace import open_workspace

    base = os.environ["ECOGIS_TEST_PG"]
    name = "ecogis_test_plain"
    try:
        with psycopg.connect(base, autocommit=True) as c:
            if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                c.execute(f"CREATE DATABASE {name}")
    except psycopg.Error as exc:
        pytest.skip(f"cannot create a database without PostGIS here: {exc}")
    url = base.rsplit("/", 1)[0] + "/" + name
    with pytest.raises(WorkspaceError, match=f"PostGIS extension is not installed in database '{name}'"):
        open_workspace(url, create=True)


def test_lost_connection_is_a_clear_error(pg):
    import psycopg

    from ecogis.errors import WorkspaceError
    from ecogis.workspace import open_workspace

    ws = open_workspace(pg, create=True)
    ws.write("mine", _layer(3, "m"), source="s", version="1", replace=True)
    pid = ws.conn.info.backend_pid
    with psycopg.connect(os.environ["ECOGIS_TEST_PG"], autocommit=True) as c:
        c.execute("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.2)
    with pytest.raises(WorkspaceError, match="database 'ecogis_test"):
        ws.read("mine")
    assert len(ws.read("mine")) == 3  # reconnects on the next call


def test_no_workspace_in_database_without_create(fresh):
    from ecogis.errors import WorkspaceError
    from ecogis.workspace import open_workspace

    url, _ = fresh
    with pytest.raises(WorkspaceError, match="no ecogis workspace"):
        open_workspace(url)


# ---------------------------------------------------------------------------- CLI and ledger


def test_cli_import_list_screen_with_database_url(fresh, tmp_path, capsys):
    import json

    from ecogis.cli import main

    url, _ = fresh
    gpkg = str(SAMPLE / "genhe.gpkg")
    for kind in ("admin", "redline", "protected_area"):
        assert main(["layers", "import", gpkg, "--layer", kind, "--kind", kind, "--workspace", url,
                     "--version", "2024-05", "--replace"]) == 0
    capsys.readouterr()
    assert main(["layers", "list", "--workspace", url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert {li["kind"] for li in listed} == {"admin", "redline", "protected_area"}
    assert {li["version"] for li in listed} == {"2024-05"}
    out = tmp_path / "report"
    code = main(["screen", str(SAMPLE / "sites" / "genhe.geojson"), "--workspace", url, "--out", str(out),
                 "--format", "json", "--quiet"])
    assert code in (0, 1)
    text = (out / "findings.json").read_text(encoding="utf-8")
    assert "2024-05" in text  # the report names the data version it used


def test_ledger_is_append_only(fresh):
    import psycopg

    from ecogis.workspace import open_workspace

    url, schema = fresh
    ws = open_workspace(url, create=True)
    cols = {c: ["x", "y"] for c in ws.LEDGER_COLUMNS if c not in ("entry_id", "recorded_at", "record_source")}
    pts = gpd.GeoDataFrame(cols, geometry=shapely.points([121.1, 121.2], [50.1, 50.2]), crs=4490)
    assert ws.ledger_append(pts, record_source="a.csv") == 2
    assert ws.ledger_append(pts.iloc[:1], record_source="b.csv") == 1
    led = ws.ledger()
    assert led["entry_id"].tolist() == [1, 2, 3] and led["record_source"].tolist() == ["a.csv", "a.csv", "b.csv"]
    with psycopg.connect(os.environ["ECOGIS_TEST_PG"], autocommit=True) as c:
        with pytest.raises(psycopg.Error, match="append-only"):
            c.execute(f"DELETE FROM {schema}.ecogis_ledger")


def _hostile_layer(n: int, *, x0: float = 121.0) -> gpd.GeoDataFrame:
    import datetime as dt

    import pandas as pd

    from test_copytext import HOSTILE

    rng = np.random.default_rng(7)
    xs = x0 + 0.01 * np.arange(n)
    mixed = [1, "2", 3.5, None, np.nan, True, np.float32(0.1), dt.date(2024, 1, 2), 1e16, "3.0", HOSTILE[2]]
    return gpd.GeoDataFrame({
        "name": ((HOSTILE + [None, np.nan]) * n)[:n],
        "code": (mixed * n)[:n],  # numbers in a text column
        "grade": rng.integers(-5, 5, n),
        "grade_na": pd.array([*range(n - 1), None], dtype="Int64"),
        "share": np.r_[rng.standard_normal(n - 3) * 10.0 ** rng.integers(-30, 30, n - 3), np.nan, np.inf, -0.0],
        "flag": np.arange(n) % 2 == 0,
        "flag_na": pd.array(([True, None, False] * n)[:n], dtype="boolean"),
        "since": pd.to_datetime((["2024-01-01 00:00:00.123456789", None, "1960-05-06 12:30"] * n)[:n],
                                format="ISO8601"),
        "at": pd.to_datetime((["2024-01-01 08:00", None] * n)[:n]).tz_localize("Asia/Shanghai"),
    }, geometry=shapely.box(xs, 50.0, xs + 0.008, 50.008), crs=4490)


def _rows_as_stored(con, table: str, order: str = "fid") -> list:
    return con.execute(f'SELECT row_to_json(t)::text FROM "{table}" t ORDER BY {order}').fetchall()


def _reference_copy(con, table: str, cols: list[str], rows: list[list]) -> str:
    """A twin of ``table`` filled row by row by psycopg's write_row (the path before the bulk COPY)."""
    ref = table + "_ref"
    con.execute(f'CREATE TABLE "{ref}" (LIKE "{table}")')
    with con.cursor().copy(f'COPY "{ref}" ({", ".join(chr(34) + c + chr(34) for c in cols)}) FROM STDIN') as cp:
        for r in rows:
            cp.write_row(r)
    return ref


def test_bulk_copy_stores_what_write_row_stored(fresh):
    # hostile text, numbers in text columns, missing values, dates, flags: stored values equal the per-row path
    from test_copytext import _cell

    from ecogis.workspace import open_workspace

    url, _ = fresh
    ws = open_workspace(url, create=True)
    gdf = _hostile_layer(200)
    ws.write("hostile", gdf, source="t", version="1")
    table = ws.table_of("hostile")
    cols = [c for c in gdf.columns if c != "geometry"]
    ewkb = shapely.to_wkb(shapely.set_srid(gdf.geometry.to_numpy(), 4490), hex=True, include_srid=True)
    values = [gdf[c].astype(object).to_numpy() for c in cols]
    rows = [[i + 1] + [_cell(v[i]) for v in values] + [ewkb[i]] for i in range(len(gdf))]
    ref = _reference_copy(ws.conn, table, ["fid", *cols, "geom"], rows)
    got, want = _rows_as_stored(ws.conn, table), _rows_as_stored(ws.conn, ref)
    assert len(got) == 200 and got == want
    back = ws.read("hostile")
    assert back["name"].tolist()[:10] == gdf["name"].where(gdf["name"].notna(), None).tolist()[:10]

    # an append whose types differ from the stored columns: floats and flags into the TEXT column "code"
    more = _hostile_layer(30, x0=125.0)
    more["code"] = np.r_[np.linspace(-1e-5, 1e17, 29), np.nan]
    more["name"] = more["flag"]
    ws.write("hostile", more, source="t", version="2")
    table2 = ws.table_of("hostile")
    ewkb = shapely.to_wkb(shapely.set_srid(more.geometry.to_numpy(), 4490), hex=True, include_srid=True)
    values = [more[c].astype(object).to_numpy() for c in cols]
    rows = [[201 + i] + [_cell(v[i]) for v in values] + [ewkb[i]] for i in range(len(more))]
    ref2 = _reference_copy(ws.conn, table2, ["fid", *cols, "geom"], rows)
    got = _rows_as_stored(ws.conn, table2)
    assert got[200:] == _rows_as_stored(ws.conn, ref2) and got[:200] == want


def test_bulk_table_and_ledger_store_what_write_row_stored(fresh):
    import pandas as pd
    from test_copytext import HOSTILE, _cell

    from ecogis.workspace import open_workspace

    url, _ = fresh
    ws = open_workspace(url, create=True)
    gdf = _hostile_layer(120)
    df = pd.DataFrame(gdf.drop(columns="geometry"))
    ws.write_table("hostile_t", df, source="t", version="1")
    table = ws.conn.execute("SELECT table_name FROM ecogis_tables WHERE current = 1").fetchone()[0]
    values = [df[c].astype(object).to_numpy() for c in df.columns]
    ref = _reference_copy(ws.conn, table, list(df.columns), [[_cell(v[i]) for v in values] for i in range(len(df))])
    assert _rows_as_stored(ws.conn, table, "1") == _rows_as_stored(ws.conn, ref, "1")

    # the ledger stores str() of each value: True as "True", 1e16 as "1e+16", a date as "2024-01-02"
    n = 40
    cols = {"target_id": (HOSTILE * 4)[:n], "result": gdf["code"].iloc[:n].tolist(),
            "date": gdf["since"].iloc[:n], "inspector": gdf["flag"].iloc[:n], "remarks": gdf["share"].iloc[:n],
            "check": gdf["grade_na"].iloc[:n]}
    pts = gpd.GeoDataFrame(cols, geometry=shapely.points(121.0 + 0.01 * np.arange(n), 50.0), crs=4490)
    ws.ledger_append(pts, record_source="x\ty.csv")
    cur = ws.conn.execute("SELECT * FROM ecogis_ledger ORDER BY entry_id")
    names = [d.name for d in cur.description]
    stored = [dict(zip(names, r)) for r in cur.fetchall()]
    now = stored[0]["recorded_at"]
    recs = pts.drop(columns="geometry").to_dict("records")
    expect = []
    for i, rec in enumerate(recs):
        row = {}
        for c in ws.LEDGER_COLUMNS:
            v = _cell(rec.get(c))
            row[c] = None if v is None else str(v)
        row.update(entry_id=i + 1, recorded_at=now, record_source="x\ty.csv")
        expect.append(row)
    assert [{k: v for k, v in r.items() if k != "geom"} for r in stored] == expect
    assert expect[0]["inspector"] == "True" and expect[3]["result"] is None and expect[8]["result"] == "1e+16"
    assert shapely.equals(ws.ledger().geometry.to_numpy(), pts.geometry.to_numpy()).all()
