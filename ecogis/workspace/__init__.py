"""Workspaces: where imported layers live.

``open_workspace`` is the one entry point; it returns a :class:`Workspace`
whatever the backend.  GeoPackage files are the embedded default.
"""

from __future__ import annotations

import os

from ecogis.errors import WorkspaceError
from ecogis.workspace.base import LayerInfo, Workspace
from ecogis.workspace.gpkg import GeoPackageWorkspace

__all__ = ["LayerInfo", "Workspace", "GeoPackageWorkspace", "open_workspace"]


def open_workspace(uri: str | os.PathLike | Workspace, *, create: bool = False) -> Workspace:
    """Open the workspace at ``uri``.

    Parameters
    ----------
    uri:
        A GeoPackage path (``ws.gpkg``), or an already open workspace.
    create:
        Create the file on first write if it does not exist.
    """
    if isinstance(uri, Workspace):
        return uri
    text = os.fspath(uri)
    if text.startswith(("postgresql://", "postgres://")):
        raise WorkspaceError(
            "PostGIS workspaces are not available in this version", path=text.split("@")[-1]
        )
    if not text.lower().endswith(".gpkg"):
        raise WorkspaceError("a workspace must be a GeoPackage file ending in .gpkg", path=text)
    return GeoPackageWorkspace(text, create=create)
