"""The store's vocabulary and boundaries (issue 12): one state order, one schema list, no upward imports."""

from __future__ import annotations

import ast
from pathlib import Path

from aggregator.schema import MIGRATIONS, open_db
from aggregator.states import (
    COUNT_COLUMNS,
    MS_COLUMNS,
    N_STATES,
    STATE_BY_NAME,
    STATE_CODE,
    STATE_NAMES,
    STATES,
)
from aggregator.store.db import applied_migrations
from protocol import CameraState

STORE = Path(__file__).resolve().parents[2] / "aggregator" / "store"
# Rooms above the store (COMMON.md's order) and the schema list that composes them.
_ABOVE_STORE = ("ingest", "faults", "notify", "audit", "reports", "feed", "api", "web", "cli", "service", "schema",
                "broker", "__main__")  # fmt: skip


def test_migrations_keep_the_recorded_names_and_order() -> None:
    # Existing databases hold these names in schema_migrations: renaming or reordering breaks them.
    expected = ["core_v1", "quarantine_v1", "faults_v1", "audit_v1", "audit_v2", "snapshots_v1", "core_v2",
                "routes_v2", "image_links_v1", "places_v1",
                "audit_v3", "clocks_v1", "search_v1",
                "audit_plans_v1", "audit_counts_v1", "recording_v1", "faults_v2", "advisories_v1", "changes_v1",
                "silences_v1", "token_expiry_v1"]
    assert [name for name, _ in MIGRATIONS] == expected
    assert applied_migrations(open_db(":memory:")) == expected


def test_store_never_imports_a_room_above_it() -> None:
    found = []
    for path in sorted(STORE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            names += [n.value for n in ast.walk(node) if isinstance(node, ast.Call) and isinstance(n, ast.Constant)
                      and isinstance(n.value, str) and n.value.startswith("aggregator.")]  # fmt: skip
            for name in names:
                parts = name.split(".")
                if parts[0] == "aggregator" and len(parts) > 1 and parts[1] in _ABOVE_STORE:
                    found.append(f"{path.name}: {name}")
                if parts[0] == "importlib":
                    found.append(f"{path.name}: importlib")
    assert found == []


def test_state_order_codes_and_names_agree() -> None:
    assert N_STATES == len(STATES) == len(MS_COLUMNS) == len(COUNT_COLUMNS) == 5
    assert STATE_NAMES == ("up", "degraded", "down", "unknown", "maintenance")
    assert set(STATES) == set(CameraState)
    for code, state in enumerate(STATES):
        assert STATE_CODE[state] == STATE_BY_NAME[state.value] == code


def test_day_table_columns_are_the_schema_columns() -> None:
    db = open_db(":memory:")
    for table, key in (("site_day", "site"), ("province_day", "province")):
        columns = [row[1] for row in db.execute(f"PRAGMA table_info({table})")]
        assert columns == ["day", key, *MS_COLUMNS, *COUNT_COLUMNS]
    assert [row[1] for row in db.execute("PRAGMA table_info(camera_day)")] == ["day", "camera", *MS_COLUMNS]
