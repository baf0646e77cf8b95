"""Every shell example in docs/*.md, run as written against real servers, and what it printed
compared by shape (tests/docs/shapes.py) with what the docs show after it (issue 23: docs that
cannot drift).

A shell block is a ```sh (bash, console, …) block or one with `$ ` prompts. Each is run, in the
order of its `## ` section, by one test per section, unless a `<!-- not-run: REASON -->` comment
right above it says why it cannot run here (a deployment across hosts, a command that runs this
suite); nothing is skipped without a reason. What a block prints is compared with the untagged
or `json` block right after it, under the same heading; a block the docs show no output for must
print nothing. In a `$ ` transcript, each command's output is the lines up to the next `$ `.

Each section runs from a directory of its own, as a reader's shell would: a Liveblog server with
its database in `./data` (in this process: tests/harness.py's LiveServer) and, as the README's
walkthrough leaves them, `$TOKEN` (an admin token named newsroom) and the liveblog `summit` with
two entries. The server's address is a free loopback port, not 8000. `liveblog serve` in an
example runs in the background until the section ends, and must answer `/readyz`; before
`liveblog restore` and `liveblog copy`, which need it stopped, the section's servers stop. The
examples on PostgreSQL and Redis use tests/services.py's (a database of their own, with a name
of their own; a Redis channel of their own). A command that asks for a password gets one.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.docs.session import EXAMPLE_HOST, Block, Reader, Terminal, blocks
from tests.docs.shapes import differences, lines
from tests.harness import ROOT, LiveServer, create_token, free_port, seconds
from tests.services import asyncpg_dsn, unavailable

DOCS = ROOT / "docs"
SERVE = re.compile(r"\bliveblog serve\b")
STOPS_THE_SERVER = re.compile(r"\bliveblog (?:restore|copy)\b")
TOOLS = {"curl": "curl", "jq": "jq", "psql": "postgresql-client"}  # what examples run: package
PASSWORD = "correct horse battery staple"
PROMPTS = {"Password: ": PASSWORD, "Password again: ": PASSWORD}


def documented() -> dict[str, list[Block]]:
    return {path.name: blocks(path.read_text()) for path in sorted(DOCS.glob("*.md"))}


def runnable(block: Block) -> bool:
    return block.shell and block.not_run is None


def sections() -> list[tuple[str, str]]:
    """Every (doc, `## ` section) with a shell block to run, in the docs' order."""
    return list(
        dict.fromkeys(
            (doc, block.section)
            for doc, found in documented().items()
            for block in found
            if runnable(block)
        )
    )


@dataclass(frozen=True)
class Needs:
    server: bool = True  # the section's server, `$TOKEN` and `summit` (see the module's doc)
    services: bool = False  # PostgreSQL and Redis


NEEDS = {
    ("console.md", "The editor's console"): Needs(server=False),
    ("operations.md", "Configuration"): Needs(server=False),
    ("operations.md", "Running at scale"): Needs(services=True),
}


