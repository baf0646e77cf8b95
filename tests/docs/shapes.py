"""What an example printed against what its docs show, compared by shape: the words, keys, types
and order are compared; the values that differ on every run or with what ran before are not.

- Text lines: times, dates, epochs, tokens, UUIDs and every number are placeholders (`<n>`), and
  runs of spaces are one space (a table's columns line up by their content). `…` stands for
  any text within a line; a line that is only `…` for any number of lines.
- JSON (a block that is one JSON document, or the JSON that ends a line, such as a WebSocket
  client's `< {…}`): objects must have the keys shown (`"…": "…"` or `"...": "..."` allows more),
  arrays the items shown (a last item `"…"` allows more), numbers must be numbers, strings are
  compared as text lines are, `true`, `false` and `null` exactly.
"""

from __future__ import annotations

import json
import re
from typing import Any

from tests.docs.session import DATE, EPOCH, TIME, clean

ANY = ("…", "...")
PLACEHOLDERS = (
    (TIME, "<time>"),
    (re.compile(r"\b\d{8}T\d{6}Z\b"), "<time>"),  # in file names: 20261201T011742Z
    (DATE, "<date>"),
    (EPOCH, "<epoch>"),
    (re.compile(r"\blb_[A-Za-z0-9_-]{20,}"), "<token>"),
    (re.compile(r"\b[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}\b"), "<uuid>"),
    (re.compile(r"\d+(?:\.\d+)?"), "<n>"),
    (re.compile(r"\s+"), " "),
)
_NOT_JSON = object()


def normalized(text: str) -> str:
    for pattern, placeholder in PLACEHOLDERS:
        text = pattern.sub(placeholder, text)
    return text.strip()


def text_matches(shown: str, printed: str) -> bool:
    parts = re.split("(…)", normalized(shown))
    pattern = "".join(".*" if part == "…" else re.escape(part) for part in parts)
    return re.fullmatch(pattern, normalized(printed), re.S) is not None


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return _NOT_JSON


def json_differences(shown: Any, printed: Any, path: str = "$") -> list[str]:
    if isinstance(shown, str) and shown in ANY:
        return []
    if isinstance(shown, dict):
        if not isinstance(printed, dict):
            return [f"{path}: an object is shown, {printed!r} printed"]
        keys = [key for key in shown if key not in ANY]
        problems = [f"{path}: {key!r} is shown, not printed" for key in keys if key not in printed]
        if len(keys) == len(shown):  # no "…" key: no more keys than shown
            problems += [
                f"{path}: {key!r} printed, not shown" for key in printed if key not in shown
            ]
        for key in keys:
            if key in printed:
                problems += json_differences(shown[key], printed[key], f"{path}.{key}")
        return problems
    if isinstance(shown, list):
        if not isinstance(printed, list):
            return [f"{path}: an array is shown, {printed!r} printed"]
        more = bool(shown) and isinstance(shown[-1], str) and shown[-1] in ANY
        items = shown[:-1] if more else shown
        if len(printed) < len(items) or (not more and len(printed) > len(items)):
            return [f"{path}: {len(items)} items shown, {len(printed)} printed"]
        return [
            problem
            for index, (item, got) in enumerate(zip(items, printed, strict=False))
            for problem in json_differences(item, got, f"{path}[{index}]")
        ]
    if isinstance(shown, bool) or shown is None:
        return [] if printed is shown else [f"{path}: {shown!r} is shown, {printed!r} printed"]
    if isinstance(shown, int | float):
        number = isinstance(printed, int | float) and not isinstance(printed, bool)
        return [] if number else [f"{path}: a number is shown, {printed!r} printed"]
    if isinstance(printed, str) and text_matches(shown, printed):
        return []
    return [f"{path}: {shown!r} is shown, {printed!r} printed"]


def _split(line: str) -> tuple[str, Any]:
    """A line's text and the JSON that ends it, if any (`< {"type": …}`)."""
    for start, char in enumerate(line):
        if char in "{[":
            value = _json(line[start:])
            if value is not _NOT_JSON:
                return line[:start], value
    return line, _NOT_JSON


def line_matches(shown: str, printed: str) -> bool:
    shown_text, shown_json = _split(shown)
    printed_text, printed_json = _split(printed)
    if shown_json is _NOT_JSON or printed_json is _NOT_JSON:
        return text_matches(shown, printed)
    return text_matches(shown_text, printed_text) and not json_differences(shown_json, printed_json)


def lines(text: str) -> list[str]:
    """The lines compared: no terminal codes, no empty lines, no websockets client's `>` prompt."""
    kept = (line.rstrip() for line in clean(text).splitlines())
    return [line for line in kept if line not in ("", ">")]


def _lines_match(shown: list[str], printed: list[str]) -> bool:
    if not shown:
        return not printed
    if shown[0].strip() == "…":
        return any(_lines_match(shown[1:], printed[skip:]) for skip in range(len(printed) + 1))
    if not printed or not line_matches(shown[0], printed[0]):
        return False
    return _lines_match(shown[1:], printed[1:])


def differences(shown: str, printed: str) -> list[str]:
    """Why `printed` does not have the shape `shown` (nothing when it has)."""
    document = _json(clean(shown))
    if document is not _NOT_JSON:
        got = _json(clean(printed))
        if got is _NOT_JSON:
            return [f"JSON is shown, this printed:\n{printed}"]
        return json_differences(document, got)
    if _lines_match(lines(shown), lines(printed)):
        return []
    return ["\n".join(["printed:", *lines(printed), "shown:", *lines(shown)])]
