"""promtool, Debian's, for the checks of deploy/ (fetched by tests/ops/install-promtool)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.harness import ROOT, seconds


def _promtool_path() -> Path:
    path = Path(os.environ.get("LIVEBLOG_TEST_PROMTOOL", ".venv/bin/promtool"))
    return path if path.is_absolute() else ROOT / path


@pytest.fixture(scope="session")
def promtool() -> Path:
    """The promtool binary; missing, the test is skipped, or fails under CI=true."""
    path = _promtool_path()
    if not os.access(path, os.X_OK):
        message = f"promtool not found at {path} (make test fetches it: tests/ops/install-promtool)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}; CI=true requires it")
        pytest.skip(message)
    return path


def run_promtool(promtool: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool, *args], capture_output=True, text=True, timeout=seconds(30), check=False
    )
