"""The workspace interface.

A workspace holds one table per layer kind in CGCS2000 (EPSG:4490) and a
metadata table with each layer's version history.  Everything above this
module talks to :class:`Workspace` only and never knows which backend it has.
"""

from __future__ import annotations

import abc
import contextlib
from dataclasses import asdict, dataclass, field
from typing import Any

import geopandas as gpd
import pandas as pd

from ecogis.notes import Notes


@dataclass(frozen=True)
class LayerInfo:
    """Metadata of one imported version of a layer."""

    kind: str
    version: str
    source: str
    sha256: str
    imported_at: str
    feature_count: int
    repairs: list[dict[str, Any]] = field(default_factory=list)
    notes: list[dict[str, Any]] = field(default_factory=list)
    bounds: tuple[float, float, float, float] | None = None
    mode: str = "replace"  # replace | append | empty (declared to hold no features within its coverage)
    current: bool = True
    #: the coverage extent the layer was delivered for (WKB, hex, EPSG:4490); ``None`` when not recorded
    coverage: str | None = None
    #: how the coverage extent was set (``--coverage FILE``, the admin boundary, the layer's own hull …)
    coverage_basis: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["bounds"] = list(self.bounds) if self.bounds else None
        d.pop("coverage", None)
        d["coverage_bounds"] = list(coverage_bounds(self.coverage)) if self.coverage else None
        return d


def coverage_wkb(geom: Any) -> str | None:
    """A coverage geometry as stored in the metadata (hex WKB), ``None`` for none."""
    if geom is None:
        return None
    import shapely

    return shapely.to_wkb(geom, hex=True)


def coverage_bounds(wkb: str) -> tuple[float, float, float, float]:
    import shapely

    return tuple(float(b) for b in shapely.from_wkb(bytes.fromhex(wkb)).bounds)


def merged_coverage(old: str | None, new: str | None) -> str | None:
    """The coverage after appending: the union of both (``None`` when neither was recorded)."""
    if not old or not new:
        return new or old
    import shapely

    return shapely.to_wkb(shapely.union(shapely.from_wkb(bytes.fromhex(old)), shapely.from_wkb(bytes.fromhex(new))),
                          hex=True)


