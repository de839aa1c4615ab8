"""E4: the agreement certificate is sealed and timestamped like the contract, and still reads back."""

from __future__ import annotations

from datetime import UTC, datetime
from io import BytesIO

import pypdf
from tachiai.domain.events import (
    AgreementRecord,
    AuthMethod,
    DocumentRecord,
    EventKind,
    ParticipantEvent,
    ParticipantRecord,
    Person,
)
from tachiai.sealing.certificate import render_agreement_certificate
from tachiai.sealing.verify import verify_pdf

AT = datetime(2026, 11, 22, 1, 15, 3, tzinfo=UTC)


def _record() -> AgreementRecord:
    signer = Person(name="山﨑花子", email="hanako@example.jp", organization="髙橋﨑商事株式会社")
    return AgreementRecord(
        envelope_id="env_cert_seal",
        title="業務委託契約書",
        documents=[
            DocumentRecord(
                name="業務委託契約書.pdf", pages=3, original_sha256="a" * 64, sealed_sha256="b" * 64
            )
        ],
        participants=[
            ParticipantRecord(
                order=1,
                role="signer",
                person=signer,
                events=[ParticipantEvent(kind=EventKind.AGREED, at=AT, auth_methods=[AuthMethod.EMAIL_LINK])],
            )
        ],
        completed_at=AT,
    )


def test_certificate_is_sealed_timestamped_and_ltv_enabled(kit):
    # as the finalize task issues it: the issuing seal locks the certificate itself
    sealed = kit.sealer.finalize(
        kit.sealer.seal(render_agreement_certificate(_record()), "合意締結証明書を発行しました", lock=True)
    )
    report = verify_pdf(sealed, [kit.pki.root_cert])
    assert report.ok
    assert report.ltv_complete
    # the certificate's seal (which locks it, so finalize adds no completion seal), the document timestamp
    assert [s.kind for s in report.signatures] == ["signature", "document_timestamp"]


def test_sealed_certificate_text_still_extracts_exactly(kit):
    sealed = kit.sealer.finalize(kit.sealer.seal(render_agreement_certificate(_record()), "issued"))
    text = "".join(page.extract_text() for page in pypdf.PdfReader(BytesIO(sealed)).pages)
    assert "山﨑花子" in text
    assert "髙橋﨑商事株式会社" in text
    assert "a" * 64 in text.replace("\n", "")
