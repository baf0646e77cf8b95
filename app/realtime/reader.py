"""One reader's outbound side: a bounded queue and the task that drains it into the socket.

The hub never awaits a reader: `offer()` files the already-encoded frame and returns. A reader
whose queue is full is marked too slow and its sender is cancelled; the endpoint then closes it
with CloseCode.SLOW_READER. Its memory is released at once, and it resumes later with `since`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable

from app.domain.events import Event

Send = Callable[[str], Awaitable[None]]


class Reader:
    __slots__ = (
        "_held",
        "_max_queue",
        "_queue",
        "_send",
        "_task",
        "_wakeup",
        "floor",
        "too_slow",
    )

    def __init__(self, send: Send, max_queue: int) -> None:
        self._send = send
        self._max_queue = max_queue
        self._queue: deque[str] = deque()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        # Events up to `floor` were already sent in the catch-up. None while the catch-up runs:
        # events are held, since the catch-up's head is not known yet.
        self.floor: int | None = None
        self.too_slow = False
        self._held: list[Event] = []

    def offer(self, event: Event) -> None:
        """File `event` for sending. Never blocks; overflow marks the reader too slow."""
        if self.too_slow:
            return
        if self.floor is None:
            self._hold(event)
            return
        if event.seq <= self.floor:
            return  # already covered by this reader's catch-up
        if len(self._queue) >= self._max_queue:
            self._drop()
            return
        self._queue.append(event.frame)
        self._wakeup.set()

    def start(self, floor: int) -> asyncio.Task[None]:
        """Catch-up is sent up to `floor`: release held events after it and start sending."""
        self.floor = floor
        held, self._held = self._held, []
        for event in held:
            self.offer(event)
        self._task = asyncio.create_task(self._run())
        return self._task

    def _hold(self, event: Event) -> None:
        if len(self._held) >= self._max_queue:
            self._drop()
        else:
            self._held.append(event)

    def _drop(self) -> None:
        self.too_slow = True
        self._queue.clear()
        self._held.clear()
        # The sender may be blocked in a send the peer will never take: cancel it. If it has not
        # started yet (the reader overflowed during its catch-up), it ends on its first check.
        if self._task is not None:
            self._task.cancel()

    async def _run(self) -> None:
        queue, send, wakeup = self._queue, self._send, self._wakeup
        while not self.too_slow:
            while queue:
                await send(queue.popleft())
            wakeup.clear()
            await wakeup.wait()
