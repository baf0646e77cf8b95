"""The uvicorn internals that app/serving/direct.py and app/serving/http_protocol.py build on.

Both files subclass uvicorn's own protocol classes, which are not uvicorn's public API: they
override its methods and call them through super(), copy one of them, and read and write its
per-connection state. So pyproject.toml keeps uvicorn within one minor series (BOUND), the lock
pins one release, and these tests check, against the uvicorn installed, every class, method and
attribute the two files touch:

- each method they override, call or copy exists, is sync or async as expected, and takes the
  same parameters;
- each attribute they read or write is still set by uvicorn, in the method named here;
- every name of uvicorn's classes that the two files use is listed here (so a new use of an
  internal cannot slip past this file), and no name they add collides with one of uvicorn's;
- the source of each uvicorn method they rely on is unchanged (comments and blank lines aside),
  since a method can keep its signature and still change what direct.py depends on.

When one fails after a uvicorn upgrade: read the new uvicorn code it names against the file that
relies on it, fix that file, update RELIANCES and FINGERPRINTS here, then move the uvicorn bound in
pyproject.toml and BOUND below together (and `make lock`).
"""

from __future__ import annotations

import ast
import asyncio
import dataclasses
import inspect
import logging
import textwrap
import tomllib
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.protocols.utils import ClientDisconnected
from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from uvicorn.server import ServerState
from websockets.frames import Frame
from websockets.server import ServerProtocol

import app.serving.direct
import app.serving.http_protocol
from app.serving.direct import DirectWebSocketProtocol
from app.serving.http_protocol import DeadlineHttpProtocol
from tests.internals import fingerprint

ROOT = Path(__file__).resolve().parent.parent
DIRECT = "app/serving/direct.py"
HTTP = "app/serving/http_protocol.py"

# The uvicorn releases whose internals the entries below were checked against (pyproject.toml).
BOUND = SpecifierSet(">=0.54,<0.55")


@dataclass(frozen=True)
class Method:
    """A method of `owner` that `user` overrides, calls or copies."""

    owner: type
    name: str
    params: tuple[str, ...]  # after self
    is_async: bool
    user: str
    why: str


@dataclass(frozen=True)
class Attribute:
    """Per-connection state of `owner` that `user` reads or writes, set by uvicorn in `set_in`."""

    owner: type
    name: str
    set_in: str
    kind: type | tuple[type, ...] | None  # what it holds right after __init__, if set there
    user: str
    why: str


def _ws(name: str, params: tuple[str, ...], why: str, *, is_async: bool = False) -> Method:
    return Method(WebSocketsSansIOProtocol, name, params, is_async, DIRECT, why)


def _ws_state(name: str, set_in: str, kind: type | tuple[type, ...] | None, why: str) -> Attribute:
    return Attribute(WebSocketsSansIOProtocol, name, set_in, kind, DIRECT, why)


def _http(name: str, params: tuple[str, ...], why: str) -> Method:
    return Method(HttpToolsProtocol, name, params, False, HTTP, why)


PROTOCOL_INIT = ("config", "server_state", "app_state", "_loop")

