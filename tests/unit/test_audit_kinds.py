"""Audit kinds are one enum whose values are the strings stored, hashed and exported since the start.

Envelopes run through the signing chain on the in-memory fakes (the fault suite's helpers, without
faults); every entry the services record must carry an :class:`AuditKind`, stored as its plain value.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from tachiai.domain.audit import GENESIS_HASH, AuditEntry, AuditKind, next_entry, verify_chain
from tachiai.domain.errors import TimestampUnavailable
from tachiai.services import sending

from tests.fakes import FakeWorld
from tests.unit.test_fault_injection import (
    HANAKO,
    ICHIRO,
    JIRO,
    SENDER,
    People,
    new_world,
    run,
    send,
)

T0 = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)

# Written by tachiai before the enum existed (kind a plain ``str``): the same inputs must still give
# these hashes, or every trail stored until now would stop verifying.
SENT_BEFORE_THE_ENUM = (
    '{"envelope_id":"env1","seq":1,"at":"2026-04-01T09:30:00Z","kind":"envelope.sent",'
    '"actor":"taro@example.jp","data":{"documents":1},"prev_hash":"' + GENESIS_HASH + '",'
    '"hash":"300e2f07aa21a4ba340b6cbe839a8da65bb44fd9ef4a74e7894df4b7fcca7cf9"}'
)
AGREED_BEFORE_THE_ENUM_HASH = "85c7157524fe73d344c263dd028de560d4d77de69236b9ae081c909b350ca5c9"


def _trail(world: FakeWorld) -> list[AuditEntry]:
    return [
        entry
        for envelope_id in world.envelopes.envelopes
        for entry in world.envelopes.audit_trail(envelope_id)
    ]


@pytest.fixture(scope="module")
def world() -> FakeWorld:
    """One world in which envelopes complete (after a forward), are rejected, expire, are reminded
    and cancelled, and fail."""
    world = new_world()
    run(world, send(world, ICHIRO, HANAKO), People(world, {ICHIRO: f"forward:{JIRO}"}))
    run(world, send(world, ICHIRO, HANAKO), People(world, {HANAKO: "reject"}))
    run(world, send(world, ICHIRO, HANAKO), People(world, {HANAKO: "ignore"}))

    def remind_then_cancel(envelope_id: str, participant_id: str) -> None:
        sending.remind(world.svc, SENDER, envelope_id)
        sending.cancel(world.svc, SENDER, envelope_id, "やっぱり取り消し")

    run(world, send(world, ICHIRO), remind_then_cancel)  # type: ignore[arg-type]
    failing = send(world, ICHIRO)
    world.faults.always("sealer.seal_event", TimestampUnavailable)
    run(world, failing)
    return world


def test_every_kind_the_services_record_is_an_audit_kind(world):
    trail = _trail(world)
    assert trail
    assert all(type(entry.kind) is AuditKind for entry in trail), {type(e.kind) for e in trail}


def test_every_kind_the_services_record_is_stored_as_its_plain_value(world):
    for entry in _trail(world):
        stored = json.loads(entry.model_dump_json())["kind"]
        assert type(stored) is str and stored == entry.kind.value
        assert AuditEntry.model_validate_json(entry.model_dump_json()) == entry


def test_the_chain_records_each_way_an_envelope_goes(world):
    recorded = {entry.kind for entry in _trail(world)}
    assert {
        AuditKind.ENVELOPE_CREATED,
        AuditKind.DOCUMENT_PREPARED,
        AuditKind.ENVELOPE_SENT,
        AuditKind.PARTICIPANT_NOTIFIED,
        AuditKind.PARTICIPANT_REMINDED,
        AuditKind.PARTICIPANT_OPENED,
        AuditKind.PARTICIPANT_AGREED,
        AuditKind.PARTICIPANT_FORWARDED,
        AuditKind.PARTICIPANT_REJECTED,
        AuditKind.DOCUMENT_SEALED,
        AuditKind.DOCUMENT_TIMESTAMPED,
        AuditKind.ENVELOPE_COMPLETED,
        AuditKind.ENVELOPE_COMPLETION_MAILED,
        AuditKind.ENVELOPE_EXPIRED,
        AuditKind.ENVELOPE_CANCELLED,
        AuditKind.ENVELOPE_FAILED,
        AuditKind.METADATA_EXTRACTION_FAILED,
    } <= recorded


def test_the_stored_values_are_the_strings_written_before_the_enum():
    assert AuditKind.ENVELOPE_SENT == "envelope.sent"
    assert AuditKind.PARTICIPANT_AGREED.value == "participant.agreed"
    assert AuditKind.ENVELOPE_NOTICE_UNDELIVERED.value == "envelope.notice_undelivered"
    assert AuditKind.METADATA_EXTRACTION_FAILED.value == "metadata.extraction_failed"
    assert AuditKind.CERTIFICATE_DOWNLOADED.value == "certificate.downloaded"


def test_an_entry_made_with_the_enum_is_byte_identical_to_one_written_before_it():
    sent = next_entry(
        "env1", 0, GENESIS_HASH, AuditKind.ENVELOPE_SENT, "taro@example.jp", T0, {"documents": 1}
    )
    assert sent.model_dump_json() == SENT_BEFORE_THE_ENUM
    agreed = next_entry(
        "env1", 1, sent.hash, AuditKind.PARTICIPANT_AGREED, "ichiro@example.jp", T0, {"participant": "p1"}
    )
    assert agreed.hash == AGREED_BEFORE_THE_ENUM_HASH


def test_a_trail_stored_before_the_enum_reads_back_with_audit_kinds_and_verifies():
    stored = AuditEntry.model_validate_json(SENT_BEFORE_THE_ENUM)
    assert stored.kind is AuditKind.ENVELOPE_SENT
    verify_chain([stored])
