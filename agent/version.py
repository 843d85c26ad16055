"""The agent's version as the installed camwatch package reports it; every birth carries it."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["DISTRIBUTION", "UNINSTALLED", "agent_version"]

# The distribution the agent ships in (``pip install 'camwatch[agent]'``).
DISTRIBUTION = "camwatch"
# What a checkout run without installing reports: the centre still sees that it is not a release.
UNINSTALLED = "0+unknown"


def agent_version() -> str:
    """The installed camwatch version (``UNINSTALLED`` when run from an uninstalled tree)."""
    try:
        return version(DISTRIBUTION)
    except PackageNotFoundError:
        return UNINSTALLED
