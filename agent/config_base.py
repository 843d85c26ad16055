"""What every agent config module shares: the strict base model, the error and the YAML reader.

Kept apart from agent/config.py so the section modules (config_checks, config_secrets) and the
tree that assembles them all derive from the same base without an import cycle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict

__all__ = ["ConfigError", "ConfigModel", "read_yaml"]


class ConfigError(Exception):
    """The configuration or secrets file is missing, unreadable or invalid."""


class ConfigModel(BaseModel):
    """Base of every config model: ``extra="forbid"`` makes a typo in the YAML fail at start-up."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def read_yaml(path: Path) -> Any:
    """Read a YAML file, raising ConfigError (never a traceback) when it is missing or bad."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError(f"{path}: file not found") from err
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from err
    try:
        return yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML: {err}") from err
