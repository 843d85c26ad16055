"""Audit API for one declared camera and for an import's refused lines, under ``/api/v1/audit``.

``GET /declared/{key}`` answers the camera with its version (also its ``ETag``);
``PATCH /declared/{key}`` edits it when ``If-Match`` names the current version (412 with a
sentence saying who changed it, when; 428 without ``If-Match``), validated as an import row
is (422 with the reasons in the caller's language); ``GET /history/{key}`` is its audit trail;
``GET /imports/{id}/rejected`` is the CSV of an import's refused lines to fix and upload again.
Out of the caller's provinces is 404, as everywhere. Messages follow ``lang`` or the
``Accept-Language`` header (Thai or English).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request, Response

from aggregator.api.bodies import admin_body
from aggregator.api.deps import AdminDep, CallerDep, ContextDep, DbDep, ensure_visible, scope_of
from aggregator.api.errors import ErrorOut
from aggregator.api.schemas.audit import DeclaredEditIn, DeclaredOne, EditOut, HistoryEntry
from aggregator.audit.edit import EditRefused, NotDeclared, VersionConflict, edit_declared, load_one
from aggregator.audit.history import history, import_scope, visible_import
from aggregator.audit.messages import Lang, Problem, render
from aggregator.audit.rejected_file import rejected_csv
from aggregator.days import BANGKOK

__all__ = ["request_lang", "router"]

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
EditBody = Annotated[DeclaredEditIn, Depends(admin_body(DeclaredEditIn))]
_KEY = "A declared camera's key, e.g. 50|id|CM-0001 (URL-encode the bars)"


def request_lang(request: Request,
                 lang: Annotated[Literal["th", "en"] | None, Query(description="Language of messages")] = None,
                 ) -> Lang:  # fmt: skip
    """The caller's language: ``lang``, else Thai when Accept-Language prefers it, else English."""
    if lang is not None:
        return lang
    accepted = request.headers.get("accept-language", "").strip().lower()
    return "th" if accepted.startswith("th") else "en"


LangDep = Annotated[Lang, Depends(request_lang)]


def _visible_camera(db: DbDep, caller: CallerDep, key: str) -> dict[str, Any]:
    ensure_visible(caller, key.split("|", 1)[0], f"declared camera {key!r}")
    found = load_one(db, key)
    if found is None:  # the same answer as another province's camera
        raise HTTPException(status_code=404, detail=f"declared camera {key!r} not found")
    return found


def _bangkok(at: str) -> str:
    """A stored UTC time as Bangkok wall time, as the officer's clock shows it."""
    try:
        return datetime.fromisoformat(at).astimezone(BANGKOK).strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return at or "?"


def _version(if_match: str | None, lang: Lang) -> int:
    text = (if_match or "").strip().removeprefix("W/").strip('"')
    if not text.isdigit():
        raise HTTPException(status_code=428, detail=render(Problem("edit_no_version"), lang))
    return int(text)


@router.get("/declared/{key:path}", response_model=DeclaredOne, summary="One declared camera with its version")
def declared_one(db: DbDep, caller: CallerDep, key: str, response: Response) -> DeclaredOne:
    """Any role, in the caller's provinces. The ``ETag`` header is the version to send back in
    ``If-Match`` when editing."""
    found = _visible_camera(db, caller, key)
    response.headers["ETag"] = f'"{found["version"]}"'
    return DeclaredOne.model_validate(found)


_EDIT_ERRORS: dict[int | str, dict[str, Any]] = {
    412: {"model": ErrorOut, "description": "The camera changed since the version in If-Match; nothing saved"},
    428: {"model": ErrorOut, "description": "No If-Match header; nothing saved"},
}


@router.patch("/declared/{key:path}", response_model=EditOut, responses=_EDIT_ERRORS,
              summary="Edit one declared camera (If-Match: its version)")  # fmt: skip
def edit_one(ctx: ContextDep, db: DbDep, caller: AdminDep, body: EditBody, key: str, response: Response,
             lang: LangDep, if_match: Annotated[str | None, Header()] = None) -> EditOut:  # fmt: skip
    """Administrators only, in their provinces. Values as typed in a register (Thai status
    words, Buddhist-era dates), checked exactly as an import row; the edit is recorded in the
    camera's audit trail."""
    _visible_camera(db, caller, key)
    version = _version(if_match, lang)
    changes = body.model_dump(exclude_unset=True)
    try:
        with ctx.writer() as writer:
            result = edit_declared(writer, key, changes, version=version, by=caller.name,
                                   at=ctx.clock().isoformat(timespec="seconds"))
    except NotDeclared as err:
        raise HTTPException(status_code=404, detail=f"declared camera {key!r} not found") from err
    except VersionConflict as err:
        raise HTTPException(status_code=412, detail=render(Problem("edit_conflict", {
            "by": err.by or "?", "at": _bangkok(err.at), "current": err.current, "given": err.given}), lang)) from err
    except EditRefused as err:
        reasons = "; ".join(render(p, lang) for p in err.problems)
        raise HTTPException(status_code=422, detail=render(Problem("edit_refused", {"reasons": reasons}), lang)) from err
    response.headers["ETag"] = f'"{result.version}"'
    return EditOut(key=key, version=result.version, changed={c: list(pair) for c, pair in result.changes.items()})


@router.get("/history/{key:path}", response_model=list[HistoryEntry], summary="A declared camera's audit trail")
def camera_history(db: DbDep, caller: CallerDep, key: str,
                   limit: Annotated[int, Query(ge=1, le=1000)] = 200) -> list[HistoryEntry]:  # fmt: skip
    """Every edit and override decision about the camera (who, when, before, after), newest
    first; 404 for a key never declared."""
    ensure_visible(caller, key.split("|", 1)[0], f"declared camera {key!r}")
    found = history(db, key, limit)
    if not found and load_one(db, key) is None:  # (a pruned camera keeps its trail)
        raise HTTPException(status_code=404, detail=f"declared camera {key!r} not found")
    return [HistoryEntry.model_validate(h) for h in found]


@router.get("/imports/{import_id}/rejected", response_class=Response, summary="An import's refused lines as CSV",
            responses={200: {"content": {"text/csv": {}}, "description": "CSV with a UTF-8 BOM"}})  # fmt: skip
def rejected(db: DbDep, caller: AdminDep, import_id: int, lang: LangDep) -> Response:
    """Administrators who could see the import: every refused line with the user's own values,
    its original line and the reasons; fix the cells and upload the file again."""
    found = import_scope(db, import_id)
    if found is None or found[0] != "register" or not visible_import(found[1], scope_of(caller)):
        raise HTTPException(status_code=404, detail=f"register import {import_id} not found")
    return Response(rejected_csv(db, import_id, lang), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="rejected-{import_id}.csv"'})
