"""The redis-py internals that app/broker/redis.py's publisher drives by hand.

The publisher pipelines PUBLISH commands on one connection and reads their replies in a task of
their own, never waiting for them between batches (`RedisBroker._publish_forever`). redis-py's
public API waits for every reply (`Redis.publish`, a pipeline's `execute()`), and while a process
is busy fanning out to its own readers, each such wait would hold its next event back from every
other process for one whole fan-out. So the publisher takes a connection from its client's pool
and packs, sends, reads, disconnects and releases it itself: methods without an underscore, but
not redis-py's documented API, and they have changed before (`get_connection`'s arguments,
deprecated in 5.3, warn on every call in 8.x). So pyproject.toml keeps redis-py within one major
series (BOUND), the lock pins one release, and these tests check, against the redis-py installed:

- each method the publisher calls exists, is sync or async as expected, and takes the call it
  makes;
- every name of redis-py's pool and connection classes that app/broker/redis.py uses is listed
  here (so a new use of an internal cannot slip past this file);
- the source of each method relied on is unchanged (comments and blank lines aside);
- against a real Redis on loopback, the calls do what the publisher relies on: a batch written
  at once (before anything else the loop had scheduled runs), its replies read in order, a
  broken connection raising from `read_response`, a connection disconnected and released
  replaced by a connected one, and no deprecation warning on the way.

When one fails after a redis-py upgrade: read the new redis-py code it names against
`_publish_forever`, fix it, update RELIANCES and FINGERPRINTS here, then move the redis bound in
pyproject.toml and BOUND below together (and `make lock`).
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import tomllib
import warnings
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import pytest
import redis.asyncio as redis
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from app.broker import redis as redis_broker
from tests.harness import ROOT, seconds
from tests.internals import fingerprint

BROKER = "app/broker/redis.py"

# The redis-py releases whose internals the entries below were checked against (pyproject.toml).
BOUND = SpecifierSet(">=8.1,<9")


@dataclass(frozen=True)
class Call:
    """A method of `owner` that the publisher calls, and how: `args` and `kwargs` stand for what
    it passes (after self)."""

    owner: type
    name: str
    is_async: bool
    why: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


_CONNECTION = object()  # stands for a connection, in the calls below

RELIANCES = [
    Call(
        ConnectionPool,
        "get_connection",
        True,
        "the publisher's own connection, connected; without arguments (deprecated since 5.3)",
    ),
    Call(
        ConnectionPool,
        "release",
        True,
        "gives the connection back once disconnected, so the pool makes the next",
        (_CONNECTION,),
    ),
    Call(
        AbstractConnection,
        "pack_commands",
        False,
        "a batch of PUBLISH commands as one write",
        ([("PUBLISH", "channel", b"payload")],),
    ),
    Call(
        AbstractConnection,
        "send_packed_command",
        True,
        "writes the batch at once: with no socket timeout, straight to the transport, with no "
        "task (and so no loop turn) in between",
        ([b"packed"],),
        {"check_health": False},
    ),
    Call(
        AbstractConnection,
        "read_response",
        True,
        "reads (and drops) each reply, in a task of its own; raises once the connection breaks",
    ),
    Call(
        AbstractConnection,
        "disconnect",
        True,
        "closes the connection after a failure, or when the publisher is restarted",
    ),
]

# Names of redis-py's pool and connection classes that app/broker/redis.py uses on other
# objects, all of them redis-py's documented API or not redis-py's at all.
ELSEWHERE = {
    "aclose": "Redis.aclose and PubSub.aclose",
    "from_url": "Redis.from_url",
    "password": "urllib's SplitResult.password (redacted)",
}

# Per redis-py method relied on: a digest of its source, comments and blank lines left out
# (tests/internals.py: `fingerprint`), taken from redis-py FINGERPRINTS_FROM.
FINGERPRINTS_FROM = "8.1.0"
FINGERPRINTS = {
    "ConnectionPool.get_connection": "f0fcab0a0f93989f",
    "ConnectionPool.release": "873baa342be64b24",
    "AbstractConnection.pack_commands": "043f70efe42681ea",
    "AbstractConnection.send_packed_command": "cd789315a74ea321",
    "AbstractConnection.read_response": "4b8bdb04a222d383",
    "AbstractConnection.disconnect": "eb3c1ea38854643d",
}


def _advice() -> str:
    return (
        f"{BROKER} relies on it. With redis-py {version('redis')} installed: re-check "
        f"RedisBroker._publish_forever against this redis-py, fix it, update "
        f"tests/test_redis_internals.py, then move the redis bound in pyproject.toml (and BOUND "
        f"here) and run `make lock`."
    )


def _id(call: Call) -> str:
    return f"{call.owner.__name__}.{call.name}"


def test_redis_bound_is_the_one_checked_here() -> None:
    """pyproject.toml's redis bound is BOUND, and the installed redis-py is within it."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        dependencies = tomllib.load(file)["project"]["dependencies"]
    (bound,) = [r for r in map(Requirement, dependencies) if r.name == "redis"]
    assert bound.specifier == BOUND, (
        f"pyproject.toml now asks for redis{bound.specifier}; this file was checked against "
        f"redis{BOUND}. {BROKER} drives redis-py's connections by hand: re-check it against the "
        f"new releases (this file's tests, run with them installed, say what changed), then set "
        f"BOUND here to the same bound."
    )
    installed = Version(version("redis"))
    assert installed in BOUND, (
        f"redis-py {installed} is installed, outside {BOUND}: reinstall from the lock, `make test`"
    )


