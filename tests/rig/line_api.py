"""The local LINE Messaging API server of the tests: the demo's own (``deploy/demo/line_server.py``),
on a port chosen before it starts (so a test can configure it first)."""

from __future__ import annotations

from dataclasses import dataclass, field

from deploy.demo.line_server import PUSH, Push
from deploy.demo.line_server import LineApi as _LineApi

from .ports import free_port

__all__ = ["PUSH", "LineApi", "Push"]


@dataclass
class LineApi(_LineApi):
    """The LINE-compatible server on a free port known before :meth:`start`."""

    port: int = field(default_factory=free_port)
