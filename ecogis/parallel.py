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


def in_background(func: Callable[[], R]):
    """Start ``func()`` on a thread of its own; return a handle whose ``result()`` waits and gives its value (or
    raises its error).  Runs in place when one thread is configured or on a pool thread (no nesting).

    For work that waits on I/O or C code without the GIL (GDAL reading a file) while the caller does other
    work; the thread is not a pool thread, so ``func`` may use :func:`thread_map` itself.
    """
    if thread_count() <= 1 or in_pool():
        return _Done(func)
    from concurrent.futures import Future

    fut: Future = Future()

    def run() -> None:
        try:
            fut.set_result(func())
        except BaseException as exc:  # noqa: BLE001 - raised again by result()
            fut.set_exception(exc)

    threading.Thread(target=run, name="background", daemon=True).start()  # not a pool thread's name
    return fut


def forked(func: Callable[[], R]):
    """Start ``func()`` in a forked child process; return a handle whose ``result()`` waits and gives its value.

    The child shares the parent's memory copy-on-write, so large results are
    not pickled on the way in; only ``func``'s (small) return value comes
    back, through a pipe.  An exception in the child is raised again by
    ``result()`` (as the same class where it pickles, with its message).
    Where ``fork`` is not available (Windows), or when called from any
    thread but the main one (a server's request threads, a pool thread),
    ``func`` runs at once in this process and ``result()`` gives its value.
    """
    import multiprocessing as mp

    # only from the main thread of a program (the CLI): a server's request threads run it in place, so no
    # process is forked while other threads may hold locks the child would need
    if (not hasattr(os, "fork") or in_pool() or "fork" not in mp.get_all_start_methods()
            or threading.current_thread() is not threading.main_thread()):
        return _Done(func)
    ctx = mp.get_context("fork")
    recv, send = ctx.Pipe(duplex=False)

    def child() -> None:
        try:
            send.send(("ok", func()))
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the parent
            import pickle

            try:
                pickle.loads(pickle.dumps(exc))  # it must come back whole, or as its text
                send.send(("error", exc))
            except Exception:  # noqa: BLE001 - an exception that does not pickle
                send.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        finally:
            send.close()

    proc = ctx.Process(target=child, daemon=True)
    proc.start()
    send.close()
    return _Forked(proc, recv)


class _Done:
    def __init__(self, func: Callable[[], R]) -> None:
        try:
            self._value, self._error = func(), None
        except BaseException as exc:  # noqa: BLE001 - raised again by result()
            self._value, self._error = None, exc

    def result(self):
        if self._error is not None:
            raise self._error
        return self._value

    def cancel(self) -> None: ...


class _Forked:
    def __init__(self, proc, conn) -> None:
        self._proc, self._conn = proc, conn

    def result(self):
        try:
            status, value = self._conn.recv()
        except EOFError:
            self._proc.join()
            raise RuntimeError(f"the writer process ended without a result (exit code {self._proc.exitcode})") from None
        finally:
            self._conn.close()
        self._proc.join()
        if status == "error":
            raise value
        return value

    def cancel(self) -> None:
        """Stop the child (after an error in the parent) and wait for it."""
        if self._proc.is_alive():
            self._proc.terminate()
        self._proc.join()
        self._conn.close()
