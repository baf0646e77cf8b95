"""The editor's console: journalists sign in and write, correct, pin, review and schedule.

An edge like `api/` and `web/`: it turns a session cookie into a Principal, checks CSRF and the
user's role, and calls the same services as the API. It never touches storage. What it shares
with the reader pages (the entry template, the sanitizer) lives in `app/render` and
`app/domain`. Its pages carry their own Content-Security-Policy and are never cached
(headers.py).
"""
