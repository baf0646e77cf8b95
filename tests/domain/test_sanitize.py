"""The sanitizer against XSS payloads: nothing executable ever reaches a reader."""

from __future__ import annotations

import re

import httpx
import pytest
from hypothesis import given

from app.domain.sanitize import plain_text, sanitize_html
from tests.conftest import NewLiveblog
from tests.entry_bodies import assert_sanitized, examples, html_fragments

XSS_PAYLOADS = [
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    "<img src=x onerror=alert(1)>",
    '<img src="javascript:alert(1)">',
    '<img src="data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+">',
    '<a href="javascript:alert(1)">click</a>',
    '<a href="JaVaScRiPt:alert(1)">click</a>',
    '<a href="&#106;avascript:alert(1)">click</a>',
    '<a href="  javascript:alert(1)">click</a>',
    '<a href="java\tscript:alert(1)">click</a>',
    '<blockquote cite="java\nscript:alert(1)">quote</blockquote>',
    '<q cite="JAVASCRIPT:alert(1)">q</q>',
    '<a href="vbscript:msgbox(1)">click</a>',
    '<a href="data:text/html,<script>alert(1)</script>">click</a>',
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<iframe src="https://evil.example"></iframe>',
    '<object data="x.swf"></object><embed src="x.swf">',
    "<body onload=alert(1)>",
    '<p style="background:url(javascript:alert(1))">styled</p>',
    "<style>*{background:url(javascript:alert(1))}</style>",
    '<div onmouseover="alert(1)">hover</div>',
    '<form action="javascript:alert(1)"><button>go</button></form>',
    "<input onfocus=alert(1) autofocus>",
    "<details open ontoggle=alert(1)>",
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:alert(1)//">',
    '<link rel=stylesheet href="https://evil.example/x.css">',
    "<!--<script>alert(1)</script>-->",
    "<p>ok</p><scr<script>ipt>alert(1)</script>",
    '<blockquote cite="javascript:alert(1)">quote</blockquote>',
    '<a href="https://example.org" onclick="alert(1)" target=_blank>link</a>',
    '<img src="https://example.org/a.jpg" srcset="javascript:alert(1)">',
    "<template><script>alert(1)</script></template>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
]

DANGER = re.compile(
    r"<script|<iframe|<object|<embed|<svg|<style|<form|<input|<meta|<base|<link"
    r"|\son\w+\s*=|javascript:|vbscript:|data:|style=|srcset=",
    re.I,
)


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_payload_is_neutralized(payload: str) -> None:
    """No tag, attribute or URL that can run code survives."""
    assert not DANGER.search(sanitize_html(payload)), sanitize_html(payload)


def test_allowed_markup_survives() -> None:
    """Paragraphs, headings, emphasis, links, lists, quotes, figures and breaks are kept."""
    html = (
        "<h2>Heading</h2><p>Text with <strong>bold</strong>, <em>em</em> and "
        '<a href="https://example.org/story" title="Story">a link</a>.<br></p>'
        "<ul><li>one</li></ul><ol><li>two</li></ol>"
        '<blockquote cite="https://example.org"><p>Quoted words</p></blockquote>'
        '<figure><img src="https://example.org/p.jpg" alt="Crowd" width="640" height="480">'
        "<figcaption>Caption</figcaption></figure>"
    )
    clean = sanitize_html(html)
    for fragment in [
        "<h2>Heading</h2>", "<strong>bold</strong>", "<em>em</em>", 'href="https://example.org/story"',
        "<ul><li>one</li></ul>", "<ol><li>two</li></ol>", "<blockquote",
        "<figcaption>Caption</figcaption>",
        'src="https://example.org/p.jpg"', 'alt="Crowd"', 'width="640"', "<br>",
    ]:  # fmt: skip
        assert fragment in clean, fragment
    assert 'rel="noopener noreferrer nofollow"' in clean


def test_images_need_http_urls() -> None:
    """An img keeps only an http(s) src; relative or other schemes are dropped."""
    assert "src" not in sanitize_html('<img src="/local.png" alt="x">')
    assert "src" not in sanitize_html('<img src="ftp://example.org/a.png">')
    assert 'src="http://example.org/a.png"' in sanitize_html('<img src="http://example.org/a.png">')


async def test_payloads_are_sanitized_through_the_api(
    api: httpx.AsyncClient, new_liveblog: NewLiveblog
) -> None:
    """What the API stores and returns is the sanitized body, for every payload (a payload that
    leaves nothing to publish is refused instead)."""
    slug = await new_liveblog()
    for payload in XSS_PAYLOADS:
        response = await api.post(
            f"/api/liveblogs/{slug}/entries", json={"body": payload + "<p>ok</p>"}
        )
        if response.status_code == 422:
            assert "empty" in response.json()["detail"]
            continue
        assert response.status_code == 201, response.text
        stored = (await api.get(f"/api/liveblogs/{slug}/entries/{response.json()['id']}")).json()
        assert not DANGER.search(stored["body"]), stored["body"]


