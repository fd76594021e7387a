"""The server's screening processes: one queue of screenings, served by a process per core.

Screening is CPU-bound Python, so one process uses one core however many
threads it runs.  The web server is one process (uvicorn: HTTP, sessions,
uploads, records); each screening it receives goes onto one queue that
:data:`processes` screening processes take from, whichever is free first.
Twenty reviewers on two cores thus share both cores evenly: with a process
per connection group instead (several HTTP workers, each screening its own
requests), the kernel's spread of connections left one worker with 13 users
and the other with 7, and the first worker's users waited half as long
again (``benchmarks/SERVE.md``).

Each screening process opens the workspace itself and keeps its layers in
memory (:class:`~ecogis.workspace.cache.LayerCache`, renewed when an import
changes them) and the rules (:func:`~ecogis.serve.cache.current_rules`); it
returns an :class:`~ecogis.serve.runner.Outcome`: the pickled result, its
document and map, which the web server records.  A screening process that
dies (a crash in a native library, say) fails only the screenings it held;
the pool is started again and those screenings are tried once more, so the
server stays up.  Screening processes end with the server, even when it is
killed outright.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import os
import sys
import threading
import time
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from ecogis.errors import EcogisError

_STATE: dict[str, Any] = {}


class EngineError(EcogisError):
    """A screening process ended while it screened (the server has started a new one)."""


def exit_with_parent(parent: int, every_s: float = 0.5) -> None:
    """End this process when its parent, process ``parent``, is gone (even killed by SIGKILL; also when it
    was gone before this process got here)."""
    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(0)
            time.sleep(every_s)
    threading.Thread(target=watch, daemon=True, name="ecogis-parent-watch").start()


def _init(cfg: Any, parent: int) -> None:
    """Start a screening process: the workspace opened, the rules and every layer loaded into memory."""
    from ecogis.serve.cache import current_rules
    from ecogis.serve.wscache import open_cached
    from ecogis.workspace.cache import LayerCache

    exit_with_parent(parent)
    _plain_strings()
    _STATE["cfg"] = cfg
    _STATE["layers"] = layers = LayerCache(open_cached(cfg.workspace))
    try:
        current_rules()
        view = layers.view()
        for kind in view.kinds():
            view.count(kind)
    except Exception:  # noqa: BLE001 - the first screening loads (and reports) what failed here
        pass


def _plain_strings() -> None:
    """Text columns as Python strings in this process (pandas 2's behaviour) rather than pandas 3's Arrow strings.

    A single-site screening makes hundreds of tiny frames, and each Arrow-backed text column costs a
    conversion on every ``take``, comparison and ``to_numpy``: the same screening takes 44 ms instead of
    62 ms of CPU with plain strings (``benchmarks/SERVE.md``).  The results are the same (the test suite
    passes either way; ``tests/test_serve_workers.py`` compares the files); where pandas no longer has
    the option, nothing changes.
    """
    import warnings

    import pandas as pd

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pd.set_option("future.infer_string", False)
    except (KeyError, pd.errors.OptionError):
        pass


def _warm() -> int:
    return os.getpid()


def _screen(saved: list, overrides: dict[str, Any], lang: str, files_to: str | None) -> Any:
    """One screening in a screening process (see :func:`ecogis.serve.runner.screen_outcome`)."""
    from ecogis.serve.cache import current_rules_keyed
    from ecogis.serve.runner import screen_outcome

    rules, rkey = current_rules_keyed()
    return screen_outcome(_STATE["cfg"], _STATE["layers"].view(), saved, overrides, lang, bundled=rules,
                          rules_key=rkey, files_to=Path(files_to) if files_to else None)


class EnginePool:
    """``processes`` screening processes for the server configured by ``cfg``.

    :meth:`run` screens (blocking the calling thread, not the others); :meth:`close` ends the processes.
    """

    def __init__(self, cfg: Any, processes: int) -> None:
        self.cfg = cfg
        self.processes = max(1, int(processes))
        self._lock = threading.Lock()
        self._pool: cf.ProcessPoolExecutor | None = None
        self.restarts = 0
        self._start()

    def _start(self) -> cf.ProcessPoolExecutor:
        pool = cf.ProcessPoolExecutor(self.processes, mp_context=mp.get_context("spawn"), initializer=_init,
                                      initargs=(self.cfg, os.getpid()))
        for _ in range(self.processes):  # start (and warm) every process now, not on the first screenings
            pool.submit(_warm)
        self._pool = pool
        return pool

    def _current(self) -> cf.ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                raise EngineError("the server is stopping")
            return self._pool

    def _renew(self, broken: cf.ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is broken:  # the first thread to see it broken starts a new pool
                broken.shutdown(wait=False, cancel_futures=True)
                self.restarts += 1
                print(f"ecogis serve: a screening process ended; starting the screening processes again "
                      f"({self.restarts} so far)", file=sys.stderr)
                self._start()

    def run(self, saved: list, overrides: dict[str, Any], lang: str, *, files_to: Path | None = None) -> Any:
        """Screen ``saved`` in a screening process; its :class:`~ecogis.serve.runner.Outcome`.

        Errors in the input come back as they were raised (:class:`~ecogis.errors.EcogisError`).  If the
        process dies, the screening is tried once more on a new pool, then :class:`EngineError`.
        """
        for attempt in (1, 2):
            pool = self._current()
            try:
                return pool.submit(_screen, saved, overrides, lang, str(files_to) if files_to else None).result()
            except BrokenProcessPool:
                self._renew(pool)
                if attempt == 2:
                    raise EngineError("the screening process ended while screening this input",
                                      hint="the server has started a new one; if it happens again with the same "
                                           "file, report the file") from None
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


__all__ = ["EngineError", "EnginePool", "exit_with_parent"]
