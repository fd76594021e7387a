"""Small file helpers: atomic writes, checksums, size limits."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from pathlib import Path
from typing import Iterator

from ecogis.errors import InputError, LimitError
from ecogis.settings import settings


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it into place on success.

    The temporary file lives in the same folder, so the final ``os.replace``
    is atomic.  If the body raises, the temporary file is removed and the
    target is left as it was::

        with atomic_path("out/report.html") as tmp:
            tmp.write_text(html, encoding="utf-8")
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    sfx = suffix if suffix is not None else "".join(target.suffixes[-1:])
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{sfx}", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    # Writers such as GDAL's refuse to open an existing empty file for some
    # formats; give them a free name.
    tmp.unlink()
    try:
        yield tmp
        if not tmp.exists():
            raise InputError("the writer produced no file", path=target)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def write_text_atomic(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def check_input_file(path: str | os.PathLike) -> Path:
    """Check that ``path`` is an existing, non-empty regular file within the size limit."""
    p = Path(path)
    if not p.exists():
        raise InputError("file not found", path=p)
    if p.is_dir():
        raise InputError("is a folder, not a file", path=p)
    size = p.stat().st_size
    if size == 0:
        raise InputError("file is empty (0 bytes)", path=p)
    limit = settings.max_file_mb * 1024 * 1024
    if size > limit:
        shown = f"{size / 2**20:.0f} MiB" if size >= 2**20 else f"{size:,} bytes"
        raise LimitError(
            f"file is {shown}, over the {settings.max_file_mb} MiB limit",
            path=p,
            hint="raise it with ECOGIS_MAX_FILE_MB or ecogis.settings.max_file_mb",
        )
    return p
