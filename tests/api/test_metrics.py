"""`/metrics`: Prometheus text that counts what readers really got, per process and per worker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
import pytest
from prometheus_client import Histogram
from prometheus_client.parser import text_string_to_metric_families

from app import metrics
from tests.harness import LiveServer, Subscriber, problem, seconds, until, writer

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scrape(text: str) -> Samples:
    """Every sample of the exposition, parsed with prometheus-client's own parser."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def read_metrics(server: LiveServer) -> Samples:
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return scrape(response.text)


@asynccontextmanager
async def readers_of(server: LiveServer, slug: str, count: int) -> AsyncIterator[list[Subscriber]]:
    async with AsyncExitStack() as stack:
        readers = [await stack.enter_async_context(Subscriber(server, slug)) for _ in range(count)]
        for reader in readers:
            await reader.wait_for(lambda r: bool(r.messages), what="hello")
        yield readers


async def test_metrics_match_what_readers_received(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """N readers and K entries: readers N, published +K, deliveries and latencies +N×K."""
    server = isolated_server()
    readers_count, entries = 4, 3
    async with writer(server) as api:
        assert (await api.post("/api/liveblogs", json={"slug": "m", "title": "M"})).is_success
        before = await read_metrics(server)
        async with readers_of(server, "m", readers_count) as readers:
            for n in range(entries):
                posted = await api.post("/api/liveblogs/m/entries", json={"body": f"<p>{n}</p>"})
                assert posted.status_code == 201
            for reader in readers:
                await reader.wait_for(lambda r: len(r.messages) == 1 + entries, what="entries")
            after = await read_metrics(server)
    assert value(after, "liveblog_readers", liveblog="m") == readers_count
    assert value(after, "liveblog_readers", liveblog="other") == 0

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew("liveblog_events_published_total") == entries
    assert grew("liveblog_deliveries_total") == readers_count * entries
    assert grew("liveblog_delivery_latency_seconds_count") == readers_count * entries
    inf_bucket = grew("liveblog_delivery_latency_seconds_bucket", le="+Inf")
    assert inf_bucket == readers_count * entries
    # Loopback, one process: every delivery well under a second after its commit.
    assert grew("liveblog_delivery_latency_seconds_bucket", le="1.0") == readers_count * entries
    assert value(after, "liveblog_broker_up") == 1
    route = "/api/liveblogs/{slug}/entries"
    assert grew("liveblog_http_requests_total", route=route, method="POST", status="201") == 3
    assert grew("liveblog_http_request_duration_seconds_count", route=route, method="POST") == 3


async def test_unmatched_routes_and_catchups_are_counted(server: LiveServer) -> None:
    """A 404 with no route counts as 'unmatched'; a reader resuming with since= is a catch-up."""
    before = await read_metrics(server)
    async with httpx.AsyncClient(base_url=server.url) as client:
        assert (await client.get("/no/such/thing")).status_code == 404
    async with writer(server) as api:
        slug = f"catchup-{id(before)}"
        assert (await api.post("/api/liveblogs", json={"slug": slug, "title": "C"})).is_success
        assert await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>x</p>"})
        async with Subscriber(server, slug, since=0) as reader:
            await reader.wait_for(lambda r: len(r.messages) == 2, what="the replay")
    after = await read_metrics(server)
    unmatched = {"route": "unmatched", "method": "GET", "status": "404"}
    assert value(after, "liveblog_http_requests_total", **unmatched) == (
        value(before, "liveblog_http_requests_total", **unmatched) + 1
    )
    assert value(after, "liveblog_catchups_total") == value(before, "liveblog_catchups_total") + 1


async def test_metrics_can_be_restricted_to_networks(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """LIVEBLOG_METRICS_ALLOWED_NETWORKS: other addresses get 403, named ones the metrics."""
    closed = isolated_server(metrics_allowed_networks="10.0.0.0/8")
    opened = isolated_server(metrics_allowed_networks="10.0.0.0/8, 127.0.0.0/8")
    async with httpx.AsyncClient(timeout=seconds(10)) as client:
        problem(await client.get(f"{closed.url}/metrics"), 403)
        assert (await client.get(f"{opened.url}/metrics")).status_code == 200


@pytest.mark.slow
async def test_workers_metrics_add_up(
    isolated_server: Callable[..., LiveServer],
    postgres_url: str,
    redis_url: str,
    broker_channel: str,
) -> None:
    """With --workers 2, any worker's /metrics counts the readers and deliveries of both."""
    server = isolated_server(
        database_url=postgres_url, broker_url=redis_url, broker_channel=broker_channel, workers=2
    )
    readers_count, entries = 8, 2
    async with writer(server) as api:
        assert (await api.post("/api/liveblogs", json={"slug": "w", "title": "W"})).is_success
        async with readers_of(server, "w", readers_count) as readers:  # over both workers
            for n in range(entries):
                posted = await api.post("/api/liveblogs/w/entries", json={"body": f"<p>{n}</p>"})
                assert posted.status_code == 201
            for reader in readers:
                await reader.wait_for(lambda r: len(r.messages) == 1 + entries, what="entries")

            async def summed() -> bool:
                # Each worker sets its readers gauge every 2 s (and when it is scraped).
                samples = await read_metrics(server)
                return (
                    value(samples, "liveblog_readers", liveblog="w") == readers_count
                    and value(samples, "liveblog_deliveries_total") == readers_count * entries
                )

            await until(summed, "every worker's metrics in one scrape", timeout=8, every=0.1)
    samples = await read_metrics(server)
    assert value(samples, "liveblog_events_published_total") == entries
    assert value(samples, "liveblog_delivery_latency_seconds_count") == readers_count * entries


@pytest.mark.parametrize(
    ("low", "high", "count"),
    [(0.0, 0.0, 5), (0.0004, 0.003, 1000), (0.02, 0.3, 17), (0.5, 20.0, 3), (3.0, 3.0, 2)],
)
def test_a_spread_of_observations_fills_buckets_as_observe_would(
    low: float, high: float, count: int
) -> None:
    """Adding a fan-out's observations at once matches one observe() per delivery, within one."""
    buckets = metrics.DELIVERY_LATENCY._upper_bounds[:-1]  # without +Inf, which is added
    bulk = Histogram("bulk_seconds", "b", buckets=buckets, registry=None)
    single = Histogram("single_seconds", "s", buckets=buckets, registry=None)
    metrics._observe_spread(bulk, low, high, count)
    step = (high - low) / count
    for index in range(count):
        single.observe(low + step * (index + 0.5))

    def cumulative(histogram: Histogram) -> list[float]:
        running, out = 0.0, []
        for bucket in histogram._buckets:
            running += bucket.get()
            out.append(running)
        return out

    for got, expected in zip(cumulative(bulk), cumulative(single), strict=True):
        assert abs(got - expected) <= 1, (cumulative(bulk), cumulative(single))
    assert cumulative(bulk)[-1] == count
    assert bulk._sum.get() == pytest.approx(single._sum.get(), rel=1e-6, abs=1e-9)
