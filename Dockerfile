# Liveblog, production image. The steps are those of the tested install path (the locked
# dependencies, then the project, into a virtualenv; then `liveblog serve`). CI builds this file
# and checks the image (.ci/container-check: podman, on a Debian bookworm base made with
# debootstrap, so BASE_IMAGE is a build argument): it serves /healthz and a reader page as the
# unprivileged user, keeps its data in the volume, and holds nothing of tests/ or bench/.
#
#   docker build -t liveblog .
#   docker run -p 8000:8000 -v liveblog-data:/var/lib/liveblog liveblog
#
# Settings are LIVEBLOG_* variables (docs/operations.md: "Configuration"); LIVEBLOG_WORKERS above 1 needs
# LIVEBLOG_BROKER_URL=redis://...
# Any Debian-like base with Python 3.11+ as `python` (the official image, or Debian's python3,
# python3-venv and python-is-python3), ca-certificates, and useradd.
ARG BASE_IMAGE=python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
# pip checks TLS against the system's bundle (Debian's pip does anyway; the official image's pip
# would use its own copy of certifi), so a build that mounts the machine's bundle over it
# (podman build -v /etc/ssl/certs/ca-certificates.crt:...:ro) works behind a TLS-inspecting proxy.
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 \
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt
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

FROM ${BASE_IMAGE}
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
# (An OCI-format image drops HEALTHCHECK: with podman, build with --format docker.)
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen(f\"http://127.0.0.1:{os.environ['LIVEBLOG_PORT']}/healthz\", timeout=2)"]
# serve applies pending migrations first (one process at a time on PostgreSQL: advisory lock).
CMD ["liveblog", "serve"]
