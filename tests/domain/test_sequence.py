"""The no-gap, no-duplicate rules (app/domain/sequence.py, app/domain/resume.py), driven by a
Hypothesis state machine through everything a broker and an operator can do to a stream:
dropped, duplicated and reordered events, a silent broker, a history replaced under a running
follower. Whatever happens, a follower built from these rules alone ends with the server's
state, having passed on every change in order and none twice, or it has been told to resync
(and reloads); and a real Reader (app/realtime/reader.py, which inlines `reader_takes`) sends
exactly what the rule says."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace

from hypothesis import given, settings, strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from app.domain.protocol import Outgoing
from app.domain.resume import Resume, bounded, catch_up, plan
from app.domain.sequence import Arrival, Position, arrival, reader_takes
from app.realtime.reader import Reader

REPLAY_LIMIT = 6  # a small catch-up limit, so that too-far-behind happens too


@dataclass(frozen=True)
class Change:
    epoch: str
    seq: int
    entry: int
    version: int
    resync: bool = False


@dataclass
class Server:
    """The stored truth: a liveblog's entries (id: version), its head, its epoch."""

    epoch: str = "e0"
    head: int = 0
    entries: dict[int, int] = field(default_factory=dict)
    changed_at: dict[int, int] = field(default_factory=dict)  # entry: seq of its last change
    rotated: bool = False

    def write(self, entry: int) -> Change:
        self.head += 1
        self.entries[entry] = self.entries.get(entry, 0) + 1
        self.changed_at[entry] = self.head
        return Change(self.epoch, self.head, entry, self.entries[entry])

    def replace_history(self, head: int) -> None:
        """A restore: a new epoch whose seqs name other changes (its head may be lower)."""
        self.epoch, self.head, self.rotated = f"e{uuid.uuid4().hex[:6]}", head, True
        self.changed_at = {entry: min(seq, head) for entry, seq in self.changed_at.items()}

    def read_after(self, position: Position) -> tuple[Resume, list[Change]]:
        """services/changes.py's read: the decision, and the replay (compacted, in seq order)."""
        decision = plan(position.seq, self.head, position.epoch, self.epoch, self.rotated)
        replay = sorted(
            (Change(self.epoch, seq, entry, self.entries[entry])
             for entry, seq in self.changed_at.items() if seq > position.seq),
            key=lambda change: change.seq,
        )  # fmt: skip
        if decision is Resume.REPLAY:
            decision = bounded(len(replay), REPLAY_LIMIT)
        return decision, replay if decision is Resume.REPLAY else []


@dataclass
class Follower:
    """A channel built from the rules alone, as realtime/hub.py's Channel is."""

    position: Position
    view: dict[int, int]
    passed_on: list[Change] = field(default_factory=list)
    pending: list[Change] = field(default_factory=list)
    resyncs: int = 0

    def deliver(self, change: Change, server: Server) -> None:
        match arrival(self.position, change.seq, change.epoch):
            case Arrival.NEXT:
                self._pass_on(change)
            case Arrival.GAP | Arrival.NEW_HISTORY:
                self.pending.append(change)
                self.fill(server)
            case Arrival.DUPLICATE | Arrival.OLD_HISTORY:
                pass

    def fill(self, server: Server) -> None:
        decision, replay = server.read_after(self.position)
        resync = Change(server.epoch, server.head, 0, 0, resync=True)
        for change in catch_up(decision, replay, lambda: resync):
            self._pass_on(change)
        left = self.position.left
        if decision in (Resume.EPOCH_CHANGED, Resume.AHEAD):
            if self.position.epoch != server.epoch:
                left = (*left, self.position.epoch) if self.position.epoch else left
            self.position = Position(server.epoch, server.head, left)
        else:
            self.position = Position(server.epoch, max(self.position.seq, server.head), left)
        # Kept changes of an epoch the read did not see came before it: that history is gone
        # (Channel._retire_stale), so its epoch is left and they are dropped.
        stale = {change.epoch for change in self.pending if change.epoch != server.epoch}
        self.position = replace(self.position, left=(*self.position.left, *sorted(stale)))
        pending, self.pending = [c for c in self.pending if c.epoch not in stale], []
        for change in pending:
            self.deliver(change, server)

    def _pass_on(self, change: Change) -> None:
        if change.resync:
            self.resyncs += 1
            self.view = {}  # it reloads through REST: the view is the server's from here
            self.passed_on.append(change)
            return
        self.passed_on.append(change)
        self.view[change.entry] = change.version
        self.position = Position(change.epoch, change.seq, self.position.left)


