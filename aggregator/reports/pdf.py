"""Print an HTML page to PDF with headless Chromium (Debian package ``chromium``).

The pack is plain HTML with inline SVG and no script, so the browser only lays it out and
prints it: one short-lived Chromium per PDF, in a fresh profile directory (no state between
prints, nothing left behind), no network beyond the local file, and a hard timeout after
which the browser's whole process group is killed. Failures are one :class:`PdfError` line
an operator can act on (Chromium missing, too slow, or no file written).
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

__all__ = ["PdfError", "chromium_path", "html_to_pdf"]

logger = logging.getLogger(__name__)

# Flags of a one-shot headless print: no sandbox (the service user may lack user namespaces),
# no GPU, and none of the browser's own background traffic (updates, sync, first-run pages).
_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
          "--disable-component-update", "--disable-sync", "--disable-extensions", "--no-pdf-header-footer",
          "--hide-scrollbars", "--mute-audio")  # fmt: skip


class PdfError(RuntimeError):
    """A PDF could not be printed; the message is one line for the operator."""


def chromium_path(command: str) -> str | None:
    """The executable ``command`` names (a path, or a name looked up on PATH), if it exists."""
    if os.sep in command:
        return command if os.access(command, os.X_OK) else None
    return shutil.which(command)


def html_to_pdf(html: str, *, chromium: str = "chromium", timeout_s: float = 120.0) -> bytes:
    """Print ``html`` (a whole page, UTF-8) to PDF bytes with headless Chromium."""
    exe = chromium_path(chromium)
    if exe is None:
        raise PdfError(f"PDF needs headless Chromium and {chromium!r} was not found: install the Debian package "
                       "chromium (scripts/setup.sh demo) or set report.chromium")  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="camwatch-pdf-") as tmp:
        page, out, profile = Path(tmp) / "pack.html", Path(tmp) / "pack.pdf", Path(tmp) / "profile"
        page.write_text(html, encoding="utf-8")
        cmd = [exe, *_FLAGS, f"--user-data-dir={profile}", f"--print-to-pdf={out}", page.as_uri()]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired as exc:
            os.killpg(proc.pid, signal.SIGKILL)  # the browser's helpers too: its own session
            proc.communicate()
            raise PdfError(f"Chromium did not print the PDF within {timeout_s:g} s (report.pdf_timeout_s)") from exc
        if not out.exists() or out.stat().st_size == 0:
            last = (err or b"").decode("utf-8", "replace").strip().splitlines()[-1:] or [""]
            raise PdfError(f"Chromium wrote no PDF (exit {proc.returncode}): {last[0][:200]}")
        data = out.read_bytes()
    logger.info("printed a PDF of %d bytes", len(data))
    return data
