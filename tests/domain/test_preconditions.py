"""If-Match parsing and matching on its own: bare versions, versions of an epoch, `*`."""

from __future__ import annotations

import pytest

from app.domain.preconditions import IfMatch, etag


def test_etag_names_the_epoch() -> None:
    assert etag(3, "9f2c41d07ab85e16") == '"3.9f2c41d07ab85e16"'
    assert etag(3, None) == '"3"'  # drafts: no epoch


def test_a_tag_with_an_epoch_matches_that_epoch_only() -> None:
    tags = IfMatch.parse('"3.aaaa", W/"4.aaaa", "5"')
    assert tags.matches(3, "aaaa")
    assert not tags.matches(3, "bbbb")  # the same version in another history
    assert not tags.matches(3, None)
    assert not tags.matches(4, "aaaa")  # weak: never
    assert tags.matches(5, "anything") and tags.matches(5, None)  # bare: any epoch


def test_star_and_odd_tags() -> None:
    assert IfMatch.parse("*").matches(7, "cccc")
    odd = IfMatch.parse('"3.", ".aaaa", "x.aaaa", "12345678901234567890.aaaa"')
    assert not any(odd.matches(v, e) for v in (3, 12345678901234567890) for e in ("aaaa", ""))


@pytest.mark.parametrize("header", ["3", '"3', "", '"3" "4"'])
def test_malformed_headers_are_refused(header: str) -> None:
    with pytest.raises(ValueError):
        IfMatch.parse(header)
