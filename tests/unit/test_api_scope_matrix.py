"""The scope matrix (issue 13): every route of the OpenAPI document x every role x {own
province, another province, no token}, on the real app over real objects in two provinces.

For each route the table :data:`RULES` names the lowest role and how its answer is scoped;
a route of the document missing from the table fails the test (a new route needs a rule).
Each answer is checked: 401 without a token; 403 for a role too low, before any body is
validated; 404 for an object of another province with the same text as for one that does not
exist; or data only from the caller's provinces (and, for a national caller, from both, so
the check can fail). Callers: viewer, technician and admin, each scoped to province 10 or
national. Objects: sites, cameras, faults, maintenance windows, audit register rows,
quarantine rows and snapshots in province 10 (Bangkok) and 50 (Chiang Mai).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from aggregator.auth import create_token
from aggregator.feed import Feed
from aggregator.geography import load_geography
from aggregator.ingest.quarantine import Quarantine
from aggregator.schema import open_db
from aggregator.store.maintenance import TargetKind, WindowSpec
from aggregator.store.snapshots import SnapshotStore
from protocol import CameraState, Reason, Snapshot
from tests.clock import PINNED
from tests.rig.api_app import PEPPER, ApiRig, api_rig
from tests.rig.faults import cam
from tests.unit.test_audit_api import register_csv

pytestmark = pytest.mark.timeout(60)

OWN, OTHER = "10", "50"
ROLES = ("viewer", "technician", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}
SITE_PROVINCE = {"bkk-1": OWN, "cm-1": OTHER}
# Path values of an object in the caller's province, in the other one, and of none at all.
PATHS = {
    "own": {"site_id": "bkk-1", "camera_id": "cam-b", "code": OWN, "route_id": "1"},
    "other": {"site_id": "cm-1", "camera_id": "cam-y", "code": OTHER, "route_id": "1"},
    "missing": {"site_id": "nope-1", "camera_id": "cam-nope", "code": "11", "fault_id": "999999",
                "window_id": "999999", "route_id": "999999", "key": "10|id|nope", "import_id": "999999"},
}
# Query values a route needs to answer at all.
QUERY = {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z", "month": "2026-11", "q": "cam",
         "declared_key": "nope", "discovered_key": "nope"}


@dataclass(frozen=True)
class Rule:
    """``role``: the lowest role (None: no token needed). ``scope``:

    * ``list``: the answer holds data of the caller's provinces only (both for a national caller
      when ``both``); a ``province`` query outside the scope is 404;
    * ``object``: the path names an object; another province's is 404 like a missing one;
    * ``national``: national figures or settings: a token limited to provinces gets 403;
    * ``caller``: about the calling token itself, or naming no province (an override pair's keys);
    * ``open``: anyone, no province data;
    * ``capability``: no token, but the path carries an unguessable expiring key (a LINE image
      link): a key nobody issued answers 404.
    """

    role: str | None
    scope: str
    both: bool = False
    body: dict[str, Any] | None = None  # a valid body for the route (own province)


RULES: dict[tuple[str, str], Rule] = {
    ("GET", "/healthz"): Rule(None, "open"),
    ("GET", "/api/v1/alert-images/{token}.jpg"): Rule(None, "capability"),
    ("GET", "/metrics"): Rule("viewer", "national"),
    ("GET", "/api/v1/me"): Rule("viewer", "caller"),
    ("GET", "/api/v1/tokens"): Rule("admin", "national"),
    ("GET", "/api/v1/ingest"): Rule("viewer", "national"),
    ("GET", "/api/v1/quarantine"): Rule("technician", "list", both=True),
    ("GET", "/api/v1/feed"): Rule("viewer", "list", both=True),
    ("GET", "/api/v1/nation"): Rule("viewer", "national"),
    ("GET", "/api/v1/availability"): Rule("viewer", "national"),
    ("GET", "/api/v1/provinces"): Rule("viewer", "list", both=True),
    ("GET", "/api/v1/provinces/{code}"): Rule("viewer", "object"),
    ("GET", "/api/v1/districts"): Rule("viewer", "list", both=True),
    ("GET", "/api/v1/districts/{code}"): Rule("viewer", "object"),
    ("GET", "/api/v1/sites"): Rule("viewer", "list", both=True),
    ("GET", "/api/v1/sites/{site_id}"): Rule("viewer", "object"),
    ("PATCH", "/api/v1/sites/{site_id}"): Rule("admin", "object", body={"name": "Sanam Luang", "phone": "02 123 4567"}),
    ("GET", "/api/v1/cameras"): Rule("viewer", "list", both=True),
    ("GET", "/api/v1/cameras/{site_id}/{camera_id}"): Rule("viewer", "object"),
    ("GET", "/api/v1/cameras/{site_id}/{camera_id}/days"): Rule("viewer", "object"),
    ("GET", "/api/v1/cameras/{site_id}/{camera_id}/snapshot"): Rule("viewer", "object"),
    ("POST", "/api/v1/cameras/{site_id}/{camera_id}/snapshot"): Rule("technician", "object"),
    ("GET", "/api/v1/availability/cameras/{site_id}/{camera_id}"): Rule("viewer", "object"),
    # The console's period picker (issue 15): every province in the caller's scope at once.
    ("GET", "/api/v1/availability/provinces"): Rule("viewer", "list", both=True),
    ("GET", "/api/v1/reports/monthly"): Rule("viewer", "national"),
    ("GET", "/api/v1/reports/pack"): Rule("viewer", "national"),
    ("GET", "/api/v1/reports/camera-days/{site_id}/{camera_id}"): Rule("viewer", "object"),
    ("GET", "/api/v1/faults"): Rule("viewer", "list", both=True),
    ("GET", "/api/v1/faults/figures"): Rule("viewer", "list"),
    ("GET", "/api/v1/faults/{fault_id}"): Rule("viewer", "object"),
    ("POST", "/api/v1/faults/{fault_id}/acknowledge"): Rule("technician", "object"),
    ("POST", "/api/v1/faults/{fault_id}/resolve"): Rule("technician", "object", body={"done": "checked"}),
    ("POST", "/api/v1/faults/{fault_id}/assign"): Rule("technician", "object", body={"assignee": "Somchai"}),
    ("GET", "/api/v1/search"): Rule("viewer", "list", both=True),
    ("GET", "/api/v1/maintenance"): Rule("viewer", "list", both=True),
    ("POST", "/api/v1/maintenance"): Rule("technician", "object", body={
        "target_kind": "site", "target_id": "bkk-1", "weekday": 1, "start_time": "01:00", "duration_min": 60}),
    ("DELETE", "/api/v1/maintenance/{window_id}"): Rule("technician", "object"),
    ("GET", "/api/v1/alert-routes"): Rule("admin", "national"),
    ("POST", "/api/v1/alert-routes"): Rule("admin", "national", body={
        "channel": "webhook", "target": "http://127.0.0.1:9/hook", "province": OWN}),
    ("DELETE", "/api/v1/alert-routes/{route_id}"): Rule("admin", "national"),
    ("GET", "/api/v1/deliveries"): Rule("technician", "list"),
    ("POST", "/api/v1/audit/register"): Rule("admin", "list"),
    ("POST", "/api/v1/audit/risk-points"): Rule("admin", "list"),
    # A province's administrator sees the imports made within their provinces (issue 14).
    ("GET", "/api/v1/audit/imports"): Rule("admin", "list"),
    ("GET", "/api/v1/audit/imports/{import_id}/rejected"): Rule("admin", "object"),
    ("GET", "/api/v1/audit/declared/{key}"): Rule("viewer", "object"),
    # Its If-Match version is spent by the first edit: only refusals here (edits: test_audit_edit_api).
    ("PATCH", "/api/v1/audit/declared/{key}"): Rule("admin", "object", body={"agency": "Tourist police"}),
    ("GET", "/api/v1/audit/history/{key}"): Rule("viewer", "object"),
    ("POST", "/api/v1/audit/reconcile"): Rule("admin", "national", body={}),
    ("GET", "/api/v1/audit/summary"): Rule("viewer", "list", both=True),
    ("GET", "/api/v1/audit/matches"): Rule("viewer", "list", both=True),
    ("GET", "/api/v1/audit/declared"): Rule("viewer", "list", both=True),
    ("GET", "/api/v1/audit/overrides"): Rule("viewer", "list"),
    ("PUT", "/api/v1/audit/overrides"): Rule("admin", "list"),
    ("DELETE", "/api/v1/audit/overrides"): Rule("admin", "caller"),  # names a pair by keys, no province
    ("GET", "/api/v1/audit/risk-coverage"): Rule("viewer", "list"),
    ("GET", "/api/v1/audit/hygiene"): Rule("viewer", "list", both=True),
    # The province's plans and certification (issue 14): {code} is the province.
    ("GET", "/api/v1/audit/completeness"): Rule("viewer", "list", both=True),
    ("GET", "/api/v1/audit/plans/{code}/repair"): Rule("viewer", "object"),
    ("GET", "/api/v1/audit/plans/{code}/repair/export"): Rule("viewer", "object"),
    ("GET", "/api/v1/audit/plans/{code}/install"): Rule("viewer", "object"),
    ("GET", "/api/v1/audit/plans/{code}/link"): Rule("viewer", "object"),
    ("PUT", "/api/v1/audit/plans/{code}"): Rule("admin", "object", body={
        "plan": "repair", "item": "camera:10|id|B1", "action": "replace the camera", "cost_baht": 9000}),
    ("POST", "/api/v1/audit/certifications/{code}"): Rule("admin", "object", body={"officer": "Somchai Jaidee"}),
    ("GET", "/api/v1/audit/certifications/{code}"): Rule("viewer", "object"),
    ("GET", "/api/v1/audit/advisories"): Rule("viewer", "list"),
    ("POST", "/api/v1/audit/advisories"): Rule("admin", "national"),
    ("GET", "/api/v1/cameras/{site_id}/{camera_id}/changes"): Rule("viewer", "object"),
}
# Routes whose a ``province`` query narrows the answer (outside the caller's scope: 404).
_SITE_OF_TOPIC = re.compile(r"^camwatch/v1/(\d\d)/")


def _provinces(value: Any, out: set[str]) -> set[str]:
    """Every province an answer mentions: ``province``/``code`` fields, districts, sites, topics."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(item, str):
                if key in ("province", "code") and re.fullmatch(r"\d\d", item):
                    out.add(item)
                elif key in ("district", "code") and re.fullmatch(r"\d{4}", item):
                    out.add(item[:2])
                elif key in ("site", "site_id", "target_id") and item in SITE_PROVINCE:
                    out.add(SITE_PROVINCE[item])
                elif key == "topic" and (m := _SITE_OF_TOPIC.match(item)):
                    out.add(m.group(1))
            elif re.fullmatch(r"\d\d", key) and isinstance(item, dict):  # {province: {...}} maps
                out.add(key)
            _provinces(item, out)
    elif isinstance(value, list):
        for item in value:
            _provinces(item, out)
    return out


@dataclass
class World:
    rig: ApiRig
    tokens: dict[str, str]  # "role@10" / "role@all" -> token
    objects: dict[str, dict[str, str]]  # "own"/"other" -> path values of faults and windows


def _jpeg() -> str:
    ok, data = cv2.imencode(".jpg", np.zeros((8, 8, 3), np.uint8))
    assert ok
    return base64.b64encode(data.tobytes()).decode()


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    for rig in api_rig(Path(tmp_path_factory.mktemp("matrix")), PINNED):
        db = open_db(rig.db_path)
        geography = load_geography(db)
        tokens = {f"{role}@{scope or 'all'}": create_token(db, f"{role} {scope}", role, [scope] if scope else [],
                                                           pepper=PEPPER, geography=geography)[1]
                  for role in ROLES for scope in (OWN, "")}  # fmt: skip
        now = PINNED
        Quarantine(db).add("camwatch/v1/50/5001/cm-1/events", b"{}", "invalid_message", "cm-1's bad event", now=now)
        snapshots = SnapshotStore(db)
        for site, camera in (("bkk-1", "cam-b"), ("cm-1", "cam-y")):
            snapshots.expect(f"snap-{site}", site, camera)
            snapshots.put(Snapshot(site=site, ts=now, camera_id=camera, cmd_id=f"snap-{site}", taken_at=now, width=8,
                                   height=8, data=_jpeg()), now)  # fmt: skip
        db.conn.commit()
        service = rig.client.app.state.ctx.faults  # type: ignore[attr-defined]
        service.feed([cam(now, "cam-y", CameraState.DEGRADED, Reason.NO_VIDEO, site="cm-1", district="5001"),
                      cam(now, "cam-b", CameraState.DOWN, Reason.UNREACHABLE, site="bkk-1", district="1001")], now)
        calendar = service.calendar
        rig.client.app.state.ctx.feed = Feed(rig.client.app.state.ctx.store.state_counts)  # type: ignore[attr-defined]
        calendar.add(WindowSpec(target_kind=TargetKind.SITE, target_id="bkk-1", starts_at=now + timedelta(days=1),
                                ends_at=now + timedelta(days=1, hours=1), note="bkk"), now)  # fmt: skip
        windows = {w["target_id"]: str(w["id"]) for w in rig.client.get(
            "/api/v1/maintenance", headers=rig.auth("admin")).json()}  # fmt: skip
        faults = {f["camera_id"]: str(f["id"]) for f in rig.client.get("/api/v1/faults", headers=rig.auth("admin")).json()}
        imported = rig.client.post("/api/v1/audit/register", headers=rig.auth("admin"), files={"file": (
            "r.csv", register_csv([["B1", "กรุงเทพมหานคร", "บางรัก", "Silom", 13.7286, 100.534, "SN-cam-b", "ใช้งานได้"],
                                   ["C1", "เชียงใหม่", "เมือง", "Gate", 18.78, 98.99, "SN-cam-y", "ใช้งานได้"]]),
            "text/csv")})  # fmt: skip
        assert imported.status_code == 200 and imported.json()["inserted"] == 2, imported.text
        assert rig.client.post("/api/v1/audit/reconcile", headers=rig.auth("admin"), json={}).status_code == 200
        db.close()
        # An import by the province's own administrator (the national one above is not theirs).
        mine = rig.client.post("/api/v1/audit/register", headers={"Authorization": f"Bearer {tokens['admin@' + OWN]}"},
                               files={"file": ("r.csv", register_csv([["B2", "กรุงเทพมหานคร", "บางรัก", "Silom 2", 13.7286,
                                                                       100.534, "SN-B2", "พัง"]]), "text/csv")})  # fmt: skip
        assert mine.status_code == 200 and mine.json()["rejected"] == 1, mine.text
        objects = {"own": {"fault_id": faults["cam-b"], "window_id": windows["bkk-1"], "key": "10|id|B1",
                           "import_id": str(mine.json()["import_id"])},
                   "other": {"fault_id": faults["cam-y"], "window_id": windows["cm-1"], "key": "50|id|C1",
                             "import_id": str(imported.json()["import_id"])}}
        yield World(rig, tokens, objects)


def _url(path: str, values: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _call(world: World, method: str, url: str, who: str | None, *, body: Any = None, query: dict[str, str] | None = None,
          files: bool = False) -> Any:  # fmt: skip
    headers = {"Authorization": f"Bearer {world.tokens[who]}"} if who else {}
    kwargs: dict[str, Any] = {"params": query or None, "headers": headers}
    if files:
        kwargs["files"] = {"file": ("r.csv", register_csv([["C9", "เชียงใหม่", "เมือง", "Gate", 18.78, 98.99, "S9",
                                                             "ใช้งานได้"]]), "text/csv")}  # fmt: skip
    elif body is not None:
        kwargs["json"] = body
    if method == "GET" and url == "/api/v1/feed":
        with world.rig.client.stream(method, url, **kwargs) as answer:
            if answer.status_code != 200:
                answer.read()
                return answer
            for line in answer.iter_lines():
                if line.startswith("data: "):
                    answer.first_data = line[len("data: "):]  # type: ignore[attr-defined]
                    return answer
    return world.rig.client.request(method, url, **kwargs)


def _json(answer: Any) -> Any:
    text = getattr(answer, "first_data", None)
    if text is not None:
        import json

        return json.loads(text)
    try:
        return answer.json()
    except ValueError:
        return None


def test_every_route_has_a_scope_rule(world: World) -> None:
    spec = world.rig.client.get("/openapi.json").json()
    routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m in {"get", "post", "put", "patch", "delete"}}
    assert routes - RULES.keys() == set(), "routes without a scope rule in RULES: add one"
    assert RULES.keys() - routes == set(), "rules of routes that are gone"


def test_every_route_answers_every_caller_within_its_scope(world: World) -> None:
    problems: list[str] = []
    spec = world.rig.client.get("/openapi.json").json()
    for (method, path), rule in sorted(RULES.items(), key=lambda kv: (kv[0][0] != "GET", kv[0][1])):
        op = spec["paths"][path][method.lower()]
        _check(world, method, path, rule, op, problems)
    assert not problems, "\n".join(problems)


def _check(world: World, method: str, path: str, rule: Rule, op: dict[str, Any], problems: list[str]) -> None:
    where = f"{method} {path}"
    if rule.scope == "capability":
        forged = _call(world, method, path.replace("{token}", "0" * 32), None, body=None, query={}, files=False)
        if forged.status_code != 404:
            problems.append(f"{where}: a key nobody issued answered {forged.status_code}, not 404")
        return
    files = "multipart/form-data" in op.get("requestBody", {}).get("content", {})
    query = {p["name"]: QUERY[p["name"]] for p in op.get("parameters", []) if p.get("required") and p["in"] == "query"}
    own = _url(path, {**PATHS["own"], **world.objects["own"]} | ({"code": "1001"} if "districts" in path else {}))
    other = _url(path, {**PATHS["other"], **world.objects["other"]} | ({"code": "5001"} if "districts" in path else {}))
    missing = _url(path, PATHS["missing"] | ({"code": "1099"} if "districts" in path else {}))
    body = rule.body if rule.body is not None else ({} if "requestBody" in op and not files else None)

    anonymous = _call(world, method, own, None, body=body, query=query, files=files)
    if rule.role is None:
        if anonymous.status_code != 200:
            problems.append(f"{where}: open route answered {anonymous.status_code} without a token")
        return
    if anonymous.status_code != 401:
        problems.append(f"{where}: {anonymous.status_code} without a token, not 401")
    for role in ROLES:
        for scope in (OWN, "all"):
            who = f"{role}@{scope}"
            if RANK[role] < RANK[rule.role]:
                # a malformed body too: the role is refused before the body is read
                bad = {"nonsense": ["x"]} if "requestBody" in op and not files else body
                answer = _call(world, method, own, who, body=bad, query=query, files=files)
                if answer.status_code != 403:
                    problems.append(f"{where} as {who}: {answer.status_code}, not 403 (role too low)")
                continue
            _check_scope(world, where, method, path, rule, op, who, scope, own, other, missing, body, query, files, problems)


def _check_scope(
    world: World, where: str, method: str, path: str, rule: Rule, op: dict[str, Any], who: str, scope: str, own: str,
    other: str,
    missing: str, body: Any, query: dict[str, str], files: bool, problems: list[str],
) -> None:  # fmt: skip
    scoped = scope != "all"
    mutating = method in ("DELETE",) or path.endswith(("/acknowledge", "/resolve")) or (
        method, path) == ("PATCH", "/api/v1/audit/declared/{key}")
    if rule.scope == "national":
        if scoped:
            answer = _call(world, method, own, who, body=body, query=query, files=files)
            if answer.status_code != 403:
                problems.append(f"{where} as {who}: {answer.status_code}, not 403 (national only)")
        return
    if rule.scope in ("open", "caller"):
        return
    if rule.scope == "object":
        if scoped:
            out = _call(world, method, other, who, body=_other_body(body), query=query)
            gone = _call(world, method, missing, who, body=_missing_body(body), query=query)
            if out.status_code != 404:
                problems.append(f"{where} as {who}: another province's object answered {out.status_code}, not 404")
            elif _anonymised(out, other, _other_body(body)) != _anonymised(gone, missing, _missing_body(body)):
                problems.append(f"{where} as {who}: 404 text {_json(out)} differs from a missing one's {_json(gone)}")
        if not mutating:
            answer = _call(world, method, own, who, body=body, query=query)
            if answer.status_code >= 400 and answer.status_code != 503:  # 503: no ingest in this app (snapshot)
                problems.append(f"{where} as {who}: own province's object answered {answer.status_code}")
        return
    # list
    answer = _call(world, method, own, who, body=body, query=query, files=files)
    if answer.status_code >= 400 and not (body is not None or files):
        problems.append(f"{where} as {who}: {answer.status_code} for a list")
        return
    seen = _provinces(_json(answer), set())
    if scoped and not seen <= {OWN}:
        problems.append(f"{where} as {who}: data of provinces {sorted(seen - {OWN})} outside the scope")
    if not scoped and rule.both and not {OWN, OTHER} <= seen:
        problems.append(f"{where} as {who}: a national caller sees only {sorted(seen)} (the check could not fail)")
    if scoped and method == "GET" and "province" in {p["name"] for p in op.get("parameters", [])}:
        narrowed = _call(world, method, own, who, query={**query, "province": OTHER})
        if narrowed.status_code not in (404, 422):
            problems.append(f"{where} as {who}: ?province={OTHER} answered {narrowed.status_code}, not 404")


def _other_body(body: Any) -> Any:
    if isinstance(body, dict) and body.get("target_id") == "bkk-1":
        return {**body, "target_id": "cm-1"}
    return body


def _missing_body(body: Any) -> Any:
    if isinstance(body, dict) and body.get("target_id") == "bkk-1":
        return {**body, "target_id": "nope-1"}
    return body


def _anonymised(answer: Any, url: str, body: Any) -> str:
    """The 404 text with the path's and the body's own values (what was asked for) blanked."""
    detail = str((_json(answer) or {}).get("detail", ""))
    asked = url.strip("/").split("/") + ([str(body.get("target_id", ""))] if isinstance(body, dict) else [])
    for part in sorted(asked, key=len, reverse=True):
        if part and part not in ("api", "v1"):
            detail = detail.replace(part, "X")
    return detail


def test_a_new_route_without_a_rule_fails(world: World) -> None:
    """The table guard itself: a route missing from RULES is reported (so it can fail)."""
    spec = world.rig.client.get("/openapi.json").json()
    routes = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops if m in {"get", "post", "put", "patch", "delete"}}
    fewer = dict(RULES)
    fewer.pop(("GET", "/api/v1/cameras"))
    assert routes - fewer.keys() == {("GET", "/api/v1/cameras")}
    assert isinstance(datetime.fromisoformat("2026-11-25T03:00:00+00:00"), datetime)
