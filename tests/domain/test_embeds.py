"""Embeds: pasted links to the listed providers become their embed URLs, and nothing else does."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from hypothesis import given, strategies as st

from app.domain.embeds import (
    PROVIDERS,
    Embed,
    Provider,
    for_page,
    frame_sources,
    match,
    provider_of_embed_src,
)
from tests.entry_bodies import examples

# Where each provider's links may point, written out again here so that a host added to the
# table by mistake (or a lookalike) fails a test.
LINK_HOSTS = {
    "youtube": {"youtube.com", "www.youtube.com", "m.youtube.com", "youtu.be"},
    "vimeo": {"vimeo.com", "www.vimeo.com", "player.vimeo.com"},
    "dailymotion": {"dailymotion.com", "www.dailymotion.com", "dai.ly"},
    "x": {"x.com", "www.x.com", "twitter.com", "www.twitter.com", "mobile.twitter.com"},
    "instagram": {"instagram.com", "www.instagram.com"},
    "tiktok": {"tiktok.com", "www.tiktok.com", "m.tiktok.com"},
    "facebook": {"facebook.com", "www.facebook.com", "m.facebook.com", "fb.watch"},
    "bluesky": {"bsky.app"},
    "mastodon": {
        "mastodon.social", "mastodon.online", "mstdn.social", "mas.to", "journa.host",
        "newsie.social",
    },
    "telegram": {"t.me", "telegram.me"},
    "soundcloud": {"soundcloud.com", "www.soundcloud.com", "m.soundcloud.com"},
    "spotify": {"open.spotify.com"},
}  # fmt: skip

YT = "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ"
FB = "https://www.facebook.com/plugins/video.php?href="
SC = "https://w.soundcloud.com/player/?url=https%3A%2F%2Fsoundcloud.com%2F"
SC_END = "&auto_play=false&visual=false"
BSKY = "https://embed.bsky.app/embed/"

# (pasted link, provider key, iframe src)
MATCHES = [
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "youtube", YT),
    ("https://youtu.be/dQw4w9WgXcQ?si=Ab12Cd34", "youtube", YT),
    ("https://www.youtube.com/shorts/dQw4w9WgXcQ", "youtube", YT),
    ("https://youtube.com/live/dQw4w9WgXcQ?feature=share", "youtube", YT),
    ("https://www.youtube.com/embed/dQw4w9WgXcQ", "youtube", YT),
    ("http://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ&t=1h2m3s", "youtube",
     f"{YT}?start=3723"),
    ("https://youtu.be/dQw4w9WgXcQ?t=90", "youtube", f"{YT}?start=90"),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&start=42s", "youtube", f"{YT}?start=42"),
    ("https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=0", "youtube", YT),
    ("https://vimeo.com/76979871", "vimeo", "https://player.vimeo.com/video/76979871?dnt=1"),
    ("https://vimeo.com/channels/staffpicks/123456789", "vimeo",
     "https://player.vimeo.com/video/123456789?dnt=1"),
    ("https://vimeo.com/123456789/abcdef1234", "vimeo",
     "https://player.vimeo.com/video/123456789?dnt=1&h=abcdef1234"),
    ("https://player.vimeo.com/video/123456789?h=abcdef1234&badge=0", "vimeo",
     "https://player.vimeo.com/video/123456789?dnt=1&h=abcdef1234"),
    ("https://www.dailymotion.com/video/x8abcd1", "dailymotion",
     "https://geo.dailymotion.com/player.html?video=x8abcd1"),
    ("https://dai.ly/x8abcd1", "dailymotion",
     "https://geo.dailymotion.com/player.html?video=x8abcd1"),
    ("https://www.dailymotion.com/video/x2jvvep_some-title_news", "dailymotion",
     "https://geo.dailymotion.com/player.html?video=x2jvvep"),
    ("https://x.com/Reuters/status/1790000000000000000", "x",
     "https://platform.twitter.com/embed/Tweet.html?id=1790000000000000000&dnt=true"),
    ("https://twitter.com/AP/status/1790000000000000001?s=20", "x",
     "https://platform.twitter.com/embed/Tweet.html?id=1790000000000000001&dnt=true"),
    ("https://mobile.twitter.com/AP/status/123/photo/1", "x",
     "https://platform.twitter.com/embed/Tweet.html?id=123&dnt=true"),
    ("https://www.instagram.com/p/C7xYzAbCdEf/", "instagram",
     "https://www.instagram.com/p/C7xYzAbCdEf/embed/"),
    ("https://instagram.com/reel/C7xYzAbCdEf/?igsh=MXh5", "instagram",
     "https://www.instagram.com/reel/C7xYzAbCdEf/embed/"),
    ("https://www.instagram.com/tv/C7xYzAbCdEf", "instagram",
     "https://www.instagram.com/p/C7xYzAbCdEf/embed/"),
    ("https://www.instagram.com/bbcnews/p/C7xYzAbCdEf/", "instagram",
     "https://www.instagram.com/p/C7xYzAbCdEf/embed/"),
    ("https://www.tiktok.com/@scout2015/video/6718335390845095173", "tiktok",
     "https://www.tiktok.com/embed/v2/6718335390845095173"),
    ("https://m.tiktok.com/@bbcnews/video/7300000000000000000?lang=en", "tiktok",
     "https://www.tiktok.com/embed/v2/7300000000000000000"),
    ("https://www.facebook.com/bbcnews/videos/1234567890123456/", "facebook",
     f"{FB}https%3A%2F%2Fwww.facebook.com%2Fbbcnews%2Fvideos%2F1234567890123456%2F"),
    ("https://m.facebook.com/watch/?v=1234567890", "facebook",
     f"{FB}https%3A%2F%2Fwww.facebook.com%2Fwatch%2F%3Fv%3D1234567890"),
    ("https://www.facebook.com/watch?v=1234567890&ref=sharing", "facebook",
     f"{FB}https%3A%2F%2Fwww.facebook.com%2Fwatch%2F%3Fv%3D1234567890"),
    ("https://fb.watch/abCD12_-x/", "facebook", f"{FB}https%3A%2F%2Ffb.watch%2FabCD12_-x%2F"),
    ("https://bsky.app/profile/bsky.app/post/3l6oveex3ii2l", "bluesky",
     f"{BSKY}bsky.app/app.bsky.feed.post/3l6oveex3ii2l"),
    ("https://bsky.app/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/3l6oveex3ii2l", "bluesky",
     f"{BSKY}did:plc:z72i7hdynmk6r22z27h6tvur/app.bsky.feed.post/3l6oveex3ii2l"),
    ("https://bsky.app/profile/Jay.Bsky.Team/post/3l6oveex3ii2l/", "bluesky",
     f"{BSKY}jay.bsky.team/app.bsky.feed.post/3l6oveex3ii2l"),
    ("https://mastodon.social/@Gargron/109318821117356215", "mastodon",
     "https://mastodon.social/@Gargron/109318821117356215/embed"),
    ("https://journa.host/@reporter/111222333444555666/", "mastodon",
     "https://journa.host/@reporter/111222333444555666/embed"),
    ("https://t.me/durov/142", "telegram", "https://t.me/durov/142?embed=1"),
    ("https://t.me/s/bbcrussian/12345", "telegram", "https://t.me/bbcrussian/12345?embed=1"),
    ("https://telegram.me/durov/142?single", "telegram", "https://t.me/durov/142?embed=1"),
    ("https://soundcloud.com/forss/flickermood", "soundcloud", f"{SC}forss%2Fflickermood{SC_END}"),
    ("https://m.soundcloud.com/forss/sets/soulhack?si=x1", "soundcloud",
     f"{SC}forss%2Fsets%2Fsoulhack{SC_END}"),
    ("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC?si=abc", "spotify",
     "https://open.spotify.com/embed/track/4uLU6hMCjMI75M1A2tKUQC"),
    ("https://open.spotify.com/intl-de/episode/0Q86acNRm6V9GYx55SXKwf", "spotify",
     "https://open.spotify.com/embed/episode/0Q86acNRm6V9GYx55SXKwf"),
    ("https://open.spotify.com/playlist/37i9dQZF1DXcBWIGoYBM5M", "spotify",
     "https://open.spotify.com/embed/playlist/37i9dQZF1DXcBWIGoYBM5M"),
]  # fmt: skip

# Real links that are not one piece of content, or not from a listed place.
NOT_CONTENT = [
    "https://www.youtube.com/@BBCNews",
    "https://www.youtube.com/channel/UC16niRr50-MSBwiO3YDb3RA",
    "https://www.youtube.com/watch",
    "https://www.youtube.com/watch?list=PL123",
    "https://www.youtube.com/watch?v=dQw4w9WgXc",  # one character short
    "https://www.youtube.com/watch?v=dQw4w9WgXcQQ",
    "https://youtube.com",
    "https://youtube.com/",
    "youtube.com/watch?v=dQw4w9WgXcQ",
    "www.youtube.com",
    "https://vimeo.com/channels/staffpicks",
    "https://vimeo.com/123456789/not-a-hash",
    "https://www.dailymotion.com/bbcnews",
    "https://x.com/Reuters",
    "https://x.com/Reuters/status/",
    "https://www.instagram.com/bbcnews/",
    "https://www.tiktok.com/@scout2015",
    "https://www.facebook.com/bbcnews",
    "https://bsky.app/profile/bsky.app",
    "https://bsky.app/profile/not_a_handle/post/3l6oveex3ii2l",
    "https://mastodon.example/@reporter/111222333444555666",  # an instance not listed
    "https://mastodon.social/@Gargron",
    "https://t.me/durov",
    "https://t.me/c/1234567/89",  # a private channel
    "https://t.me/joinchat/AAAAAE",
    "https://soundcloud.com/forss",
    "https://soundcloud.com/forss/likes",
    "https://soundcloud.com/forss/sets",
    "https://soundcloud.com/discover/sets/weekly",
    "https://open.spotify.com/artist/4uLU6hMCjMI75M1A2tKUQC",
    "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQ",
    "",
]

# Links that look like a provider's to a person, or to some URL parser, but are not.
LOOKALIKES = [
    "https://youtube.com.evil.example/watch?v=dQw4w9WgXcQ",
    "https://evil.example/youtube.com/watch?v=dQw4w9WgXcQ",
    "https://evil.example/?u=https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://youtube.com@evil.example/watch?v=dQw4w9WgXcQ",
    "https://evil.example@www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://user:pass@www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://:@www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://www.youtube.com:8443/watch?v=dQw4w9WgXcQ",
    "http://www.youtube.com:443/watch?v=dQw4w9WgXcQ",
    "https://www.youtube.com:80/watch?v=dQw4w9WgXcQ",
    "https://www.youtube.com:0443/watch?v=dQw4w9WgXcQ",
    "https://www.youtube.com./watch?v=dQw4w9WgXcQ",
    "https://wwwyoutube.com/watch?v=dQw4w9WgXcQ",
    "https://you%74ube.com/watch?v=dQw4w9WgXcQ",
    "https://www.ｙoutube.com/watch?v=dQw4w9WgXcQ",
    "https://www.yоutube.com/watch?v=dQw4w9WgXcQ",  # a Cyrillic о
    "https://xn--yutube-wqf.com/watch?v=dQw4w9WgXcQ",
    "https://evil.example\\@www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://www.youtube.com\\.evil.example/watch?v=dQw4w9WgXcQ",
    "https://www.youtube.com\\@evil.example/watch?v=dQw4w9WgXcQ",
    "https://www.you\ttube.com/watch?v=dQw4w9WgXcQ",
    "https://evil.example#@www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://evil.example?@www.youtube.com/watch?v=dQw4w9WgXcQ",
    "//www.youtube.com/watch?v=dQw4w9WgXcQ",
    "javascript:alert(1)//https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "javascript://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "ftp://www.youtube.com/watch?v=dQw4w9WgXcQ",
    "data:text/html,https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    'https://www.youtube.com/watch?v=dQw4w9WgXcQ"onmouseover=alert(1)',
    "https://www.youtube.com/watch?v=dQw4w9WgXcQ<script>",
    "https://www.youtube.com/watch?v=dQw4w9WgXc%22",
    "https://www.youtube.com/watch?v=dQw4w9WgXc+",
    "https://www.youtube.com/watch/../shorts/dQw4w9WgXcQ",
    "https://www.youtube.com/%73horts/dQw4w9WgXcQ",
    "https://[::1]/watch?v=dQw4w9WgXcQ",
    "https://[www.youtube.com/watch?v=dQw4w9WgXcQ",
    "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",  # an embed URL is not a pasted link
    "https://mastodon.social.evil.example/@Gargron/109318821117356215",
    "https://evil.example/@Gargron/109318821117356215",
    "https://t.me.evil.example/durov/142",
    "https://bsky.app.evil.example/profile/bsky.app/post/3l6oveex3ii2l",
    "https://bsky.app/profile/evil.example%2Fx/post/3l6oveex3ii2l",
    "https://x.com/Reuters/status/1790000000000000000\u202e",
    "https://www.facebook.com/bbcnews/videos/12345%2F..%2F",
]

NOT_EMBED_SRCS = [
    "https://www.youtube-nocookie.com/embed/abc",
    "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ/extra",
    "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?autoplay=1",
    "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=0",
    "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ\n",
    " https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
    "http://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
    "HTTPS://WWW.YOUTUBE-NOCOOKIE.COM/embed/dQw4w9WgXcQ",
    "https://www.youtube.com/embed/dQw4w9WgXcQ",
    "https://www.youtube-nocookie.com.evil.example/embed/dQw4w9WgXcQ",
    "https://evil.example@www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
    "https://evil.example/embed/dQw4w9WgXcQ",
    "//www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
    "javascript:alert(1)",
    "javascript:alert(1)//https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
    "data:text/html,<script>alert(1)</script>",
    "https://player.vimeo.com/video/76979871",
    "https://player.vimeo.com/video/76979871?dnt=1&h=../../x",
    "https://platform.twitter.com/embed/Tweet.html?id=123",
    "https://platform.twitter.com/embed/Tweet.html?id=123&dnt=true&x=1",
    "https://www.instagram.com/p/C7xYzAbCdEf/",
    "https://www.tiktok.com/embed/v2/123abc",
    "https://www.facebook.com/plugins/video.php?href=https%3A%2F%2Fevil.example%2F",
    "https://www.facebook.com/plugins/video.php?href=https://fb.watch/abCD12_-x/",
    "https://embed.bsky.app/embed/evil.example/app.bsky.feed.post/short",
    "https://evil.example/@user/123/embed",
    "https://mastodon.example/@user/123/embed",
    "https://t.me/durov/142",
    "https://t.me/durov/142?embed=1&x",
    f"{SC}evil.example%2Fx",
    "https://w.soundcloud.com/player/?url=https%3A%2F%2Fevil.example%2Fa%2Fb" + SC_END,
    "https://open.spotify.com/embed/artist/4uLU6hMCjMI75M1A2tKUQC",
    "https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQC",
    "",
]

BY_KEY = {provider.key: provider for provider in PROVIDERS}
# What an iframe src must never hold: it goes into an attribute and a CSP-checked load.
SRC_FORBIDDEN = re.compile(r"[\"'<>\\`\s]")


def assert_sound(pasted: str, embed: Embed) -> None:
    """An embed from `match(pasted)` keeps every promise of the module."""
    provider = embed.provider
    assert provider_of_embed_src(embed.src) is provider, embed
    assert any(embed.src.startswith(f"{host}/") for host in provider.frame_hosts), embed
    assert embed.src.isascii() and embed.src.isprintable(), embed
    assert not SRC_FORBIDDEN.search(embed.src), embed
    link = urlsplit(embed.url)
    assert link.scheme == "https" and link.netloc in LINK_HOSTS[provider.key], embed
    # The host is the one pasted, and nothing was hidden in front of it.
    pasted_parts = urlsplit(pasted.strip())
    assert pasted_parts.hostname == link.netloc and pasted_parts.username is None, embed
    assert match(embed.url) == embed  # the link, as normalised, is the same embed


# The provider table


def test_the_table_lists_each_provider_once() -> None:
    """Keys and names are the documented ones, and a host belongs to one provider only."""
    assert [(provider.key, provider.name) for provider in PROVIDERS] == [
        ("youtube", "YouTube"), ("vimeo", "Vimeo"), ("dailymotion", "Dailymotion"), ("x", "X"),
        ("instagram", "Instagram"), ("tiktok", "TikTok"), ("facebook", "Facebook"),
        ("bluesky", "Bluesky"), ("mastodon", "Mastodon"), ("telegram", "Telegram"),
        ("soundcloud", "SoundCloud"), ("spotify", "Spotify"),
    ]  # fmt: skip
    hosts = [host for provider in PROVIDERS for host in provider.frame_hosts]
    assert len(hosts) == len(set(hosts))


@pytest.mark.parametrize("p", PROVIDERS, ids=lambda provider: provider.key)
def test_iframe_permissions_are_the_least_a_player_needs(p: Provider) -> None:
    """Sandbox tokens never include top navigation, escaping popups, forms or modals; `allow`
    names only media features; the shape is one the page knows."""
    tokens = p.sandbox.split()
    assert len(tokens) == len(set(tokens))
    assert {"allow-scripts", "allow-same-origin", "allow-popups"} <= set(tokens)
    assert set(tokens) <= {
        "allow-scripts", "allow-same-origin", "allow-popups", "allow-presentation",
    }  # fmt: skip
    assert not any("top-navigation" in token or "escape" in token for token in tokens)
    features = [feature.strip() for feature in p.allow.split(";") if feature.strip()]
    assert set(features) <= {"autoplay", "encrypted-media", "picture-in-picture", "fullscreen"}
    assert p.shape in {"video", "audio", "post"}
    if p.shape == "video":
        assert "allow-presentation" in tokens and "fullscreen" in features
    else:
        assert "allow-presentation" not in tokens and "picture-in-picture" not in features
    if p.shape == "post":
        assert features == ["fullscreen"]


def test_frame_sources_name_every_frame_host_once() -> None:
    """CSP frame-src: exact https origins, no path, no wildcard, in table order."""
    sources = frame_sources()
    assert sources[:2] == ("https://www.youtube-nocookie.com", "https://player.vimeo.com")
    assert len(sources) == len(set(sources))
    assert set(sources) == {host for provider in PROVIDERS for host in provider.frame_hosts}
    for source in sources:
        assert re.fullmatch(r"https://[a-z0-9.-]+", source), source
    assert "https://mastodon.social" in sources and "https://newsie.social" in sources
    assert "https://www.youtube.com" not in sources  # only the no-cookie host can be framed


def test_for_page_gives_the_iframe_attributes_by_key() -> None:
    """The page's JavaScript gets name, allow, sandbox, shape and the frame hosts (it loads a
    stored src only from those) for every provider."""
    page = for_page()
    assert list(page) == [provider.key for provider in PROVIDERS]
    assert page["youtube"] == {
        "name": "YouTube",
        "allow": "autoplay; encrypted-media; picture-in-picture; fullscreen",
        "sandbox": "allow-scripts allow-same-origin allow-popups allow-presentation",
        "shape": "video",
        "hosts": "https://www.youtube-nocookie.com",
    }
    assert page["spotify"]["shape"] == "audio" and page["x"]["shape"] == "post"


# Pasted links


@pytest.mark.parametrize(("pasted", "key", "src"), MATCHES)
def test_a_content_link_becomes_its_embed(pasted: str, key: str, src: str) -> None:
    """Each provider's link forms give the provider's embed URL, built from the IDs."""
    embed = match(pasted)
    assert embed is not None
    assert (embed.provider.key, embed.src) == (key, src)
    assert_sound(pasted, embed)


def test_every_provider_has_two_link_forms_tested() -> None:
    """The examples above cover each provider at least twice."""
    for provider in PROVIDERS:
        assert sum(key == provider.key for _, key, _ in MATCHES) >= 2, provider.key


def test_the_link_is_normalised_to_https() -> None:
    """The placeholder links over https to the lower-cased host, without a default port;
    the rest is kept as pasted."""
    embed = match("  HTTP://WWW.YouTube.COM:80/watch?v=dQw4w9WgXcQ&list=PL1#comments \n")
    assert embed is not None
    assert embed.url == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&list=PL1#comments"
    assert embed.src == YT
    embed = match("https://t.me:443/durov/142")
    assert embed is not None and embed.url == "https://t.me/durov/142"


def test_a_query_parameter_counts_once() -> None:
    """The first `v` is the video, as YouTube reads it; a percent-encoded ID is decoded, then
    checked."""
    first = match("https://www.youtube.com/watch?v=dQw4w9WgXcQ&v=aaaaaaaaaaa")
    assert first is not None and first.src == YT
    encoded = match("https://www.youtube.com/watch?v=dQw4w9WgXc%51")
    assert encoded is not None and encoded.src == YT


@pytest.mark.parametrize("pasted", NOT_CONTENT)
def test_links_that_are_not_one_piece_of_content_are_not_embedded(pasted: str) -> None:
    """Channels, profiles, bare hosts, unlisted instances: no embed (a link card instead)."""
    assert match(pasted) is None


@pytest.mark.parametrize("pasted", LOOKALIKES)
def test_lookalike_links_are_not_embedded(pasted: str) -> None:
    """Hosts are compared exactly: no userinfo, other port, suffix, path trick or other script."""
    assert match(pasted) is None


# Stored embed URLs


@pytest.mark.parametrize(("pasted", "key", "src"), MATCHES)
def test_a_built_src_is_recognised(pasted: str, key: str, src: str) -> None:
    """Every src that match() builds is accepted, as its own provider's."""
    assert provider_of_embed_src(src) is BY_KEY[key]


