"""JSON responses rendered with orjson from the domain's own `as_json()` dicts, and the error
responses each route documents in OpenAPI."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import Response

from app.domain.preconditions import etag
from app.errors import PROBLEM_JSON
from app.services.idempotency import Replayed, Reply

JSON = "application/json"


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data), status, headers=headers, media_type=JSON)


def versioned(data: dict[str, Any], epoch: str | None, status: int = 200, **headers: str) -> Reply:
    """One object's JSON with its version in `epoch` as a strong ETag (what If-Match
    compares)."""
    return Reply(
        status,
        orjson.dumps(data),
        {"Content-Type": JSON, "ETag": etag(data["version"], epoch), **headers},
    )


def reply_response(reply: Reply) -> Response:
    return Response(reply.body, reply.status, headers=reply.headers)


async def on_replayed(_request: Request, error: Exception) -> Response:
    """A retry under an Idempotency-Key: the first response again, marked as such."""
    assert isinstance(error, Replayed)
    reply = error.reply
    return Response(
        reply.body, reply.status, headers={**reply.headers, "Idempotent-Replayed": "true"}
    )


class Problem(BaseModel):
    """RFC 9457 problem details: every error this API sends has this shape."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str = Field(description="The status code's phrase.")
    status: int
    detail: str = Field(description="What went wrong, and what to do about it.")
    errors: list[dict[str, str]] | None = Field(
        None,
        description="422 for invalid input, one item per invalid field: `field` (e.g. `title`), "
        "`in` (`body`, `query`, `header`) and `message`.",
    )


def tidy_openapi(app: FastAPI) -> None:
    """FastAPI documents a 422 in its own validation-error shape on every route with
    parameters. This API never sends that shape (errors.py renders problem+json, and a bad path
    id is a 404): drop those entries, so the document lists what the server sends."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    answer = operation.get("responses", {}).get("422", {})
                    if "HTTPValidationError" in str(answer):
                        del operation["responses"]["422"]
            for name in ("HTTPValidationError", "ValidationError"):
                schema.get("components", {}).get("schemas", {}).pop(name, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_MEANING = {
    400: "Malformed request: invalid JSON, Idempotency-Key or If-Match.",
    401: "Missing, unknown, revoked or expired API token.",
    403: "The token's scope or liveblogs do not allow this (`required_scope` or `liveblog`).",
    404: "No such liveblog or entry.",
    409: "Conflicts with the current state (slug taken, entry deleted, `since` ahead of head, "
    "liveblog ended: `reason` is `liveblog_ended`).",
    410: "The entry was deleted (`entry` holds its tombstone), or, for a replayed POST, purged.",
    412: "If-Match names an old version: `current_version` and `current` show the current one.",
    413: "Request or entry body too large.",
    415: "The body was not sent as JSON: send it with `Content-Type: application/json`.",
    422: "Invalid field values (`errors` lists them), or an Idempotency-Key reused for "
    "another request.",
    428: "If-Match is required on this server (LIVEBLOG_REQUIRE_IF_MATCH).",
    429: "Over the token's write rate: wait `Retry-After` seconds.",
    503: "Unavailable for now. A write: the database was busy (another process held its write "
    "lock past the server's wait); nothing was written, retry after `Retry-After` seconds. "
    "/readyz: not ready, the reason is in `detail` (database, broker, or full of readers).",
}


def problems(
    *statuses: int, meaning: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for the errors a route can send; `meaning` says what some of them
    mean on this route, where that is not what they mean on most."""
    said = {**_MEANING, **(meaning or {})}
    return {
        status: {
            "description": said[status],
            "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema()}},
        }
        for status in statuses
    }
