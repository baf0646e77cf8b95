"""Apply Alembic migrations from code: `liveblog migrate` and `liveblog serve` call this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory

import migrations

MIGRATIONS_DIR = Path(migrations.__file__).parent


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Alembic's config is an ini parser: a literal % in a URL (an escaped password) must double.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema to `revision`. Blocking: call it before the event loop starts."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def known(revision: str) -> bool:
    """Whether this version's migrations know `revision` (a database made by a newer Liveblog
    is at one they do not)."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    return any(script.revision == revision for script in scripts.walk_revisions())
