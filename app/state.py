"""What a request reaches on `app.state`, typed: one accessor per object, shared by every edge.

Plain functions rather than FastAPI dependencies: FastAPI solves each dependency anew on every
request, which on the hottest route cost more than the route's own work.
"""

from __future__ import annotations

from starlette.requests import HTTPConnection

from app.services.drafts import DraftService
from app.services.entries import EntryService
from app.services.liveblogs import LiveblogService
from app.settings import Settings


def settings_of(connection: HTTPConnection) -> Settings:
    settings: Settings = connection.app.state.settings
    return settings


def liveblogs_of(connection: HTTPConnection) -> LiveblogService:
    service: LiveblogService = connection.app.state.liveblogs
    return service


def entries_of(connection: HTTPConnection) -> EntryService:
    service: EntryService = connection.app.state.entries
    return service


def drafts_of(connection: HTTPConnection) -> DraftService:
    service: DraftService = connection.app.state.drafts
    return service
