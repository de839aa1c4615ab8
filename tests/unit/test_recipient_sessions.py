"""R2, S-security: an access code binds to the client that gave it, not to whoever holds the URL.

The services run on the in-memory fakes (``tests/fakes.py``); the HTTP tests go through the real
recipient app behind the local API Gateway adapter (cookies in, ``Set-Cookie`` out), as a browser and
a JSON client meet them.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from tachiai import names
from tachiai.api import recipient as recipient_api
from tachiai.domain.documents import current_key
from tachiai.domain.envelope import (
    SESSION_VALIDITY,
    Document,
    Envelope,
    EnvelopeStatus,
    Participant,
    ParticipantStatus,
)
from tachiai.domain.errors import AuthenticationRequired, LinkLocked, WrongAccessCode
from tachiai.domain.events import AuthMethod, Person
from tachiai.domain.tokens import hash_access_code
from tachiai.local.api_gateway import ApiGatewayAdapter
from tachiai.services import recipient, workflow
from tachiai.services.recipient import ForwardRequest, Visit
from werkzeug.test import Client

from tests.fakes import FakeWorld, fake_world

CODE = "4729"
HANAKO = "hanako@takahashizaki.example"
_TOKEN = re.compile(r"/s/([A-Za-z0-9_-]{43})")
_PDF = b"%PDF-1.7\n% nda\n%%EOF\n"


@dataclass
class Link:
    world: FakeWorld
    envelope_id: str
    token: str

    def envelope(self) -> Envelope:
        return self.world.envelopes.envelopes[self.envelope_id]

    def participant(self) -> Participant:
        return self.envelope().participant("p1")


def _link(access_code: str | None = CODE, world: FakeWorld | None = None) -> Link:
    """An envelope in progress whose one participant (with ``access_code``) was just mailed a link."""
    world = world or fake_world()
    now = world.clock()
    document = Document(
        id="d1", name="秘密保持契約書.pdf", pages=1, current_sha256=hashlib.sha256(_PDF).hexdigest()
    )
    envelope = Envelope(
        id="env_0123456789abcdef01234567",
        title="秘密保持契約書",
        sender=Person(name="山田太郎", email="taro.yamada@tachiai-tech.example"),
        sender_id="sub-taro",
        status=EnvelopeStatus.SENT,
        documents=[document],
        participants=[
            Participant(
                id="p1",
                order=1,
                person=Person(name="山﨑花子", email=HANAKO),
                auth_methods=[AuthMethod.EMAIL_LINK, *([AuthMethod.ACCESS_CODE] if access_code else [])],
                access_code_hash=hash_access_code(access_code) if access_code else None,
            )
        ],
        created_at=now,
        updated_at=now,
    )
    world.envelopes.save(envelope, [], create=True)
    world.documents.put(current_key(envelope.id, document), _PDF)
    workflow.notify(world.svc, envelope.id, "p1", world.chain.open_task())
    found = _TOKEN.search(world.mailer.to(HANAKO)[-1].text)
    assert found
    return Link(world, envelope.id, found.group(1))


def _browser(session: str | None) -> Visit:
    return Visit(ip="203.0.113.7", user_agent="test", sessions=(session,) if session else ())


def _open(link: Link, visit: Visit | None = None, code: str | None = CODE) -> str | None:
    opened = recipient.open_documents(
        link.world.svc, link.token, accept_terms=True, access_code=code, visit=visit or _browser(None)
    )
    return opened.session.token if opened.session else None


# --- the service --------------------------------------------------------------------------------


def test_giving_the_access_code_starts_a_session_for_that_client():
    link = _link()
    session = _open(link)
    assert session is not None
    stored = link.participant().sessions
    assert [s.sha256 for s in stored] == [hashlib.sha256(session.encode()).hexdigest()]
    assert session not in repr(link.envelope().model_dump())  # only its hash is kept


def test_the_session_holds_for_an_hour_at_most_and_never_beyond_the_link():
    link = _link()
    _open(link)
    (session,) = link.participant().sessions
    assert session.expires_at == link.world.clock() + SESSION_VALIDITY
    assert session.auth_methods == [AuthMethod.EMAIL_LINK, AuthMethod.ACCESS_CODE]


def test_agreeing_from_another_client_without_the_code_is_refused():
    link = _link()
    _open(link)
    with pytest.raises(AuthenticationRequired):
        recipient.agree(link.world.svc, link.token, _browser(None))
    assert link.participant().status == ParticipantStatus.OPENED
    assert not link.world.chain.answers


def test_agreeing_with_a_made_up_session_is_refused():
    link = _link()
    _open(link)
    with pytest.raises(AuthenticationRequired):
        recipient.agree(link.world.svc, link.token, _browser("x" * 43))


def test_the_client_that_gave_the_code_agrees_and_the_trail_says_how():
    link = _link()
    session = _open(link)
    recipient.agree(link.world.svc, link.token, _browser(session))
    assert link.participant().status == ParticipantStatus.AGREED
    agreed = [e for e in link.world.envelopes.audit_trail(link.envelope_id) if e.kind == "participant.agreed"]
    assert agreed[0].data["auth"] == "email_link,access_code"


def test_an_expired_session_must_give_the_code_again():
    link = _link()
    session = _open(link)
    link.world.clock.advance(SESSION_VALIDITY + timedelta(seconds=1))
    with pytest.raises(AuthenticationRequired):
        recipient.agree(link.world.svc, link.token, _browser(session))


def test_reading_a_document_needs_the_session():
    link = _link()
    session = _open(link)
    with pytest.raises(AuthenticationRequired):
        recipient.document_url(link.world.svc, link.token, "d1", _browser(None))
    assert recipient.document_url(link.world.svc, link.token, "d1", _browser(session)).startswith("https://")


def test_rejecting_needs_the_session():
    link = _link()
    _open(link)
    with pytest.raises(AuthenticationRequired):
        recipient.reject(link.world.svc, link.token, "金額が違います", _browser(None))
    assert link.envelope().status == EnvelopeStatus.IN_PROGRESS


def test_forwarding_needs_the_session():
    link = _link()
    _open(link)
    request = ForwardRequest(name="鈴木次郎", email="jiro@takahashizaki.example", reason="担当替え")
    with pytest.raises(AuthenticationRequired):
        recipient.forward(link.world.svc, link.token, request, _browser(None))
    assert len(link.envelope().participants) == 1


def test_another_client_gets_its_own_session_by_giving_the_code_again():
    link = _link()
    first = _open(link)
    second = _open(link)  # another browser, the same URL, the code again
    assert second is not None and second != first
    assert len(link.participant().sessions) == 2
    kinds = [e.kind for e in link.world.envelopes.audit_trail(link.envelope_id)]
    assert kinds.count("participant.opened") == 1 and kinds.count("participant.authenticated") == 1
    recipient.agree(link.world.svc, link.token, _browser(second))
    assert link.participant().status == ParticipantStatus.AGREED


def test_another_client_without_the_code_cannot_open_again():
    link = _link()
    _open(link)
    with pytest.raises(WrongAccessCode):
        _open(link, code=None)


def test_wrong_codes_from_other_clients_still_lock_the_link():
    link = _link()
    _open(link)
    for _ in range(4):
        with pytest.raises(WrongAccessCode):
            _open(link, code="0000")
    with pytest.raises(LinkLocked):
        _open(link, code="0000")


def test_opening_again_with_a_live_session_changes_nothing():
    link = _link()
    session = _open(link)
    version = link.envelope().version
    assert _open(link, _browser(session), code=None) is None
    assert link.envelope().version == version


def test_a_link_without_access_code_needs_no_session():
    link = _link(access_code=None)
    assert _open(link, code=None) is None
    recipient.agree(link.world.svc, link.token, _browser(None))
    assert link.participant().status == ParticipantStatus.AGREED
    agreed = [e for e in link.world.envelopes.audit_trail(link.envelope_id) if e.kind == "participant.agreed"]
    assert agreed[0].data["auth"] == "email_link"


def test_the_session_token_never_reaches_the_audit_trail():
    link = _link()
    session = _open(link)
    assert session is not None
    recipient.agree(link.world.svc, link.token, _browser(session))
    trail = [e.model_dump_json() for e in link.world.envelopes.audit_trail(link.envelope_id)]
    digest = hashlib.sha256(session.encode()).hexdigest()
    assert not any(session in entry or digest in entry for entry in trail)


# --- over HTTP: the page, the JSON API, the cookie ------------------------------------------------

BASE = "https://sign.example.co.jp"


@pytest.fixture
def link(monkeypatch: pytest.MonkeyPatch) -> Link:
    made = _link()
    monkeypatch.setattr(recipient_api, "services", lambda: made.world.svc)
    return made


def _client(app: Any) -> Client:
    adapter = ApiGatewayAdapter(
        routes=[r for r in names.ROUTES if r.function == "agree"],
        invoke=lambda _function, event: app.resolve(event, None),
        authorize=lambda _header: None,
    )
    return Client(adapter)


@pytest.fixture
def app() -> Any:
    return recipient_api.build_recipient_app()


def _path(link: Link, action: str = "") -> str:
    return f"/s/{link.token}" + (f"/{action}" if action else "")


def test_the_code_given_in_the_form_sets_a_strict_session_cookie_for_this_link_only(link, app):
    browser = _client(app)
    opened = browser.post(
        _path(link, "open"), data={"accept_terms": "yes", "access_code": CODE}, base_url=BASE
    )
    assert opened.status_code == 303
    (cookie,) = opened.headers.getlist("Set-Cookie")
    assert cookie.startswith(f"{recipient_api.SESSION_COOKIE}=")
    attributes = {a.strip().split("=")[0].lower(): a.strip() for a in cookie.split(";")[1:]}
    assert attributes["path"] == f"Path={_path(link)}"
    assert {"httponly", "secure"} <= attributes.keys()
    assert attributes["samesite"] == "SameSite=Lax"
    assert attributes["max-age"] == f"Max-Age={int(SESSION_VALIDITY.total_seconds())}"


def test_the_browser_that_gave_the_code_reviews_and_agrees(link, app):
    browser = _client(app)
    browser.post(_path(link, "open"), data={"accept_terms": "yes", "access_code": CODE}, base_url=BASE)
    page = browser.get(_path(link), base_url=BASE)
    assert page.status_code == 200 and f'action="{_path(link, "agree")}"' in page.text
    agreed = browser.post(_path(link, "agree"), data={}, base_url=BASE)
    assert agreed.status_code == 303
    assert link.participant().status == ParticipantStatus.AGREED


def test_another_browser_with_the_same_url_is_asked_for_the_code(link, app):
    _client(app).post(_path(link, "open"), data={"accept_terms": "yes", "access_code": CODE}, base_url=BASE)
    stranger = _client(app)
    page = stranger.get(_path(link), base_url=BASE)
    assert 'name="access_code"' in page.text and _path(link, "agree") not in page.text
    assert "アクセスコードを入力してください" in page.text


def test_another_browser_posting_agree_gets_the_code_form_not_an_agreement(link, app):
    _client(app).post(_path(link, "open"), data={"accept_terms": "yes", "access_code": CODE}, base_url=BASE)
    stranger = _client(app)
    answer = stranger.post(_path(link, "agree"), data={}, base_url=BASE)
    assert answer.status_code == 401 and 'name="access_code"' in answer.text
    assert link.participant().status == ParticipantStatus.OPENED


def test_another_browser_cannot_download_the_document(link, app):
    _client(app).post(_path(link, "open"), data={"accept_terms": "yes", "access_code": CODE}, base_url=BASE)
    answer = _client(app).get(_path(link, "documents/d1"), base_url=BASE)
    assert answer.status_code == 401 and "Location" not in answer.headers


def test_a_json_client_without_the_session_gets_a_typed_401(link, app):
    _client(app).post(_path(link, "open"), json={"accept_terms": "yes", "access_code": CODE}, base_url=BASE)
    answer = _client(app).post(_path(link, "agree"), json={}, base_url=BASE)
    assert answer.status_code == 401
    assert answer.json["error"]["code"] == "authentication_required"


def test_a_json_client_keeping_its_cookie_agrees(link, app):
    client = _client(app)
    opened = client.post(
        _path(link, "open"), json={"accept_terms": "yes", "access_code": CODE}, base_url=BASE
    )
    assert opened.status_code == 200 and opened.headers.getlist("Set-Cookie")
    agreed = client.post(_path(link, "agree"), json={}, base_url=BASE)
    assert agreed.status_code == 200 and agreed.json["participant"] == "agreed"


def test_the_cookie_is_not_secure_only_on_plain_http_loopback(link):
    from tachiai.services.recipient import IssuedSession

    session = IssuedSession("t" * 43, link.world.clock() + SESSION_VALIDITY)
    for url, secure in [
        ("http://127.0.0.1:8080", False),
        ("http://localhost:8080", False),
        ("http://sign.example.co.jp", True),
        ("https://127.0.0.1:8080", True),
        ("https://abc.execute-api.ap-northeast-1.amazonaws.com/prod", True),
    ]:
        settings = link.world.svc.settings.model_copy(update={"public_url": url})
        svc = type(link.world.svc)(settings, link.world.clock)
        assert ("Secure" in str(recipient_api.session_cookie(svc, link.token, session))) is secure, url


def test_session_cookies_are_read_from_a_cookie_header_among_others():
    header = f"theme=dark; {recipient_api.SESSION_COOKIE}=abc; other=1, {recipient_api.SESSION_COOKIE}=def"
    assert recipient_api.session_cookies(header) == ("abc", "def")
    assert recipient_api.session_cookies(None) == ()
