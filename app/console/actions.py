"""The console's writes: JSON in, JSON (or an HTML fragment) out, errors as problem+json.

Every handler takes a `Writer` (deps.py: a live session that passed both CSRF checks) and calls
the same services as the API, which decide what the writer's role allows (domain/policy.py), the
If-Match requirement and the size limits. Saving an edit sends If-Match; publishing sends an
Idempotency-Key.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

import orjson
from fastapi import Header, Request
from fastapi.templating import Jinja2Templates
from starlette.responses import Response

from app.api.schemas import SlugPath
from app.auth.users import USERNAME_RE, UserAccounts
from app.console import schemas
from app.console.deps import Reader, Writer
from app.domain.drafts import Draft, DraftState
from app.domain.model import Entry, Status, iso_utc, parse_id
from app.domain.principal import Principal, Role
from app.errors import Gone, NotFound, Unprocessable
from app.routing import Router
from app.services.drafts import DraftContent
from app.services.idempotency import Once, Reply, checked_key, fingerprint
from app.services.writes import parse_if_match
from app.state import (
    console_templates_of,
    drafts_of,
    entries_of,
    liveblogs_of,
    settings_of,
    users_of,
)

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


async def _content(request: Request, form: schemas.Compose, by: Principal) -> DraftContent:
    # Left out, the author is the journalist; sent blank, there is none (a wire story, say).
    author = form.author if "author" in form.model_fields_set else by.name
    return DraftContent(
        title=form.title,
        body=await entries_of(request).from_markdown(form.source),
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
        settings_of(request).idempotency_ttl_seconds,
        lambda entry: Reply(201, orjson.dumps(_entry_json(entry)), {"Content-Type": JSON}),
    )


IfMatchHeader = Annotated[str | None, Header(alias="If-Match")]
KeyHeader = Annotated[str | None, Header(alias="Idempotency-Key")]


# Liveblogs -----------------------------------------------------------------------------------


@router.post("/liveblogs")
async def create_liveblog(request: Request, form: schemas.NewLiveblog, by: Writer) -> Response:
    liveblog = await liveblogs_of(request).create(
        slug=form.slug, title=form.title, description=form.description, by=by
    )
    return _json({**liveblog.as_json(), "console": f"/console/liveblogs/{liveblog.slug}"}, 201)


@router.post("/liveblogs/{slug}/end")
async def end_liveblog(
    request: Request, slug: SlugPath, by: Writer, if_match: IfMatchHeader = None
) -> Response:
    liveblog = await liveblogs_of(request).update(
        slug, {"status": Status.ENDED.value}, by=by, if_match=parse_if_match(if_match)
    )
    return _json(liveblog.as_json())


@router.post("/liveblogs/{slug}/reopen")
async def reopen_liveblog(
    request: Request, slug: SlugPath, by: Writer, if_match: IfMatchHeader = None
) -> Response:
    """An ended liveblog goes live again: readers' pages show it live, new entries are taken."""
    liveblog = await liveblogs_of(request).update(
        slug, {"status": Status.LIVE.value}, by=by, if_match=parse_if_match(if_match)
    )
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
    entries = entries_of(request)
    body = entries.clean_body(await entries.from_markdown(form.source)) if form.source else ""
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
    templates: Jinja2Templates = console_templates_of(request)
    return templates.TemplateResponse(
        request, "_preview.html", {"liveblog": liveblog, "entry": entry}
    )


# Published entries ----------------------------------------------------------------------------


@router.post("/liveblogs/{slug}/entries")
async def publish(
    request: Request, slug: SlugPath, form: schemas.PublishNow, by: Writer, key: KeyHeader = None
) -> Response:
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
    # Who saved this version: the conflict panel names them ("Jane saved a newer version"),
    # and an editor whose entry was deleted meanwhile learns by whom.
    entry, last = await entries_of(request).last_saved(slug, _id(entry_id, "entry"), by=by)
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
    changes = form.model_dump(exclude_none=True)
    entry = await entries_of(request).update(
        slug, _id(entry_id, "entry"), changes, by=by, if_match=parse_if_match(if_match)
    )
    return _json(_entry_json(entry))


@router.delete("/liveblogs/{slug}/entries/{entry_id}")
async def delete_entry(
    request: Request, slug: SlugPath, entry_id: str, by: Writer, if_match: IfMatchHeader = None
) -> Response:
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
    accounts: UserAccounts = users_of(request)
    user = await accounts.create(
        form.username, form.password, Role(form.role), form.display_name, by=by
    )
    return _json({"username": user.username, "display_name": user.display_name}, 201)


@router.post("/users/{username}/disable")
async def disable_user(request: Request, username: str, by: Writer) -> Response:
    if not USERNAME_RE.match(username.strip().lower()):
        raise NotFound(f"No user {username!r}.")
    accounts: UserAccounts = users_of(request)
    user = await accounts.disable(username, by=by)
    return _json({"username": user.username, "disabled": True})
