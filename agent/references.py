"""Scene references: one small greyscale picture per camera, kept in the state directory.

The first good picture of a camera becomes its reference; a later picture whose edges no
longer match it means the camera was turned or moved. References are PNG files so a
technician can look at them; deleting one (``camwatch-agent reference --reset``) makes the
next good picture the new reference.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

__all__ = ["ReferenceStore"]

logger = logging.getLogger(__name__)
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


class ReferenceStore:
    """Load and save per-camera scene references under ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def path(self, camera_id: str) -> Path:
        """File holding ``camera_id``'s reference (camera ids may contain ':')."""
        return self.directory / f"{_UNSAFE.sub('_', camera_id)}.png"

    def load(self, camera_id: str) -> npt.NDArray[np.uint8] | None:
        """The stored reference, or None when there is none (or it is unreadable)."""
        path = self.path(camera_id)
        if not path.exists():
            return None
        image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if image is None:
            logger.warning("%s: scene reference %s is unreadable; a new one will be taken", camera_id, path)
            return None
        return np.asarray(image, dtype=np.uint8)

    def save(self, camera_id: str, image: npt.NDArray[np.uint8]) -> bool:
        """Store ``image`` atomically; False (logged) when the disk refuses."""
        path = self.path(camera_id)
        tmp = path.with_suffix(".tmp.png")
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            if not cv2.imwrite(str(tmp), image):
                raise OSError("cannot encode PNG")
            os.replace(tmp, path)
        except OSError as err:
            logger.warning("%s: cannot store scene reference in %s: %s", camera_id, self.directory, err)
            return False
        return True

    def reset(self, camera_id: str) -> bool:
        """Delete the reference; True if there was one."""
        try:
            self.path(camera_id).unlink()
        except FileNotFoundError:
            return False
        return True
