"""An opt-in, per-process in-memory copy of a workspace's layers for servers that screen many small requests.

A single-site screening reads a dozen layers through GDAL, counts their
features and lists the workspace's tables; on the sample workspaces that is
most of its time.  :class:`LayerCache` keeps, per process, each layer's whole
frame (read once, on first use) with an ``STRtree`` over its geometries, and
answers :meth:`~ecogis.workspace.Workspace.read` with a bounding box from
memory.  The copy is keyed by the workspace's *metadata*: every layer's
current version, SHA-256, import time, feature count and mode, and every
attribute table's versions.  Each :meth:`LayerCache.view` checks that key
(one small query) and drops the copy when an import through the web app, the
CLI or another process has changed it, so the next screening sees the import.

Results do not change: a bounding-box read returns the rows GDAL would (those
whose geometry intersects the box, in feature order), with the same columns
and dtypes, as a copy the caller may change.  Attribute tables (the access
lists) are read from the workspace itself; so are writes, which go straight
to the wrapped workspace.  Nothing uses this unless asked (``ecogis serve``
does); the engine is unchanged.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any, Callable

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ecogis.errors import WorkspaceError
from ecogis.workspace.base import LayerInfo, TableInfo, Workspace


def metadata_key(ws: Workspace) -> tuple:
    """What identifies the workspace's current data: layer versions and table versions.

    A layer import (replace or append) adds a metadata row with a new
    version, SHA-256, import time and feature count; an access-list import
    adds a table version; either changes this key.
    """
    quick = getattr(ws, "version_key", None)
    if quick is not None:  # GeoPackage: two small queries on one open connection
        return quick()
    rows = getattr(ws, "_rows", None)
    if rows is not None:  # one query on the metadata table (GeoPackage: without GDAL's layer listing)
        layers = [r[0] if isinstance(r, tuple) else r for r in rows("WHERE current = 1")]
    else:
        layers = ws.layers()
    lk = tuple((li.kind, li.version, li.sha256, li.imported_at, int(li.feature_count), li.mode) for li in layers)
    tk = tuple((t.name, t.version, t.sha256, t.imported_at, t.row_count, t.current) for t in ws.table_history())
    return lk, tk


def _retry(fn: Callable[[], Any], tries: int = 5, wait: float = 0.2) -> Any:
    """``fn()``, tried again a few times if the workspace was busy (another process writing it)."""
    for i in range(tries):
        try:
            return fn()
        except WorkspaceError:
            if i == tries - 1:
                raise
            time.sleep(wait * (i + 1))
    return None  # pragma: no cover


class _Layer:
    """One layer in memory: its frame and a tree over its geometries."""

    def __init__(self, gdf: gpd.GeoDataFrame) -> None:
        self.gdf = gdf
        geoms = np.asarray(gdf.geometry.values, dtype=object)
        self.tree = shapely.STRtree(geoms)
        self.tree.query(shapely.box(0.0, 0.0, 0.0, 0.0))  # GEOS builds the tree on its first query: here, once
        self.geoms = geoms
        # reads hand out geometries of their own, made from these bytes: screenings running at once must never
        # share a GEOS geometry (the engine prepares features, and a prepared geometry is not thread-safe)
        self._wkb = shapely.to_wkb(geoms, output_dimension=3)
        self._geom_name = gdf.geometry.name
        self._text = [c for c, t in gdf.dtypes.items() if isinstance(t, pd.StringDtype)]
        self._empty: gpd.GeoDataFrame | None = None
        #: what callers derive from this frame alone (e.g. the engine's where-masks), kept as long as it is
        self.memo: dict[Any, Any] = {}

    def rows(self, bbox: tuple[float, float, float, float]) -> np.ndarray:
        """Positions of the rows a read of ``bbox`` returns, in their order.

        GDAL's spatial filter: features whose (non-empty) geometry intersects the box, in feature order.
        """
        return np.sort(self.tree.query(shapely.box(*bbox), predicate="intersects"))

    def read(self, bbox: tuple[float, float, float, float] | None) -> gpd.GeoDataFrame:
        if bbox is None:
            out = self.gdf.copy()
            out[self._geom_name] = self._own(slice(None))
        else:
            idx = self.rows(bbox)
            if not len(idx):  # as GDAL gives an empty read: text columns of plain objects (made once)
                if self._empty is None:
                    empty = self.gdf.iloc[:0].reset_index(drop=True)
                    self._empty = empty.astype({c: object for c in self._text}) if self._text else empty
                out = self._empty.copy()
            else:  # the rows renumbered 0…n-1 (as iloc + reset_index, with less work)
                out = self.gdf.take(idx)
                out.index = pd.RangeIndex(len(idx))
                out[self._geom_name] = self._own(idx)
        out.attrs.update(self.gdf.attrs)
        return out

    def _own(self, rows) -> Any:
        """New geometry objects (equal to the layer's) for ``rows``, as the frame's geometry column."""
        return gpd.array.from_shapely(shapely.from_wkb(self._wkb[rows]), crs=self.gdf.crs)


class _Snapshot:
    """The workspace's layers at one metadata key; frames are read on first use."""

    def __init__(self, base: Workspace, key: tuple, guard: Callable[[], Any]) -> None:
        self.base, self.key, self.guard = base, key, guard
        with guard():
            self.kinds = _retry(lambda: list(base.kinds()))
            self.layers = _retry(lambda: list(base.layers()))
        self._frames: dict[str, _Layer] = {}
        self._lock = threading.Lock()
        self._loading: dict[str, threading.Lock] = {}

    def _guarded_read(self, kind: str) -> gpd.GeoDataFrame:
        with self.guard():
            return self.base.read(kind)

    def layer(self, kind: str) -> _Layer:
        got = self._frames.get(kind)
        if got is not None:
            return got
        with self._lock:
            lk = self._loading.setdefault(kind, threading.Lock())
        with lk:  # one reader per kind; others wait for its frame
            got = self._frames.get(kind)
            if got is None:
                gdf = _retry(lambda: self._guarded_read(kind))
                got = self._frames[kind] = _Layer(gdf)
        return got


class LayerCache:
    """Per-process in-memory layers of ``base``, renewed whenever its metadata changes.

    Parameters
    ----------
    base:
        The workspace to wrap (any backend).
    guard:
        A context manager factory held around every read of ``base`` through
        GDAL (e.g. the server's reader lock), so writes can be ordered with them.

    Use :meth:`view` once per screening: it returns a :class:`CachedWorkspace`
    bound to the data current at that moment.
    """

    def __init__(self, base: Workspace, guard: Callable[[], Any] | None = None) -> None:
        self.base = base
        self.guard = guard or contextlib.nullcontext
        self._snap: _Snapshot | None = None
        self._lock = threading.Lock()
        # the GeoPackage backend shares one SQLite connection for its table reads: one caller at a time
        self.table_lock = threading.Lock()

    def view(self) -> "CachedWorkspace":
        """A workspace reading the current data from memory (reloaded if the workspace changed)."""
        with self.table_lock:
            key = metadata_key(self.base)
        with self._lock:
            snap = self._snap
            if snap is None or snap.key != key:
                refresh = getattr(self.base, "refresh", None)
                if refresh is not None:  # PostGIS pins the versions it has seen: see the new ones
                    refresh()
                snap = self._snap = _Snapshot(self.base, key, self.guard)
                with self.table_lock:
                    snap.tables = list(self.base.table_history())
        return CachedWorkspace(self.base, snap, self.table_lock)

    def clear(self) -> None:
        with self._lock:
            self._snap = None


class CachedWorkspace(Workspace):
    """A workspace whose layer reads come from a :class:`LayerCache` snapshot; everything else from ``base``."""

    def __init__(self, base: Workspace, snap: _Snapshot, table_lock: threading.Lock) -> None:
        self.base, self._snap, self._tlock = base, snap, table_lock
        self.uri = base.uri

    def __getattr__(self, name: str) -> Any:  # backend extras (path, conn, …)
        if name in ("base", "_snap", "_tlock"):
            raise AttributeError(name)
        return getattr(self.base, name)

    # --------------------------------------------------------------- reads from memory
    def kinds(self) -> list[str]:
        return list(self._snap.kinds)

    def layers(self) -> list[LayerInfo]:
        return list(self._snap.layers)

    def read(self, kind: str, *, bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
        if kind not in self._snap.kinds:
            raise WorkspaceError(f"no layer of kind {kind!r}", path=self.uri,
                                 hint=f"present: {', '.join(self._snap.kinds) or 'none'}")
        return self._snap.layer(kind).read(bbox)

    def bbox_rows(self, kind: str, bbox: tuple[float, float, float, float]) -> np.ndarray:
        """Positions in the whole layer of the rows ``read(kind, bbox=bbox)`` returns, in the same order."""
        if kind not in self._snap.kinds:
            raise WorkspaceError(f"no layer of kind {kind!r}", path=self.uri,
                                 hint=f"present: {', '.join(self._snap.kinds) or 'none'}")
        return self._snap.layer(kind).rows(bbox)

    def layer_memo(self, kind: str) -> tuple[gpd.GeoDataFrame, dict[Any, Any]]:
        """The whole layer ``kind`` (not to be changed) and a dict for what is derived from it alone.

        Both belong to this data version: a layer import gives the next view a new frame and an empty dict.
        """
        got = self._snap.layer(kind)
        return got.gdf, got.memo

    def count(self, kind: str) -> int:
        if kind not in self._snap.kinds:
            return 0
        return len(self._snap.layer(kind).gdf)

    def distinct(self, kind: str, column: str) -> list[Any]:
        if kind not in self._snap.kinds:
            return []
        layer = self._snap.layer(kind)
        key = ("distinct", column)
        got = layer.memo.get(key)
        if got is None:
            gdf = layer.gdf
            got = layer.memo[key] = tuple(gdf[column].dropna().unique()) if column in gdf.columns else ()
        return list(got)

    def table_history(self, name: str | None = None) -> list[TableInfo]:
        return [t for t in self._snap.tables if name is None or t.name == name]

    # --------------------------------------------------------------- through to the workspace
    def history(self, kind: str | None = None) -> list[LayerInfo]:
        return self.base.history(kind)

    def read_table(self, name, *, where_in=None, bbox=None):
        with self._tlock:
            return self.base.read_table(name, where_in=where_in, bbox=bbox)

    def write(self, kind, gdf, **kw) -> LayerInfo:
        return self.base.write(kind, gdf, **kw)

    def write_table(self, name, df, **kw) -> TableInfo:
        return self.base.write_table(name, df, **kw)

    def writing(self) -> contextlib.AbstractContextManager[None]:
        return self.base.writing()

    def ledger(self) -> gpd.GeoDataFrame:
        return self.base.ledger()

    def ledger_append(self, entries, *, record_source: str) -> int:
        return self.base.ledger_append(entries, record_source=record_source)

    def close(self) -> None:
        """Nothing to release: the wrapped workspace stays open for the next view."""

    def __repr__(self) -> str:
        return f"<CachedWorkspace of {self.base!r}>"
