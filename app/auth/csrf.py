"""Cross-site request forgery: every cookie-authenticated write proves it comes from the console.

Two checks, both required:
- the request's `Origin` is the console's own origin (or, without an Origin, `Sec-Fetch-Site`
  says same-origin). SameSite=Lax alone is not enough: a page on another port of the same host
  is same-site, so the browser would send it the cookie;
- the request carries the session's CSRF token (`X-CSRF-Token`, or a `csrf_token` form field),
  compared in constant time. A page elsewhere can neither read it nor guess it.
A request with neither Origin nor Sec-Fetch-Site is refused: every browser that can run the
console sends one of them on a POST.
"""

from __future__ import annotations

import hmac

from app.errors import Forbidden

CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"


def check_origin(origin: str | None, fetch_site: str | None, expected: str) -> None:
    """Raises Forbidden unless the request comes from a page of `expected` (an origin)."""
    if origin is not None and origin != "null":
        if origin.rstrip("/").lower() != expected:
            raise Forbidden(
                f"This request comes from a page at {origin}, not from the console at "
                f"{expected}; it was refused (cross-site request forgery protection)."
            )
        return
    if fetch_site != "same-origin":
        raise Forbidden(
            "This request does not say which page sent it (no Origin header); the console's "
            "writes must come from the console's own pages."
        )


def check_token(sent: str | None, expected: str) -> None:
    """Raises Forbidden unless `sent` is the session's CSRF token."""
    if not sent or not hmac.compare_digest(sent.encode(), expected.encode()):
        raise Forbidden(
            "The console's security token is missing or out of date; reload the page and try again."
        )
