"""The whole API's OpenAPI document: every router mounted, every operation described, errors documented.

Operators and integrators read ``/openapi.json`` (and the /docs page built from it) to learn
what each call does and how it can refuse them; a route added without a summary or with an
undocumented refusal shows up here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.rig.api_app import WEBHOOK_SECRET, ApiRig, api_rig

pytestmark = pytest.mark.timeout(60)

_METHODS = {"get", "post", "put", "patch", "delete"}
# Operations anyone may call without a token.
_OPEN = {("get", "/healthz"), ("get", "/api/v1/alert-images/{token}.jpg")}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    for rig in api_rig(Path(tmp_path_factory.mktemp("openapi"))):
        response = rig.client.get("/openapi.json")
        assert response.status_code == 200
        yield response.json()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, ops in spec["paths"].items() for m, op in ops.items() if m in _METHODS]


def test_every_router_is_mounted(spec: dict[str, Any]) -> None:
    paths = set(spec["paths"])
    for path in (
        "/api/v1/nation", "/api/v1/provinces/{code}", "/api/v1/sites", "/api/v1/cameras/{site_id}/{camera_id}",
        "/api/v1/availability", "/api/v1/feed", "/api/v1/me", "/api/v1/tokens", "/metrics", "/healthz",  # core
        "/api/v1/faults", "/api/v1/faults/{fault_id}/resolve", "/api/v1/alert-routes", "/api/v1/maintenance",
        "/api/v1/audit/register", "/api/v1/audit/matches", "/api/v1/reports/monthly",  # plugins
    ):  # fmt: skip
        assert path in paths, path
    # the dashboard pages are HTML for people, not API operations
    assert not any(p == "/" or p.startswith("/static") for p in paths)
    tags = {t["name"] for t in spec["tags"]}
    used = {tag for _, _, op in _operations(spec) for tag in op.get("tags", [])}
    assert used <= tags, used - tags


def test_every_operation_has_a_summary_and_a_description(spec: dict[str, Any]) -> None:
    missing = [
        f"{method.upper()} {path}"
        for method, path, op in _operations(spec)
        if len(op.get("summary", "").strip()) < 8 or len(op.get("description", "").strip()) < 10
    ]
    assert not missing, missing
    assert spec["info"]["description"].startswith("National availability")


def test_every_refusal_is_documented_with_a_detail(spec: dict[str, Any]) -> None:
    problems = []
    for method, path, op in _operations(spec):
        responses = op["responses"]
        where = f"{method.upper()} {path}"
        expected = set() if (method, path) in _OPEN else {"401", "429"}
        if op.get("parameters") or op.get("requestBody"):
            expected.add("422")
        if path.startswith("/api/v1/"):
            expected |= {"404"} if (method, path) in _OPEN else {"403", "404"}
        if method == "post" and path.endswith(("/acknowledge", "/resolve")):
            expected.add("409")
        if op.get("requestBody"):
            expected.add("400")
        for code in sorted(expected - set(responses)):
            problems.append(f"{where}: {code} not documented")
        for code, response in responses.items():
            if code.startswith("4") and not response.get("description"):
                problems.append(f"{where}: {code} has no description")
    assert not problems, "\n".join(problems)


def test_error_schemas_never_carry_the_input(spec: dict[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    issue = schemas["ValidationIssue"]["properties"]
    assert set(issue) == {"loc", "msg", "type", "ctx"}
    assert "detail" in schemas["ErrorOut"]["properties"] and schemas["ErrorOut"]["examples"]
    # FastAPI's default (which echoes `input`) is replaced everywhere
    assert "HTTPValidationError" not in schemas
    for method, path, op in _operations(spec):
        ref = op["responses"].get("422", {}).get("content", {}).get("application/json", {}).get("schema", {})
        assert ref in ({}, {"$ref": "#/components/schemas/ValidationErrorOut"}), (method, path, ref)


def test_spec_holds_no_secret(tmp_path: Path) -> None:
    for rig in api_rig(tmp_path):
        text = rig.client.get("/openapi.json").text
        _assert_clean(rig, text)
        assert WEBHOOK_SECRET not in text


def _assert_clean(rig: ApiRig, text: str) -> None:
    for name, value in rig.secrets().items():
        assert value not in text, name


def test_every_route_declares_what_it_answers() -> None:
    # issue 12: a response model on every JSON route; the others name their class (CSV/HTML/SSE/text/files)
    from fastapi.responses import JSONResponse
    from fastapi.routing import APIRoute

    from aggregator.app import ROUTERS

    routes = [r for router, _ in ROUTERS for r in router.routes if isinstance(r, APIRoute)]
    bare = [
        f"{sorted(r.methods)} {r.path}" for r in routes
        if r.response_model is None and r.status_code != 204
        and (r.response_class is JSONResponse or getattr(r.response_class, "value", None) is not None)
    ]  # fmt: skip
    assert not bare, bare
    assert len(routes) > 40


def test_bodies_read_after_the_role_check_are_documented(spec: dict[str, Any]) -> None:
    # the role-first bodies (aggregator/api/bodies.py) are not FastAPI body parameters: the spec still shows them
    for method, path, model in (("post", "/api/v1/faults/{fault_id}/resolve", "RepairIn"),
                                ("post", "/api/v1/maintenance", "WindowSpec"), ("post", "/api/v1/alert-routes", "RouteSpec"),
                                ("put", "/api/v1/audit/overrides", "OverrideIn"), ("post", "/api/v1/audit/reconcile", "ReconcileIn")):  # fmt: skip
        body = spec["paths"][path][method]["requestBody"]
        assert body["content"]["application/json"]["schema"] == {"$ref": f"#/components/schemas/{model}"}
        assert spec["components"]["schemas"][model]["properties"]
