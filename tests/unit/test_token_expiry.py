"""API tokens expire: a leaked technician's token stops working on its own (token expiry).

Expiry is parsed once (``--expires-in``), stored per token, and checked wherever a token is:
every API route (401, the same answer as an unknown token), the live feed (closed like a
revoked one) and the token commands (listed, renewed). Tokens made before expiry existed
keep working.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from aggregator.__main__ import main
from aggregator.app import create_app
from aggregator.auth import (
    authenticate,
    create_token,
    hash_token,
    list_tokens,
    renew_token,
    revoke_token,
)
from aggregator.cli.tokens import parse_expires_in
from aggregator.days import to_ms
from aggregator.feed import Feed
from aggregator.geography import load_geography
from aggregator.schema import all_migrations, open_db
from aggregator.settings import AggregatorSettings
from aggregator.store.db import connect

PEPPER = "expiry-pepper-0123456789"


@pytest.mark.parametrize(("text", "lifetime"), [
    ("90d", timedelta(days=90)), ("12h", timedelta(hours=12)), ("30m", timedelta(minutes=30)),
    (" 1H ", timedelta(hours=1)), ("3650d", timedelta(days=3650)), ("never", None), ("NEVER", None),
])  # fmt: skip
def test_expires_in_is_days_hours_minutes_or_never(text: str, lifetime: timedelta | None) -> None:
    assert parse_expires_in(text) == lifetime


@pytest.mark.parametrize("text", ["", "90", "0d", "1.5h", "-1d", "1w", "90 days", "3651d", "d", "01d", "9999999h"])
def test_a_bad_expires_in_is_one_clear_line(text: str) -> None:
    with pytest.raises(ValueError, match="--expires-in") as err:
        parse_expires_in(text)
    assert "\n" not in str(err.value)


@pytest.mark.calendar
def test_a_token_works_until_its_expiry_second(now: datetime, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                              capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("CAMWATCH_STORE__DB_PATH", str(tmp_path / "agg.db"))
    monkeypatch.setenv("CAMWATCH_API__TOKEN_PEPPER", PEPPER)
    assert main(["create-token", "--name", "phone", "--role", "technician", "--expires-in", "90d"]) == 0
    token = capsys.readouterr().out.strip()
    db = open_db(tmp_path / "agg.db")
    listed = list_tokens(db)[0]
    assert listed.expires == (listed.created + timedelta(days=90)).replace(microsecond=0)
    expires = listed.expires
    assert authenticate(db, token, pepper=PEPPER, now=expires - timedelta(seconds=1)) is not None
    assert authenticate(db, token, pepper=PEPPER, now=expires) is None
    assert authenticate(db, token, pepper=PEPPER, now=expires + timedelta(days=400)) is None
    assert listed.expired(expires) and not listed.expired(expires - timedelta(seconds=1))


def test_tokens_made_before_expiry_existed_keep_working(now: datetime) -> None:
    db = connect(":memory:")
    all_migrations().apply(db, stop_before="token_expiry_v1")
    db.execute("INSERT INTO api_tokens(name, token_hash, role, provinces, created_ms) VALUES (?, ?, ?, ?, ?)",
               ["old noc", hash_token("cw_old-token", PEPPER), "viewer", "", to_ms(now)])  # fmt: skip
    all_migrations().apply(db)
    assert list_tokens(db)[0].expires is None
    who = authenticate(db, "cw_old-token", pepper=PEPPER, now=now + timedelta(days=36500))
    assert who is not None and who.name == "old noc"


def test_renewing_revives_an_expired_token_but_never_a_revoked_one(now: datetime) -> None:
    db = open_db(":memory:")
    geo = load_geography(db)
    token_id, token = create_token(db, "phone", "technician", [], pepper=PEPPER, geography=geo, now=now,
                                   expires=now + timedelta(hours=1))  # fmt: skip
    later = now + timedelta(days=2)
    assert authenticate(db, token, pepper=PEPPER, now=later) is None
    assert renew_token(db, token_id, later + timedelta(days=90), now=later)
    assert authenticate(db, token, pepper=PEPPER, now=later + timedelta(days=89)) is not None
    with pytest.raises(ValueError, match="future"):
        renew_token(db, token_id, later, now=later)
    assert revoke_token(db, token_id, now=later) and not renew_token(db, token_id, None, now=later)
    assert authenticate(db, token, pepper=PEPPER, now=later) is None


@dataclass
class App:
    client: TestClient
    clock: list[datetime]
    tokens: dict[str, str]
    expires: datetime


@pytest.fixture
def app(now: datetime, tmp_path: Path) -> Iterator[App]:
    path = tmp_path / "agg.db"
    db = open_db(path)
    geo = load_geography(db)
    expires = (now + timedelta(hours=12)).replace(microsecond=0)
    tokens = {
        "admin": create_token(db, "admin", "admin", [], pepper=PEPPER, geography=geo, now=now)[1],
        "phone": create_token(db, "phone", "technician", ["10"], pepper=PEPPER, geography=geo, now=now,
                              expires=expires)[1],
    }  # fmt: skip
    clock = [now]
    settings = AggregatorSettings(db_path=path, token_pepper=PEPPER)  # type: ignore[arg-type]
    built = create_app(settings, geo, feed=Feed(lambda: {}), clock=lambda: clock[0])
    built.state.ctx.feed_recheck_s = 0.2  # the shortest api.feed_recheck_s
    with TestClient(built) as client:
        yield App(client, clock, tokens, expires)
    db.close()


def _me(app: App, token: str) -> tuple[int, str]:
    answer = app.client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    return answer.status_code, answer.text


def test_an_expired_token_is_401_like_an_unknown_one(app: App) -> None:
    phone = app.tokens["phone"]
    app.clock[0] = app.expires - timedelta(seconds=1)
    assert _me(app, phone)[0] == 200
    app.clock[0] = app.expires
    status, body = _me(app, phone)
    assert (status, body) == _me(app, "cw_" + "x" * 43) == (401, '{"detail":"the token is unknown, revoked or expired"}')
    assert phone not in body and phone[3:12] not in body
    assert app.client.get("/api/v1/me", headers={"Authorization": f"Bearer {phone}"}).headers["www-authenticate"] == "Bearer"
    # the dashboard signs in with /api/v1/me and reads with the same token: both 401
    assert app.client.get("/api/v1/provinces", headers={"Authorization": f"Bearer {phone}"}).status_code == 401
    assert _me(app, app.tokens["admin"])[0] == 200  # a token without expiry is untouched


def test_the_admin_listing_shows_each_tokens_expiry(app: App) -> None:
    answer = app.client.get("/api/v1/tokens", headers={"Authorization": f"Bearer {app.tokens['admin']}"})
    assert answer.status_code == 200
    expiry = {t["name"]: t["expires"] for t in answer.json()}
    assert expiry["admin"] is None
    assert datetime.fromisoformat(expiry["phone"].replace("Z", "+00:00")) == app.expires


def test_a_caller_sees_its_own_tokens_expiry(app: App) -> None:
    mine = {who: app.client.get("/api/v1/me", headers={"Authorization": f"Bearer {app.tokens[who]}"}).json()
            for who in ("admin", "phone")}  # fmt: skip
    assert mine["admin"]["expires"] is None
    assert datetime.fromisoformat(mine["phone"]["expires"].replace("Z", "+00:00")) == app.expires


def test_a_feed_whose_token_expires_while_connected_is_closed(app: App) -> None:
    app.clock[0] = app.expires - timedelta(seconds=1)
    kinds: list[str] = []
    data: list[str] = []
    headers = {"Authorization": f"Bearer {app.tokens['phone']}"}
    with app.client.stream("GET", "/api/v1/feed", headers=headers) as answer:
        assert answer.status_code == 200
        for line in answer.iter_lines():  # ends only when the server closes the stream
            if line.startswith("event: "):
                kinds.append(line[7:])
            elif line.startswith("data: "):
                data.append(line[6:])
                app.clock[0] = app.expires  # the token's last second is over
    assert kinds[0] == "snapshot" and kinds[-1] == "closed"
    assert json.loads(data[-1]) == {"reason": "the token was revoked or has expired"}
    assert _me(app, app.tokens["phone"])[0] == 401


def test_token_commands_default_renew_and_list_the_expiry(now: datetime, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.setenv("CAMWATCH_STORE__DB_PATH", str(tmp_path / "agg.db"))
    monkeypatch.setenv("CAMWATCH_API__TOKEN_PEPPER", PEPPER)
    assert main(["create-token", "--name", "noc", "--role", "viewer"]) == 0  # api.token_lifetime_days: 365
    capsys.readouterr()
    assert main(["create-token", "--name", "x", "--role", "viewer", "--expires-in", "90 days"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and [line for line in captured.err.splitlines() if "expires-in" in line] == [
        "create-token: --expires-in '90 days': give a whole number of days, hours or minutes (90d, 12h, 30m) or never"]
    monkeypatch.setenv("CAMWATCH_API__TOKEN_LIFETIME_DAYS", "0")
    assert main(["create-token", "--name", "kiosk", "--role", "viewer"]) == 0
    capsys.readouterr()
    db = open_db(tmp_path / "agg.db")
    noc, kiosk = (t for t in sorted(list_tokens(db), key=lambda t: t.id))
    assert noc.expires == (noc.created + timedelta(days=365)).replace(microsecond=0) and kiosk.expires is None
    assert main(["renew-token", str(kiosk.id), "--expires-in", "12h"]) == 0
    assert main(["renew-token", str(noc.id), "--expires-in", "never"]) == 0
    assert main(["renew-token", "99", "--expires-in", "1h"]) == 1
    assert main(["renew-token", str(noc.id), "--expires-in", "1y"]) == 2
    renewed = {t.name: t.expires for t in list_tokens(db)}
    assert renewed["noc"] is None and renewed["kiosk"] is not None and renewed["kiosk"] > now + timedelta(hours=11)
    capsys.readouterr()
    assert main(["list-tokens"]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert "expires never" in listed[1] and f"expires {renewed['kiosk']:%Y-%m-%d %H:%M} UTC" in listed[0]
    assert main(["revoke-token", str(kiosk.id)]) == 0
    assert main(["renew-token", str(kiosk.id), "--expires-in", "1h"]) == 1  # revoked stays revoked


def test_never_expiring_tokens_are_warned_about_in_production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str],
                                                             caplog: pytest.LogCaptureFixture) -> None:  # fmt: skip
    for name, value in (("STORE__DB_PATH", str(tmp_path / "agg.db")), ("API__TOKEN_PEPPER", PEPPER),
                        ("INGEST__PASSWORD", "ingest-password-0123"), ("ENVIRONMENT", "production")):  # fmt: skip
        monkeypatch.setenv(f"CAMWATCH_{name}", value)
    assert main(["create-token", "--name", "noc", "--role", "viewer", "--expires-in", "never"]) == 0
    assert "warning: this token never expires" in capsys.readouterr().err
    assert main(["create-token", "--name", "phone", "--role", "viewer"]) == 0
    assert "never expires" not in capsys.readouterr().err
    monkeypatch.setenv("CAMWATCH_API__TOKEN_LIFETIME_DAYS", "0")  # allowed, but every command says so
    with caplog.at_level(logging.WARNING, logger="aggregator"):
        assert main(["list-tokens"]) == 0
    assert "api.token_lifetime_days is 0" in caplog.text
    monkeypatch.setenv("CAMWATCH_API__TOKEN_LIFETIME_DAYS", "3651")  # out of bounds: one line, exit 78
    assert main(["list-tokens"]) == 78
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("camwatch-aggregator: ")
