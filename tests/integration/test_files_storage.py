"""The file storage contract, held by both backends: the data directory and an S3-compatible
object store (moto's S3 server in standalone mode, on loopback, started here); and the whole
server keeping attachments in S3 when a bucket is configured."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import boto3
import pytest
import pytest_asyncio
from moto.server import ThreadedMotoServer

from chatserver.embedded_redis import EmbeddedRedis, free_port
from chatserver.files.storage import LocalStorage, S3Storage, Storage, object_key
from tests import client as cl
from tests.integration import files_support as fs
from tests.servers import LiveServer

CREDENTIALS = {"access_key_id": "testing", "secret_access_key": "testing"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


def make_bucket(endpoint: str, name: str) -> None:
    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).create_bucket(Bucket=name)


@pytest_asyncio.fixture(params=["local", "s3"])
async def storage(
    request: pytest.FixtureRequest, tmp_path: Path, s3_endpoint: str
) -> AsyncIterator[Storage]:
    if request.param == "local":
        yield LocalStorage(tmp_path / "files")
    else:
        bucket = f"contract-{free_port()}"
        make_bucket(s3_endpoint, bucket)
        yield S3Storage(bucket, s3_endpoint, "us-east-1", prefix="chat/", **CREDENTIALS)


async def test_the_storage_contract(storage: Storage) -> None:
    key, thumb = object_key("demo", "f_abc"), object_key("demo", "f_abc", thumb=True)
    assert await storage.get(key) is None
    assert not await storage.exists(key)
    await storage.delete(key)  # deleting what is not there is no error
    await storage.put(key, b"%PDF-1.4 first", "application/pdf")
    await storage.put(thumb, b"RIFF....WEBP", "image/webp")
    assert await storage.get(key) == b"%PDF-1.4 first"
    assert await storage.exists(key) and await storage.exists(thumb)
    await storage.put(key, b"%PDF-1.4 second", "application/pdf")  # replaced whole
    assert await storage.get(key) == b"%PDF-1.4 second"
    big = bytes(range(256)) * 8192  # 2 MiB, every byte value
    await asyncio.gather(*(storage.put(object_key("shop", f"f_{i}"), big, "x/y") for i in range(4)))
    assert await storage.get(object_key("shop", "f_3")) == big
    await storage.delete(key)
    assert await storage.get(key) is None and not await storage.exists(key)
    assert await storage.get(thumb) == b"RIFF....WEBP"  # only what was named went
    for bad in ("../etc/passwd", "demo/../../x", "demo/notafile", "Demo/f_x"):
        with pytest.raises(ValueError):
            await storage.put(bad, b"x", "text/plain")


@pytest.fixture
def s3_live(redis_server: EmbeddedRedis, tmp_path: Path, s3_endpoint: str) -> Iterator[LiveServer]:
    make_bucket(s3_endpoint, "attachments")
    servers = LiveServer(redis_server, tmp_path / "server")
    servers.start_node(
        {
            "CHATSERVER_S3_BUCKET": "attachments",
            "CHATSERVER_S3_ENDPOINT_URL": s3_endpoint,
            "CHATSERVER_S3_REGION": "us-east-1",
            "CHATSERVER_S3_ACCESS_KEY_ID": "testing",
            "CHATSERVER_S3_SECRET_ACCESS_KEY": "testing",
            "CHATSERVER_S3_PREFIX": "prod",
        }
    )
    yield servers
    servers.stop()


async def test_the_server_keeps_files_in_s3(s3_live: LiveServer, s3_endpoint: str) -> None:
    v, _ = await cl.visitor(s3_live.ws_url)
    assert v.token
    up = fs.visitor_upload(s3_live.base_url, v.token, "photo.jpg", fs.jpeg_with_gps())
    assert up.status == 201, up.body
    file_id = up.json()["file"]["id"]
    await v.send({"type": "message", "client_id": "p1", "file": file_id})
    await v.expect("ack")
    frame = await v.expect("message", lambda f: f.get("client_id") == "p1")
    got = fs.request(s3_live.base_url + frame["file"]["url"])
    assert got.status == 200 and got.body.startswith(b"\xff\xd8")
    objects = boto3.client(
        "s3",
        endpoint_url=s3_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    ).list_objects_v2(Bucket="attachments")
    keys = sorted(o["Key"] for o in objects["Contents"])
    assert keys == [f"prod/demo/{file_id}", f"prod/demo/{file_id}.thumb"]
    # Nothing of it landed in the data directory.
    assert not (s3_live.data_dir / "files").exists()
    await v.close()
