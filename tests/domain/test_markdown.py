"""Markdown to HTML for the editor's console: CommonMark, figures, link cards, quotes with a
speaker, and sanitizing."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from hypothesis import given

from app.domain.markdown import to_html
from app.domain.sanitize import ALLOWED_TAGS, sanitize_html
from tests.domain.test_sanitize import DANGER, XSS_PAYLOADS
from tests.entry_bodies import assert_sanitized, examples, markdown_sources

Element = tuple[str, dict[str, str | None]]


class _Elements(HTMLParser):
    """Every start tag of a fragment with its attributes, as a browser would read them."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))


def elements(html: str) -> list[Element]:
    parser = _Elements()
    parser.feed(html)
    parser.close()
    return parser.elements


def assert_harmless(html: str) -> None:
    """Only allowed tags, no event handlers, and every URL attribute is http(s) or mailto."""
    for tag, attrs in elements(html):
        assert tag in ALLOWED_TAGS, html
        for name, value in attrs.items():
            assert not name.startswith("on"), html
            if name in {"href", "src", "cite"}:
                assert (value or "").startswith(("https://", "http://", "mailto:")), html


def card(href: str, host: str, url: str | None = None) -> str:
    return (
        f'<p><a class="embed-card" href="{href}"><span class="embed-card__host">{host}</span> '
        f'<span class="embed-card__url">{url or href}</span></a></p>\n'
    )


# CommonMark


def test_paragraphs() -> None:
    """Blank lines separate paragraphs; a single newline stays inside one."""
    assert to_html("One\nline\n\nTwo") == "<p>One\nline</p>\n<p>Two</p>\n"


def test_bold_and_italic() -> None:
    """`**` and `__` are strong, `*` and `_` are em."""
    assert to_html("**b** __b__ *i* _i_") == (
        "<p><strong>b</strong> <strong>b</strong> <em>i</em> <em>i</em></p>\n"
    )


def test_links() -> None:
    """An inline link keeps its href and title; text is escaped."""
    assert to_html('[AP & co](https://apnews.com/x?a=1&b=2 "Wire")') == (
        '<p><a href="https://apnews.com/x?a=1&amp;b=2" title="Wire">AP &amp; co</a></p>\n'
    )


def test_lists() -> None:
    """Bullet and ordered lists, tight, without <p> in their items."""
    assert to_html("- one\n- two\n\n1. first\n2. second") == (
        "<ul>\n<li>one</li>\n<li>two</li>\n</ul>\n<ol>\n<li>first</li>\n<li>second</li>\n</ol>\n"
    )


def test_blockquote() -> None:
    """`>` lines become a blockquote holding a paragraph."""
    assert to_html("> Quoted\n> words") == "<blockquote>\n<p>Quoted\nwords</p>\n</blockquote>\n"


def test_no_typographer() -> None:
    """Quotes, dashes and ellipses are left as typed (no smart punctuation)."""
    assert to_html("\"Hi\" -- 'there'...") == "<p>&quot;Hi&quot; -- 'there'...</p>\n"


def test_breaks_are_html5() -> None:
    """A hard line break is written `<br>`, as the sanitizer writes it."""
    assert to_html("Line  \nbreak") == "<p>Line<br>\nbreak</p>\n"


# Raw HTML


def test_raw_html_passes_through() -> None:
    """An HTML body (from the API, edited in the console) sanitizes to the same HTML."""
    html = "<p>Already <strong>HTML</strong></p>"
    assert sanitize_html(to_html(html)) == html


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_raw_html_is_still_sanitized(payload: str) -> None:
    """Every XSS payload from the sanitizer's suite, typed as Markdown, comes out harmless."""
    clean = sanitize_html(to_html(payload))
    assert_harmless(clean)
    assert not DANGER.search(clean), clean


# Figure


def test_figure_with_size() -> None:
    """An image alone in a paragraph is a figure; a WIDTHxHEIGHT title sizes it."""
    assert to_html('![Caption](https://host/pic.jpg "800x600")') == (
        '<figure><img src="https://host/pic.jpg" alt="Caption" width="800" height="600">'
        "<figcaption>Caption</figcaption></figure>\n"
    )


