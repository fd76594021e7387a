"""A gate that lets at most ``n`` screenings run at once and the others in, in the order they came."""

from __future__ import annotations

import threading
from collections import deque


class FairGate:
    """A counting semaphore without barging: a freed place goes to the longest waiter, never to a newcomer.

    ``threading.Semaphore`` wakes a waiter on release, but a thread arriving meanwhile may take the place
    first, again and again; under a steady load some requests then wait many times longer than the rest
    (the latency tail of a server answering many users).  Here a freed place is handed to the first
    waiter directly.  Use as a context manager.
    """

    def __init__(self, n: int) -> None:
        if n < 1:
            raise ValueError("a gate needs at least one place")
        self._free = int(n)
        self._lock = threading.Lock()
        self._waiting: deque[threading.Event] = deque()

    def acquire(self) -> None:
        with self._lock:
            if self._free and not self._waiting:
                self._free -= 1
                return
            turn = threading.Event()
            self._waiting.append(turn)
        turn.wait()  # set by release() when this waiter is first: the place is already ours

    def release(self) -> None:
        with self._lock:
            if self._waiting:
                self._waiting.popleft().set()
            else:
                self._free += 1

    def waiting(self) -> int:
        """How many callers wait for a place."""
        with self._lock:
            return len(self._waiting)

    def __enter__(self) -> "FairGate":
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
