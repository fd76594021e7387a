"""The one settings object.

Like ``osmnx.settings``, module-level values that a notebook user may change::

    import ecogis
    ecogis.settings.max_file_mb = 4096

Each value can also be set with an environment variable ``ECOGIS_<NAME>``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


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

    #: Folder with the layer schemas (``layers/schema`` in the repository).
    schema_dir: Path = field(default_factory=lambda: _env("schema_dir", _REPO / "layers" / "schema"))
    #: Folder with the bundled rule files.
    rules_dir: Path = field(default_factory=lambda: _env("rules_dir", _REPO / "rules"))
    #: Folder with the map specs.
    maps_dir: Path = field(default_factory=lambda: _env("maps_dir", _REPO / "maps"))
    #: Folder with the sample workspaces.
    sample_dir: Path = field(default_factory=lambda: _env("sample_dir", _REPO / "layers" / "sample"))
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
