"""For monitoring: liveness (`/healthz`), readiness (`/readyz`) and metrics (`/metrics`)."""

from __future__ import annotations

import asyncio
import ipaddress
import time

from fastapi import Request
from starlette.responses import PlainTextResponse, Response

from app import metrics
from app.api.responses import json_response, problems
from app.errors import Forbidden, problem
from app.routing import Router
from app.state import hub_of, parts_of, settings_of

router = Router(tags=["operations"])


@router.get("/healthz")
async def healthz() -> Response:
    """The process answers. Touches nothing else, so a slow database never restarts it."""
    return json_response({"status": "ok"})


@router.get("/readyz", responses=problems(503))
async def readyz(request: Request) -> Response:
    """Ready to serve: the database answers within the timeout, the broker is healthy, there is
    room for readers, and no background loop is waiting to be restarted (app/supervisor.py)."""
    parts = parts_of(request)
    timeout = parts.settings.ready_timeout
    problems: list[str] = []
    try:
        await asyncio.wait_for(parts.db.ping(), timeout)
    except TimeoutError:
        problems.append(f"database did not answer within {timeout:g}s")
    except Exception as error:
        problems.append(f"database unreachable: {type(error).__name__}: {error}")
    broker_problem = await parts.broker.check()
    if broker_problem:
        problems.append(f"broker: {broker_problem}")
    live = parts.live
    if live.full:
        # Per process: with --workers, each worker answers for itself.
        problems.append(f"full: {live.readers} readers, the maximum (LIVEBLOG_MAX_READERS)")
    for name, outage in parts.background.down().items():
        # The error's type only: its message and traceback are in the log.
        since = time.strftime("%H:%M:%S", time.gmtime(outage.since))
        problems.append(
            f"background loop {name} failed at {since} UTC ({outage.error}); restarting in "
            f"{max(0.0, outage.restart_at - time.time()):.1f}s"
        )
    if problems:
        return problem(503, "Not ready: " + "; ".join(problems))
    return json_response({"status": "ready"})


@router.get(
    "/metrics",
    responses={
        200: {"content": {"text/plain": {}}, "description": "Prometheus text exposition."},
        **problems(403),
    },
    response_class=PlainTextResponse,
)
async def metrics_page(request: Request) -> Response:
    """Prometheus metrics (docs/operations.md "Metrics"). Open to LIVEBLOG_METRICS_ALLOWED_NETWORKS
    (empty:
    anyone); never rate-limited."""
    allowed = settings_of(request).metrics_networks
    if allowed:
        host = request.client.host if request.client else ""
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            address = None
        if address is None or not any(address in network for network in allowed):
            raise Forbidden("/metrics is open only to LIVEBLOG_METRICS_ALLOWED_NETWORKS.")
    # Readers are counted when asked, so a scrape sees this process's exact figure.
    metrics.set_readers(hub_of(request).reader_counts())
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)
