"""What the lifespan wires, typed: one `Parts` per running app, and one accessor per part.

The lifespan (main.py) builds the parts once and yields them as its state (`State`); Starlette
hands that state to every request and WebSocket in `scope["state"]`. The edges read a part only
through the accessors here; nothing sets or reads `app.state`.

Plain functions rather than FastAPI dependencies: FastAPI solves each dependency anew on every
request, which on the hottest route cost more than the route's own work. Each accessor is two
dict lookups and an attribute.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, TypedDict

from starlette.requests import HTTPConnection

# Only for the annotations: the modules of the parts import these accessors themselves.
if TYPE_CHECKING:
    from fastapi.templating import Jinja2Templates
    from starlette.websockets import WebSocket

    from app.auth.sessions import Sessions
    from app.auth.tokens import TokenCheck
    from app.auth.users import UserAccounts
    from app.broker.base import Broker
    from app.ratelimit import RateLimit
    from app.realtime.hub import Hub
    from app.services.drafts import DraftService
    from app.services.entries import EntryService
    from app.services.link_previews import LinkPreviewService
    from app.services.liveblogs import LiveblogService
    from app.services.media import MediaService
    from app.settings import Settings
    from app.storage.db import Database
    from app.supervisor import Supervisor


class ReaderSockets(Protocol):
    """What the edges ask of the readers' WebSockets (realtime/websocket.py: LiveConnections).
    Named here rather than imported: those modules reach their parts through this one."""

    readers: int  # open in this process

    @property
    def full(self) -> bool: ...

    async def serve(self, websocket: WebSocket, slug: str) -> None: ...


class EditorSockets(Protocol):
    """What the edges ask of the console's WebSockets (console/socket.py: ConsoleSockets)."""

    def readers(self, slug: str) -> int: ...

    async def serve(self, websocket: WebSocket, slug: str) -> None: ...


@dataclass(frozen=True, slots=True, eq=False)
class Parts:
    """Everything a request may reach, built once per process by the lifespan."""

    settings: Settings
    db: Database
    broker: Broker
    hub: Hub
    live: ReaderSockets
    tokens: TokenCheck
    write_limiter: RateLimit  # writes per API token or console user
    liveblogs: LiveblogService
    entries: EntryService
    drafts: DraftService
    media: MediaService
    link_previews: LinkPreviewService
    sessions: Sessions
    users: UserAccounts
    console_sockets: EditorSockets
    templates: Jinja2Templates  # the reader pages'
    console_templates: Jinja2Templates
    background: Supervisor  # the background loops, for /readyz


class State(TypedDict):
    """The lifespan's state (each request's `scope["state"]`)."""

    parts: Parts


def parts_of(connection: HTTPConnection) -> Parts:
    parts: Parts = connection.scope["state"]["parts"]
    return parts


def settings_of(connection: HTTPConnection) -> Settings:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.settings


def db_of(connection: HTTPConnection) -> Database:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.db


def hub_of(connection: HTTPConnection) -> Hub:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.hub


def live_of(connection: HTTPConnection) -> ReaderSockets:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.live


def tokens_of(connection: HTTPConnection) -> TokenCheck:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.tokens


def write_limiter_of(connection: HTTPConnection) -> RateLimit:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.write_limiter


def liveblogs_of(connection: HTTPConnection) -> LiveblogService:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.liveblogs


def entries_of(connection: HTTPConnection) -> EntryService:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.entries


def drafts_of(connection: HTTPConnection) -> DraftService:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.drafts


def sessions_of(connection: HTTPConnection) -> Sessions:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.sessions


def users_of(connection: HTTPConnection) -> UserAccounts:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.users


def console_sockets_of(connection: HTTPConnection) -> EditorSockets:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.console_sockets


def templates_of(connection: HTTPConnection) -> Jinja2Templates:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.templates


def console_templates_of(connection: HTTPConnection) -> Jinja2Templates:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.console_templates


def media_of(connection: HTTPConnection) -> MediaService:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.media


def link_previews_of(connection: HTTPConnection) -> LinkPreviewService:
    parts: Parts = connection.scope["state"]["parts"]
    return parts.link_previews
