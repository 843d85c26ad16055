"""Protocol codec speed: encode/decode of a 100-camera events batch and a 1,000-camera birth.

Prints messages/s (median of several rounds) for camwatch's validated encode and decode
beside plain ``json.loads`` / ``json.dumps`` of the same bytes measured in the same run, and
the ratio, so a noisy machine still gives a comparable figure.

    .venv/bin/python bench/protocol_bench.py [--rounds 7]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from protocol import (  # noqa: E402
    Birth,
    BirthCamera,
    CameraInventory,
    CameraState,
    Event,
    Events,
    Reason,
    decode_site_message,
    encode,
    split_birth,
)

NOW = datetime.now(UTC).replace(microsecond=0)


def events_batch(n: int = 100) -> Events:
    """A realistic batch: n state changes with reasons and details."""
    reasons = [Reason.FROZEN, Reason.UNREACHABLE, Reason.NONE, Reason.BLURRED]
    states = [CameraState.DEGRADED, CameraState.DOWN, CameraState.UP, CameraState.DEGRADED]
    return Events(
        site="bkk-0001",
        ts=NOW,
        seq=17,
        events=[
            Event(
                id=100_000 + i,
                camera_id=f"DS-2CD2143G2-I2021{i:08d}:VideoSource_1",
                at=NOW - timedelta(seconds=60 - i % 60),
                state=states[i % 4],
                reason=reasons[i % 4],
                details={"mean_abs_diff": 0.41, "checks": 2, "ttff_ms": 840},
            )
            for i in range(n)
        ],
    )


def birth(n: int = 1000) -> Birth:
    """A site of n cameras with full inventory."""
    return Birth(
        site="bkk-0001",
        ts=NOW,
        bd_seq=4,
        agent_version="0.1.0",
        cameras=[
            BirthCamera(
                camera_id=f"DS-2CD2143G2-I2021{i:08d}:VideoSource_1",
                name=f"Camera {i}",
                state=CameraState.UP,
                since=NOW - timedelta(hours=3),
                inventory=CameraInventory(
                    maker="Hikvision",
                    model="DS-2CD2143G2-I",
                    firmware="V5.7.3 build 220112",
                    serial=f"DS-2CD2143G2-I2021{i:08d}",
                    mac=f"44:19:b6:{i >> 16 & 255:02x}:{i >> 8 & 255:02x}:{i & 255:02x}",
                    address=f"10.20.{i // 250}.{i % 250 + 2}",
                    onvif_port=80,
                    video_source="VideoSource_1",
                    stream_uri=f"rtsp://10.20.{i // 250}.{i % 250 + 2}:554/Streaming/Channels/101",
                    width=2688,
                    height=1520,
                    fps=20.0,
                    codec="H264",
                    clock_offset_s=-0.8,
                ),
            )
            for i in range(n)
        ],
    )


def rate(fn: Callable[[], object], rounds: int, min_time: float = 0.2) -> float:
    """Median calls/s over ``rounds`` rounds of at least ``min_time`` seconds each."""
    calls = 1
    while True:  # calibrate
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        if time.perf_counter() - start >= min_time / 4:
            break
        calls *= 2
    results = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        results.append(calls / (time.perf_counter() - start))
    return statistics.median(results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()

    batch = events_batch()
    big = birth()
    parts = split_birth(big)
    batch_bytes = encode(batch)
    birth_bytes = [encode(p) for p in parts]
    topic_events = "camwatch/v1/10/1001/bkk-0001/events"
    topic_birth = "camwatch/v1/10/1001/bkk-0001/birth"
    plain_batch = json.loads(batch_bytes)
    plain_birth = [json.loads(b) for b in birth_bytes]

    rows = [
        ("events x100 decode", len(batch_bytes),
         rate(lambda: decode_site_message(topic_events, batch_bytes), args.rounds),
         rate(lambda: json.loads(batch_bytes), args.rounds)),
        ("events x100 encode", len(batch_bytes),
         rate(lambda: encode(batch), args.rounds),
         rate(lambda: json.dumps(plain_batch, separators=(",", ":")), args.rounds)),
        ("birth x1000 decode", sum(map(len, birth_bytes)),
         rate(lambda: [decode_site_message(topic_birth, b) for b in birth_bytes], args.rounds),
         rate(lambda: [json.loads(b) for b in birth_bytes], args.rounds)),
        ("birth x1000 encode", sum(map(len, birth_bytes)),
         rate(lambda: [encode(p) for p in split_birth(big)], args.rounds),
         rate(lambda: [json.dumps(p, separators=(",", ":")) for p in plain_birth], args.rounds)),
    ]
    print(f"birth of 1000 cameras: {len(parts)} part(s), {sum(map(len, birth_bytes))} bytes; "
          f"events batch: {len(batch_bytes)} bytes; median of {args.rounds} rounds")
    print(f"{'case':<22}{'bytes':>9}{'camwatch msg/s':>16}{'plain json msg/s':>18}{'ratio':>8}{'cameras/s':>12}")
    for name, size, ours, plain in rows:
        cams = ours * (100 if "events" in name else 1000)
        print(f"{name:<22}{size:>9}{ours:>16.0f}{plain:>18.0f}{ours / plain:>8.2f}{cams:>12.0f}")


if __name__ == "__main__":
    main()
