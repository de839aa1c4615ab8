"""`tachiai status` tells the sender what their mail may not have (issue 13): a final notice that could
not be delivered (the sender's own mail may be what failed), and a metadata extraction that failed."""

from __future__ import annotations

from typing import Any

import pytest
from tachiai import cli_envelopes
from tachiai.cli_envelopes import envelope_report


def _completed(**fields: Any) -> dict[str, Any]:
    return {
        "id": "env_1",
        "title": "秘密保持契約書",
        "status": "completed",
        "sender": {"name": "山田太郎", "email": "taro@example.co.jp"},
        "created_at": "2026-04-01T00:00:00+00:00",
        "sent_at": "2026-04-01T00:00:05+00:00",
        "completed_at": "2026-04-02T00:00:00+00:00",
        "documents": [],
        "participants": [],
        "undelivered_notice": None,
        "metadata_status": "extracted",
        "metadata_error": None,
        **fields,
    }


@pytest.fixture(autouse=True)
def english(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli_envelopes, "_language", lambda: "en")


def test_status_prints_that_the_completion_mail_could_not_be_delivered():
    report = envelope_report(_completed(undelivered_notice="completed"))
    assert 'the mail announcing "completed" could not be delivered' in report


def test_status_prints_a_failed_extraction_with_its_reason():
    report = envelope_report(_completed(metadata_status="failed", metadata_error="extraction_unavailable"))
    assert "extraction failed (extraction_unavailable)" in report


def test_status_of_an_envelope_whose_mails_went_out_has_no_notice_line():
    report = envelope_report(_completed())
    assert "could not be delivered" not in report and "extraction failed" not in report
