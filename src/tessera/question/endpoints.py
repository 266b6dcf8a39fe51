"""HTTP endpoints of /api/v1/events/{eventId}/questions (events scope)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from tessera import web
from tessera.auth.dependencies import require
from tessera.auth.service import Principal
from tessera.db import Connection
from tessera.idempotency import runner
from tessera.kit.http import data, json_response
from tessera.question import service
from tessera.question.schemas import (
    QuestionCreate,
    QuestionDeleted,
    QuestionEnvelope,
    QuestionList,
    QuestionUpdate,
)

router = APIRouter(prefix="/events/{event_id}/questions", tags=["questions"])

ReadEvents = Annotated[Principal, Depends(require("events", "read"))]
WriteEvents = Annotated[Principal, Depends(require("events", "write"))]


@router.get("", response_model=QuestionList)
async def list_questions(
    event_id: str,
    request: Request,
    principal: ReadEvents,
    ticket_class_id: Annotated[
        str | None, Query(max_length=64, description="Only questions asked of this class")
    ] = None,
) -> Response:
    found = await web.read(
        request,
        lambda conn: service.list_questions(
            conn, principal.organization_id, event_id, ticket_class_id
        ),
    )
    return json_response({"data": found})


@router.post("", status_code=201, response_model=QuestionEnvelope)
async def create_question(
    event_id: str, body: QuestionCreate, request: Request, principal: WriteEvents
) -> Response:
    now = web.now(request)

    async def work(conn: Connection) -> runner.Outcome:
        created = await service.create_question(
            conn, principal.organization_id, event_id, body, now
        )
        location = f"/api/v1/events/{event_id}/questions/{created['id']}"
        return runner.Outcome(201, {"data": created}, {"Location": location})

    return await runner.run(request, principal, work)


@router.get("/{question_id}", response_model=QuestionEnvelope)
async def get_question(
    event_id: str, question_id: str, request: Request, principal: ReadEvents
) -> Response:
    found = await web.read(
        request,
        lambda conn: service.get_question(conn, principal.organization_id, event_id, question_id),
    )
    return data(found)


@router.patch("/{question_id}", response_model=QuestionEnvelope)
async def update_question(
    event_id: str,
    question_id: str,
    body: QuestionUpdate,
    request: Request,
    principal: WriteEvents,
) -> Response:
    now = web.now(request)
    updated = await web.write(
        request,
        lambda conn: service.update_question(
            conn, principal.organization_id, event_id, question_id, body, now
        ),
    )
    return data(updated)


@router.delete("/{question_id}", response_model=QuestionDeleted)
async def delete_question(
    event_id: str, question_id: str, request: Request, principal: WriteEvents
) -> Response:
    now = web.now(request)
    result = await web.write(
        request,
        lambda conn: service.delete_question(
            conn, principal.organization_id, event_id, question_id, now
        ),
    )
    return json_response(result)
