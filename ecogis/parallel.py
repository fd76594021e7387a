"""Threads for the vectorised hot paths.

shapely 2 and NumPy release the GIL inside their array functions, so cutting
an array into chunks and running them on a thread pool uses every core
without copying data between processes.  Only work whose chunks share no
mutable state may run this way (see :mod:`ecogis.screening.pairs` for why
prepared geometries need care).
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

#: Name prefix of every pool thread ecogis starts.
POOL_PREFIX = "ecogis"
T = TypeVar("T")
R = TypeVar("R")


def thread_count(threads: int | None = None) -> int:
    """Threads to use: ``threads`` if positive, else ``settings.threads``, else every core (0); negative refused."""
    from ecogis.settings import settings

    n = threads if threads is not None else settings.threads
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        from ecogis.settings import SettingsError

        raise SettingsError(f"threads must be 0 (every core) or a whole number above 0, not {n!r}",
                            where="threads")
    if not n:
        n = os.cpu_count() or 1
    return int(n)


def in_pool() -> bool:
    """Whether this code already runs on one of ecogis's pool threads (then it must not start another pool)."""
    return threading.current_thread().name.startswith(POOL_PREFIX)


def thread_map(func: Callable[[T], R], chunks: Iterable[T], threads: int, name: str = "") -> list[R]:
    """``[func(c) for c in chunks]`` on a pool of ``threads`` threads, in order.

    Called from a pool thread it runs in that thread: pools never nest.
    """
    if threads <= 1 or in_pool():
        return [func(c) for c in chunks]
    with ThreadPoolExecutor(threads, thread_name_prefix=f"{POOL_PREFIX}-{name}") as pool:
        return list(pool.map(func, chunks))
