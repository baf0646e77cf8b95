"""The README's walkthrough, run as written: each `sh` block in order against a real server, each
plain block after it compared with what that command printed (issue 23: docs that cannot drift).

The commands are the README's own, run by tests/docs/session.py's Terminal as docs/'s examples
are, with three substitutions a reader makes without thinking: the server's address (a free
port here, not 8000), `.venv/bin/` (this test's environment), and the values the README shows
that differ on every run (the epoch, the times), which are compared by shape. The WebSocket
client the README runs "in a third terminal" runs in the background here; the plain block that
shows its terminal is compared with what it has printed by then.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.docs.session import EPOCH, EXAMPLE_HOST, TIME, Block, Reader, Terminal, blocks, clean
from tests.harness import ROOT, LiveServer

README = ROOT / "README.md"


def walkthrough() -> list[Block]:
    return [
        block for block in blocks(README.read_text()) if block.section.startswith("Walkthrough")
    ]


def shape(text: str) -> list[str]:
    """Lines as compared: the epoch and the times made placeholders, terminal codes and the
    client's empty prompt dropped."""
    lines = (TIME.sub("<time>", EPOCH.sub("<epoch>", line)).rstrip()
             for line in clean(text).splitlines())  # fmt: skip
    return [line for line in lines if line not in ("", ">")]


def test_the_readme_walkthrough_runs_as_written(isolated_server: object, tmp_path: Path) -> None:
    found = walkthrough()
    assert sum(block.language == "sh" for block in found) >= 8, "the walkthrough lost its commands"
    # A process of its own: the walkthrough reads /metrics, which counts per process.
    server: LiveServer = isolated_server(process=True)  # type: ignore[operator]
    terminal = Terminal(
        tmp_path,
        env={"LIVEBLOG_DATA_DIR": str(server.data_dir)},
        cwd=ROOT,
        substitutions=[
            (re.escape(f"http://{EXAMPLE_HOST}"), server.url),
            (re.escape(f"ws://{EXAMPLE_HOST}"), server.ws_url),
        ],
    )
    readers: list[Reader] = []
    raw = ""  # what the last command printed, as printed
    try:
        for block in found:
            if block.language == "sh" and "-m websockets" in block.text:
                if readers:
                    ended = shape(readers[-1].stop())  # the README stops it with Ctrl-D first
                    assert ended[-1] == "Connection closed: 1000 (OK).", ended
                readers.append(terminal.reader(block.text.strip()))
            elif block.language == "sh":
                raw = terminal.run(block.text)
            else:
                expected = shape(block.text.replace(EXAMPLE_HOST, server.url.split("//")[1]))
                if expected[0].startswith("Connected to"):
                    raw = readers[-1].until(sum(line.startswith("< ") for line in expected))
                printed = shape(raw)
                assert printed == expected, "\n".join(["printed:", *printed, "README:", *expected])
                terminal.learn(block.text, raw)
    finally:
        for reader in readers:
            reader.close()
