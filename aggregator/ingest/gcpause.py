"""Pause Python's cyclic garbage collector while ingest works through one batch.

Why: one ingest batch decodes into tens of thousands of container objects (a model, a dict
and a datetime per event) that all live until the batch is committed and acknowledged, and
die right after. Left alone, the collector runs every 700 allocations, walks the live batch
again and again and promotes it into the older generations, whose full passes then walk
everything the process holds (the store's state of every camera). In bench/ingest_bench.py
that was about half of the writer's CPU, growing with the batch size. Paused, the batch is
freed by reference counting when it dies, and the next collection finds little to do.

The collector must never stay off for long: a pause covers CPU-bound work that ends by
itself, and every wait inside it (the writer backing off while the store is down) runs with
the collector on again (:func:`wait_collecting`). When the collector is already off (someone
else turned it off, or another thread's pause) it is left exactly as it is.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused", "wait_collecting"]

# The thread whose pause turned the collector off, if any. Only that thread turns it back
# on: two ingests in one process (tests) must never leave it off for good.
_lock = threading.Lock()
_holder: int | None = None


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with automatic collection off; restore it even if the block raises."""
    global _holder
    with _lock:
        mine = _holder is None and gc.isenabled()
        if mine:
            gc.disable()
            _holder = threading.get_ident()
    try:
        yield
    finally:
        if mine:
            with _lock:
                _holder = None
                gc.enable()


def wait_collecting(event: threading.Event, timeout: float) -> bool:
    """``event.wait(timeout)``, with the collector on while waiting if this thread's pause turned it off."""
    with _lock:
        mine = _holder == threading.get_ident() and not gc.isenabled()
        if mine:
            gc.enable()
    try:
        return event.wait(timeout)
    finally:
        if mine:
            with _lock:
                gc.disable()
