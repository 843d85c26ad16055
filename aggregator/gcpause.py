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
the collector on again (:func:`wait_collecting`). Only the ingest writer pauses; when the
collector is already off (someone else turned it off) it is left exactly as it is.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["collector_paused", "wait_collecting"]

_paused = False  # whether a pause of this module has the collector off right now


@contextmanager
def collector_paused() -> Iterator[None]:
    """Run the block with automatic collection off; restore it even if the block raises."""
    global _paused
    if _paused or not gc.isenabled():
        yield
        return
    gc.disable()
    _paused = True
    try:
        yield
    finally:
        _paused = False
        gc.enable()


def wait_collecting(event: threading.Event, timeout: float) -> bool:
    """``event.wait(timeout)``, with the collector on while waiting if a pause turned it off."""
    if not (_paused and not gc.isenabled()):
        return event.wait(timeout)
    gc.enable()
    try:
        return event.wait(timeout)
    finally:
        gc.disable()
