"""What the commands that work on data share: a migrated database for the length of one call."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from app.settings import Settings

if TYPE_CHECKING:
    from app.storage.db import Database

T = TypeVar("T")


def on_database(settings: Settings, use: Callable[[Database], Awaitable[T]]) -> T:
    """Migrate the database, then run `use` against it and return what it returns."""
    from app.storage import migrate
    from app.storage.db import Database

    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep the output to the point
    migrate.upgrade(settings.database_url)

    async def run() -> T:
        db = Database(settings.database_url)
        try:
            return await use(db)
        finally:
            await db.dispose()

    return asyncio.run(run())
