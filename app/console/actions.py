"""The console's writes: JSON in, JSON (or an HTML fragment) out, errors as problem+json.

Every handler takes a `Writer` (deps.py: a live session that passed both CSRF checks), checks
the role the action needs, turns the compose form's Markdown into HTML, and calls the same
services as the API. Saving an edit sends If-Match; publishing sends an Idempotency-Key.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Header, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from app.api.schemas import SlugPath
from app.auth.principal import Principal, Role
from app.auth.users import USERNAME_RE, UserAccounts
from app.console import schemas
from app.console.deps import Reader, Writer
from app.domain import markdown
from app.domain.drafts import Draft, DraftState
from app.domain.model import Entry, Status, iso_utc, parse_id
from app.errors import Gone, NotFound, PayloadTooLarge, Unprocessable
from app.routing import Router
from app.services.drafts import DraftContent
from app.services.idempotency import Once, Reply, checked_key, fingerprint
from app.services.writes import parse_if_match
from app.state import drafts_of, entries_of, liveblogs_of

router = Router(prefix="/console", include_in_schema=False)

JSON = "application/json"


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON)


def _id(raw: str, what: str) -> int:
    number = parse_id(raw)
    if number is None:
        raise NotFound(f"No {what} {raw!r}.")
    return number


def _field_error(field: str, message: str) -> dict[str, str]:
    """One item of a problem's `errors`, as request validation writes them: console.js shows
    it next to the form field it names."""
    return {"field": field, "in": "body", "message": message}


async def _to_html(request: Request, source: str) -> str:
    """The body's HTML, made off the event loop (a long or pathological Markdown text takes a
    while, and the loop serves every reader), within the entry body's size limit."""
    limit = request.app.state.settings.max_entry_body_bytes
    size = len(source.encode())
    if size > limit:
        raise PayloadTooLarge(
            f"Entry body is {size} bytes; the limit is {limit} bytes.",
            extra={"errors": [_field_error("source", f"is over {limit} bytes")]},
        )
    return await asyncio.to_thread(markdown.to_html, source)


async def _content(request: Request, form: schemas.Compose, by: Principal) -> DraftContent:
    # Left out, the author is the journalist; sent blank, there is none (a wire story, say).
    author = form.author if "author" in form.model_fields_set else by.name
    return DraftContent(
        title=form.title,
        body=await _to_html(request, form.source),
        source=form.source,
        author=author,
        key_event=form.key_event,
        pinned=form.pinned,
    )


def _entry_json(entry: Entry) -> dict[str, Any]:
    return {**entry.as_json(), "source": entry.source}


async def _once(request: Request, by: Principal, key: str | None) -> Once[Entry] | None:
    """The Idempotency-Key console.js sends with every publish: a double press makes one entry."""
    if key is None:
        return None
    checked_key(key)
    body = await request.body()
    return Once(
        by.key,
        key,
        fingerprint(request.method, request.url.path, body),
        request.app.state.settings.idempotency_ttl_seconds,
        lambda entry: Reply(201, orjson.dumps(_entry_json(entry)), {"Content-Type": JSON}),
    )


IfMatchHeader = Annotated[str | None, Header(alias="If-Match")]
KeyHeader = Annotated[str | None, Header(alias="Idempotency-Key")]


# Liveblogs -----------------------------------------------------------------------------------


@router.post("/liveblogs")
async def create_liveblog(request: Request, form: schemas.NewLiveblog, by: Writer) -> Response:
    by.require_role(Role.EDITOR, "creating a liveblog")
    liveblog = await liveblogs_of(request).create(
        slug=form.slug, title=form.title, description=form.description, by=by
    )
    return _json({**liveblog.as_json(), "console": f"/console/liveblogs/{liveblog.slug}"}, 201)


@router.post("/liveblogs/{slug}/end")
async def end_liveblog(request: Request, slug: SlugPath, by: Writer) -> Response:
    by.require_role(Role.EDITOR, "ending a liveblog")
    liveblog = await liveblogs_of(request).update(slug, {"status": Status.ENDED.value}, by=by)
    return _json(liveblog.as_json())


@router.post("/liveblogs/{slug}/reopen")
async def reopen_liveblog(request: Request, slug: SlugPath, by: Writer) -> Response:
    """An ended liveblog goes live again: readers' pages show it live, new entries are taken."""
    by.require_role(Role.EDITOR, "reopening a liveblog")
    liveblog = await liveblogs_of(request).update(slug, {"status": Status.LIVE.value}, by=by)
    return _json(liveblog.as_json())


@router.patch("/liveblogs/{slug}")
async def edit_liveblog(
    request: Request,
    slug: SlugPath,
    form: schemas.LiveblogSettings,
    by: Writer,
    if_match: IfMatchHeader = None,
) -> Response:
    """Title and description, If-Match as everywhere: two editors' settings never cross."""
    by.require_role(Role.EDITOR, "changing a liveblog's title or description")
    changes = form.model_dump(exclude_none=True)  # the title comes stripped (schemas.Title)
    liveblog = await liveblogs_of(request).update(
        slug, changes, by=by, if_match=parse_if_match(if_match)
    )
    return _json(liveblog.as_json())


