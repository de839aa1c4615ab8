"""E2 (issue 13) over the sender API: an envelope whose signing chain could outlive its one-year
execution is refused with a 4xx naming the problem (never a 5xx, never a started chain)."""

from __future__ import annotations

from tachiai.domain.chain_lifetime import longest_link_validity

from tests.integration.test_sender_api import app, call, envelope_request  # noqa: F401 (the fixture)

THREE = [
    {"name": "髙橋一郎", "email": "ichiro@example.jp"},
    {"name": "山﨑花子", "email": "hanako@example.jp"},
    {"name": "鈴木次郎", "email": "jiro@example.jp"},
]


def test_sending_three_participants_with_180_days_each_is_refused_with_its_own_code(app):  # noqa: F811
    _, draft = call(
        app, "POST", "/v1/envelopes", envelope_request(participants=THREE, link_validity_seconds=180 * 86400)
    )
    status, body = call(app, "POST", f"/v1/envelopes/{draft['id']}/send")
    assert status == 400
    error = body["error"]
    assert error["code"] == "signing_chain_too_long"
    days = longest_link_validity(3).days
    assert f"{days} days" in error["message"]["en"] and f"{days}日" in error["message"]["ja"]
    # The envelope is still the sender's draft, to correct.
    assert call(app, "GET", f"/v1/envelopes/{draft['id']}")[1]["status"] == "draft"


def test_the_longest_validity_that_fits_is_not_refused_by_the_guard(app):  # noqa: F811
    longest = longest_link_validity(3).days * 86400
    _, draft = call(
        app, "POST", "/v1/envelopes", envelope_request(participants=THREE, link_validity_seconds=longest)
    )
    _, body = call(app, "POST", f"/v1/envelopes/{draft['id']}/send")
    # This app has no seal function configured: getting past the guard is reaching that step.
    assert (body or {}).get("error", {}).get("code") != "signing_chain_too_long"
