"""docs/protocol.md and protocol/schemas/ must not drift from the code (issue 2)."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from protocol import decode
from protocol.schemas import SCHEMA_DIR, WIRE_MODELS, generate, render

DOC = Path(__file__).resolve().parents[2] / "docs" / "protocol.md"
EXAMPLE = re.compile(r"<!-- example: (\w+) -->\n```json\n(.*?)\n```", re.S)
NOW = datetime(2026, 11, 25, 5, 0, tzinfo=UTC)


def test_checked_in_schemas_match_the_models() -> None:
    for name, schema in generate().items():
        path = SCHEMA_DIR / f"{name}.json"
        assert path.exists(), f"{path} missing: run python -m protocol.schemas"
        assert path.read_text() == render(schema), f"{path.name} drifted: run python -m protocol.schemas"


def test_doc_has_a_valid_example_for_every_message() -> None:
    examples = dict(EXAMPLE.findall(DOC.read_text()))
    assert set(examples) == set(WIRE_MODELS)
    for name, body in examples.items():
        message = decode(WIRE_MODELS[name], body, now=NOW)
        # the example is exactly what the model produces: no hand-edited fields
        assert json.loads(message.model_dump_json(exclude_none=True)) == json.loads(body)


@pytest.mark.parametrize("name", sorted(WIRE_MODELS))
def test_doc_mentions_every_schema_file(name: str) -> None:
    assert f"{name}.json" in DOC.read_text()
