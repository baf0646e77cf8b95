"""The services' one permission check: the domain's table (domain/policy.py) asked before
anything is looked up, a refusal raised as a 403 that says what is missing."""

from __future__ import annotations

from app.domain.policy import Action, refusal
from app.domain.principal import Principal
from app.errors import Forbidden


def require(by: Principal, action: Action, slug: str | None = None) -> None:
    """Raises Forbidden unless `by` may do `action` (in liveblog `slug`)."""
    refused = refusal(by, action, slug)
    if refused is not None:
        raise Forbidden(refused.detail, extra=refused.extra)
