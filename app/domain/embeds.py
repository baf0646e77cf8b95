"""Players and posts embedded in entries come only from the providers listed here, built by us.

A journalist pastes a link to footage or a post on a line of its own. Readers see a static
placeholder (provider, link, caption), and nothing is asked of the provider until the reader
presses "Load content from <Provider>"; only then does the page load the provider's player in a
sandboxed iframe. So that a body can never choose what that iframe loads, this table is the whole
story: `match()` turns a pasted link into the provider's embed URL, built from IDs checked
character by character (never a copy of what was typed); `provider_of_embed_src()` accepts a
stored embed URL only in exactly the format `match()` builds; `frame_sources()` is the page's CSP
frame-src; `for_page()` gives the page's JavaScript each provider's iframe attributes.

Links are read with urlsplit and their host compared exactly: no userinfo
(`youtube.com@evil.example`), no port but the scheme's default, no lookalike
(`youtube.com.evil.example`), and only the characters RFC 3986 allows, so that no other URL parser
(a browser's) can read the link as going anywhere else.

The iframe gets the least each provider needs:
- sandbox: a player runs its own scripts (allow-scripts) against its own origin's storage and API
  (allow-same-origin; the pair lets a frame lift its sandbox only when it is the page's own
  origin, and no frame host here is); its links ("Watch on YouTube", a post's author) open a new
  tab (allow-popups). Video players also cast to a screen (allow-presentation). Never
  allow-top-navigation: a frame does not take the reader away from the liveblog. Nor
  allow-popups-to-escape-sandbox: the tab it opens would hold what the frame is denied (it could
  navigate the liveblog through `opener.top`). Nor allow-forms or allow-modals, which no player
  needs, nor allow-storage-access-by-user-activation, which would bring back the provider's
  cookies that youtube-nocookie and `dnt` are there to leave out.
- allow: fullscreen wherever a video can play, so posts get that alone. Video and audio players
  also get autoplay, so that an ad, the next clip or the next track plays without another click
  inside the frame (the reader's click was on our page, which does not count for the frame), and
  encrypted-media where the content may be DRM-protected (the video services, Spotify's tracks);
  video players also get picture-in-picture.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit


@dataclass(frozen=True, slots=True)
class _Link:
    """A pasted link whose host is one of a provider's."""

    host: str  # lower-case, as listed in the provider's link hosts
    path: str
    query: Mapping[str, str]  # each parameter's first value, percent-decoded


@dataclass(frozen=True, slots=True)
class Provider:
    """One source of embeds, and what its iframe needs (see the module docstring)."""

    key: str
    name: str  # shown to readers
    frame_hosts: tuple[str, ...]  # origins the iframe loads from, as CSP frame-src names them
    allow: str  # the iframe's `allow` attribute
    sandbox: str  # the iframe's `sandbox` tokens
    shape: str  # "video" (16:9), "audio" (a short bar) or "post" (tall): the page sizes the box
    # Where a pasted link may point, how to build the embed URL from it (None: not content this
    # provider embeds), and the format every embed URL so built matches in full.
    _link_hosts: frozenset[str] = field(repr=False)
    _embed: Callable[[_Link], str | None] = field(repr=False)
    _src: re.Pattern[str] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Embed:
    """A pasted link's embed: the placeholder links to `url`, the iframe loads `src`."""

    provider: Provider
    url: str  # the link as pasted, over https, with its host lower-case and without a port
    src: str  # the iframe's src


# IDs, character by character. The lengths are each service's own, with room where it varies.
_DIGITS = "[0-9]{1,20}"  # numeric IDs are 64-bit integers at most
_YOUTUBE_ID = "[A-Za-z0-9_-]{11}"
_VIMEO_KEY = "[0-9a-f]{10}"  # an unlisted video's hash
_DAILYMOTION_ID = "[A-Za-z0-9]{5,12}"  # x8abcd1; older and private IDs are mixed-case
_INSTAGRAM_CODE = "[A-Za-z0-9_-]{5,40}"  # 11 characters, longer for private posts
_LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_DOMAIN = rf"(?:{_LABEL}\.)+[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])?"
_BLUESKY_ACTOR = f"did:plc:[a-z2-7]{{24}}|did:web:{_DOMAIN}|{_DOMAIN}"  # a DID or a handle
_BLUESKY_TID = "[2-7a-z]{13}"  # a record key: a timestamp ID in base32-sortable
_TELEGRAM_POST = f"[A-Za-z][A-Za-z0-9_]{{4,31}}/{_DIGITS}"  # a public channel's name, post
_SOUNDCLOUD_NAME = "[a-z0-9_-]{1,100}"
_SPOTIFY_ITEM = "(?:track|episode|show|album|playlist)/[A-Za-z0-9]{22}"


