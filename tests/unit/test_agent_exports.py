"""Public surfaces of the agent-checks modules exist as declared (STYLE.md section 1)."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

MODULES = ["agent.config", "agent.models", "agent.frames", "agent.picture", "agent.probes",
           "agent.health", "agent.runner", "agent.rtsp", "agent.references", "agent.cli_check",
           "agent.cli_run", "agent.__main__"]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__doc__, f"{name} has no module docstring"
    exported = getattr(module, "__all__", None)
    assert exported, f"{name} declares no __all__"
    for item in exported:
        assert hasattr(module, item), f"{name}.__all__ names missing {item!r}"


def test_agent_never_imports_the_aggregator() -> None:
    # in a fresh interpreter: other tests of this session may have imported the aggregator
    code = ("import importlib, sys\n"
            f"for name in {MODULES!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'aggregator'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"
