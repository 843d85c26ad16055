"""Transport settings come from the agent config and the aggregator environment (issue 4)."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest

from agent.config import parse_config
from agent.publisher import PublisherSettings
from aggregator.ingest.consumer import IngestSettings
from aggregator.settings import AggregatorSettings, load_settings


def test_publisher_settings_from_the_agent_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broker-password").write_text("s3cret-from-credential\n")
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    config = parse_config({
        "site": {"site_id": "cm-0001", "province": "50", "district": "5001", "name": "x"},
        "broker": {"host": "broker.example", "port": 8883, "ca_file": "/etc/camwatch-agent/ca.crt",
                   "password": "credential:broker-password", "heartbeat_interval_s": 30},
    })
    s = PublisherSettings.from_config(config, agent_version="1.2")
    assert (s.site, s.province, s.district, s.host, s.port) == ("cm-0001", "50", "5001", "broker.example", 8883)
    assert s.username == "cm-0001" and s.password == "s3cret-from-credential"
    assert s.tls and s.ca_file == "/etc/camwatch-agent/ca.crt" and s.heartbeat_interval_s == 30.0
    assert "s3cret" not in repr(config)
    assert (s.cert_file, s.key_file) == (None, None)


def test_publisher_settings_carry_the_client_certificate_and_the_installed_version() -> None:
    # issue 12: `run` built these by hand and lost the client certificate and the version
    config = parse_config({
        "site": {"site_id": "cm-0001", "province": "50", "district": "5001"},
        "broker": {"host": "broker.example", "cert_file": "/etc/camwatch-agent/site.crt",
                   "key_file": "/etc/camwatch-agent/site.key", "password": "env:CW_UNSET_FOR_TEST"},
    })
    s = PublisherSettings.from_config(config)
    assert (s.cert_file, s.key_file) == ("/etc/camwatch-agent/site.crt", "/etc/camwatch-agent/site.key")
    assert s.agent_version == importlib.metadata.version("camwatch") != ""


def test_ingest_settings_from_the_environment() -> None:
    tls = load_settings({"CAMWATCH_MQTT_URL": "mqtts://broker.example:8883", "CAMWATCH_MQTT_USERNAME": "aggregator",
                         "CAMWATCH_MQTT_PASSWORD": "a-long-enough-secret",
                         "CAMWATCH_MQTT_CAFILE": "/etc/camwatch/ca.crt"}).settings.ingest  # fmt: skip
    assert (tls.host, tls.port, tls.tls, tls.username, tls.password.get_secret_value(), tls.cafile) == (
        "broker.example", 8883, True, "aggregator", "a-long-enough-secret", Path("/etc/camwatch/ca.crt"))
    assert tls.client_id == "camwatch-aggregator", "a stable client id keeps the persistent session"
    plain = AggregatorSettings(mqtt_url="mqtt://127.0.0.1").ingest
    assert (plain.port, plain.tls) == (1883, False)
    assert isinstance(plain, IngestSettings)