def test_figure_without_title() -> None:
    """With no title the figure has no width or height."""
    assert to_html("![Caption](https://host/pic.jpg)") == (
        '<figure><img src="https://host/pic.jpg" alt="Caption">'
        "<figcaption>Caption</figcaption></figure>\n"
    )


@pytest.mark.parametrize(
    "title",
    ["big", "800x", "x600", "800X600", "800 x 600", " 800x600", "123456x1", "８００x600"],
)
def test_figure_other_titles_are_captions(title: str) -> None:
    """Any title other than ASCII WIDTHxHEIGHT (1-5 digits each) is the caption, not a size;
    the image's text stays its alt text."""
    assert to_html(f'![Caption](https://host/pic.jpg "{title}")') == (
        '<figure><img src="https://host/pic.jpg" alt="Caption">'
        f"<figcaption>{' '.join(title.split())}</figcaption></figure>\n"
    )


def test_figure_caption_and_credit() -> None:
    """A title's credit follows ` | `, in small print."""
    assert to_html('![Smoke over the port](https://host/pic.jpg "At dawn | Photo: Reuters")') == (
        '<figure><img src="https://host/pic.jpg" alt="Smoke over the port">'
        "<figcaption>At dawn <small>Photo: Reuters</small></figcaption></figure>\n"
    )


def test_figure_empty_caption() -> None:
    """An empty caption gives alt="" and no figcaption."""
    assert to_html('![](https://host/pic.jpg "1x2")') == (
        '<figure><img src="https://host/pic.jpg" alt="" width="1" height="2"></figure>\n'
    )


def test_figure_caption_is_plain_text() -> None:
    """Markup in a caption is reduced to its text, in alt and figcaption alike."""
    assert to_html("![A *big* crowd](https://host/pic.jpg)") == (
        '<figure><img src="https://host/pic.jpg" alt="A big crowd">'
        "<figcaption>A big crowd</figcaption></figure>\n"
    )


def test_figure_inside_blockquote_and_list() -> None:
    """A paragraph that is only an image is a figure wherever it sits."""
    figure = '<figure><img src="https://h/p.jpg" alt="c"><figcaption>c</figcaption></figure>\n'
    assert to_html("> ![c](https://h/p.jpg)") == f"<blockquote>\n{figure}</blockquote>\n"
    assert to_html("- ![c](https://h/p.jpg)") == f"<ul>\n<li>\n{figure}</li>\n</ul>\n"


@pytest.mark.parametrize(
    "source",
    [
        "Look ![a](https://h/a.png) here",
        "![a](https://h/a.png) ![b](https://h/b.png)",
        "[![a](https://h/a.png)](https://h/)",
    ],
)
def test_image_with_other_content_stays_inline(source: str) -> None:
    """An image sharing its paragraph with anything else is an ordinary inline <img>."""
    html = to_html(source)
    assert html.startswith("<p>")
    assert "<figure>" not in html
    assert '<img src="https://h/a.png" alt="a">' in html


def test_hostile_caption_is_escaped() -> None:
    """Quotes and tags in a caption stay text: no attribute or element escapes from it."""
    html = to_html('![" onerror="alert(1)<script>x</script>](https://h/p.jpg "800x600")')
    assert html == (
        '<figure><img src="https://h/p.jpg" alt="&quot; onerror=&quot;alert(1)&lt;script&gt;x'
        '&lt;/script&gt;" width="800" height="600"><figcaption>&quot; onerror=&quot;alert(1)'
        "&lt;script&gt;x&lt;/script&gt;</figcaption></figure>\n"
    )
    clean = sanitize_html(html)
    assert_harmless(clean)
    assert [tag for tag, _ in elements(clean)] == ["figure", "img", "figcaption"]
    image = elements(clean)[1][1]
    assert set(image) == {"src", "alt", "width", "height", "loading"}
    assert image["alt"] == '" onerror="alert(1)<script>x</script>'


@pytest.mark.parametrize(
    "source",
    [
        "![x](javascript:alert(1))",
        '![x](JaVaScRiPt:alert(1) "800x600")',
        "![x](<javascript:alert(1)>)",
        "![x](data:text/html;base64,PHNjcmlwdD4=)",
        "![x](data:image/png;base64,iVBORw0KGgo=)",
        "![x](/relative.png)",
        '![x](<https://h/p.jpg" onerror="alert(1)>)',
    ],
)
def test_hostile_image_urls_are_harmless(source: str) -> None:
    """After sanitizing, no image loads anything but an http(s) URL, and no handler appears."""
    clean = sanitize_html(to_html(source))
    assert_harmless(clean)
    assert all("onerror" not in attrs for _, attrs in elements(clean))


