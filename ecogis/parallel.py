"""Threads for the vectorised hot paths.

shapely 2 and NumPy release the GIL inside their array functions, so cutting
an array into chunks and running them on a thread pool uses every core
without copying data between processes.  Only work whose chunks share no
mutable state may run this way (see :mod:`ecogis.screening.pairs` for why
prepared geometries need care).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")
R = TypeVar("R")


def thread_count(threads: int | None = None) -> int:
    """Threads to use: ``threads`` if positive, else ``settings.threads``, else every core."""
    from ecogis.settings import settings

    n = threads if threads is not None else settings.threads
    if not n or n < 1:
        n = os.cpu_count() or 1
    return int(n)


def thread_map(func: Callable[[T], R], chunks: Iterable[T], threads: int, name: str = "ecogis") -> list[R]:
    """``[func(c) for c in chunks]`` on a pool of ``threads`` threads, in order."""
    with ThreadPoolExecutor(max(1, threads), thread_name_prefix=name) as pool:
        return list(pool.map(func, chunks))