# Preview --------------------------------------------------------------------------------------


@router.post("/liveblogs/{slug}/preview")
async def preview(request: Request, slug: SlugPath, form: schemas.Preview, by: Writer) -> Response:
    """The entry as readers would see it: the shared template, the same sanitizer."""
    liveblog = await liveblogs_of(request).get(slug)
    body = (
        entries_of(request).clean_body(await _to_html(request, form.source)) if form.source else ""
    )
    now = datetime.now(UTC)
    entry = Entry(
        id=0,
        seq=0,
        created_seq=0,
        title=(form.title or "").strip() or None,
        body=body,
        author=(form.author or "").strip() or None,
        pinned=form.pinned,
        key_event=form.key_event,
        created_at=now,
        updated_at=now,
        version=1,
        deleted=False,
        correction=(form.correction or "").strip() or None,
    )
    templates: Jinja2Templates = request.app.state.console_templates
    return templates.TemplateResponse(
        request, "_preview.html", {"liveblog": liveblog, "entry": entry}
    )


# Published entries ----------------------------------------------------------------------------


@router.post("/liveblogs/{slug}/entries")
async def publish(
    request: Request, slug: SlugPath, form: schemas.PublishNow, by: Writer, key: KeyHeader = None
) -> Response:
    by.require_role(Role.EDITOR, "publishing")
    if form.publish_at is not None and form.publish_at > datetime.now(UTC):
        # An embargo: only Schedule may honour it, so no client slip can publish early.
        raise Unprocessable(
            "This entry has a publish time ahead: schedule it, or clear the time to publish now.",
            extra={"errors": [_field_error("publish_at", "is in the future: schedule instead")]},
        )
    content = await _content(request, form, by)
    entry = await entries_of(request).create(
        slug,
        title=content.title,
        body=content.body,
        author=content.author,
        pinned=content.pinned,
        key_event=content.key_event,
        by=by,
        once=await _once(request, by, key),
        source=content.source,
    )
    return _json(_entry_json(entry), 201)


@router.get("/liveblogs/{slug}/entries/{entry_id}")
async def get_entry(request: Request, slug: SlugPath, entry_id: str, by: Reader) -> Response:
    entry, revisions = await entries_of(request).revisions(slug, _id(entry_id, "entry"))
    # Who saved this version: the conflict panel names them ("Jane saved a newer version"),
    # and an editor whose entry was deleted meanwhile learns by whom.
    last = revisions[-1].by if revisions else None
    updated_by = {"type": last.type, "id": last.id, "name": last.name} if last else None
    if entry.deleted:
        who = f" by {last.name}" if last and last.name else ""
        raise Gone(
            f"Entry {entry_id} was deleted{who}.",
            extra={"deleted_by": updated_by, "deleted_at": iso_utc(entry.updated_at)},
        )
    return _json({**_entry_json(entry), "updated_by": updated_by})


@router.patch("/liveblogs/{slug}/entries/{entry_id}")
async def edit_entry(
    request: Request,
    slug: SlugPath,
    entry_id: str,
    form: schemas.EntryEdit,
    by: Writer,
    if_match: IfMatchHeader = None,
) -> Response:
    by.require_role(Role.EDITOR, "editing a published entry")
    content = await _content(request, form, by)
    changes: dict[str, Any] = {
        "title": content.title,
        "body": content.body,
        "source": content.source,
        "author": content.author,
        "key_event": content.key_event,
        "pinned": content.pinned,
    }
    if "correction" in form.model_fields_set:  # left out: the correction stays as it is
        changes["correction"] = form.correction
    entry = await entries_of(request).update(
        slug, _id(entry_id, "entry"), changes, by=by, if_match=parse_if_match(if_match)
    )
    return _json(_entry_json(entry))


@router.post("/liveblogs/{slug}/entries/{entry_id}/flags")
async def set_flags(
    request: Request,
    slug: SlugPath,
    entry_id: str,
    form: schemas.Flags,
    by: Writer,
    if_match: IfMatchHeader = None,
) -> Response:
    """Pin, unpin, mark or unmark a key event, without touching the content."""
    by.require_role(Role.EDITOR, "pinning or marking key events")
    changes = form.model_dump(exclude_none=True)
    entry = await entries_of(request).update(
        slug, _id(entry_id, "entry"), changes, by=by, if_match=parse_if_match(if_match)
    )
    return _json(_entry_json(entry))


