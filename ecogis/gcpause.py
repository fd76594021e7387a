"""Fewer garbage collections while tables of many rows are built (screening, writing the outputs).

CPython collects after every 700 net new container objects (``gc.get_threshold()``), and every tenth and
hundredth collection walks every tracked object.  Screening 40,000 sites makes millions of short-lived
containers (pandas', pyarrow's and shapely's small objects), so the collector walks the whole heap again and
again although nothing of it is garbage: about 0.3 s of CPU at 40,000 sites.  In the process forked to write
``findings.json`` and the report, that walk also writes to every object's header, so each page holding a Python
object of the parent is copied.

:func:`bulk_work` freezes what exists when it starts (``gc.freeze``: the collector leaves those objects alone;
they are still freed when their last reference goes) and raises the first threshold to 100,000 new objects
while it lasts; leaving the outermost use restores the thresholds and unfreezes.  Reference cycles made meanwhile
are still collected, later.  Nested uses and uses from several threads (a server's requests) share one pause:
counted under a lock, the last to leave ends it.  Objects a program froze itself are left as they are (then
nothing is frozen or unfrozen here), and with the collector disabled nothing is changed.
"""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

#: The first-generation threshold during bulk work (CPython's default is 700).
BULK_THRESHOLD = 100_000

_lock = threading.Lock()
_depth = 0
_saved: tuple[int, ...] | None = None
_froze = False


@contextmanager
def bulk_work() -> Iterator[None]:
    """Run the block with fewer garbage collections (see the module docstring); restored on leaving."""
    global _depth, _saved, _froze
    with _lock:
        _depth += 1
        if _depth == 1 and gc.isenabled():
            _saved = gc.get_threshold()
            _froze = gc.get_freeze_count() == 0
            if _froze:
                gc.freeze()
            first, *rest = _saved
            gc.set_threshold(max(first, BULK_THRESHOLD), *rest)
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _saved is not None:
                gc.set_threshold(*_saved)
                if _froze:
                    gc.unfreeze()
                _saved, _froze = None, False
