"""Run the aggregator's ingest as its own process for crash tests.

Environment: CAMWATCH_TEST_DB, CAMWATCH_TEST_BROKER_PORT, CAMWATCH_TEST_SITES (comma list),
CAMWATCH_TEST_KILL_AT ("committed" / "received": SIGKILL this process at that stage of the
first batch that carries events), CAMWATCH_TEST_CLIENT_ID.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
from pathlib import Path

from aggregator.ingest.consumer import Ingest, IngestSettings
from tests.clock import follow_parent_clock
from tests.rig.signals import SignalFlag
from tests.rig.transport import open_centre


def main() -> int:
    follow_parent_clock()
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s %(message)s")
    db_path = Path(os.environ["CAMWATCH_TEST_DB"])
    sites = [s for s in os.environ.get("CAMWATCH_TEST_SITES", "").split(",") if s]
    kill_at = os.environ.get("CAMWATCH_TEST_KILL_AT", "")
    db, store = open_centre(db_path, sites)
    batches_with_events = 0

    real_apply = store.apply

    def apply(items):  # type: ignore[no-untyped-def]
        nonlocal batches_with_events
        if any(type(i.message).__name__ == "Events" for i in items):
            batches_with_events += 1
            if kill_at == "received" and batches_with_events == 1:
                print("KILLING at received", flush=True)
                os.kill(os.getpid(), signal.SIGKILL)
        return real_apply(items)

    store.apply = apply  # type: ignore[method-assign]

    def stage(name: str) -> None:
        if kill_at == "committed" and name == "committed" and batches_with_events == 1:
            print("KILLING at committed", flush=True)
            os.kill(os.getpid(), signal.SIGKILL)

    settings = IngestSettings(
        url=f"mqtt://127.0.0.1:{int(os.environ['CAMWATCH_TEST_BROKER_PORT'])}",
        username=None,
        reorder_window_s=1.0,
        rebirth_min_interval_s=1.0,
        client_id=os.environ.get("CAMWATCH_TEST_CLIENT_ID", "camwatch-aggregator"),
    )
    ingest = Ingest(settings, db, store, stage_hook=stage)
    done = SignalFlag()  # never a threading.Event in a handler: it can deadlock
    signal.signal(signal.SIGTERM, done.set)
    ingest.start()
    print("INGEST STARTED", flush=True)
    if ingest.wait_ready(30):
        print("INGEST READY", flush=True)
    done.wait()
    ingest.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
