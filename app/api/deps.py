"""What routes get from the app: the services built in the lifespan, and the writer's identity."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.errors import Unauthorized
from app.services.entries import EntryService
from app.services.liveblogs import LiveblogService
from app.services.tokens import TokenCheck

_bearer = HTTPBearer(auto_error=False, description="A token from `liveblog token create`.")


# Plain lookups, but `async def`: FastAPI runs a sync dependency in its thread pool, which costs
# a thread hop on every request.


async def get_tokens(request: Request) -> TokenCheck:
    tokens: TokenCheck = request.app.state.tokens
    return tokens


async def get_liveblogs(request: Request) -> LiveblogService:
    service: LiveblogService = request.app.state.liveblogs
    return service


async def get_entries(request: Request) -> EntryService:
    service: EntryService = request.app.state.entries
    return service


async def require_writer(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    tokens: Annotated[TokenCheck, Depends(get_tokens)],
) -> str:
    """The name of the token's holder; every write needs one."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("Missing bearer token: send 'Authorization: Bearer <token>'.")
    name = await tokens.holder(credentials.credentials)
    if name is None:
        raise Unauthorized("Unknown API token.")
    return name


Writer = Annotated[str, Depends(require_writer)]
Liveblogs = Annotated[LiveblogService, Depends(get_liveblogs)]
Entries = Annotated[EntryService, Depends(get_entries)]
