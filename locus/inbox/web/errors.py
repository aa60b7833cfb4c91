"""The one mapping from library errors to HTTP status codes and JSON error codes."""

from __future__ import annotations

from locus.errors import (
    AlreadyAnsweredError,
    AnswerNotAllowedError,
    InterruptExpiredError,
    InvalidResumeValueError,
    LocusError,
    ResumeConflictError,
    StaleAnswerError,
    ThreadNotFoundError,
    UnknownInterruptError,
)

__all__ = ["status_of"]

# Most specific first: AlreadyAnsweredError is a ResumeConflictError.
_STATUS: tuple[tuple[type[LocusError], int, str], ...] = (
    (UnknownInterruptError, 404, "unknown_interrupt"),
    (ThreadNotFoundError, 404, "thread_not_found"),
    (AnswerNotAllowedError, 403, "not_allowed"),
    (AlreadyAnsweredError, 409, "already_answered"),
    (StaleAnswerError, 409, "stale"),
    (InterruptExpiredError, 409, "expired"),
    (ResumeConflictError, 409, "conflict"),
    (InvalidResumeValueError, 422, "invalid_value"),
)


def status_of(exc: LocusError) -> tuple[int, str] | None:
    """The HTTP status and error code for ``exc``, or None when it is not the caller's doing."""
    for cls, status, code in _STATUS:
        if isinstance(exc, cls):
            return status, code
    return None
