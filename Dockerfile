# Liveblog, production image. The steps are those of the tested install path (the locked
# dependencies, then the project, into a virtualenv; then `liveblog serve`); no Docker engine runs
# on the project's CI machines, so this file itself is not built there (docs/operations.md: "Running at scale").
#
#   docker build -t liveblog .
#   docker run -p 8000:8000 -v liveblog-data:/var/lib/liveblog liveblog
#
# Settings are LIVEBLOG_* variables (docs/operations.md: "Configuration"); LIVEBLOG_WORKERS above 1 needs
# LIVEBLOG_BROKER_URL=redis://...

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
RUN python -m venv /opt/liveblog
WORKDIR /src
# Runtime dependencies only (no test or bench extras), at the versions of requirements.lock, each
# download checked against its hashes; pip and the build backend (setuptools) are locked too.
COPY requirements.lock ./
RUN /opt/liveblog/bin/pip install --require-hashes -r requirements.lock
COPY pyproject.toml README.md LICENSE ./
COPY app ./app
COPY migrations ./migrations
# The project itself, offline: it fails if pyproject.toml asks for more than the lock holds.
RUN /opt/liveblog/bin/pip install --no-index --no-build-isolation .

FROM python:3.11-slim-bookworm
ENV PATH=/opt/liveblog/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LIVEBLOG_HOST=0.0.0.0 \
    LIVEBLOG_PORT=8000 \
    LIVEBLOG_DATA_DIR=/var/lib/liveblog \
    LIVEBLOG_WORKERS=1
RUN groupadd --system liveblog \
    && useradd --system --gid liveblog --home-dir /var/lib/liveblog --shell /usr/sbin/nologin liveblog \
    && install -d -o liveblog -g liveblog /var/lib/liveblog
COPY --from=build /opt/liveblog /opt/liveblog
USER liveblog
WORKDIR /var/lib/liveblog
VOLUME ["/var/lib/liveblog"]
EXPOSE 8000
# Liveness only (/healthz touches nothing else); a load balancer should route by /readyz.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['LIVEBLOG_PORT']}/healthz\", timeout=2)"]
# serve applies pending migrations first (one process at a time on PostgreSQL: advisory lock).
CMD ["liveblog", "serve"]