RELIANCES: list[Method | Attribute] = [
    # app/serving/direct.py: DirectWebSocketProtocol(WebSocketsSansIOProtocol).
    _ws("__init__", PROTOCOL_INIT, "overridden: passes *args, **kwargs to super(), adds its state"),
    _ws(
        "handle_connect",
        ("event",),
        "overridden: after super(), offers the DirectSink in "
        "scope['extensions'] before the ASGI task it created has run",
    ),
    _ws("pause_writing", (), "overridden: mirrors uvicorn's `writable` as `can_write`"),
    _ws("resume_writing", (), "overridden: mirrors `writable`, then wakes the hub"),
    _ws("shutdown", (), "overridden: after uvicorn's 1012, cuts a reader that does not drain"),
    _ws("connection_lost", ("exc",), "overridden: tells the hub a detached reader is gone"),
    _ws("handle_text", ("event",), "overridden: charged to the reader's send budget first"),
    _ws("handle_bytes", ("event",), "overridden: charged to the reader's send budget first"),
    _ws("handle_cont", ("event",), "overridden: charged to the reader's send budget first"),
    _ws("handle_ping", (), "overridden: charged to the reader's send budget first"),
    _ws("handle_pong", ("event",), "overridden: charged to the reader's send budget first"),
    _ws(
        "handle_events",
        (),
        "calls the handle_* methods above: the budget sees only what it dispatches",
    ),
    _ws("send_receive_event_to_app", (), "overridden: discards messages of a detached reader"),
    _ws(
        "send",
        ("message",),
        "overridden: refuses to send after close_now; close_now copies "
        "its `websocket.close` branch",
        is_async=True,
    ),
    _ws("receive", (), "handed to the app by the copy of run_asgi", is_async=True),
    _ws(
        "run_asgi",
        (),
        "copied (not called): a detached connection stays open when the app returns",
        is_async=True,
    ),
    _ws("send_500_response", (), "called by the copy of run_asgi"),
    _ws("handle_close", ("event",), "cancels close_now's close_timer when the peer answers"),
    _ws("send_keepalive_ping", (), "keeps pinging a detached reader; stops once close_sent"),
    _ws_state("loop", "__init__", asyncio.AbstractEventLoop, "timers and the budget's clock"),
    _ws_state("logger", "__init__", logging.Logger, "the copy of run_asgi logs with it"),
    _ws_state("app", "__init__", None, "the copy of run_asgi calls it"),
    _ws_state(
        "transport",
        "connection_made",
        None,
        "frames are written to it directly; "
        "write, abort, close, is_closing, pause_reading, resume_reading",
    ),
    _ws_state(
        "queue",
        "__init__",
        asyncio.Queue,
        "close_now puts websocket.disconnect on it; "
        "replaced by a discarding stand-in once detached",
    ),
    _ws_state(
        "conn",
        "__init__",
        ServerProtocol,
        "close_now frames the close with send_close and data_to_send",
    ),
    _ws_state(
        "handshake_initiated",
        "handle_connect",
        bool,
        "handle_connect: was it a WebSocket request at all",
    ),
    _ws_state("handshake_complete", "__init__", bool, "the copy of run_asgi"),
    _ws_state(
        "initial_response",
        "__init__",
        type(None),
        "the copy of run_asgi: a refusal sent as an HTTP response",
    ),
    _ws_state("close_sent", "__init__", bool, "no write after a close; set by close_now"),
    _ws_state("disconnected", "__init__", bool, "no write to a connection that is gone"),
    _ws_state(
        "read_paused",
        "__init__",
        bool,
        "close_now and detach resume or pause reading as uvicorn does",
    ),
    _ws_state(
        "close_timer",
        "__init__",
        type(None),
        "close_now arms it; the copy of run_asgi leaves the transport open while it runs",
    ),
    _ws_state("frames", "__init__", list, "emptied for a detached reader"),
    _ws_state(
        "scope",
        "handle_connect",
        None,
        "the DirectSink goes in scope['extensions']; dropped once detached",
    ),
    _ws_state("request", "handle_connect", None, "dropped once detached"),
    _ws_state(
        "response",
        "handle_connect",
        None,
        "handle_connect reads response.status_code; dropped once detached",
    ),
    # app/serving/http_protocol.py: DeadlineHttpProtocol(HttpToolsProtocol).
    _http(
        "__init__",
        PROTOCOL_INIT,
        "overridden: keeps *args, **kwargs for super(), called only once connection_made admits "
        "the opening; adds its request timer",
    ),
    _http(
        "connection_made",
        ("transport",),
        "overridden: closes a reset or over-budget opening before uvicorn's set-up (its "
        "__init__ and connection_made); counts the connection, answers 503 at the cap, starts "
        "the request deadline",
    ),
    _http(
        "connection_lost",
        ("exc",),
        "overridden: not passed on for a refused opening (uvicorn never set it up); counts the "
        "connection out",
    ),
    _http("handle_websocket_upgrade", (), "overridden: an upgraded socket is counted out"),
    _http(
        "on_message_begin",
        (),
        "overridden (httptools callback): a request's first byte starts the deadline",
    ),
    _http(
        "on_message_complete",
        (),
        "overridden (httptools callback): head and body are in, the deadline stops",
    ),
    _http(
        "on_response_complete",
        (),
        "overridden (the cycle's callback): idle again, the deadline restarts",
    ),
    Attribute(
        HttpToolsProtocol,
        "transport",
        "connection_made",
        None,
        HTTP,
        "closed at the deadline or to make room",
    ),
    Attribute(
        HttpToolsProtocol,
        "loop",
        "__init__",
        asyncio.AbstractEventLoop,
        HTTP,
        "the deadline's timer",
    ),
    Attribute(
        HttpToolsProtocol,
        "cycle",
        "on_headers_complete",
        None,
        HTTP,
        "on_response_complete: is a pipelined request still running",
    ),
    Attribute(
        RequestResponseCycle,
        "response_complete",
        "__init__",
        None,
        HTTP,
        "on_response_complete reads cycle.response_complete",
    ),
    # The websockets sans-I/O connection behind `conn` (close_now).
    Method(
        ServerProtocol,
        "send_close",
        ("code", "reason"),
        False,
        DIRECT,
        "close_now frames its close with it",
    ),
    Method(ServerProtocol, "data_to_send", (), False, DIRECT, "close_now writes what it returns"),
]

