"""Turn what ONVIF told us into the protocol's camera inventory, and spot factory passwords.

The centre's audit wants maker, model, firmware, serial, MAC and whether a factory default
password opens the camera. We never try extra logins to find out (some cameras lock the
account after a few wrong passwords): the credential that already works is compared, here
on the gateway, with a short list of vendors' factory defaults. Only the yes/no travels.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Sequence
from typing import TypeVar

from agent.device import DeviceInfo, MediaSource
from agent.onvif_client import DEFAULT_TIMEOUTS, OnvifAuthError, OnvifError, Timeouts, read_device
from protocol.messages import CameraInventory

__all__ = ["FACTORY_DEFAULTS", "camera_inventory", "is_factory_default", "read_inventory"]

_N = TypeVar("_N", int, float)
logger = logging.getLogger(__name__)

# Factory user/password pairs of common CCTV brands (vendor manuals, as shipped before the
# first-login password rules): admin/12345 and admin/"" older Hikvision, admin/admin Dahua,
# Axis root/pass, Uniview admin/123456, XMeye admin/"", TVT admin/1111, Vivotek root/"".
FACTORY_DEFAULTS: frozenset[tuple[str, str]] = frozenset({
    ("admin", ""), ("admin", "admin"), ("admin", "12345"), ("admin", "123456"),
    ("admin", "1234"), ("admin", "1111"), ("admin", "888888"), ("admin", "password"),
    ("admin", "9999"), ("root", "pass"), ("root", ""), ("root", "root"),
    ("service", "service"), ("supervisor", "supervisor"), ("ubnt", "ubnt"),
})


def is_factory_default(username: str, password: str) -> bool:
    """True when ``username``/``password`` is a known factory default (compared in constant time)."""
    found = False
    for user, pw in FACTORY_DEFAULTS:
        same = hmac.compare_digest(user.encode(), username.encode()) & hmac.compare_digest(
            pw.encode(), password.encode())
        found |= same
    return found


def camera_inventory(info: DeviceInfo, source: MediaSource, *, username: str | None,
                     password: str | None) -> CameraInventory:
    """Build the inventory of one camera (one video source of ``info``) for births.

    ``default_password`` is None when no credentials were used (an open camera: the audit's
    "no password" case is a different finding), else whether they are a factory default.
    """
    default = None if not username else is_factory_default(username, password or "")
    return CameraInventory(
        maker=info.maker[:100], model=info.model[:100], firmware=info.firmware[:100],
        serial=info.serial[:100], hardware_id=info.hardware_id[:100], mac=info.mac,
        address=info.address[:64], onvif_port=info.port or None, video_source=source.token[:64],
        stream_uri=source.stream_uri[:512], snapshot_uri=source.snapshot_uri[:512],
        width=_within(source.width, 16384), height=_within(source.height, 16384),
        fps=_within(source.fps, 1000), codec=source.codec[:32],
        bitrate_kbps=_within(source.bitrate_kbps, 1_000_000),
        clock_offset_s=info.clock_offset_s, default_password=default,
    )


async def read_inventory(
    camera_id: str, address: str, port: int, video_source: str,
    credentials: Sequence[tuple[str, str]], *, timeouts: Timeouts = DEFAULT_TIMEOUTS,
) -> CameraInventory | None:
    """Read one configured camera's inventory over ONVIF; None when it cannot be read.

    ``credentials`` are (user, password) pairs tried in order ([] = none). The source is the
    one whose token is ``video_source``, else the device's first. Meant for the runner at start
    and every few hours (firmware and serial change rarely); failures are the probes' business.
    """
    for username, password in list(credentials) or [("", "")]:
        try:
            info = await read_device(address, port, username or None, password or None,
                                     timeouts=timeouts)
        except OnvifAuthError:
            continue
        except OnvifError as err:
            logger.info("%s: inventory not read: %s", camera_id, err)
            return None
        source = next((s for s in info.sources if s.token == video_source),
                      info.sources[0] if info.sources else None)
        if source is None:
            logger.info("%s: inventory not read: the device has no video source", camera_id)
            return None
        return camera_inventory(info, source, username=username or None, password=password)
    logger.info("%s: inventory not read: credentials refused", camera_id)
    return None


def _within(value: _N | None, limit: float) -> _N | None:
    # Firmware sometimes reports nonsense (fps 10000, width 0): unknown beats a refused birth.
    return value if value is not None and 0 < value <= limit else None
