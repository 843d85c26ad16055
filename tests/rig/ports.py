"""Free TCP ports and waiting for a server to accept connections."""

from __future__ import annotations

import os
import random
import socket
import threading
import time
from pathlib import Path

# Ports handed out lie below the kernel's ephemeral range, so no outgoing connection (a fleet
# test opens thousands) can take one between free_port() and the server's bind; each pytest-xdist
# worker has its own band, so two workers never hand out the same port. Asking the kernel for
# port 0 gave ports inside the ephemeral range, and a served API once lost its port that way.
_LOWEST = 10_000
_lock = threading.Lock()
_next: int | None = None


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32_768


def _band() -> tuple[int, int]:
    """This process's ports: its xdist worker's share of [_LOWEST, ephemeral range)."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:]
    index = int(worker) if worker.isdigit() else 0
    workers = max(int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1") or 1), index + 1)
    top = max(_ephemeral_low(), _LOWEST + 1_000 * workers)
    size = (top - _LOWEST) // workers
    return _LOWEST + index * size, _LOWEST + (index + 1) * size


def _bindable(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port that is free on ``host`` right now and that no other test is handed.

    Ports go round this worker's band from a random start (a child process of a test starts
    elsewhere in the band than its parent), skipping any port something holds."""
    global _next
    low, high = _band()
    with _lock:
        if _next is None:
            _next = random.randrange(low, high)
        for _ in range(high - low):
            port = _next
            _next = low if _next + 1 >= high else _next + 1
            if _bindable(host, port):
                return port
    raise OSError(f"no free TCP port on {host} in {low}-{high - 1}")


def wait_for_port(port: int, host: str = "127.0.0.1", timeout: float = 10.0) -> None:
    """Block until something accepts TCP connections on ``port``, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    last: OSError | None = None
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError as err:
            last = err
            time.sleep(0.05)
    raise TimeoutError(f"nothing accepted connections on {host}:{port} within {timeout}s: {last}")


class SilentServer:
    """A TCP port that accepts connections and never says a word (a hung camera)."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, 0))
        self._sock.listen(64)
        self._sock.settimeout(0.2)
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)  # keep it open, read nothing, answer nothing

    @property
    def accepted(self) -> int:
        """How many connections were accepted so far."""
        return len(self._held)

    def close(self) -> None:
        """Stop accepting and close every held connection."""
        self._stop.set()
        self._thread.join(timeout=2)
        for conn in self._held:
            conn.close()
        self._sock.close()
