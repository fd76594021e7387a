"""Recent screening results of this server process, by everything that decides them.

The same input screened again against the same data and rules gives the same
result; a server answering many such requests (an office re-screening the
same file, another system calling the API again) need not run the engine
again.  The key is exact: the bytes of every input (SHA-256) and the names
they were saved under (their format), the overrides, the language, the
workspace's layer and table versions (:func:`ecogis.workspace.cache.metadata_key`
through the view), the rule files' stamps (:func:`ecogis.rules.load.rules_key`,
the same in every process) and the day (rules come into force by date).  A
hit is an :class:`~ecogis.serve.runner.Outcome` renewed with a new
``generated_at``; each screening is still recorded on its own.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections import OrderedDict
from typing import Any

_RULES_LOCK = threading.Lock()
_RULES: list[Any] = [None, 0.0, None]  # the rule set last seen, when its files were last checked, and its key
#: Seconds between two checks of the rule files' stamps (each check stats every rule, taxonomy and schema file).
RULES_CHECK_S = 1.0


def current_rules() -> Any:
    """The rule set ``ecogis.screen`` uses without ``rules`` (the loader's cached object, renewed when a file changes).

    Loaded by one thread at a time: requests arriving together at start-up wait for one load instead of
    each loading the rules; the files are checked at most every :data:`RULES_CHECK_S` seconds, so an
    edited rule file is seen within that time.
    """
    return current_rules_keyed()[0]


def current_rules_keyed() -> tuple[Any, tuple | None]:
    """:func:`current_rules` and its :func:`~ecogis.rules.load.rules_key` (what the result memo keys on)."""
    from ecogis.rules import load_rules
    from ecogis.rules.load import rules_key

    with _RULES_LOCK:
        now = time.monotonic()
        if _RULES[0] is None or now - _RULES[1] >= RULES_CHECK_S:
            while True:  # the key read before and after the load: a file edited meanwhile is loaded again
                key = rules_key(None, check_cases=False)
                rules = load_rules(None, check_cases=False)
                if key is None or rules_key(None, check_cases=False) == key:
                    break
            _RULES[:] = [rules, now, key]
        return _RULES[0], _RULES[2]


class ResultMemo:
    """A bounded, thread-safe map from a screening's key to its :class:`~ecogis.serve.runner.Outcome`.

    Parameters
    ----------
    size:
        Entries kept (least recently used dropped first); 0 keeps none.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = int(size)
        self._d: OrderedDict[tuple, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._running: dict[tuple, threading.Event] = {}
        self.hits = self.misses = 0

    def claim(self, key: tuple) -> threading.Event | None:
        """``None`` if the caller is to screen ``key`` (then :meth:`release` it); else an event set when the
        screening already running for ``key`` has ended (its result is then remembered, unless it failed)."""
        with self._lock:
            ev = self._running.get(key)
            if ev is not None:
                return ev
            self._running[key] = threading.Event()
            return None

    def release(self, key: tuple) -> None:
        with self._lock:
            ev = self._running.pop(key, None)
        if ev is not None:
            ev.set()

    def key(self, saved: list, overrides: dict[str, Any], lang: str, view: Any) -> tuple[tuple, Any] | None:
        """The key of screening ``saved`` on ``view`` (``None`` when it cannot be known exactly), and the rules."""
        if self.size <= 0:
            return None
        snap = getattr(view, "_snap", None)
        if snap is None:  # not an in-memory view: the data version is not known here
            return None
        rules, rkey = current_rules_keyed()
        if rkey is None:
            return None
        k = (tuple((s.sha256, s.path.name) for s in saved), json.dumps(overrides, sort_keys=True, default=str), lang,
             snap.key, rkey, dt.date.today().isoformat())
        return k, rules

    @staticmethod
    def made_for(key: tuple, outcome: Any) -> bool:
        """Whether ``outcome`` was screened on the data and rules ``key`` names (a screening in another
        process reads its own view, which an import may have renewed meanwhile)."""
        return outcome.view_key == key[3] and outcome.rules_key == key[4]

    def get(self, key: tuple) -> Any | None:
        """The remembered :class:`~ecogis.serve.runner.Outcome` for ``key``, renewed now, or ``None``."""
        with self._lock:
            e = self._d.get(key)
            if e is None:
                self.misses += 1
                return None
            self._d.move_to_end(key)
            self.hits += 1
        return e.renewed(dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

    def put(self, key: tuple, outcome: Any) -> None:
        """Remember ``outcome`` (without the files it may have written, which belong to its own record)."""
        if self.size <= 0:
            return
        e = outcome.kept()
        with self._lock:
            self._d[key] = e
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)
