"""Recent screening results of this server process, by everything that decides them.

The same input screened again against the same data and rules gives the same
result; a server answering many such requests (an office re-screening the
same file, another system calling the API again) need not run the engine
again.  The key is exact: the bytes of every input (SHA-256) and the names
they were saved under (their format), the overrides, the language, the
workspace's layer and table versions (:func:`ecogis.workspace.cache.metadata_key`
through the view), the rule set in use (the rule loader's own cached object,
which is renewed whenever a rule, taxonomy or schema file changes) and the
day (rules come into force by date).  A hit is a copy with a new
``generated_at``; each screening is still recorded on its own.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from ecogis.notes import Notes


@dataclass
class Entry:
    """One remembered screening: the result, its document and its map."""

    result: Any
    doc: dict[str, Any]
    map_text: str
    rules: Any  # held so its identity stays meaningful while the entry lives


_RULES_LOCK = threading.Lock()
_RULES: list[Any] = [None, 0.0]  # the rule set last seen, and when its files were last checked
#: Seconds between two checks of the rule files' stamps (each check stats every rule, taxonomy and schema file).
RULES_CHECK_S = 1.0


def current_rules() -> Any:
    """The rule set ``ecogis.screen`` uses without ``rules`` (the loader's cached object, renewed when a file changes).

    Loaded by one thread at a time: requests arriving together at start-up wait for one load instead of
    each parsing every rule file (and each getting a rule set of its own).  The files are checked again
    at most every :data:`RULES_CHECK_S` seconds, so an edited rule file is seen within that time.
    """
    from ecogis.rules import load_rules

    with _RULES_LOCK:
        now = time.monotonic()
        if _RULES[0] is None or now - _RULES[1] >= RULES_CHECK_S:
            _RULES[0], _RULES[1] = load_rules(None, check_cases=False), now
        return _RULES[0]


def _fresh(result: Any, generated_at: str) -> Any:
    """A copy of ``result`` that shares no mutable table or dict with it, stamped ``generated_at``."""
    out = copy.copy(result)
    out.meta = {**result.meta, "generated_at": generated_at}
    out.notes = Notes(result.notes)
    out.sites = result.sites.copy()
    out.findings = result.findings.copy()
    out.not_evaluated = result.not_evaluated.copy()
    out.context = dict(result.context)
    if hasattr(result, "accesslist") and hasattr(result.accesslist, "copy"):
        out.accesslist = result.accesslist.copy()
    out._by_site = None
    return out


class ResultMemo:
    """A bounded, thread-safe map from a screening's key to its :class:`Entry`.

    Parameters
    ----------
    size:
        Entries kept (least recently used dropped first); 0 keeps none.
    """

    def __init__(self, size: int = 256) -> None:
        self.size = int(size)
        self._d: OrderedDict[tuple, Entry] = OrderedDict()
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
        rules = current_rules()
        k = (tuple((s.sha256, s.path.name) for s in saved), json.dumps(overrides, sort_keys=True, default=str), lang,
             snap.key, id(rules), dt.date.today().isoformat())
        return k, rules

    def get(self, key: tuple, rules: Any) -> tuple[Any, dict[str, Any], str] | None:
        """A fresh copy of the remembered result, its document and map for ``key``, or ``None``."""
        with self._lock:
            e = self._d.get(key)
            if e is None or e.rules is not rules:
                self.misses += 1
                return None
            self._d.move_to_end(key)
            self.hits += 1
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        doc = {**e.doc, "meta": {**e.doc["meta"], "generated_at": now}}
        return _fresh(e.result, now), doc, e.map_text

    def put(self, key: tuple, rules: Any, result: Any, doc: dict[str, Any], map_text: str) -> None:
        if self.size <= 0:
            return
        e = Entry(_fresh(result, result.meta.get("generated_at", "")), doc, map_text, rules)  # doc: never changed
        with self._lock:
            self._d[key] = e
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)
