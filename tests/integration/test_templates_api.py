"""S6, S7: the sender API's template, draft and correct-and-resend routes — status codes, error codes and
who may do what — on the send function's app against moto (as test_sender_api.py). Sending and the
template PDFs' preflight need the seal function: test_templates_resend_and_reminders.py runs them.
"""

from __future__ import annotations

from typing import Any

from tests.integration.test_sender_api import JIRO, app, call, envelope_request

__all__ = ["app"]  # the fixture, for pytest

ADMIN = {**JIRO, "cognito:groups": "admin"}


def template_request(**overrides: Any) -> dict[str, Any]:
    request: dict[str, Any] = {
        "name": "秘密保持契約",
        "title": "秘密保持契約書",
        "roles": [{"label": "相手方"}],
        "documents": [{"name": "nda.pdf"}],  # a presigned upload: checked when first used
    }
    request.update(overrides)
    return request


def test_a_template_is_created_read_changed_and_deleted_by_its_owner(app):
    status, created = call(app, "POST", "/v1/templates", template_request())
    assert status == 201 and created["ready"] is False and len(created["uploads"]) == 1
    path = f"/v1/templates/{created['id']}"

    assert call(app, "GET", path)[1]["title"] == "秘密保持契約書"
    assert [t["id"] for t in call(app, "GET", "/v1/templates")[1]["templates"]] == [created["id"]]
    status, changed = call(app, "PUT", path, template_request(title="秘密保持契約書（改）"))
    assert status == 200 and changed["title"] == "秘密保持契約書（改）"
    assert call(app, "DELETE", path)[0] == 204
    assert call(app, "GET", path)[0] == 404


def test_a_personal_template_is_not_found_by_someone_else(app):
    _, created = call(app, "POST", "/v1/templates", template_request())
    status, body = call(app, "GET", f"/v1/templates/{created['id']}", claims=JIRO)
    assert status == 404 and body["error"]["code"] == "not_found"
    assert call(app, "GET", "/v1/templates", claims=JIRO)[1]["templates"] == []


def test_a_member_is_refused_a_team_template_and_an_admin_creates_it(app):
    status, body = call(app, "POST", "/v1/templates", template_request(scope="team"))
    assert status == 403 and body["error"]["code"] == "template_admin_only"
    status, team = call(app, "POST", "/v1/templates", template_request(scope="team"), claims=ADMIN)
    assert status == 201 and team["scope"] == "team"
    # A member sees it, but cannot change it
    assert [t["id"] for t in call(app, "GET", "/v1/templates")[1]["templates"]] == [team["id"]]
    status, body = call(app, "DELETE", f"/v1/templates/{team['id']}")
    assert status == 403 and body["error"]["code"] == "template_admin_only"


def test_a_draft_is_edited_and_deleted_and_a_cancelled_one_cannot_be_edited(app):
    _, draft = call(app, "POST", "/v1/envelopes", envelope_request())
    path = f"/v1/envelopes/{draft['id']}"
    status, edited = call(
        app, "PATCH", path, {"title": "秘密保持契約書（第2版）", "auto_remind_every_days": 3}
    )
    assert status == 200 and edited["title"] == "秘密保持契約書（第2版）"
    assert edited["auto_remind_every_days"] == 3
    assert call(app, "PATCH", path, {"auto_remind_every_days": 31})[0] == 400
    assert call(app, "DELETE", path)[0] == 204
    assert call(app, "GET", path)[0] == 404

    _, other = call(app, "POST", "/v1/envelopes", envelope_request())
    call(app, "POST", f"/v1/envelopes/{other['id']}/cancel", {})
    status, body = call(app, "PATCH", f"/v1/envelopes/{other['id']}", {"title": "x"})
    assert status == 409 and body["error"]["code"] == "envelope_not_draft"


def test_a_cancelled_envelope_is_resent_as_a_linked_draft_and_a_draft_is_not_resendable(app):
    _, draft = call(app, "POST", "/v1/envelopes", envelope_request())
    status, body = call(app, "POST", f"/v1/envelopes/{draft['id']}/resend", {})
    assert status == 409 and body["error"]["code"] == "envelope_not_resendable"

    call(app, "POST", f"/v1/envelopes/{draft['id']}/cancel", {})
    status, resent = call(
        app, "POST", f"/v1/envelopes/{draft['id']}/resend", {"title": "秘密保持契約書（再送）"}
    )
    assert status == 201 and resent["status"] == "draft" and resent["title"] == "秘密保持契約書（再送）"
    assert resent["resent_from"] == draft["id"]
    assert call(app, "GET", f"/v1/envelopes/{draft['id']}")[1]["resent_as"] == resent["id"]
    status, body = call(app, "POST", f"/v1/envelopes/{draft['id']}/resend", {})
    assert status == 409 and body["error"]["code"] == "envelope_already_resent"


def test_reissuing_a_link_of_a_draft_says_it_has_not_been_sent(app):
    _, draft = call(app, "POST", "/v1/envelopes", envelope_request())
    status, body = call(app, "POST", f"/v1/envelopes/{draft['id']}/participants/p1/reissue")
    assert status == 409 and body["error"]["code"] == "envelope_not_sent"
