"""Readers' live connections: the per-liveblog hub, per-reader queues, the WebSocket endpoint."""