@pytest.mark.parametrize("src", NOT_EMBED_SRCS)
def test_anything_else_is_not_an_embed_src(src: str) -> None:
    """A wrong-length ID, an extra path or parameter, another host or scheme: not an embed."""
    assert provider_of_embed_src(src) is None


# Anything at all

_SCHEMES = [
    "https://", "http://", "HTTPS://", "https:", "https:/", "https:///", "//", "", "ftp://",
    "javascript:", "javascript://", "java\tscript:", "data:text/html,", " https://", "\x00https://",
]  # fmt: skip
_HOSTS = [
    *sorted(set().union(*LINK_HOSTS.values())),
    "youtube.com.evil.example", "evil.example", "youtube.com@evil.example",
    "evil.example@youtube.com", "user:pw@youtu.be", ":@x.com", "www.youtube.com:8080",
    "www.youtube.com:443", "www.youtube.com:80", "www.youtube.com:", "www.youtube.com:99999",
    "www.youtube.com.", "WWW.YOUTUBE.COM", "you%74ube.com", "ｙoutube.com", "yоutube.com",
    "xn--yutube-wqf.com", "[::1]", "[", "]", "127.0.0.1", "youtube.com\\evil.example",
    "evil.example\\@youtube.com", "mastodon.example", "t.me.", "bsky.app:x",
]  # fmt: skip
_PATHS = [
    "/watch?v=dQw4w9WgXcQ", "/dQw4w9WgXcQ", "/shorts/dQw4w9WgXcQ", "/watch?t=1h2m3s&v=dQw4w9WgXcQ",
    "/watch?v=dQw4w9WgXcQ&t=99h9999m999999s", "/76979871/abcdef1234", "/video/123?h=abcdef1234",
    "/video/x8abcd1_title", "/x8abcd1", "/Reuters/status/1790000000000000000",
    "/p/C7xYzAbCdEf/", "/reel/C7xYzAbCdEf", "/@scout2015/video/6718335390845095173",
    "/watch/?v=1234567890", "/bbcnews/videos/1234567890123456/", "/abCD12_-x/",
    "/profile/bsky.app/post/3l6oveex3ii2l",
    "/profile/did:plc:z72i7hdynmk6r22z27h6tvur/post/3l6oveex3ii2l",
    "/@Gargron/109318821117356215", "/durov/142", "/s/durov/142", "/forss/flickermood",
    "/forss/sets/soulhack", "/track/4uLU6hMCjMI75M1A2tKUQC",
    "/intl-de/album/4uLU6hMCjMI75M1A2tKUQC",
    "/youtube.com/watch?v=dQw4w9WgXcQ", "/%2e%2e/watch?v=dQw4w9WgXcQ", "/watch?v=dQw4w9WgXcQ%22%3E",
    '/watch?v=dQw4w9WgXcQ"><script>', "/watch?v=dQw4w9WgXc\\", "/watch?v=dQw4w9WgXc%0A",
    "/@Gargron/1\u0663", "/p/C7xYzAbCdEf\u200b/",
]  # fmt: skip
_NOISE = ["@", ":", "#", "?", "&", "/", "\\", " ", "\t", "\n", "%", "%00", "%2F", "\u202e", "é",
          "..", "&t=", "?v=", "&h=", "=", "'", '"', "<", ">"]  # fmt: skip


