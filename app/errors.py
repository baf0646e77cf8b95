"""Every error a client can cause, and the one place that renders them.

Hierarchy (each carries its HTTP status):

    LiveblogError
    ├── BadRequest            400
    ├── Unauthorized          401
    ├── Forbidden             403  + `required_scope` or `liveblog`
    ├── NotFound              404
    ├── Conflict              409
    │   └── LiveblogEnded         + `reason: "liveblog_ended"`
    ├── Gone                  410  + `entry` (the tombstone)
    ├── PreconditionFailed    412  + `current_version`, `current`
    ├── PayloadTooLarge       413
    ├── UnsupportedMediaType  415  + Accept-Post or Accept-Patch
    ├── Unprocessable         422
    ├── PreconditionRequired  428
    ├── TooManyRequests       429  + Retry-After
    └── ServiceUnavailable    503  + Retry-After (the database was busy: storage/db.py)

All are rendered as RFC 9457 problem details (`application/problem+json`):
`{"type", "title", "status", "detail", "errors"?, ...extension members}`. Request validation
errors and unknown routes use the same shape, so a client parses one format whatever went wrong.

Any other exception is a bug of ours: `UnexpectedErrors`, the outermost middleware, logs its
traceback once and answers 500 in the same shape.
"""

from __future__ import annotations

