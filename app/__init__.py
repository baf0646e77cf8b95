"""Liveblog: a real-time liveblog service.

Entries are stored durably first, then pushed to every reader over WebSocket with a
per-liveblog sequence number, so a reader that drops off resumes exactly where it left off.
"""

__version__ = "0.1.0"
