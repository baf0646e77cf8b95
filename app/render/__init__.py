"""What the reader pages and the console both render: the entry card and its filters.

One template (`templates/_entry.html`) draws an entry wherever it appears, so the console's
preview is the reader page's rendering by construction, not by imitation. Both edges build
their Jinja2 environment here, each adding its own templates folder and static files.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

from app.domain import embeds
from app.domain.model import Entry, Liveblog, iso_utc
from app.domain.sanitize import plain_text

TEMPLATES_DIR = Path(__file__).parent / "templates"
HEADLINE_CHARS = 110


def clock(moment: datetime) -> str:
    """Server-side fallback for readers without JavaScript; the client shows local times."""
    moment = moment.astimezone(UTC)
    if moment.date() == datetime.now(UTC).date():
        return moment.strftime("%H:%M UTC")
    return moment.strftime("%-d %b %Y, %H:%M UTC")


def headline(entry: Entry) -> str:
    """An entry's name in lists and previews: its title, else the start of its text."""
    return entry.title or plain_text(entry.body, HEADLINE_CHARS) or "Update"


def page_path(liveblog: Liveblog) -> str:
    return f"/liveblogs/{liveblog.slug}"


def entry_path(liveblog: Liveblog, entry: Entry) -> str:
    return f"/liveblogs/{liveblog.slug}/entries/{entry.id}"


def asset_versions(static_dir: Path) -> dict[str, str]:
    """Content hashes of the files in `static_dir`, so browsers cache assets until they change."""
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        for path in static_dir.iterdir()
        if path.is_file()
    }


def static_url(prefix: str, static_dir: Path) -> Callable[[str], str]:
    """`static('x.js')` in templates: the file's URL under `prefix`, versioned by content."""
    versions = asset_versions(static_dir)
    return lambda name: f"{prefix}/{name}?v={versions.get(name, '0')}"


def build_templates(edge_dir: Path, static: Callable[[str], str]) -> Jinja2Templates:
    """An edge's environment: its own templates first, then the shared ones."""
    templates = Jinja2Templates(directory=[edge_dir, TEMPLATES_DIR])
    env = templates.env
    env.filters["iso"] = iso_utc
    env.filters["clock"] = clock
    env.filters["headline"] = headline
    env.globals["static"] = static
    env.globals["page_path"] = page_path
    env.globals["entry_path"] = entry_path
    # What static/embeds.js builds an embed's iframe from (domain/embeds.py), as page data.
    env.globals["embed_providers"] = embeds.for_page()
    return templates
