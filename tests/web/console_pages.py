"""The console as a person uses it, for the browser tests: the people of the shared server and
`Browsing`, the browser contexts of one test, each watched for CSP violations, script errors and
native dialogs. The fixtures (`people`, `browsing`) are in conftest.py."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from playwright.async_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Dialog,
    Page,
    ViewportSize,
    WebError,
    expect,
)

from tests.harness import PASSWORD, LiveServer

PHONE = ViewportSize(width=390, height=844)
DESKTOP = ViewportSize(width=1280, height=900)


@dataclass(frozen=True)
class People:
    """Console users of the shared server, made once per test session through the CLI."""

    editor: str  # display name "Alex Morgan"
    rival: str  # a second editor, "Sam Rivera"
    contributor: str  # "Chris Lee"
    admin: str  # "Pat Okafor"


class Browsing:
    """The browser contexts one test opens, each watched; all closed when the test ends."""

    def __init__(self, browser: Browser, server: LiveServer) -> None:
        self.browser = browser
        self.server = server
        self.contexts: list[BrowserContext] = []
        # Chromium reports a CSP violation as a console error ("Refused to … because it
        # violates the following Content Security Policy directive: …").
        self.csp_violations: list[str] = []
        self.script_errors: list[str] = []
        self.dialogs: list[str] = []
        # Types of native dialog a test expects and answers itself ("beforeunload": leaving a
        # console page with unsaved work asks first).
        self.expected_dialogs: set[str] = set()

    async def page(self, viewport: ViewportSize = DESKTOP, **options: Any) -> Page:
        """A page in a new context (its own cookies): another person, another device."""
        context = await self.browser.new_context(
            viewport=viewport,
            locale="en-US",
            reduced_motion="reduce",  # no fading highlight under axe's contrast check
            **options,
        )
        self.contexts.append(context)
        context.on("console", self._console)
        context.on("weberror", self._error)
        context.on("dialog", self._dialog)
        return await context.new_page()

    def _console(self, message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            where = message.page.url if message.page else "?"
            self.csp_violations.append(f"{where}: {message.text}")

    def _error(self, error: WebError) -> None:
        self.script_errors.append(f"{error.page.url if error.page else '?'}: {error.error}")

    async def _dialog(self, dialog: Dialog) -> None:
        # The console confirms in the page; a native alert/confirm/prompt is a failure.
        if dialog.type in self.expected_dialogs:
            return
        self.dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    async def sign_in(self, username: str, **options: Any) -> Page:
        """A new context signed in through the sign-in form; left on the console's home."""
        page = await self.page(**options)
        await page.goto(f"{self.server.url}/console")
        await page.get_by_label("Username").fill(username)
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        return page

    async def workspace(self, page: Page, slug: str) -> Page:
        """`page` on the liveblog's workspace, its console socket connected."""
        await page.goto(f"{self.server.url}/console/liveblogs/{slug}")
        await expect(page.locator("[data-conn]")).to_have_attribute("data-state", "live")
        return page

    async def reader(self, slug: str) -> Page:
        """The public page of the liveblog in a context of its own, live."""
        page = await self.page()
        await page.goto(f"{self.server.url}/liveblogs/{slug}")
        await expect(page.locator("[data-lb-conn]")).to_have_attribute("data-state", "live")
        return page

    def assert_clean(self) -> None:
        assert not self.csp_violations, "CSP violations:\n" + "\n".join(self.csp_violations)
        assert not self.script_errors, "script errors:\n" + "\n".join(self.script_errors)
        assert not self.dialogs, "native dialogs:\n" + "\n".join(self.dialogs)

    async def close(self) -> None:
        for context in self.contexts:
            await context.close()
