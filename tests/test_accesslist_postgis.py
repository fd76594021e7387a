"""Access lists in a PostGIS workspace: the same import, versions and screen as in a GeoPackage."""

from __future__ import annotations

import uuid

import geopandas as gpd
import pytest
import shapely

from ecogis.accesslist import import_accesslist, screen_access
from ecogis.accesslist.samples import lists_dir
from ecogis.accesslist.store import TABLE, UNITS_TABLE
from ecogis.settings import settings
from ecogis.workspace import open_workspace

from test_postgis_workspace import pg_url, with_schema


@pytest.fixture
def pgws():
    import psycopg

    url = pg_url()
    schema = "t_" + uuid.uuid4().hex[:10]
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"CREATE SCHEMA {schema}")
    yield with_schema(url, schema)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(f"DROP SCHEMA {schema} CASCADE")


def test_postgis_import_versions_and_screen(pgws):
    ws = open_workspace(pgws, create=True)
    units = open_workspace(settings.sample_dir / "genhe.gpkg").read("control_unit")
    ws.write("control_unit", units.drop(columns=["fid"]), source="genhe sample", version="s", replace=True)
    r1 = import_accesslist(lists_dir() / "neimenggu_region.csv", pgws)
    r2 = import_accesslist(lists_dir() / "hulunbuir.xlsx", pgws)
    ws = open_workspace(pgws)
    hist = ws.table_history(TABLE)
    assert [h.sha256 for h in hist] == [r1.sha256, r2.sha256] and hist[-1].current
    assert len(ws.read_table(TABLE)) == r1.items + r2.items
    assert len(ws.read_table(UNITS_TABLE)) == len(units)
    unit = units[units["class"] == "优先保护"].iloc[0]
    site = gpd.GeoDataFrame({"site_id": ["P"], "name": ["焦化"], "industry": ["C2521"], "nature": ["新建"]},
                            geometry=[shapely.buffer(unit.geometry.representative_point(), 0.001)], crs=4490)
    acc = screen_access(site, pgws)
    assert (acc.table["result"] == "不符合").any() and acc.findings is not None
    assert not (acc.table[acc.table["text"].str.contains("焦化")]["result"] == "符合").any()
