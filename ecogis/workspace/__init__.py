"""Workspaces: where imported layers live.

``open_workspace`` is the one entry point; it returns a :class:`Workspace`
whatever the backend.  GeoPackage files are the embedded default;
``postgresql://`` URLs open a shared PostGIS database.
"""

from __future__ import annotations

import os

from ecogis.errors import WorkspaceError
from ecogis.workspace.base import LayerInfo, TableInfo, Workspace
from ecogis.workspace.gpkg import GeoPackageWorkspace

__all__ = ["LayerInfo", "TableInfo", "Workspace", "GeoPackageWorkspace", "open_workspace", "printable_uri"]


def printable_uri(uri: str | os.PathLike | Workspace) -> str:
    """``uri`` fit to print: a database URL without its password, else the path as given."""
    if isinstance(uri, Workspace):
        return uri.uri
    text = os.fspath(uri)
    if text.startswith(("postgresql://", "postgres://")):
        from ecogis.workspace.postgis import redact

        return redact(text)
    return text


def open_workspace(uri: str | os.PathLike | Workspace, *, create: bool = False) -> Workspace:
    """Open the workspace at ``uri``.

    Parameters
    ----------
    uri:
        A GeoPackage path (``ws.gpkg``), a PostGIS database URL
        (``postgresql://user@host/db``; the password is never shown), or an
        already open workspace.
    create:
        Create the file on first write if it does not exist.
    """
    if isinstance(uri, Workspace):
        return uri
    text = os.fspath(uri)
    if text.startswith(("postgresql://", "postgres://")):
        from ecogis.workspace.postgis import PostGISWorkspace

        return PostGISWorkspace(text, create=create)
    if not text.lower().endswith(".gpkg"):
        raise WorkspaceError("a workspace must be a GeoPackage file ending in .gpkg", path=text)
    return GeoPackageWorkspace(text, create=create)
