"""Errors of the public API, each rendered as one ``application/problem+json`` answer (RFC 9457).

Exception tree::

    ApiError                      root; ``status`` and ``title`` say how it is rendered
    ├── BadRequestError           400: a parameter the route does not take
    ├── NotFoundError             404: no such agency, project, disbursement, request, service
    ├── InvalidParameterError     422: a parameter that fails validation (bad cursor, amount, ...)
    ├── MirrorUnavailableError    503: the SQL mirror is missing or not indexed yet
    └── SettingsError             a mirror URL it cannot open, a cursor secret it cannot keep (at start)

A response never carries a stack trace, SQL or a driver's message: handlers in ``api.app`` render
``detail`` only, and unexpected exceptions become a bare 500.
"""

from __future__ import annotations


class ApiError(Exception):
    """Root of every error the API raises on purpose."""

    status: int = 500
    title: str = "Internal Server Error"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers or {}


class BadRequestError(ApiError):
    status = 400
    title = "Bad Request"


class NotFoundError(ApiError):
    status = 404
    title = "Not Found"


class InvalidParameterError(ApiError):
    status = 422
    title = "Unprocessable Content"

    def __init__(self, parameter: str, detail: str) -> None:
        super().__init__(f"{parameter}: {detail}")
        self.parameter = parameter


class MirrorUnavailableError(ApiError):
    status = 503
    title = "Service Unavailable"


class SettingsError(ApiError):
    """The mirror URL names no database the API can open, or the cursor secret cannot be kept;
    raised when the app is built."""
