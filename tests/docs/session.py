"""What the tests of documented examples share: the README's walkthrough
(tests/docs/test_walkthrough.py) and every shell example in docs/ (tests/docs/test_examples.py).

`blocks` reads a markdown file's fenced blocks with the heading each sits under and the reason
a block is not run (`<!-- not-run: REASON -->` just above it). `Terminal` is the reader's shell:
its variables carry over from block to block, the example's addresses become the test's, and a
value the docs show that differs on every run (an epoch, a date) is learnt from what a command
printed, so that a later command copying the shown value gets this run's. `Reader` is the
WebSocket client a walkthrough runs "in another terminal", in the background.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.harness import seconds

EXAMPLE_HOST = "127.0.0.1:8000"
BIN = Path(sys.executable).parent  # where `.venv/bin/` is for this test run
EPOCH = re.compile(r"\b[0-9a-f]{16}\b")
TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
DATE = re.compile(r"\b\d{4}-\d\d-\d\d\b")
# What the websockets client writes around each line to keep its prompt in place, and the
# carriage returns of a terminal's line ends.
TERMINAL = re.compile(r"\x1b(?:\[[0-9;]*[A-Za-z]|[78])|\r")

SHELLS = frozenset({"sh", "bash", "shell", "console", "zsh"})
FENCE = re.compile(r"^```(?P<language>[\w-]*)[ \t]*\n(?P<body>.*?)^```[ \t]*$", re.S | re.M)
HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*$", re.M)
NOT_RUN = re.compile(r"<!--\s*not-run:(?P<reason>(?:(?!-->).)*)-->\s*\Z", re.S)


@dataclass(frozen=True)
class Block:
    language: str  # as tagged: "sh", "json", "" (untagged), …
    text: str
    line: int  # of its opening fence, from 1
    section: str  # the `## ` heading it is under ("" before the first)
    heading: str  # the nearest heading above it, of any level
    not_run: str | None  # the reason of a `<!-- not-run: … -->` right above it

    @property
    def prompted(self) -> bool:
        """Commands after `$ `, each followed by what it prints (a terminal transcript)."""
        return any(line.startswith("$ ") for line in self.text.splitlines())

    @property
    def shell(self) -> bool:
        return self.language in SHELLS or self.prompted


def blocks(markdown: str) -> list[Block]:
    """The fenced blocks of a markdown text, in order (headings inside blocks are not headings)."""
    found: list[Block] = []
    section = heading = ""
    position = 0
    for match in FENCE.finditer(markdown):
        between = markdown[position : match.start()]
        for level, title in HEADING.findall(between):
            heading = title
            if len(level) == 2:
                section = title
        marker = NOT_RUN.search(between)
        found.append(
            Block(
                language=match["language"],
                text=match["body"],
                line=markdown.count("\n", 0, match.start()) + 1,
                section=section,
                heading=heading,
                not_run=marker["reason"].strip() if marker else None,
            )
        )
        position = match.end()
    return found


def clean(text: str) -> str:
    """What a terminal shows: no cursor codes, no carriage returns."""
    return TERMINAL.sub("", text)


def _unique(values: Sequence[str]) -> list[str]:
    return list(dict.fromkeys(values))


@dataclass
class Reader:
    """`python -m websockets URL` in the background, as a walkthrough's other terminal."""

    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    _arrived: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            with self._arrived:
                self.lines.append(line)
                self._arrived.notify_all()

    def messages(self) -> int:
        return sum(line.startswith("< ") for line in clean("".join(self.lines)).splitlines())

    def until(self, count: int) -> str:
        """What it has printed once it has printed `count` server messages (or after 10 s)."""
        with self._arrived:
            self._arrived.wait_for(lambda: self.messages() >= count, timeout=seconds(10))
            return "".join(self.lines)

    def stop(self) -> str:
        """Ctrl-D: stdin closes, the client closes the connection and exits. All it printed."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=seconds(10))
        return "".join(self.lines)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=seconds(10))
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None and not stream.closed:
                stream.close()


# A terminal for commands that ask for a password: getpass reads the controlling terminal,
# which pty.spawn's child has (and which the test process, with its server threads, should not
# fork for itself).
_PTY = "import os, pty, sys; sys.exit(os.waitstatus_to_exitcode(pty.spawn(sys.argv[1:])))"


class Terminal:
    """The reader's shell. Each block runs in a fresh `bash` that first reads the variables the
    blocks before it set (allexport: `TOKEN=…` is kept), in `cwd`, with `env` over this process's
    environment and `.venv/bin` first on PATH. What it prints is standard output and standard
    error together, as on a terminal.

    `substitutions` turn the example's values into the test's (patterns, as `re.sub` takes
    them): its server's address, its database's. The docs' `.venv/bin/` is this test run's, and
    a shown epoch or date learnt with `learn` is this run's.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        env: Mapping[str, str],
        cwd: Path | None = None,
        substitutions: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.workdir = workdir
        self.cwd = cwd or workdir
        self.variables = workdir / "variables.sh"
        self.variables.write_text("")
        self.env = {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
            **env,
        }
        self.substitutions = [(re.compile(shown), real) for shown, real in substitutions]
        self.learnt: dict[str, str] = {}

    def substitute(self, text: str) -> str:
        """The example's values replaced by the test's (not the learnt ones)."""
        for shown, real in self.substitutions:
            text = shown.sub(real.replace("\\", "\\\\"), text)
        return text

    def command(self, text: str) -> str:
        text = self.substitute(text.replace(".venv/bin/", f"{BIN}/"))
        for shown, real in self.learnt.items():
            text = text.replace(shown, real)
        return text

    def export(self, name: str, value: str) -> None:
        """Set a variable as a block before would have."""
        with self.variables.open("a") as variables:
            variables.write(f"export {name}={_quoted(value)}\n")

    def _script(self, text: str, *, check: bool) -> str:
        return (
            f"set -a{'e' if check else ''}\n. {self.variables}\n{self.command(text)}\n"
            f"export -p > {self.variables}\n"
        )

    def run(
        self, text: str, *, check: bool = True, answers: Mapping[str, str] | None = None
    ) -> str:
        """Run a block (`check`: it must succeed); what it printed. `answers`: a block that asks
        (a password) runs on a terminal of its own, and each prompt it shows gets its answer."""
        if answers:
            return self._converse(self._script(text, check=check), answers, text)
        # A session of its own, so that a command that never ends goes with everything it started.
        process = subprocess.Popen(
            ["bash", "-c", self._script(text, check=check)],
            cwd=self.cwd, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True,
        )  # fmt: skip
        try:
            printed, _ = process.communicate(timeout=seconds(60))
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            printed, _ = process.communicate()
            raise AssertionError(f"{text}\ndid not end within 60 s:\n{printed}") from None
        assert not check or process.returncode == 0, (
            f"{text}\nexit {process.returncode}:\n{printed}"
        )
        return printed

    def _converse(self, script: str, answers: Mapping[str, str], text: str) -> str:
        process = subprocess.Popen(
            [sys.executable, "-c", _PTY, "bash", "-c", script],
            cwd=self.cwd, env=self.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )  # fmt: skip
        assert process.stdin is not None and process.stdout is not None
        printed = bytearray()
        changed = threading.Condition()

        def read() -> None:
            assert process.stdout is not None
            while chunk := os.read(process.stdout.fileno(), 4096):
                with changed:
                    printed.extend(chunk)
                    changed.notify_all()
            with changed:
                changed.notify_all()

        reading = threading.Thread(target=read, daemon=True)
        reading.start()
        prompt = re.compile("|".join(re.escape(shown) for shown in answers))

        def asked(after: int) -> re.Match[str] | None:
            """The first prompt shown after the first `after` characters printed."""
            return prompt.search(printed.decode(errors="replace"), after)

        def waited(after: int) -> bool:
            return asked(after) is not None or not reading.is_alive()

        answered = 0
        try:
            while True:
                with changed:
                    changed.wait_for(functools.partial(waited, answered), timeout=seconds(30))
                    question = asked(answered)
                if question is None:
                    break
                answered = question.end()
                process.stdin.write(f"{answers[question.group(0)]}\n".encode())
                process.stdin.flush()
            status = process.wait(timeout=seconds(30))
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
            process.stdin.close()
        reading.join(timeout=seconds(10))
        process.stdout.close()
        output = printed.decode(errors="replace")
        assert status == 0, f"{text}\nexit {status}:\n{output}"
        return output

    def spawn(self, text: str, log: Path) -> subprocess.Popen[bytes]:
        """A long-running command (`liveblog serve`) in the background, its output to `log`."""
        with log.open("ab") as output:
            return subprocess.Popen(
                ["bash", "-c", f"set -a\n. {self.variables}\nexec {self.command(text)}"],
                cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL, stdout=output,
                stderr=subprocess.STDOUT,
            )  # fmt: skip

    def reader(self, text: str) -> Reader:
        process = subprocess.Popen(
            ["bash", "-c", f". {self.variables}\nexec {self.command(text)}"],
            cwd=self.cwd, env=self.env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        return Reader(process)

    def learn(self, shown: str, printed: str) -> None:
        """The epochs and dates the docs show stand for this run's, in the order printed: later
        commands that name them (an ETag, a backup's file name) get ours."""
        printed = clean(printed)
        for pattern in (EPOCH, DATE):
            theirs = _unique(pattern.findall(self.substitute(shown)))
            ours = _unique(pattern.findall(printed))
            if len(theirs) == len(ours):
                for their, our in zip(theirs, ours, strict=True):
                    self.learnt.setdefault(their, our)


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "'\\''") + "'"
