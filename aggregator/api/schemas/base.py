"""The base of every API response model."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["Out"]


class Out(BaseModel):
    """A response model: unknown fields are a bug in the route, not something to pass on."""

    model_config = ConfigDict(extra="forbid")