def _seconds(value: str) -> int:
    """A YouTube start time, `90`, `90s` or `1h2m3s`, in seconds; 0 if it is none of those."""
    found = re.fullmatch(
        "([0-9]{1,6})s?|(?:([0-9]{1,2})h)?(?:([0-9]{1,4})m)?(?:([0-9]{1,6})s)?", value
    )
    if found is None:
        return 0
    seconds, hours, minutes, more = (int(group or 0) for group in found.groups())
    return seconds + 3600 * hours + 60 * minutes + more


def _youtube(link: _Link) -> str | None:
    if link.host == "youtu.be":
        found = re.fullmatch(f"/({_YOUTUBE_ID})/?", link.path)
    elif link.path in {"/watch", "/watch/"}:
        found = re.fullmatch(f"({_YOUTUBE_ID})", link.query.get("v", ""))
    else:
        found = re.fullmatch(f"/(?:shorts|live|embed|v)/({_YOUTUBE_ID})/?", link.path)
    if found is None:
        return None
    start = _seconds(link.query.get("t") or link.query.get("start") or "")
    src = f"https://www.youtube-nocookie.com/embed/{found[1]}"
    return f"{src}?start={start}" if start else src


_YOUTUBE_SRC = re.compile(
    rf"https://www\.youtube-nocookie\.com/embed/{_YOUTUBE_ID}"
    r"(?:\?start=[1-9][0-9]{0,6})?"  # _seconds() gives 1,956,339 at most
)


def _vimeo(link: _Link) -> str | None:
    if link.host == "player.vimeo.com":
        found = re.fullmatch(f"/video/({_DIGITS})/?", link.path)
        key = link.query.get("h")
    else:
        found = re.fullmatch(
            f"/(?:channels/[A-Za-z0-9_-]{{1,50}}/)?({_DIGITS})(?:/({_VIMEO_KEY}))?/?", link.path
        )
        key = found[2] if found else None
    if found is None or (key is not None and not re.fullmatch(_VIMEO_KEY, key)):
        return None
    return f"https://player.vimeo.com/video/{found[1]}?dnt=1" + (f"&h={key}" if key else "")


_VIMEO_SRC = re.compile(rf"https://player\.vimeo\.com/video/{_DIGITS}\?dnt=1(?:&h={_VIMEO_KEY})?")


def _dailymotion(link: _Link) -> str | None:
    if link.host == "dai.ly":
        found = re.fullmatch(f"/({_DAILYMOTION_ID})/?", link.path)
    else:  # older links add the title: /video/x2jvvep_some-title_news
        found = re.fullmatch(f"/video/({_DAILYMOTION_ID})(?:_[A-Za-z0-9_-]*)?/?", link.path)
    return None if found is None else f"https://geo.dailymotion.com/player.html?video={found[1]}"


_DAILYMOTION_SRC = re.compile(
    rf"https://geo\.dailymotion\.com/player\.html\?video={_DAILYMOTION_ID}"
)


def _x(link: _Link) -> str | None:
    found = re.fullmatch(
        f"/(?:[A-Za-z0-9_]{{1,15}}|i/web)/status/({_DIGITS})(?:/(?:photo|video)/[1-4])?/?",
        link.path,
    )
    if found is None:
        return None
    return f"https://platform.twitter.com/embed/Tweet.html?id={found[1]}&dnt=true"


_X_SRC = re.compile(rf"https://platform\.twitter\.com/embed/Tweet\.html\?id={_DIGITS}&dnt=true")