# Per uvicorn method relied on: a digest of its source, comments and blank lines left out
# (tests/internals.py: `fingerprint`), taken from uvicorn FINGERPRINTS_FROM.
FINGERPRINTS_FROM = "0.54.0"
FINGERPRINTS = {
    "HttpToolsProtocol.__init__": "4947356efe5ffb64",
    "HttpToolsProtocol.connection_lost": "f3757183d8484706",
    "HttpToolsProtocol.connection_made": "03ef626d5f0a7092",
    "HttpToolsProtocol.handle_websocket_upgrade": "2020d3d6517350f4",
    "HttpToolsProtocol.on_message_begin": "2e8f33c11a6cc652",
    "HttpToolsProtocol.on_message_complete": "2d1dcb5c69d3d12a",
    "HttpToolsProtocol.on_response_complete": "c76bd2c26f84fc67",
    "WebSocketsSansIOProtocol.__init__": "f03ad418dadad26c",
    "WebSocketsSansIOProtocol.connection_lost": "1f05ca23c6deed26",
    "WebSocketsSansIOProtocol.handle_bytes": "d110da2240944035",
    "WebSocketsSansIOProtocol.handle_close": "8a5be674e0dc1971",
    "WebSocketsSansIOProtocol.handle_connect": "d7dbf079acf70ee7",
    "WebSocketsSansIOProtocol.handle_cont": "e822c6d377ab91c8",
    "WebSocketsSansIOProtocol.handle_events": "851d1ac457516a4f",
    "WebSocketsSansIOProtocol.handle_ping": "e79ed27b3e0652ac",
    "WebSocketsSansIOProtocol.handle_pong": "fea1685a5b7c8d3c",
    "WebSocketsSansIOProtocol.handle_text": "8e284203b3d09de5",
    "WebSocketsSansIOProtocol.pause_writing": "eff6181d8ee2fae2",
    "WebSocketsSansIOProtocol.receive": "5cbbc370ced69d36",
    "WebSocketsSansIOProtocol.resume_writing": "9b765f48a8fcd0a6",
    "WebSocketsSansIOProtocol.run_asgi": "622632164a9e71c6",
    "WebSocketsSansIOProtocol.send": "16523bd9474d4fa8",
    "WebSocketsSansIOProtocol.send_500_response": "d0034d0f477255b5",
    "WebSocketsSansIOProtocol.send_keepalive_ping": "17f44334ff380a08",
    "WebSocketsSansIOProtocol.send_receive_event_to_app": "e43f41bda7f004bb",
    "WebSocketsSansIOProtocol.shutdown": "b65de7c649d5a34e",
}

# Liveblog's subclass of each uvicorn class, and the module it lives in.
SUBCLASSES = {
    WebSocketsSansIOProtocol: (DirectWebSocketProtocol, app.serving.direct, DIRECT),
    HttpToolsProtocol: (DeadlineHttpProtocol, app.serving.http_protocol, HTTP),
}


def _advice(user: str, package: str = "uvicorn") -> str:
    return (
        f"{user} relies on it. With {package} {version(package)} installed: re-check {user} "
        f"against this {package}, fix it, update tests/test_uvicorn_internals.py, then move the "
        f"{package} bound in pyproject.toml (and BOUND here) and run `make lock`."
    )


def _id(reliance: Method | Attribute) -> str:
    return f"{reliance.owner.__name__}.{reliance.name}"


