"""WCAG 2.1 A and AA checks with axe-core, for any page a test has open (reader or console).

axe-core is an npm package, locked in `tests/web/axe/package-lock.json` and installed into
`tests/web/axe/node_modules` by `tests/web/install-axe` (which `make test` runs). When it is
missing, the tests that use it are skipped and say why, except under CI, where they fail.

How axe gets into a page whose Content-Security-Policy is `script-src 'self'` without eval:
`axe_violations()` hands axe's source to `frame.evaluate()`. Playwright sends it over the Chrome
DevTools Protocol, and V8 compiles code the debugger asks it to run whatever the page's policy
says (as in the DevTools console); the page's own scripts stay bound by the policy. A
`<script>` tag (`page.add_script_tag`) is refused by `script-src 'self'`, and eval from a
timer or promise is refused too; axe's own run uses neither, so nothing else is needed. Chosen
over the alternatives because it checks the document the test has in front of it, after its
scripts and live updates have run, in the test's own context (cookies, session, viewport, colour
scheme) and under the policy the app really sends:

- a context with `bypass_csp=True` would load a second copy of the page, without the test's
  state, and with the policy (part of what is under test) switched off;
- `add_init_script(path=...)` only applies to documents loaded after it, so every caller
  would have to add it before `goto()`, and axe would be present while the page's scripts run.

The one visible trace: `window.axe` is defined in the page (and its frames) from then on.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TypedDict

import pytest
from playwright.async_api import Page

AXE_DIR = Path(__file__).resolve().parent / "axe"
AXE_SCRIPT = AXE_DIR / "node_modules" / "axe-core" / "axe.min.js"
# WCAG 2.0 and 2.1, levels A and AA: the rules axe tags with these, and no best practices.
WCAG_21_AA = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")


class Node(TypedDict):
    target: str  # a CSS selector; " >>> " between the parts inside frames or shadow roots
    summary: str  # axe's "Fix any of the following: ...", with measured values


class Violation(TypedDict):
    id: str  # the rule, e.g. "color-contrast"
    impact: str | None  # "minor", "moderate", "serious" or "critical"
    help: str
    help_url: str
    nodes: list[Node]


def _locked_version() -> str:
    lock = json.loads((AXE_DIR / "package-lock.json").read_text())
    version: str = lock["packages"]["node_modules/axe-core"]["version"]
    return version


@functools.cache
def _axe_source() -> str:
    """axe-core's browser script, once it is installed at the locked version."""
    version = _locked_version()
    installed = AXE_SCRIPT.parent / "package.json"
    found = json.loads(installed.read_text())["version"] if installed.exists() else None
    if found != version:
        problem = "not installed" if found is None else f"{found} installed"
        message = f"axe-core {version} is needed, {problem} (run tests/web/install-axe)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return AXE_SCRIPT.read_text()


# Runs in the page: axe on the whole document (minus `exclude`), violations only, returned in
# the shape of `Violation`.
RUN_AXE = """
async ([exclude, tags]) => {
  const context = exclude.length ? { exclude: exclude.map((selector) => [selector]) } : document;
  const results = await axe.run(context, {
    runOnly: { type: "tag", values: tags },
    resultTypes: ["violations"],
  });
  const selector = (target) => target.map((part) => [part].flat().join(" >>> ")).join(" >>> ");
  return results.violations.map((violation) => ({
    id: violation.id,
    impact: violation.impact,
    help: violation.help,
    help_url: violation.helpUrl,
    nodes: violation.nodes.map((node) => ({
      target: selector(node.target),
      summary: node.failureSummary || "",
    })),
  }));
}
"""


async def axe_violations(page: Page, *, exclude: Sequence[str] = ()) -> list[Violation]:
    """Run axe-core's WCAG 2.1 A and AA rules on the page's current document.

    Args:
        page: a page that has loaded what is to be checked; wait for it to settle first (live
            connection up, content rendered), since axe checks the document as it is now.
        exclude: CSS selectors of parts to leave out, such as content from another site.

    Returns:
        The violations, empty when axe finds none. axe also reports checks it could not
        decide ("incomplete", e.g. contrast over an image); those are not returned.

    Skips the test when axe-core is not installed, or fails it under CI.
    """
    source = _axe_source()
    version = _locked_version()
    for frame in page.frames:
        if not frame.is_detached() and await frame.evaluate("globalThis.axe?.version") != version:
            await frame.evaluate(source)
    violations: list[Violation] = await page.evaluate(RUN_AXE, [list(exclude), list(WCAG_21_AA)])
    return violations


def describe(violations: Sequence[Violation]) -> str:
    """The violations as lines a person can act on: rule, impact, help, then each element."""
    lines: list[str] = []
    for violation in violations:
        lines.append(f"{violation['id']} ({violation['impact']}): {violation['help']}")
        lines.append(f"  {violation['help_url']}")
        for node in violation["nodes"]:
            summary = " ".join(node["summary"].split())
            lines.append(f"  - {node['target']}: {summary}")
    return "\n".join(lines)


async def assert_accessible(page: Page, *, exclude: Sequence[str] = ()) -> None:
    """Fail with the list of violations if axe finds any on the page (see `axe_violations`)."""
    violations = await axe_violations(page, exclude=exclude)
    assert not violations, (
        f"{len(violations)} WCAG 2.1 AA rule(s) violated on {page.url} "
        f"(axe-core {_locked_version()}):\n{describe(violations)}"
    )