class Section:
    """One section's examples played in order in one terminal, and what they started."""

    def __init__(self, workdir: Path, needs: Needs, request: pytest.FixtureRequest) -> None:
        self.workdir = workdir
        self.data = workdir / "data"
        self.server = LiveServer(self.data) if needs.server else None
        self.port = self.server.port if self.server else free_port()
        self.served: list[subprocess.Popen[bytes]] = []
        self.starting: list[tuple[str, str, subprocess.Popen[bytes], Path]] = []
        self.readers: list[Reader] = []
        self.databases: list[str] = []  # on the PostgreSQL server of admin_url
        self.admin_url = ""
        env = {"LIVEBLOG_DATA_DIR": str(self.data), "LIVEBLOG_PORT": str(self.port)}
        substitutions = [(re.escape(EXAMPLE_HOST), f"127.0.0.1:{self.port}")]
        if needs.services:
            substitutions += self._services(request, env)
        self.terminal = Terminal(workdir, env=env, substitutions=substitutions)

    def _services(
        self, request: pytest.FixtureRequest, env: dict[str, str]
    ) -> list[tuple[str, str]]:
        """The PostgreSQL and Redis of tests/services.py for the examples' local ones, and
        free ports for the two servers of the scale-out demo (8001 and 8002)."""
        self.admin_url = request.getfixturevalue("postgres_admin_url")
        redis_url = request.getfixturevalue("redis_url")
        admin = make_url(self.admin_url)
        if admin.password:
            env["PGPASSWORD"] = admin.password
        env["LIVEBLOG_BROKER_CHANNEL"] = f"liveblog-docs-{uuid.uuid4().hex[:12]}"
        suffix = uuid.uuid4().hex[:12]
        copy, demo = f"docs_copy_{suffix}", f"docs_demo_{suffix}"
        self.databases = [copy, demo]
        base = admin.set(database="").render_as_string(hide_password=False).rstrip("/")
        first, second = free_port(), free_port()
        return [
            (r"postgresql\+asyncpg://postgres@127\.0\.0\.1:5432/liveblog_demo\b", f"{base}/{demo}"),
            (r"postgresql\+asyncpg://postgres@127\.0\.0\.1:5432/liveblog\b", f"{base}/{copy}"),
            (r"psql -h 127\.0\.0\.1 -U postgres\b",
             f"psql -h {admin.host} -p {admin.port or 5432} -U {admin.username}"),
            (r"\bDATABASE liveblog_demo\b", f"DATABASE {demo}"),
            (r"\bDATABASE liveblog\b", f"DATABASE {copy}"),
            (r"redis://127\.0\.0\.1:6379/0", redis_url),
            (r"\bliveblog-demo\b", f"liveblog-docs-demo-{suffix}"),
            (r"(?<=127\.0\.0\.1:)8001\b|(?<=--port )8001\b", str(first)),
            (r"(?<=127\.0\.0\.1:)8002\b|(?<=--port )8002\b", str(second)),
        ]  # fmt: skip

    # -- set-up and tear-down

    def __enter__(self) -> Section:
        if self.server is not None:
            self.server.start()
            self._walkthrough(self.server)
        return self

    def _walkthrough(self, server: LiveServer) -> None:
        token = create_token(self.data, "newsroom", env=server.env)
        self.terminal.export("TOKEN", token)
        with httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=seconds(10)
        ) as client:
            created = client.post(
                "/api/liveblogs",
                json={"slug": "summit", "title": "Summit: live updates",
                      "description": "Leaders meet in Geneva."},
            )  # fmt: skip
            assert created.status_code == 201, created.text
            for title in ("Leaders arrive", "Talks postponed"):
                posted = client.post(
                    "/api/liveblogs/summit/entries",
                    json={"title": title, "body": f"<p>{title}.</p>", "author": "Desk"},
                )
                assert posted.status_code == 201, posted.text

    def __exit__(self, *exc: object) -> None:
        for reader in self.readers:
            reader.close()
        self.starting.clear()
        self.stop_servers()
        for name in self.databases:
            asyncio.run(_drop_database(self.admin_url, name))

    def stop_servers(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        for process in self.served:
            if process.poll() is None:
                process.terminate()
                try:
                    process.wait(timeout=seconds(15))
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
        self.served.clear()

    # -- the examples

    def play(self, section: list[Block]) -> int:
        """Run the section's shell blocks in order, comparing what each printed with what the
        docs show; how many shell blocks ran."""
        ran = 0
        pending: tuple[Block, str] | None = None  # a block run, and what it printed
        previous: Block | None = None
        for index, block in enumerate(section):
            if block.shell:
                self._nothing_more(pending)
                pending = None
                if block.not_run is None:
                    following = section[index + 1] if index + 1 < len(section) else None
                    shows = following.text if following and _output(following, block) else ""
                    pending = self._run(block, shows)
                    ran += 1
            elif block.text.startswith("Connected to") and self.readers:
                shown = self.terminal.substitute(block.text)
                wanted = sum(line.startswith("< ") for line in lines(shown))
                self._compare(block, shown, self.readers[-1].until(wanted))
            elif pending is not None and previous is pending[0] and _output(block, pending[0]):
                self._compare(block, self.terminal.substitute(block.text), pending[1])
                pending = None
            previous = block
        self._nothing_more(pending)
        self._await()
        return ran

    def _run(self, block: Block, shows: str) -> tuple[Block, str] | None:
        """Run a shell block (`shows`: the output the docs show after it)."""
        self._await(block.text)
        if STOPS_THE_SERVER.search(block.text):
            self._await()
            self.stop_servers()
        if block.prompted:
            self._transcript(block)
            return None
        if "-m websockets" in block.text:
            # Another terminal: its reader has said hello before the next command is typed.
            self.readers.append(self.terminal.reader(block.text.strip()))
            hello = self.readers[-1].until(1)
            assert self.readers[-1].messages() == 1, f"{block.text}printed:\n{hello}"
            return None
        printed = ""
        commands: list[str] = []
        for line in block.text.splitlines():
            command = line.split("#", 1)[0].strip()
            if SERVE.search(command):  # in the background, as in a terminal of its own
                printed += self._commands(commands, shows)
                self._serve(command)
                commands = []
            else:
                commands.append(line)
        return block, printed + self._commands(commands, shows)

    def _commands(self, commands: list[str], shows: str) -> str:
        if not any(line.strip() and not line.lstrip().startswith("#") for line in commands):
            return ""
        asks = {line.rstrip() for line in shows.splitlines()} & {p.rstrip() for p in PROMPTS}
        answers = PROMPTS if asks else None
        return self.terminal.run("\n".join(commands), answers=answers)

    def _transcript(self, block: Block) -> None:
        """`$ command` lines, each followed by what it prints; the commands may fail."""
        for command in re.split(r"^\$ ", block.text, flags=re.M)[1:]:
            line, _, shown = command.partition("\n")
            printed = self.terminal.run(line, check=False)
            self._compare(block, self.terminal.substitute(shown), printed, command=line)

    def _serve(self, command: str) -> None:
        """Start `liveblog serve`; it is waited for when a later example names its port (a
        server not named again is waited for at the section's end): servers start together."""
        log = self.workdir / f"serve-{len(self.served)}.log"
        self.served.append(self.terminal.spawn(command, log))
        port = re.search(r"--port (\d+)", self.terminal.command(command))
        self.starting.append((port[1] if port else str(self.port), command, self.served[-1], log))

    def _await(self, text: str | None = None) -> None:
        """Wait for the servers still starting that `text` talks to (all of them: None)."""
        for started in list(self.starting):
            if text is None or f"127.0.0.1:{started[0]}" in self.terminal.command(text):
                self._ready(*started)
                self.starting.remove(started)

    def _ready(self, port: str, command: str, process: subprocess.Popen[bytes], log: Path) -> None:
        """A server an example started answers /readyz."""
        url = f"http://127.0.0.1:{port}/readyz"
        deadline = time.monotonic() + seconds(30)
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url, timeout=1).status_code == 200:
                    return
            assert process.poll() is None, f"{command} exited:\n{log.read_text()}"
            assert time.monotonic() < deadline, f"{command} not ready in 30 s:\n{log.read_text()}"
            time.sleep(0.05)

    def _compare(self, block: Block, shown: str, printed: str, command: str = "") -> None:
        problems = differences(shown, printed)
        where = f"docs at line {block.line} ({block.heading}) {command}"
        assert not problems, f"{where}:\n" + "\n".join(problems)
        self.terminal.learn(shown, printed)

    def _nothing_more(self, pending: tuple[Block, str] | None) -> None:
        if pending is not None:
            block, printed = pending
            assert not lines(printed), (
                f"docs at line {block.line} show no output, but it printed:\n{printed}"
            )