# Classes: only the link card's, on their own tags (app/domain/markdown.py writes them).


def test_embed_card_classes_survive() -> None:
    """`embed-card` on a, `embed-card__host` and `embed-card__url` on span are kept as written."""
    html = (
        '<p><a class="embed-card" href="https://example.org/x">'
        '<span class="embed-card__host">example.org</span> '
        '<span class="embed-card__url">https://example.org/x</span></a></p>'
    )
    assert sanitize_html(html) == html.replace(
        'href="https://example.org/x">',
        'href="https://example.org/x" rel="noopener noreferrer nofollow">',
    )


@pytest.mark.parametrize(
    "html",
    [
        '<a class="evil">x</a>',
        '<a class="EMBED-CARD">x</a>',  # class names are case-sensitive
        '<a class="embed-card__host">x</a>',  # a span's class on a
        '<span class="embed-card">x</span>',  # the a's class on span
        '<p class="embed-card">x</p>',  # a tag with no classes at all
        '<strong class="embed-card__url">x</strong>',
        '<a class="embed-card\u00a0evil">x</a>',  # no-break space does not separate classes
        '<a class="">x</a>',
    ],
)
def test_other_classes_are_stripped(html: str) -> None:
    """Any other class, or an allowed class on the wrong tag, is removed with its attribute."""
    # nh3's allowed_classes alone would leave an empty class=""; the sanitizer's filter drops it.
    assert "class" not in sanitize_html(html)


def test_mixed_class_list_keeps_only_allowed() -> None:
    """nh3 filters a class list per name: `embed-card evil` keeps `embed-card` (once)."""
    assert sanitize_html('<a class="evil embed-card\tembed-card other">x</a>') == (
        '<a class="embed-card" rel="noopener noreferrer nofollow">x</a>'
    )
    assert sanitize_html('<span class="embed-card__url x embed-card__host">x</span>') == (
        '<span class="embed-card__url embed-card__host">x</span>'
    )


def test_span_without_class_is_kept() -> None:
    """A bare span is allowed; id, style and event handlers on it are not."""
    # (title and lang would stay, as on every tag: nh3's default generic attributes.)
    assert sanitize_html("<p><span>plain</span></p>") == "<p><span>plain</span></p>"
    assert (
        sanitize_html('<span id="x" style="color:red" onclick="x()">s</span>') == "<span>s</span>"
    )


def test_the_same_body_always_sanitizes_to_the_same_bytes() -> None:
    """Sanitizing is deterministic: revisions and previews compare bodies byte for byte."""
    body = (
        '<figure><img src="https://example.org/a.jpg" alt="A" width="8" height="6">'
        '<figcaption>A</figcaption></figure><p><a href="https://example.org">x</a></p>'
    )
    assert len({sanitize_html(body) for _ in range(50)}) == 1


@pytest.mark.parametrize(
    ("html", "clean"),
    [
        ("<p><button><p>x</p></button></p>", "<p></p><p>x</p><p></p>"),
        ("<p><object><p>x</p></object></p>", "<p></p><p>x</p><p></p>"),
        ("<li><marquee><li>x</li></marquee></li>", "<li></li><li>x</li>"),
        ("<h2><select><h3>x</h3></select></h2>", "<h2></h2><h3>x</h3>"),
    ],
)
def test_dropped_elements_leave_markup_that_reads_back_the_same(html: str, clean: str) -> None:
    """Where a dropped element allowed `<p>` in `<p>`, the body is stored as a browser reads it,
    so sanitizing it again changes nothing (nh3 alone gives `<p><p>x</p></p>`)."""
    assert sanitize_html(html) == clean
    assert sanitize_html(clean) == clean


# A quote's speaker (app/domain/markdown.py writes it from "— Name")


def test_quote_footer_survives() -> None:
    """footer and cite inside a blockquote are kept as written, without attributes."""
    html = "<blockquote><p>Words</p><footer><cite>Jane Doe</cite></footer></blockquote>"
    assert sanitize_html(html) == html
    assert sanitize_html('<footer class="site-footer" onclick="x()" id="f">x</footer>') == (
        "<footer>x</footer>"
    )


def test_plain_text_ends_a_footer_like_a_block() -> None:
    """The speaker is not glued to the quote's last word in summaries."""
    html = "<blockquote><p>Words</p><footer><cite>Jane</cite></footer></blockquote><p>Next</p>"
    assert plain_text(html) == "Words Jane Next"


# Any HTML at all


@examples(300)
@given(html_fragments())
def test_any_html_sanitizes_to_a_harmless_fixed_point(html: str) -> None:
    """Allowed and disallowed tags, attributes and broken markup in any nesting: the result is
    harmless, sanitizes to itself, and has a plain text."""
    clean = sanitize_html(html)
    assert_sanitized(clean)
    plain_text(clean)
