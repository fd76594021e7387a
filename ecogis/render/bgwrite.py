"""Write blocks to a file in a second thread while the caller builds the next block (the writers' I/O overlap)."""

from __future__ import annotations

from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any


class BackgroundWriter:
    """``write`` hands a block to a worker thread and returns; blocks are written in order, one at a time.

    Building a block (Arrow kernels) and writing one (deflate, CRC, the system call) both release the
    GIL, so the two overlap on a second core.  An error of a write is raised by the next ``write`` or
    by ``close``; a block stays alive until it is written.
    """

    def __init__(self, fh: Any) -> None:
        self.fh = fh
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecogis-write")
        self._last: Future | None = None

    def write(self, data: Any) -> None:
        if self._last is not None:
            self._last.result()
        self._last = self._pool.submit(self.fh.write, data)

    def close(self) -> None:
        try:
            if self._last is not None:
                self._last.result()
        finally:
            self._last = None
            self._pool.shutdown(wait=True)

    def __enter__(self) -> "BackgroundWriter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
