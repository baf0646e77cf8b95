"""A sign-in spray cannot starve the readers (issue 22, point 1): password hashing is bounded per
process (LIVEBLOG_PASSWORD_CHECKS_CONCURRENT at once, LIVEBLOG_PASSWORD_CHECKS_QUEUE waiting,
LIVEBLOG_PASSWORD_CHECKS_PER_SECOND on average, across all addresses), and past the bound a
sign-in gets 503 with Retry-After at once, unhashed.

The server tests each start their own server with small bounds, behind a "proxy" at 127.0.0.1
(LIVEBLOG_TRUSTED_PROXIES), so every wrong guess comes from an address of its own and the
per-address back-off (throttle.py) never answers in place of the bound under test. What the
server hashed is read from its own /metrics (liveblog_password_checks_*).
"""

from __future__ import annotations

import asyncio
import itertools
import re
import time
from collections.abc import Callable

import httpx
from argon2 import PasswordHasher
from prometheus_client.parser import text_string_to_metric_families

from app.auth import passwords
from tests.harness import PASSWORD, ConsoleClient, LiveServer, create_user, problem, seconds

_addresses = itertools.count(1)
SPRAY = 30


def new_address() -> str:
    """A client address (TEST-NET-3) no other sign-in of this module comes from."""
    number = next(_addresses)
    return f"203.0.{113 + number // 250}.{number % 250 + 1}"


