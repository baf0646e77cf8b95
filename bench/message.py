"""The 1 KiB message every server under test sends: shaped like a Liveblog `entry.created`."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import orjson

BODY = "<p>" + "x" * 900 + "</p>"


def frame(seq: int) -> bytes:
    """An entry.created frame of about 1 KiB, stamped with its publish time (ms, UTC)."""
    now = datetime.fromtimestamp(time.time(), UTC).isoformat(timespec="milliseconds")
    created = now.replace("+00:00", "Z")
    return orjson.dumps(
        {
            "type": "entry.created",
            "seq": seq,
            "entry": {
                "id": seq, "seq": seq, "title": f"Update {seq}", "body": BODY, "author": "Bench",
                "pinned": False, "key_event": False, "created_at": created, "updated_at": created,
                "version": 1, "deleted": False,
            },
        }
    )  # fmt: skip


def published_ns(message: dict[str, object]) -> int:
    """When the message was published: its entry's created_at, in ns since the epoch."""
    entry = message["entry"]
    assert isinstance(entry, dict)
    return int(datetime.fromisoformat(entry["created_at"]).timestamp() * 1e9)
