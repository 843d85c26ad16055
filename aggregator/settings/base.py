"""What every settings section shares: unknown keys refused, frozen values, the default secret."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["DEFAULT_SECRET", "Section"]

# The placeholder every secret starts as: fine on a laptop, refused anywhere else.
DEFAULT_SECRET = "change-me"


class Section(BaseModel):
    """A settings section: a typo in a key is an error, and nothing changes a value after loading."""

    model_config = ConfigDict(extra="forbid", frozen=True)
