"""The capacity arithmetic against a model (SPEC §3.3 step 4), as a Hypothesis state machine.

Each example is a fresh event with a capacity and two classes with their own limits, then a
random sequence of Create Attendee (any status, quantities 1..3, a small pool of emails so
invited tickets get upgraded), approvals and other status changes, deletions, door scans, and
capacity changes, all over HTTP against the real app. A plain Python model predicts every
answer: a seat is taken only when both the class and the event have room (else 409
``capacity_exceeded`` naming the limit and the seats that remain), final statuses stay final,
capacity cannot drop below the seats taken. After every step the event's and classes' counters
(as the API shows them) and the seat-holding rows (as the database holds them) must equal the
model's seat count and never exceed a limit.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
    run_state_machine_as_test,
)

from tests.support import ApiClient, Tenant

SEAT = frozenset({"valid", "checked_in"})
FINAL = frozenset({"rejected", "deleted"})
EMAILS = ("ann@example.com", "bob@example.com", "cy@example.com")
_requests = itertools.count()


@dataclass
class Ticket:
    id: str
    status: str
    class_index: int
    barcode: str
    email: str
    order: int  # the creating request's sequence number: "oldest invited first", ties by ID


class CapacityMachine(RuleBasedStateMachine):
    tickets = Bundle("tickets")

    def __init__(self, tenant: Tenant) -> None:
        super().__init__()
        self.tenant = tenant
        self.api: ApiClient = tenant.api
        self.event_id = ""
        self.capacity = 0
        self.class_ids: list[str] = []
        self.class_totals: list[int] = []
        self.model: dict[str, Ticket] = {}

    # Model arithmetic --------------------------------------------------------------------
    def seats(self, class_index: int | None = None) -> int:
        return sum(
            1
            for t in self.model.values()
            if t.status in SEAT and (class_index is None or t.class_index == class_index)
        )

    def refusal(self, class_index: int, wanted: int) -> tuple[str, int] | None:
        """Which limit refuses ``wanted`` more seats in the class, and what remains; or None."""
        total = self.class_totals[class_index]
        if total and self.seats(class_index) + wanted > total:
            return "ticket_class", max(total - self.seats(class_index), 0)
        if self.capacity and self.seats() + wanted > self.capacity:
            return "event", max(self.capacity - self.seats(), 0)
        return None

    def expect_refused(self, response: Any, refusal: tuple[str, int]) -> None:
        assert response.status_code == 409, response.text
        body = response.json()
        assert body["code"] == "capacity_exceeded", body
        assert body["details"] == {"limit": refusal[0], "remaining": refusal[1]}, body
        assert body["error"] == f"Capacity exceeded: only {refusal[1]} seats remain", body

    # Setup ---------------------------------------------------------------------------------
    @initialize(
        capacity=st.integers(0, 7),
        totals=st.tuples(st.integers(0, 5), st.integers(0, 5)),
    )
    def make_event(self, capacity: int, totals: tuple[int, int]) -> None:
        event = self.tenant.make_event(capacity=capacity)
        self.event_id, self.capacity = event["id"], capacity
        general = self.tenant.general_admission(self.event_id)
        response = self.tenant.patch(
            f"/api/v1/events/{self.event_id}/ticket-classes/{general['id']}",
            {"quantity_total": totals[0]},
        )
        assert response.status_code == 200, response.text
        other = self.tenant.make_ticket_class(self.event_id, quantity_total=totals[1])
        self.class_ids = [general["id"], other["id"]]
        self.class_totals = list(totals)

    # Rules ---------------------------------------------------------------------------------
    @rule(
        target=tickets,
        class_index=st.integers(0, 1),
        quantity=st.integers(1, 3),
        status=st.sampled_from(["valid", "pending_approval", "checked_in", "invited"]),
        email=st.sampled_from(EMAILS),
    )
    def create(self, class_index: int, quantity: int, status: str, email: str) -> Any:
        response = self.tenant.make_attendees(
            self.event_id, self.class_ids[class_index], email, quantity=quantity, status=status
        )
        refusal = self.refusal(class_index, quantity) if status in SEAT else None
        if refusal is not None:
            self.expect_refused(response, refusal)
            return multiple()
        assert response.status_code == 201, response.text
        body = response.json()
        upgraded = []
        if status != "invited":
            invited = sorted(
                (t for t in self.model.values() if t.email == email and t.status == "invited"),
                key=lambda t: (t.order, t.id),
            )
            upgraded = invited[:quantity]
        issued = [attendee["id"] for attendee in body["data"]]
        assert len(issued) == quantity, body
        assert issued[: len(upgraded)] == [t.id for t in upgraded], body
        assert body["quantity"] == quantity - len(upgraded), body
        for ticket in upgraded:
            ticket.status, ticket.class_index = status, class_index
        order = next(_requests)
        for attendee in body["data"][len(upgraded) :]:
            self.model[attendee["id"]] = Ticket(
                attendee["id"], status, class_index, attendee["barcode"], email, order
            )
        for attendee in body["data"]:
            assert attendee["status"] == status, attendee
            assert attendee["ticket_class_id"] == self.class_ids[class_index], attendee
        return multiple(*(attendee["id"] for attendee in body["data"][len(upgraded) :]))

    def _expect_transition(self, ticket: Ticket, target: str, response: Any) -> None:
        current = ticket.status
        if current in FINAL and target != current:
            assert response.status_code == 422, response.text
            assert response.json()["code"] == "ticket_status_final", response.text
            return
        if current == "checked_in" and target == "checked_in":
            assert response.status_code == 422, response.text
            assert response.json()["code"] == "already_checked_in", response.text
            return
        if target in SEAT and current not in SEAT:
            refusal = self.refusal(ticket.class_index, 1)
            if refusal is not None:
                self.expect_refused(response, refusal)
                return
        assert response.status_code == 200, response.text
        ticket.status = target

    @rule(
        ticket_id=tickets,
        status=st.sampled_from(["valid", "checked_in", "pending_approval", "rejected"]),
    )
    def set_status(self, ticket_id: str, status: str) -> None:
        response = self.tenant.patch(
            f"/api/v1/events/{self.event_id}/attendees/{ticket_id}", {"status": status}
        )
        self._expect_transition(self.model[ticket_id], status, response)

    @rule(ticket_id=tickets)
    def delete(self, ticket_id: str) -> None:
        response = self.tenant.delete(f"/api/v1/events/{self.event_id}/attendees/{ticket_id}")
        self._expect_transition(self.model[ticket_id], "deleted", response)

    @rule(ticket_id=tickets)
    def scan(self, ticket_id: str) -> None:
        ticket = self.model[ticket_id]
        response = self.tenant.post(
            f"/api/v1/events/{self.event_id}/check-ins", {"barcode": ticket.barcode}
        )
        if ticket.status == "checked_in":
            assert response.status_code == 409, response.text
            assert response.json()["result"] == "already_checked_in", response.text
        elif ticket.status != "valid":
            assert response.status_code == 422, response.text
            assert response.json()["details"] == {"status": ticket.status}, response.text
        else:
            assert response.status_code == 200, response.text
            ticket.status = "checked_in"

    @rule(capacity=st.integers(0, 7))
    def set_event_capacity(self, capacity: int) -> None:
        response = self.tenant.patch(f"/api/v1/events/{self.event_id}", {"capacity": capacity})
        if capacity and capacity < self.seats():
            assert response.status_code == 409, response.text
        else:
            assert response.status_code == 200, response.text
            self.capacity = capacity

    @rule(class_index=st.integers(0, 1), total=st.integers(0, 5))
    def set_class_total(self, class_index: int, total: int) -> None:
        response = self.tenant.patch(
            f"/api/v1/events/{self.event_id}/ticket-classes/{self.class_ids[class_index]}",
            {"quantity_total": total},
        )
        if total and total < self.seats(class_index):
            assert response.status_code == 409, response.text
        else:
            assert response.status_code == 200, response.text
            self.class_totals[class_index] = total

    # The books -------------------------------------------------------------------------------
    @invariant()
    def counters_equal_rows_and_model(self) -> None:
        if not self.event_id:
            return
        event = self.tenant.get(f"/api/v1/events/{self.event_id}").json()["data"]
        classes = {
            c["id"]: c
            for c in self.tenant.get(f"/api/v1/events/{self.event_id}/ticket-classes").json()[
                "data"
            ]
        }
        rows = self.api.count(
            "tickets", "event_id = $1 AND status IN ('valid', 'checked_in')", self.event_id
        )
        assert event["tickets_sold"] == rows == self.seats(), (event["tickets_sold"], rows)
        if self.capacity:
            assert rows <= self.capacity
        for index, class_id in enumerate(self.class_ids):
            class_rows = self.api.count(
                "tickets", "ticket_class_id = $1 AND status IN ('valid', 'checked_in')", class_id
            )
            sold = classes[class_id]["quantity_sold"]
            assert sold == class_rows == self.seats(index), (class_id, sold, class_rows)
            if self.class_totals[index]:
                assert class_rows <= self.class_totals[index]


# Sequences per database: PostgreSQL's round trips cost about three times SQLite's.
EXAMPLES = {"sqlite": 40, "postgresql": 15}


def test_capacity_counters_follow_the_model(api: ApiClient) -> None:
    tenant = api.tenant()
    run_state_machine_as_test(
        lambda: CapacityMachine(tenant),
        settings=settings(
            max_examples=EXAMPLES[api.app.state.db.dialect],  # type: ignore[attr-defined]
            stateful_step_count=20,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        ),
    )
