"""Every Prometheus metric, named and documented in one place, and how `/metrics` is rendered.

Count per event, never per reader: the fan-out adds a whole event's deliveries and latency
observations once, after its loop (`delivered`), so a burst to 10,000 readers costs a few
metric updates, not 10,000.

Delivery latency runs from the event's commit (its `committed_at`, carried on the broker
message, so it holds across processes; clocks assumed NTP-synced) to the moment its frame was
written to a reader's socket. The fan-out writes to every reader in one plain loop, so the
readers' latencies are spread evenly between the loop's start and end: the histogram receives
that spread, bucket by bucket, in one step (`_observe_spread`).

With `--workers N` each worker is a process: `liveblog serve` points PROMETHEUS_MULTIPROC_DIR at
an empty directory before the workers start (prometheus-client's multi-process mode), gauges
are summed over live workers, and any worker's `/metrics` answers for all of them. Behind a load
balancer each process answers for itself; scrape each.
"""

from __future__ import annotations

import bisect
import os
import time
from collections.abc import Iterable, Mapping

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

MULTIPROCESS = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
# Liveblogs given their own `liveblog` label on liveblog_readers; the rest add up as "other", so
# the number of series stays bounded however many liveblogs there are.
BUSIEST_LIVEBLOGS = 20
OTHER = "other"


def _gauge(name: str, documentation: str, labels: Iterable[str] = ()) -> Gauge:
    # Multi-process: summed over the workers that are alive.
    return Gauge(name, documentation, list(labels), multiprocess_mode="livesum")


READERS = _gauge(
    "liveblog_readers",
    "Reader WebSockets open now, by liveblog (the busiest; the rest as 'other').",
    ["liveblog"],
)
EVENTS_PUBLISHED = Counter(
    "liveblog_events_published",
    "Committed changes this process published to the broker (one per seq).",
)
DELIVERIES = Counter(
    "liveblog_deliveries",
    "Live events handed to readers' sockets (an event to N readers counts N).",
)
READERS_DROPPED = Counter(
    "liveblog_readers_dropped",
    "Readers the server closed: slow (4408: fell behind), policy (1008: sent too much).",
    ["reason"],
)
CATCHUPS = Counter(
    "liveblog_catchups",
    "Readers that connected with since= and were replayed what they missed.",
)
RESYNCS = Counter(
    "liveblog_resyncs",
    "Resync messages sent instead of a replay, by reason (too_far_behind, ahead_of_server, "
    "epoch_changed).",
    ["reason"],
)
BROKER_UP = _gauge(
    "liveblog_broker_up",
    "1 while the broker carries events between processes (always 1 for memory://).",
)
BROKER_GAPS_REPAIRED = Counter(
    "liveblog_broker_gaps_repaired",
    "Gaps in the broker's events that a hub filled from storage.",
)
STORAGE_WATCH_ACTIVE = _gauge(
    "liveblog_storage_watch_active",
    "1 while this process polls storage because the broker's link is down.",
)
HTTP_REQUESTS = Counter(
    "liveblog_http_requests",
    "HTTP requests by route template ('unmatched' for no route), method and status.",
    ["route", "method", "status"],
)
HTTP_DURATION = Histogram(
    "liveblog_http_request_duration_seconds",
    "HTTP request duration, from the request's start to its response's end, by route.",
    ["route", "method"],
)
DELIVERY_LATENCY = Histogram(
    "liveblog_delivery_latency_seconds",
    "From an event's commit to its frame written to a reader's socket; one observation per "
    "delivery.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


CONNECTIONS_REFUSED = Counter(
    "liveblog_connections_refused",
    "Connections closed as soon as they were accepted, by reason: opening_budget (their address "
    "is over its budget of openings, app/serving/http_protocol.py), busy "
    "(LIVEBLOG_MAX_HTTP_CONNECTIONS open and every one busy with a request: a bare 503), reset "
    "(reset by the client before it was accepted).",
    ["reason"],
)
BACKGROUND_RESTARTS = Counter(
    "liveblog_background_restarts",
    "Background loops that failed (raised, or ended) and were restarted after a back-off, by "
    "loop (app/supervisor.py); /readyz is 503 while one waits for its restart.",
    ["loop"],
)


PASSWORD_CHECKS = Counter(
    "liveblog_password_checks",
    "Console password hashes this process made (sign-ins, password changes, new passwords).",
)
PASSWORD_CHECKS_REFUSED = Counter(
    "liveblog_password_checks_refused",
    "Password checks refused unhashed (503), by reason: busy (LIVEBLOG_PASSWORD_CHECKS_CONCURRENT "
    "hashing and LIVEBLOG_PASSWORD_CHECKS_QUEUE waiting), rate "
    "(LIVEBLOG_PASSWORD_CHECKS_PER_SECOND).",
    ["reason"],
)
PASSWORD_CHECKS_IN_PROGRESS = _gauge(
    "liveblog_password_checks_in_progress",
    "Password hashes running now.",
)
PASSWORD_CHECKS_PEAK = Gauge(
    "liveblog_password_checks_peak",
    "The most password hashes this process has run at once since it started (at most "
    "LIVEBLOG_PASSWORD_CHECKS_CONCURRENT).",
    multiprocess_mode="max",
)


def delivered(readers: int, committed_at: float | None, started: float, ended: float) -> None:
    """One event's fan-out: `readers` frames written between `started` and `ended` (time.time).

    `committed_at` is None for events read from storage (a gap filled, a replay): they are
    counted, but their latency is not the live path's.
    """
    if readers <= 0:
        return
    DELIVERIES.inc(readers)
    if committed_at is not None:
        _observe_spread(DELIVERY_LATENCY, started - committed_at, ended - committed_at, readers)


def _observe_spread(histogram: Histogram, low: float, high: float, count: int) -> None:
    """Add `count` observations spread evenly over [low, high], as `count` observe() calls would.

    prometheus-client has no bulk observation; this adds to its bucket values directly (one
    `inc` per bucket touched), which tests/api/test_metrics.py checks against observe().
    """
    low = max(0.0, low)
    high = max(low, high)
    bounds: list[float] = histogram._upper_bounds
    buckets = histogram._buckets
    histogram._sum.inc(count * (low + high) / 2)
    if high == low:
        buckets[bisect.bisect_left(bounds, low)].inc(count)
        return
    left = 0  # observations already placed
    first = bisect.bisect_left(bounds, low)
    for index in range(first, len(bounds)):
        # Observations at or below this bound: the part of [low, high] under it, rounded.
        if bounds[index] >= high:
            upto = count
        else:
            upto = round(count * (bounds[index] - low) / (high - low))
        if upto > left:
            buckets[index].inc(upto - left)
            left = upto
        if left >= count:
            return


def set_readers(counts: Mapping[str, int]) -> None:
    """This process's readers per liveblog: the busiest by name, the rest as 'other'."""
    ranked = sorted(counts.items(), key=lambda item: item[1], reverse=True)
    shown = dict(ranked[:BUSIEST_LIVEBLOGS])
    other = sum(n for _, n in ranked[BUSIEST_LIVEBLOGS:])
    # Liveblogs no longer among the busiest leave (the series count stays bounded).
    for labels in list(READERS._metrics):
        (slug,) = labels
        if slug not in shown and slug != OTHER:
            READERS.remove(slug)
    for slug, n in shown.items():
        READERS.labels(slug).set(n)
    READERS.labels(OTHER).set(other)


def render() -> tuple[bytes, str]:
    """The exposition text and its content type: this process's, or every worker's."""
    if MULTIPROCESS:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def now() -> float:
    return time.time()