class Stream(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.server = Server()
        self.queue: list[Change] = []  # what the broker has yet to deliver, in its order
        self.follower = Follower(Position(self.server.epoch, 0), {})
        self.reloaded: dict[int, int] = {}

    @rule(entry=st.integers(1, 5))
    def write(self, entry: int) -> None:
        self.queue.append(self.server.write(entry))

    @precondition(lambda self: bool(self.queue))
    @rule()
    def deliver(self) -> None:
        self.follower.deliver(self.queue.pop(0), self.server)

    @precondition(lambda self: bool(self.queue))
    @rule()
    def drop(self) -> None:
        self.queue.pop(0)

    @precondition(lambda self: bool(self.queue))
    @rule()
    def duplicate(self) -> None:
        self.queue.insert(0, self.queue[0])

    @precondition(lambda self: len(self.queue) >= 2)
    @rule()
    def reorder(self) -> None:
        self.queue[0], self.queue[1] = self.queue[1], self.queue[0]

    @rule()
    def broker_silent(self) -> None:
        """Redis down: everything in flight is lost; the hub watches storage meanwhile."""
        self.queue.clear()
        self._check_head()

    @rule(back=st.integers(0, 3))
    def history_replaced(self, back: int) -> None:
        self.server.replace_history(max(0, self.server.head - back))

    def _check_head(self) -> None:
        """Hub._check_heads: storage is ahead (or in another epoch): fill."""
        here = self.follower.position
        if self.server.head > here.seq or self.server.epoch != here.epoch:
            self.follower.fill(self.server)

    @invariant()
    def passed_on_in_order_and_once(self) -> None:
        """Between two resyncs, what the follower passed on is strictly increasing in seq."""
        last: tuple[str, int] | None = None
        for change in self.follower.passed_on:
            if change.resync:
                last = None
                continue
            if last is not None and last[0] == change.epoch:
                assert change.seq > last[1], self.follower.passed_on
            last = (change.epoch, change.seq)

    def teardown(self) -> None:
        """Once one more change is written and the broker has delivered what it still holds,
        the follower stands where the server does, with its state (or it was told to reload).
        (The last change before a lost one is learnt of with the next change, as in the
        product, or by the storage watch while the broker is down: `broker_silent`.)"""
        self.write(entry=1)
        while self.queue:
            self.deliver()
        assert (self.follower.position.epoch, self.follower.position.seq) == (
            self.server.epoch,
            self.server.head,
        )
        if self.follower.resyncs == 0:
            assert self.follower.view == self.server.entries


TestStream = Stream.TestCase
TestStream.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)


class RecordingSink:
    """The I/O edge of a Reader: always ready, records what it was sent."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.on_ready = lambda: None

    def ready(self) -> bool:
        return True

    def gone(self) -> bool:
        return False

    def send(self, message: Outgoing) -> None:
        self.sent.append(message.seq)

    def close(self, code: int, reason: str, timeout: float) -> None:
        raise AssertionError("a reader that keeps up is never closed")

    def detach(self, on_gone: object) -> bool:
        return False


@given(
    floor=st.integers(0, 20),
    messages=st.lists(st.tuples(st.integers(0, 30), st.booleans()), max_size=30),
)
def test_a_reader_sends_what_reader_takes_says(
    floor: int, messages: list[tuple[int, bool]]
) -> None:
    sink = RecordingSink()
    reader = Reader(sink, max_backlog=100, close_timeout=1.0)  # type: ignore[arg-type]
    reader.start(floor)
    expected, now = [], floor
    for seq, resets in messages:
        reader.offer(Outgoing(seq=seq, text="{}", wire=b"", resets=resets))
        goes_out, now = reader_takes(now, seq, resets)
        if goes_out:
            expected.append(seq)
    assert sink.sent == expected
    assert reader.floor == now
