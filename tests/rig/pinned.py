"""Run a shipped command on the test's pinned clock: ``python -m tests.rig.pinned agent -c x.yaml run``.

The command's module runs unchanged (``runpy``, as ``python -m`` would); only this process's
clock follows the parent test's (tests.clock.follow_parent_clock; pass tests.clock.child_environ()).
"""

from __future__ import annotations

import runpy
import sys

from tests.clock import follow_parent_clock


def main() -> None:
    """Pin the clock, then run ``sys.argv[1]`` as ``__main__`` with the remaining arguments."""
    follow_parent_clock()
    module = sys.argv[1]
    sys.argv = [module, *sys.argv[2:]]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


if __name__ == "__main__":
    main()
