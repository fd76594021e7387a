"""The one settings object.

Like ``osmnx.settings``, module-level values that a notebook user may change::

    import ecogis
    ecogis.settings.max_file_mb = 4096

Each value can also be set with an environment variable ``ECOGIS_<NAME>``.

Values are checked like geopandas' options: an unknown name raises
:class:`AttributeError`, a value of the wrong type or out of range raises
:class:`SettingsError` (a :class:`ValueError` and an
:class:`~ecogis.errors.InputError`, so the command line exits 2 naming it).
A bad ``ECOGIS_*`` variable does not break ``import ecogis``: the setting
raises the error naming the variable when it is first used (the command
line checks every variable before it starts).

The bundled data folders (``schema_dir``, ``rules_dir``, ``maps_dir``,
``sample_dir``) are resolved by :func:`bundled_path`: a value the user gives
(``ECOGIS_RULES_DIR`` or assignment) wins; else the package data of an
installed wheel (``ecogis/_bundled/...``, found through
:mod:`importlib.resources`); else the folder of a source checkout
(``rules/``, ``layers/schema/``, ``maps/``, ``layers/sample/``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from ecogis.errors import InputError

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


class SettingsError(InputError, ValueError):
    """A setting (or its ``ECOGIS_*`` variable) has a wrong type or an out-of-range value."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _non_negative(v: float) -> bool:
    return v >= 0


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ecogis"


#: name → (type, range check or None, what the check means): the rules every value must meet.
_RULES: dict[str, tuple[type, Callable[[Any], bool] | None, str]] = {
    "schema_dir": (Path, None, ""),
    "rules_dir": (Path, None, ""),
    "maps_dir": (Path, None, ""),
    "sample_dir": (Path, None, ""),
    "storage_crs": (str, lambda v: v == "EPSG:4490", "EPSG:4490 (workspaces are CGCS2000)"),
    "max_file_mb": (int, _non_negative, "a whole number, 0 or more (0 refuses every input)"),
    "max_archive_mb": (int, _non_negative, "a whole number, 0 or more (0 refuses every input)"),
    "max_archive_members": (int, _non_negative, "a whole number, 0 or more (0 refuses every input)"),
    "max_vertices": (int, _non_negative, "a whole number, 0 or more (0 refuses every input)"),
    "guotu_area_tolerance": (float, lambda v: 0 <= v < 1, "a number from 0 up to (not including) 1"),
    "threads": (int, _non_negative, "0 (every core) or a whole number above 0"),
    "progress": (bool, None, ""),
    "lang": (str, lambda v: v in ("zh", "en"), "zh or en"),
    "cache": (bool, None, ""),
    "cache_dir": (Path, None, ""),
}


def _check(name: str, value: Any, source: str) -> Any:
    """``value`` of setting ``name`` as its type, or :class:`SettingsError` naming ``source``."""
    kind, ok, meaning = _RULES[name]
    if kind is Path:
        if not isinstance(value, (str, os.PathLike)) or not str(value):
            raise SettingsError(f"{source} must be a folder path, not {value!r}")
        return Path(value)
    if kind is bool:
        if not isinstance(value, bool):
            raise SettingsError(f"{source} must be True or False, not {value!r}")
        return value
    if kind is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise SettingsError(f"{source} must be a whole number, not {value!r}", hint=meaning or None)
    elif kind is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise SettingsError(f"{source} must be a number, not {value!r}", hint=meaning or None)
        value = float(value)
    elif kind is str and not isinstance(value, str):
        raise SettingsError(f"{source} must be text, not {value!r}", hint=meaning or None)
    if ok is not None and not ok(value):
        shown = source if source.endswith(repr(value)) or "=" in source else f"{source} = {value!r}"
        raise SettingsError(f"{shown} is out of range: it must be {meaning}")
    return value


def _parse_env(name: str, raw: str) -> Any:
    """The value of ``ECOGIS_<NAME>=raw``, checked."""
    var = f"environment variable ECOGIS_{name.upper()}"
    kind = _RULES[name][0]
    text = raw.strip()
    if kind is bool:
        low = text.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise SettingsError(f"{var}={raw!r} is not a yes/no value", hint="use 1/0, true/false, yes/no or on/off")
    if kind is int:
        try:
            value: Any = int(text)
        except ValueError:
            raise SettingsError(f"{var}={raw!r} is not a whole number", hint=_RULES[name][2] or None) from None
    elif kind is float:
        try:
            value = float(text)
        except ValueError:
            raise SettingsError(f"{var}={raw!r} is not a number", hint=_RULES[name][2] or None) from None
    else:
        value = raw
    return _check(name, value, f"{var}={raw!r}")


def _env(name: str, default: Any) -> Any:
    raw = os.environ.get(f"ECOGIS_{name.upper()}")
    if raw is None:
        return default
    try:
        return _parse_env(name, raw)
    except SettingsError as exc:
        return _Bad(exc, default)


@dataclass(frozen=True)
class _Bad:
    """A setting whose environment variable is invalid: raises when the setting is used."""

    error: SettingsError
    default: Any


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
    #: Threads for the exact overlaps of a screen (0: every core; negative refused).  The Dask engine uses one
    #: per partition.
    threads: int = field(default_factory=lambda: _env("threads", 0))
    #: Show progress bars on long work.
    progress: bool = field(default_factory=lambda: _env("progress", True))
    #: Default report language: ``zh`` or ``en``.
    lang: str = field(default_factory=lambda: _env("lang", "zh"))
    #: Keep checked rule files in :attr:`cache_dir` (JSON, keyed by their bytes; see :mod:`ecogis.cache`).
    cache: bool = field(default_factory=lambda: _env("cache", True))
    #: Folder of that cache (``ECOGIS_CACHE_DIR``; default ``$XDG_CACHE_HOME/ecogis`` or ``~/.cache/ecogis``).
    cache_dir: Path = field(default_factory=lambda: _env("cache_dir", _default_cache_dir()))

    def __setattr__(self, name: str, value: Any) -> None:
        if name not in _RULES:
            near = ", ".join(sorted(_RULES))
            raise AttributeError(f"ecogis.settings has no setting {name!r} (settings: {near})")
        if not isinstance(value, _Bad):
            value = _check(name, value, f"ecogis.settings.{name}")
        object.__setattr__(self, name, value)

    def __getattribute__(self, name: str) -> Any:
        value = object.__getattribute__(self, name)
        if isinstance(value, _Bad):
            raise value.error
        return value

    def check_env(self) -> None:
        """Raise the first :class:`SettingsError` of an invalid ``ECOGIS_*`` variable, if any."""
        for f in fields(self):
            value = object.__getattribute__(self, f.name)
            if isinstance(value, _Bad):
                raise value.error

    def reset(self, name: str | None = None) -> None:
        """Back to the default (and ``ECOGIS_*``) value of ``name``, or of every setting."""
        fresh = Settings()
        for f in fields(self):
            if name is None or f.name == name:
                object.__setattr__(self, f.name, object.__getattribute__(fresh, f.name))


settings = Settings()