# Link card


def test_embed_card_from_plain_url() -> None:
    """A URL alone on its line becomes a link card; the host drops its `www.`."""
    assert to_html("https://www.youtube.com/watch?v=x") == card(
        "https://www.youtube.com/watch?v=x", "youtube.com"
    )


def test_embed_card_from_autolink() -> None:
    """An autolink alone in its paragraph becomes the same card as the plain URL."""
    assert to_html("<https://www.youtube.com/watch?v=x>") == to_html(
        "https://www.youtube.com/watch?v=x"
    )


def test_embed_card_host() -> None:
    """The host is lower-case, without port, credentials or `www.`; other subdomains stay."""
    assert to_html("https://user@WWW.Example.org:8443/a") == card(
        "https://user@WWW.Example.org:8443/a", "example.org"
    )
    assert to_html("http://news.bbc.co.uk/x") == card("http://news.bbc.co.uk/x", "news.bbc.co.uk")


def test_embed_card_host_is_punycode() -> None:
    """An internationalized host is shown as the punycode the link really goes to."""
    assert to_html("https://bücher.de/ä") == card(
        "https://xn--bcher-kva.de/%C3%A4", "xn--bcher-kva.de", "https://bücher.de/ä"
    )


def test_embed_card_in_tight_list() -> None:
    """In a tight list item the card follows CommonMark and has no <p> around it."""
    assert to_html("- https://x.com/a") == (
        '<ul>\n<li><a class="embed-card" href="https://x.com/a">'
        '<span class="embed-card__host">x.com</span> '
        '<span class="embed-card__url">https://x.com/a</span></a></li>\n</ul>\n'
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("see https://x.com", "<p>see https://x.com</p>\n"),
        ("https://x.com is down", "<p>https://x.com is down</p>\n"),
        ("https://a.com\nhttps://b.com", "<p>https://a.com\nhttps://b.com</p>\n"),
        (
            "<https://x.com> and more",
            '<p><a href="https://x.com">https://x.com</a> and more</p>\n',
        ),
        ("[x.com](https://x.com)", '<p><a href="https://x.com">x.com</a></p>\n'),
        (
            "<mailto:a@example.org>",
            '<p><a href="mailto:a@example.org">mailto:a@example.org</a></p>\n',
        ),
        ("ftp://x.com/file", "<p>ftp://x.com/file</p>\n"),
        ("https://", "<p>https://</p>\n"),
        ("https://[x/", "<p>https://[x/</p>\n"),
        ("<javascript:alert(1)>", "<p>&lt;javascript:alert(1)&gt;</p>\n"),
    ],
)
def test_url_not_alone_is_not_carded(source: str, expected: str) -> None:
    """A URL sharing its paragraph, a titled link, or a non-http(s) URL renders as CommonMark."""
    assert to_html(source) == expected


def test_hostile_card_url_is_escaped() -> None:
    """Quotes, `>` and `&` in a bare URL are percent-encoded or escaped in href and in text."""
    html = to_html("https://x.com/\"onmouseover='alert(1)'>&amp;")
    assert html == card(
        "https://x.com/%22onmouseover='alert(1)'%3E&amp;",
        "x.com",
        "https://x.com/&quot;onmouseover='alert(1)'&gt;&amp;",
    )
    clean = sanitize_html(html)
    assert_harmless(clean)
    assert [tag for tag, _ in elements(clean)] == ["p", "a", "span", "span"]


def test_card_and_figure_survive_the_sanitizer() -> None:
    """The sanitizer keeps the card's classes and the figure's markup exactly."""
    clean = sanitize_html(to_html("https://www.youtube.com/watch?v=x&t=1"))
    assert clean == (
        '<p><a class="embed-card" href="https://www.youtube.com/watch?v=x&amp;t=1" '
        'rel="noopener noreferrer nofollow"><span class="embed-card__host">youtube.com</span> '
        '<span class="embed-card__url">https://www.youtube.com/watch?v=x&amp;t=1</span></a></p>'
    )
    figure = elements(sanitize_html(to_html('![Cap](https://h/p.jpg "800x600")')))
    assert [tag for tag, attrs in figure if not attrs] == ["figure", "figcaption"]
    assert figure[1] == ("img", {
        "src": "https://h/p.jpg", "alt": "Cap", "width": "800", "height": "600",
        "loading": "lazy",
    })  # fmt: skip


