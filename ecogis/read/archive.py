"""Safe access to zip archives (zipped shapefiles, KMZ).

Members are read without extraction.  Every member path is checked (no
absolute paths, no ``..``), and the member count and total expanded size are
capped (``settings.max_archive_members`` / ``settings.max_archive_mb``).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path, PurePosixPath

from ecogis.errors import FormatError, LimitError
from ecogis.settings import settings


def open_zip(path: str | Path) -> zipfile.ZipFile:
    """Open and check ``path``; raise a clear error for anything unsafe or broken."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise FormatError(f"not a valid zip archive: {exc}", path=path) from None
    infos = zf.infolist()
    if len(infos) > settings.max_archive_members:
        zf.close()
        raise LimitError(
            f"archive has {len(infos)} members, over the limit of {settings.max_archive_members}",
            path=path,
            hint="raise it with ECOGIS_MAX_ARCHIVE_MEMBERS",
        )
    total = 0
    for info in infos:
        name = info.filename
        pure = PurePosixPath(name.replace("\\", "/"))
        if pure.is_absolute() or ".." in pure.parts or (len(name) > 1 and name[1] == ":"):
            zf.close()
            raise FormatError(f"archive member path {name!r} climbs out of the archive", path=path, where=name)
        total += info.file_size
    limit = settings.max_archive_mb * 2**20
    if total > limit:
        zf.close()
        raise LimitError(
            f"archive expands to {total / 2**20:.0f} MiB, over the limit of {settings.max_archive_mb} MiB",
            path=path,
            hint="raise it with ECOGIS_MAX_ARCHIVE_MB",
        )
    return zf


def read_member(zf: zipfile.ZipFile, name: str, *, path=None) -> bytes:
    """Read one member, refusing more bytes than its header declared (a lying header is a bomb)."""
    info = zf.getinfo(name)
    limit = settings.max_archive_mb * 2**20
    try:
        with zf.open(info) as fh:
            data = fh.read(min(info.file_size, limit) + 1)
    except zipfile.BadZipFile as exc:
        # zipfile stops at the declared size and then checks the CRC: a member
        # that inflates to more than its header says ends here.
        raise LimitError(
            f"archive member {name!r} does not match its declared size and checksum ({exc}); "
            "a corrupt archive or a zip bomb", path=path, where=name,
        ) from None
    except (zlib.error, EOFError, NotImplementedError, RuntimeError, OSError) as exc:
        raise FormatError(f"archive member {name!r} cannot be read: {exc}", path=path, where=name) from None
    if len(data) > info.file_size or len(data) > limit:
        raise LimitError(f"archive member {name!r} expands beyond its declared size", path=path, where=name)
    return data


def members_with_suffix(zf: zipfile.ZipFile, suffix: str) -> list[str]:
    """Member names ending in ``suffix`` (case-insensitive), skipping macOS resource forks."""
    return [
        n for n in zf.namelist()
        if n.lower().endswith(suffix) and not n.startswith("__MACOSX/") and not PurePosixPath(n).name.startswith("._")
    ]
