"""The downloadable files of a screening, written after the response: when idle, or on first download.

Writing ``report.html``, ``findings.xlsx``, ``conflicts.gpkg`` and
``findings.json`` takes longer than the screening itself, and most
screenings in the browser are only looked at on the page (which reads
``result.json``).  So a screening records itself and answers at once; its
result is kept in memory and in the record's folder (``result.pkl``, written
atomically by the server itself, never from an upload), and

* a background thread writes the files whenever no screening has run for a
  moment (:attr:`LazyFiles.idle_s`), then drops ``result.pkl``;
* a download of a file not yet written writes that one file first (in any
  server process: the stored result is read back if this process does not
  hold it).

The files are the same as an eager write: they come from the same result.
"""

from __future__ import annotations

import pickle
import queue
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Callable

from ecogis.fileutil import write_bytes_atomic

#: Each downloadable file and the output format that writes it.
FILES: dict[str, str] = {"conflicts.gpkg": "gpkg", "findings.json": "json", "findings.xlsx": "xlsx",
                         "report.html": "html"}
STORED = "result.pkl"


class LazyFiles:
    """Pending output files of recent screenings.

    Parameters
    ----------
    busy:
        Returns how many screenings are running now; files are written in the
        background only while it is 0.
    keep:
        Results held in memory at most (older ones are read back from ``result.pkl``).
    """

    idle_s = 0.5

    def __init__(self, busy: Callable[[], int], keep: int = 64) -> None:
        self._busy = busy
        self._keep = keep
        self._mem: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._queue: queue.Queue[tuple[Path, str]] = queue.Queue()
        self._last_busy = time.monotonic()
        self._thread = threading.Thread(target=self._worker, daemon=True, name="ecogis-files")
        self._thread.start()

    # ---------------------------------------------------------------- storing
    def stash(self, folder: Path, pickled: bytes, lang: str, result: Any = None) -> list[str]:
        """Keep the screening of ``folder`` (``pickled``, and ``result`` if this process holds the object) for
        its files; return the file names it will have."""
        write_bytes_atomic(folder / STORED, pickled)
        with self._lock:
            self._mem[str(folder)] = result if result is not None else pickled
            while len(self._mem) > self._keep:
                self._mem.popitem(last=False)
        self._queue.put((folder, lang))
        return sorted(FILES)

    def _result(self, folder: Path) -> Any | None:
        with self._lock:
            got = self._mem.get(str(folder))
        if isinstance(got, bytes):
            got = pickle.loads(got)  # pickled by this server's own engine (stash), never from a request
            with self._lock:
                if str(folder) in self._mem:
                    self._mem[str(folder)] = got
        if got is not None:
            return got
        p = folder / STORED
        if not p.is_file():
            return None
        try:
            return pickle.loads(p.read_bytes())  # written by this server (stash), never from a request
        except (OSError, EOFError, pickle.UnpicklingError):
            return None

    def _folder_lock(self, folder: Path) -> threading.Lock:
        with self._lock:
            return self._locks.setdefault(str(folder), threading.Lock())

    # ---------------------------------------------------------------- writing
    def ensure(self, folder: Path, name: str, lang: str) -> bool:
        """Write ``folder/name`` from the stored result if it is missing; whether it exists now."""
        if (folder / name).is_file():
            return True
        fmt = FILES.get(name)
        if fmt is None:
            return False
        with self._folder_lock(folder):
            if (folder / name).is_file():
                return True
            result = self._result(folder)
            if result is None:
                return (folder / name).is_file()  # another process may have just written it
            result.to_files(folder, formats=(fmt,), lang=lang)
        return (folder / name).is_file()

    def write_all(self, folder: Path, lang: str) -> None:
        """Write every missing file of ``folder`` and drop its stored result."""
        with self._folder_lock(folder):
            missing = [f for n, f in FILES.items() if not (folder / n).is_file()]
            if missing:
                result = self._result(folder)
                if result is None:
                    return
                result.to_files(folder, formats=missing, lang=lang)
            (folder / STORED).unlink(missing_ok=True)
            with self._lock:
                self._mem.pop(str(folder), None)
                self._locks.pop(str(folder), None)

    def pending(self) -> int:
        return self._queue.qsize()

    def _worker(self) -> None:
        while True:
            folder, lang = self._queue.get()
            while True:  # wait for a quiet moment: screenings come first
                if self._busy():
                    self._last_busy = time.monotonic()
                elif time.monotonic() - self._last_busy >= self.idle_s:
                    break
                time.sleep(0.1)
            try:
                self.write_all(folder, lang)
            except Exception:  # noqa: BLE001 - a download writes the file again and reports its error
                pass
            finally:
                self._queue.task_done()
