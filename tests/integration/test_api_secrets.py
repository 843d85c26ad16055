"""Secrets never come back from the API (standards: tokens, camera and broker passwords, webhook keys).

The rig's database holds camera credentials in the stream URIs the agents reported, a
webhook route with its HMAC key, real tokens of each role and a broker password in the
settings. Every answer that could carry one is read, on success and on refusal.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.rig.api_app import (
    CAMERA_PASSWORD,
    MQTT_PASSWORD,
    PEPPER,
    WEBHOOK_SECRET,
    ApiRig,
    api_rig,
)

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[ApiRig]:
    yield from api_rig(tmp_path)


def _clean(rig: ApiRig, text: str, where: str) -> None:
    for name, value in rig.secrets().items():
        assert value not in text, f"{name} in {where}"


def test_tokens_never_in_answers(rig: ApiRig) -> None:
    listed = rig.client.get("/api/v1/tokens", headers=rig.auth("admin"))
    assert listed.status_code == 200 and {t["name"] for t in listed.json()} == set(rig.tokens)
    _clean(rig, listed.text, "the token list")
    # neither the token nor its stored hash: the list shows who and what, nothing to log in with
    assert not any(key in t for t in listed.json() for key in ("token", "hash", "token_hash", "secret"))
    for who in rig.tokens:
        me = rig.client.get("/api/v1/me", headers=rig.auth(who))
        assert me.status_code == 200 and me.json()["name"] == who
        _clean(rig, me.text, f"/me of {who}")
    # refusals: a wrong token, a too-low role, bad input with a good token
    forged = rig.tokens["admin"][:-4] + "AAAA"
    wrong = rig.client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert wrong.status_code == 401 and forged not in wrong.text and "Bearer" in wrong.headers["WWW-Authenticate"]
    for url in ("/api/v1/tokens", "/api/v1/alert-routes"):
        refused = rig.client.get(url, headers=rig.auth("viewer"))
        assert refused.status_code == 403, url
        _clean(rig, refused.text, f"403 of {url}")
    bad = rig.client.get("/api/v1/cameras", headers=rig.auth("viewer"), params={"limit": "many", "sort": "x;--"})
    assert bad.status_code == 422
    _clean(rig, bad.text, "a 422")


def test_webhook_secrets_never_returned(rig: ApiRig) -> None:
    admin = rig.auth("admin")
    listed = rig.client.get("/api/v1/alert-routes", headers=admin)
    assert listed.status_code == 200 and listed.json()[0]["has_secret"] is True
    assert WEBHOOK_SECRET not in listed.text
    fresh = "Fresh-Webhook-Key-9d8c7b6a"
    created = rig.client.post("/api/v1/alert-routes", headers=admin, json={
        "name": "district", "channel": "webhook", "target": "https://hooks.example.test/d", "secret": fresh})  # fmt: skip
    assert created.status_code == 201 and fresh not in created.text and created.json()["has_secret"] is True
    assert fresh not in rig.client.get("/api/v1/alert-routes", headers=admin).text
    # a refused route must not echo the key it was sent (FastAPI's default 422 repeats the body)
    for body in (
        {"channel": "webhook", "target": "ftp://hooks.example.test/d", "secret": fresh},  # whole-body check
        {"channel": "webhook", "target": "https://hooks.example.test/d", "secret": fresh, "level": 99},  # field
        {"channel": "webhook", "target": "https://hooks.example.test/d", "secret": fresh, "extra": fresh},  # extra
        {"channel": "webhook", "target": "https://hooks.example.test/d", "secret": ["list", fresh]},  # wrong type
    ):
        refused = rig.client.post("/api/v1/alert-routes", headers=admin, json=body)
        assert refused.status_code == 422, refused.text
        assert fresh not in refused.text, refused.text
        issues = refused.json()["detail"]
        assert issues and all(i["msg"] and i["loc"] and "input" not in i for i in issues)
    routes = rig.client.get("/api/v1/alert-routes", headers=admin).json()
    assert sorted(r["name"] for r in routes) == ["district", "ops"]  # the refused ones were not stored


def test_no_camera_password_in_camera_answers(rig: ApiRig) -> None:
    admin = rig.auth("admin")
    detail = rig.client.get("/api/v1/cameras/bkk-1/cam-a", headers=admin)
    assert detail.status_code == 200
    body = detail.json()
    assert body["stream_uri"] == "rtsp://10.0.0.5:554/cam-a" and body["transitions"]
    for url, params in (
        ("/api/v1/cameras/bkk-1/cam-a", {}),
        ("/api/v1/cameras", {"limit": 500}),
        ("/api/v1/cameras", {"maker": "Hikvision"}),
        ("/api/v1/sites", {}),
        ("/api/v1/sites/bkk-1", {}),
        ("/api/v1/cameras/bkk-1/cam-a/days", {}),
        ("/api/v1/reports/camera-days/bkk-1/cam-a", {}),
        ("/api/v1/faults", {}),
        ("/api/v1/audit/hygiene", {}),
        ("/api/v1/audit/matches", {}),
        ("/api/v1/quarantine", {}),
    ):  # fmt: skip
        answer = rig.client.get(url, headers=admin, params=params)
        assert answer.status_code == 200, (url, answer.text)
        assert CAMERA_PASSWORD not in answer.text and "admin:" not in answer.text, url
        _clean(rig, answer.text, url)


def test_quarantine_shows_why_not_the_refused_payload(rig: ApiRig) -> None:
    rows = rig.client.get("/api/v1/quarantine", headers=rig.auth("technician")).json()
    assert [r["reason"] for r in rows] == ["invalid_message"] and "width" in rows[0]["detail"]
    assert CAMERA_PASSWORD not in str(rows) and "rtsp://" not in str(rows)


def test_no_broker_password_in_metrics_or_health(rig: ApiRig) -> None:
    health = rig.client.get("/healthz")
    metrics = rig.client.get("/metrics", headers=rig.auth("viewer"))
    ingest = rig.client.get("/api/v1/ingest", headers=rig.auth("viewer"))
    assert health.status_code == metrics.status_code == ingest.status_code == 200
    assert "camwatch_cameras" in metrics.text
    for where, answer in (("/healthz", health), ("/metrics", metrics), ("/api/v1/ingest", ingest)):
        assert MQTT_PASSWORD not in answer.text and PEPPER not in answer.text, where
        _clean(rig, answer.text, where)
