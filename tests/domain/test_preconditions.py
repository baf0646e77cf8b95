"""If-Match parsing and matching on its own: bare versions, versions of an epoch, `*`."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from app.domain.preconditions import IfMatch, etag
from app.errors import BadRequest
from app.services.writes import parse_if_match


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


# What an If-Match header can carry: any visible ASCII and spaces (HTTP's field-value), mostly
# near the shape of a tag list, so that both well-formed and broken ones come up.
HEADER_TEXT = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=80)
TAG_LIKE = st.lists(
    st.tuples(st.sampled_from(["", "W/"]), HEADER_TEXT.filter(lambda t: '"' not in t)).map(
        lambda weak_value: f'{weak_value[0]}"{weak_value[1]}"'
    ),
    max_size=4,
).map(", ".join)


@given(header=st.one_of(HEADER_TEXT, TAG_LIKE))
def test_any_header_is_a_precondition_or_a_400(header: str) -> None:
    """Whatever a client sends as If-Match (the API's PATCH/DELETE, every console change) is
    either parsed or refused as a 400 that says what to send: never another error."""
    try:
        parsed = parse_if_match(header)
    except BadRequest as refused:
        assert "If-Match" in refused.detail
        return
    assert parsed is not None
    assert parsed.matches(1, "aaaa") in (True, False)
    if header.strip() == "*":
        assert parsed.any
