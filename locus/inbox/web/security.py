"""Request authentication for the pages and the API, as FastAPI dependencies."""

from __future__ import annotations

import secrets

from fastapi import Request

from locus.inbox import Actor
from locus.inbox.web.auth import LOGIN_COOKIE, SESSION_COOKIE, WebAuth

__all__ = [
    "ApiAuthError",
    "LoginRequired",
    "api_actor",
    "csrf_binding",
    "page_actor",
]


class LoginRequired(Exception):
    """A page was asked for without a valid session; the handler redirects to the login."""


class ApiAuthError(Exception):
    """An API request that is not authenticated (401) or fails its CSRF check (403)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _auth(request: Request) -> WebAuth:
    auth: WebAuth = request.app.state.auth
    return auth


def csrf_binding(request: Request) -> tuple[str, bool]:
    """The cookie value this request's CSRF tokens are bound to, and whether it is new.

    A logged-in request binds to its session cookie; others to a random login cookie,
    which the response must set when it is new.
    """
    for name in (SESSION_COOKIE, LOGIN_COOKIE):
        value = request.cookies.get(name)
        if value:
            return value, False
    return secrets.token_urlsafe(24), True


async def page_actor(request: Request) -> Actor:
    """The actor of a page request (session cookie), or ``LoginRequired``."""
    actor = _auth(request).actor_for_session(request.cookies.get(SESSION_COOKIE))
    if actor is None:
        raise LoginRequired()
    return actor


async def api_actor(request: Request) -> Actor:
    """The actor of an API request.

    A bearer token authenticates any request. A session cookie authenticates reads, and
    writes that carry the session's CSRF token in ``X-CSRF-Token`` (the pages' scripts).

    Raises:
        ApiAuthError: 401 without credentials or with a wrong token; 403 for a cookie-only
            write without a valid CSRF token.
    """
    auth = _auth(request)
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise ApiAuthError(401, "bad_credentials", "use 'Authorization: Bearer <token>'")
        actor = auth.actor_for_token(token.strip())
        if actor is None:
            raise ApiAuthError(401, "bad_token", "the bearer token is not in the tokens file")
        return actor
    cookie = request.cookies.get(SESSION_COOKIE)
    actor = auth.actor_for_session(cookie)
    if actor is None or (cookie is None and not auth.insecure):
        raise ApiAuthError(
            401, "unauthenticated", "send 'Authorization: Bearer <token>' (see add-token)"
        )
    writing = request.method not in ("GET", "HEAD") and not auth.insecure
    if writing and not auth.csrf_ok(cookie, request.headers.get("x-csrf-token")):
        raise ApiAuthError(
            403, "csrf", "a cookie-authenticated write needs the X-CSRF-Token header"
        )
    return actor
