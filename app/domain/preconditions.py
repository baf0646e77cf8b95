"""`If-Match` (RFC 9110 §13.1.1) over the integer versions that entries and liveblogs carry.

An object's ETag is its version as a strong tag, `"3"`. A weak tag never matches (If-Match uses
the strong comparison), and `*` matches any current object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One entity-tag: optional W/ prefix, then a quoted string of etagc characters, then the end
# of the element.
_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|$)')
MAX_DIGITS = 19  # versions are 64-bit: a longer number is no version of ours


def etag(version: int) -> str:
    return f'"{version}"'


@dataclass(frozen=True, slots=True)
class IfMatch:
    any: bool  # `*`
    versions: frozenset[int]  # the strong tags that are versions; other tags match nothing

    def matches(self, version: int) -> bool:
        return self.any or version in self.versions

    @classmethod
    def parse(cls, header: str) -> IfMatch:
        """Raises ValueError if `header` is neither `*` nor a list of quoted entity tags.

        Empty list elements are allowed (RFC 9110 §5.6.1); a tag that is not a version (too
        long, not digits, weak) is valid but matches nothing.
        """
        if header.strip() == "*":
            return cls(any=True, versions=frozenset())
        versions: set[int] = set()
        tags = 0
        position = 0
        while position < len(header):
            if header[position] in " \t,":
                position += 1
                continue
            match = _TAG.match(header, position)
            if match is None:
                raise ValueError(header)
            weak, value = match.groups()
            if not weak and value.isascii() and value.isdigit() and len(value) <= MAX_DIGITS:
                versions.add(int(value))
            tags += 1
            position = match.end()
        if tags == 0:
            raise ValueError(header)
        return cls(any=False, versions=frozenset(versions))
