"""HTTP endpoints of /api/v1/contacts: parse, authorize, call one service function."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from tessera import web
from tessera.auth.dependencies import require
from tessera.auth.service import Principal
from tessera.contact import service
from tessera.contact.schemas import (
    ContactCreate,
    ContactDeleted,
    ContactEnvelope,
    ContactPage,
    ContactUpdate,
)
from tessera.db import Connection
from tessera.idempotency import runner
from tessera.kit.http import data, json_response
from tessera.kit.pagination import PageParams

router = APIRouter(prefix="/contacts", tags=["contacts"])

ReadContacts = Annotated[Principal, Depends(require("contacts", "read"))]
WriteContacts = Annotated[Principal, Depends(require("contacts", "write"))]


@router.get("", response_model=ContactPage)
async def list_contacts(
    request: Request,
    principal: ReadContacts,
    page: PageParams,
    email: Annotated[
        str | None, Query(max_length=320, description="Exact address (case-insensitive)")
    ] = None,
    q: Annotated[
        str | None,
        Query(max_length=200, description="Case-insensitive substring of name or email"),
    ] = None,
) -> Response:
    result = await web.read(
        request,
        lambda conn: service.list_contacts(conn, principal.organization_id, email, q, page),
    )
    return json_response(result)


@router.post(
    "",
    status_code=201,
    response_model=ContactEnvelope,
    responses={200: {"model": ContactEnvelope, "description": "An existing contact, updated"}},
)
async def upsert_contact(
    body: ContactCreate, request: Request, principal: WriteContacts
) -> Response:
    """Create a contact, or update the one with this email (its non-empty values win)."""
    now = web.now(request)

    async def work(conn: Connection) -> runner.Outcome:
        contact, created = await service.upsert_contact(conn, principal.organization_id, body, now)
        if created:
            return runner.Outcome(
                201, {"data": contact}, {"Location": f"/api/v1/contacts/{contact['id']}"}
            )
        return runner.Outcome(200, {"data": contact})

    return await runner.run(request, principal, work)


@router.get("/{contact_id}", response_model=ContactEnvelope)
async def get_contact(contact_id: str, request: Request, principal: ReadContacts) -> Response:
    contact = await web.read(
        request, lambda conn: service.get_contact(conn, principal.organization_id, contact_id)
    )
    return data(contact)


@router.patch("/{contact_id}", response_model=ContactEnvelope)
async def update_contact(
    contact_id: str, body: ContactUpdate, request: Request, principal: WriteContacts
) -> Response:
    now = web.now(request)
    contact = await web.write(
        request,
        lambda conn: service.update_contact(conn, principal.organization_id, contact_id, body, now),
    )
    return data(contact)


@router.delete("/{contact_id}", response_model=ContactDeleted)
async def delete_contact(contact_id: str, request: Request, principal: WriteContacts) -> Response:
    now = web.now(request)
    result = await web.write(
        request,
        lambda conn: service.delete_contact(conn, principal.organization_id, contact_id, now),
    )
    return json_response(result)
