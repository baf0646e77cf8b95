"""For monitoring: liveness (`/healthz`) and readiness (`/readyz`)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request
from starlette.responses import Response

from app.api.responses import json_response, problems
from app.errors import problem

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def healthz() -> Response:
    """The process answers. Touches nothing else, so a slow database never restarts it."""
    return json_response({"status": "ok"})


@router.get("/readyz", responses=problems(503))
async def readyz(request: Request) -> Response:
    """Ready to serve: the database answers within the timeout, and the broker is healthy."""
    state = request.app.state
    timeout = state.settings.ready_timeout
    problems: list[str] = []
    try:
        await asyncio.wait_for(state.db.ping(), timeout)
    except TimeoutError:
        problems.append(f"database did not answer within {timeout:g}s")
    except Exception as error:
        problems.append(f"database unreachable: {type(error).__name__}: {error}")
    broker_problem = await state.broker.check()
    if broker_problem:
        problems.append(f"broker: {broker_problem}")
    live = state.live
    if live.full:
        # Per process: with --workers, each worker answers for itself.
        problems.append(f"full: {live.readers} readers, the maximum (LIVEBLOG_MAX_READERS)")
    if problems:
        return problem(503, "Not ready: " + "; ".join(problems))
    return json_response({"status": "ready"})
