"""Accounts in a real browser: an admin manages a user on the users page, and a journalist
changes their own password on "Your account". Every outcome is told in the page, by the form
(no native dialog: `Browsing` fails the test on one), and both pages pass axe.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.harness import PASSWORD, ConsoleClient, LiveServer, create_user, unique_username
from tests.web.console_pages import Browsing
from tests.web.test_console import check_page

NEW_PASSWORD = "a new and longer passphrase"


@dataclass(frozen=True)
class Crew:
    admin: str  # "Ines Admin", made with the CLI
    managed: str  # an editor the admin manages, "Rosa Reporter"
    owner: str  # a contributor who changes their own password, "Owen Owner"


@pytest.fixture(scope="module")
async def crew(server: LiveServer) -> Crew:
    admin = await asyncio.to_thread(create_user, server, "admin", display_name="Ines Admin")
    made = []
    async with ConsoleClient(server) as client:
        assert (await client.sign_in(admin)).status_code == 303
        for role, name in (("editor", "Rosa Reporter"), ("contributor", "Owen Owner")):
            username = unique_username(role)
            response = await client.post(
                "/console/users",
                {"username": username, "display_name": name, "role": role, "password": PASSWORD},
            )
            assert response.status_code == 201, response.text
            made.append(username)
        disabled = await client.post(f"/console/users/{made[0]}/disable")
        assert disabled.status_code == 200, disabled.text
    return Crew(admin, *made)


async def signs_in(server: LiveServer, username: str, password: str) -> bool:
    async with ConsoleClient(server) as client:
        return (await client.sign_in(username, password)).status_code == 303


async def test_an_admin_enables_changes_the_role_of_and_sets_a_password_for_a_user(
    browsing: Browsing, crew: Crew, server: LiveServer, artifacts: Path
) -> None:
    """Enable, Change role and Set password each say in the user's row what they did; a weak
    password's refusal shows there as an alert; the page passes axe with it showing."""
    admin = await browsing.sign_in(crew.admin)
    await admin.get_by_role("link", name="Users").click()
    await expect(admin.get_by_role("heading", name="Users", exact=True)).to_be_visible()
    name = crew.managed
    row = admin.locator(f'tr[data-user="{name}"]')
    told = admin.locator(f'tr[data-user-message="{name}"]')
    await expect(row.get_by_role("cell", name="Disabled")).to_be_visible()

    await admin.get_by_role("button", name=f"Enable {name}").click()
    await expect(told.get_by_role("status")).to_have_text(f"{name} may sign in again.")
    await expect(row.get_by_role("cell", name="Active")).to_be_visible()
    await expect(admin.get_by_role("button", name=f"Disable {name}")).to_be_focused()

    await admin.get_by_label(f"Role for {name}").select_option("contributor")
    await admin.get_by_role("button", name=f"Change role of {name}").click()
    await expect(told.get_by_role("status")).to_have_text(f"{name} is now a contributor.")

    password = admin.get_by_label(f"New password for {name}")
    set_password = admin.get_by_role("button", name=f"Set password for {name}")
    await password.fill("short")
    await set_password.click()
    await expect(told.get_by_role("alert")).to_have_text("A password needs at least 10 characters.")
    await expect(told.get_by_role("status")).to_be_hidden()
    await check_page(admin, artifacts, "users-managing")

    await password.fill(NEW_PASSWORD)
    await set_password.click()
    await expect(told.get_by_role("status")).to_have_text(
        f"New password set for {name}; they were signed out everywhere."
    )
    await expect(told.get_by_role("alert")).to_be_hidden()
    await expect(password).to_have_value("")
    assert await signs_in(server, name, NEW_PASSWORD)

    await admin.get_by_role("button", name=f"Disable {name}").click()
    await expect(told.get_by_role("status")).to_have_text(
        f"{name} is disabled and signed out everywhere."
    )
    await expect(row.get_by_role("cell", name="Disabled")).to_be_visible()
    await expect(admin.get_by_role("button", name=f"Enable {name}")).to_be_focused()

    # The new-user form tells its refusals in the page too.
    form = admin.locator("[data-new-user]")
    await form.get_by_label("Username").fill(name)
    await form.get_by_label("Password").fill(NEW_PASSWORD)
    await admin.get_by_role("button", name="Create user").click()
    await expect(form.get_by_role("alert")).to_have_text(f"The username {name!r} is taken.")


async def test_your_account_changes_your_password_and_signs_you_out_elsewhere(
    browsing: Browsing, crew: Crew, server: LiveServer, artifacts: Path
) -> None:
    """A wrong current password and a confirmation that differs are each told by the form; the
    right ones change the password, this page stays signed in, the other device does not."""
    elsewhere = await browsing.sign_in(crew.owner)
    page = await browsing.sign_in(crew.owner)
    await page.get_by_role("link", name="Your account").click()
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await check_page(page, artifacts, "account")

    current = page.get_by_label("Current password", exact=True)
    new = page.get_by_label("New password", exact=True)
    confirm = page.get_by_label("Confirm new password", exact=True)
    change = page.get_by_role("button", name="Change password")
    alert = page.get_by_role("alert")

    await current.fill("not my password")
    await new.fill(NEW_PASSWORD)
    await confirm.fill(NEW_PASSWORD)
    await change.click()
    await expect(alert).to_have_text("Your current password is not right, so nothing was changed.")

    await current.fill(PASSWORD)
    await confirm.fill(NEW_PASSWORD + "!")
    await change.click()
    await expect(alert).to_have_text(
        "The new password and its confirmation differ; type them again."
    )
    await expect(confirm).to_be_focused()
    await check_page(page, artifacts, "account-refused", screenshot=False)

    await confirm.fill(NEW_PASSWORD)
    await change.click()
    await expect(page.get_by_role("status")).to_have_text(
        "Your password is changed. You stay signed in here; your 1 other session was signed out."
    )
    await expect(alert).to_be_hidden()
    await expect(current).to_have_value("")
    await still_signed_in(page)
    await elsewhere.reload()
    await expect(elsewhere.get_by_role("button", name="Sign in")).to_be_visible()
    assert await signs_in(server, crew.owner, NEW_PASSWORD)


async def still_signed_in(page: Page) -> None:
    await page.reload()
    await expect(page.get_by_role("heading", name="Your account")).to_be_visible()
    await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
