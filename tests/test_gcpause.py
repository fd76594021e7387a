"""ecogis.gcpause: the collector paused for bulk work and restored exactly, nested, threaded, on errors."""

from __future__ import annotations

import gc
import threading

import pytest

from ecogis.gcpause import BULK_THRESHOLD, bulk_work


def test_pause_raises_the_threshold_freezes_and_restores_on_error():
    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    with pytest.raises(RuntimeError):
        with bulk_work():
            assert gc.get_threshold()[0] == max(before[0], BULK_THRESHOLD)
            assert gc.get_threshold()[1:] == before[1:]
            assert gc.get_freeze_count() > frozen
            with bulk_work():  # nested: the outer pause goes on
                pass
            assert gc.get_threshold()[0] == max(before[0], BULK_THRESHOLD) and gc.get_freeze_count() > frozen
            raise RuntimeError("boom")
    assert gc.get_threshold() == before and gc.get_freeze_count() == frozen


def test_cycles_made_during_the_pause_are_still_collected():
    class Node:
        pass

    with bulk_work():
        a, b = Node(), Node()
        a.other, b.other = b, a
        alive = [id(a)]
        del a, b
    gc.collect()
    assert not any(id(o) in alive for o in gc.get_objects() if isinstance(o, Node))


def test_objects_a_program_froze_itself_stay_frozen_and_a_disabled_collector_is_left_alone():
    gc.freeze()
    try:
        n = gc.get_freeze_count()
        with bulk_work():
            assert gc.get_freeze_count() == n
        assert gc.get_freeze_count() == n
    finally:
        gc.unfreeze()
    before = gc.get_threshold()
    gc.disable()
    try:
        with bulk_work():
            assert gc.get_threshold() == before and not gc.isenabled()
    finally:
        gc.enable()


def test_threads_share_one_pause_and_the_last_to_leave_ends_it():
    before = gc.get_threshold()
    inside, leave = threading.Barrier(3), threading.Event()
    seen = []

    def work():
        with bulk_work():
            inside.wait()
            leave.wait()
        seen.append(gc.get_threshold()[0])

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()
    assert gc.get_threshold()[0] == max(before[0], BULK_THRESHOLD)
    leave.set()
    for t in threads:
        t.join()
    assert gc.get_threshold() == before and len(seen) == 2
