"""Full-text search rules: which words an entry is found by, and what a reader's query asks for.

Both sides are cut into words here, in Python, not by the database: SQLite's FTS5 tokenizer and
PostgreSQL's text parser split and fold differently (PostgreSQL keeps `a@b.com` and
`example.com/path` whole, and folds no accents without the `unaccent` extension), so the same
query would find different entries on each. Here a word is a run of letters, digits and
combining marks, lowercased (`casefold`: "Straße" is "strasse"), with the accents of Latin,
Greek and Cyrillic letters taken off ("Évacuation" is "evacuation"). No stemming and no stop
words: newsrooms write in many languages, and a stemmer for one mangles the others (this is
PostgreSQL's `simple` configuration, plus accent folding).

A query is plain words, never a query language: every word must occur (in the title or the
body), and the last one may be the start of a word, so typing "evac" already finds
"evacuation". Quotes, `AND`, `*`, `NEAR(`, parentheses and the like are only separators, so no
query can be a syntax error in either database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from app.domain.sanitize import plain_text

QUERY_MAX = 200  # characters of a query, as typed
# Longer runs are not words but URLs, hashes or base64, and PostgreSQL refuses a lexeme over
# 2046 bytes: neither indexed nor searched for.
WORD_MAX = 100
# A last word shorter than this is matched whole, not as a prefix: "a*" would match a good part
# of every liveblog's vocabulary, and costs as much to look up.
PREFIX_MIN = 2
# An entry's distinct words, in UTF-8 bytes, beyond which the rest is not indexed: PostgreSQL's
# tsvector holds at most 1 MiB of lexemes. Only a body far over the default size limit gets
# there.
INDEXED_BYTES_MAX = 512 * 1024


def _mark_ranges() -> str:
    """A regex class body of every combining mark (Unicode categories Mn, Mc, Me). `\\w` leaves
    them out, which would cut "हिन्दी" (Devanagari vowel signs are marks) into pieces."""
    ranges: list[tuple[int, int]] = []
    # Marks live below U+20000, and in the variation selectors of plane 14.
    for code in (*range(0x20000), *range(0xE0000, 0xE1000)):
        if unicodedata.category(chr(code)).startswith("M"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1] = (ranges[-1][0], code)
            else:
                ranges.append((code, code))
    return "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in ranges)


# Letters and digits (`\w` without `_`), or combining marks.
_WORD = re.compile(f"(?:[^\\W_]|[{_mark_ranges()}])+")
# The combining accents of Latin, Greek and Cyrillic letters, once decomposed (NFKD); the marks
# of other scripts are part of their letters, not accents.
_ACCENTS = re.compile("[\u0300-\u036f]")


def fold(text: str) -> str:
    """Lowercased, compatibility forms unified ("ﬁ" is "fi"), Latin accents removed."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return unicodedata.normalize("NFC", _ACCENTS.sub("", decomposed))


def words(text: str) -> list[str]:
    """The distinct searchable words of plain `text`, folded, in order of first appearance."""
    found = dict.fromkeys(m.group() for m in _WORD.finditer(fold(text)))
    return [word for word in found if len(word) <= WORD_MAX]


@dataclass(frozen=True, slots=True)
class Document:
    """What an entry is found by: the words of its title and of its body's text."""

    title: list[str]
    body: list[str]


def document(title: str | None, body_html: str) -> Document:
    """The words of an entry. The body is sanitized HTML: only its text counts, so tag and
    attribute names ("strong", "href", "noopener") and URLs inside attributes find nothing."""
    budget = INDEXED_BYTES_MAX
    kept: tuple[list[str], list[str]] = ([], [])
    for part, text in zip(kept, (title or "", plain_text(body_html)), strict=True):
        for word in words(text):
            budget -= len(word.encode())
            if budget < 0:
                return Document(*kept)
            part.append(word)
    return Document(*kept)


@dataclass(frozen=True, slots=True)
class Query:
    """Every word must occur; the last one as a word's beginning when `prefix` is set."""

    words: tuple[str, ...]
    prefix: bool

    @property
    def empty(self) -> bool:
        """No word to look for (only punctuation or space was typed): nothing matches."""
        return not self.words


class QueryTooLong(ValueError):
    def __init__(self, length: int) -> None:
        super().__init__(f"The query is {length} characters; at most {QUERY_MAX} are searched.")


def parse_query(text: str) -> Query:
    """A reader's query as words. Raises QueryTooLong beyond QUERY_MAX characters."""
    if len(text) > QUERY_MAX:
        raise QueryTooLong(len(text))
    found = tuple(words(text))
    return Query(found, prefix=bool(found) and len(found[-1]) >= PREFIX_MIN)