@router.delete("/liveblogs/{slug}/entries/{entry_id}")
async def delete_entry(
    request: Request, slug: SlugPath, entry_id: str, by: Writer, if_match: IfMatchHeader = None
) -> Response:
    by.require_role(Role.EDITOR, "deleting an entry")
    entry = await entries_of(request).delete(
        slug, _id(entry_id, "entry"), by=by, if_match=parse_if_match(if_match)
    )
    return _json(_entry_json(entry))


# Drafts, review, scheduling -------------------------------------------------------------------


def _draft_json(draft: Draft) -> dict[str, Any]:
    return draft.as_json()


@router.post("/liveblogs/{slug}/drafts")
async def create_draft(
    request: Request, slug: SlugPath, form: schemas.DraftIn, by: Writer
) -> Response:
    draft = await drafts_of(request).create(
        slug,
        await _content(request, form, by),
        state=DraftState(form.state),
        by=by,
        publish_at=form.publish_at,
    )
    return _json(_draft_json(draft), 201)


@router.get("/liveblogs/{slug}/drafts/{draft_id}")
async def get_draft(request: Request, slug: SlugPath, draft_id: str, by: Reader) -> Response:
    draft = await drafts_of(request).get(slug, _id(draft_id, "draft"), by)
    return _json(_draft_json(draft))


@router.patch("/liveblogs/{slug}/drafts/{draft_id}")
async def edit_draft(
    request: Request,
    slug: SlugPath,
    draft_id: str,
    form: schemas.DraftEdit,
    by: Writer,
    if_match: IfMatchHeader = None,
) -> Response:
    draft = await drafts_of(request).update(
        slug,
        _id(draft_id, "draft"),
        await _content(request, form, by),
        by=by,
        if_match=parse_if_match(if_match),
        publish_at=form.publish_at,
    )
    return _json(_draft_json(draft))


@router.delete("/liveblogs/{slug}/drafts/{draft_id}")
async def delete_draft(request: Request, slug: SlugPath, draft_id: str, by: Writer) -> Response:
    await drafts_of(request).delete(slug, _id(draft_id, "draft"), by=by)
    return Response(status_code=204)


@router.post("/liveblogs/{slug}/drafts/{draft_id}/submit")
async def submit_draft(request: Request, slug: SlugPath, draft_id: str, by: Writer) -> Response:
    return _json(_draft_json(await drafts_of(request).submit(slug, _id(draft_id, "draft"), by=by)))


@router.post("/liveblogs/{slug}/drafts/{draft_id}/return")
async def return_draft(
    request: Request, slug: SlugPath, draft_id: str, form: schemas.ReturnIn, by: Writer
) -> Response:
    draft = await drafts_of(request).send_back(slug, _id(draft_id, "draft"), by=by, note=form.note)
    return _json(_draft_json(draft))


@router.post("/liveblogs/{slug}/drafts/{draft_id}/schedule")
async def schedule_draft(
    request: Request,
    slug: SlugPath,
    draft_id: str,
    form: schemas.ScheduleIn,
    by: Writer,
    if_match: IfMatchHeader = None,
) -> Response:
    draft = await drafts_of(request).schedule(
        slug, _id(draft_id, "draft"), form.publish_at, by=by, if_match=parse_if_match(if_match)
    )
    return _json(_draft_json(draft))


@router.post("/liveblogs/{slug}/drafts/{draft_id}/unschedule")
async def unschedule_draft(request: Request, slug: SlugPath, draft_id: str, by: Writer) -> Response:
    draft = await drafts_of(request).unschedule(slug, _id(draft_id, "draft"), by=by)
    return _json(_draft_json(draft))


@router.post("/liveblogs/{slug}/drafts/{draft_id}/publish")
async def publish_draft(
    request: Request,
    slug: SlugPath,
    draft_id: str,
    by: Writer,
    key: KeyHeader = None,
    if_match: IfMatchHeader = None,
) -> Response:
    entry = await drafts_of(request).publish(
        slug,
        _id(draft_id, "draft"),
        by=by,
        once=await _once(request, by, key),
        if_match=parse_if_match(if_match),
    )
    return _json(_entry_json(entry), 201)


# Users (admins) -------------------------------------------------------------------------------


@router.post("/users")
async def create_user(request: Request, form: schemas.NewUser, by: Writer) -> Response:
    by.require_role(Role.ADMIN, "managing users")
    accounts: UserAccounts = request.app.state.users
    user = await accounts.create(form.username, form.password, Role(form.role), form.display_name)
    return _json({"username": user.username, "display_name": user.display_name}, 201)


@router.post("/users/{username}/disable")
async def disable_user(request: Request, username: str, by: Writer) -> Response:
    by.require_role(Role.ADMIN, "managing users")
    if not USERNAME_RE.match(username.strip().lower()):
        raise NotFound(f"No user {username!r}.")
    accounts: UserAccounts = request.app.state.users
    user = await accounts.disable(username, by_id=by.id)
    return _json({"username": user.username, "disabled": True})
