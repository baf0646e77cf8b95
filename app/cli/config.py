"""`liveblog config`: the effective configuration, every setting with its value and where it
came from, secrets masked; then each LIVEBLOG_* variable that names no setting (source
"unknown", and the setting it may have meant), since Liveblog ignores it."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic_settings import EnvSettingsSource

from app.settings import Settings, env_name, redact_url, unknown_variables

if TYPE_CHECKING:
    from app.cli import Subcommands

# A setting named like a credential is shown as *** whole; a URL shows all but its password.
_SECRET_NAME = re.compile(r"(^|_)(password|secret|token|key|credentials)$")


def effective(settings: Settings) -> dict[str, dict[str, Any]]:
    """Every setting by variable name: its value in effect (secrets masked) and its source,
    "environment" or "default" (which for LIVEBLOG_DATABASE_URL is SQLite in the data dir).
    Then every variable that names no setting: source "unknown", no value (it may be a secret
    under a misspelled name), and `did_you_mean`, the closest setting or None."""
    # Asked the way Settings itself reads the environment (prefix, any case).
    from_environment = EnvSettingsSource(Settings)()
    shown: dict[str, dict[str, Any]] = {
        env_name(field): {
            "value": _masked(field, getattr(settings, field)),
            "source": "environment" if field in from_environment else "default",
        }
        for field in Settings.model_fields
    }
    for unknown in unknown_variables():
        shown[unknown.name] = {"source": "unknown", "did_you_mean": unknown.closest}
    return shown


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
        if setting["source"] == "unknown":
            closest = setting["did_you_mean"]
            shown = "not a setting" + (f"; did you mean {closest}?" if closest else "")
        else:
            shown = _shown(setting["value"])
        print(f"{name:<{width}}  {setting['source']:<11}  {shown}")
    return 0


def add_commands(commands: Subcommands) -> None:
    config = commands.add_parser(
        "config",
        help="print the effective configuration: every setting, its value and its source "
        "(environment or default), passwords masked; then any LIVEBLOG_* variable that is not "
        "a setting",
    )
    config.add_argument(
        "--json",
        action="store_true",
        help='as one JSON object: {"LIVEBLOG_…": {"value": …, "source": …}}',
    )
    config.set_defaults(handler=_config)