import logging
import re
import weakref
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app import logs

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class LiveblogError(Exception):
    status: int = 500
    # Kept under an Idempotency-Key and replayed to a retry: a refusal of the request itself.
    # A refusal of the moment (the liveblog has ended, until it is reopened) is not.
    lasting: bool = True

    def __init__(
        self,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers
        self.extra = extra  # RFC 9457 extension members, added to the body


class BadRequest(LiveblogError):
    status = 400


class Unauthorized(LiveblogError):
    status = 401

    def __init__(self, detail: str, *, challenge: str | None = 'Bearer realm="liveblog"') -> None:
        # The console's session has no HTTP challenge: its 401s carry none.
        super().__init__(detail, headers={"WWW-Authenticate": challenge} if challenge else None)


class Forbidden(LiveblogError):
    """A valid credential asked for something outside what it may do."""

    status = 403


class NotFound(LiveblogError):
    status = 404


class Conflict(LiveblogError):
    status = 409


class LiveblogEnded(Conflict):
    """A new entry for a liveblog that has ended: readers were told the coverage is over."""

    lasting = False  # reopened, the same request succeeds: a retry must not replay this

    def __init__(self, slug: str) -> None:
        super().__init__(
            f"Liveblog {slug!r} has ended, so it takes no new entries. Reopen it first "
            '(an editor in the console, or PATCH its status to "live").',
            extra={"reason": "liveblog_ended"},
        )


class Gone(LiveblogError):
    """The resource existed and was deleted; the body says what is left of it."""

    status = 410


class PreconditionFailed(LiveblogError):
    """If-Match named a version that is no longer current; the body shows the current one."""

    status = 412

    def __init__(self, detail: str, *, current_version: int, current: Mapping[str, Any]) -> None:
        super().__init__(
            detail,
            headers={"ETag": f'"{current_version}"'},
            extra={"current_version": current_version, "current": current},
        )


class PayloadTooLarge(LiveblogError):
    status = 413


class UnsupportedMediaType(LiveblogError):
    """A body in a format the route does not take; `accepted` is the one it does."""

    status = 415

    def __init__(self, detail: str, *, method: str, accepted: str) -> None:
        # RFC 5789 asks a PATCH's 415 to say what it accepts in Accept-Patch; Accept-Post is
        # the same for POST (W3C Linked Data Platform).
        header = "Accept-Patch" if method == "PATCH" else "Accept-Post"
        super().__init__(detail, headers={header: accepted})


class Unprocessable(LiveblogError):
    status = 422


class PreconditionRequired(LiveblogError):
    status = 428


class TooManyRequests(LiveblogError):
    status = 429


class BadGateway(LiveblogError):
    """A site Liveblog asked for something on a user's behalf did not answer usably."""

    status = 502
    lasting = False


class ServiceUnavailable(LiveblogError):
    """The request could not be served in time for now (the database was busy); nothing was
    done, and the same request may be retried after `retry_after` seconds."""

    status = 503
    lasting = False  # a refusal of the moment: a retry under the same Idempotency-Key runs

    def __init__(self, detail: str, *, retry_after: int) -> None:
        super().__init__(detail, headers={"Retry-After": str(retry_after)})
        self.retry_after = retry_after


def problem_body(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    if extra:
        body.update(extra)
    return orjson.dumps(body)


def problem(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Response:
    body = problem_body(status, detail, errors=errors, extra=extra)
    return Response(body, status, headers=headers, media_type=PROBLEM_JSON)


def error_body(error: LiveblogError) -> bytes:
    """What a client receives for `error`: also what an Idempotency-Key stores to replay."""
    return problem_body(error.status, error.detail, extra=error.extra)


def _field_errors(error: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {
            # ("body", "title") → "title"; query and path parameters keep their location.
            "field": ".".join(str(part) for part in item["loc"][1:]) or str(item["loc"][0]),
            "in": str(item["loc"][0]),
            "message": item["msg"],
        }
        for item in error.errors()
    ]


async def _on_liveblog_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, LiveblogError)
    return Response(error_body(error), error.status, headers=error.headers, media_type=PROBLEM_JSON)


async def _on_validation_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    if any(item["loc"][0] == "path" for item in error.errors()):
        # An id that is not a number, or out of range, names no resource: not found, like any
        # other id that does not exist (and the same answer on every database).
        return problem(404, "No such resource.")
    for item in error.errors():
        if item["type"] == "json_invalid":
            reason = item.get("ctx", {}).get("error", "syntax error")
            return problem(400, f"Request body is not valid JSON: {reason}.")
    fields = _field_errors(error)
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return problem(422, f"Invalid request: {summary}", errors=fields)


async def _on_http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    headers = error.headers
    if error.status_code == 404 and detail == "Not Found":
        detail = "No such resource."
    elif error.status_code == 405:
        # Starlette names only the methods of the first route that matched the path; a path
        # served by several routes (GET and POST /api/liveblogs) must list them all.
        allowed = _allowed_methods(request, (headers or {}).get("Allow"))
        headers = {**(headers or {}), "Allow": ", ".join(allowed)}
        detail = f"{request.method} is not allowed here; use {' or '.join(allowed)}."
    return problem(error.status_code, detail, headers=headers)


# Per app, made at its first 405: (path pattern, the methods served there) for each API path.
_allow_tables: weakref.WeakKeyDictionary[Any, list[tuple[re.Pattern[str], list[str]]]] = (
    weakref.WeakKeyDictionary()
)


def _allowed_methods(request: Request, said: str | None) -> list[str]:
    """Every method the API serves at this path, read off the OpenAPI document (FastAPI nests
    its routes, so the router has no flat list); other paths keep what Starlette said."""
    table = _allow_tables.get(request.app)
    if table is None:
        table = []
        for template, operations in request.app.openapi().get("paths", {}).items():
            pattern = re.compile(re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)))
            served = {method.upper() for method in operations}
            table.append((pattern, sorted(served | ({"HEAD"} if "GET" in served else set()))))
        _allow_tables[request.app] = table
    for pattern, allowed in table:
        if pattern.fullmatch(request.url.path):
            return allowed
    methods = {method.strip() for method in (said or "").split(",") if method.strip()}
    # Each GET route has a HEAD twin (app/head_requests.py) that Starlette does not name.
    return sorted(methods | ({"HEAD"} if "GET" in methods else set()))


class UnexpectedErrors:
    """ASGI middleware, the outermost: an exception nothing else handled is logged here, once,
    with its traceback, and answered 500 (unless the response had begun; then the connection
    is cut, since what was sent is incomplete).

    Starlette's own last resort (ServerErrorMiddleware, outside every middleware) answers, then
    re-raises for the server to log: with a handler of ours logging as well, each failure had
    two tracebacks, uvicorn's "Exception in ASGI application" the second, and uvicorn closed the
    connection it had just answered on. Nothing gets past this one.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # a socket's failure is uvicorn's to log and close
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except Exception:
            log.exception("unhandled error")
            if not started:
                await _unexpected()(scope, receive, send)


def _unexpected() -> Response:
    # Answered from outside every middleware, so what they would add is added here: the
    # request id (to find the logged traceback) and the security headers.
    headers = {
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
    }
    found = logs.REQUEST_ID.get()
    if found is not None:
        headers["X-Request-ID"] = found
    return problem(500, "Internal server error; it has been logged.", headers=headers)


def install(app: FastAPI) -> None:
    """The handlers of every expected error; `UnexpectedErrors` is added as a middleware, the
    outermost (main.py)."""
    app.add_exception_handler(LiveblogError, _on_liveblog_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
