"""`liveblog config`: the effective configuration, every setting with its value and where it
came from, secrets masked."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_settings import EnvSettingsSource

from app.settings import Settings, env_name, redact_url

if TYPE_CHECKING:
    from app.cli import Subcommands

# A setting named like a credential is shown as *** whole; a URL shows all but its password.
_SECRET_NAME = re.compile(r"(^|_)(password|secret|token|key|credentials)$")


def effective(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every setting by variable name: its value in effect (secrets masked) and its source,
    "environment" or "default" (which for LIVEBLOG_DATABASE_URL is SQLite in the data dir)."""
    # Asked the way Settings itself reads the environment (prefix, any case).
    from_environment = EnvSettingsSource(Settings)()
    return {
        env_name(field): {
            "value": _masked(field, getattr(settings, field)),
            "source": "environment" if field in from_environment else "default",
        }
        for field in Settings.model_fields
    }


def _masked(field: str, value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if not isinstance(value, str) or not value:
        return value
    if _SECRET_NAME.search(field):
        return "***"
    return redact_url(value) if "://" in value else value


def _shown(value: Any) -> str:
    if value is None:
        return "(unset)"
    if value == "":
        return "(empty)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _config(settings: Settings, args: argparse.Namespace) -> int:
    settings_now = effective(settings)
    if args.json:
        print(json.dumps(settings_now, indent=2))
        return 0
    width = max(len(name) for name in settings_now)
    for name, setting in settings_now.items():
        print(f"{name:<{width}}  {setting['source']:<11}  {_shown(setting['value'])}")
    return 0


def add_commands(commands: Subcommands) -> None:
    config = commands.add_parser(
        "config",
        help="print the effective configuration: every setting, its value and its source "
        "(environment or default), passwords masked",
    )
    config.add_argument(
        "--json",
        action="store_true",
        help='as one JSON object: {"LIVEBLOG_…": {"value": …, "source": …}}',
    )
    config.set_defaults(handler=_config)
