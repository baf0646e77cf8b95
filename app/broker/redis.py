"""Redis pub/sub between processes: every process publishes its committed events to one channel
(LIVEBLOG_BROKER_CHANNEL + ":events") and delivers what it hears there to its own hub.

- One subscription per process, whatever the number of readers.
- A process hands its own events to its hub at once (as the memory broker does) and skips their
  echo from Redis, so its own readers never wait for the Redis hop.
- Publishing never blocks a write: events go into a bounded queue that one task sends on,
  pipelined, in order.
- Pub/sub is at most once. Whenever the subscription breaks, the hub is told the link is down
  (it then watches storage) and, once resubscribed, that it is up again (it then reads what it
  missed). A gap while the link is up is noticed by the hub from the sequence numbers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import orjson
import redis.asyncio as redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from app import metrics
from app.broker.base import Broker, Control, Deliver, LinkChanged, OnControl
from app.domain.events import Event

log = logging.getLogger(__name__)

# Seconds between two subscription attempts while Redis is away: live delivery resumes within
# about this long (plus one connect) after Redis comes back.
RECONNECT_DELAY_S = 0.5
# A subscription is pinged this often; with no answer within PING_TIMEOUT_S it counts as broken
# (a closed connection is noticed at once; this catches one that hangs).
PING_INTERVAL_S = 1.0
PING_TIMEOUT_S = 3.0
CONNECT_TIMEOUT_S = 1.0
# Events waiting to go to Redis. Past this (Redis too slow for the write rate) the oldest are
# dropped; other processes notice the gap and read those changes from storage.
PUBLISH_QUEUE_MAX = 10_000
PUBLISH_BATCH_MAX = 256


def redacted(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.replace(parts.password, "***", 1)))


def control_channel(channel: str) -> str:
    return f"{channel}:control"


async def send_control(url: str, channel: str, message: Control) -> None:
    """Send one control message from outside a server (the CLI): best effort, never raises."""
    client = redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT_S)
    try:
        await client.publish(control_channel(channel), orjson.dumps(["cli", message]))
    except (RedisError, OSError) as error:
        log.warning("could not tell the servers through Redis (%s)", error)
    finally:
        await client.aclose()


class RedisBroker(Broker):
    def __init__(self, url: str, channel: str) -> None:
        self._url = url
        self._channel = f"{channel}:events"
        self._control_channel = control_channel(channel)
        self._origin = uuid.uuid4().hex[:16]  # tells this process's own events apart
        options: dict[str, Any] = {
            "socket_connect_timeout": CONNECT_TIMEOUT_S,
            "socket_timeout": PING_TIMEOUT_S,
        }
        # No silent reconnects: redis-py would resubscribe after a drop without saying so,
        # hiding the events lost meanwhile. We reconnect ourselves.
        no_retry = Retry(NoBackoff(), 0)
        self._subscriber = redis.Redis.from_url(url, retry=no_retry, **options)
        # No socket timeout for publishing: with one, redis-py writes through a task (a loop
        # turn later) and times out the idle reply reader. A Redis that hangs is noticed by the
        # subscription's pings instead, which restarts the publisher (see _set_linked).
        self._publisher = redis.Redis.from_url(
            url, retry=no_retry, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=None
        )
        self._deliver: Deliver | None = None
        self._on_control: OnControl | None = None
        self._link_changed: LinkChanged | None = None
        # (channel, payload): events, and control messages beside them.
        self._outbox: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
        self._linked: bool | None = None  # None until the first attempt has an outcome
        self._problem: str | None = "not connected yet"
        self._down_since: float | None = time.time()
        self._tasks: list[asyncio.Task[None]] = []
        self._publishing: asyncio.Task[None] | None = None
        self._publish_failing = False  # logged once per outage

    # Lifecycle ----------------------------------------------------------------------------------

    async def start(
        self, deliver: Deliver, link_changed: LinkChanged, on_control: OnControl | None = None
    ) -> None:
        self._deliver = deliver
        self._on_control = on_control
        self._link_changed = link_changed
        first_link = asyncio.get_running_loop().create_future()
        self._tasks = [
            asyncio.create_task(self._subscribe_forever(first_link), name="redis subscribe")
        ]
        self._start_publisher()
        # Serve subscribed when Redis is there; without it, start anyway (writes still work,
        # the hub watches storage) and keep trying in the background.
        try:
            await asyncio.wait_for(asyncio.shield(first_link), CONNECT_TIMEOUT_S * 2)
        except (TimeoutError, RedisError, OSError):
            if self._linked is None:
                self._set_linked(False, "no answer at start-up")

    def _start_publisher(self) -> None:
        if self._publishing is not None:
            self._publishing.cancel()
        self._publishing = asyncio.create_task(self._publish_forever(), name="redis publish")

    async def stop(self) -> None:
        tasks = {*self._tasks, *([self._publishing] if self._publishing else [])}
        # Cancelled until they end: redis-py's PubSub.get_message can swallow a cancellation
        # that arrives while it waits (its own timeout), and the subscriber would go on
        # listening (seen with redis-py 8.1 when a broker stops right after it started).
        while tasks:
            for task in tasks:
                task.cancel()
            _, tasks = await asyncio.wait(tasks, timeout=0.1)
        self._tasks = []
        self._deliver = None
        await self._subscriber.aclose()
        await self._publisher.aclose()

    async def check(self) -> str | None:
        if self._linked:
            return None
        since = time.strftime("%H:%M:%S", time.gmtime(self._down_since or time.time()))
        return (
            f"Redis at {redacted(self._url)} unreachable since {since} UTC ({self._problem}); "
            "readers get new entries by polling storage meanwhile"
        )

    # Publishing -------------------------------------------------------------------------------

    async def publish(self, event: Event) -> None:
        # Queued for Redis before this process's own fan-out is scheduled: the publishing task
        # wakes first on the loop's next turn and writes to Redis before the (long) local fan-out
        # runs, so the other processes start theirs at about the same time.
        if self._linked:
            self._queue(
                self._channel,
                orjson.dumps(
                    [
                        self._origin,
                        event.liveblog,
                        event.seq,
                        event.type,
                        event.frame,
                        event.committed_at,
                        event.epoch,
                    ]
                ),
            )
        # Otherwise the other processes are watching storage: nothing to queue for.
        if self._deliver is not None:
            # This process's own readers: on the loop's next turn, as the memory broker does.
            asyncio.get_running_loop().call_soon(self._deliver, event)

    def _queue(self, channel: str, payload: bytes) -> None:
        if self._outbox.qsize() >= PUBLISH_QUEUE_MAX:
            self._outbox.get_nowait()  # drop the oldest: receivers fill the gap from storage
        self._outbox.put_nowait((channel, payload))

    async def publish_control(self, message: Control) -> None:
        # Queued like events (never awaiting Redis: a console write must not stall on it).
        if self._linked:
            self._queue(self._control_channel, orjson.dumps([self._origin, message]))
        if self._on_control is not None:
            asyncio.get_running_loop().call_soon(self._on_control, message)

    async def _publish_forever(self) -> None:
        """Send queued events on one connection, without waiting for Redis' replies between
        batches: while this process's loop is busy fanning out to its own readers, a wait for
        each reply would cost one fan-out per round trip and hold the others' readers back.

        redis-py's public API always waits for the replies (`publish`, a pipeline's `execute`),
        so this drives a connection of the client's pool by hand: get_connection, pack_commands,
        send_packed_command, read_response, disconnect, release. Not redis-py's documented API:
        tests/test_redis_internals.py checks each against the redis-py installed, and
        pyproject.toml keeps redis-py within the major release checked.
        """
        pool: Any = self._publisher.connection_pool  # redis-py types its pool only in part
        while True:
            connection: Any = None
            replies: asyncio.Task[None] | None = None
            try:
                connection = await pool.get_connection()
                replies = asyncio.create_task(self._discard_replies(connection))
                while True:
                    batch = [await self._outbox.get()]
                    while len(batch) < PUBLISH_BATCH_MAX and not self._outbox.empty():
                        batch.append(self._outbox.get_nowait())
                    if replies.done():
                        replies.result()  # the connection broke: raise why
                    commands = [("PUBLISH", channel, payload) for channel, payload in batch]
                    if self._publish_failing:
                        log.info("publishing to Redis again")
                        self._publish_failing = False
                    # Written at once (no socket timeout, so no task in between).
                    await connection.send_packed_command(
                        connection.pack_commands(commands), check_health=False
                    )
            except (RedisError, OSError) as error:
                # Events in flight may be lost; the receiving hubs notice the gap (or, if the
                # subscription broke too, watch storage). Once per outage at WARNING, then
                # each retry at DEBUG: an outage must not flood the log twice a second.
                level = logging.DEBUG if self._publish_failing else logging.WARNING
                self._publish_failing = True
                log.log(level, "publishing to Redis failed (%s); reconnecting", error)
            finally:
                if replies is not None:
                    # Ended before the connection is closed: a read still running would hold
                    # the connection (disconnect waits for it), and stop() with it.
                    replies.cancel()
                    await asyncio.wait([replies])
                if connection is not None:
                    await connection.disconnect()
                    await pool.release(connection)
            await asyncio.sleep(RECONNECT_DELAY_S)

    @staticmethod
    async def _discard_replies(connection: Any) -> None:
        while True:
            await connection.read_response()  # subscriber counts; nothing to do with them

    # Subscribing ------------------------------------------------------------------------------

    async def _subscribe_forever(self, first_link: asyncio.Future[None]) -> None:
        while True:
            pubsub: Any = self._subscriber.pubsub()  # redis-py types PubSub only in part
            try:
                await pubsub.subscribe(self._channel, self._control_channel)
                await self._listen(pubsub, first_link)
            except (RedisError, OSError, TimeoutError) as error:
                self._set_linked(False, f"{type(error).__name__}: {error}")
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()
            await asyncio.sleep(RECONNECT_DELAY_S)

    async def _listen(self, pubsub: Any, first_link: asyncio.Future[None]) -> None:
        last_heard = time.monotonic()
        last_ping = 0.0
        while True:
            message = await pubsub.get_message(timeout=PING_INTERVAL_S)
            now = time.monotonic()
            if message is not None:
                last_heard = now
                self._handle(message, first_link)
            elif now - last_heard > PING_TIMEOUT_S:
                # Silence, or was this process too busy to read (a connect storm)? Ask once
                # more and give Redis the whole timeout to answer before giving up on it.
                await pubsub.ping()
                message = await pubsub.get_message(timeout=PING_TIMEOUT_S)
                if message is None:
                    raise TimeoutError(f"no answer from Redis for {PING_TIMEOUT_S:g}s")
                last_heard = time.monotonic()
                self._handle(message, first_link)
            if now - last_ping >= PING_INTERVAL_S:
                last_ping = now
                await pubsub.ping()

    def _handle(self, message: dict[str, Any], first_link: asyncio.Future[None]) -> None:
        kind = message["type"]
        if kind == "message":
            if message["channel"] == self._control_channel.encode():
                self._receive_control(message["data"])
            else:
                self._receive(message["data"])
        elif kind == "subscribe" and message["channel"] == self._channel.encode():
            if self._linked:  # a reconnect we did not make: events may have been lost
                raise ConnectionError("the subscription was renewed behind our back")
            # Subscribed: from here on nothing published is missed.
            self._set_linked(True, None)
            if not first_link.done():
                first_link.set_result(None)

    def _receive(self, data: bytes) -> None:
        try:
            # [origin, slug, seq, type, frame, committed_at, epoch]: the last two were added
            # later, and older processes in a rolling upgrade send five or six.
            origin, slug, seq, kind, frame, *rest = orjson.loads(data)
            committed_at = float(rest[0]) if rest and rest[0] is not None else None
            epoch = rest[1] if len(rest) > 1 and isinstance(rest[1], str) else None
        except (orjson.JSONDecodeError, ValueError, TypeError):
            log.warning("ignoring a malformed message on %s", self._channel)
            return
        if origin == self._origin or self._deliver is None:
            return
        if not (isinstance(slug, str) and isinstance(seq, int) and isinstance(frame, str)):
            log.warning("ignoring a malformed event on %s", self._channel)
            return
        try:
            self._deliver(Event(slug, seq, str(kind), frame, committed_at, epoch))
        except Exception:  # as for control messages: never end the subscription
            log.exception("ignoring an event that could not be delivered: %.200r", data)

    def _receive_control(self, data: bytes) -> None:
        try:
            origin, message = orjson.loads(data)
        except (orjson.JSONDecodeError, ValueError, TypeError):
            log.warning("ignoring a malformed message on %s", self._control_channel)
            return
        if origin == self._origin or self._on_control is None or not isinstance(message, dict):
            return
        try:
            self._on_control(message)
        except Exception:
            # Anyone who can publish on our Redis can send anything: a bad message must not end
            # the subscription (and with it every other process's live events).
            log.exception("ignoring a control message that could not be handled: %.200r", data)

    def _set_linked(self, linked: bool, problem: str | None) -> None:
        self._problem = problem
        if linked == self._linked:
            return
        self._linked = linked
        metrics.BROKER_UP.set(1 if linked else 0)
        if linked:
            log.info("Redis subscription up (%s)", redacted(self._url))
            self._down_since = None
        else:
            log.warning("Redis subscription lost (%s); watching storage meanwhile", problem)
            self._down_since = time.time()
            while not self._outbox.empty():  # others watch storage now; these would be stale
                self._outbox.get_nowait()
            if self._publishing is not None:  # its connection may hang: start afresh
                self._start_publisher()
        if self._link_changed is not None:
            self._link_changed(linked)