async def sign_in(
    http: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> tuple[httpx.Response, float]:
    """One sign-in form post from a fresh address; the response and how long it took."""
    started = time.perf_counter()
    response = await http.post(
        "/console/sign-in",
        data={"username": username, "password": password},
        headers={"Origin": str(http.base_url).rstrip("/"), "X-Forwarded-For": new_address()},
    )
    return response, time.perf_counter() - started


async def password_metrics(http: httpx.AsyncClient) -> dict[str, float]:
    """The liveblog_password_checks_* samples of /metrics, by name (and reason)."""
    response = await http.get("/metrics")
    assert response.status_code == 200, response.text
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name.startswith("liveblog_password_checks") and not sample.name.endswith(
                "_created"
            ):
                reason = sample.labels.get("reason")
                found[f"{sample.name}:{reason}" if reason else sample.name] = sample.value
    return found


def alert(response: httpx.Response) -> str:
    """The sign-in page's error message."""
    found = re.search(r'role="alert">([^<]*)<', response.text)
    assert found, response.text
    return found.group(1)


async def test_a_spray_is_hashed_one_at_a_time_and_the_rest_refused_at_once(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """30 wrong sign-ins at once, each for another username from another address: never more
    than one hash at a time, those past the queue refused with 503 + Retry-After quickly and
    unhashed, /healthz fast throughout, and the owner signs in once the spray is over."""
    server = isolated_server(
        process=True,  # the password-check gate is per process
        trusted_proxies="127.0.0.1",
        password_checks_concurrent=1,
        password_checks_queue=2,
        password_checks_per_second=0,  # the rate has a test of its own
    )
    owner = await asyncio.to_thread(create_user, server, "admin")
    async with httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as http:
        before = await password_metrics(http)
        spray_done = asyncio.Event()
        health: list[float] = []

        async def probe_health() -> None:
            async with httpx.AsyncClient(base_url=server.url, timeout=seconds(5)) as probe:
                deadline = time.monotonic() + seconds(30)
                for _ in range(2000):
                    started = time.perf_counter()
                    response = await probe.get("/healthz")
                    health.append(time.perf_counter() - started)
                    assert response.status_code == 200, response.text
                    if spray_done.is_set() or time.monotonic() > deadline:
                        return

        prober = asyncio.create_task(probe_health())
        try:
            spray = await asyncio.gather(
                *(sign_in(http, f"sprayed{n}", f"guess number {n}") for n in range(SPRAY))
            )
        finally:
            spray_done.set()
            await prober
        after = await password_metrics(http)

        statuses = sorted(response.status_code for response, _ in spray)
        checked, refused = statuses.count(401), statuses.count(503)
        assert checked + refused == SPRAY, statuses
        assert checked >= 3 and refused >= 1, statuses  # 1 hashing + 2 waiting, at least
        # The bound held: never two hashes at once, and every refusal went unhashed.
        assert after["liveblog_password_checks_peak"] == 1, after
        hashed = after["liveblog_password_checks_total"] - before["liveblog_password_checks_total"]
        assert hashed == checked, (before, after)
        assert after["liveblog_password_checks_refused_total:busy"] == refused, after
        for response, took in spray:
            if response.status_code == 503:
                assert response.headers["retry-after"] == "1", response.headers
                assert "set-cookie" not in response.headers
                assert alert(response) == (
                    "The server is busy checking other passwords; try again in 1 second."
                )
                assert took < seconds(1), f"a refusal took {took:.3f} s"
        # Readers' side of the process stayed responsive.
        assert health, "no /healthz answer during the spray"
        assert max(health) < seconds(1), f"/healthz took up to {max(health):.3f} s"

        signed_in, _ = await sign_in(http, owner)
        assert signed_in.status_code == 303, signed_in.text


async def test_the_rate_across_addresses_refuses_unhashed_and_then_lets_the_owner_in(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """At 0.5 checks a second in bursts of 4 (1 at once + 3 waiting), the fifth sign-in in a row,
    from a fifth address, is 503 with Retry-After; so is a password change, the same bound's;
    after Retry-After the owner's password is checked again."""
    server = isolated_server(
        process=True,  # the password-check gate is per process
        trusted_proxies="127.0.0.1",
        password_checks_concurrent=1,
        password_checks_queue=3,
        password_checks_per_second=0.5,
    )
    owner = await asyncio.to_thread(create_user, server, "editor")
    async with (
        httpx.AsyncClient(base_url=server.url, timeout=seconds(10)) as http,
        ConsoleClient(server) as console,
    ):
        assert (await console.sign_in(owner)).status_code == 303  # the burst's first
        for n in range(3):
            wrong, _ = await sign_in(http, f"rated{n}", "a wrong password")
            assert wrong.status_code == 401, wrong.text
        refused, took = await sign_in(http, "rated3", "a wrong password")
        assert refused.status_code == 503, refused.text
        wait = int(refused.headers["retry-after"])
        assert 1 <= wait <= 2, wait
        assert alert(refused).startswith("Too many passwords are being checked; try again in")
        assert took < seconds(1)
        # The own-password change goes through the same bound: refused, nothing changed.
        changed = await console.post(
            "/console/account/password",
            {"current_password": PASSWORD, "new_password": "another long passphrase"},
        )
        body = problem(changed, 503)
        assert "Too many passwords are being checked" in body["detail"], body
        assert 1 <= int(changed.headers["retry-after"]) <= 2
        metrics = await password_metrics(http)
        assert metrics["liveblog_password_checks_total"] == 4, metrics
        assert metrics["liveblog_password_checks_refused_total:rate"] == 2, metrics

        await asyncio.sleep(int(changed.headers["retry-after"]))
        signed_in, _ = await sign_in(http, owner)
        assert signed_in.status_code == 303, signed_in.text


async def test_hashes_with_the_old_parameters_still_verify_and_are_due_a_rehash() -> None:
    """A hash made with argon2-cffi's defaults (64 MiB, 3 passes, 4 lanes: this project's until
    issue 22) still verifies, and is due a rehash at sign-in; today's hash is not."""
    old = PasswordHasher().hash(PASSWORD)
    checks = passwords.PasswordChecks()
    assert await checks.verify_password(old, PASSWORD)
    assert not await checks.verify_password(old, "not the password")
    assert passwords.needs_rehash(old)
    new = await checks.hash_password(PASSWORD)
    checks.close()
    assert new.startswith("$argon2id$v=19$m=19456,t=2,p=1$"), new
    assert not passwords.needs_rehash(new)
