"""Carries committed events to every process's hub. Chosen by LIVEBLOG_BROKER_URL.

- memory:// (default): this process only; publish hands the event straight to the local hub.
- redis:// or rediss://: many processes and hosts, through Redis pub/sub (broker/redis.py).
"""

from __future__ import annotations

from app.broker.base import Broker, Deliver, LinkChanged
from app.broker.memory import MemoryBroker
from app.errors import LiveblogError


class BrokerConfigError(LiveblogError):
    pass


def create_broker(url: str, channel: str = "liveblog") -> Broker:
    """Build the broker for `url`, importing its backend only when it is used. `channel` names
    this installation's events on a shared broker."""
    scheme = url.split("://", 1)[0].lower()
    if scheme == "memory":
        return MemoryBroker()
    if scheme in ("redis", "rediss"):
        from app.broker.redis import RedisBroker

        return RedisBroker(url, channel)
    raise BrokerConfigError(
        f"Unsupported LIVEBLOG_BROKER_URL scheme {scheme!r}: use memory:// (one process) or "
        "redis://host:port/db (many processes)."
    )


__all__ = [
    "Broker",
    "BrokerConfigError",
    "Deliver",
    "LinkChanged",
    "MemoryBroker",
    "create_broker",
]
