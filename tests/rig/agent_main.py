"""Run one agent (outbox + publisher) as its own process, recording changes until killed.

Environment: CAMWATCH_TEST_OUTBOX, CAMWATCH_TEST_SITE, CAMWATCH_TEST_BROKER_PORT,
CAMWATCH_TEST_EVERY_S (pause between changes).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from datetime import timedelta

from agent.outbox import Outbox
from agent.publisher import Publisher, PublisherSettings
from protocol import BirthCamera, CameraState, Reason
from tests.clock import current, follow_parent_clock
from tests.rig.transport import DISTRICT, PROVINCE, Change


def main() -> int:
    follow_parent_clock()
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(name)s %(message)s")
    site = os.environ["CAMWATCH_TEST_SITE"]
    every = float(os.environ.get("CAMWATCH_TEST_EVERY_S", "0.01"))
    cams = [f"{site}-cam{i}" for i in range(3)]
    states = {c: BirthCamera(camera_id=c, state=CameraState.UP, since=current() - timedelta(days=1)) for c in cams}
    outbox = Outbox(os.environ["CAMWATCH_TEST_OUTBOX"])
    settings = PublisherSettings(
        site=site, province=PROVINCE, district=DISTRICT, host="127.0.0.1",
        port=int(os.environ["CAMWATCH_TEST_BROKER_PORT"]), tls=False,
        heartbeat_interval_s=2.0, jitter_s=0.0, keepalive_s=5,
    )
    publisher = Publisher(settings, outbox, snapshot=lambda: list(states.values()))
    publisher.start()
    t0 = current() - timedelta(hours=1)
    for i in range(100_000):
        cam = cams[i % 3]
        state = CameraState.DOWN if (i // 3) % 2 == 0 else CameraState.UP
        at = t0 + timedelta(milliseconds=100 * i)
        outbox.record(Change(cam, state, Reason.UNREACHABLE if state is CameraState.DOWN else Reason.NONE, at))
        states[cam] = BirthCamera(camera_id=cam, state=state, since=at)
        publisher.notify()
        time.sleep(every)
    return 0


if __name__ == "__main__":
    sys.exit(main())
