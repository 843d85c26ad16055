"""Agent config: built from dicts, bad keys named, secrets kept out (issue 3)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from agent.config import (
    AgentConfig,
    CameraConfig,
    ConfigError,
    DiscoveryConfig,
    load_config,
    load_secrets,
    parse_config,
    resolve_secret,
)


def base(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"site": {"site_id": "bkk-001", "province": "10", "district": "1001"}}
    data.update(overrides)
    return data


def test_minimal_config_has_documented_defaults() -> None:
    cfg = parse_config(base())
    assert cfg.checks.interval_s == 60
    assert cfg.health.confirm_down == 2
    assert cfg.broker.port == 8883 and cfg.broker.tls
    assert cfg.outbox_path() == cfg.state_dir / "outbox.sqlite3"
    # every field documents itself
    for model in (AgentConfig, CameraConfig, DiscoveryConfig):
        for name, field in model.model_fields.items():
            if model is AgentConfig and name in {"site"}:
                continue
            assert field.description or field.default_factory, f"{model.__name__}.{name} has no description"


def test_unknown_key_is_named_with_its_path() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(base(checks={"intervall_s": 30}))
    assert "checks.intervall_s: unknown key" in str(info.value)


def test_bad_codes_are_refused() -> None:
    with pytest.raises(ConfigError, match="site.province"):
        parse_config(base(site={"site_id": "s1", "province": "1", "district": "1001"}))
    with pytest.raises(ConfigError, match="not in province"):
        parse_config(base(site={"site_id": "s1", "province": "10", "district": "5001"}))
    with pytest.raises(ConfigError, match="site.site_id"):
        parse_config(base(site={"site_id": "a/b", "province": "10", "district": "1001"}))


def test_bounds_are_enforced() -> None:
    with pytest.raises(ConfigError, match="checks.concurrency"):
        parse_config(base(checks={"concurrency": 0}))
    with pytest.raises(ConfigError, match="jitter_s"):
        parse_config(base(checks={"interval_s": 10, "jitter_s": 10}))


def test_broker_password_in_clear_is_refused_without_echo() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(base(broker={"password": "hunter2"}))
    assert "broker.password" in str(info.value)
    assert "hunter2" not in str(info.value)


def test_broker_password_resolves_from_env_and_credentials_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CW_TEST_PW", "from-env")
    cfg = parse_config(base(broker={"password": "env:CW_TEST_PW"}))
    assert cfg.broker.resolve_password() == "from-env"
    (tmp_path / "broker-password").write_text("from-cred\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    assert parse_config(base()).broker.resolve_password() == "from-cred"
    assert resolve_secret("credential:missing") is None


def test_cert_without_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="cert_file and key_file"):
        parse_config(base(broker={"cert_file": "/etc/c.pem"}))
    with pytest.raises(ConfigError, match="need tls"):
        parse_config(base(broker={"cert_file": "/etc/c.pem", "key_file": "/etc/c.key", "tls": False}))


def test_camera_uri_with_credentials_is_refused() -> None:
    cam = {"id": "cam1", "address": "10.0.0.14", "stream_uri": "rtsp://admin:pw@10.0.0.14/s"}
    with pytest.raises(ConfigError) as info:
        parse_config(base(cameras=[cam]))
    assert "cameras.0.stream_uri" in str(info.value) and "pw@" not in str(info.value)


def test_duplicate_camera_ids_are_refused() -> None:
    cam = {"id": "cam1", "address": "10.0.0.14"}
    with pytest.raises(ConfigError, match="appears twice"):
        parse_config(base(cameras=[cam, cam]))


def test_discovery_targets_expand_cidrs_and_cap() -> None:
    d = DiscoveryConfig(unicast_targets=["10.0.0.14", "10.0.1.0/30", "10.0.0.14"], max_hosts=100)
    assert d.unicast_addresses() == ["10.0.0.14", "10.0.1.1", "10.0.1.2"]
    assert len(DiscoveryConfig(unicast_targets=["10.0.0.0/16"], max_hosts=50).unicast_addresses()) == 50
    with pytest.raises(ConfigError, match="discovery.unicast_targets"):
        parse_config(base(discovery={"unicast_targets": ["10.0.0.300"]}))


def test_load_config_reports_file_problems(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("site: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    good = tmp_path / "agent.yaml"
    good.write_text("site: {site_id: s1, province: '10', district: '1001'}\ncameras:\n"
                    "  - {id: c1, address: 10.0.0.14, stream_uri: 'rtsp://10.0.0.14/s1'}\n")
    assert load_config(good).cameras[0].stream_uri == "rtsp://10.0.0.14/s1"


def _secrets(tmp_path: Path, mode: int) -> Path:
    path = tmp_path / "secrets.yaml"
    path.write_text(
        "credentials:\n  site: {username: admin, password: 'pa ss'}\n  vendor: {username: admin, password: '12345'}\n"
        "try_order: [site, vendor]\n"
    )
    os.chmod(path, mode)
    return path


def test_secrets_file_must_be_private(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="chmod 600"):
        load_secrets(_secrets(tmp_path, 0o644))
    with pytest.raises(ConfigError, match="readable by other users"):
        load_secrets(_secrets(tmp_path, 0o640))
    with pytest.raises(ConfigError, match="not found"):
        load_secrets(tmp_path / "missing.yaml")


def test_secrets_per_camera_and_try_order(tmp_path: Path) -> None:
    secrets = load_secrets(_secrets(tmp_path, 0o600))
    own = CameraConfig(id="c1", address="10.0.0.1", credential="vendor")
    anyc = CameraConfig(id="c2", address="10.0.0.2")
    assert [c.password.get_secret_value() for c in secrets.for_camera(own)] == ["12345"]
    assert [c.password.get_secret_value() for c in secrets.for_camera(anyc)] == ["pa ss", "12345"]
    assert "pa ss" not in repr(secrets)


def test_secrets_with_unknown_try_name_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("credentials: {}\ntry_order: [ghost]\n")
    os.chmod(path, 0o600)
    with pytest.raises(ConfigError, match="ghost"):
        load_secrets(path)
