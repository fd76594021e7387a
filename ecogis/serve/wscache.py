"""A GeoPackage workspace that remembers its layer list between screenings.

The engine asks a workspace for its kinds and layer metadata many times per
screening (``pyogrio.list_layers`` each time, ~25 ms on the sample data); a
server screening many single sites pays that on every request.  This
subclass caches :meth:`kinds` and :meth:`layers` keyed on the file's
identity (inode, size, mtime): any write (a layer import renames a new file
into place; a screening record changes the mtime) invalidates the cache.
Reads of features are not cached.
"""

from __future__ import annotations

import os
import threading

from ecogis.workspace.gpkg import GeoPackageWorkspace


class CachedGeoPackage(GeoPackageWorkspace):
    """:class:`GeoPackageWorkspace` with the layer list and metadata cached per file version."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._cache: dict[str, object] = {}
        self._key: tuple | None = None
        self._clock = threading.Lock()

    def _stamp(self) -> tuple | None:
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _cached(self, name: str, compute):
        key = self._stamp()
        with self._clock:
            if key is not None and key == self._key and name in self._cache:
                return list(self._cache[name])
        value = compute()
        with self._clock:
            if key != self._key:
                self._cache, self._key = {}, key
            self._cache[name] = list(value)
        return list(value)

    def kinds(self) -> list[str]:
        return self._cached("kinds", super().kinds)

    def layers(self):
        return self._cached("layers", super().layers)


def open_cached(uri: str):
    """The workspace for the server: cached for a GeoPackage, as is for PostGIS."""
    from ecogis.workspace import open_workspace

    ws = open_workspace(uri)
    if type(ws) is GeoPackageWorkspace:
        return CachedGeoPackage(ws.path)
    return ws
