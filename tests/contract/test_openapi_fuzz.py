"""The HTTP contract, fuzzed: schemathesis against the served /openapi.json, every check, all four
phases, on SQLite and PostgreSQL. Its settings (and the statuses valid input may legitimately
get) are in schemathesis.toml at the repository's root."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.harness import ROOT, LiveServer, create_token, seconds, untraced

pytestmark = pytest.mark.slow


def schemathesis() -> list[str]:
    found = shutil.which("schemathesis", path=str(Path(sys.executable).parent))
    if found is None:
        pytest.fail("schemathesis is not installed (make test installs the test extras)")
    return [found]


@pytest.mark.timeout(300)
def test_the_served_contract_holds_under_fuzzing(
    isolated_server: Callable[..., LiveServer], database: dict[str, str], tmp_path: Path
) -> None:
    """No 5xx, every response as documented, valid input accepted and invalid input refused."""
    server = isolated_server(**database)
    token = create_token(server.data_dir, env=server.env)
    result = subprocess.run(
        [
            *schemathesis(),
            "--no-color",
            "run",
            f"{server.url}/openapi.json",
            "--checks",
            "all",
            # See schemathesis.toml: GET …/revisions of a deleted entry is 200 by design.
            "--exclude-checks",
            "use_after_free",
            "--phases",
            "examples,coverage,fuzzing,stateful",
            "--workers",
            "1",
        ],
        cwd=ROOT,
        env=untraced({**os.environ, "LIVEBLOG_FUZZ_TOKEN": token, "SCHEMATHESIS_HOOKS": ""}),
        capture_output=True,
        text=True,
        timeout=seconds(280),
        check=False,
    )
    report = result.stdout[-6000:] + result.stderr[-2000:]
    assert result.returncode == 0, report
    assert " passed" in result.stdout, report
    assert "Traceback" not in server.log(), server.log()[-4000:]
