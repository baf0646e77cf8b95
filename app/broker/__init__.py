"""Carries committed events to every process's hub. Chosen by LIVEBLOG_BROKER_URL.

- memory:// (default): this process only; publish hands the event straight to the local hub.
- redis://: many processes (arrives with the scale-out work).
"""

from __future__ import annotations

from app.broker.base import Broker, Deliver
from app.broker.memory import MemoryBroker
from app.errors import LiveblogError


class BrokerConfigError(LiveblogError):
    pass


def create_broker(url: str) -> Broker:
    """Build the broker for `url`, importing its backend only when it is used."""
    scheme = url.split("://", 1)[0].lower()
    if scheme == "memory":
        return MemoryBroker()
    raise BrokerConfigError(
        f"Unsupported LIVEBLOG_BROKER_URL scheme {scheme!r}: this version supports memory:// only."
    )


__all__ = ["Broker", "BrokerConfigError", "Deliver", "MemoryBroker", "create_broker"]
