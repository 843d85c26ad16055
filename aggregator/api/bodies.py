"""JSON request bodies read after the role check, and their OpenAPI documentation.

FastAPI parses a route's body parameter before any dependency runs (and reports its
validation errors with theirs), so a viewer posting a malformed body to a technician route
got 422 (and learnt the body's rules) instead of 403. Here the body is a dependency that first
needs the role dependency, then reads and validates the JSON itself::

    RepairBody = Annotated[RepairIn, Depends(technician_body(RepairIn))]

The answers match FastAPI's own: 422 for JSON that does not parse, a wrong content type or
a body that breaks the model (without the values sent: :mod:`aggregator.api.errors`), 400
for a body the parser gives up on (nested too deeply). :func:`document_bodies` puts the
request body schema and the 400 answer back into the OpenAPI document.
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

from fastapi import APIRouter, FastAPI, HTTPException, Request, status
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from aggregator.api.deps import AdminDep, NationalAdminDep, TechnicianDep

__all__ = ["admin_body", "document_bodies", "national_admin_body", "technician_body"]

M = TypeVar("M", bound=BaseModel)
_REF = "#/components/schemas/{model}"
_BAD_BODY = {
    "description": "The body cannot be parsed (nested too deeply)",
    "content": {"application/json": {"schema": {"$ref": _REF.format(model="ErrorOut")}}},
}


def _json_type(request: Request) -> bool:
    value = request.headers.get("content-type")
    if not value:
        return True  # like FastAPI: a body without a content type is read as JSON
    message = email.message.Message()
    message["content-type"] = value
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))


def _refused(kind: str, loc: tuple[str | int, ...], msg: str) -> RequestValidationError:
    return RequestValidationError([{"type": kind, "loc": ("body", *loc), "msg": msg, "input": None}])


async def read_body(request: Request, model: type[M]) -> M:
    """The request's JSON body validated as ``model`` (422/400 as FastAPI answers them)."""
    raw = await request.body()
    if not raw:
        raise _refused("missing", (), "Field required")
    if not _json_type(request):
        raise _refused("content_type", (), "the body must be JSON (Content-Type: application/json)")
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as err:
        raise _refused("json_invalid", (err.pos,), "JSON decode error") from err
    except (RecursionError, ValueError) as err:  # too deep, or bytes that are not text
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "There was an error parsing the body") from err
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in err.errors(include_url=False)]
        ) from err


def technician_body(model: type[M]) -> Callable[..., Awaitable[M]]:
    """A dependency: ``model`` from the body, read only once the caller is a technician or admin."""

    async def read(request: Request, caller: TechnicianDep) -> M:
        return await read_body(request, model)

    read.body_model = model  # type: ignore[attr-defined]  # for document_bodies
    return read


def admin_body(model: type[M]) -> Callable[..., Awaitable[M]]:
    """A dependency: ``model`` from the body, read only once the caller is an administrator."""

    async def read(request: Request, caller: AdminDep) -> M:
        return await read_body(request, model)

    read.body_model = model  # type: ignore[attr-defined]  # for document_bodies
    return read


def national_admin_body(model: type[M]) -> Callable[..., Awaitable[M]]:
    """A dependency: ``model`` from the body, read only once the caller is a national administrator."""

    async def read(request: Request, caller: NationalAdminDep) -> M:
        return await read_body(request, model)

    read.body_model = model  # type: ignore[attr-defined]  # for document_bodies
    return read


def _body_model(dependant: Dependant) -> type[BaseModel] | None:
    for sub in dependant.dependencies:
        model = getattr(sub.call, "body_model", None)
        if isinstance(model, type) and issubclass(model, BaseModel):
            return model
        found = _body_model(sub)
        if found is not None:
            return found
    return None


def document_bodies(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Make ``app.openapi`` describe the bodies read by :func:`technician_body` / :func:`admin_body`
    in the routes of ``routers`` (the routers ``app`` includes)."""
    routes = [r for router in routers for r in router.routes if isinstance(r, APIRoute) and r.include_in_schema]

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes,
            tags=app.openapi_tags,
        )  # fmt: skip
        bodies: dict[tuple[str, str], type[BaseModel]] = {}
        for route in routes:
            model = _body_model(route.dependant)
            if model is not None:
                for method in route.methods or ():
                    bodies[(route.path_format, method.lower())] = model
        if bodies:
            _, defs = models_json_schema([(m, "validation") for m in set(bodies.values())], ref_template=_REF)
            schemas = spec.setdefault("components", {}).setdefault("schemas", {})
            for name, schema in defs.get("$defs", {}).items():
                schemas.setdefault(name, schema)
            for (path, method), model in bodies.items():
                operation = spec["paths"][path][method]
                operation["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": _REF.format(model=model.__name__)}}},
                }
                operation["responses"].setdefault("400", _BAD_BODY)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
