"""Entry bodies written in Markdown (the editor's console) become HTML here.

CommonMark, with raw HTML allowed so that an HTML body (posted through the API, then edited in the
console) keeps its meaning, plus two block forms a liveblog needs, wherever they sit (among other
blocks, in quotes, in lists):

- a paragraph that is only an image, `![Caption](https://host/pic.jpg "800x600")`, becomes
  `<figure><img src="…" alt="Caption" width="800" height="600"><figcaption>Caption</figcaption>
  </figure>`: the image's text is its alt text and, unless a title gives one, its caption; a
  title of the form WIDTHxHEIGHT sizes the image, any other title is the caption, with a credit
  after ` | ` (`![Smoke over the port](url "At dawn | Photo: Reuters")`), and an empty caption
  leaves out the figcaption (alt="");
- such an image that is media uploaded here (`/media/<name>`, domain/media.py) gets its sizes
  for every screen, `srcset` and the size it was stored at, from `media` (the services look up
  what a text names before rendering it);
- a paragraph that is only one bare http(s) URL (plain text or `<autolink>`) becomes a link card,
  `<p><a class="embed-card" href="…"><span class="embed-card__host">host</span>
  <span class="embed-card__url">…</span></a></p>`: no iframe, no request to the linked site;
- unless the URL is footage or a post of a known provider (domain/embeds.py): then the paragraph
  becomes a placeholder, `<figure class="embed" data-embed="youtube" data-embed-src="…">` with
  the provider's name as the card's host, and the lines after the URL in the same paragraph as
  its caption (a credit after ` | `). Still no request: the reader page loads the player only when
  the reader asks for it.

and one form a quote needs:

- a blockquote whose last paragraph ends in a speaker line, `— Name` or `-- Name` (an em dash or
  two hyphens, a space, then the name, on a line of its own), names who said it:
  `<blockquote><p>Words</p><footer><cite>Name</cite></footer></blockquote>`. The line leaves the
  paragraph (a paragraph that was only that line goes), the name is plain text (Markdown gives
  its text, as in a caption; HTML shows as typed), and a speaker line anywhere else stays text.
  `- Name` is a list item, as in CommonMark.

The output is not safe by itself (raw HTML passes through): callers sanitize it with
`app.domain.sanitize.sanitize_html`, which allows exactly this markup. Everything this module
writes itself is escaped all the same.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict

from app.domain import embeds
from app.domain.link_previews import ShownPreview
from app.domain.media import Media, MediaUrls, caption_html, figure_html, split_caption

# ASCII digits only, and the whole title: `\d` would take other scripts' digits, `$` a trailing
# newline, and a title may span lines.
_IMAGE_SIZE = re.compile(r"([0-9]{1,5})x([0-9]{1,5})")
_BARE_HTTP_URL = re.compile(r"https?://\S+", re.IGNORECASE)
# What a host name (already punycode and lower-case), IPv4 or IPv6 address is made of; anything
# else ("https://[x/" percent-encoded) is not a site to show on a card.
_HOST = re.compile(r"[a-z0-9._:-]+")
# How a quote's speaker line starts: an em dash or two hyphens (typed as such: the typographer is
# off), then white space. "-" alone starts a list item, and "---" a rule, so neither is a speaker.
_SPEAKER_DASH = re.compile("(?:\u2014|--)[ \t]+")
_LINE_BREAKS = ("softbreak", "hardbreak")


def _figure_image(children: Sequence[Token]) -> Token | None:
    """The image, when a paragraph's inline content is that one image and nothing else."""
    match children:
        case [Token(type="image") as image]:
            return image
    return None


def _bare_url(md: MarkdownIt, children: Sequence[Token]) -> tuple[str, str] | None:
    """(href, URL as written) when a paragraph's inline content is one bare http(s) URL."""
    match children:
        case [Token(type="text", content=text)] if _BARE_HTTP_URL.fullmatch(text):
            # Same normalization (percent-encoding, punycode host) that CommonMark links get.
            href = md.normalizeLink(text)
        case [
            Token(type="link_open", markup="autolink") as link,
            Token(type="text", content=text),
            Token(type="link_close"),
        ]:
            href = str(link.attrs["href"])
        case _:
            return None
    return (href, text) if _BARE_HTTP_URL.fullmatch(href) else None


def _embed(state: StateCore, children: Sequence[Token]) -> tuple[embeds.Embed, str] | None:
    """(the embed, its caption) when a paragraph's first line is one bare URL of a known
    provider; the caption is the text of the lines after it (empty if none)."""
    line_end = next((i for i, c in enumerate(children) if c.type in _LINE_BREAKS), len(children))
    url = _bare_url(state.md, children[:line_end])
    if url is None or (embed := embeds.match(url[0])) is None:
        return None
    renderer = state.md.renderer
    rest = children[line_end + 1 :]
    if not rest:
        return embed, ""
    if not isinstance(renderer, RendererHTML):  # _build() makes an HTML renderer
        return None
    caption = renderer.renderInlineAsText(rest, state.md.options, state.env)
    return embed, " ".join(caption.split())