def _self_assignments(function: Any) -> set[str]:
    """Names assigned as `self.<name> = …` in `function`'s source."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for part in ast.walk(target):
                if (
                    isinstance(part, ast.Attribute)
                    and isinstance(part.value, ast.Name)
                    and part.value.id == "self"
                ):
                    names.add(part.attr)
    return names


def _functions(cls: type) -> dict[str, Any]:
    """The functions `cls` itself defines (not inherited), classmethods unwrapped."""
    found = {}
    for name, member in vars(cls).items():
        if isinstance(member, classmethod | staticmethod):
            member = member.__func__
        if inspect.isfunction(member):
            found[name] = member
    return found


def _names(cls: type) -> set[str]:
    """Every name an instance of `cls` has: its attributes, and what its methods assign."""
    names = set(dir(cls))
    for klass in cls.__mro__:
        if klass.__module__.startswith("uvicorn."):
            for function in _functions(klass).values():
                names |= _self_assignments(function)
    return names


_MISSING = object()


async def _trivial_app(scope: Any, receive: Any, send: Any) -> None:
    pass


def _config(**options: Any) -> Config:
    # No log_config: uvicorn would otherwise reconfigure this process's logging.
    return Config(_trivial_app, log_config=None, **options)


def test_uvicorn_bound_is_the_one_checked_here() -> None:
    """pyproject.toml's uvicorn bound is BOUND, and the installed uvicorn is within it."""
    with (ROOT / "pyproject.toml").open("rb") as file:
        dependencies = tomllib.load(file)["project"]["dependencies"]
    (uvicorn,) = [r for r in map(Requirement, dependencies) if r.name == "uvicorn"]
    assert uvicorn.specifier == BOUND, (
        f"pyproject.toml now asks for uvicorn{uvicorn.specifier}; this file was checked against "
        f"uvicorn{BOUND}. {DIRECT} and {HTTP} subclass uvicorn's own protocols: re-check both "
        f"against the new releases (this file's tests, run with them installed, say what "
        f"changed), then set BOUND here to the same bound."
    )
    installed = Version(version("uvicorn"))
    assert installed in BOUND, (
        f"uvicorn {installed} is installed, outside {BOUND}: reinstall from the lock, `make test`"
    )


@pytest.mark.parametrize(
    ("base", "subclass"),
    [(base, sub[0]) for base, sub in SUBCLASSES.items()],
    ids=lambda cls: cls.__name__,
)
def test_subclassed_protocols_exist(base: type, subclass: type) -> None:
    """uvicorn's protocol classes are still asyncio protocols, and Liveblog's subclass them."""
    assert issubclass(base, asyncio.Protocol), f"{base} is no asyncio.Protocol now. " + _advice(
        SUBCLASSES[base][2]
    )
    assert subclass.__mro__[1] is base


def test_client_disconnected_is_an_exception() -> None:
    """ClientDisconnected: raised by direct.py's send, caught by its copy of run_asgi."""
    assert issubclass(ClientDisconnected, Exception), (
        "uvicorn.protocols.utils.ClientDisconnected changed. " + _advice(DIRECT)
    )


@pytest.mark.parametrize("method", [r for r in RELIANCES if isinstance(r, Method)], ids=_id)
def test_method_exists_with_its_signature(method: Method) -> None:
    """Each method the two files override, call or copy: there, sync or async, same parameters."""
    package = method.owner.__module__.split(".")[0]
    where = f"{method.owner.__module__}.{method.owner.__qualname__}.{method.name}"
    function = inspect.getattr_static(method.owner, method.name, None)
    assert inspect.isfunction(function), f"{where} is gone. " + _advice(method.user, package)
    assert inspect.iscoroutinefunction(function) is method.is_async, (
        f"{where} is {'no longer' if method.is_async else 'now'} a coroutine function "
        f"({method.user}: {method.why}). " + _advice(method.user, package)
    )
    params = tuple(inspect.signature(function).parameters)[1:]
    assert params == method.params, (
        f"{where} takes {params} now, not {method.params} ({method.user}: {method.why}). "
        + _advice(method.user, package)
    )


@pytest.mark.parametrize("attribute", [r for r in RELIANCES if isinstance(r, Attribute)], ids=_id)
def test_attribute_is_still_set_by_uvicorn(attribute: Attribute) -> None:
    """Each attribute the two files read or write is assigned by uvicorn where expected."""
    where = f"{attribute.owner.__qualname__}.{attribute.set_in}"
    method = _functions(attribute.owner).get(attribute.set_in)
    assert method is not None, f"uvicorn's {where} is gone. " + _advice(attribute.user)
    assert attribute.name in _self_assignments(method), (
        f"uvicorn's {where} no longer sets self.{attribute.name} ({attribute.user}: "
        f"{attribute.why}). " + _advice(attribute.user)
    )


