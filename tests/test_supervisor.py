"""Background loops under one supervisor (app/supervisor.py): a loop that fails is logged,
counted, reported down by /readyz and restarted with back-off; nothing else is disturbed.

The supervisor's own rules are tested directly, with loops made for the purpose; one test breaks
a real server's scheduler by taking away the table it reads, as a botched migration would.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import asyncpg
import httpx
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from app.supervisor import Loop, Supervisor
from tests.harness import LiveServer, seconds, until
from tests.services import asyncpg_dsn

RESTARTS = "liveblog_background_restarts_total"


def restarts(name: str) -> float:
    return REGISTRY.get_sample_value(RESTARTS, {"loop": name}) or 0.0


class Runs:
    """A loop that plays one behaviour per run (then waits, cancellable, on the last), and
    records each start."""

    def __init__(self, *behaviours: Callable[[], Awaitable[None]]) -> None:
        self.behaviours = list(behaviours)
        self.started = 0
        self.cancelled = 0

    async def __call__(self) -> None:
        behaviour = self.behaviours[min(self.started, len(self.behaviours) - 1)]
        self.started += 1
        try:
            await behaviour()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise


async def fail() -> None:
    raise RuntimeError("boom")


async def forever() -> None:
    await asyncio.Event().wait()


async def done() -> None:
    return None


@pytest.fixture
def name() -> str:
    """A loop name of this test's own: the restarts counter is the process's."""
    return f"test_{uuid.uuid4().hex[:8]}"


@pytest.fixture
def delays(caplog: pytest.LogCaptureFixture) -> Iterator[list[float]]:
    """The back-off of each restart, as the supervisor logged it."""
    caplog.set_level(logging.INFO, "app.supervisor")
    found: list[float] = []

    class Record(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno == logging.ERROR:
                assert isinstance(record.args, tuple)
                found.append(float(record.args[-1]))

    handler = Record()
    logging.getLogger("app.supervisor").addHandler(handler)
    yield found
    logging.getLogger("app.supervisor").removeHandler(handler)


async def test_a_failed_loop_is_logged_counted_reported_down_and_restarted(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A loop that raises: one ERROR line with its traceback, one restart counted, down (with
    the error's type) until its restart, then running again; the other loops are untouched."""
    caplog.set_level(logging.INFO, "app.supervisor")
    loop = Runs(fail, forever)
    other = Runs(forever)
    async with Supervisor(
        [Loop(name, loop), Loop(name + "_other", other)], first_delay=seconds(0.3)
    ) as supervisor:
        await until(lambda: name in supervisor.down(), "the loop to be down")
        outage = supervisor.down()[name]
        assert outage.error == "RuntimeError"
        assert outage.restart_at - outage.since == pytest.approx(seconds(0.3))
        assert restarts(name) == 1
        await until(lambda: loop.started == 2, "the restart")
        assert supervisor.down() == {}
        assert other.started == 1
    failures = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(failures) == 1
    assert failures[0].getMessage() == (
        f"background loop {name} failed; restarting in {seconds(0.3):g} s"
    )
    assert failures[0].exc_info is not None and str(failures[0].exc_info[1]) == "boom"
    assert f"background loop {name} restarted" in caplog.messages
    assert restarts(name) == 1  # leaving cancels both: a cancellation is no failure
    assert (loop.cancelled, other.cancelled) == (1, 1)


async def test_the_back_off_doubles_up_to_its_cap(name: str, delays: list[float]) -> None:
    """Failures in a row wait twice as long each time, up to the longest delay."""
    loop = Runs(fail, fail, fail, fail, fail, forever)
    async with Supervisor([Loop(name, loop)], first_delay=0.001, longest_delay=0.004):
        await until(lambda: loop.started == 6, "five restarts")
    assert delays == [0.001, 0.002, 0.004, 0.004, 0.004]
    assert restarts(name) == 5


async def test_the_back_off_starts_again_after_a_steady_run(name: str, delays: list[float]) -> None:
    """A failure after the loop ran for `steady_after` is retried as soon as a first one."""

    async def fail_later() -> None:
        await asyncio.sleep(0.02)  # runs steadily (for longer than steady_after), then fails
        raise RuntimeError("boom")

    loop = Runs(fail, fail, fail_later, forever)
    async with Supervisor(
        [Loop(name, loop)], first_delay=0.001, longest_delay=1.0, steady_after=0.01
    ):
        await until(lambda: loop.started == 4, "three restarts")
    assert delays == [0.001, 0.002, 0.001]


