"""Sealing: one witness-type PAdES signature per event, then a document timestamp (B-LTA).

Every seal is an incremental update, so the bytes of every earlier revision stay exactly as they were.
Each seal carries a signature timestamp from the TSA and the validation data (certificates, OCSP
responses, CRLs) of its chain in the DSS, collected with a fresh validation context. A seal is checked
right after it is produced — the earlier bytes are an exact prefix of the new file, and the new
signature is intact, valid and trusted — and a seal that fails the check raises instead of being
returned, so it can never be stored.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from io import BytesIO
from zoneinfo import ZoneInfo

from asn1crypto import x509
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

from tachiai.domain.errors import (
    DocumentChangedSinceLastSeal,
    RevocationInfoUnavailable,
    SealingError,
    SealValidationFailed,
    TachiaiError,
    UntrustedChain,
)
from tachiai.domain.events import Language, SealEvent
from tachiai.sealing.reason import seal_reason
from tachiai.sealing.verify import verify_pdf

logger = logging.getLogger(__name__)

SEAL_FIELD_PREFIX = "TachiaiSeal"
DOCUMENT_TIMESTAMP_FIELD = "TachiaiDocumentTimestamp"


@dataclass(frozen=True)
class Sealer:
    """What sealing needs: the key (as a pyhanko signer), the TSA, and what to trust."""

    signer: Signer
    """Signs with the seal key (KMS, PKCS#11); carries the seal certificate and its chain."""
    timestamper: TimeStamper
    """Signature and document timestamps (see :class:`FailoverTimeStamper`)."""
    trust_roots: Sequence[x509.Certificate]
    """Roots a fresh seal must chain to, checked right after sealing."""
    time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Tokyo"))
    """The tenant's zone, used in reason texts."""
    location: str | None = None
    """Optional /Location shown by validators (e.g. 日本)."""

    def validation_context(self, *, allow_fetching: bool = True) -> ValidationContext:
        """A fresh context: revocation info fetched now is never mixed between seals."""
        other_certs = list(self.signer.cert_registry) if self.signer.cert_registry else []
        return ValidationContext(
            trust_roots=list(self.trust_roots),
            other_certs=other_certs,
            allow_fetching=allow_fetching,
            revocation_mode="require" if allow_fetching else "soft-fail",
        )

    def seal_event(
        self, pdf: bytes, event: SealEvent, language: Language = "ja", *, expected_sha256: str | None = None
    ) -> bytes:
        """Append one invisible signature for ``event`` to ``pdf`` and return the new file.

        ``pdf`` must have passed preflight. The reason names the person, email, authentication
        method and time in :attr:`time_zone`. Raises as :meth:`seal`.
        """
        return self.seal(pdf, seal_reason(event, language, self.time_zone), expected_sha256=expected_sha256)

    def seal(self, pdf: bytes, reason: str, *, expected_sha256: str | None = None) -> bytes:
        """Append one invisible, timestamped signature with ``reason`` and its validation data.

        ``expected_sha256`` is the hash of the file the previous event produced (the envelope's hash
        chain); when given, a ``pdf`` with any other content is refused before anything is signed.

        :raises DocumentChangedSinceLastSeal: ``pdf`` is not the file ``expected_sha256`` names.
        :raises TimestampUnavailable: no TSA gave a timestamp (retryable).
        :raises KeyServiceError: the key service failed (``KeyServiceThrottled`` when retryable).
        :raises RevocationInfoUnavailable: OCSP/CRL for the chain could not be fetched (retryable).
        :raises SealValidationFailed: the new seal did not validate (never stored).
        :raises SealingError: pyhanko could not sign this file.
        """
        _require_expected(pdf, expected_sha256)
        reader = _read(pdf)
        field_name = f"{SEAL_FIELD_PREFIX}{_next_seal_number(reader)}"
        metadata = signers.PdfSignatureMetadata(
            field_name=field_name,
            reason=reason,
            location=self.location,
            md_algorithm="sha256",
            subfilter=fields.SigSeedSubFilter.PADES,
            embed_validation_info=True,
            validation_context=self.validation_context(),
            use_pades_lta=False,
        )
        pdf_signer = signers.PdfSigner(metadata, signer=self.signer, timestamper=self.timestamper)
        output = BytesIO()
        with _translate_signing_errors("seal"):
            pdf_signer.sign_pdf(IncrementalPdfFileWriter(BytesIO(pdf), strict=True), output=output)
        sealed = output.getvalue()
        self._check_new_seal(pdf, sealed, field_name)
        logger.info("sealed %s (%d -> %d bytes)", field_name, len(pdf), len(sealed))
        return sealed

    def finalize(self, pdf: bytes) -> bytes:
        """Add the document timestamp and the validation data it needs (PAdES B-LTA).

        The result is checked to be LTV-complete: every signature validates from the file alone,
        with no network.

        :raises TimestampUnavailable: no TSA gave a timestamp (retryable).
        :raises RevocationInfoUnavailable: validation data could not be fetched (retryable).
        :raises SealValidationFailed: the result is not intact or not LTV-complete.
        """
        reader = _read(pdf)
        if not reader.embedded_signatures:
            raise SealingError("finalize needs at least one seal")
        output = BytesIO()
        with _translate_signing_errors("document timestamp"):
            signers.PdfTimeStamper(self.timestamper, field_name=DOCUMENT_TIMESTAMP_FIELD).timestamp_pdf(
                IncrementalPdfFileWriter(BytesIO(pdf), strict=True),
                "sha256",
                validation_context=self.validation_context(),
                output=output,
            )
        finalized = output.getvalue()
        _require_prefix(pdf, finalized)
        report = verify_pdf(finalized, self.trust_roots)
        failed = [
            f"{r.field_name}: {'; '.join(r.problems) or 'not trusted'}"
            for r in report.signatures
            if not (r.ok and r.trusted and r.ltv)
        ]
        if failed or not report.ok:
            raise SealValidationFailed(" | ".join(failed) or "changed after the last signature")
        return finalized

    def _check_new_seal(self, before: bytes, after: bytes, field_name: str) -> None:
        _require_prefix(before, after)
        reader = _read(after)
        new = [s for s in reader.embedded_signatures if s.field_name == field_name]
        if len(new) != 1:
            raise SealValidationFailed(f"{field_name} not found after sealing")
        status = validate_pdf_signature(
            new[0], signer_validation_context=self.validation_context(allow_fetching=False)
        )
        if not status.bottom_line:
            raise SealValidationFailed(f"{field_name}: {status.summary()}")


def _read(pdf: bytes) -> PdfFileReader:
    try:
        return PdfFileReader(BytesIO(pdf), strict=True)
    except (PdfError, ValueError, KeyError) as e:
        raise SealingError(f"cannot read PDF: {e}") from e


def _next_seal_number(reader: PdfFileReader) -> int:
    return len(reader.embedded_signatures) + 1


def _require_prefix(before: bytes, after: bytes) -> None:
    # An incremental update only appends: if the old file is not an exact prefix, an earlier
    # revision (and so an earlier signature) was touched. startswith compares without copying.
    if len(after) <= len(before) or not after.startswith(before):
        raise SealValidationFailed("sealing rewrote earlier revisions")


def _require_expected(pdf: bytes, expected_sha256: str | None) -> None:
    if expected_sha256 is not None and hashlib.sha256(pdf).hexdigest() != expected_sha256.lower():
        raise DocumentChangedSinceLastSeal(f"expected SHA-256 {expected_sha256}")


@contextmanager
def _translate_signing_errors(what: str) -> Iterator[None]:
    """Turn pyhanko/certvalidator failures into the project's errors, keeping ours as they are."""
    try:
        yield
    except TachiaiError:
        raise
    except PathBuildingError as exc:
        # No path to a trusted root: configuration, not a passing network problem.
        raise UntrustedChain(f"{what}: {exc}") from exc
    except PathValidationError as exc:
        raise RevocationInfoUnavailable(f"{what}: {exc}") from exc
    except (SigningError, PdfError, ValueError, OSError) as exc:
        # pyhanko wraps errors raised inside signers and timestampers: surface ours when wrapped.
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, TachiaiError):
            cause = cause.__cause__
        if isinstance(cause, TachiaiError):
            raise cause from exc
        raise SealingError(f"{what}: {type(exc).__name__}: {exc}") from exc