def _instagram(link: _Link) -> str | None:
    # Newer share links put the author first: /author/p/CODE/
    found = re.fullmatch(
        f"/(?:[A-Za-z0-9._]{{1,30}}/)?(p|tv|reels?)/({_INSTAGRAM_CODE})/?", link.path
    )
    if found is None:
        return None
    kind = "reel" if found[1].startswith("reel") else "p"
    return f"https://www.instagram.com/{kind}/{found[2]}/embed/"


_INSTAGRAM_SRC = re.compile(rf"https://www\.instagram\.com/(?:p|reel)/{_INSTAGRAM_CODE}/embed/")


def _tiktok(link: _Link) -> str | None:
    found = re.fullmatch(f"/@[A-Za-z0-9_.]{{2,24}}/video/({_DIGITS})/?", link.path)
    return None if found is None else f"https://www.tiktok.com/embed/v2/{found[1]}"


_TIKTOK_SRC = re.compile(rf"https://www\.tiktok\.com/embed/v2/{_DIGITS}")


def _facebook(link: _Link) -> str | None:
    # The player takes the video's page as `href`; a short link is its own page.
    if link.host == "fb.watch":
        found = re.fullmatch("/([A-Za-z0-9_-]{5,20})/?", link.path)
        page = "https://fb.watch/{}/"
    elif link.path in {"/watch", "/watch/"}:
        found = re.fullmatch(f"({_DIGITS})", link.query.get("v", ""))
        page = "https://www.facebook.com/watch/?v={}"
    else:
        found = re.fullmatch(f"/([A-Za-z0-9.]{{1,50}}/videos/{_DIGITS})/?", link.path)
        page = "https://www.facebook.com/{}/"
    if found is None:
        return None
    href = quote(page.format(found[1]), safe="")
    return f"https://www.facebook.com/plugins/video.php?href={href}"


_FACEBOOK_SRC = re.compile(
    r"https://www\.facebook\.com/plugins/video\.php\?href=https%3A%2F%2F(?:"
    rf"www\.facebook\.com%2F(?:[A-Za-z0-9.]{{1,50}}%2Fvideos%2F{_DIGITS}%2F"
    rf"|watch%2F%3Fv%3D{_DIGITS})|fb\.watch%2F[A-Za-z0-9_-]{{5,20}}%2F)"
)


def _bluesky(link: _Link) -> str | None:
    found = re.fullmatch(f"/profile/([^/]{{1,253}})/post/({_BLUESKY_TID})/?", link.path)
    actor = found[1].lower() if found else ""  # handles are case-insensitive domain names
    if found is None or not re.fullmatch(_BLUESKY_ACTOR, actor):
        return None
    return f"https://embed.bsky.app/embed/{actor}/app.bsky.feed.post/{found[2]}"


_BLUESKY_SRC = re.compile(
    rf"https://embed\.bsky\.app/embed/(?=[^/]{{1,253}}/)(?:{_BLUESKY_ACTOR})"
    rf"/app\.bsky\.feed\.post/{_BLUESKY_TID}"
)


# CSP frame-src names exact hosts, and a Mastodon post embeds from its own instance, so the
# instances are listed. An install-level setting could extend this list later.
_MASTODON_INSTANCES = (
    "mastodon.social", "mastodon.online", "mstdn.social", "mas.to", "journa.host", "newsie.social",
)  # fmt: skip
_MASTODON_HOSTS = "|".join(re.escape(host) for host in _MASTODON_INSTANCES)


def _mastodon(link: _Link) -> str | None:
    found = re.fullmatch(f"/(@[A-Za-z0-9_]{{1,30}}/{_DIGITS})/?", link.path)
    return None if found is None else f"https://{link.host}/{found[1]}/embed"


_MASTODON_SRC = re.compile(rf"https://(?:{_MASTODON_HOSTS})/@[A-Za-z0-9_]{{1,30}}/{_DIGITS}/embed")


def _telegram(link: _Link) -> str | None:
    found = re.fullmatch(f"/(?:s/)?({_TELEGRAM_POST})/?", link.path)
    return None if found is None else f"https://t.me/{found[1]}?embed=1"


