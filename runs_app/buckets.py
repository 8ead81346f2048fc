"""The S3 bucket behind artifact storage: is it there, and make it if not.

Used by `manage.py ensure_bucket` (a deployment's one-shot set-up step) and by /healthz.
Both talk to the bucket through the storage backend's own credentials, endpoint and
client settings, so they see exactly what the web and worker processes see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.config import Config
from botocore.exceptions import ClientError
from django.core.files.storage import storages
from storages.backends.s3 import S3Storage

# Status codes S3 (and MinIO, moto) answer on HEAD for a bucket that does not exist.
_MISSING = {"404", "NoSuchBucket", "NotFound"}
_ALREADY_THERE = {"BucketAlreadyOwnedByYou", "BucketAlreadyExists"}


class NotS3(Exception):
    """Artifact storage is not an S3 bucket (local files): there is no bucket to make or check."""


@dataclass(frozen=True)
class ArtifactBucket:
    storage: S3Storage

    @property
    def name(self) -> str:
        return str(self.storage.bucket_name)

    def client(self, *, timeout: float | None = None) -> Any:
        """A boto3 S3 client with the storage's settings; with `timeout`, one short try and no retries."""
        config: Config = self.storage.client_config
        if timeout is not None:
            config = config.merge(
                Config(connect_timeout=timeout, read_timeout=timeout, retries={"total_max_attempts": 1})
            )
        return self.storage._create_session().client(
            "s3",
            region_name=self.storage.region_name,
            use_ssl=self.storage.use_ssl,
            endpoint_url=self.storage.endpoint_url,
            config=config,
            verify=self.storage.verify,
        )

    def exists(self, client: Any) -> bool:
        """True when the bucket is there and these credentials may use it; False when it does not exist.
        Anything else (refused credentials, an unreachable endpoint) raises."""
        try:
            client.head_bucket(Bucket=self.name)
        except ClientError as error:
            if str(error.response.get("Error", {}).get("Code")) in _MISSING:
                return False
            raise
        return True

    def ensure(self) -> bool:
        """Create the bucket unless it exists. True when it was created now."""
        client = self.client()
        if self.exists(client):
            return False
        region = self.storage.region_name
        options: dict[str, Any] = {"Bucket": self.name}
        if region and region != "us-east-1":  # us-east-1 is the one region that refuses a location constraint
            options["CreateBucketConfiguration"] = {"LocationConstraint": region}
        try:
            client.create_bucket(**options)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in _ALREADY_THERE:  # another process won the race
                return False
            raise
        return True


def artifact_bucket() -> ArtifactBucket:
    storage = storages["artifacts"]
    if not isinstance(storage, S3Storage):
        raise NotS3(
            f"Artifact storage is {type(storage).__module__}.{type(storage).__name__}, not S3. "
            "Set S3_BUCKET (with S3_ENDPOINT_URL, S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY) to store artifacts in S3."
        )
    return ArtifactBucket(storage)
