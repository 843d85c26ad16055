"""The aggregator's settings tree and its loader: sources, precedence, refusals (issue 12)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import ValidationError

from aggregator.linkstate import LinkState, describe_error
from aggregator.settings import DEFAULT_SECRET, AggregatorSettings, SettingsError, load_settings
from aggregator.settings.describe import MASK, effective_rows
from aggregator.settings.fields import settings_list

SECRET = "s3cret-never-printed-0123"


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "aggregator.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_nested_variables_and_flat_names_fill_the_tree() -> None:
    s = load_settings({
        "CAMWATCH_SMTP__HOST": "mail.example.go.th", "CAMWATCH_SMTP__PORT": "2525", "CAMWATCH_SMTP__STARTTLS": "require",
        "CAMWATCH_SMTP__SENDER": "camwatch@example.go.th", "CAMWATCH_ALERT_MQTT__HOST": "alerts.example",
        "CAMWATCH_DB_PATH": "/var/lib/camwatch/a.db", "CAMWATCH_API__PORT": "9000",
        "CAMWATCH_INGEST__REQUIRE_ENROLLED": "false", "PATH": "/usr/bin",
    }).settings  # fmt: skip
    assert s.smtp is not None and (s.smtp.host, s.smtp.port, s.smtp.starttls) == ("mail.example.go.th", 2525, "require")
    assert s.alert_mqtt is not None and s.alert_mqtt.host == "alerts.example" and s.alert_mqtt.port == 1883
    assert s.store.db_path == Path("/var/lib/camwatch/a.db") and s.api.port == 9000
    assert s.ingest.require_enrolled is False
    notify = s.notify_settings()
    assert notify.smtp == s.smtp and notify.mqtt == s.alert_mqtt and notify.webhook == s.webhook


def test_alert_channels_are_off_until_a_setting_of_theirs_is_given(tmp_path: Path) -> None:
    s = load_settings({}).settings
    assert s.smtp is None and s.alert_mqtt is None
    on = load_settings({}, _toml(tmp_path, "[smtp]\n")).settings
    assert on.smtp is not None and on.smtp.host == "localhost"


def test_environment_wins_over_the_file_and_sources_are_kept(tmp_path: Path) -> None:
    config = _toml(tmp_path, '[api]\nport = 9000\nhost = "0.0.0.0"\n[smtp]\nhost = "mail.example"\n')
    loaded = load_settings({"CAMWATCH_API_PORT": "9100"}, config)
    assert loaded.settings.api.port == 9100 and loaded.settings.api.host == "0.0.0.0"
    assert loaded.origin("api.port").describe() == "environment CAMWATCH_API_PORT"
    assert loaded.origin("api.host").describe() == f"config file {config}: api.host"
    assert loaded.origin("api.rate_limit_burst").describe() == "default"


@pytest.mark.parametrize(("environ", "named", "why"), [
    ({"CAMWATCH_API_PORT": "abc"}, "CAMWATCH_API_PORT", "valid integer"),
    ({"CAMWATCH_ENVIRONMENT": "prod"}, "CAMWATCH_ENVIRONMENT", "'production'"),
    ({"CAMWATCH_MQTT_URL": "tcp://broker:1883"}, "CAMWATCH_MQTT_URL", "mqtt://"),
    ({"CAMWATCH_MQTT_URL": "mqtt://broker:99999"}, "CAMWATCH_MQTT_URL", "port"),
    ({"CAMWATCH_SMTP__PORT": "70000"}, "CAMWATCH_SMTP__PORT", "65535"),
    ({"CAMWATCH_SMTP__STARTTLS": "maybe"}, "CAMWATCH_SMTP__STARTTLS", "'require'"),
    ({"CAMWATCH_HISTORY_KEEP_DAYS": "3"}, "CAMWATCH_HISTORY_KEEP_DAYS", "at least"),
    ({"CAMWATCH_DB": "/tmp/x.db"}, "CAMWATCH_DB", "did you mean CAMWATCH_DB_PATH"),
    ({"CAMWATCH_SMTP__HOTS": "x"}, "CAMWATCH_SMTP__HOTS", "not a camwatch-aggregator setting"),
    ({"CAMWATCH_DB_PATH": "a.db", "CAMWATCH_STORE__DB_PATH": "b.db"}, "CAMWATCH_DB_PATH", "keep one"),
    ({"CAMWATCH_ENVIRONMENT": "production"}, "CAMWATCH_MQTT_PASSWORD", "default value"),
    ({"CAMWATCH_ALERT_MQTT__USERNAME": "aggregator"}, "CAMWATCH_ALERT_MQTT__USERNAME", "its own account"),
])  # fmt: skip
def test_a_bad_setting_is_one_line_naming_it(environ: dict[str, str], named: str, why: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(environ)
    text = str(err.value)
    assert named in text and why in text and "\n" not in text


def test_unknown_and_misshapen_toml_keys_are_refused(tmp_path: Path) -> None:
    for text, expected in (('[api]\nprot = 1\n', "api.prot is not a setting (did you mean api.port?)"),
                           ('[smpt]\nhost = "x"\n', "smpt is not a setting (did you mean smtp?)"),
                           ('smtp = "mail"\n', "smtp is a table"),
                           ('[api]\nport = "x"\n', "api.port: Input should be a valid integer"),
                           ('[api\n', "not valid TOML")):  # fmt: skip
        with pytest.raises(SettingsError, match=expected.replace("(", r"\(").replace(")", r"\)").replace("?", r"\?")):
            load_settings({}, _toml(tmp_path, text))
    with pytest.raises(SettingsError, match="cannot read the config file"):
        load_settings({}, tmp_path / "missing.toml")


def test_secret_references_are_resolved_and_never_echoed(tmp_path: Path) -> None:
    (tmp_path / "pepper").write_text(SECRET + "\n")
    creds = tmp_path / "creds"
    creds.mkdir()
    (creds / "smtp-password").write_text(SECRET + "-smtp")
    loaded = load_settings({
        "CAMWATCH_MQTT_PASSWORD": "env:CAMWATCH_VAULT_MQTT", "CAMWATCH_VAULT_MQTT": SECRET + "-mqtt",
        "CAMWATCH_TOKEN_PEPPER": f"file:{tmp_path / 'pepper'}", "CAMWATCH_SMTP__PASSWORD": "credential:smtp-password",
        "CREDENTIALS_DIRECTORY": str(creds), "CAMWATCH_ENVIRONMENT": "production",
    })  # fmt: skip
    s = loaded.settings
    assert s.ingest.password.get_secret_value() == SECRET + "-mqtt"
    assert s.api.token_pepper.get_secret_value() == SECRET
    assert s.smtp is not None and s.smtp.password is not None and s.smtp.password.get_secret_value() == SECRET + "-smtp"
    assert loaded.origin("smtp.password").via == "credential:smtp-password"
    rows = {row.key: row for row in effective_rows(loaded)}
    assert rows["api.token_pepper"].value == MASK and rows["smtp.password"].value == MASK
    assert SECRET not in repr(s) and all(SECRET not in str(row.as_dict()) for row in rows.values())


@pytest.mark.parametrize(("value", "why"), [
    ("env:CAMWATCH_NOT_SET", "env:CAMWATCH_NOT_SET: the variable is not set"),
    ("file:/nonexistent/pepper", "cannot read /nonexistent/pepper"),
    ("credential:pepper", "$CREDENTIALS_DIRECTORY is not set"),
    ("env:", "names nothing"),
])  # fmt: skip
def test_a_bad_secret_reference_names_the_setting_and_the_reference(value: str, why: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings({"CAMWATCH_TOKEN_PEPPER": value})
    assert str(err.value).startswith("CAMWATCH_TOKEN_PEPPER: ") and why in str(err.value)


def test_other_programs_variables_are_not_refused() -> None:
    load_settings({"CAMWATCH_AGENT_CONFIG": "/etc/camwatch-agent/agent.yaml"})


def test_default_secrets_are_named_in_development_and_refused_elsewhere() -> None:
    dev = load_settings({}).settings
    assert dev.default_secrets() == ["CAMWATCH_INGEST__PASSWORD or CAMWATCH_MQTT_PASSWORD",
                                     "CAMWATCH_API__TOKEN_PEPPER or CAMWATCH_TOKEN_PEPPER"]  # fmt: skip
    with pytest.raises(SettingsError, match="api.token_pepper .* is shorter than 12"):
        load_settings({"CAMWATCH_ENVIRONMENT": "test", "CAMWATCH_MQTT_PASSWORD": SECRET, "CAMWATCH_TOKEN_PEPPER": "short"})
    ok = load_settings({"CAMWATCH_ENVIRONMENT": "test", "CAMWATCH_MQTT_PASSWORD": SECRET, "CAMWATCH_TOKEN_PEPPER": SECRET})
    assert ok.settings.default_secrets() == []


def test_keywords_take_the_flat_names_too() -> None:
    s = AggregatorSettings(db_path=Path("x.db"), mqtt_url="mqtts://b:8883", token_pepper=SECRET, api={"port": 1234})  # type: ignore[arg-type]
    assert (s.store.db_path, s.ingest.port, s.ingest.tls, s.api.port) == (Path("x.db"), 8883, True, 1234)
    assert s.db_path == s.store.db_path and s.token_pepper.get_secret_value() == SECRET
    with pytest.raises(ValidationError):
        AggregatorSettings(dbpath="x")  # type: ignore[call-arg]


def test_every_setting_has_a_description_and_secrets_start_as_the_default() -> None:
    for setting in settings_list():
        assert setting.field.description, setting.key
    secrets = {s.key for s in settings_list() if s.secret}
    assert secrets == {"ingest.password", "api.token_pepper", "smtp.password", "alert_mqtt.password",
                       "line.channel_access_token"}
    assert load_settings({}).settings.secret(("ingest", "password")) == DEFAULT_SECRET


def test_a_broker_failure_is_logged_once_per_change(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="aggregator.linkstate")
    link = LinkState("ingest", "mqtts://broker.example:8883", retry_min_s=1, retry_max_s=30)
    for _ in range(5):
        link.failed(describe_error(ConnectionRefusedError()))
    link.up()
    link.lost("Unspecified error")
    link.failed("connection refused")
    link.up()
    link.stopping = True
    link.lost("Normal disconnection")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == [
        "ingest: cannot reach MQTT broker mqtts://broker.example:8883: connection refused; "
        "retrying in 1 s, then up to every 30 s",
        lines[1],
        "ingest: lost MQTT broker mqtts://broker.example:8883: Unspecified error; reconnecting (every 1 s to 30 s)",
        lines[3],
    ]
    assert lines[1].startswith("ingest: MQTT broker mqtts://broker.example:8883 reachable again after 5 failed attempts")
    assert lines[3].startswith("ingest: MQTT broker mqtts://broker.example:8883 reachable again after 1 failed attempts")
    assert describe_error(TimeoutError()) == "timed out" and describe_error(None) == "no answer"
