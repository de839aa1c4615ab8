"""``tachiai demo``: a sample NDA sealed through three events, finalized, certified and verified.

Everything runs on this machine: the seal key in an in-process moto KMS, the test PKI, OCSP responder
and TSA on loopback. The output is what a tenant's lawyer would receive.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import TypeVar

from tachiai.domain.events import (
    AgreementRecord,
    AuthMethod,
    DocumentRecord,
    EventKind,
    ParticipantEvent,
    ParticipantRecord,
    Person,
    SealEvent,
)
from tachiai.local.samples import sample_nda_pdf
from tachiai.local.sealing_kit import local_sealing_kit
from tachiai.sealing.certificate import render_agreement_certificate
from tachiai.sealing.preflight import preflight
from tachiai.sealing.verify import format_panel, verify_pdf

T = TypeVar("T")

SENDER = Person(
    name="山田太郎", email="taro.yamada@tachiai-tech.example", organization="株式会社立会テクノロジー"
)
PARTY_A = Person(
    name="髙橋一郎", email="ichiro.takahashi@takahashizaki.example", organization="髙橋﨑商事株式会社"
)
PARTY_B = Person(
    name="山﨑花子", email="hanako.yamasaki@takahashizaki.example", organization="髙橋﨑商事株式会社"
)
_BROWSER = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"
)
_DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0 Safari/537.36"
)


class _Clock:
    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []

    def step(self, name: str, action: Callable[[], T]) -> T:
        start = time.perf_counter()
        result = action()
        self.steps.append((name, time.perf_counter() - start))
        return result


def run_demo(out: Path, command: str = "tachiai") -> int:
    """Run the demo into ``out``; return the exit status (0 when every signature verifies).

    ``command`` is how the user invokes tachiai, for the hint printed at the end.
    """
    out.mkdir(parents=True, exist_ok=True)
    clock = _Clock()
    original = clock.step("generate sample NDA (2 pages)", sample_nda_pdf)
    prepared = clock.step("preflight", lambda: preflight(original))
    (out / "nda-original.pdf").write_bytes(original)

    with local_sealing_kit(out / "pki") as kit:
        sealer = kit.sealer
        # Who acts, in order, and how they authenticate; each acts just before their seal.
        actors = [
            (EventKind.SENT, SENDER, [AuthMethod.SENDER_LOGIN]),
            (EventKind.AGREED, PARTY_A, [AuthMethod.EMAIL_LINK]),
            (EventKind.AGREED, PARTY_B, [AuthMethod.EMAIL_LINK, AuthMethod.ACCESS_CODE]),
        ]
        events: list[SealEvent] = []
        pdf = prepared.pdf
        for kind, person, auth in actors:
            event = SealEvent(kind=kind, actor=person, at=datetime.now(UTC), auth_methods=auth)
            events.append(event)
            pdf = clock.step(f"seal '{kind.value}' by {person.name}", partial(sealer.seal_event, pdf, event))
        sealed = clock.step("finalize (document timestamp, LTV)", partial(sealer.finalize, pdf))

        record = AgreementRecord(
            envelope_id="env_demo_0001",
            title="秘密保持契約書（相互）",
            documents=[
                DocumentRecord(
                    name="秘密保持契約書.pdf",
                    pages=prepared.pages,
                    original_sha256=prepared.original_sha256,
                    normalized_sha256=prepared.normalized_sha256,
                    sealed_sha256=_sha256(sealed),
                )
            ],
            participants=[
                ParticipantRecord(
                    order=0,
                    role="sender",
                    person=SENDER,
                    events=[_visit(EventKind.SENT, events[0], "198.51.100.7", _DESKTOP)],
                ),
                ParticipantRecord(
                    order=1,
                    role="signer",
                    person=PARTY_A,
                    events=[_visit(kind, events[1], "203.0.113.21", _DESKTOP) for kind in _OPEN_AGREE],
                ),
                ParticipantRecord(
                    order=2,
                    role="signer",
                    person=PARTY_B,
                    events=[_visit(kind, events[2], "203.0.113.54", _BROWSER) for kind in _OPEN_AGREE],
                ),
            ],
            completed_at=events[-1].at,
        )
        certificate = clock.step("render agreement certificate", lambda: render_agreement_certificate(record))
        certificate = clock.step(
            "seal + timestamp certificate",
            lambda: sealer.finalize(
                sealer.seal(certificate, "合意締結証明書を発行しました / Certificate of agreement issued")
            ),
        )
        roots = [kit.pki.root_cert]
        report = clock.step("verify sealed NDA", lambda: verify_pdf(sealed, roots))
        cert_report = verify_pdf(certificate, roots)

    sealed_path, certificate_path, root_path = (
        out / "nda-sealed.pdf",
        out / "agreement-certificate.pdf",
        out / "root.pem",
    )
    sealed_path.write_bytes(sealed)
    certificate_path.write_bytes(certificate)
    shutil.copyfile(out / "pki" / "root.pem", root_path)

    print(format_panel(report))
    print()
    print("Steps:")
    for name, seconds in clock.steps:
        print(f"  {seconds * 1000:8.0f} ms  {name}")
    print()
    print(
        f"Sealed contract:        {sealed_path}  ({len(sealed):,} bytes, {len(report.signatures)} signatures)"
    )
    print(f"Agreement certificate:  {certificate_path}  ({'valid' if cert_report.ok else 'INVALID'})")
    print(f"Test root to trust:     {root_path}")
    print(f"Check yourself:         {command} verify {sealed_path} --trust {root_path}")
    return 0 if report.ok and report.ltv_complete and cert_report.ok else 1


_OPEN_AGREE = (EventKind.OPENED, EventKind.AGREED)


def _visit(kind: EventKind, sealed: SealEvent, ip: str, user_agent: str) -> ParticipantEvent:
    """A line of the certificate: when and how the sealed event's person acted."""
    return ParticipantEvent(
        kind=kind, at=sealed.at, auth_methods=sealed.auth_methods, ip_address=ip, user_agent=user_agent
    )


def _sha256(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()
