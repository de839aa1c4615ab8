"""The console's sessions in DynamoDB (moto): stored by the SHA-256 of the id, found per person, with
the table's TTL set past the last moment the session could be used."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws
from tachiai.adapters.dynamodb import TABLE_SCHEMA, ConsoleSessionRepository
from tachiai.domain.console import ConsoleSession

REGION = "ap-northeast-1"
NOW = datetime(2025, 4, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def repository(monkeypatch: pytest.MonkeyPatch) -> Iterator[ConsoleSessionRepository]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    with mock_aws():
        client = boto3.client("dynamodb", region_name=REGION)
        client.create_table(TableName="envelopes", **TABLE_SCHEMA)
        yield ConsoleSessionRepository(client, "envelopes")


def session(key: str, username: str = "member-1") -> ConsoleSession:
    return ConsoleSession(
        key=key,
        username=username,
        sub=f"sub-{username}",
        email="taro@example.co.jp",
        name="山田 太郎",
        groups=("member",),
        csrf_token="csrf",
        created_at=NOW,
        last_seen_at=NOW,
        refresh_token="refresh",
    )


def test_a_session_is_stored_read_touched_and_deleted(repository):
    repository.create(session("a" * 64))

    assert repository.get("a" * 64) == session("a" * 64)
    repository.touch("a" * 64, NOW + timedelta(minutes=10), ("admin",))
    touched = repository.get("a" * 64)
    assert touched is not None and touched.groups == ("admin",)
    assert touched.last_seen_at == NOW + timedelta(minutes=10)
    repository.delete("a" * 64)
    assert repository.get("a" * 64) is None


def test_a_persons_sessions_are_found_and_no_one_elses(repository):
    repository.create(session("a" * 64))
    repository.create(session("b" * 64))
    repository.create(session("c" * 64, username="member-2"))

    assert {s.key for s in repository.for_user("member-1")} == {"a" * 64, "b" * 64}


def test_the_ttl_is_a_day_after_the_session_could_last_be_used(repository):
    repository.create(session("a" * 64))

    item = boto3.client("dynamodb", region_name=REGION).get_item(
        TableName="envelopes", Key={"pk": {"S": "CONSOLE#" + "a" * 64}, "sk": {"S": "SESSION"}}
    )["Item"]

    assert int(item["ttl"]["N"]) == int((NOW + timedelta(hours=1, days=1)).timestamp())
