"""The browser fixtures of tests/web, for the console tests that drive Chromium."""

from tests.web.conftest import artifacts, browser  # noqa: F401
