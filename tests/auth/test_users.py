"""`UserAccounts` on SQLite and PostgreSQL: the console never loses its last enabled admin, even
to two admins acting at the same instant (PostgreSQL's writers do not queue as SQLite's do)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from app.auth import passwords
from app.auth.users import User, UserAccounts
from app.domain.principal import Principal, Role
from app.errors import Conflict
from app.storage.db import Database

PASSWORD = "correct horse battery staple"
ROUNDS = 5  # each round a fresh pair: an interleaving that loses would show in one of them


@pytest.fixture
def unbounded_password_checks() -> Iterator[passwords.PasswordChecks]:
    """This test process hashes dozens of passwords in a second, more than a server's default
    rate lets through (app/auth/passwords.py): no per-second limit here."""
    checks = passwords.PasswordChecks(concurrent=2, queue=64, per_second=0)
    yield checks
    checks.close()


@pytest.fixture
async def accounts(
    database_url: str, unbounded_password_checks: passwords.PasswordChecks
) -> AsyncIterator[UserAccounts]:
    db = Database(database_url)
    try:
        yield UserAccounts(db, checks=unbounded_password_checks)
    finally:
        await db.dispose()


async def admins(accounts: UserAccounts) -> list[User]:
    return [u for u in await accounts.list() if u.role is Role.ADMIN and not u.disabled]


@pytest.mark.parametrize("change", ["demote", "disable"])
async def test_two_admins_turning_on_each_other_at_once_leave_one(
    accounts: UserAccounts, change: str
) -> None:
    """Each of the only two admins demotes (or disables) the other at once: exactly one wins,
    the other gets a Conflict, and one enabled admin is left, round after round."""
    for round_ in range(ROUNDS):
        first, second = await asyncio.gather(
            *(accounts.create(f"{name}{change}{round_}", PASSWORD, Role.ADMIN) for name in "ab")
        )
        for user in await admins(accounts):  # the previous round's winner steps aside
            if user.id not in (first.id, second.id):
                await accounts.set_role(user.username, Role.EDITOR)

        async def turn(on: User, by: User) -> None:
            admin = Principal.user(by.id, by.display_name, by.role)
            if change == "demote":
                await accounts.set_role(on.username, Role.EDITOR, by=admin)
            else:
                await accounts.disable(on.username, by=admin)

        results = await asyncio.gather(
            turn(second, by=first), turn(first, by=second), return_exceptions=True
        )
        assert sorted(type(r).__name__ for r in results) == ["Conflict", "NoneType"], results
        assert all(r is None or isinstance(r, Conflict) for r in results)
        left = await admins(accounts)
        assert len(left) == 1 and left[0].id in (first.id, second.id), left
