"""E1: the seal key lives in KMS; signatures come from KMS Sign (RAW) and are checked before use."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from tachiai.adapters.kms import KmsSigner, kms_public_key
from tachiai.domain.errors import KeyServiceError, KeyServiceThrottled, SignatureMismatch
from tachiai.local.sealing_kit import local_sealing_kit
from tachiai.sealing.seal import Sealer
from tachiai.sealing.timestamping import FailoverTimeStamper

from tests.fixtures.events import event
from tests.fixtures.pdfs import simple_pdf


def _validate(pdf: bytes, root) -> Any:
    sig = PdfFileReader(BytesIO(pdf)).embedded_signatures[-1]
    return validate_pdf_signature(sig, ValidationContext(trust_roots=[root], allow_fetching=False))


def test_seals_with_an_ecc_nist_p256_kms_key(pki_dir):
    with local_sealing_kit(pki_dir / "ec", key_spec="ECC_NIST_P256") as kit:
        sealed = kit.sealer.seal_event(simple_pdf(), event())
        status = _validate(sealed, kit.pki.root_cert)
        assert status.intact and status.valid and status.trusted
        assert status.signing_cert.public_key.algorithm == "ec"


def test_seals_with_an_rsa_2048_kms_key(kit):
    status = _validate(kit.sealer.seal_event(simple_pdf(), event()), kit.pki.root_cert)
    assert status.intact and status.valid and status.trusted
    assert status.signing_cert.public_key.bit_size == 2048


def test_signature_from_a_key_that_does_not_match_the_certificate_is_refused(kit):
    # Given a signer whose KMS key is not the one the seal certificate was issued for
    kms = boto3.client("kms")
    other_key = kms.create_key(KeyUsage="SIGN_VERIFY", KeySpec="RSA_2048")["KeyMetadata"]["KeyId"]
    wrong = KmsSigner(kms, other_key, kit.pki.seal_cert, kit.pki.seal_chain)
    sealer = Sealer(signer=wrong, timestamper=kit.sealer.timestamper, trust_roots=kit.sealer.trust_roots)
    # When sealing, Then the KMS signature is rejected before it reaches any PDF
    with pytest.raises(SignatureMismatch):
        sealer.seal_event(simple_pdf(), event())


class _FailingKms:
    def __init__(self, code: str) -> None:
        self.code = code

    def sign(self, **_: Any) -> Any:
        raise ClientError({"Error": {"Code": self.code, "Message": "no"}}, "Sign")


@pytest.mark.parametrize(
    ("code", "error"),
    [("ThrottlingException", KeyServiceThrottled), ("AccessDeniedException", KeyServiceError)],
)
def test_kms_failures_become_typed_errors_that_step_functions_can_retry(kit, code, error):
    signer = KmsSigner(_FailingKms(code), "key", kit.pki.seal_cert, kit.pki.seal_chain)  # type: ignore[arg-type]
    sealer = Sealer(signer=signer, timestamper=kit.sealer.timestamper, trust_roots=kit.sealer.trust_roots)
    with pytest.raises(error) as caught:
        sealer.seal_event(simple_pdf(), event())
    assert type(caught.value) is error


def test_kms_public_key_is_the_key_in_the_seal_certificate(kit):
    kms = boto3.client("kms")
    assert kms_public_key(kms, kit.key_id).dump() == kit.pki.seal_cert.public_key.dump()


def test_tsa_failover_uses_the_next_url_when_the_first_is_down(kit):
    # Given a TSA list whose first entry refuses connections
    timestamper = FailoverTimeStamper(["http://127.0.0.1:9/tsa", kit.pki.tsa_url], timeout=2)
    sealer = Sealer(signer=kit.sealer.signer, timestamper=timestamper, trust_roots=kit.sealer.trust_roots)
    # When sealing, Then the seal is timestamped by the second TSA
    status = _validate(sealer.seal_event(simple_pdf(), event()), kit.pki.root_cert)
    assert status.timestamp_validity is not None and status.timestamp_validity.intact


def test_no_reachable_tsa_raises_timestamp_unavailable(kit):
    from tachiai.domain.errors import TimestampUnavailable

    timestamper = FailoverTimeStamper(["http://127.0.0.1:9/a", "http://127.0.0.1:9/b"], timeout=1)
    sealer = Sealer(signer=kit.sealer.signer, timestamper=timestamper, trust_roots=kit.sealer.trust_roots)
    with pytest.raises(TimestampUnavailable) as caught:
        sealer.seal_event(simple_pdf(), event())
    assert "127.0.0.1:9/a" in caught.value.detail and "127.0.0.1:9/b" in caught.value.detail


def test_seal_that_does_not_chain_to_the_trusted_root_is_never_returned(kit, tmp_path):
    from tachiai.domain.errors import SealingError

    # Given a sealer that must trust a different root than the one issuing the seal certificate
    with local_sealing_kit(tmp_path / "other") as other:
        stranger_root = other.pki.root_cert
    sealer = Sealer(signer=kit.sealer.signer, timestamper=kit.sealer.timestamper, trust_roots=[stranger_root])
    # Then sealing raises instead of returning an untrusted seal
    with pytest.raises(SealingError):
        sealer.seal_event(simple_pdf(), event())