@pytest.mark.parametrize("call", RELIANCES, ids=_id)
def test_method_exists_and_takes_the_call(call: Call) -> None:
    """Each method the publisher calls: there, sync or async, and taking the arguments it gets."""
    where = f"{call.owner.__module__}.{call.owner.__qualname__}.{call.name}"
    function = inspect.getattr_static(call.owner, call.name, None)
    assert inspect.isfunction(function), f"{where} is gone. " + _advice()
    assert inspect.iscoroutinefunction(function) is call.is_async, (
        f"{where} is {'no longer' if call.is_async else 'now'} a coroutine function "
        f"({call.why}). " + _advice()
    )
    try:
        inspect.signature(function).bind(None, *call.args, **call.kwargs)
    except TypeError as error:
        raise AssertionError(
            f"{where} no longer takes the publisher's call ({error}; {call.why}). " + _advice()
        ) from None


def test_every_internal_name_used_is_checked_here() -> None:
    """A name of redis-py's pool or connection used anywhere in app/broker/redis.py is listed
    in RELIANCES (or, used on another object, in ELSEWHERE)."""
    tree = ast.parse(inspect.getsource(redis_broker))
    used = {node.attr for node in ast.walk(tree) if isinstance(node, ast.Attribute)}
    internal = set(dir(ConnectionPool)) | set(dir(AbstractConnection))
    listed = {call.name for call in RELIANCES}
    unlisted = sorted((used & internal) - listed - ELSEWHERE.keys())
    assert not unlisted, (
        f"{BROKER} uses {unlisted}, which redis-py's pool or connection also has, and which this "
        f"file does not check: add each to RELIANCES (with why {BROKER} needs it) and its "
        f"fingerprint to FINGERPRINTS, or to ELSEWHERE if it is used on another object."
    )


def test_the_client_offers_its_pool() -> None:
    """`Redis.connection_pool`, where the publisher takes its connection: a ConnectionPool."""
    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")  # not connected: nothing is sent
    assert isinstance(client.connection_pool, ConnectionPool), _advice()


def test_redis_sources_relied_on_are_unchanged() -> None:
    """The source of every redis-py method relied on is the one its fingerprint was taken from."""
    relied = {_id(call): call for call in RELIANCES}
    assert sorted(relied) == sorted(FINGERPRINTS), "FINGERPRINTS must list RELIANCES' methods"
    now = {
        name: fingerprint(inspect.getattr_static(call.owner, call.name))
        for name, call in relied.items()
    }
    changed = sorted(name for name in relied if now[name] != FINGERPRINTS[name])
    assert not changed, (
        f"redis-py {version('redis')} changed {', '.join(changed)}. "
        + " ".join(f"{BROKER} relies on {name}: {relied[name].why}." for name in changed)
        + f" Diff each against redis-py {FINGERPRINTS_FROM}, re-check {BROKER}, then set in "
        f"FINGERPRINTS: " + ", ".join(f'"{name}": "{now[name]}"' for name in changed)
    )


async def _message(pubsub: Any) -> dict[str, Any]:
    deadline = asyncio.get_running_loop().time() + seconds(5)
    while asyncio.get_running_loop().time() < deadline:
        message: dict[str, Any] | None = await pubsub.get_message(timeout=seconds(1))
        if message is not None:
            return message
    raise AssertionError("no message from Redis within 5 s")


async def test_the_publisher_calls_do_what_it_relies_on(
    redis_url: str, broker_channel: str
) -> None:
    """Against a real Redis, as the publisher makes them: a packed batch written at once, its
    replies read in order after it, a connection broken under a read raising from it, and a
    connection disconnected and released replaced by a connected one; nothing deprecated."""
    # As RedisBroker makes its publishing client: no retries, no socket timeout.
    client = redis.Redis.from_url(
        redis_url, retry=Retry(NoBackoff(), 0), socket_connect_timeout=1, socket_timeout=None
    )
    listener = redis.Redis.from_url(redis_url, socket_connect_timeout=1)
    pubsub: Any = listener.pubsub()
    pool: Any = client.connection_pool
    try:
        await pubsub.subscribe(broker_channel)
        assert (await _message(pubsub))["type"] == "subscribe"
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # get_connection(...) with arguments warns in 8.x
            connection = await pool.get_connection()
        payloads = [f"event {n}".encode() for n in range(3)]
        batch = connection.pack_commands([("PUBLISH", broker_channel, p) for p in payloads])

        order: list[str] = []
        asyncio.get_running_loop().call_soon(order.append, "scheduled before")
        await connection.send_packed_command(batch, check_health=False)
        order.append("written")
        # Nothing the loop had scheduled ran meanwhile: the local fan-out, scheduled after the
        # event was queued, starts only once the other processes have it on the wire.
        assert order == ["written"], (
            "send_packed_command no longer writes without a loop turn. " + _advice()
        )
        assert [await connection.read_response() for _ in payloads] == [1, 1, 1]
        assert [(await _message(pubsub))["data"] for _ in payloads] == payloads

        await connection.send_packed_command(
            connection.pack_commands([("CLIENT", "ID")]), check_health=False
        )
        client_id = await connection.read_response()
        reading = asyncio.create_task(connection.read_response())
        await listener.client_kill_filter(_id=client_id)
        with pytest.raises((RedisError, OSError)):
            await asyncio.wait_for(reading, seconds(5))
        await connection.disconnect()
        await pool.release(connection)

        again = await pool.get_connection()
        await again.send_packed_command(
            again.pack_commands([("PUBLISH", broker_channel, b"again")]), check_health=False
        )
        assert await again.read_response() == 1
        assert (await _message(pubsub))["data"] == b"again"
        await again.disconnect()
        await pool.release(again)
    finally:
        await pubsub.aclose()
        await listener.aclose()
        await client.aclose()
