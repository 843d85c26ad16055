"""Error answers: validation errors that never echo what the caller sent.

FastAPI's default 422 repeats each offending value under ``input`` (for a body-level
check, the whole body). A refused alert route would then hand its webhook secret back in
the answer, and proxies or browser consoles would keep it. The answer here keeps where
(``loc``), what (``msg``) and the kind (``type``) of each problem, plus plain limits from
``ctx`` (``ge``, ``max_length``, ``pattern``...); never the submitted values.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from aggregator.api.readers import RETRY_AFTER_S, StoreBusy, is_busy

__all__ = ["ERROR_RESPONSES", "ErrorOut", "ValidationErrorOut", "install_error_handlers", "redacted_errors"]

_PLAIN = (str, int, float, bool)


class ErrorOut(BaseModel):
    """An error with a sentence a person can act on."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"detail": "camera bkk-1/cam-9 not found"}]}
    )

    detail: str = Field(description="What went wrong")


class ValidationIssue(BaseModel):
    """One refused input: where, what and which rule (never the value sent)."""

    loc: list[str | int] = Field(description="Where: body, query, path or header, then the field")
    msg: str = Field(description="What is wrong")
    type: str = Field(description="The rule broken (pydantic error type)")
    ctx: dict[str, str | int | float | bool] | None = Field(default=None, description="The rule's limits")


class ValidationErrorOut(BaseModel):
    """A refused request: a sentence (checks in the route) or one issue per bad input (schema checks)."""

    detail: str | list[ValidationIssue]


_CLIENT_ERRORS: dict[int, tuple[type[BaseModel], str]] = {
    401: (ErrorOut, "No bearer token, or an unknown, revoked or expired one"),
    403: (ErrorOut, "The token's role is too low for this"),
    404: (ErrorOut, "Unknown id, or outside the token's provinces"),
    422: (ValidationErrorOut, "Refused input (nothing was changed); the values sent are not repeated"),
    429: (ErrorOut, "Over the token's rate limit; retry after the Retry-After header's seconds"),
    503: (ErrorOut, "The store could not answer in time (busy) or a part is not running; retry after Retry-After"),
}
# Documented on every API router (see create_app); routes answer only those that apply.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    code: {"model": model, "description": text} for code, (model, text) in _CLIENT_ERRORS.items()
}


def redacted_errors(errors: Any) -> list[dict[str, Any]]:
    """Validation errors without the submitted values (``input``) and with only plain ``ctx`` limits."""
    out: list[dict[str, Any]] = []
    for error in errors:
        item: dict[str, Any] = {
            "loc": [p if isinstance(p, int) else str(p) for p in error.get("loc", ())],
            "msg": str(error.get("msg", "invalid value")),
            "type": str(error.get("type", "value_error")),
        }
        ctx = {k: v for k, v in (error.get("ctx") or {}).items() if isinstance(v, _PLAIN)}
        if ctx:
            item["ctx"] = ctx
        out.append(item)
    return out


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    return JSONResponse(status_code=status.HTTP_422_UNPROCESSABLE_CONTENT, content={"detail": redacted_errors(errors)})


async def _store_busy(request: Request, exc: Exception) -> JSONResponse:
    """503 with Retry-After for a read the store could not answer within its bound; any other
    database error stays a server error."""
    if isinstance(exc, sqlite3.OperationalError) and not is_busy(exc):
        raise exc
    request.app.state.ctx.pool.refused(exc)
    return JSONResponse(status_code=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_S)},
                        content={"detail": "the store is busy and could not answer in time; retry shortly"})  # fmt: skip


def install_error_handlers(app: FastAPI) -> None:
    """Answer request validation errors without echoing the request; busy reads with 503."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StoreBusy, _store_busy)
    app.add_exception_handler(sqlite3.OperationalError, _store_busy)
