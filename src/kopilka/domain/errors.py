"""Domain errors carry a stable machine code; the HTTP layer maps them to problem+json."""

from __future__ import annotations


class DomainError(Exception):
    """A refused operation. `code` is stable and documented; `status` is the HTTP hint."""

    code = "domain_error"
    status = 422

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None,
                 **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        if status is not None:
            self.status = status
        self.extra = extra


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Conflict(DomainError):
    code = "conflict"
    status = 409


class InvalidInput(DomainError):
    code = "validation_error"
    status = 422


class InsufficientPoints(DomainError):
    code = "insufficient_points"
    status = 422