def _card_host(href: str) -> str | None:
    """The host a card shows: taken from the href, so it is where the link really goes (punycode
    for an internationalized name), lower-case, without port or a leading `www.`."""
    try:
        host = urlsplit(href).hostname
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        return None
    if not host or not _HOST.fullmatch(host):
        return None
    return host.removeprefix("www.") or host


def _closed_paragraph(tokens: Sequence[Token]) -> tuple[Token, Token] | None:
    """(paragraph_open, inline) when `tokens` end with a whole paragraph (its three tokens are
    always adjacent, and a paragraph holds no other block)."""
    match tokens[-3:]:
        case [
            Token(type="paragraph_open") as opening,
            Token(type="inline") as inline,
            Token(type="paragraph_close"),
        ]:
            return opening, inline
    return None


def _speaker_line(state: StateCore, children: Sequence[Token]) -> tuple[list[Token], str] | None:
    """(the children before the last line, the speaker's name) when a paragraph's last line is a
    speaker line, `— Name` or `-- Name`; the name is the rest of that line as plain text."""
    start = depth = 0
    for index, child in enumerate(children):
        depth += child.nesting
        # A line break inside a link or emphasis does not begin a line of its own.
        if depth == 0 and child.type in _LINE_BREAKS:
            start = index + 1
    line = children[start:]
    if not line or line[0].type != "text" or not (dash := _SPEAKER_DASH.match(line[0].content)):
        return None
    renderer = state.md.renderer
    if not isinstance(renderer, RendererHTML):  # _build() makes an HTML renderer
        return None
    # As for a figure's caption: emphasis and links give their text, HTML its source.
    text = renderer.renderInlineAsText(line, state.md.options, state.env)[dash.end() :]
    name = " ".join(text.split())
    if not name:
        return None
    return list(children[: start - 1]) if start else [], name  # the break before it goes too


def _quote_speakers(state: StateCore) -> None:
    """Core rule: a blockquote whose last block is a paragraph ending in a speaker line gets a
    `quote_speaker` token in place of that line (and of the paragraph, if it was only that)."""
    rebuilt: list[Token] = []
    for token in state.tokens:
        if token.type == "blockquote_close" and (paragraph := _closed_paragraph(rebuilt)):
            _, inline = paragraph
            if (found := _speaker_line(state, inline.children or [])) is not None:
                kept, name = found
                if kept:
                    inline.children = kept
                else:
                    del rebuilt[-3:]
                speaker = Token("quote_speaker", "footer", 0, level=token.level + 1, block=True)
                speaker.content = name
                rebuilt.append(speaker)
        rebuilt.append(token)
    state.tokens[:] = rebuilt


def _liveblog_blocks(state: StateCore) -> None:
    """Core rule: turn image-only paragraphs into `figure` tokens and bare-URL paragraphs into
    `embed_card` tokens. Runs after inline parsing, so it sees each paragraph's final children."""
    # One forward pass into a new list: each paragraph is judged as its closing token arrives,
    # so folding its three tokens into one moves nothing still to visit.
    rebuilt: list[Token] = []
    for token in state.tokens:
        rebuilt.append(token)
        if (paragraph := _closed_paragraph(rebuilt)) is None:
            continue
        opening, inline = paragraph
        children = inline.children or []
        if (image := _figure_image(children)) is not None:
            # A figure cannot sit inside <p>: the figure replaces the whole paragraph.
            figure = Token("figure", "figure", 0, map=opening.map, level=opening.level, block=True)
            figure.children = [image]
            rebuilt[-3:] = [figure]
        elif (found := _embed(state, children)) is not None:
            embed, caption = found
            # A figure cannot sit inside <p>: the placeholder replaces the whole paragraph.
            placeholder = Token(
                "embed", "figure", 0, map=opening.map, level=opening.level, block=True
            )
            placeholder.meta["embed"] = embed
            placeholder.content = caption
            rebuilt[-3:] = [placeholder]
        elif (url := _bare_url(state.md, children)) and (host := _card_host(url[0])):
            # Only the paragraph's content changes, so <p> stays (hidden in a tight list, as usual).
            card = Token("embed_card", "a", 0, attrs={"href": url[0]}, content=url[1])
            card.meta["host"] = host
            previews: Mapping[str, ShownPreview] = state.env.get("link_previews", {})
            card.meta["preview"] = previews.get(url[1]) or previews.get(url[0])
            inline.children = [card]
    state.tokens[:] = rebuilt


