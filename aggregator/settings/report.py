"""The committee pack's settings: availability targets per province, and the PDF printer."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, field_validator

from aggregator.settings.base import Section

__all__ = ["ReportSettings", "parse_targets"]

_PAIR = re.compile(r"^\s*([1-9][0-9])\s*[=:]\s*([0-9]+(?:\.[0-9]+)?)\s*$")


def parse_targets(text: str) -> dict[str, float]:
    """``"10=97, 50=92.5"`` -> ``{"10": 97.0, "50": 92.5}`` (percent); ValueError on a bad pair."""
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in re.split(r"[,;\n]", text))):
        match = _PAIR.match(part)
        if match is None:
            raise ValueError(f"province target {part!r} is not CODE=PERCENT (for example 10=97)")
        code, pct = match.group(1), float(match.group(2))
        if pct > 100:
            raise ValueError(f"province target {part!r}: a percentage is at most 100")
        if code in out:
            raise ValueError(f"province {code} has two targets")
        out[code] = pct
    return out


class ReportSettings(Section):
    """What the monthly committee pack compares provinces against, and how it prints a PDF."""

    target_pct: float = Field(
        default=95.0, ge=0, le=100,
        description="National availability target in percent: every province without its own target is held to it",
    )  # fmt: skip
    target_figure: Literal["usable", "available"] = Field(
        default="usable",
        description="The figure targets are set on: usable (up only) or available (up or degraded)",
    )
    province_targets: str = Field(
        default="",
        description="Per-province targets overriding target_pct, as CODE=PERCENT pairs: 10=97, 50=92.5",
    )
    chromium: str = Field(
        default="chromium", min_length=1,
        description="Headless Chromium used to print the pack as PDF (a command on PATH or a path)",
    )  # fmt: skip
    read_timeout_s: float = Field(
        default=60.0, ge=1, le=600,
        description="Longest the API may read the figures of a monthly report or pack before it answers 503 "
        "(a national pack reads two months of every camera: seconds, beyond api.read_timeout_s)",
    )  # fmt: skip
    pdf_timeout_s: float = Field(
        default=120.0, ge=5, le=3600, description="Longest a PDF print may take before it is abandoned"
    )

    @field_validator("province_targets")
    @classmethod
    def _targets_parse(cls, value: str) -> str:
        parse_targets(value)
        return value

    def targets(self) -> dict[str, float]:
        """The per-province targets in percent, by DOPA province code."""
        return parse_targets(self.province_targets)