def _output(block: Block, after: Block) -> bool:
    """An untagged or json block right after a shell block, under the same heading: what that
    block printed."""
    return (
        not block.shell
        and block.language in ("", "json", "text")
        and block.heading == after.heading
    )


async def _drop_database(admin_url: str, name: str) -> None:
    connection = await asyncpg.connect(asyncpg_dsn(admin_url), timeout=5)
    try:
        await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await connection.close()


def _cases() -> list[object]:
    """One test per section; those on PostgreSQL and Redis start servers of their own: slow."""
    return [
        pytest.param(
            doc,
            title,
            id=f"{doc}-{title}".replace(" ", "-"),
            marks=[pytest.mark.slow] if NEEDS.get((doc, title), Needs()).services else [],
        )
        for doc, title in sections()
    ]


@pytest.mark.parametrize(("doc", "title"), _cases())
def test_the_examples_run_as_documented(
    doc: str, title: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    found = [block for block in documented()[doc] if block.section == title]
    for tool, package in TOOLS.items():
        used = any(re.search(rf"\b{tool}\b", block.text) for block in found if runnable(block))
        if used and shutil.which(tool) is None:
            unavailable(f"{doc}'s examples run {tool} (Debian package {package})")
    with Section(tmp_path, NEEDS.get((doc, title), Needs()), request) as playing:
        ran = playing.play(found)
    assert ran == sum(runnable(block) for block in found) > 0


def test_every_shell_block_is_run_or_says_why_not() -> None:
    """Nothing is skipped silently: a block is run (it is in a section above), or marked with
    its reason; a marker stands right above a shell block; every fence is seen."""
    for doc, found in documented().items():
        text = (DOCS / doc).read_text()
        fences = sum(line.startswith("```") for line in text.splitlines())
        assert fences == 2 * len(found), f"{doc}: a fence this test does not read"
        assert text.count("not-run:") == sum(b.not_run is not None for b in found), (
            f"{doc}: a <!-- not-run: … --> comment that is not right above a block"
        )
        for block in found:
            if block.not_run is not None:
                assert block.shell, f"{doc}:{block.line}: not-run marks a block that is not shell"
                assert len(block.not_run) >= 20, f"{doc}:{block.line}: say why it is not run"
    assert set(NEEDS) <= set(sections()), "NEEDS names a section with no example to run"