def _render_figure(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """`<figure><img …><figcaption>…</figcaption></figure>` for a `figure` token; the alt text
    is the image's text without markup, the caption the title (or else the alt text), all
    escaped. Uploaded media comes with its sizes (domain/media.py)."""
    image = (tokens[idx].children or [])[0]
    alt = self.renderInlineAsText(image.children, options, env).strip()
    src = str(image.attrs["src"])
    title = str(image.attrs.get("title", ""))
    size = _IMAGE_SIZE.fullmatch(title)
    caption, credit = split_caption(title) if title and not size else (alt, "")
    urls: MediaUrls | None = env.get("media_urls")
    known: Mapping[str, Media] = env.get("media", {})
    if urls is not None and (name := urls.name_in(src)) is not None and name in known:
        figure = figure_html(known[name], urls.url, alt=alt, caption=caption, credit=credit)
        return figure + "\n"
    attributes = f' src="{escapeHtml(src)}" alt="{escapeHtml(alt)}"'
    if size:
        attributes += f' width="{size[1]}" height="{size[2]}"'
    return f"<figure><img{attributes}>{caption_html(caption, credit)}</figure>\n"


def _render_embed_card(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """`<a class="embed-card" …>` with host and URL spans for an `embed_card` token, escaped;
    with the page's title and image between them when a preview was fetched for it."""
    card = tokens[idx]
    shown: ShownPreview | None = card.meta.get("preview")
    image = title = ""
    urls: MediaUrls | None = env.get("media_urls")
    if shown is not None and shown.image is not None and urls is not None:
        thumbnail = shown.image.renditions[0] if shown.image.renditions else shown.image.fallback
        image = (
            f'<img class="embed-card__image" src="{escapeHtml(urls.url(thumbnail.name))}" '
            f'width="{thumbnail.width}" height="{thumbnail.height}" alt="" '
            'decoding="async" loading="lazy">'
        )
    if shown is not None and shown.preview.title:
        title = f'<span class="embed-card__title">{escapeHtml(shown.preview.title)}</span> '
    return (
        f'<a class="embed-card" href="{escapeHtml(str(card.attrs["href"]))}">{image}'
        f'<span class="embed-card__host">{escapeHtml(card.meta["host"])}</span> {title}'
        f'<span class="embed-card__url">{escapeHtml(card.content)}</span></a>'
    )


def _render_embed(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """The placeholder of an `embed` token: a link card naming the provider, in a figure that
    carries the embed URL for the page's script, and the caption; all escaped."""
    token = tokens[idx]
    embed: embeds.Embed = token.meta["embed"]
    caption, credit = split_caption(token.content)
    card = (
        f'<a class="embed-card" href="{escapeHtml(embed.url)}">'
        f'<span class="embed-card__host">{escapeHtml(embed.provider.name)}</span> '
        f'<span class="embed-card__url">{escapeHtml(embed.url)}</span></a>'
    )
    return (
        f'<figure class="embed" data-embed="{embed.provider.key}" '
        f'data-embed-src="{escapeHtml(embed.src)}">{card}{caption_html(caption, credit)}'
        "</figure>\n"
    )


def _render_quote_speaker(
    self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
) -> str:
    """`<footer><cite>Name</cite></footer>` for a `quote_speaker` token, the name escaped."""
    return f"<footer><cite>{escapeHtml(tokens[idx].content)}</cite></footer>\n"


def _build() -> MarkdownIt:
    # xhtmlOut off: the sanitizer writes HTML5 (<br>, <img>), so the stored body does either way.
    md = MarkdownIt("commonmark", {"html": True, "typographer": False, "xhtmlOut": False})
    # The speaker first: once its line is gone, an image left alone in the quote is a figure.
    md.core.ruler.push("quote_speakers", _quote_speakers)
    md.core.ruler.push("liveblog_blocks", _liveblog_blocks)
    md.add_render_rule("figure", _render_figure)
    md.add_render_rule("embed_card", _render_embed_card)
    md.add_render_rule("embed", _render_embed)
    md.add_render_rule("quote_speaker", _render_quote_speaker)
    return md


# Built once at import: set-up compiles the rule chains, while parse and render keep all per-call
# state in objects of their own, so one instance serves every call.
_MARKDOWN = _build()


def to_html(
    source: str,
    media: Mapping[str, Media] | None = None,
    urls: MediaUrls | None = None,
    link_previews: Mapping[str, ShownPreview] | None = None,
) -> str:
    """Render Markdown `source` to an HTML fragment (CommonMark, raw HTML kept, plus the figure
    and link-card forms above); `media` is the uploaded media it names, by file name, `urls`
    where media is served, and `link_previews` what was fetched for its bare links, by URL.
    The result must still go through `sanitize_html`."""
    env = {"media": media or {}, "media_urls": urls, "link_previews": link_previews or {}}
    html: str = _MARKDOWN.render(source, env)  # typed Any: markdown-it allows non-HTML renderers
    return html
