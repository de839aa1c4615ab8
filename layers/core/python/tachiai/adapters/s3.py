"""Contract files in S3: originals, each sealed version, the agreement certificate.

Layout, per envelope::

    envelopes/<envelope id>/documents/<document id>/original.pdf      as uploaded
    envelopes/<envelope id>/documents/<document id>/sealed-<n>.pdf     after the n-th seal
    envelopes/<envelope id>/documents/<document id>/final.pdf          with the document timestamp
    envelopes/<envelope id>/certificate.pdf                           the sealed certificate

Every version is its own key (never overwritten), so the hash chain of seals can be checked and the
bucket's Object Lock can keep each one immutable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

from tachiai.domain.envelope import Document
from tachiai.domain.errors import NotFound, TachiaiError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


class DocumentStoreUnavailable(TachiaiError):
    code = "document_store_unavailable"
    http_status = 503
    message_ja = "文書の保存先に一時的に接続できません。しばらくしてから再試行してください。"
    message_en = "Document storage is temporarily unavailable. Please retry shortly."


def original_key(envelope_id: str, document_id: str) -> str:
    return f"envelopes/{envelope_id}/documents/{document_id}/original.pdf"


def sealed_key(envelope_id: str, document_id: str, seals: int) -> str:
    return f"envelopes/{envelope_id}/documents/{document_id}/sealed-{seals}.pdf"


def final_key(envelope_id: str, document_id: str) -> str:
    return f"envelopes/{envelope_id}/documents/{document_id}/final.pdf"


def current_key(envelope_id: str, document: Document) -> str:
    """Where the latest version of ``document`` is: finished, last sealed, or as uploaded."""
    if document.finalized:
        return final_key(envelope_id, document.id)
    if document.seals:
        return sealed_key(envelope_id, document.id, document.seals)
    return original_key(envelope_id, document.id)


def timestamp_key(envelope_id: str, document_id: str) -> str:
    """The RFC 3161 token (DER) taken over an imported document's bytes when it arrived."""
    return f"envelopes/{envelope_id}/documents/{document_id}/original.tsr"


def certificate_key(envelope_id: str) -> str:
    return f"envelopes/{envelope_id}/certificate.pdf"


class DocumentStore:
    def __init__(self, client: S3Client, bucket: str) -> None:
        self._client = client
        self._bucket = bucket

    def put(self, key: str, data: bytes) -> None:
        """:raises DocumentStoreUnavailable: S3 failed."""
        try:
            self._client.put_object(Bucket=self._bucket, Key=key, Body=data, ContentType="application/pdf")
        except (ClientError, BotoCoreError) as e:
            raise DocumentStoreUnavailable(f"put {key}: {e}") from e

    def get(self, key: str) -> bytes:
        """:raises NotFound: no such file. :raises DocumentStoreUnavailable: S3 failed."""
        try:
            return self._client.get_object(Bucket=self._bucket, Key=key)["Body"].read()
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise NotFound(f"document {key}") from e
            raise DocumentStoreUnavailable(f"get {key}: {e}") from e
        except BotoCoreError as e:
            raise DocumentStoreUnavailable(f"get {key}: {e}") from e

    def download_url(self, key: str, filename: str, expires_in: int) -> str:
        """A presigned GET URL that downloads as ``filename`` for ``expires_in`` seconds."""
        from urllib.parse import quote

        disposition = f"attachment; filename*=UTF-8''{quote(filename)}"
        return self._client.generate_presigned_url(
            "get_object",
            Params={"Bucket": self._bucket, "Key": key, "ResponseContentDisposition": disposition},
            ExpiresIn=expires_in,
        )

    def upload_url(self, key: str, expires_in: int, max_bytes: int) -> dict[str, object]:
        """A presigned POST for a browser or client to upload a large PDF directly (size-limited)."""
        return dict(
            self._client.generate_presigned_post(
                Bucket=self._bucket,
                Key=key,
                Fields={"Content-Type": "application/pdf"},
                Conditions=[{"Content-Type": "application/pdf"}, ["content-length-range", 1, max_bytes]],
                ExpiresIn=expires_in,
            )
        )
