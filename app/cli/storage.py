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
    """Migrate the database, then run `use` against it and return what it returns.

    The database is marked in use meanwhile (`liveblog restore` refuses). Raises
    sqlite_files.InUse while a restore runs.
    """
    from app.storage import migrate
    from app.storage.db import Database
    from app.storage.sqlite_files import in_use

    logging.getLogger("alembic").setLevel(logging.WARNING)  # keep the output to the point

    async def run() -> T:
        db = Database(settings.database_url)
        try:
            return await use(db)
        finally:
            await db.dispose()

    with in_use(settings.database_url):
        migrate.upgrade(settings.database_url)
        return asyncio.run(run())
