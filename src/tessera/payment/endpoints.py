"""HTTP endpoints of /api/v1/payments: parse, authorize, call one service function."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from tessera import web
from tessera.auth.dependencies import require
from tessera.auth.service import Principal
from tessera.kit.http import data, json_response
from tessera.kit.pagination import PageParams
from tessera.payment import service
from tessera.payment.schemas import PaymentEnvelope, PaymentFilters, PaymentPage

router = APIRouter(prefix="/payments", tags=["payments"])

ReadPayments = Annotated[Principal, Depends(require("payments", "read"))]


@router.get("", response_model=PaymentPage)
async def list_payments(
    request: Request,
    principal: ReadPayments,
    page: PageParams,
    status: Annotated[
        str | None, Query(description="CSV of succeeded, pending, failed, refunded")
    ] = None,
    event_id: Annotated[str | None, Query(max_length=64)] = None,
    ticket_class_id: Annotated[str | None, Query(max_length=64)] = None,
    created_from: Annotated[
        str | None,
        Query(alias="from", max_length=64, description="Created at or after this instant"),
    ] = None,
    created_to: Annotated[
        str | None, Query(alias="to", max_length=64, description="Created before this instant")
    ] = None,
) -> Response:
    filters = PaymentFilters.parse(
        status=status,
        event_id=event_id,
        ticket_class_id=ticket_class_id,
        created_from=created_from,
        created_to=created_to,
    )
    result = await web.read(
        request,
        lambda conn: service.list_payments(conn, principal.organization_id, filters, page),
    )
    return json_response(result)


@router.get("/{payment_id}", response_model=PaymentEnvelope)
async def get_payment(payment_id: str, request: Request, principal: ReadPayments) -> Response:
    payment = await web.read(
        request, lambda conn: service.get_payment(conn, principal.organization_id, payment_id)
    )
    return data(payment)
