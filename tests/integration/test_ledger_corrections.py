"""L3: a sender's correction is not lost to a change the chain makes at the same moment.

The chain records its completion mails right after the Extract step; a correction sent then found the
envelope one version on and was refused with 409 (seen in CI). It is applied again to a fresh read.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from moto import mock_aws
from tachiai import names
from tachiai.adapters.dynamodb import TABLE_SCHEMA, EnvelopeRepository
from tachiai.config import settings_from
from tachiai.domain.audit import AuditKind, verify_chain
from tachiai.domain.envelope import Document, Envelope, EnvelopeStatus, Participant
from tachiai.domain.events import Person
from tachiai.services import ledger
from tachiai.services.context import Services
from tachiai.services.sending import SenderIdentity

T0 = datetime(2026, 12, 5, 3, 0, tzinfo=UTC)
SENDER = SenderIdentity(sub="sub-1", email="keiyaku@example.co.jp", name="契約 担当")


class ChainWritesFirst:
    """The repository, with the chain saving its own change just before the sender's first save."""

    def __init__(self, repository: EnvelopeRepository) -> None:
        self._repository = repository
        self.raced = False

    def __getattr__(self, name: str) -> Any:
        return getattr(self._repository, name)

    def save(self, envelope: Envelope, entries: Any, **kwargs: Any) -> Envelope:
        if not self.raced:
            self.raced = True
            current = self._repository.get(envelope.id)
            noted, entry = current.audited(
                AuditKind.ENVELOPE_COMPLETION_MAILED, "system", T0, {"template": "completed"}
            )
            self._repository.save(noted, [entry])
        return self._repository.save(envelope, entries, **kwargs)


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Services, ChainWritesFirst]]:
    from tachiai.adapters.aws import reset_clients

    monkeypatch.setenv("AWS_DEFAULT_REGION", "ap-northeast-1")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    reset_clients()
    with mock_aws():
        client = boto3.client("dynamodb", region_name="ap-northeast-1")
        client.create_table(TableName="envelopes", **TABLE_SCHEMA)
        svc = Services(settings_from({names.ENV_TABLE: "envelopes", names.ENV_MAIL_FROM: "n@example.jp"}))
        envelope = Envelope(
            id="env1",
            title="保守契約書",
            sender=SENDER.person,
            sender_id=SENDER.sub,
            participants=[Participant(id="p1", order=1, person=Person(name="髙橋", email="t@example.jp"))],
            documents=[Document(id="d1", name="c.pdf", pages=1, size=10, original_sha256="a" * 64,
                                current_sha256="a" * 64)],
            status=EnvelopeStatus.COMPLETED,
            created_at=T0,
            updated_at=T0,
        )  # fmt: skip
        audited, entry = envelope.audited("envelope.created", SENDER.sub, T0)
        svc.envelopes.save(audited, [entry], create=True)
        racing = ChainWritesFirst(svc.envelopes)
        svc.__dict__["envelopes"] = racing
        yield svc, racing
    reset_clients()


def test_a_correction_made_while_the_chain_writes_is_applied_to_the_fresh_envelope(services):
    svc, racing = services
    corrected = ledger.correct(svc, SENDER, "env1", ledger.MetadataValues(amount=450000, currency="JPY"))
    assert racing.raced
    assert corrected.metadata is not None and corrected.metadata.amount == 450000
    kinds = [entry.kind for entry in svc.envelopes.audit_trail("env1")]
    assert AuditKind.ENVELOPE_COMPLETION_MAILED in kinds  # the chain's change is kept
    assert kinds.count("metadata.corrected") == 2  # amount and currency, once each
    verify_chain(svc.envelopes.audit_trail("env1"))


def test_a_correction_that_changes_nothing_writes_nothing(services):
    svc, racing = services
    ledger.correct(svc, SENDER, "env1", ledger.MetadataValues(amount=1))
    racing.raced = False
    again = ledger.correct(svc, SENDER, "env1", ledger.MetadataValues(amount=1))
    assert not racing.raced and again.version == svc.envelopes.get("env1").version
