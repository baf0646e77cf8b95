"""Use cases: one transaction per write, then publish. Called by the API, the WebSocket and the CLI."""
