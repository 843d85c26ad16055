"""JSON Schemas of the v1 wire messages, generated from the models and checked in.

``python -m protocol.schemas`` rewrites ``protocol/schemas/*.json``; a test fails when
the checked-in files drift from the models, so docs and third-party readers stay honest.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from .messages import Ack, Alert, Birth, Command, Death, Events, Heartbeat, HostState, Snapshot

__all__ = ["SCHEMA_DIR", "WIRE_MODELS", "generate", "main", "render"]

SCHEMA_DIR = Path(__file__).parent / "schemas"
WIRE_MODELS: dict[str, type[BaseModel]] = {
    "birth": Birth,
    "death": Death,
    "events": Events,
    "heartbeat": Heartbeat,
    "ack": Ack,
    "cmd": Command,
    "snapshot": Snapshot,
    "host_state": HostState,
    "alert": Alert,
}


def generate() -> dict[str, dict[str, Any]]:
    """Return the JSON Schema of every wire message, keyed by file stem."""
    return {name: model.model_json_schema(mode="validation") for name, model in WIRE_MODELS.items()}


def render(schema: dict[str, Any]) -> str:
    """Serialise one schema the way it is checked in (stable key order, trailing newline)."""
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write the schemas, or with ``--check`` report drift and exit 1."""
    args = sys.argv[1:] if argv is None else argv
    check = "--check" in args
    SCHEMA_DIR.mkdir(exist_ok=True)
    drifted = []
    for name, schema in generate().items():
        path = SCHEMA_DIR / f"{name}.json"
        text = render(schema)
        if check:
            if not path.exists() or path.read_text() != text:
                drifted.append(path.name)
        else:
            path.write_text(text)
    if drifted:
        sys.stderr.write(f"schemas drifted from the models: {', '.join(drifted)}; run python -m protocol.schemas\n")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
