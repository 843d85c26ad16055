"""Draw the dashboard's app icons (PNG) with the standard library only: no image package and
no download. Run once when the design changes; the PNGs are committed:

    python -m aggregator.web.pwa_icons aggregator/web/static/pwa

The icon is a camera lens (white rings) on camwatch's navy, with a green "up" dot; the
maskable variant keeps everything inside the central safe zone (80 %).
"""

from __future__ import annotations

import math
import struct
import sys
import zlib
from pathlib import Path

__all__ = ["draw_icon", "png"]

NAVY = (15, 42, 74)
WHITE = (255, 255, 255)
GREEN = (125, 220, 132)


def png(width: int, height: int, pixels: list[bytes]) -> bytes:
    """A truecolour PNG from rows of RGB bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + row for row in pixels)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")


def draw_icon(size: int, *, safe: float = 1.0) -> bytes:
    """The icon at ``size`` pixels; ``safe`` < 1 shrinks the drawing (maskable icons)."""
    c = size / 2
    r = size / 2 * safe
    rows = []
    for y in range(size):
        row = bytearray()
        for x in range(size):
            d = math.hypot(x + 0.5 - c, y + 0.5 - c) / r
            dot = math.hypot(x + 0.5 - (c + 0.42 * r), y + 0.5 - (c - 0.42 * r)) / r
            if dot < 0.16:
                colour = GREEN
            elif 0.52 < d < 0.66 or d < 0.24:
                colour = WHITE
            else:
                colour = NAVY
            row += bytes(colour)
        rows.append(bytes(row))
    return png(size, size, rows)


def main(argv: list[str]) -> int:
    out = Path(argv[0] if argv else "aggregator/web/static/pwa")
    out.mkdir(parents=True, exist_ok=True)
    (out / "icon-192.png").write_bytes(draw_icon(192))
    (out / "icon-512.png").write_bytes(draw_icon(512))
    (out / "icon-maskable-512.png").write_bytes(draw_icon(512, safe=0.8))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
