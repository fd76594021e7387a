"""ecogis: ecological spatial planning toolkit for China."""

from __future__ import annotations

__version__ = "0.1.0"

from ecogis.errors import EcogisError  # noqa: E402
from ecogis.settings import settings  # noqa: E402



#: Names loaded on first use (PEP 562): the real objects, with their signatures and docstrings.
_LAZY = {"screen": "ecogis.screening.engine", "ScreenResult": "ecogis.screening.result"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'ecogis' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


def read_file(path, **kwargs):
    """Read any supported vector file: see :func:`ecogis.read.read_file`."""
    from ecogis.read import read_file as _read_file

    return _read_file(path, **kwargs)


def load_layer(path, kind, **kwargs):
    """Read and normalise a layer of ``kind``: see :func:`ecogis.layers.load_layer`."""
    from ecogis.layers import load_layer as _load_layer

    return _load_layer(path, kind, **kwargs)


def read_findings(path):
    """Read ``findings.json`` / ``.jsonl`` as ``ScreenResult.to_document()``: see
    :func:`ecogis.render.findings_json.read_findings`."""
    from ecogis.render.findings_json import read_findings as _read

    return _read(path)


def open_workspace(uri, **kwargs):
    """Open a workspace: see :func:`ecogis.workspace.open_workspace`."""
    from ecogis.workspace import open_workspace as _open

    return _open(uri, **kwargs)


__all__ = ["EcogisError", "settings", "__version__", "screen", "ScreenResult", "read_file", "load_layer",
           "open_workspace", "read_findings"]