async def test_state_after_init_has_the_expected_kinds() -> None:
    """A new connection's state, as uvicorn builds it, holds what the two files expect."""
    made = {
        WebSocketsSansIOProtocol: WebSocketsSansIOProtocol(
            config=_config(ws_per_message_deflate=False),
            server_state=ServerState(),
            app_state={},
        ),
        HttpToolsProtocol: HttpToolsProtocol(
            config=_config(), server_state=ServerState(), app_state={}
        ),
    }
    for attribute in RELIANCES:
        if not isinstance(attribute, Attribute) or attribute.set_in != "__init__":
            continue
        if attribute.owner not in made:
            continue
        value = getattr(made[attribute.owner], attribute.name, _MISSING)
        if attribute.kind is not None and not isinstance(value, attribute.kind):
            found = "does not set it" if value is _MISSING else f"sets it to {value!r}"
            raise AssertionError(
                f"uvicorn's {attribute.owner.__qualname__}.__init__ {found}: expected "
                f"{attribute.name} to be {attribute.kind} ({attribute.user}: {attribute.why}). "
                + _advice(attribute.user)
            )
    assert callable(made[WebSocketsSansIOProtocol].app)
    assert "data" in {field.name for field in dataclasses.fields(Frame)}, (
        "websockets' Frame has no `data` now (the budget counts its size). "
        + _advice(DIRECT, "websockets")
    )


@pytest.mark.parametrize("base", list(SUBCLASSES), ids=lambda base: base.__name__)
def test_every_uvicorn_name_used_is_checked_here(base: type) -> None:
    """A name of uvicorn's class used anywhere in the subclass's module is listed in RELIANCES."""
    subclass, module, user = SUBCLASSES[base]
    tree = ast.parse(inspect.getsource(module))
    # `self.<name>` in the module's other classes (DirectSink, _Allowance…) is their own state.
    elsewhere = {
        id(node)
        for other in tree.body
        if isinstance(other, ast.ClassDef) and other.name != subclass.__name__
        for node in ast.walk(other)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "self"
    }
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and id(node) not in elsewhere
    }
    listed = {r.name for r in RELIANCES if r.owner is base}
    unlisted = sorted((used & _names(base)) - listed)
    assert not unlisted, (
        f"{user} uses {unlisted}, which uvicorn's {base.__name__} also has, and which this file "
        f"does not check: add each to RELIANCES (a Method or an Attribute, with why {user} "
        f"needs it) and its fingerprint to FINGERPRINTS."
    )


@pytest.mark.parametrize("base", list(SUBCLASSES), ids=lambda base: base.__name__)
def test_names_liveblog_adds_do_not_collide(base: type) -> None:
    """What Liveblog's subclass adds (methods, class and instance attributes) is not uvicorn's."""
    subclass, _, user = SUBCLASSES[base]
    added = {name for name in vars(subclass) if not name.startswith("__")}
    for function in _functions(subclass).values():
        added |= _self_assignments(function)
    listed = {r.name for r in RELIANCES if r.owner is base}
    clashes = sorted((added - listed) & _names(base))
    assert not clashes, (
        f"uvicorn's {base.__name__} now has {clashes}, which {user} defines for its own use: "
        f"one would silently replace the other. Rename them in {user}. " + _advice(user)
    )


def test_protocols_load_from_import_strings() -> None:
    """uvicorn still takes the protocol classes as import strings, as app/serving/server.py gives
    them."""
    config = _config(
        ws=f"{DirectWebSocketProtocol.__module__}:{DirectWebSocketProtocol.__qualname__}",
        http=f"{DeadlineHttpProtocol.__module__}:{DeadlineHttpProtocol.__qualname__}",
        ws_per_message_deflate=False,
    )
    config.load()
    assert config.ws_protocol_class is DirectWebSocketProtocol, _advice(DIRECT)
    assert config.http_protocol_class is DeadlineHttpProtocol, _advice(HTTP)


def test_uvicorn_sources_relied_on_are_unchanged() -> None:
    """The source of every uvicorn method relied on is the one its fingerprint was taken from."""
    relied = {_id(r): r for r in RELIANCES if isinstance(r, Method) and r.owner in SUBCLASSES}
    assert sorted(relied) == sorted(FINGERPRINTS), "FINGERPRINTS must list RELIANCES' methods"
    now = {name: fingerprint(inspect.getattr_static(r.owner, r.name)) for name, r in relied.items()}
    changed = sorted(name for name in relied if now[name] != FINGERPRINTS[name])
    users = sorted({relied[name].user for name in changed})
    assert not changed, (
        f"uvicorn {version('uvicorn')} changed {', '.join(changed)}. "
        + " ".join(f"{relied[name].user} relies on {name}: {relied[name].why}." for name in changed)
        + f" Diff each against uvicorn {FINGERPRINTS_FROM}, re-check {' and '.join(users)}, "
        f"then set in FINGERPRINTS: " + ", ".join(f'"{name}": "{now[name]}"' for name in changed)
    )