@dataclass(frozen=True)
class TableInfo:
    """Metadata of one imported version of an attribute table (e.g. the access lists)."""

    name: str
    version: str
    source: str
    sha256: str
    imported_at: str
    row_count: int
    meta: dict[str, Any] = field(default_factory=dict)
    current: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Workspace(abc.ABC):
    """A set of layers, one per kind, stored in EPSG:4490 with metadata."""

    #: A printable identifier: the file path or the database URL without password.
    uri: str

    @abc.abstractmethod
    def kinds(self) -> list[str]:
        """The layer kinds present."""

    @abc.abstractmethod
    def read(self, kind: str, *, bbox: tuple[float, float, float, float] | None = None) -> gpd.GeoDataFrame:
        """The features of ``kind`` (EPSG:4490), optionally only those meeting ``bbox``."""

    @abc.abstractmethod
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
        """Store ``gdf`` as layer ``kind``: append to it, or replace it with ``replace=True``.

        ``coverage`` is the extent the data was delivered for (a shapely
        geometry in EPSG:4490; on append it is merged with the layer's), and
        ``coverage_basis`` says where it came from.  An empty ``gdf`` is refused
        unless ``coverage`` is given: the layer is then recorded as *declared
        empty* (``mode="empty"``, replacing any previous version): the kind has
        no features within that coverage.  The write is all-or-nothing: if it
        fails, the previous version of the layer and its metadata are left
        intact.
        """

    @abc.abstractmethod
    def layers(self) -> list[LayerInfo]:
        """Current metadata of every layer (one entry per kind)."""

    @abc.abstractmethod
    def history(self, kind: str | None = None) -> list[LayerInfo]:
        """Every recorded import, oldest first."""

    # ------------------------------------------------------------------ ledger (台账)
    #: Columns of every ledger entry, in order (besides the point geometry).
    LEDGER_COLUMNS: tuple[str, ...] = (
        "entry_id", "target_id", "source", "name", "result", "date", "inspector", "remarks", "photo",
        "check", "basis", "recorded_at", "record_source",
    )

    def writing(self) -> contextlib.AbstractContextManager[None]:
        """Hold the workspace's writer lock: other writers wait until the block ends.

        Take it *before* reading what a write depends on (e.g. the ledger rows
        a duplicate check compares with); :meth:`write` and
        :meth:`ledger_append` take it themselves (it is re-entrant).
        """
        return contextlib.nullcontext()

    def ledger_append(self, entries: gpd.GeoDataFrame, *, record_source: str) -> int:
        """Append inspection results to the ledger (台账) and return how many were added.

        ``entries`` has the :data:`LEDGER_COLUMNS` (``entry_id`` and
        ``recorded_at`` are filled in here) and point geometries in EPSG:4490.
        The ledger is append-only: earlier entries are never changed or
        removed, so a target's full trail stays.  The write is all-or-nothing.
        """
        from ecogis.errors import WorkspaceError

        raise WorkspaceError("this workspace backend keeps no ledger", path=self.uri)

    def ledger(self) -> gpd.GeoDataFrame:
        """Every ledger entry, oldest first (an empty frame with :data:`LEDGER_COLUMNS` if none)."""
        from ecogis.errors import WorkspaceError

        raise WorkspaceError("this workspace backend keeps no ledger", path=self.uri)

    # ------------------------------------------------------------------ attribute tables
    def write_table(self, name: str, df: "pd.DataFrame", *, source: str, version: str, sha256: str = "",
                    meta: dict[str, Any] | None = None, index: tuple[str, ...] = ()) -> TableInfo:
        """Store ``df`` as the new current version of attribute table ``name`` (all-or-nothing).

        Every version's metadata (source, SHA-256, time, row count, ``meta``) is
        kept in the history; the rows of the current version are kept, with an
        index on the ``index`` columns.
        """
        from ecogis.errors import WorkspaceError

        raise WorkspaceError("this workspace backend keeps no attribute tables", path=self.uri)

    def read_table(self, name: str, *, where_in: dict[str, list[Any]] | None = None,
                   bbox: tuple[float, float, float, float] | None = None) -> "pd.DataFrame":
        """The rows of the current version of table ``name``; with ``where_in``, only rows where any
        column holds one of its listed values; with ``bbox``, only rows whose ``minx``…``maxy``
        columns meet it."""
        from ecogis.errors import WorkspaceError

        raise WorkspaceError("this workspace backend keeps no attribute tables", path=self.uri)

    def table_history(self, name: str | None = None) -> list[TableInfo]:
        """Every recorded version of table ``name`` (or of all tables), oldest first."""
        return []

    def table_info(self, name: str) -> TableInfo | None:
        """The current version of table ``name``, or ``None`` if there is none."""
        rows = [t for t in self.table_history(name) if t.current]
        return rows[-1] if rows else None

    def info(self, kind: str) -> LayerInfo:
        """Current metadata of ``kind``."""
        for li in self.layers():
            if li.kind == kind:
                return li
        from ecogis.errors import WorkspaceError

        raise WorkspaceError(f"no layer of kind {kind!r}", path=self.uri, hint=f"present: {', '.join(self.kinds()) or 'none'}")

    def has(self, kind: str) -> bool:
        return kind in self.kinds()

    def count(self, kind: str) -> int:
        """The number of features of ``kind`` actually stored (0 for an emptied table)."""
        return len(self.read(kind))

    def distinct(self, kind: str, column: str) -> list[Any]:
        """The distinct values of ``column`` over the whole layer (empty when the column is absent)."""
        gdf = self.read(kind)
        return list(gdf[column].dropna().unique()) if column in gdf.columns else []

    def close(self) -> None:  # pragma: no cover - nothing to release for files
        """Release resources held by the backend."""

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.uri}>"
