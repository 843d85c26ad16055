"""Split a large site's birth into numbered parts and put them back together.

A 1,000-camera NVR cluster's birth is several hundred KiB; brokers and the reader bound
message size, so the agent sends parts ``1..n`` that share the ``bd_seq`` and carry
``seq`` 0..n-1. The reader keeps parts per (site, bd_seq) and yields the whole birth
once every part has arrived; a part of a newer session discards an older partial one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .codec import DEFAULT_MAX_BYTES, encode
from .errors import InvalidMessage, PayloadTooLarge
from .messages import Birth, BirthCamera

__all__ = ["BirthAssembler", "split_birth"]

# Room kept for the envelope fields and the part/parts counters growing by digits.
_ENVELOPE_SLACK = 64


def split_birth(birth: Birth, *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Birth]:
    """Return ``birth`` as one or more parts, each encoding to at most ``max_bytes``."""
    whole = birth.model_copy(update={"part": 1, "parts": 1, "seq": 0})
    if len(encode(whole, max_bytes=2**31)) <= max_bytes:
        return [whole]
    envelope = len(encode(whole.model_copy(update={"cameras": []}), max_bytes=2**31))
    budget = max_bytes - envelope - _ENVELOPE_SLACK
    groups: list[list[BirthCamera]] = [[]]
    used = 0
    for camera in birth.cameras:
        size = len(camera.model_dump_json(exclude_none=True)) + 1  # the comma
        if size > budget:
            raise PayloadTooLarge(f"camera {camera.camera_id}: {size} bytes cannot fit any part")
        if used + size > budget and groups[-1]:
            groups.append([])
            used = 0
        groups[-1].append(camera)
        used += size
    total = len(groups)
    if total > 255:
        raise PayloadTooLarge(f"birth needs {total} parts; at most 255 fit one seq cycle")
    return [
        birth.model_copy(update={"part": i + 1, "parts": total, "seq": i, "cameras": group})
        for i, group in enumerate(groups)
    ]


@dataclass(slots=True)
class _Pending:
    bd_seq: int
    parts: int
    received: dict[int, Birth] = field(default_factory=dict)


class BirthAssembler:
    """Collects birth parts per site; ``add`` returns the whole birth once complete."""

    def __init__(self) -> None:
        self._pending: dict[str, _Pending] = {}

    def add(self, part: Birth) -> Birth | None:
        """Add one part; return the assembled birth when this part completes it."""
        if part.parts == 1:
            self._pending.pop(part.site, None)
            return part
        pending = self._pending.get(part.site)
        if pending is None or pending.bd_seq != part.bd_seq:
            pending = _Pending(part.bd_seq, part.parts)
            self._pending[part.site] = pending
        elif pending.parts != part.parts:
            del self._pending[part.site]
            raise InvalidMessage(
                f"parts: site {part.site} birth said {pending.parts} parts, now {part.parts}"
            )
        pending.received[part.part] = part
        if len(pending.received) < pending.parts:
            return None
        del self._pending[part.site]
        ordered = [pending.received[i] for i in range(1, pending.parts + 1)]
        cameras = [camera for p in ordered for camera in p.cameras]
        return ordered[0].model_copy(update={"cameras": cameras, "part": 1, "parts": 1})

    def pending_sites(self) -> list[str]:
        """Sites with a birth still missing parts."""
        return sorted(self._pending)
