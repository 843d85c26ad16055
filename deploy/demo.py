#!/usr/bin/env python3
"""camwatch demo: `scripts/demo.sh` runs this (see deploy/demo/main.py). Ctrl-C stops it."""

from __future__ import annotations

import sys
from pathlib import Path

# Run from a checkout: the repository root holds protocol/, agent/, aggregator/ and deploy/.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from deploy.demo.main import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
