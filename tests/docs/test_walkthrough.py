"""The README's walkthrough, run as written: each `sh` block in order against a real server, each
plain block after it compared with what that command printed (issue 23: docs that cannot drift).

The commands are the README's own, with three substitutions a reader makes without thinking:
the server's address (a free port here, not 8000), `.venv/bin/` (this test's environment), and
the values the README shows that differ on every run (the epoch, the times), which are compared
by shape. The WebSocket client the README runs "in a third terminal" runs in the background
here; the plain block that shows its terminal is compared with what it has printed by then.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness import ROOT, LiveServer, seconds

README = ROOT / "README.md"
EXAMPLE_HOST = "127.0.0.1:8000"
EPOCH = re.compile(r"\b[0-9a-f]{16}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
# What the websockets client writes around each line to keep its prompt in place.
TERMINAL = re.compile(r"\x1b(?:\[[0-9;]*[A-Za-z]|[78])|\r")


@dataclass
class Block:
    kind: str  # "sh": commands; "out": what the command before printed
    text: str


def walkthrough() -> list[Block]:
    section = README.read_text().split("\n## Walkthrough", 1)[1].split("\n## ", 1)[0]
    return [
        Block("sh" if language == "sh" else "out", body)
        for language, body in re.findall(r"^```(\w*)\n(.*?)^```$", section, re.S | re.M)
    ]


def shape(text: str) -> list[str]:
    """Lines as compared: the epoch and the times made placeholders, terminal codes and the
    client's empty prompt dropped."""
    lines = (TIME.sub("<time>", EPOCH.sub("<epoch>", TERMINAL.sub("", line))).rstrip()
             for line in text.splitlines())  # fmt: skip
    return [line for line in lines if line not in ("", ">")]


@dataclass
class Reader:
    """`python -m websockets URL` in the background, as in the README's third terminal."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    def until(self, count: int) -> None:
        """Wait until it has printed `count` server messages (at most 10 s)."""
        deadline = time.monotonic() + seconds(10)
        while sum(line.startswith("< ") for line in shape("".join(self.lines))) < count:
            if time.monotonic() > deadline:
                return
            time.sleep(0.02)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=seconds(10))
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()

    def stop(self) -> list[str]:
        """Ctrl-D: stdin closes, the client closes the connection and exits."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=seconds(10))
        return shape("".join(self.lines))


class Terminal:
    """The README's second terminal: a shell whose variables (TOKEN) carry over."""

    def __init__(self, server: LiveServer, workdir: Path) -> None:
        self.server = server
        self.variables = workdir / "variables.sh"
        self.variables.write_text("")
        self.env = {
            **os.environ,
            "LIVEBLOG_DATA_DIR": str(server.data_dir),
            "PYTHONUNBUFFERED": "1",
        }
        self.epochs: dict[str, str] = {}  # the README's epoch: this run's

    def command(self, text: str) -> str:
        text = text.replace(f"http://{EXAMPLE_HOST}", self.server.url)
        text = text.replace(f"ws://{EXAMPLE_HOST}", self.server.ws_url)
        text = text.replace(".venv/bin/", f"{Path(sys.executable).parent}/")
        for shown, real in self.epochs.items():
            text = text.replace(shown, real)
        return text

    def run(self, text: str) -> str:
        # allexport: the variables a block sets (TOKEN=…) are kept for the next ones.
        script = (
            f"set -ea\n. {self.variables}\n{self.command(text)}\nexport -p > {self.variables}\n"
        )
        done = subprocess.run(
            ["bash", "-c", script], cwd=ROOT, env=self.env, capture_output=True, text=True,
            timeout=seconds(60),
        )  # fmt: skip
        assert done.returncode == 0, f"{text}\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def reader(self, text: str) -> Reader:
        process = subprocess.Popen(
            ["bash", "-c", f". {self.variables}\nexec {self.command(text)}"],
            cwd=ROOT, env=self.env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        return Reader(process)

    def learn_epoch(self, shown: str, printed: str) -> None:
        """The README's epoch stands for this run's: later commands that name it get ours."""
        theirs, ours = EPOCH.search(shown), EPOCH.search(TERMINAL.sub("", printed))
        if theirs and ours:
            self.epochs[theirs.group(0)] = ours.group(0)


def test_the_readme_walkthrough_runs_as_written(isolated_server: object, tmp_path: Path) -> None:
    blocks = walkthrough()
    assert sum(block.kind == "sh" for block in blocks) >= 8, "the walkthrough lost its commands"
    # A process of its own: the walkthrough reads /metrics, which counts per process.
    server: LiveServer = isolated_server(process=True)  # type: ignore[operator]
    terminal = Terminal(server, tmp_path)
    readers: list[Reader] = []
    raw = ""  # what the last command printed, as printed
    try:
        for block in blocks:
            if block.kind == "sh" and "-m websockets" in block.text:
                if readers:
                    ended = readers[-1].stop()  # the README stops it with Ctrl-D first
                    assert ended[-1] == "Connection closed: 1000 (OK).", ended
                readers.append(terminal.reader(block.text.strip()))
            elif block.kind == "sh":
                raw = terminal.run(block.text)
            else:
                expected = shape(block.text.replace(EXAMPLE_HOST, server.url.split("//")[1]))
                if expected[0].startswith("Connected to"):
                    messages = sum(line.startswith("< ") for line in expected)
                    readers[-1].until(messages)
                    raw = "".join(readers[-1].lines)
                printed = shape(raw)
                assert printed == expected, "\n".join(["printed:", *printed, "README:", *expected])
                terminal.learn_epoch(block.text, raw)
    finally:
        for reader in readers:
            reader.close()
