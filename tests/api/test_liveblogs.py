from __future__ import annotations

import httpx

from tests.conftest import NewLiveblog


async def test_create_returns_the_liveblog_at_seq_zero(api: httpx.AsyncClient) -> None:
    """POST /api/liveblogs stores the liveblog and returns it with 201 and a Location."""
    response = await api.post(
        "/api/liveblogs",
        json={"slug": "election-night", "title": "Election night", "description": "Results"},
    )
    assert response.status_code == 201
    body = response.json()
    assert body["slug"] == "election-night"
    assert body["title"] == "Election night"
    assert body["description"] == "Results"
    assert body["status"] == "live"
    assert body["seq"] == 0
    assert body["ended_at"] is None
    assert body["created_at"].endswith("Z")
    assert response.headers["location"] == "/api/liveblogs/election-night"

    fetched = await api.get("/api/liveblogs/election-night")
    assert fetched.json() == body


async def test_duplicate_slug_is_409(api: httpx.AsyncClient, new_liveblog: NewLiveblog) -> None:
    """A slug can be used once."""
    slug = await new_liveblog()
    response = await api.post("/api/liveblogs", json={"slug": slug, "title": "Again"})
    assert response.status_code == 409
    assert slug in response.json()["detail"]


async def test_invalid_slugs_are_422_naming_the_field(api: httpx.AsyncClient) -> None:
    """Slugs are lowercase letters, digits and hyphens."""
    for slug in [
        "Upper",
        "with space",
        "-leading",
        "trailing-",
        "double--hyphen",
        "",
        "é",
        "a" * 101,
    ]:
        response = await api.post("/api/liveblogs", json={"slug": slug, "title": "T"})
        assert response.status_code == 422, slug
        assert response.json()["errors"][0]["field"] == "slug"


async def test_list_puts_live_liveblogs_first(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """GET /api/liveblogs lists live ones before ended ones."""
    ended = await new_liveblog()
    live = await new_liveblog()
    assert (await api.patch(f"/api/liveblogs/{ended}", json={"status": "ended"})).status_code == 200
    slugs = [item["slug"] for item in (await api.get("/api/liveblogs")).json()["liveblogs"]]
    assert slugs.index(live) < slugs.index(ended)


async def test_patch_changes_fields_and_takes_a_seq(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """A PATCH is a change: it takes the next seq; ending sets ended_at, reopening clears it."""
    slug = await new_liveblog()
    response = await api.patch(
        f"/api/liveblogs/{slug}", json={"title": "New title", "status": "ended"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["title"], body["status"], body["seq"]) == ("New title", "ended", 1)
    assert body["ended_at"] is not None

    reopened = (await api.patch(f"/api/liveblogs/{slug}", json={"status": "live"})).json()
    assert (reopened["status"], reopened["ended_at"], reopened["seq"]) == ("live", None, 2)


async def test_patch_that_changes_nothing_takes_no_seq(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """Sending the current values is a no-op, not a change readers are told about."""
    slug = await new_liveblog()
    current = (await api.get(f"/api/liveblogs/{slug}")).json()
    response = await api.patch(f"/api/liveblogs/{slug}", json={"title": current["title"]})
    assert response.status_code == 200
    assert response.json()["seq"] == 0


async def test_patch_rejects_bad_status_and_null_title(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """Status is live or ended; a title cannot be removed."""
    slug = await new_liveblog()
    bad_status = await api.patch(f"/api/liveblogs/{slug}", json={"status": "paused"})
    assert bad_status.status_code == 422
    assert bad_status.json()["errors"][0]["field"] == "status"
    null_title = await api.patch(f"/api/liveblogs/{slug}", json={"title": None})
    assert null_title.status_code == 422
    assert "title cannot be null" in null_title.json()["detail"]


async def test_unknown_liveblog_is_404(api: httpx.AsyncClient) -> None:
    """Reads and writes of a liveblog that does not exist say so."""
    for response in [
        await api.get("/api/liveblogs/no-such-story"),
        await api.patch("/api/liveblogs/no-such-story", json={"title": "x"}),
        await api.get("/api/liveblogs/no-such-story/entries"),
        await api.post("/api/liveblogs/no-such-story/entries", json={"body": "<p>x</p>"}),
    ]:
        assert response.status_code == 404
        assert "no-such-story" in response.json()["detail"]