# The real links above, cut at the end of their scheme and of their host.
_REAL = [urlsplit(pasted) for pasted, _, _ in MATCHES]
_REAL_PATHS = [
    pasted[len(f"{real.scheme}://{real.netloc}") :]
    for real, (pasted, _, _) in zip(_REAL, MATCHES, strict=True)
]
_PIECES = [*_SCHEMES, *_HOSTS, *_PATHS, *_NOISE]


def _edit(text: str, edits: list[tuple[int, int, str]]) -> str:
    """`text` with, at each (position, length, piece), `length` characters replaced by `piece`."""
    for at, cut, piece in edits:
        at = at % (len(text) + 1)
        text = text[:at] + piece + text[at + cut :]
    return text


# A real host written another way a browser reads as the same place, and disguises of it.
_SAME_HOST = ["{}", "{}:", "{}:{port}"]
_DISGUISES = [
    "{}:8080", "{}:0", "{}.", "{}.evil.example", "evil.example@{}", "{}@evil.example",
    "user:pw@{}", "@{}", "evil-{}", "evil.example/{}", "{}\\@evil.example", "evil.example\\@{}",
    "{}\\.evil.example", "{}%2F", "{}#@evil.example", "{}?@evil.example", "[{}]", "{}\t",
    " {}", "ｗ{}", "{}\u200b", "{}\u3002", "xn--{}",
]  # fmt: skip
_HOST_FORMS = _SAME_HOST + _DISGUISES
_GOOD_SCHEMES = {"https://": "443", "http://": "80", "HTTPS://": "443", " https://": "443"}


