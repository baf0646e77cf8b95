"""Where media files live: a directory beside the database by default, or any S3-compatible
bucket (LIVEBLOG_MEDIA_URL=s3://bucket/prefix) that several processes and hosts share.

One library, obstore, serves both: its LocalStore and S3Store answer the same calls, so the code
above this module and the tests are the same for both (tests run them against a directory and
against moto's S3 server). It was chosen over aioboto3 for that, and because it is one compiled
wheel with no botocore underneath (aioboto3 pins aiobotocore to exact botocore releases). S3
credentials and the region come from the standard AWS_* variables, which obstore reads itself.

Files are named by the hash of their bytes (domain/media.py), so writing one that exists
already writes the same bytes: a put needs no lock and no check first.

Every call runs obstore's blocking API in a worker thread, not its async one. An async call's
result arrives while obstore's Tokio threads still hold Python objects for it, and a process
that exits at such a moment aborts (SIGABRT, exit code 134, nothing printed) as those threads
meet the interpreter shutting down: 10 of 40 short runs on a busy machine, against 0 of 40
with threads, whose work is done before `asyncio.run()` (or the server) returns.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

import obstore
from obstore.exceptions import NotFoundError
from obstore.store import LocalStore, S3Store

# A put or get that takes longer than this is a store in trouble, not a slow network.
TIMEOUT_SECONDS = 30
RETRY_TIMEOUT = timedelta(seconds=TIMEOUT_SECONDS)


class MediaStoreError(Exception):
    """The store could not be reached or refused the request (the edge answers 503)."""


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file as the store lists it."""

    name: str
    size: int  # bytes
    last_modified: datetime  # when it was last written: `liveblog media prune` goes by it


class MediaStore:
    def __init__(self, store: LocalStore | S3Store, where: str) -> None:
        self._store = store
        self.where = where  # for logs and `liveblog config`: the directory or s3://bucket/prefix

    @classmethod
    def open(cls, url: str, data_dir: Path, *, endpoint: str | None = None) -> MediaStore:
        """The store `url` names: "" (a `media` directory in `data_dir`), a directory path or
        file:// URL, or s3://bucket/prefix (at `endpoint` for stores other than AWS)."""
        if url.startswith("s3://"):
            parts = urlsplit(url)
            prefix = parts.path.strip("/") or None
            options = {"allow_http": "true"} if endpoint and endpoint.startswith("http:") else {}
            s3 = S3Store(
                parts.netloc,
                prefix=prefix,
                endpoint=endpoint or None,
                client_options=options,  # type: ignore[arg-type]
                retry_config={
                    "max_retries": 2,
                    "retry_timeout": timedelta(seconds=TIMEOUT_SECONDS),
                },
            )
            return cls(s3, url.rstrip("/"))
        directory = Path(url.removeprefix("file://")) if url else data_dir / "media"
        directory.mkdir(parents=True, exist_ok=True)
        return cls(LocalStore(prefix=directory.resolve()), str(directory))

    async def put(self, name: str, data: bytes) -> None:
        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                await asyncio.to_thread(obstore.put, self._store, name, data)
        except (OSError, TimeoutError, obstore.exceptions.BaseError) as error:
            raise MediaStoreError(f"could not store {name} in {self.where}: {error}") from error

    async def get(self, name: str) -> bytes | None:
        def read() -> bytes:
            return bytes(obstore.get(self._store, name).bytes())

        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                return await asyncio.to_thread(read)
        except (NotFoundError, FileNotFoundError):
            return None
        except (OSError, TimeoutError, obstore.exceptions.BaseError) as error:
            raise MediaStoreError(f"could not read {name} from {self.where}: {error}") from error

    async def has(self, name: str) -> bool:
        """Whether the file is there. Raises MediaStoreError."""

        def look() -> bool:
            try:
                obstore.head(self._store, name)
            except (NotFoundError, FileNotFoundError):
                return False
            return True

        try:
            async with asyncio.timeout(TIMEOUT_SECONDS):
                return await asyncio.to_thread(look)
        except (OSError, TimeoutError, obstore.exceptions.BaseError) as error:
            raise MediaStoreError(f"could not look for {name} in {self.where}: {error}") from error

    async def delete(self, name: str) -> None:
        def remove() -> None:
            with contextlib.suppress(NotFoundError, FileNotFoundError):
                obstore.delete(self._store, name)

        await asyncio.to_thread(remove)

    async def names(self) -> set[str]:
        return {file.name for file in await self.listing()}

    async def listing(self) -> list[StoredFile]:
        def listed() -> list[StoredFile]:
            return [
                StoredFile(item["path"], item["size"], item["last_modified"])
                for batch in obstore.list(self._store)
                for item in batch
            ]

        try:
            return await asyncio.to_thread(listed)
        except (OSError, obstore.exceptions.BaseError) as error:
            raise MediaStoreError(f"could not list {self.where}: {error}") from error

    async def delete_all(self, names: Iterable[str]) -> None:
        """Delete each of `names`; one already gone is no error. Raises MediaStoreError."""
        for name in names:
            try:
                async with asyncio.timeout(TIMEOUT_SECONDS):
                    await self.delete(name)
            except (OSError, TimeoutError, obstore.exceptions.BaseError) as error:
                raise MediaStoreError(
                    f"could not delete {name} from {self.where}: {error}"
                ) from error
