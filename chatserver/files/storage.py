"""Where the bytes of attachments live, behind one small interface.

- :class:`LocalStorage`: a directory (``$CHATSERVER_DATA_DIR/files`` by default), so that
  ``make run`` needs nothing else. A file is written to a temporary name, fsynced and renamed:
  a reader never sees half of one, and a file that is acknowledged survives a crash.
- :class:`S3Storage`: any S3-compatible object store, through boto3 run in worker threads
  (see docs/decisions.md, "File storage"). One PUT is atomic: an object is whole or absent.

Keys are ``<site>/<file id>`` and ``<site>/<file id>.thumb``: names we make, never a user's.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
from pathlib import Path
from typing import Any, Protocol

from chatserver.config import Settings

_KEY = re.compile(r"^[a-z0-9_-]{1,40}/f_[A-Za-z0-9_-]{1,40}(?:\.thumb)?$")


class Storage(Protocol):
    """Every file storage: keys as :func:`object_key` makes them; ``get`` of a missing key
    returns None; ``delete`` of a missing key is no error."""

    async def put(self, key: str, data: bytes, content_type: str) -> None: ...
    async def get(self, key: str) -> bytes | None: ...
    async def delete(self, key: str) -> None: ...
    async def exists(self, key: str) -> bool: ...


def object_key(site: str, file_id: str, thumb: bool = False) -> str:
    key = f"{site}/{file_id}{'.thumb' if thumb else ''}"
    if not _KEY.match(key):
        raise ValueError(f"not a file key: {key!r}")
    return key


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        if not _KEY.match(key):
            raise ValueError(f"not a file key: {key!r}")
        return self.root / key

    def _put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the rename itself survives a crash
        finally:
            os.close(dir_fd)

    def _get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def _delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(self._put, key, data)

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._delete, key)

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._path(key).is_file)


class S3Storage:
    """An S3 bucket (AWS, MinIO, Ceph, R2, ...); credentials from the settings or, when those
    are empty, boto3's usual chain (environment, instance role)."""

    def __init__(
        self,
        bucket: str,
        endpoint_url: str = "",
        region: str = "",
        access_key_id: str = "",
        secret_access_key: str = "",
        prefix: str = "",
    ) -> None:
        import boto3  # only installations that use S3 pay for importing it
        from botocore.config import Config

        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.client: Any = boto3.session.Session().client(
            "s3",
            endpoint_url=endpoint_url or None,
            region_name=region or None,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(
                retries={"max_attempts": 3, "mode": "standard"},
                connect_timeout=5,
                read_timeout=30,
                max_pool_connections=16,
            ),
        )

    def _key(self, key: str) -> str:
        if not _KEY.match(key):
            raise ValueError(f"not a file key: {key!r}")
        return self.prefix + key

    def _get(self, key: str) -> bytes | None:
        try:
            res = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
        except self.client.exceptions.NoSuchKey:
            return None
        body: bytes = res["Body"].read()
        return body

    def _exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
                return False
            raise
        return True

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
        )

    async def get(self, key: str) -> bytes | None:
        return await asyncio.to_thread(self._get, key)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self._exists, key)


def storage_for(settings: Settings) -> Storage:
    """The storage the settings name: the S3 bucket if one is set, else the directory."""
    if settings.s3_bucket:
        return S3Storage(
            settings.s3_bucket,
            settings.s3_endpoint_url,
            settings.s3_region,
            settings.s3_access_key_id,
            settings.s3_secret_access_key,
            settings.s3_prefix,
        )
    return LocalStorage(settings.file_dir or settings.data_dir / "files")
