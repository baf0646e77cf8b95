"""Use cases: one transaction per write, then publish.

Called by the API, the WebSocket endpoint and the CLI.
"""
