"""A JSON write (POST, PATCH) whose body is not sent as JSON: 415 saying which type to send,
not a 422 about "a valid dictionary"; declared in the OpenAPI document."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import orjson
import pytest
from hypothesis import given, strategies as st

from tests.entry_bodies import examples
from tests.harness import LiveServer, api_client, problem

SEND_JSON = "Send the body as JSON, with Content-Type: application/json."
ENTRY = orjson.dumps({"body": "<p>Polls close at 8.</p>"})


@pytest.fixture(scope="module")
async def writer(server: LiveServer, token: str) -> AsyncIterator[httpx.AsyncClient]:
    async with api_client(server, token) as client:
        yield client


@pytest.fixture(scope="module")
async def slug(writer: httpx.AsyncClient) -> str:
    slug = f"content-type-{uuid.uuid4().hex[:8]}"
    response = await writer.post("/api/liveblogs", json={"slug": slug, "title": "Content types"})
    assert response.status_code == 201, response.text
    return slug


async def test_a_write_sent_as_text_is_415(writer: httpx.AsyncClient) -> None:
    """JSON sent as text/plain (curl -d without -H): 415 naming what was sent and what to
    send, Accept-Post; nothing is created."""
    slug = f"as-text-{uuid.uuid4().hex[:8]}"
    response = await writer.post(
        "/api/liveblogs",
        content=orjson.dumps({"slug": slug, "title": "As text"}),
        headers={"Content-Type": "text/plain"},
    )
    body = problem(response, 415)
    assert body["detail"] == f"The body was sent as 'text/plain'. {SEND_JSON}"
    assert response.headers["accept-post"] == "application/json"
    assert (await writer.get(f"/api/liveblogs/{slug}")).status_code == 404


async def test_a_write_without_a_content_type_is_415(writer: httpx.AsyncClient, slug: str) -> None:
    """No Content-Type at all, with a body or without: 415 saying so."""
    for content in (ENTRY, b""):
        response = await writer.post(f"/api/liveblogs/{slug}/entries", content=content)
        assert "content-type" not in response.request.headers
        body = problem(response, 415)
        assert body["detail"] == f"The request has no Content-Type. {SEND_JSON}"


async def test_a_patch_sent_as_a_form_is_415_with_accept_patch(
    writer: httpx.AsyncClient, slug: str
) -> None:
    """PATCH with a form body: 415 and Accept-Patch (RFC 5789); the liveblog is unchanged."""
    for path in (f"/api/liveblogs/{slug}", f"/api/liveblogs/{slug}/entries/1"):
        response = await writer.patch(path, data={"title": "Changed"})
        body = problem(response, 415)
        assert body["detail"] == (
            f"The body was sent as 'application/x-www-form-urlencoded'. {SEND_JSON}"
        )
        assert response.headers["accept-patch"] == "application/json"
    assert (await writer.get(f"/api/liveblogs/{slug}")).json()["title"] == "Content types"


async def test_json_with_parameters_or_a_json_suffix_is_taken(
    writer: httpx.AsyncClient, slug: str
) -> None:
    """application/json with a charset, in capitals, or application/…+json: taken as JSON."""
    for sent in ("application/json; charset=utf-8", "APPLICATION/JSON", "application/x+json"):
        response = await writer.post(
            f"/api/liveblogs/{slug}/entries", content=ENTRY, headers={"Content-Type": sent}
        )
        assert response.status_code == 201, (sent, response.text)


async def test_the_token_is_checked_before_the_content_type(anonymous: httpx.AsyncClient) -> None:
    """Without a token the answer is 401, whatever the body: who asks comes first."""
    response = await anonymous.post(
        "/api/liveblogs", content=b"slug=x", headers={"Content-Type": "text/plain"}
    )
    problem(response, 401)


async def test_the_openapi_document_declares_415_on_every_json_write(
    anonymous: httpx.AsyncClient,
) -> None:
    """Each operation that takes a JSON body lists 415 as a problem; no other does."""
    document = (await anonymous.get("/openapi.json")).json()
    operations = [
        (f"{method.upper()} {path}", operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    writes = {
        name
        for name, operation in operations
        if "application/json" in operation.get("requestBody", {}).get("content", {})
    }
    assert writes == {
        "POST /api/liveblogs",
        "PATCH /api/liveblogs/{slug}",
        "POST /api/liveblogs/{slug}/entries",
        "PATCH /api/liveblogs/{slug}/entries/{entry_id}",
    }
    for name, operation in operations:
        declared = operation["responses"].get("415")
        if name == "POST /api/media":  # a form, and images of some types (tests/api/test_media.py)
            assert declared is not None and "multipart/form-data" in declared["description"]
            continue
        if name not in writes:
            assert declared is None, name
            continue
        assert declared is not None, name
        assert "application/problem+json" in declared["content"], name
        assert "Content-Type: application/json" in declared["description"], name


def is_json(content_type: str) -> bool:
    """application/json or application/*+json, parameters aside, in any case."""
    media_type = content_type.split(";", 1)[0].strip().lower()
    return media_type.count("/") == 1 and (
        media_type == "application/json"
        or (media_type.startswith("application/") and media_type.endswith("+json"))
    )


# What a person or a tool may put in a Content-Type header: real media types, with parameters
# or a suffix, in any case, and anything else a header value may hold.
media_types = st.sampled_from(
    ["application/json", "text/plain", "application/x-www-form-urlencoded", "text/json",
     "multipart/form-data", "application/ld+json", "application/jsonp", "application/xml",
     "application", "json", "*/*", "application/*", ""]
)  # fmt: skip
parameters = st.sampled_from(["", "; charset=utf-8", ";charset=latin-1", "; boundary=x", ";"])
# A header value has no space or tab at either end: HTTP takes them as the header's framing.
header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=60,
).map(lambda text: text.strip(" \t"))
content_types = st.one_of(
    st.builds(
        lambda media_type, upper, parameter: (
            f"{media_type.upper() if upper else media_type}{parameter}"
        ),
        media_types,
        st.booleans(),
        parameters,
    ),
    header_text,
    st.builds(lambda text: f"application/{text}".strip(" \t"), header_text),
)


@examples(150)
@given(content_type=content_types)
async def test_any_content_type_on_a_write_is_never_a_500(
    writer: httpx.AsyncClient, slug: str, content_type: str
) -> None:
    """Whatever a Content-Type says, a JSON write with a valid body is taken (201) when it
    names JSON, else 415: never a 5xx."""
    response = await writer.post(
        f"/api/liveblogs/{slug}/entries",
        content=ENTRY,
        headers={"Content-Type": content_type.encode("latin-1")},
    )
    assert response.status_code < 500, (content_type, response.text)
    if is_json(content_type):
        assert response.status_code == 201, (content_type, response.text)
    else:
        assert SEND_JSON in problem(response, 415)["detail"], content_type
