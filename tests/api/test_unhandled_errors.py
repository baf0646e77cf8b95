"""A bug of ours (an exception no handler takes) is answered 500 in the problem shape, with the
request id, and its traceback is logged once: not a second time by uvicorn, which would also
close the connection it had just answered on."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable

from tests.harness import LiveServer, create_token, problem, writer


def records(log: str) -> list[str]:
    """The log's records, each with its traceback (text format: one timestamped line each)."""
    return re.split(r"\n(?=\d{4}-\d\d-\d\dT)", log.strip())


async def test_a_failing_request_logs_one_traceback(
    isolated_server: Callable[..., LiveServer],
) -> None:
    """A table gone from under the server (a real failure, not a planted one): the request is
    a 500 with X-Request-ID, the log has exactly one record with a traceback, ours, carrying
    that id; the connection stays open for the next request."""
    server = isolated_server()
    token = create_token(server.data_dir, env=server.env)
    async with writer(server, token=token) as client:
        made = await client.post("/api/liveblogs", json={"slug": "summit", "title": "Summit"})
        assert made.status_code == 201, made.text
        made = await client.post("/api/liveblogs/summit/entries", json={"body": "<p>Hi</p>"})
        assert made.status_code == 201, made.text
        database = sqlite3.connect(server.data_dir / "liveblog.db")
        try:
            database.execute("DROP TABLE revisions")  # only this request reads it
            database.commit()
        finally:
            database.close()

        failed = await client.get("/api/liveblogs/summit/entries/1/revisions")
        body = problem(failed, 500)
        assert body["detail"] == "Internal server error; it has been logged."
        request_id = failed.headers["x-request-id"]
        # The next request on this keep-alive connection is read only once the failed one's
        # handling, and any record it would write, is over (uvicorn answers a connection's
        # requests one after another): its answer is the later event to wait for.
        assert (await client.get("/api/liveblogs/summit")).status_code == 200

    with_traceback = [record for record in records(server.log()) if "Traceback" in record]
    assert len(with_traceback) == 1, server.log()
    [logged] = with_traceback
    first_line = logged.splitlines()[0]
    assert first_line.endswith(f"ERROR app.errors: unhandled error request_id={request_id}")
    assert "no such table: revisions" in logged
    assert "Exception in ASGI application" not in server.log()
