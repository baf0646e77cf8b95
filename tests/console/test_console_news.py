"""What a console socket hears of a change: one word per change, with its seq when it is a
reader-visible one (issue 23: a draft's publication used to be told twice)."""

from __future__ import annotations

from contextlib import AsyncExitStack

from tests.console.newsroom import ConsoleSocket, console_liveblog, save_draft
from tests.harness import ConsoleClient, LiveServer, create_user


async def test_a_draft_published_is_heard_once_with_its_seq(server: LiveServer) -> None:
    username = create_user(server, "editor")
    async with ConsoleClient(server) as console, AsyncExitStack() as stack:
        assert (await console.sign_in(username)).status_code == 303
        slug = await console_liveblog(console)
        draft = await save_draft(console, slug, "Held back")
        socket = await stack.enter_async_context(ConsoleSocket(server, slug, console.cookie))
        await socket.wait_for(lambda s: bool(s.messages), 5, "the hello")
        heard = len(socket.messages)

        published = await console.post(f"/console/liveblogs/{slug}/drafts/{draft['id']}/publish")
        assert published.status_code == 201, published.text
        seq = published.json()["seq"]
        # A later change on the same path: once its word is in, any second word of the
        # publication (sent before it) would be in too.
        edited = await console.patch(
            f"/console/liveblogs/{slug}/entries/{published.json()['id']}",
            {"title": "Held back, then out", "source": "Out now."},
        )
        assert edited.status_code == 200, edited.text
        await socket.wait_for_change(heard, seq=seq + 1)

        assert [m for m in socket.messages[heard:] if m["type"] == "changed"] == [
            {"type": "changed", "seq": seq},
            {"type": "changed", "seq": seq + 1},
        ]
