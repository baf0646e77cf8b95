"""Pure-ASGI middleware, each in its own file; main.py lists them in order, outermost first."""
