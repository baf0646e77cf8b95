"""Photos in the console: uploaded by any journalist, shown at every size from Markdown, and
published only with alt text (a draft may wait for it)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import NewLiveblog
from tests.harness import ConsoleClient, LiveServer, api_client, create_user, problem
from tests.media.photos import jpeg_with_gps


@pytest.fixture
async def contributor(server: LiveServer) -> AsyncIterator[ConsoleClient]:
    async with ConsoleClient(server) as console:
        assert (await console.sign_in(create_user(server, "contributor"))).status_code == 303
        yield console


@pytest.fixture
async def editor(server: LiveServer) -> AsyncIterator[ConsoleClient]:
    async with ConsoleClient(server) as console:
        assert (await console.sign_in(create_user(server, "editor"))).status_code == 303
        yield console


async def upload(console: ConsoleClient, data: bytes, **fields: str) -> httpx.Response:
    return await console.http.post(
        "/console/media",
        files={"file": ("IMG_0001.HEIC", data, "image/heic")},
        data=fields,
        headers={"Origin": console.origin, "X-CSRF-Token": console.csrf},
    )


async def test_a_contributor_uploads_and_the_upload_needs_the_csrf_token(
    contributor: ConsoleClient,
) -> None:
    made = await upload(contributor, jpeg_with_gps(1000, 750), alt="A street")
    assert made.status_code == 201, made.text
    assert made.json()["width"] == 1000
    forged = await contributor.http.post(
        "/console/media",
        files={"file": ("a.jpg", jpeg_with_gps(300, 200))},
        headers={"Origin": contributor.origin},  # no CSRF token: another site's form
    )
    problem(forged, 403)


async def test_markdown_shows_the_upload_at_every_size_and_needs_alt_text(
    editor: ConsoleClient, new_liveblog: NewLiveblog, api: httpx.AsyncClient
) -> None:
    slug = await new_liveblog()
    media = (await upload(editor, jpeg_with_gps(2000, 1000, colour="maroon"))).json()
    url = media["url"]

    without_alt = await editor.post(
        f"/console/liveblogs/{slug}/entries", {"source": f"The port at dawn.\n\n![]({url})"}
    )
    assert "alt text" in problem(without_alt, 422)["detail"]

    # A draft may be saved without it, and is held back at publishing until it has it.
    draft = await editor.post(f"/console/liveblogs/{slug}/drafts", {"source": f"![]({url})"})
    assert draft.status_code == 201, draft.text
    held = await editor.post(f"/console/liveblogs/{slug}/drafts/{draft.json()['id']}/publish")
    problem(held, 422)

    source = f'The port at dawn.\n\n![Smoke over the port]({url} "At dawn | Photo: Reuters")'
    published = await editor.post(f"/console/liveblogs/{slug}/entries", {"source": source})
    assert published.status_code == 201, published.text
    entry = (await api.get(f"/api/liveblogs/{slug}/entries")).json()["entries"][0]
    body = entry["body"]
    assert f'srcset="{media["srcset"]}"' in body
    assert 'width="1600" height="800"' in body and 'alt="Smoke over the port"' in body
    assert "<figcaption>At dawn <small>Photo: Reuters</small></figcaption>" in body


async def test_the_api_holds_html_to_the_same_rule(
    server: LiveServer, token: str, new_liveblog: NewLiveblog
) -> None:
    slug = await new_liveblog()
    async with api_client(server, token) as api:
        made = await api.post(
            "/api/media", files={"file": ("a.jpg", jpeg_with_gps(640, 480, colour="navy"))}
        )
        media = made.json()
        bare = await api.post(
            f"/api/liveblogs/{slug}/entries", json={"body": f'<p><img src="{media["url"]}"></p>'}
        )
        assert "alt text" in problem(bare, 422)["detail"]
        fine = await api.post(
            f"/api/liveblogs/{slug}/entries",
            json={"body": media["html"].replace('alt=""', 'alt="A navy square"')},
        )
        assert fine.status_code == 201, fine.text
        # Images hosted elsewhere are the newsroom's own business, as before.
        elsewhere = await api.post(
            f"/api/liveblogs/{slug}/entries",
            json={"body": '<p><img src="https://photos.example/a.jpg"></p>'},
        )
        assert elsewhere.status_code == 201
