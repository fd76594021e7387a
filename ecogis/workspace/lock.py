"""One writer at a time: an OS file lock around a workspace's read-modify-write.

A GeoPackage workspace is changed by copying it, changing the copy and
renaming the copy into place (:func:`ecogis.fileutil.atomic_path`), so a
reader always sees a whole version and a killed writer leaves the previous
one.  Two writers at once would each copy the *same* old version and the
second rename would drop the first writer's rows.  :func:`exclusive` takes
an exclusive lock on a sidecar file (``ws.gpkg.lock``) before the writer
reads anything and holds it until the rename is done; other writers wait.

The lock is ``flock`` on POSIX (``msvcrt.locking`` on Windows): the kernel
releases it when the holder dies, even by SIGKILL, so a killed writer never
leaves a stale lock.  It is re-entrant within a process (a ledger update
holds it around its duplicate check and the append it makes).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from pathlib import Path
from typing import Iterator

from ecogis.errors import WorkspaceError

#: How long a writer waits for another one before giving up, in seconds.
WAIT_S = 600.0

_locks: dict[str, threading.RLock] = {}
_depth: dict[str, int] = {}
_guard = threading.Lock()


def lock_path(path: str | os.PathLike) -> Path:
    """The sidecar lock file of a workspace file."""
    p = Path(path)
    return p.with_name(p.name + ".lock")


def _acquire(fd: int, wait_s: float, path: Path) -> None:
    deadline = time.monotonic() + wait_s
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        import msvcrt

        while True:
            try:
                msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
                return
            except OSError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
    else:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.02)
    raise WorkspaceError(f"another ecogis process has been writing for over {wait_s:.0f} s", path=path,
                         hint=f"wait for it to finish; the lock is {lock_path(path).name}")


@contextlib.contextmanager
def exclusive(path: str | os.PathLike, *, wait_s: float = WAIT_S) -> Iterator[None]:
    """Hold the writer lock of the workspace file ``path`` (re-entrant within a thread).

    Threads of one process are serialised by an in-process lock; processes by the file lock.
    """
    p = Path(path)
    key = str(p.resolve())
    with _guard:
        rlock = _locks.setdefault(key, threading.RLock())
    if not rlock.acquire(timeout=wait_s):
        raise WorkspaceError(f"another writer in this process has held the workspace for over {wait_s:.0f} s",
                             path=p)
    try:
        depth = _depth.get(key, 0)
        if depth:
            _depth[key] = depth + 1
            try:
                yield
            finally:
                _depth[key] -= 1
            return
        lp = lock_path(p)
        try:
            lp.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(lp, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            raise WorkspaceError(f"cannot open the writer lock {lp.name}: {exc.strerror}", path=p) from None
        try:
            _acquire(fd, wait_s, p)
            _depth[key] = 1
            try:
                yield
            finally:
                _depth.pop(key, None)
        finally:
            os.close(fd)  # closing the descriptor releases the lock
    finally:
        rlock.release()
