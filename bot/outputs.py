"""``ArtifactStore``: a run's output artifacts in S3-protocol storage (AWS S3, MinIO), as presigned links.

KFP's REST API names a task's output artifacts only by metadata ids, so Charon lists what the run
wrote under ``<pipeline root>/<pipeline name>/<run id>/`` (where the KFP launcher puts every
artifact) and presigns each object, so people can open it in a browser without S3 credentials.
boto3 is synchronous and may fetch credentials over the network: every call runs in a worker thread.
"""

import asyncio
import threading
from typing import Any

import boto3
from botocore.config import Config

from bot.runs import Output

SCHEMES = ("s3://", "minio://")
MAX_OUTPUTS = 20
_SKIPPED_PARTS = {"executor-logs"}  # KFP stores each task's log as an artifact too; outputs only


def split_uri(uri: str) -> tuple[str, str, str]:
    """``s3://bucket/some/key`` → (``s3://``, ``bucket``, ``some/key``)."""
    scheme = next((s for s in SCHEMES if uri.startswith(s)), None)
    if scheme is None:
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[len(scheme) :].partition("/")
    return scheme, bucket, key


class ArtifactStore:
    def __init__(self, endpoint_url: str | None, expiry_s: int, timeout_s: float) -> None:
        self.endpoint_url = endpoint_url
        self.expiry_s = expiry_s
        self.timeout_s = timeout_s
        self._client: Any = None
        self._lock = threading.Lock()

    async def run_outputs(self, prefix_uri: str) -> list[Output]:
        """Every object under ``prefix_uri`` (at most :data:`MAX_OUTPUTS`), each with a presigned link."""
        return await asyncio.to_thread(self._list, prefix_uri)

    def _s3(self) -> Any:
        with self._lock:  # boto3 clients are thread-safe once made; making one is not
            if self._client is None:
                style = {"addressing_style": "path"} if self.endpoint_url else {}
                config = Config(signature_version="s3v4", s3=style, connect_timeout=5,
                                read_timeout=self.timeout_s, retries={"max_attempts": 2})  # fmt: skip
                self._client = boto3.session.Session().client(
                    "s3", endpoint_url=self.endpoint_url, config=config
                )
            return self._client

    def _list(self, prefix_uri: str) -> list[Output]:
        scheme, bucket, prefix = split_uri(prefix_uri.rstrip("/") + "/")
        s3 = self._s3()
        listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1000)
        outputs: list[Output] = []
        for entry in sorted(listing.get("Contents", []), key=lambda e: e["Key"]):
            key: str = entry["Key"]
            parts = key[len(prefix) :].strip("/").split("/")
            if key.endswith("/") or _SKIPPED_PARTS & set(parts):
                continue
            name = parts[0] if len(parts) == 1 else f"{parts[0]}/{parts[-1]}"  # task/output, no salt dirs
            url = s3.generate_presigned_url(
                "get_object", Params={"Bucket": bucket, "Key": key}, ExpiresIn=self.expiry_s
            )
            outputs.append(Output(name, f"{scheme}{bucket}/{key}", url))
            if len(outputs) == MAX_OUTPUTS:
                break
        return outputs