async def test_a_one_shot_loop_is_done_once_it_returns(name: str) -> None:
    """`forever=False`: returning is the end of it, not a failure; a failure is restarted."""
    loop = Runs(fail, done)
    async with Supervisor([Loop(name, loop, forever=False)], first_delay=0.001) as supervisor:
        keeper = f"background {name}"
        await until(
            lambda: all(task.get_name() != keeper for task in asyncio.all_tasks()),
            "the loop's keeper to end",
        )
        assert loop.started == 2 and supervisor.down() == {}
    assert restarts(name) == 1


async def test_a_loop_that_returns_is_restarted(
    name: str, caplog: pytest.LogCaptureFixture
) -> None:
    """A loop is meant to run for the life of the process: one that returns has ended too."""
    caplog.set_level(logging.INFO, "app.supervisor")
    loop = Runs(done, forever)
    async with Supervisor([Loop(name, loop)], first_delay=0.001):
        await until(lambda: loop.started == 2, "the restart")
    assert f"background loop {name} returned; restarting in 0.001 s" in caplog.messages
    assert restarts(name) == 1


async def test_a_loop_cancelled_from_within_is_restarted(name: str) -> None:
    """A CancelledError that is not the supervisor's (a future the loop awaited was cancelled)
    ends the loop all the same: it is restarted, not taken for a shutdown."""

    async def awaits_a_cancelled_future() -> None:
        future = asyncio.get_running_loop().create_future()
        future.cancel()
        await future

    loop = Runs(awaits_a_cancelled_future, forever)
    async with Supervisor([Loop(name, loop)], first_delay=0.001) as supervisor:
        await until(lambda: loop.started == 2, "the restart")
        assert supervisor.down() == {}
    assert restarts(name) == 1


def test_loops_need_names_of_their_own() -> None:
    """Two loops of one name could not be told apart in the metric or in /readyz."""
    with pytest.raises(ValueError, match="names of their own"):
        Supervisor([Loop("same", forever), Loop("same", forever)])


def scheduler_restarts(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == RESTARTS and sample.labels == {"loop": "scheduler"}:
                return sample.value
    return 0.0


async def test_a_server_whose_scheduler_fails_is_unready_until_it_runs_again(
    isolated_server: Callable[..., LiveServer], postgres_url: str
) -> None:
    """A real server's scheduler loses its table: /readyz is 503 naming the loop, the failure is
    logged with its traceback and counted in /metrics; once the table is back, the restarted
    scheduler runs and /readyz is 200. /healthz stays 200 throughout."""
    server = isolated_server(database_url=postgres_url, scheduler_interval_seconds=0.1)
    admin = await asyncpg.connect(asyncpg_dsn(postgres_url), timeout=5)
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as client:

        async def ready() -> httpx.Response:
            response = await client.get("/readyz")
            assert (await client.get("/healthz")).status_code == 200
            return response

        async def wait_for_readyz(status: int) -> dict[str, Any]:
            deadline = asyncio.get_running_loop().time() + seconds(15)
            while (response := await ready()).status_code != status:
                assert asyncio.get_running_loop().time() < deadline, response.text
                await asyncio.sleep(0.02)
            body: dict[str, Any] = response.json()
            return body

        await wait_for_readyz(200)
        before = scheduler_restarts((await client.get("/metrics")).text)
        try:
            await admin.execute("ALTER TABLE drafts RENAME TO drafts_away")
            detail = (await wait_for_readyz(503))["detail"]
            assert "background loop scheduler failed at " in detail, detail
            assert "(ProgrammingError); restarting in " in detail, detail
            assert scheduler_restarts((await client.get("/metrics")).text) >= before + 1
            assert "ERROR app.supervisor: background loop scheduler failed" in server.log()
            assert "drafts" in server.log().split("background loop scheduler failed", 1)[1]
        finally:
            await admin.execute("ALTER TABLE IF EXISTS drafts_away RENAME TO drafts")
            await admin.close()
        await wait_for_readyz(200)
