"""The DynamoDB side of templates, draft deletion and automatic reminders (moto): templates by owner and
team through gsi1, the due reminders as one query of gsi2's ``REMIND`` partition, a deleted draft gone
from every listing with its audit trail kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws
from tachiai.adapters.dynamodb import TABLE_SCHEMA, EnvelopeRepository, TemplateRepository
from tachiai.domain.audit import AuditKind
from tachiai.domain.envelope import (
    Document,
    Envelope,
    EnvelopeStatus,
    Participant,
    ParticipantStatus,
    next_auto_reminder,
)
from tachiai.domain.errors import Conflict, NotFound
from tachiai.domain.events import Person
from tachiai.domain.templates import Template, TemplateDocument, TemplateRole, TemplateScope, new_template_id

REGION = "ap-northeast-1"
T0 = datetime(2026, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=REGION)
        dynamodb.create_table(TableName="envelopes", **TABLE_SCHEMA)
        yield dynamodb


def _template(owner: str, name: str, scope: TemplateScope = TemplateScope.PERSONAL) -> Template:
    return Template(
        id=new_template_id(),
        name=name,
        scope=scope,
        owner_id=owner,
        title="業務委託契約書",
        roles=[TemplateRole(label="受託者")],
        documents=[TemplateDocument(id="doc_1", name="契約書.pdf")],
        created_at=T0,
        updated_at=T0,
    )


def _envelope(envelope_id: str, every: int | None, notified: datetime | None = T0) -> Envelope:
    participant = Participant(
        id="p1",
        order=1,
        person=Person(name="山﨑花子", email="hanako@example.co.jp"),
        status=ParticipantStatus.NOTIFIED if notified else ParticipantStatus.WAITING,
        notified_at=notified,
        link_expires_at=notified + timedelta(days=7) if notified else None,
        link_token_sha256="0" * 64 if notified else None,
    )
    return Envelope(
        id=envelope_id,
        title="秘密保持契約書",
        sender=Person(name="山田太郎", email="taro@example.co.jp"),
        sender_id="sub-taro",
        status=EnvelopeStatus.IN_PROGRESS if notified else EnvelopeStatus.DRAFT,
        participants=[participant],
        documents=[Document(id="d1", name="契約書.pdf")],
        auto_remind_every_days=every,
        created_at=T0,
        updated_at=T0,
    )


def test_templates_are_listed_for_their_owner_with_the_teams_and_saved_conditionally(client):
    repo = TemplateRepository(client, "envelopes")  # type: ignore[arg-type]
    mine = repo.save(_template("sub-taro", "NDA"), create=True)
    repo.save(_template("sub-hanako", "花子の"), create=True)
    team = repo.save(_template("sub-admin", "業務委託", TemplateScope.TEAM), create=True)

    assert [t.id for t in repo.list_for("sub-taro")] == [mine.id, team.id]
    assert repo.get(mine.id) == mine
    with pytest.raises(Conflict):
        repo.save(mine.model_copy(update={"version": 0}))  # read before the first save: stale
    changed = repo.save(mine.model_copy(update={"title": "秘密保持契約書"}))
    assert changed.version == 2
    repo.delete(changed)
    with pytest.raises(NotFound):
        repo.get(mine.id)


def test_due_reminders_are_one_query_of_the_envelopes_whose_reminder_is_due(client):
    repo = EnvelopeRepository(client, "envelopes")  # type: ignore[arg-type]
    daily = repo.save(_envelope("env_daily", every=1), [], create=True)
    repo.save(_envelope("env_weekly", every=5), [], create=True)
    repo.save(_envelope("env_off", every=None), [], create=True)

    assert next_auto_reminder(daily) == T0 + timedelta(days=1)
    assert repo.due_reminders(T0 + timedelta(hours=23)) == []
    assert repo.due_reminders(T0 + timedelta(days=1)) == ["env_daily"]
    assert repo.due_reminders(T0 + timedelta(days=6)) == ["env_daily", "env_weekly"]
    # Once nothing is due any more (the envelope ended), the save takes it out of the index.
    repo.save(daily.model_copy(update={"status": EnvelopeStatus.CANCELLED}), [])
    assert repo.due_reminders(T0 + timedelta(days=6)) == ["env_weekly"]


def test_a_deleted_draft_leaves_the_listing_and_keeps_its_audit_trail(client):
    repo = EnvelopeRepository(client, "envelopes")  # type: ignore[arg-type]
    draft = _envelope("env_draft", every=None, notified=None)
    draft, created = draft.audited(AuditKind.ENVELOPE_CREATED, "taro@example.co.jp", T0)
    stored = repo.save(draft, [created], create=True)
    _, deleted = stored.audited(AuditKind.ENVELOPE_DELETED, "taro@example.co.jp", T0)
    with pytest.raises(Conflict):
        repo.delete_draft(draft, deleted)  # a stale version deletes nothing
    repo.delete_draft(stored, deleted)

    with pytest.raises(NotFound):
        repo.get("env_draft")
    assert repo.list_for_sender("sub-taro").envelopes == []
    assert [e.kind.value for e in repo.audit_trail("env_draft")] == ["envelope.created", "envelope.deleted"]
    ledger = client.query(  # type: ignore[attr-defined]
        TableName="envelopes",
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "ENV#env_draft"}},
    )["Items"]
    assert sorted(i["sk"]["S"] for i in ledger) == ["EVT#00000001", "EVT#00000002"]
