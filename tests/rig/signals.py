"""A stop/go flag that a signal handler may set safely.

``threading.Event.set()`` inside a signal handler can deadlock: Python runs the handler
in the main thread, and if that thread was interrupted inside ``Event.wait()`` while
holding the event's internal lock, ``set()`` waits for that lock forever (seen as a
fleet process that never acted on SIGUSR1). This flag takes no lock: the handler only
assigns an attribute, and waiters poll in short sleeps.
"""

from __future__ import annotations

import time

__all__ = ["SignalFlag"]

# How often waiters look at the flag: short enough for a prompt stop, long enough to cost nothing.
_POLL_S = 0.05


class SignalFlag:
    """Set from a signal handler (``signal.signal(SIG, flag.set)``), waited on anywhere."""

    def __init__(self) -> None:
        self.raised = False

    def set(self, *_signal_args: object) -> None:
        """Raise the flag (signal-handler signature accepted)."""
        self.raised = True

    def clear(self) -> None:
        """Lower the flag."""
        self.raised = False

    def is_set(self) -> bool:
        """Whether the flag is raised."""
        return self.raised

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until the flag is raised or ``timeout`` seconds pass; return the flag."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.raised:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                time.sleep(min(_POLL_S, left))
            else:
                time.sleep(_POLL_S)
        return self.raised
