"""Disk health from ``smartctl --json -H`` (smartmontools), when it is installed.

Never required: without smartctl, or without a device configured, the disk's health is
simply not read. A failed overall-health self-assessment is a storage fault; anything we
cannot read (no binary, permission denied, timeout, not JSON) is logged and ignored.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil

__all__ = ["parse_smart", "read_smart"]

logger = logging.getLogger(__name__)


def parse_smart(text: str) -> tuple[bool | None, str]:
    """(passed, words) from smartctl's JSON; passed is None when the reply says nothing."""
    try:
        data = json.loads(text)
    except ValueError:
        return None, "smartctl answered something other than JSON"
    if not isinstance(data, dict):
        return None, "smartctl JSON is not an object"
    status = data.get("smart_status")
    device = data.get("device")
    name = device.get("name", "") if isinstance(device, dict) else ""
    if isinstance(status, dict) and isinstance(status.get("passed"), bool):
        passed: bool = status["passed"]
        return passed, f"{name or 'disk'}: SMART overall-health {'passed' if passed else 'FAILED'}"
    return None, f"{name or 'disk'}: no SMART verdict"


async def read_smart(device: str, timeout_s: float) -> tuple[bool | None, str]:
    """Run smartctl on ``device`` within ``timeout_s``; (None, why) when it cannot be read."""
    binary = shutil.which("smartctl")
    if binary is None:
        return None, "smartctl not installed"
    try:
        proc = await asyncio.create_subprocess_exec(
            binary, "--json", "-H", device,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        )
    except OSError as err:
        return None, f"smartctl did not start: {err.strerror or err}"
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout_s)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        return None, f"smartctl gave no answer within {timeout_s:g} s"
    return parse_smart(out.decode("utf-8", "replace"))
