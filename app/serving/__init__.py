"""How Liveblog runs on uvicorn, and everything that depends on uvicorn's own code.

- `server.py`: uvicorn's options, the open-file limit, workers, the frozen start-up heap;
- `http_protocol.py`: uvicorn's httptools protocol, plus request deadlines and a connection cap;
- `direct.py`: uvicorn's sans-I/O WebSocket protocol, plus direct writes for the fan-out.

The two protocols subclass uvicorn's own classes, which are not its public API: what they rely on
is checked by tests/test_uvicorn_internals.py, and pyproject.toml keeps uvicorn within one minor
series. Nothing outside this folder imports uvicorn.
"""
