"""New epochs for liveblogs whose stored history may have been replaced.

After a restore, a copy or an import, a liveblog's seqs may name other changes than the ones
readers received under the same numbers. A new epoch makes every reader that resumes with the
old one reload instead (domain/resume.py). Nothing is published: a process still serving
notices the new epoch on the next event, and its hub resyncs the readers then (realtime/hub.py).
"""

from __future__ import annotations

from app.errors import NotFound
from app.storage import liveblogs as rows
from app.storage.db import Database


async def rotate_epochs(db: Database, slugs: list[str] | None = None) -> dict[str, str]:
    """Give every liveblog (or those named) a new epoch; returns slug → new epoch.

    Raises NotFound, changing nothing, if a named liveblog does not exist.
    """
    async with db.write() as conn:
        rotated = await rows.rotate_epochs(conn, slugs)
        if slugs is not None:
            missing = sorted(set(slugs) - set(rotated))
            if missing:
                raise NotFound(f"No liveblog with slug {', '.join(map(repr, missing))}.")
    return rotated
