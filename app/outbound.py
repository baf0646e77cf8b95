"""Requests Liveblog makes to other sites (a link's preview now, webhooks later), made so that
no journalist or tool can aim them at the newsroom's own network.

A URL a user gives could name the cloud's metadata service (169.254.169.254), a database on the
private network, or this machine: server-side request forgery. So every request here:

- resolves the host itself and refuses it when any address is loopback, private, link-local,
  shared (CGNAT), multicast, reserved or unspecified (IPv4-mapped IPv6 judged as the IPv4), unless
  LIVEBLOG_OUTBOUND_ALLOW_PRIVATE is true (tests, an intranet install);
- connects to the address it checked, not to a second lookup's answer (no DNS rebinding), with
  the host name kept for the Host header and for TLS (SNI and certificate checks);
- follows at most a few redirects itself, each checked the same way;
- gives up after a short time, and reads at most a given number of bytes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import SplitResult, urljoin, urlsplit, urlunsplit

import httpx

REDIRECTS = 3
USER_AGENT = "Liveblog link preview (+https://github.com/liveblog)"
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Beyond what `is_global` excludes: nothing here is reachable from the public internet.
_NEVER = (ipaddress.ip_network("100.64.0.0/10"),)


class OutboundRefused(Exception):
    """The URL may not be fetched (its address, scheme or port); `str()` says why."""


class OutboundFailed(Exception):
    """The site could not be reached or did not answer usably; `str()` says what happened."""


@dataclass(frozen=True, slots=True)
class Fetched:
    url: str  # after redirects
    content_type: str
    body: bytes


def refusal(address: IPAddress) -> str | None:
    """Why `address` may not be reached from here, or None when it is a public one."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    for kind in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified"):
        if getattr(address, f"is_{kind}"):
            return f"{address} is a {kind.replace('_', '-')} address"
    if any(address in network for network in _NEVER) or not address.is_global:
        return f"{address} is not a public address"
    return None


class Outbound:
    def __init__(
        self,
        *,
        allow_private: bool = False,
        timeout: float = 5.0,
        also_allowed: Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network] = (),
    ) -> None:
        self._allow_private = allow_private
        self._also_allowed = tuple(also_allowed)  # for tests: one loopback server, say
        self._timeout = timeout

    async def get(self, url: str, *, max_bytes: int, accept: str = "*/*") -> Fetched:
        """GET `url` (following checked redirects), at most `max_bytes` of its body.

        Raises OutboundRefused (a URL or address not allowed) or OutboundFailed (no answer in
        time, an error status, a body over `max_bytes`)."""
        try:
            async with asyncio.timeout(self._timeout):
                return await self._follow(url, max_bytes, accept)
        except TimeoutError:
            raise OutboundFailed(
                f"{_site(url)} did not answer within {self._timeout:g} s"
            ) from None

    async def _follow(self, url: str, max_bytes: int, accept: str) -> Fetched:
        for _ in range(REDIRECTS + 1):
            parts = _checked_url(url)
            host = parts.hostname or ""
            address = await self._address(host, parts.port or _default_port(parts.scheme))
            target = urlunsplit(parts._replace(netloc=_netloc(address, parts.port)))
            headers = {"Host": parts.netloc.rsplit("@", 1)[-1], "User-Agent": USER_AGENT,
                       "Accept": accept}  # fmt: skip
            async with httpx.AsyncClient(follow_redirects=False, timeout=self._timeout) as client:
                request = client.build_request(
                    "GET", target, headers=headers, extensions={"sni_hostname": host}
                )
                try:
                    response = await client.send(request, stream=True)
                except httpx.HTTPError as error:
                    raise OutboundFailed(f"{host} could not be reached ({error})") from None
                try:
                    if response.is_redirect and "location" in response.headers:
                        url = urljoin(url, response.headers["location"])
                        continue
                    if response.status_code != 200:
                        raise OutboundFailed(f"{host} answered {response.status_code}")
                    body = await _read(response, max_bytes, host)
                finally:
                    await response.aclose()
            return Fetched(url, response.headers.get("content-type", ""), body)
        raise OutboundFailed(f"more than {REDIRECTS} redirects")

    async def _address(self, host: str, port: int) -> IPAddress:
        """The address to connect to: every address the name has must be allowed."""
        try:
            found = await asyncio.get_running_loop().getaddrinfo(
                host, port, type=socket.SOCK_STREAM
            )
        except (socket.gaierror, UnicodeError) as error:
            raise OutboundFailed(f"{host} could not be found ({error})") from None
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
        if not addresses:
            raise OutboundFailed(f"{host} has no address")
        if not self._allow_private:
            for address in addresses:
                if any(address in network for network in self._also_allowed):
                    continue
                if (why := refusal(address)) is not None:
                    raise OutboundRefused(f"{host} is refused: {why}")
        return addresses[0]


def _checked_url(url: str) -> SplitResult:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise OutboundRefused("not a valid URL") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise OutboundRefused("only http and https URLs are fetched")
    if parts.username is not None or parts.password is not None:
        raise OutboundRefused("URLs with a user name or password are not fetched")
    # The web's ports, or any unprivileged one; not mail, SSH and the like on a public host.
    if port is not None and port < 1024 and port not in (80, 443):
        raise OutboundRefused(f"port {port} is not fetched")
    return parts


def _default_port(scheme: str) -> int:
    return 443 if scheme == "https" else 80


def _netloc(address: IPAddress, port: int | None) -> str:
    shown = f"[{address}]" if address.version == 6 else str(address)
    return f"{shown}:{port}" if port else shown


def _site(url: str) -> str:
    try:
        return urlsplit(url).hostname or "the site"
    except ValueError:
        return "the site"


async def _read(response: httpx.Response, max_bytes: int, host: str) -> bytes:
    body = bytearray()
    async for chunk in response.aiter_bytes():
        body += chunk
        if len(body) > max_bytes:
            raise OutboundFailed(f"{host} sent more than {max_bytes} bytes")
    return bytes(body)
