"""`edited_at`: an entry's words changing is an edit readers see as "Updated"; a pin or a
key-event mark is a flag change, which takes a version but is no edit."""

from __future__ import annotations

import httpx

from tests.conftest import NewLiveblog


async def test_flags_are_not_edits(api: httpx.AsyncClient, new_liveblog: NewLiveblog) -> None:
    slug = await new_liveblog()
    created = await api.post(f"/api/liveblogs/{slug}/entries", json={"body": "<p>Quiet.</p>"})
    assert created.status_code == 201, created.text
    entry = created.json()
    assert entry["edited_at"] is None
    path = f"/api/liveblogs/{slug}/entries/{entry['id']}"

    flagged = (await api.patch(path, json={"pinned": True, "key_event": True})).json()
    assert flagged["version"] == 2 and flagged["edited_at"] is None

    edited = (await api.patch(path, json={"body": "<p>Not so quiet.</p>"})).json()
    assert edited["edited_at"] == edited["updated_at"]

    unpinned = (await api.patch(path, json={"pinned": False})).json()
    assert unpinned["edited_at"] == edited["edited_at"]  # the last edit stays the last edit
    assert unpinned["updated_at"] > edited["edited_at"]

    corrected = (await api.patch(path, json={"correction": "It was loud."})).json()
    assert corrected["edited_at"] > edited["edited_at"]
    listed = (await api.get(f"/api/liveblogs/{slug}/entries")).json()["entries"]
    assert listed[0]["edited_at"] == corrected["edited_at"]