_TELEGRAM_SRC = re.compile(rf"https://t\.me/{_TELEGRAM_POST}\?embed=1")


# Site pages whose paths look like /artist/track: /discover/sets/…, /artist/likes.
_SOUNDCLOUD_PAGES = frozenset({"charts", "discover", "messages", "pages", "people", "search"})
_SOUNDCLOUD_PAGES |= {"settings", "stream", "tags", "upload", "you"}
_SOUNDCLOUD_TABS = frozenset({"albums", "comments", "followers", "following", "likes"})
_SOUNDCLOUD_TABS |= {"popular-tracks", "reposts", "sets", "spotlight", "tracks"}


def _soundcloud(link: _Link) -> str | None:
    found = re.fullmatch(f"/({_SOUNDCLOUD_NAME})/((?:sets/)?{_SOUNDCLOUD_NAME})/?", link.path)
    if found is None or found[1] in _SOUNDCLOUD_PAGES or found[2] in _SOUNDCLOUD_TABS:
        return None
    track = quote(f"https://soundcloud.com/{found[1]}/{found[2]}", safe="")
    return f"https://w.soundcloud.com/player/?url={track}&auto_play=false&visual=false"


_SOUNDCLOUD_SRC = re.compile(
    r"https://w\.soundcloud\.com/player/\?url=https%3A%2F%2Fsoundcloud\.com%2F"
    rf"{_SOUNDCLOUD_NAME}%2F(?:sets%2F)?{_SOUNDCLOUD_NAME}&auto_play=false&visual=false"
)


def _spotify(link: _Link) -> str | None:
    found = re.fullmatch(
        f"/(?:intl-[a-z]{{2}}(?:-[A-Za-z]{{2,4}})?/)?(?:embed/)?({_SPOTIFY_ITEM})/?", link.path
    )
    return None if found is None else f"https://open.spotify.com/embed/{found[1]}"


_SPOTIFY_SRC = re.compile(rf"https://open\.spotify\.com/embed/{_SPOTIFY_ITEM}")


_FRAME = "allow-scripts allow-same-origin allow-popups"
_VIDEO_SANDBOX = f"{_FRAME} allow-presentation"
_VIDEO_ALLOW = "autoplay; encrypted-media; picture-in-picture; fullscreen"
_POST_ALLOW = "fullscreen"


PROVIDERS: tuple[Provider, ...] = (
    # key, name, frame hosts, allow, sandbox, shape; then where links point, builder, src format
    Provider(
        "youtube", "YouTube", ("https://www.youtube-nocookie.com",), _VIDEO_ALLOW,
        _VIDEO_SANDBOX, "video",
        frozenset({"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be"}),
        _youtube, _YOUTUBE_SRC,
    ),
    Provider(
        "vimeo", "Vimeo", ("https://player.vimeo.com",), _VIDEO_ALLOW, _VIDEO_SANDBOX, "video",
        frozenset({"vimeo.com", "www.vimeo.com", "player.vimeo.com"}), _vimeo, _VIMEO_SRC,
    ),
    Provider(
        "dailymotion", "Dailymotion", ("https://geo.dailymotion.com",), _VIDEO_ALLOW,
        _VIDEO_SANDBOX, "video",
        frozenset({"dailymotion.com", "www.dailymotion.com", "dai.ly"}),
        _dailymotion, _DAILYMOTION_SRC,
    ),
    Provider(
        "x", "X", ("https://platform.twitter.com",), _POST_ALLOW, _FRAME, "post",
        frozenset({"x.com", "www.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com"}),
        _x, _X_SRC,
    ),
    Provider(
        "instagram", "Instagram", ("https://www.instagram.com",), _POST_ALLOW, _FRAME, "post",
        frozenset({"instagram.com", "www.instagram.com"}), _instagram, _INSTAGRAM_SRC,
    ),
    Provider(
        "tiktok", "TikTok", ("https://www.tiktok.com",), _POST_ALLOW, _FRAME, "post",
        frozenset({"tiktok.com", "www.tiktok.com", "m.tiktok.com"}), _tiktok, _TIKTOK_SRC,
    ),
    Provider(
        "facebook", "Facebook", ("https://www.facebook.com",), _VIDEO_ALLOW, _VIDEO_SANDBOX,
        "video",
        frozenset({"facebook.com", "www.facebook.com", "m.facebook.com", "fb.watch"}),
        _facebook, _FACEBOOK_SRC,
    ),
    Provider(
        "bluesky", "Bluesky", ("https://embed.bsky.app",), _POST_ALLOW, _FRAME, "post",
        frozenset({"bsky.app"}), _bluesky, _BLUESKY_SRC,
    ),
    Provider(
        "mastodon", "Mastodon", tuple(f"https://{host}" for host in _MASTODON_INSTANCES),
        _POST_ALLOW, _FRAME, "post",
        frozenset(_MASTODON_INSTANCES), _mastodon, _MASTODON_SRC,
    ),
    Provider(
        "telegram", "Telegram", ("https://t.me",), _POST_ALLOW, _FRAME, "post",
        frozenset({"t.me", "telegram.me"}), _telegram, _TELEGRAM_SRC,
    ),
    Provider(
        "soundcloud", "SoundCloud", ("https://w.soundcloud.com",), "autoplay", _FRAME, "audio",
        frozenset({"soundcloud.com", "www.soundcloud.com", "m.soundcloud.com"}),
        _soundcloud, _SOUNDCLOUD_SRC,
    ),
    Provider(
        "spotify", "Spotify", ("https://open.spotify.com",), "autoplay; encrypted-media", _FRAME,
        "audio",
        frozenset({"open.spotify.com"}), _spotify, _SPOTIFY_SRC,
    ),
)  # fmt: skip

