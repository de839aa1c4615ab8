"""Security rules on S3 (moto): an accepted presigned upload is copied to the document's own key with
its SHA-256, and a download URL is issued only for stored bytes that match the recorded hash."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tachiai.adapters.aws import client_config
from tachiai.adapters.s3 import DocumentStore
from tachiai.domain.documents import original_key, upload_key
from tachiai.domain.errors import DocumentIntegrityError, NotFound

BUCKET = "docs"
SIGNED = b"%PDF-1.7\n% signed on paper\n%%EOF\n"


@pytest.fixture
def s3() -> Iterator[tuple[DocumentStore, Any]]:
    with mock_aws():
        client = boto3.client("s3", region_name="ap-northeast-1", config=client_config("s3"))
        client.create_bucket(
            Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"}
        )
        client.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
        yield DocumentStore(client, BUCKET), client


def test_an_accepted_upload_is_copied_with_its_sha256(s3):
    store, client = s3
    staged = upload_key("imp_1", "d1", "f" * 32)
    client.put_object(Bucket=BUCKET, Key=staged, Body=SIGNED)  # what the presigned POST does
    store.accept_upload(staged, original_key("imp_1", "d1"))
    assert store.get(original_key("imp_1", "d1")) == SIGNED
    assert store.sha256(original_key("imp_1", "d1")) == hashlib.sha256(SIGNED).hexdigest()


def test_accepting_an_upload_that_never_happened_is_not_found(s3):
    store, _ = s3
    with pytest.raises(NotFound):
        store.accept_upload(upload_key("imp_1", "d1", "0" * 32), original_key("imp_1", "d1"))


def test_a_download_of_the_recorded_bytes_is_issued(s3):
    store, _ = s3
    store.put(original_key("env1", "d1"), SIGNED)
    url = store.download_url(original_key("env1", "d1"), "a.pdf", 300, hashlib.sha256(SIGNED).hexdigest())
    assert "X-Amz-Signature" in url


@pytest.mark.parametrize("checksum", [None, "SHA256", "CRC32"], ids=["no checksum", "own sha256", "crc32"])
def test_a_replaced_file_is_refused_whatever_checksum_it_came_with(s3, checksum):
    store, client = s3
    key = original_key("env1", "d1")
    store.put(key, SIGNED)
    extra = {"ChecksumAlgorithm": checksum} if checksum else {}
    client.put_object(Bucket=BUCKET, Key=key, Body=SIGNED + b"% changed\n", **extra)
    with pytest.raises(DocumentIntegrityError) as refused:
        store.download_url(key, "契約書.pdf", 300, hashlib.sha256(SIGNED).hexdigest())
    assert "契約書.pdf" in refused.value.message("ja")


def test_a_file_stored_before_checksums_is_checked_by_its_bytes(s3):
    store, client = s3
    key = original_key("env1", "d1")
    client.put_object(Bucket=BUCKET, Key=key, Body=SIGNED)  # no ChecksumSHA256 recorded by S3
    assert store.sha256(key) == hashlib.sha256(SIGNED).hexdigest()


def test_upload_urls_name_a_key_of_their_own(s3):
    store, _ = s3
    key = upload_key("env1", "d1", "a" * 32)
    post = store.upload_url(key, 600, max_bytes=1024)
    assert post["fields"]["key"] == key  # type: ignore[index]
    assert key.startswith("envelopes/env1/uploads/d1/") and key != original_key("env1", "d1")