def _disguised(real: int, scheme: str, form: str) -> str:
    """The real link number `real`, under `scheme`, with its host written in `form`."""
    port = _GOOD_SCHEMES.get(scheme, "1")
    return f"{scheme}{form.format(_REAL[real].netloc, port=port)}{_REAL_PATHS[real]}"


def url_like() -> st.SearchStrategy[str]:
    """Strings built from URL pieces: real links under another scheme or a disguised host,
    real links edited at random places, and pieces strung together."""
    disguised = st.builds(
        _disguised,
        st.integers(min_value=0, max_value=len(_REAL) - 1),
        st.one_of(st.sampled_from(["https://", "http://"]), st.sampled_from(_SCHEMES)),
        st.one_of(st.just("{}"), st.sampled_from(_HOST_FORMS)),
    )
    recombined = st.tuples(
        st.sampled_from(_SCHEMES),
        st.sampled_from(_HOSTS),
        st.sampled_from(["", *_NOISE]),
        st.sampled_from(_REAL_PATHS + _PATHS),
    ).map("".join)
    edited = st.builds(
        _edit,
        st.sampled_from([pasted for pasted, _, _ in MATCHES]),
        st.lists(
            st.tuples(
                st.integers(min_value=0, max_value=150),
                st.integers(min_value=0, max_value=3),
                st.one_of(st.sampled_from(_PIECES), st.text(max_size=2)),
            ),
            max_size=2,
        ),
    )
    strung = st.lists(st.one_of(st.sampled_from(_PIECES), st.text(max_size=3)), max_size=8)
    return st.one_of(disguised, recombined, edited, strung.map("".join))


