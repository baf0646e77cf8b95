"""The reader-facing wire protocol as code: message types, close codes, and an event as the one
frame every reader is sent (`Outgoing`).

docs/api.md ("Event protocol") documents exactly these; change both together.

Server → client text frames, JSON:
    {"type": "hello", "liveblog": slug, "seq": HEAD, "epoch": E}      first frame, always
    {"type": "entry.created" | "entry.updated" | "entry.deleted", "seq": N, "epoch": E,
     "entry": {...}}
    {"type": "liveblog.updated", "seq": N, "epoch": E, "liveblog": {...}}
    {"type": "resync", "liveblog": slug, "seq": HEAD, "epoch": E, "reason": ..., "detail": ...}
The client sends nothing; anything it sends is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Final

from websockets.frames import Frame, Opcode

from app.domain.events import Event, encode
from app.domain.resume import RESYNC_DETAIL, Resume

HELLO: Final = "hello"
RESYNC: Final = "resync"


class CloseCode(IntEnum):
    """Close codes a reader can receive, with the reason text sent alongside."""

    # The reader sent more than READER_SEND_BUDGET allows (readers need send nothing). As the
    # refusal of an upgrade (an Origin outside LIVEBLOG_ALLOWED_ORIGINS) the browser sees HTTP
    # 403 instead.
    POLICY_VIOLATION = 1008
    # websockets closes with this a reader frame over READER_MAX_FRAME_BYTES.
    MESSAGE_TOO_BIG = 1009
    # The server failed to serve this reader (e.g. the database did not answer); it is logged.
    INTERNAL_ERROR = 1011
    # uvicorn sends this to every reader when the server shuts down or restarts.
    SERVICE_RESTART = 1012
    # The `since` query parameter is not a non-negative integer, or `epoch` is too long.
    BAD_REQUEST = 4400
    # No liveblog has this slug.
    NOT_FOUND = 4404
    # The reader's outbound queue overflowed: it was not reading fast enough. Its place is kept
    # by `since`; reconnecting with it resumes without loss.
    SLOW_READER = 4408


# What one reader may send per minute. Readers need send nothing but pongs (and a browser may
# send a ping or an odd message); past this the reader is closed with POLICY_VIOLATION, so no
# client can make the server parse for it.
READER_SEND_BUDGET: Final = {"frames": 10, "bytes": 4096, "pings": 10}
READER_SEND_WINDOW_SECONDS: Final = 60.0
READER_MAX_FRAME_BYTES: Final = 4096

CLOSE_REASON: Final = {
    CloseCode.POLICY_VIOLATION: "readers send nothing; too many or too large frames",
    CloseCode.INTERNAL_ERROR: "server error; reconnect with since=<last seq>",
    CloseCode.BAD_REQUEST: "since must be a non-negative integer, epoch at most 32 characters",
    CloseCode.NOT_FOUND: "liveblog not found",
    CloseCode.SLOW_READER: "reader too slow; reconnect with since=<last seq>",
}


def hello(slug: str, head: int, epoch: str) -> str:
    return encode({"type": HELLO, "liveblog": slug, "seq": head, "epoch": epoch})


def resync(slug: str, head: int, epoch: str, reason: Resume) -> Event:
    """Tell a reader it must reload through REST; live events after `head` of `epoch` follow."""
    frame = encode(
        {
            "type": RESYNC,
            "liveblog": slug,
            "seq": head,
            "epoch": epoch,
            "reason": reason.value,
            "detail": RESYNC_DETAIL[reason],
        }
    )
    return Event(liveblog=slug, seq=head, type=RESYNC, frame=frame, epoch=epoch)


@dataclass(frozen=True, slots=True)
class Outgoing:
    """An event as it leaves this process: encoded once, shared by every reader.

    `wire` is the complete server-to-client WebSocket text frame. Server frames are not masked
    and we do not compress (docs/api.md: "Event protocol"), so these bytes are the same for every
    connection and can be written to each as they are.
    """

    seq: int
    text: str
    wire: bytes
    # A resync: the reader reloads, and live events continue from `seq`, even below the seqs
    # it was sent before (a new epoch counts afresh; reader.py).
    resets: bool = False

    @classmethod
    def of(cls, event: Event) -> Outgoing:
        wire = Frame(Opcode.TEXT, event.frame.encode()).serialize(mask=False)
        return cls(seq=event.seq, text=event.frame, wire=wire, resets=event.type == RESYNC)
