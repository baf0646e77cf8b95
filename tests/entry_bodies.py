"""Entry bodies made up by Hypothesis, and the check every sanitized body must pass.

`markdown_sources()` builds what the console's compose form sends: paragraphs, figures, bare URLs,
autolinks, quotes (with a speaker line or not), bulleted and numbered lists, nested in any order,
with arbitrary text among them. `html_fragments()` builds what a newsroom tool might post to the
API: allowed and disallowed tags and attributes, nested at random, some left open or broken.
`assert_sanitized()` is the promise both must keep once sanitized.
"""

from __future__ import annotations

import string
from html.parser import HTMLParser

from hypothesis import HealthCheck, settings, strategies as st

from app.domain.sanitize import ALLOWED_TAGS, sanitize_html


def examples(count: int) -> settings:
    """Hypothesis settings for `count` examples: no deadline (a shared 2-core machine is slow now
    and then), and no example database (it would be a `.hypothesis/` folder in the checkout)."""
    return settings(
        max_examples=count,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


# Text -----------------------------------------------------------------------------------------

# Any character but a line break (lines are the structure), and no surrogate (not JSON-encodable).
_LINE_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\r\n"), max_size=8)
_MARKUP_WORDS = st.sampled_from(
    [
        "Crowds", "gather", "**bold**", "*em*", "_em_", "`code`", "\\*", "&amp;", "&#0;", "<",
        ">", "&", '"', "'", "[link](https://example.org/a)", "[rel](/relative)",
        "[js](javascript:alert(1))", "<b>html</b>", "<script>alert(1)</script>",
        "<img src=x onerror=alert(1)>", "<a href='javascript:alert(1)'>x</a>", "<footer>",
        "</blockquote>", "<!--", "-->", "onerror=alert(1)", "javascript:alert(1)", "—", "--", "-",
        "1.", "#", "![", "](",
    ]
)  # fmt: skip
WORDS = st.one_of(_MARKUP_WORDS, _LINE_TEXT)
LINE = st.lists(WORDS, min_size=1, max_size=6).map(" ".join)


# URLs and images ------------------------------------------------------------------------------

_HOSTS = st.sampled_from(
    ["example.org", "www.youtube.com", "News.BBC.co.uk", "bücher.de", "127.0.0.1:8080", "[::1]",
     "[x", "user@www.example.org:8443", ""]
)  # fmt: skip
# Mostly URLs Markdown takes whole, so that figures and cards do come up; now and then one with
# quotes, brackets, spaces or another scheme.
_PATH = st.text(string.ascii_lowercase + string.digits + "-._/", max_size=12) | st.text(
    string.ascii_letters + string.digits + "-._~%/?#&=\"'<>()[]*_`ä ", max_size=12
)
URLS = st.builds(
    lambda scheme, host, path: f"{scheme}://{host}/{path}",
    st.sampled_from(["https", "https", "http", "HTTPS", "ftp", "javascript"]),
    _HOSTS,
    _PATH,
)
_IMAGE_TITLES = st.one_of(
    st.just(""),
    st.builds(lambda w, h: f' "{w}x{h}"', st.integers(0, 999_999), st.integers(0, 999_999)),
    _LINE_TEXT.map(lambda title: f' "{title}"'),
)
_CAPTIONS = st.sampled_from(["", "Crowds", "A *big* crowd", "Rain & wind", '"q" <b>']) | LINE
IMAGES = st.builds(
    lambda cap, url, title: f"![{cap}]({url}{title})", _CAPTIONS, URLS, _IMAGE_TITLES
)


# Markdown blocks ------------------------------------------------------------------------------

SPEAKER_LINES = st.builds(
    lambda dash, name: f"{dash}{name}",
    st.sampled_from(["— ", "-- ", "—  ", "--\t", "—", "- ", "--- ", "– "]),
    LINE,
)
_LEAF_BLOCKS = st.one_of(
    st.lists(LINE, min_size=1, max_size=3).map("\n".join),  # a paragraph
    IMAGES,
    IMAGES,  # twice: a figure is the block that broke most (issue 21)
    URLS,
    URLS.map(lambda url: f"<{url}>"),
    st.builds(lambda line, speaker: f"{line}\n{speaker}", LINE, SPEAKER_LINES),
    SPEAKER_LINES,
    st.text(max_size=30),
)


def _indent(block: str, marker: str) -> str:
    """`block` as a list item's content after `marker`: later lines indented to match."""
    pad = " " * len(marker)
    return marker + "\n".join(line and pad + line for line in block.split("\n")).removeprefix(pad)


def _quote(blocks: list[str], speaker: str | None, tight: bool) -> str:
    inside = "\n\n".join(blocks)
    if speaker is not None:
        inside += ("\n" if tight else "\n\n") + speaker
    return "\n".join(f"> {line}" if line else ">" for line in inside.split("\n"))


def _list(items: list[list[str]], numbered: bool, tight: bool) -> str:
    markers = [f"{n}. " for n in range(1, len(items) + 1)] if numbered else ["- "] * len(items)
    return ("\n" if tight else "\n\n").join(
        _indent("\n\n".join(blocks), marker) for blocks, marker in zip(items, markers, strict=True)
    )


def _containers(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    blocks = st.lists(inner, min_size=1, max_size=3)
    return st.one_of(
        st.builds(_quote, blocks, st.none() | SPEAKER_LINES, st.booleans()),
        st.builds(_list, st.lists(blocks, min_size=1, max_size=3), st.booleans(), st.booleans()),
    )


BLOCKS = st.recursive(_LEAF_BLOCKS, _containers, max_leaves=12)


def markdown_sources() -> st.SearchStrategy[str]:
    """A Markdown text of blocks in any order, each separated by a blank line or just a newline."""
    # Top-level leaves as often as containers: st.recursive alone nests nearly every block, and
    # a figure last in the text, after another block, is what broke (issue 21).
    block = _LEAF_BLOCKS | BLOCKS
    gap = st.sampled_from(["\n\n", "\n\n", "\n", "\n\n\n"])
    return st.lists(st.tuples(block, gap), max_size=6).map(
        lambda parts: "".join(block + gap for block, gap in parts)
    )


# HTML fragments -------------------------------------------------------------------------------

# Among them: raw-text and foreign elements, and those inside which a <p> may hold a <p>.
_DISALLOWED_TAGS = [
    "script", "style", "iframe", "svg", "math", "mglyph", "object", "embed", "div", "table",
    "tr", "td", "form", "input", "template", "noscript", "textarea", "title", "select", "option",
    "base", "meta", "link", "body", "html", "details", "SCRIPT", "ScRiPt", "xmp", "plaintext",
    "noembed", "frameset", "button", "marquee",
]  # fmt: skip
_TAGS = st.sampled_from([*sorted(ALLOWED_TAGS), *_DISALLOWED_TAGS])
_ATTRIBUTE_NAMES = st.sampled_from(
    ["href", "src", "cite", "title", "alt", "width", "height", "class", "style", "id", "onerror",
     "onclick", "ONLOAD", "srcset", "xmlns", "data-x", "lang", "rel", "target", "loading",
     "action", "formaction", "xlink:href"]
)  # fmt: skip
# Each element with a URL attribute the sanitizer keeps, drawn as often as any tag at all with
# random attributes: the URL is where harm hides.
_URL_ELEMENTS = st.sampled_from(
    [("a", "href"), ("img", "src"), ("blockquote", "cite"), ("q", "cite")]
)
_ATTRIBUTE_VALUES = st.one_of(
    st.sampled_from(
        ["javascript:alert(1)", " java\tscript:alert(1)", "&#106;avascript:alert(1)",
         "JAVASCRIPT:x", "vbscript:x", "data:text/html,<script>alert(1)</script>",
         "data:image/png;base64,iVBORw0KGgo=", "https://example.org/a.jpg", "http://x.com",
         "mailto:a@example.org", "/relative", "#top", "embed-card", "embed-card__host x",
         "embed-card__url", "800", "-1", "1e3", 'x" onerror="alert(1)', "x' onclick='y", ""]
    ),
    URLS,
    _LINE_TEXT,
)  # fmt: skip
_QUOTES = st.sampled_from(['"', "'", ""])
ATTRIBUTES = st.lists(
    st.builds(
        lambda name, value, quote: f" {name}={quote}{value}{quote}",
        _ATTRIBUTE_NAMES,
        _ATTRIBUTE_VALUES,
        _QUOTES,
    )
    | _ATTRIBUTE_NAMES.map(lambda name: f" {name}"),
    max_size=3,
).map("".join)
_BROKEN = st.sampled_from(
    ["<", "</", "<!--", "-->", "<!", "<?x?>", "<![CDATA[x]]>", "&", "&#", "&#x;", "&lt;", ">",
     "<p", "</p", "<a href=", '"', "<!DOCTYPE html>", "</>", "<-->"]
)  # fmt: skip
_LEAF_HTML = st.one_of(st.text(max_size=20), _BROKEN, _MARKUP_WORDS)


def _element(opening: str, children: list[str], close: str, self_closing: bool) -> str:
    tag = opening.split(" ", 1)[0]
    start = f"<{opening}{' /' if self_closing else ''}>"
    return start + "".join(children) + {"": f"</{tag}>", "open": "", "other": "</p>"}[close]


def _html_containers(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    openings = st.builds(lambda tag, attributes: tag + attributes, _TAGS, ATTRIBUTES) | st.builds(
        lambda element, value, quote, attributes: (
            f"{element[0]} {element[1]}={quote}{value}{quote}{attributes}"
        ),
        _URL_ELEMENTS,
        _ATTRIBUTE_VALUES,
        _QUOTES,
        ATTRIBUTES,
    )
    return st.builds(
        _element,
        openings,
        st.lists(inner, max_size=3),
        st.sampled_from(["", "", "", "open", "other"]),  # mostly closed, now and then not
        st.booleans(),
    )


def html_fragments() -> st.SearchStrategy[str]:
    """An HTML fragment: elements in any nesting, attributes good and bad, broken markup, text."""
    return st.recursive(_LEAF_HTML, _html_containers, max_leaves=12)


# The check ------------------------------------------------------------------------------------

_URL_ATTRIBUTES = frozenset({"href", "src", "cite"})


class _Elements(HTMLParser):
    """Every start tag of a fragment with its attributes, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)


def assert_sanitized(clean: str) -> None:
    """`clean`, a sanitizer's output, is a fixed point of the sanitizer and holds nothing that
    runs: no script element, no event-handler or style attribute, no script or data URL, and only
    allowed tags. (Text may say "javascript:" or "onerror=": escaped, it is only words.)"""
    assert sanitize_html(clean) == clean, clean
    assert "<script" not in clean.lower(), clean
    parser = _Elements()
    parser.feed(clean)
    parser.close()
    for tag, attributes in parser.elements:
        assert tag in ALLOWED_TAGS, (tag, clean)
        for name, value in attributes.items():
            assert not name.startswith("on") and name not in {"style", "srcset"}, (name, clean)
            if name in _URL_ATTRIBUTES:
                # As a browser reads a scheme: control characters and white space are skipped.
                scheme = "".join(c for c in value or "" if c > " " and c != "\x7f").lower()
                assert not scheme.startswith(("javascript:", "vbscript:", "data:")), clean
                if tag == "img":
                    assert scheme.startswith(("http://", "https://")), clean
