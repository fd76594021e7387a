"""Uploaded files: one temporary folder per request, limits checked before any parsing.

A file's name from the browser is never used as a path: only its extension
(from a fixed list) is kept, and the file is written as ``upload-<n><ext>``
inside a fresh :func:`tempfile.mkdtemp` folder.  Before a reader sees it:

* its size counts towards the request limit (the body is also capped while
  it streams in, see :class:`~ecogis.serve.app.BodyLimit`);
* an archive (zipped shapefile, KMZ) has at most ``max_members`` members;
* a text format has at most ``max_vertices`` coordinate pairs, estimated
  from the raw text (numbers per line), so a huge geometry is refused
  before it is parsed.  After reading, the exact count is checked again.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import shapely

from ecogis.errors import InputError, LimitError
from ecogis.read import FORMATS

#: Extensions accepted as site files.
SITE_EXTS: tuple[str, ...] = (".txt", ".kml", ".kmz", ".zip", ".geojson", ".json", ".csv")
_NUM = re.compile(rb"-?\d+(?:\.\d+)?")


@dataclass
class Saved:
    """A saved upload: where it is, what it was called, its SHA-256."""

    path: Path
    name: str
    sha256: str


def safe_ext(filename: str, allowed: tuple[str, ...] = SITE_EXTS) -> str:
    ext = Path(filename or "").suffix.lower()
    if ext not in allowed or ext not in FORMATS:
        raise InputError(f"{filename!r}: unsupported file type {ext or '(none)'}",
                         hint="upload 国土TXT (.txt), KML/KMZ, a zipped Shapefile (.zip), GeoJSON or CSV")
    return ext


def display_name(filename: str) -> str:
    """The browser's file name, kept only as text for the record (never as a path)."""
    name = (filename or "upload").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(ch for ch in name if ch.isprintable())[:200] or "upload"


@contextmanager
def request_folder(root: Path) -> Iterator[Path]:
    """A fresh temporary folder under ``root``, removed afterwards."""
    root.mkdir(parents=True, exist_ok=True)
    d = Path(tempfile.mkdtemp(prefix="req-", dir=root))
    try:
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def save(data: bytes, filename: str, folder: Path, n: int) -> Saved:
    ext = safe_ext(filename)
    path = folder / f"upload-{n}{ext}"
    path.write_bytes(data)
    return Saved(path, display_name(filename), hashlib.sha256(data).hexdigest())


def check_members(path: Path, name: str, max_members: int) -> None:
    if path.suffix.lower() not in (".zip", ".kmz"):
        return
    try:
        with zipfile.ZipFile(path) as zf:
            n = len(zf.infolist())
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise InputError(f"not a valid zip archive: {exc}", path=name) from None
    if n > max_members:
        raise LimitError(f"archive has {n} members, over the limit of {max_members}", path=name)


def estimate_vertices(data: bytes, ext: str) -> int:
    """An upper estimate of the coordinate pairs in a text upload (0 for archives)."""
    if ext in (".zip", ".kmz"):
        return 0
    return len(_NUM.findall(data)) // 2


def check_vertices_text(data: bytes, ext: str, name: str, max_vertices: int) -> None:
    n = estimate_vertices(data, ext)
    if n > max_vertices:
        raise LimitError(f"about {n:,} coordinates, over the limit of {max_vertices:,} vertices", path=name)


def check_vertices(geoms, name: str, max_vertices: int) -> None:
    n = int(shapely.get_num_coordinates(geoms).sum())
    if n > max_vertices:
        raise LimitError(f"{n:,} vertices, over the limit of {max_vertices:,}", path=name)
