"""One error type for everything the API refuses, and the one place that turns it into HTTP.

Every error body has the documented shape ``{"error", "code", "details"?}``. ``error`` carries the
exact strings of the API contract (clients match on them); ``code`` is a stable snake_case name.
"""

from __future__ import annotations

from typing import Any


class AppError(Exception):
    status: int = 400
    code: str = "bad_request"
    message: str = "Bad request"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.message = message or self.message
        self.code = code or self.code
        self.details = details
        self.headers = headers or {}
        # Top-level body members beyond error/code/details that the contract documents
        # (``required`` on 403, ``sold_count`` on a refused delete, ``result`` on check-in).
        self.extra = extra or {}
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.message, "code": self.code}
        body.update(self.extra)
        if self.details is not None:
            body["details"] = self.details
        return body


class ValidationFailed(AppError):
    status = 400
    code = "validation_failed"
    message = "Validation failed"

    def __init__(self, field_errors: dict[str, list[str]], message: str | None = None) -> None:
        super().__init__(message, details={"fieldErrors": field_errors})


def field_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed({field: [message]})


class BadRequest(AppError):
    status = 400
    code = "bad_request"


class Unauthorized(AppError):
    status = 401
    code = "unauthorized"


class Forbidden(AppError):
    status = 403
    code = "insufficient_scope"
    message = "insufficient_scope"


class NotFound(AppError):
    status = 404
    code = "not_found"
    message = "Not found"


class Conflict(AppError):
    status = 409
    code = "conflict"


class Unprocessable(AppError):
    status = 422
    code = "unprocessable"


class PayloadTooLarge(AppError):
    status = 413
    code = "payload_too_large"
    message = "Request body exceeds 1 MiB"


class HeadersTooLarge(AppError):
    status = 431
    code = "headers_too_large"
    message = "Request headers exceed 8 KiB each or 32 KiB together"


class UnsupportedMediaType(AppError):
    status = 415
    code = "unsupported_media_type"
    message = "Content-Type must be application/json"


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    message = "Rate limit exceeded. Try again shortly."


class ServiceUnavailable(AppError):
    status = 503
    code = "service_unavailable"
    message = "The database is unavailable. Retry shortly."

    def __init__(self, message: str | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        # Every 503 is transient by nature: tell clients when to come back.
        self.headers.setdefault("Retry-After", "1")


class CapacityExceeded(Conflict):
    code = "capacity_exceeded"

    def __init__(self, remaining: int, limit: str) -> None:
        remaining = max(remaining, 0)
        super().__init__(
            f"Capacity exceeded: only {remaining} seats remain",
            details={"remaining": remaining, "limit": limit},
        )


def event_not_found() -> NotFound:
    return NotFound("Event not found")


def ticket_class_not_found() -> NotFound:
    return NotFound("Ticket class not found")


def attendee_not_found() -> NotFound:
    return NotFound("Attendee not found")


def contact_not_found() -> NotFound:
    return NotFound("Contact not found")


def payment_not_found() -> NotFound:
    return NotFound("Payment not found")


def webhook_endpoint_not_found() -> NotFound:
    return NotFound("Webhook endpoint not found")
