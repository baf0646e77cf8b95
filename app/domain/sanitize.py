"""Entry bodies are HTML from newsroom tools; only an allow-list of it ever reaches a reader.

nh3 (Rust's ammonia) parses the HTML like a browser and drops everything not listed here:
no <script>, no event-handler attributes, no style, no javascript: or data: URLs. The only classes
kept are those of the link card that app/domain/markdown.py writes for a bare URL, so entry
markup cannot borrow the page's own styles. (`footer` is there for a quote's speaker,
`<blockquote>…<footer><cite>Name</cite></footer></blockquote>`; inside an entry's <article> it
is not the page's footer landmark.)
"""

from __future__ import annotations

import re
from html import unescape

import nh3

from app.domain import embeds
from app.domain.media import LOCAL_PREFIX, NAME

ALLOWED_TAGS = frozenset(
    {
        "p", "br", "hr",
        "h2", "h3", "h4", "h5", "h6",
        "strong", "b", "em", "i", "u", "s", "sub", "sup", "small", "mark", "code", "pre",
        "a",
        "ul", "ol", "li",
        "blockquote", "q", "cite", "footer",
        "figure", "figcaption", "img",
        "span",
    }
)  # fmt: skip

ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "srcset", "sizes", "alt", "title", "width", "height", "decoding"},
    "blockquote": {"cite"},
    "q": {"cite"},
    # An embed's placeholder (domain/markdown.py): which provider, and the player's URL, both
    # checked against the provider table (domain/embeds.py) in _filter_attribute.
    "figure": {"data-embed", "data-embed-src"},
}

# Links may also point to mail; anything that loads (img src) must be absolute http(s).
URL_SCHEMES = frozenset({"http", "https", "mailto"})
LINK_SCHEMES = URL_SCHEMES
LOAD_SCHEMES = frozenset({"http", "https"})
URL_ATTRIBUTES = frozenset({"href", "src", "cite"})

# `class` is allowed through these, per tag and per value, and must NOT also be listed in
# ALLOWED_ATTRIBUTES: nh3 then panics (PanicException, a BaseException) rather than choose one.
ALLOWED_CLASSES = {
    "a": frozenset({"embed-card"}),
    "figure": frozenset({"embed"}),
    "span": frozenset({"embed-card__host", "embed-card__title", "embed-card__url"}),
    "img": frozenset({"embed-card__image"}),
}
_CLASS_SEPARATOR = re.compile(r"[\t\n\f\r ]+")  # HTML splits class lists on ASCII whitespace

# An image's responsive sizes (domain/media.py writes them): a few width candidates, and a
# `sizes` of media conditions and lengths, nothing that could be a URL.
_SRCSET_MAX = 8
_SRCSET_WIDTH = re.compile(r"[0-9]{1,5}w")
_SIZES = re.compile(r"[a-z0-9().,: %-]{1,200}")


def _url_scheme(value: str) -> str | None:
    """The URL's scheme, or None for a relative URL. Browsers ignore whitespace and control
    characters inside a scheme ("java\tscript:"), so they are dropped before looking."""
    compact = "".join(ch for ch in value if ch > " " and ch != "\x7f").lower()
    head = compact.split("/", 1)[0].split("?", 1)[0].split("#", 1)[0]
    return head.split(":", 1)[0] if ":" in head else None


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if attribute == "class":
        # nh3 runs this filter first, then drops the classes not in ALLOWED_CLASSES but would
        # leave an empty class="" behind; dropping the attribute here keeps the markup exact.
        kept = [
            name for name in _CLASS_SEPARATOR.split(value) if name in ALLOWED_CLASSES.get(tag, ())
        ]
        return " ".join(dict.fromkeys(kept)) or None
    # nh3 checks schemes on href and src; `cite` is a URL too, and img must not be relative.
    if attribute in URL_ATTRIBUTES:
        if tag == "img":
            return value if _loadable(value) else None
        scheme = _url_scheme(value)
        return value if scheme is None or scheme in LINK_SCHEMES else None
    if attribute == "data-embed":
        return value if value in embeds.KEYS else None
    if attribute == "data-embed-src":
        return value if embeds.provider_of_embed_src(value) is not None else None
    if attribute == "srcset":
        return value if _valid_srcset(value) else None
    if attribute == "sizes":
        return value if _SIZES.fullmatch(value) else None
    if attribute == "decoding":
        return value if value == "async" else None
    if attribute in {"width", "height"}:
        return value if value.isdigit() and len(value) <= 5 else None
    return value


def _loadable(url: str) -> bool:
    """What an image may load: an absolute http(s) URL, or media this origin serves."""
    if url.startswith(LOCAL_PREFIX):
        return NAME.fullmatch(url[len(LOCAL_PREFIX) :]) is not None
    return _url_scheme(url) in LOAD_SCHEMES


def _valid_srcset(value: str) -> bool:
    """`URL 480w, URL 960w`: a few candidates, each a loadable URL and a width. (A URL holding a
    comma is refused rather than parsed as browsers do: ours never have one.)"""
    candidates = value.split(",")
    if len(candidates) > _SRCSET_MAX:
        return False
    for candidate in candidates:
        match candidate.split():
            case [url, width] if _loadable(url) and _SRCSET_WIDTH.fullmatch(width):
                continue
        return False
    return True


# Passes after the first, at most, to reach a body that sanitizes to itself. Random hostile
# nestings (300,000 tried) settled after one more pass, or two (9 of them); none needed three.
_SETTLING_PASSES = 3


def sanitize_html(html: str) -> str:
    """Return `html` reduced to the allow-list; text content is kept, markup outside it removed.

    The result sanitizes to itself: stored bodies, revisions and previews compare byte for byte.
    """
    clean = _clean(html)
    # nh3 writes out the tree it built, and reading that back does not always build the same
    # tree: an element it drops can leave `<p><p>x</p></p>` (from `<p><button><p>x</p></button>
    # </p>`), which a browser reads as three paragraphs, or a heading inside another. Cleaning
    # again until nothing changes stores the markup as a browser will build it.
    for _ in range(_SETTLING_PASSES):
        again = _clean(clean)
        if again == clean:
            break
        clean = again
    return clean


def _clean(html: str) -> str:
    return nh3.clean(
        html,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(names) for tag, names in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(URL_SCHEMES),
        allowed_classes={tag: set(names) for tag, names in ALLOWED_CLASSES.items()},
        attribute_filter=_filter_attribute,
        link_rel="noopener noreferrer nofollow",
        # Images load lazily; width/height (kept above) let the browser reserve their space, so
        # pictures never shift the page as they arrive. One attribute only: nh3 adds several in
        # no fixed order, and the same body must always sanitize to the same bytes (revisions
        # compare bodies; the console's preview is compared with the page).
        set_tag_attribute_values={"img": {"loading": "lazy"}},
        strip_comments=True,
    ).strip()


_BLOCK_END = re.compile(
    r"</(?:p|li|h[1-6]|blockquote|footer|figcaption|figure|ul|ol|pre)>|<br\s*/?>", re.I
)


def plain_text(html: str, limit: int | None = None) -> str:
    """The text of sanitized HTML, whitespace folded: for summaries, previews and JSON-LD."""
    spaced = _BLOCK_END.sub(r"\g<0> ", html)  # "</p><p>" must not glue two sentences together
    text = " ".join(unescape(nh3.clean(spaced, tags=set())).split())
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + "…"
    return text