@pytest.mark.parametrize("real", range(len(MATCHES)), ids=lambda real: MATCHES[real][0])
def test_only_the_real_host_over_http_is_embedded(real: int) -> None:
    """Each real link under every scheme and every disguise of its host: embedded when the
    browser would go to the real host over http(s), never otherwise."""
    src = MATCHES[real][2]
    for scheme in _SCHEMES:
        for form in _HOST_FORMS:
            embed = match(_disguised(real, scheme, form))
            if scheme in _GOOD_SCHEMES and form in _SAME_HOST:
                assert embed is not None and embed.src == src, (scheme, form)
            else:
                assert embed is None, (scheme, form)


@examples(500)
@given(st.text())
def test_match_never_raises_on_any_text(text: str) -> None:
    """Any string at all: None, or an embed that keeps every promise."""
    embed = match(text)
    if embed is not None:
        assert_sound(text, embed)


@examples(1500)
@given(url_like())
def test_match_holds_on_url_like_strings(text: str) -> None:
    """Lookalike hosts, userinfo, ports, schemes, encodings, white space and Unicode: an embed
    only for a listed host, and then a sound one."""
    embed = match(text)
    if embed is not None:
        assert_sound(text, embed)


@examples(500)
@given(st.text())
def test_provider_of_embed_src_never_raises(text: str) -> None:
    """Any string at all is either no embed URL or a clean one."""
    provider = provider_of_embed_src(text)
    if provider is not None:
        assert not SRC_FORBIDDEN.search(text)


@examples(1000)
@given(
    st.sampled_from([src for _, _, src in MATCHES]),
    st.integers(min_value=0, max_value=200),
    st.integers(min_value=0, max_value=3),
    st.sampled_from(["", *_NOISE, "a", "0", "/", "%2F", "evil.example", "x" * 300]),
)
def test_an_edited_embed_src_is_exact_or_refused(src: str, at: int, cut: int, insert: str) -> None:
    """A real src with characters cut or added is refused unless it is still exactly an embed
    URL (a different ID, say) from its provider's own frame host."""
    at = min(at, len(src))
    edited = src[:at] + insert + src[at + cut :]
    provider = provider_of_embed_src(edited)
    if provider is not None:
        assert any(edited.startswith(f"{host}/") for host in provider.frame_hosts), edited
        assert not SRC_FORBIDDEN.search(edited), edited
