"""The one settings object.

Like ``osmnx.settings``, module-level values that a notebook user may change::

    import ecogis
    ecogis.settings.max_file_mb = 4096

Each value can also be set with an environment variable ``ECOGIS_<NAME>``.

The bundled data folders (``schema_dir``, ``rules_dir``, ``maps_dir``,
``sample_dir``) are resolved by :func:`bundled_path`: a value the user gives
(``ECOGIS_RULES_DIR`` or assignment) wins; else the package data of an
installed wheel (``ecogis/_bundled/...``, found through
:mod:`importlib.resources`); else the folder of a source checkout
(``rules/``, ``layers/schema/``, ``maps/``, ``layers/sample/``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

#: Sub-package of ``ecogis`` that holds the data folders in a wheel (see setup.py).
BUNDLED_PACKAGE = "_bundled"


def _package_root() -> Path:
    """The folder of the ``ecogis`` package (a real folder: ecogis is never run from a zip)."""
    return Path(str(resources.files("ecogis")))


def checkout_root() -> Path | None:
    """The source checkout holding the ``ecogis`` package, or ``None`` for an installed wheel."""
    root = _package_root().parent
    return root if (root / "pyproject.toml").is_file() and (root / "rules").is_dir() else None


def bundled_path(rel: str) -> Path:
    """The bundled data file or folder ``rel`` (a repository-relative path such as ``"layers/schema"``).

    The package data of an installed wheel (``ecogis/_bundled/<rel>``) if
    present, else ``<checkout>/<rel>``.  A path that exists nowhere is
    returned as the package-data path, for the caller to report.
    """
    packaged = _package_root() / BUNDLED_PACKAGE / rel
    if packaged.exists():
        return packaged
    checkout = checkout_root()
    if checkout is not None and (checkout / rel).exists():
        return checkout / rel
    return packaged


def _env(name: str, default):
    raw = os.environ.get(f"ECOGIS_{name.upper()}")
    if raw is None:
        return default
    if isinstance(default, bool):
        return raw.strip().lower() in {"1", "true", "yes", "on"}
    if isinstance(default, (int, float)):
        kind = type(default)
        try:
            return kind(raw)
        except ValueError:
            raise ValueError(
                f"environment variable ECOGIS_{name.upper()}={raw!r} is not a "
                f"{'whole number' if kind is int else 'number'}"
            ) from None
    if isinstance(default, Path):
        return Path(raw)
    return raw


@dataclass
class Settings:
    """Run-time settings (see the module docstring)."""

    #: Folder with the layer schemas (``layers/schema`` in the repository; ``ECOGIS_SCHEMA_DIR``).
    schema_dir: Path = field(default_factory=lambda: _env("schema_dir", bundled_path("layers/schema")))
    #: Folder with the bundled rule files (``rules``; ``ECOGIS_RULES_DIR``).
    rules_dir: Path = field(default_factory=lambda: _env("rules_dir", bundled_path("rules")))
    #: Folder with the map specs (``maps``; ``ECOGIS_MAPS_DIR``).
    maps_dir: Path = field(default_factory=lambda: _env("maps_dir", bundled_path("maps")))
    #: Folder with the sample workspaces (``layers/sample``; ``ECOGIS_SAMPLE_DIR``).
    sample_dir: Path = field(default_factory=lambda: _env("sample_dir", bundled_path("layers/sample")))
    #: The storage CRS of every workspace: CGCS2000 geographic.
    storage_crs: str = "EPSG:4490"
    #: Largest input file accepted, in MiB.
    max_file_mb: int = field(default_factory=lambda: _env("max_file_mb", 2048))
    #: Largest total expanded size of an archive (zip, KMZ), in MiB.
    max_archive_mb: int = field(default_factory=lambda: _env("max_archive_mb", 4096))
    #: Largest number of members in an archive.
    max_archive_members: int = field(default_factory=lambda: _env("max_archive_members", 10000))
    #: Largest number of vertices in one input layer.
    max_vertices: int = field(default_factory=lambda: _env("max_vertices", 200_000_000))
    #: Relative tolerance for the 国土TXT declared-area check.
    guotu_area_tolerance: float = 0.01
    #: Threads for the exact overlaps of a screen (0: every core).  The Dask engine uses one per partition.
    threads: int = field(default_factory=lambda: _env("threads", 0))
    #: Show progress bars on long work.
    progress: bool = field(default_factory=lambda: _env("progress", True))
    #: Default report language: ``zh`` or ``en``.
    lang: str = field(default_factory=lambda: _env("lang", "zh"))


settings = Settings()
