"""`If-Match` (RFC 9110 §13.1.1) over the integer versions that entries and liveblogs carry.

An object's ETag is its version and its liveblog's epoch as a strong tag, `"3.9f2c41d07ab85e16"`:
after a restore, version 3 of entry 12 may be another entry's, and a tag from before then must
not match it. A bare version, `"3"`, still matches version 3 of any epoch (what clients that
build If-Match from `version` send). A weak tag never matches (If-Match uses the strong
comparison), and `*` matches any current object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One entity-tag: optional W/ prefix, then a quoted string of etagc characters, then the end
# of the element.
_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"[ \t]*(?:,|$)')
MAX_DIGITS = 19  # versions are 64-bit: a longer number is no version of ours


def etag(version: int, epoch: str | None) -> str:
    return f'"{version}.{epoch}"' if epoch else f'"{version}"'


@dataclass(frozen=True, slots=True)
class IfMatch:
    any: bool  # `*`
    versions: frozenset[int]  # strong tags that are bare versions
    tagged: frozenset[tuple[int, str]] = frozenset()  # strong tags that are (version, epoch)

    def matches(self, version: int, epoch: str | None = None) -> bool:
        return (
            self.any
            or version in self.versions
            or (epoch is not None and (version, epoch) in self.tagged)
        )

    @classmethod
    def parse(cls, header: str) -> IfMatch:
        """Raises ValueError if `header` is neither `*` nor a list of quoted entity tags.

        Empty list elements are allowed (RFC 9110 §5.6.1); a tag that is not a version (too
        long, not digits, weak) is valid but matches nothing.
        """
        if header.strip() == "*":
            return cls(any=True, versions=frozenset())
        versions: set[int] = set()
        tagged: set[tuple[int, str]] = set()
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
            number, dot, epoch = value.partition(".")
            if not weak and number.isascii() and number.isdigit() and len(number) <= MAX_DIGITS:
                if not dot:
                    versions.add(int(number))
                elif epoch:
                    tagged.add((int(number), epoch))
            tags += 1
            position = match.end()
        if tags == 0:
            raise ValueError(header)
        return cls(any=False, versions=frozenset(versions), tagged=frozenset(tagged))
