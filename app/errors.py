"""Every error a client can cause, and the one place that renders them.

Hierarchy (each carries its HTTP status):

    LiveblogError
    ├── BadRequest            400
    ├── Unauthorized          401
    ├── NotFound              404
    ├── Conflict              409
    ├── PayloadTooLarge       413
    └── Unprocessable         422

All are rendered as RFC 9457 problem details (`application/problem+json`):
`{"type", "title", "status", "detail", "errors"?}`. Request validation errors and unknown routes
use the same shape, so a client parses one format whatever went wrong.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"


class LiveblogError(Exception):
    status: int = 500

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.headers = headers


class BadRequest(LiveblogError):
    status = 400


class Unauthorized(LiveblogError):
    status = 401

    def __init__(self, detail: str) -> None:
        super().__init__(detail, headers={"WWW-Authenticate": 'Bearer realm="liveblog"'})


class NotFound(LiveblogError):
    status = 404


class Conflict(LiveblogError):
    status = 409


class PayloadTooLarge(LiveblogError):
    status = 413


class Unprocessable(LiveblogError):
    status = 422


def problem(
    status: int,
    detail: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
    }
    if errors:
        body["errors"] = errors
    return Response(orjson.dumps(body), status, headers=headers, media_type=PROBLEM_JSON)


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
    return problem(error.status, error.detail, headers=error.headers)


async def _on_validation_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    for item in error.errors():
        if item["type"] == "json_invalid":
            reason = item.get("ctx", {}).get("error", "syntax error")
            return problem(400, f"Request body is not valid JSON: {reason}.")
    fields = _field_errors(error)
    summary = "; ".join(f"{f['field']}: {f['message']}" for f in fields)
    return problem(422, f"Invalid request: {summary}", errors=fields)


async def _on_http_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, StarletteHTTPException)
    detail = error.detail if isinstance(error.detail, str) else HTTPStatus(error.status_code).phrase
    if error.status_code == 404 and detail == "Not Found":
        detail = "No such resource."
    return problem(error.status_code, detail, headers=error.headers)


async def _on_unexpected(_request: Request, error: Exception) -> Response:
    log.exception("unhandled error", exc_info=error)
    return problem(500, "Internal server error; it has been logged.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(LiveblogError, _on_liveblog_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)
