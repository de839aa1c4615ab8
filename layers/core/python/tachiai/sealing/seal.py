"""Sealing: one witness-type PAdES signature per event, then a document timestamp (B-LTA).

Every seal is an incremental update, so the bytes of every earlier revision stay exactly as they were.
Each seal carries a signature timestamp from the TSA and the validation data (certificates, OCSP
responses, CRLs) of its chain in the DSS, collected with a fresh validation context. A seal is checked
right after it is produced — the earlier bytes are an exact prefix of the new file, and the new
signature is intact, valid and trusted, in a signature field this very update created — and a seal
that fails the check raises instead of being returned, so it can never be stored.

Field names, the untouched metadata and the completion lock are described in
:mod:`tachiai.sealing.incremental`, which preflight rehearses.
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
from pyhanko.pdf_utils.misc import PdfDecodeLimitError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import FieldMDPAction, MDPPerm
from pyhanko.sign.signers.pdf_cms import Signer
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.errors import PathBuildingError, PathValidationError

from tachiai.domain.errors import (
    DocumentChangedSinceLastSeal,
    PdfTooComplex,
    RevocationInfoUnavailable,
    SealingError,
    SealValidationFailed,
    TachiaiError,
    UntrustedChain,
)
from tachiai.domain.events import Language, SealEvent
from tachiai.sealing.incremental import (
    DOCUMENT_TIMESTAMP_FIELD,
    SEAL_DSS,
    SEAL_FIELD_PREFIX,
    TIMESTAMP_DSS,
    completion_reason,
    free_field_name,
    seal_field_spec,
    signed_field_is_new,
    writer_for,
)
from tachiai.sealing.reason import seal_reason
from tachiai.sealing.verify import Verdict, verify_pdf

logger = logging.getLogger(__name__)

__all__ = ["DOCUMENT_TIMESTAMP_FIELD", "SEAL_FIELD_PREFIX", "Sealer"]


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

    def seal(
        self, pdf: bytes, reason: str, *, expected_sha256: str | None = None, lock: bool = False
    ) -> bytes:
        """Append one invisible, timestamped signature with ``reason`` and its validation data.

        ``expected_sha256`` is the hash of the file the previous event produced (the envelope's hash
        chain); when given, a ``pdf`` with any other content is refused before anything is signed.
        The signature goes into a new field under a name no field of ``pdf`` has; ``lock`` makes it
        the completion seal that locks every form field and the document (see :meth:`finalize`).

        :raises DocumentChangedSinceLastSeal: ``pdf`` is not the file ``expected_sha256`` names.
        :raises TimestampUnavailable: no TSA gave a timestamp (retryable).
        :raises KeyServiceError: the key service failed (``KeyServiceThrottled`` when retryable).
        :raises RevocationInfoUnavailable: OCSP/CRL for the chain could not be fetched (retryable).
        :raises SealValidationFailed: the new seal did not validate (never stored).
        :raises SealingError: pyhanko could not sign this file (never a builtin exception).
        """
        _require_expected(pdf, expected_sha256)
        with _translate_signing_errors("seal"):
            reader = _read(pdf)
            field_name = free_field_name(reader, SEAL_FIELD_PREFIX, numbered=True)
            metadata = signers.PdfSignatureMetadata(
                field_name=field_name,
                reason=reason,
                location=self.location,
                md_algorithm="sha256",
                subfilter=fields.SigSeedSubFilter.PADES,
                embed_validation_info=True,
                validation_context=self.validation_context(),
                use_pades_lta=False,
                dss_settings=SEAL_DSS,
                # the completion seal's field lock says /P 1; asking for the same here keeps pyHanko
                # from warning on every completion that it overrode its default (FILL_FORMS)
                docmdp_permissions=MDPPerm.NO_CHANGES if lock else MDPPerm.FILL_FORMS,
            )
            pdf_signer = signers.PdfSigner(
                metadata,
                signer=self.signer,
                timestamper=self.timestamper,
                new_field_spec=seal_field_spec(field_name, lock=lock),
            )
            output = BytesIO()
            pdf_signer.sign_pdf(writer_for(pdf, reader), output=output)
            sealed = output.getvalue()
            self._check_new_seal(pdf, sealed, field_name, reader.xrefs.total_revisions)
        logger.info("sealed %s (%d -> %d bytes)", field_name, len(pdf), len(sealed))
        return sealed

    def finalize(self, pdf: bytes, *, lock: bool = True) -> bytes:
        """Add the document timestamp and the validation data it needs (PAdES B-LTA).

        With ``lock`` (the default), a completion seal (:func:`completion_reason`) comes first: it
        locks every form field and the document, so that filling a field or adding an annotation
        after completion shows as a change that breaks it, in Acrobat as in pyHanko. It is skipped
        when the last signature already is such a lock by this sealer.

        The result is judged by the same verdict as ``tachiai verify --trust ROOTS --seal-cert SEAL``,
        except that signatures other parties made before the first seal (a PDF uploaded already
        signed) are accepted as what they are: they must stay intact and valid and be followed only by
        signing, but they need not chain to tachiai's roots. Every seal (made by this sealer's
        certificate) and the document timestamp must be intact, valid, trusted and LTV-complete, with
        nothing but signatures and validation data added after each.

        :raises SealingError: ``pdf`` has no signature to finalize, or pyHanko cannot finalize it
            (never a builtin exception).
        :raises TimestampUnavailable: no TSA gave a timestamp (retryable).
        :raises RevocationInfoUnavailable: validation data could not be fetched (retryable).
        :raises SealValidationFailed: the result is not valid under that verdict (never stored).
        """
        reader = _read(pdf)
        with _translate_signing_errors("finalize"):
            signed = bool(reader.embedded_signatures)
            needs_lock = signed and lock and not self._locked_by_last_seal(reader)
        if not signed:
            raise SealingError("finalize needs at least one seal")
        if needs_lock:
            pdf = self.seal(pdf, completion_reason(), lock=True)
        output = BytesIO()
        with _translate_signing_errors("document timestamp"):
            reader = _read(pdf)
            timestamp_field = free_field_name(reader, DOCUMENT_TIMESTAMP_FIELD, numbered=False)
            signers.PdfTimeStamper(self.timestamper, field_name=timestamp_field).timestamp_pdf(
                writer_for(pdf, reader),
                "sha256",
                validation_context=self.validation_context(),
                output=output,
                dss_settings=TIMESTAMP_DSS,
            )
        finalized = output.getvalue()
        _require_prefix(pdf, finalized)
        self._check_finalized(finalized)
        return finalized

    def _check_finalized(self, finalized: bytes) -> None:
        """Judge the finalized file (see :meth:`finalize`); nothing but a TachiaiError leaves here.

        :raises SealValidationFailed: the verdict is not VALID, or the file could not be judged at all
            (a typed error of verify, or anything pyHanko raised that verify did not expect: the
            file is then not shown to be valid, so it is never stored).
        """
        try:
            report = verify_pdf(finalized, self.trust_roots, seal_certificates=[self.signer.signing_cert])
            judgement = report.judge(accept_earlier_signers=True)
        except TachiaiError as e:
            raise SealValidationFailed(f"the finalized file cannot be verified: {e}") from e
        # verify reports what it expects per signature; a builtin from deeper in pyHanko (a malformed
        # structure it did not foresee, RecursionError, ...) must still end as this sealing failing,
        # never as a builtin escaping finalize into the state machine. BaseException is not caught.
        except Exception as e:
            raise SealValidationFailed(
                f"the finalized file cannot be verified: {type(e).__name__}: {e}"
            ) from e
        if judgement.verdict is not Verdict.VALID:
            raise SealValidationFailed(judgement.summary())

    def _locked_by_last_seal(self, reader: PdfFileReader) -> bool:
        last = reader.embedded_signatures[-1]
        lock = last.fieldmdp
        ours = self.signer.signing_cert
        return (
            ours is not None
            and last.docmdp_level == MDPPerm.NO_CHANGES
            and lock is not None
            and lock.action == FieldMDPAction.ALL
            and last.signer_cert.dump() == ours.dump()
        )

    def _check_new_seal(self, before: bytes, after: bytes, field_name: str, revisions_before: int) -> None:
        _require_prefix(before, after)
        reader = _read(after)
        if not signed_field_is_new(reader, field_name, revisions_before):
            # pyHanko signs into an existing empty field of that name; free_field_name avoids that,
            # and this makes sure of it: tachiai never signs a field it did not create.
            raise SealValidationFailed(f"{field_name} is not a single field created by this seal")
        new = [s for s in reader.embedded_signatures if s.field_name == field_name]
        status = validate_pdf_signature(
            new[0], signer_validation_context=self.validation_context(allow_fetching=False)
        )
        if not status.bottom_line:
            raise SealValidationFailed(f"{field_name}: {status.summary()}")


def _read(pdf: bytes) -> PdfFileReader:
    try:
        return PdfFileReader(BytesIO(pdf), strict=True)
    # any failure of the strict reader on these bytes (they passed preflight) means this seal cannot
    # be made: a typed error, never a builtin
    except PdfDecodeLimitError as e:
        raise PdfTooComplex(f"cannot read PDF: {e}") from e
    except Exception as e:
        raise SealingError(f"cannot read PDF: {type(e).__name__}: {e}") from e


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
    except PdfDecodeLimitError as exc:
        # pyHanko's own bound on decoded bytes: the same refusal preflight gives (pdf_limits)
        raise PdfTooComplex(f"{what}: {exc}") from exc
    except Exception as exc:
        # pyhanko wraps errors raised inside signers and timestampers: surface ours when wrapped.
        # Anything else -- SigningError, PdfError, or a builtin from a PDF pyhanko did not expect
        # (AttributeError on a wrongly typed form, RecursionError, ...) -- is this seal failing: the
        # caller gets a SealingError, never a builtin.
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, TachiaiError):
            cause = cause.__cause__
        if isinstance(cause, TachiaiError):
            raise cause from exc
        raise SealingError(f"{what}: {type(exc).__name__}: {exc}") from exc
