"""Token expiry through the shipped command: ``python -m aggregator create-token --expires-in``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

from tests.rig.shipped import operator_env, run_command


def test_create_token_expires_in_then_list_tokens_shows_it(tmp_path: Path) -> None:
    env = operator_env(CAMWATCH_STORE__DB_PATH=str(tmp_path / "agg.db"), CAMWATCH_API__TOKEN_PEPPER="cli-pepper-0123456789")
    made = run_command("aggregator", "create-token", "--name", "tech phone", "--role", "technician",
                       "--provinces", "10", "--expires-in", "1h", env=env)  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert token.startswith("cw_") and "created, expires" in made.stderr and token not in made.stderr

    listed = run_command("aggregator", "list-tokens", "--json", env=env)
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)
    assert row["name"] == "tech phone" and row["expired"] is False and token not in listed.stdout
    lifetime = datetime.fromisoformat(row["expires"]) - datetime.fromisoformat(row["created"])
    assert timedelta(minutes=59, seconds=59) < lifetime <= timedelta(hours=1)  # the expiry is a whole second

    bad = run_command("aggregator", "create-token", "--name", "x", "--role", "viewer", "--expires-in", "1 hour", env=env)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.strip().splitlines()[-1].startswith("create-token: --expires-in '1 hour': ")
