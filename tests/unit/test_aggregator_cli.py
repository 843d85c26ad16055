"""camwatch-aggregator token commands: the token is printed once, listed never (issue 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.__main__ import COMMANDS, build_parser, main


def test_token_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("CAMWATCH_DB_PATH", str(tmp_path / "agg.db"))
    monkeypatch.setenv("CAMWATCH_TOKEN_PEPPER", "cli-test-pepper-123")
    assert main(["create-token", "--name", "noc", "--role", "technician", "--provinces", "10,50"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("cw_") and len(token) > 40
    assert main(["list-tokens", "--json"]) == 0
    listed = capsys.readouterr().out
    assert '"noc"' in listed and '"technician"' in listed and token not in listed
    assert main(["revoke-token", "1"]) == 0
    assert main(["revoke-token", "1"]) == 1
    assert main(["create-token", "--name", "x", "--role", "viewer", "--provinces", "99"]) == 2


def test_other_helpers_register_their_commands() -> None:
    parser = build_parser()
    choices = parser._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"serve", "create-token", "list-tokens", "revoke-token"} <= set(choices)
    assert len(COMMANDS) >= 1
