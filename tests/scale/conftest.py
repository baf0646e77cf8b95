"""Scale-out: several servers sharing a database and a broker. Each runs as a process of its own,
as in production: what these tests check is what crosses between processes, and some of them
kill a process or cut one off from Redis."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.harness import LiveServer


@pytest.fixture
def isolated_server(isolated_server: Callable[..., LiveServer]) -> Callable[..., LiveServer]:
    def start(**settings: Any) -> LiveServer:
        return isolated_server(**{"process": True, **settings})

    return start
