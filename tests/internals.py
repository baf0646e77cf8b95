"""What the tests of other projects' internals share (test_uvicorn_internals.py,
test_redis_internals.py): a fingerprint of the source a file of ours relies on."""

from __future__ import annotations

import hashlib
import inspect
import io
import textwrap
import tokenize
from typing import Any


def fingerprint(function: Any) -> str:
    """A digest of `function`'s source without comments, trailing spaces and blank lines.

    The source as written, not an AST dump: the same on every Python version.
    """
    source = textwrap.dedent(inspect.getsource(function))
    lines = source.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column]
    kept = "\n".join(line.rstrip() for line in lines if line.strip())
    return hashlib.sha256(kept.encode()).hexdigest()[:16]