_BY_HOST = {host: provider for provider in PROVIDERS for host in provider._link_hosts}
_DEFAULT_PORTS = {"http": "80", "https": "443"}
# RFC 3986's characters: nothing a browser would read differently (`\`, white space, control
# characters), no `"` and no angle brackets.
_URL_CHARACTERS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]{1,2048}")


KEYS = frozenset(provider.key for provider in PROVIDERS)


def match(url: str) -> Embed | None:
    """The embed for `url` when it links to a listed provider's content, else None.

    White space around `url` is ignored. Never raises, whatever `url` holds.
    """
    text = url.strip()
    if not _URL_CHARACTERS.fullmatch(text):  # 2,048 characters is more than any content link
        return None
    try:
        parts = urlsplit(text)
        query: dict[str, str] = {}
        for name, value in parse_qsl(parts.query, keep_blank_values=True):
            query.setdefault(name, value)
    except ValueError:  # e.g. an unclosed "[" of an IPv6 address
        return None
    host, _, port = parts.netloc.lower().partition(":")
    provider = _BY_HOST.get(host)
    default_port = _DEFAULT_PORTS.get(parts.scheme)
    if provider is None or default_port is None or "@" in parts.netloc:
        return None
    if port not in {"", default_port}:
        return None
    src = provider._embed(_Link(host, parts.path, query))
    if src is None:
        return None
    link = urlunsplit(("https", host, parts.path, parts.query, parts.fragment))
    return Embed(provider, link, src)


def provider_of_embed_src(src: str) -> Provider | None:
    """The provider whose embed URL format `src` is exactly, else None: a stored embed's
    `data-embed-src` is loaded only when `match()` could have built it."""
    for provider in PROVIDERS:
        if provider._src.fullmatch(src):
            return provider
    return None


def frame_sources() -> tuple[str, ...]:
    """Every origin an embed's iframe loads from, once each, in table order: CSP frame-src."""
    return tuple(dict.fromkeys(host for provider in PROVIDERS for host in provider.frame_hosts))


def for_page() -> dict[str, dict[str, str]]:
    """What the page's JavaScript needs to build each provider's iframe, by provider key."""
    return {
        provider.key: {
            "name": provider.name,
            "allow": provider.allow,
            "sandbox": provider.sandbox,
            "shape": provider.shape,
            # The page loads a stored src only from these, whatever the markup says.
            "hosts": " ".join(provider.frame_hosts),
        }
        for provider in PROVIDERS
    }
