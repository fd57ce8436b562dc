"""Output artifacts of KFP runs: listed in S3-protocol storage (moto in server mode on loopback) and shared
as presigned links in the success message, which open without credentials."""

import asyncio
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
import boto3
import pytest
from moto.server import ThreadedMotoServer

from bot.runs import Origin, Run
from bot.runtime import Charon
from tests.kfp_emulator import KfpEmulator

if TYPE_CHECKING:
    from tests.kfp_stack import Notices

pytest_plugins = ["tests.kfp_stack"]

ANN = Origin("chat", user_id="ann", session="s1")


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@dataclass
class Bucket:
    name: str
    client: Any

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(self.client.put_object, Bucket=self.name, Key=key, Body=data)


@pytest.fixture
def bucket(s3_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Bucket:
    """A fresh bucket, and Charon's settings pointing at it (the KFP pipeline root is in it)."""
    name = f"artifacts-{secrets.token_hex(4)}"
    for setting, value in {
        "AWS_ACCESS_KEY_ID": "testing-key", "AWS_SECRET_ACCESS_KEY": "testing-secret",
        "AWS_DEFAULT_REGION": "us-east-1", "CHARON_S3_ENDPOINT_URL": s3_endpoint,
        "KFP_PIPELINE_ROOT": f"s3://{name}/pipelines", "CHARON_PRESIGN_EXPIRY": "3600",
    }.items():  # fmt: skip
        monkeypatch.setenv(setting, value)
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.create_bucket(Bucket=name)
    return Bucket(name, client)


async def launch(charon: Charon) -> Run:
    reply = await charon.service.handle_text("run smoke_pipeline a=2", ANN)
    assert reply.ok and reply.run is not None and reply.run.external_id is not None
    return reply.run


async def test_outputs_of_a_succeeded_run_are_presigned_links(
    bucket: Bucket, kfp_charon: Charon, emulator: KfpEmulator, notices: "Notices"
) -> None:
    run = await launch(kfp_charon)
    prefix = f"pipelines/smoke-pipeline/{run.external_id}"
    # What KFP's launcher writes: <root>/<pipeline>/<run id>/<task>/<salt>/<output>, logs included.
    objects = {f"{prefix}/report/7f3c/summary": b"total: 4\n", f"{prefix}/report/7f3c/executor-logs": b"log",
               f"{prefix}/add/91aa/Output": b"3"}  # fmt: skip
    for key, data in objects.items():
        await bucket.put(key, data)
    emulator.move_run(run.external_id or "", "SUCCEEDED")
    await kfp_charon.poller.poll_once()

    [notice] = notices.about(run)
    lines = notice.splitlines()
    assert lines[0].startswith(f"[{run.id}] Run completed successfully.")
    links = dict(line.removeprefix("• ").rstrip(")").split(" (", 1) for line in lines[1:])
    assert list(links) == ["add/Output", "report/summary"]  # executor logs are not outputs
    async with aiohttp.ClientSession() as http:  # a browser, without S3 credentials
        for name, url in links.items():
            assert "X-Amz-Signature=" in url and "X-Amz-Expires=3600" in url
            async with http.get(url) as response:
                assert response.status == 200
                assert await response.read() == (b"3" if name == "add/Output" else b"total: 4\n")
    stored = await kfp_charon.store.get(run.id)
    assert stored is not None
    assert [o["uri"] for o in stored.outputs] == [f"s3://{bucket.name}/{prefix}/add/91aa/Output",
                                                  f"s3://{bucket.name}/{prefix}/report/7f3c/summary"]  # fmt: skip


async def test_a_run_whose_outputs_cannot_be_listed_is_still_reported(
    bucket: Bucket, kfp_charon: Charon, emulator: KfpEmulator, notices: "Notices"
) -> None:
    await asyncio.to_thread(bucket.client.delete_bucket, Bucket=bucket.name)
    run = await launch(kfp_charon)
    emulator.move_run(run.external_id or "", "SUCCEEDED")
    await kfp_charon.poller.poll_once()
    assert notices.about(run) == [f"[{run.id}] Run completed successfully. ({run.run_url})"]
