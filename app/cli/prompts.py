"""What a command asks the person at the terminal.

Ctrl-D at a prompt ends its input: the command is cancelled (`Cancelled`, which `cli.main`
reports in one line, exit status 1). Ctrl-C is a KeyboardInterrupt there as anywhere else.
"""

from __future__ import annotations

import getpass


class Cancelled(Exception):
    """The person at the terminal gave up at a prompt (Ctrl-D)."""


def secret(prompt: str) -> str:
    """Ask for a secret on the terminal, without echoing it. Raises Cancelled at the end of
    input (Ctrl-D)."""
    try:
        return getpass.getpass(prompt)
    except EOFError:
        raise Cancelled from None
