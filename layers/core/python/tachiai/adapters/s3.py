"""Contract files in S3: originals, each sealed version, the agreement certificate.

The key layout (one key per envelope file and version, never overwritten, so the hash chain of seals
can be checked and the bucket's Object Lock can keep each one immutable) is
:mod:`tachiai.domain.documents`; its functions are importable from here too.

A presigned upload (a browser or a client sending a large PDF straight to S3) never targets a document's
own key: each upload URL gets a fresh random key, recorded on the document, and the service copies it
to ``original.pdf`` when the document is accepted (at send, or when an import is completed). An upload
URL is valid for an hour and S3 cannot make it single-use, so this is what closes it: the upload key is
never read again once its document was accepted, so whatever is uploaded through it afterwards lands on
a key nothing reads (it is not deleted: Object Lock keeps every version anyway, and the functions' grants
stay "write, never delete").

The bucket keeps every version under Object Lock default retention, and S3 refuses any upload into such
a bucket that carries no integrity checksum (``Content-MD5`` or an ``x-amz-checksum-*``). The SDK calls
here add theirs (``ChecksumAlgorithm``); a presigned POST's form is sent by a browser or a plain HTTP
client, so its policy requires the ``Content-MD5`` field (:data:`tachiai.names.UPLOAD_CHECKSUM_FIELD`):
the uploader computes it from the file, and S3 refuses the upload when the bytes do not match it
(docs/operations/uploads.md).

Every object the service writes carries its SHA-256 checksum (S3 ``ChecksumSHA256``), and a download URL
for a file whose envelope records a hash is issued only after the stored bytes are checked against it
(:meth:`DocumentStore.download_url`): a file that was replaced somehow is refused, not served.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from tachiai import observability
from tachiai.domain.documents import (
    certificate_key as certificate_key,
)
from tachiai.domain.documents import (
    current_key as current_key,
)
from tachiai.domain.documents import (
    final_key as final_key,
)
from tachiai.domain.documents import (
    original_key as original_key,
)
from tachiai.domain.documents import (
    sealed_key as sealed_key,
)
from tachiai.domain.documents import (
    template_document_key as template_document_key,
)
from tachiai.domain.documents import (
    template_upload_key as template_upload_key,
)
from tachiai.domain.documents import (
    timestamp_key as timestamp_key,
)
from tachiai.domain.documents import (
    upload_key as upload_key,
)
from tachiai.domain.errors import DocumentIntegrityError, DocumentStoreUnavailable, NotFound
from tachiai.names import UPLOAD_CHECKSUM_FIELD

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

logger = logging.getLogger(__name__)
_MISSING = ("NoSuchKey", "404", "NotFound")


@contextmanager
def _s3_errors(what: str, *, missing: str) -> Iterator[None]:
    """S3's failures as the project's: a missing object is :class:`NotFound` (``missing`` says which),
    anything else :class:`DocumentStoreUnavailable`."""
    try:
        yield
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in _MISSING:
            raise NotFound(missing) from e
        raise DocumentStoreUnavailable(f"{what}: {e}") from e
    except BotoCoreError as e:
        raise DocumentStoreUnavailable(f"{what}: {e}") from e


class DocumentStore:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` with its SHA-256 checksum.

        :raises DocumentStoreUnavailable: S3 failed.
        """
        try:
            with observability.subsegment("S3 PutObject"):
                self._client.put_object(
                    Bucket=self._bucket,
                    Key=key,
                    Body=data,
                    ContentType="application/pdf",
                    ChecksumAlgorithm="SHA256",
                )
        except (ClientError, BotoCoreError) as e:
            raise DocumentStoreUnavailable(f"put {key}: {e}") from e

    def accept_upload(self, upload: str, key: str) -> None:
        """Copy the presigned upload at ``upload`` to the document's own ``key`` (with its SHA-256).

        :raises NotFound: nothing was uploaded there. :raises DocumentStoreUnavailable: S3 failed.
        """
        with _s3_errors(f"copy {upload} to {key}", missing=f"upload {upload}"):
            self._client.copy_object(
                Bucket=self._bucket,
                Key=key,
                CopySource={"Bucket": self._bucket, "Key": upload},
                ContentType="application/pdf",
                MetadataDirective="REPLACE",
                ChecksumAlgorithm="SHA256",
            )

    def sha256(self, key: str) -> str:
        """The SHA-256 (hex) of the stored ``key``: from S3's checksum when it has a whole-object one,
        else by reading the bytes (files stored before checksums were recorded).

        :raises NotFound: no such file. :raises DocumentStoreUnavailable: S3 failed.
        """
        with _s3_errors(f"head {key}", missing=f"document {key}"):
            head = self._client.head_object(Bucket=self._bucket, Key=key, ChecksumMode="ENABLED")
        checksum = head.get("ChecksumSHA256")
        if checksum and "-" not in checksum and head.get("ChecksumType", "FULL_OBJECT") == "FULL_OBJECT":
            return base64.b64decode(checksum).hex()
        return hashlib.sha256(self.get(key)).hexdigest()  # a multipart composite or no checksum at all

    def get(self, key: str) -> bytes:
        """:raises NotFound: no such file. :raises DocumentStoreUnavailable: S3 failed."""
        with _s3_errors(f"get {key}", missing=f"document {key}"), observability.subsegment("S3 GetObject"):
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()

    def download_url(
        self, key: str, filename: str, expires_in: int, expected_sha256: str | None = None
    ) -> str:
        """A presigned GET URL that downloads as ``filename`` for ``expires_in`` seconds.

        With ``expected_sha256`` (the hash the envelope records), the stored bytes are checked first.

        :raises DocumentIntegrityError: the stored file's SHA-256 is not ``expected_sha256``.
        :raises NotFound: no such file (checked only with ``expected_sha256``).
        :raises DocumentStoreUnavailable: S3 failed.
        """
        from urllib.parse import quote

        if expected_sha256 is not None:
            actual = self.sha256(key)
            if actual != expected_sha256:
                logger.error(
                    "stored %s has SHA-256 %s, the envelope records %s", key, actual, expected_sha256
                )
                raise DocumentIntegrityError(f"{key}: {actual} != {expected_sha256}", name=filename)

        disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
        return self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key, "ResponseContentDisposition": disposition},
            ExpiresIn=expires_in,
        )

    def upload_url(self, key: str, expires_in: int, max_bytes: int) -> dict[str, object]:
        """A presigned POST for a browser or client to upload a large PDF directly (size-limited) to
        ``key`` — an :func:`upload_key`, never a document's own key.

        The form must also carry :data:`~tachiai.names.UPLOAD_CHECKSUM_FIELD` (the file's MD5, base64),
        which only the uploader can compute: the policy requires the field with any value, and S3 checks
        the value against the bytes it receives (Object Lock takes no upload without it).
        """
        return dict(
            self._client.generate_presigned_post(
                Bucket=self._bucket,
                Key=key,
                Fields={"Content-Type": "application/pdf"},
                Conditions=[
                    {"Content-Type": "application/pdf"},
                    ["content-length-range", 1, max_bytes],
                    ["starts-with", f"${UPLOAD_CHECKSUM_FIELD}", ""],
                ],
                ExpiresIn=expires_in,
            )
        )