# Blocks in any order (issue 21: a figure after a paragraph was a 500)

FIGURE_A = '<figure><img src="https://h/a.jpg" alt="a"><figcaption>a</figcaption></figure>\n'
FIGURE_B = '<figure><img src="https://h/b.jpg" alt="b"><figcaption>b</figcaption></figure>\n'


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "Text…\n\n![caption](https://example.org/a.jpg)",
            '<p>Text…</p>\n<figure><img src="https://example.org/a.jpg" alt="caption">'
            "<figcaption>caption</figcaption></figure>\n",
        ),
        ("![a](https://h/a.jpg)\n\n![b](https://h/b.jpg)", FIGURE_A + FIGURE_B),
        ("![a](https://h/a.jpg)\n\nText", FIGURE_A + "<p>Text</p>\n"),
        ("One\n\nTwo\n\n![a](https://h/a.jpg)", "<p>One</p>\n<p>Two</p>\n" + FIGURE_A),
        (
            "![a](https://h/a.jpg)\n\nMid\n\n![b](https://h/b.jpg)",
            FIGURE_A + "<p>Mid</p>\n" + FIGURE_B,
        ),
        (
            "![a](https://h/a.jpg)\n\nhttps://x.com/a\n\n![b](https://h/b.jpg)",
            FIGURE_A + card("https://x.com/a", "x.com") + FIGURE_B,
        ),
        (
            "> ![a](https://h/a.jpg)\n\n![b](https://h/b.jpg)",
            f"<blockquote>\n{FIGURE_A}</blockquote>\n{FIGURE_B}",
        ),
        (
            "- ![a](https://h/a.jpg)\n- ![b](https://h/b.jpg)",
            f"<ul>\n<li>\n{FIGURE_A}</li>\n<li>\n{FIGURE_B}</li>\n</ul>\n",
        ),
        (
            "Text\n\n- one\n\n![a](https://h/a.jpg)",
            "<p>Text</p>\n<ul>\n<li>one</li>\n</ul>\n" + FIGURE_A,
        ),
    ],
)
def test_figures_anywhere_among_other_blocks(source: str, expected: str) -> None:
    """Figures after text, after each other, in quotes and lists: every order renders."""
    assert to_html(source) == expected


# Quote with a speaker (issue 21, point 8)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            "> Words\n> — Jane Doe",
            "<blockquote>\n<p>Words</p>\n<footer><cite>Jane Doe</cite></footer>\n</blockquote>\n",
        ),
        (
            "> Words\n>\n> -- Jane",
            "<blockquote>\n<p>Words</p>\n<footer><cite>Jane</cite></footer>\n</blockquote>\n",
        ),
        (
            "> One\n> two\n> — Jane",
            "<blockquote>\n<p>One\ntwo</p>\n<footer><cite>Jane</cite></footer>\n</blockquote>\n",
        ),
        (
            "> Words  \n> --   Jane   Doe",
            "<blockquote>\n<p>Words</p>\n<footer><cite>Jane Doe</cite></footer>\n</blockquote>\n",
        ),
        (
            "> Words\\\n> —\tJane",
            "<blockquote>\n<p>Words</p>\n<footer><cite>Jane</cite></footer>\n</blockquote>\n",
        ),
        ("> — Jane", "<blockquote>\n<footer><cite>Jane</cite></footer>\n</blockquote>\n"),
        (
            "> > Inner\n> > — In\n>\n> — Out",
            "<blockquote>\n<blockquote>\n<p>Inner</p>\n<footer><cite>In</cite></footer>\n"
            "</blockquote>\n<footer><cite>Out</cite></footer>\n</blockquote>\n",
        ),
        (
            "- > Words\n  > — Jane",
            "<ul>\n<li>\n<blockquote>\n<p>Words</p>\n<footer><cite>Jane</cite></footer>\n"
            "</blockquote>\n</li>\n</ul>\n",
        ),
    ],
)
def test_quote_with_speaker(source: str, expected: str) -> None:
    """`— Name` or `-- Name` ending a quote's last paragraph is its footer, the line removed."""
    assert to_html(source) == expected


