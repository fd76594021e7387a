"""Settings of one ``ecogis serve`` instance."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

ROLES: tuple[str, ...] = ("reviewer", "editor", "admin")
#: What each role may do (an admin may do everything an editor may, and so on).
RIGHTS: dict[str, frozenset[str]] = {
    "reviewer": frozenset({"screen", "read"}),
    "editor": frozenset({"screen", "read", "import"}),
    "admin": frozenset({"screen", "read", "import", "users"}),
}


def default_data_dir(workspace: str) -> Path:
    """``<ws folder>/<ws stem>.serve`` for a GeoPackage; ``./ecogis-serve`` for PostGIS."""
    if str(workspace).startswith(("postgresql:", "postgres:", "PG:")):
        return Path.cwd() / "ecogis-serve"
    p = Path(workspace)
    return p.parent / f"{p.stem}.serve"


@dataclass
class ServeConfig:
    """One server: its workspace, its data folder and its limits.

    Parameters
    ----------
    workspace:
        The workspace URI (a GeoPackage path or a ``postgresql://`` URL).
    data_dir:
        Accounts (``serve.sqlite``) and screening files (``screenings/<id>/``);
        default :func:`default_data_dir`.
    max_upload_mb, max_members, max_vertices, max_files:
        Upload limits, checked before any file is parsed.
    cookie_secure:
        Send the session cookie only over HTTPS (browsers treat
        ``http://localhost`` as secure).  Turn off only behind a trusted LAN.
    result_cache:
        Screenings remembered per process (:mod:`ecogis.serve.cache`): the
        same input on the same data and rules is not screened again; 0 turns it off.
    """

    workspace: str
    data_dir: Path | None = None
    max_upload_mb: float = 20.0
    max_members: int = 50
    max_vertices: int = 200_000
    max_files: int = 20
    session_hours: float = 8.0
    cookie_secure: bool = True
    lang: str = "zh"
    result_cache: int = 256
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.workspace = os.fspath(self.workspace)
        self.data_dir = Path(self.data_dir) if self.data_dir else default_data_dir(self.workspace)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "serve.sqlite"

    @property
    def files_dir(self) -> Path:
        return self.data_dir / "screenings"

    @property
    def tmp_dir(self) -> Path:
        return self.data_dir / "tmp"
