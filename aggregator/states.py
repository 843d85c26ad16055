"""Camera states in the aggregator's one order, their integer codes and their names.

The store keeps a camera's state as a small integer (``cameras.state``, ``transitions``,
the day tables' five columns, every list of five counts or totals): the code is the state's
place in :data:`STATES`. Everything that turns a code into a state or a name, or lists the
five in order, reads it here, so the order is written once.
"""

from __future__ import annotations

from protocol import CameraState

__all__ = [
    "COUNT_COLUMNS",
    "DEGRADED",
    "DOWN",
    "KNOWN_CODES",
    "MAINTENANCE",
    "MS_COLUMNS",
    "N_STATES",
    "STATES",
    "STATE_BY_NAME",
    "STATE_CODE",
    "STATE_NAMES",
    "UNKNOWN",
    "UP",
]

STATES: tuple[CameraState, ...] = (
    CameraState.UP, CameraState.DEGRADED, CameraState.DOWN, CameraState.UNKNOWN, CameraState.MAINTENANCE,
)  # fmt: skip
N_STATES = len(STATES)
STATE_CODE: dict[CameraState, int] = {s: i for i, s in enumerate(STATES)}
STATE_NAMES: tuple[str, ...] = tuple(s.value for s in STATES)
STATE_BY_NAME: dict[str, int] = {s.value: i for i, s in enumerate(STATES)}

UP = STATE_CODE[CameraState.UP]
DEGRADED = STATE_CODE[CameraState.DEGRADED]
DOWN = STATE_CODE[CameraState.DOWN]
UNKNOWN = STATE_CODE[CameraState.UNKNOWN]
MAINTENANCE = STATE_CODE[CameraState.MAINTENANCE]
# States in which some check saw the camera (the denominator of availability).
KNOWN_CODES: tuple[int, ...] = (UP, DEGRADED, DOWN)

# The daily-total tables' columns, in state order: milliseconds and day-start head counts
# (the schema abbreviates maintenance to ``maint``).
MS_COLUMNS: tuple[str, ...] = ("up_ms", "degraded_ms", "down_ms", "unknown_ms", "maint_ms")
COUNT_COLUMNS: tuple[str, ...] = ("up_n", "degraded_n", "down_n", "unknown_n", "maint_n")