def test_speaker_name_is_plain_text() -> None:
    """Markdown in the name gives its text, HTML shows as typed, all of it escaped."""
    assert to_html('> Hi\n> — *Jane* [Doe](https://x.org) `x` &amp; <b>"y"</b>') == (
        "<blockquote>\n<p>Hi</p>\n<footer><cite>Jane Doe x &amp; &lt;b&gt;&quot;y&quot;&lt;/b&gt;"
        "</cite></footer>\n</blockquote>\n"
    )
    clean = sanitize_html(to_html('> Hi\n> -- <script>alert(1)</script><img src=x onerror="y">'))
    assert_harmless(clean)
    assert [tag for tag, _ in elements(clean)] == ["blockquote", "p", "footer", "cite"]


def test_speaker_then_figure() -> None:
    """With the speaker line gone, an image alone in the quote's paragraph is a figure."""
    assert to_html("> ![Crowd](https://h/p.jpg)\n> — AP") == (
        '<blockquote>\n<figure><img src="https://h/p.jpg" alt="Crowd">'
        "<figcaption>Crowd</figcaption></figure>\n<footer><cite>AP</cite></footer>\n"
        "</blockquote>\n"
    )


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        # Not the quote's last line.
        ("> Words\n> — Jane\n> more", "<blockquote>\n<p>Words\n— Jane\nmore</p>\n</blockquote>\n"),
        (
            "> — Jane\n>\n> Words",
            "<blockquote>\n<p>— Jane</p>\n<p>Words</p>\n</blockquote>\n",
        ),
        # The quote ends in a list, whose item holds the line.
        (
            "> Words\n>\n> - item\n> -- Jane",
            "<blockquote>\n<p>Words</p>\n<ul>\n<li>item\n-- Jane</li>\n</ul>\n</blockquote>\n",
        ),
        # A hyphen-minus alone is a list item; three are a rule; an en dash is no dash here.
        (
            "> Words\n> - Jane",
            "<blockquote>\n<p>Words</p>\n<ul>\n<li>Jane</li>\n</ul>\n</blockquote>\n",
        ),
        ("> Words\n>\n> --- Jane", "<blockquote>\n<p>Words</p>\n<p>--- Jane</p>\n</blockquote>\n"),
        ("> Words\n> – Jane", "<blockquote>\n<p>Words\n– Jane</p>\n</blockquote>\n"),
        # No space, or no name.
        ("> Words\n> —Jane", "<blockquote>\n<p>Words\n—Jane</p>\n</blockquote>\n"),
        ("> Words\n> --Jane", "<blockquote>\n<p>Words\n--Jane</p>\n</blockquote>\n"),
        ("> Words\n> —", "<blockquote>\n<p>Words\n—</p>\n</blockquote>\n"),
        (
            "> Words\n> -- ![](https://h/p.png)",
            '<blockquote>\n<p>Words\n-- <img src="https://h/p.png" alt=""></p>\n</blockquote>\n',
        ),
        # The line is inside emphasis that began on the line before.
        ("> *Words\n> — Jane*", "<blockquote>\n<p><em>Words\n— Jane</em></p>\n</blockquote>\n"),
        # Outside a quote it is a paragraph like any other.
        ("Words\n— Jane", "<p>Words\n— Jane</p>\n"),
        ("-- Jane", "<p>-- Jane</p>\n"),
    ],
)
def test_not_a_speaker(source: str, expected: str) -> None:
    """A speaker line elsewhere than ending a quote, or not quite one, is text as before."""
    assert to_html(source) == expected


def test_speaker_survives_the_sanitizer() -> None:
    """footer and cite are allowed, so the quote comes out of the sanitizer as rendered."""
    html = to_html("> Words\n> — Jane Doe")
    assert sanitize_html(html) == (
        "<blockquote>\n<p>Words</p>\n<footer><cite>Jane Doe</cite></footer>\n</blockquote>"
    )


# Any Markdown at all


@examples(200)
@given(markdown_sources())
def test_any_markdown_renders_to_a_harmless_fixed_point(source: str) -> None:
    """Any mix and nesting of blocks renders; sanitized, it is harmless and sanitizes to itself."""
    assert_sanitized(sanitize_html(to_html(source)))
