"""The aggregator's settings tree, its loader, and how it is shown and documented.

One :class:`AggregatorSettings` per process, built by :func:`load_settings` in the composition
root (aggregator/__main__.py) and passed down; nothing below it reads the environment.
"""

from __future__ import annotations

from aggregator.settings.base import DEFAULT_SECRET
from aggregator.settings.loader import (
    EX_CONFIG,
    LoadedSettings,
    Origin,
    SettingsError,
    load_settings,
)
from aggregator.settings.tree import AggregatorSettings

__all__ = ["DEFAULT_SECRET", "EX_CONFIG", "AggregatorSettings", "LoadedSettings", "Origin", "SettingsError", "load_settings"]
