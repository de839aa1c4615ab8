"""S-security, R: what can never be mailed is refused where it comes in, by the mailer's own rule.

A name and an address reach a mail header (To, From "{sender} via {service}", Reply-To). Some names
cannot survive one: written and parsed back, a long name with quotes and angle brackets reads as other
addresses. Some addresses cannot be sent at all (SES has no SMTPUTF8: no non-ASCII local part). Before,
such input was accepted, and the envelope failed at its first mail; a Reply-To was not even checked.
Now :func:`tachiai.mail.mime.mail_address` is the one rule — the mailer builds every address header
with it, and envelope creation and forwarding refuse with it (400 naming the participant and field).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tachiai.domain.errors import InvalidDisplayName, InvalidMailAddress, UnmailableParticipant
from tachiai.domain.events import Person
from tachiai.mail import templates
from tachiai.mail.mime import build_mime, mail_address, require_mailable
from tachiai.services import recipient, sending
from tachiai.services.recipient import ForwardRequest
from tachiai.services.sending import CreateEnvelopeRequest, SenderIdentity

from tests.fakes import fake_world
from tests.fixtures.pdfs import simple_pdf
from tests.unit.test_recipient_sessions import _browser, _link, _open

HOSTILE_NAME = 'Taro "The Boss" <boss@evil.example>, ' * 4
"""150 characters of quotes and angle brackets: folded into a header, it reads as four other addresses."""
SENDER = SenderIdentity(sub="sub-taro", email="taro.yamada@tachiai-tech.example", name="山田太郎")
SETTINGS = templates.MailSettings(from_address="noreply@sign.example.co.jp")


def _request(*participants: dict[str, str]) -> CreateEnvelopeRequest:
    return CreateEnvelopeRequest.model_validate(
        {
            "title": "秘密保持契約書",
            "participants": list(participants),
            "documents": [{"name": "nda.pdf", "content_base64": base64.b64encode(simple_pdf()).decode()}],
        }
    )


def _signing_request(to: Person, sender: Person) -> templates.MailMessage:
    return templates.signing_request(
        SETTINGS,
        to=to,
        language="ja",
        sender=sender,
        title="秘密保持契約書",
        link="https://sign.example.co.jp/s/" + "t" * 43,
        expires_at=datetime(2026, 11, 29, 14, 59, tzinfo=UTC),
    )


# --- the rule -------------------------------------------------------------------------------------


def test_a_long_name_with_quotes_and_angle_brackets_is_not_a_mailable_name():
    with pytest.raises(InvalidDisplayName):
        mail_address(HOSTILE_NAME, "taro@example.co.jp")


def test_a_non_ascii_local_part_is_not_a_mailable_address():
    with pytest.raises(InvalidMailAddress):
        mail_address("山田太郎", "山田@example.co.jp")


def test_ordinary_names_with_quotes_and_non_ascii_are_mailable():
    for name in ['山田 "太郎"', "O'Brien, Pat", "髙橋﨑 一郎（営業部）", 'a"b\\c', "x" * 200]:
        assert mail_address(name, "taro@例え.jp").addr_spec == "taro@xn--r8jz45g.jp"


def test_a_reply_to_that_would_read_as_other_addresses_is_never_written():
    # The sender's name goes into Reply-To: replies must not go to the addresses hidden in it.
    message = _signing_request(
        Person(name="花子", email="hanako@example.co.jp"),
        Person(name=HOSTILE_NAME, email="taro@example.co.jp"),
    )
    with pytest.raises(InvalidDisplayName):
        build_mime(message)


def test_the_refusal_names_the_participant_and_the_field():
    with pytest.raises(UnmailableParticipant) as refused:
        require_mailable(
            HOSTILE_NAME, "boss@example.co.jp", participant="boss@example.co.jp", field_prefix="p."
        )
    assert refused.value.http_status == 400 and refused.value.code == "participant_not_mailable"
    assert refused.value.params == {"participant": "boss@example.co.jp", "field": "p.name"}
    assert "p.name" in refused.value.message("ja") and "boss@example.co.jp" in refused.value.message("en")


_PIECES = [*'ab "<>,;:\\@().[]=?', "山", "é", "=?utf-8?q?", "?=", "<x@y.z>"]
_HOSTILE = (
    st.lists(st.sampled_from(_PIECES), min_size=1, max_size=40)
    .map(lambda p: ("".join(p) * 4)[:200].strip())
    .filter(bool)
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=_HOSTILE)
def test_whatever_passes_the_rule_can_be_mailed_to_and_on_behalf_of(name):
    try:
        require_mailable(name, "hanako@example.co.jp", participant="hanako@example.co.jp")
    except UnmailableParticipant:
        return
    person = Person(name=name, email="hanako@example.co.jp")
    build_mime(_signing_request(person, Person(name="山田太郎", email="taro@example.co.jp")))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=_HOSTILE)
def test_whatever_envelope_creation_accepts_of_a_sender_can_be_mailed_on_their_behalf(name):
    world = fake_world()
    sender = SenderIdentity(sub="sub-x", email="x@tachiai-tech.example", name=name)
    try:
        sending.create_envelope(world.svc, sender, _request({"name": "花子", "email": "h@example.co.jp"}))
    except UnmailableParticipant:
        return
    build_mime(_signing_request(Person(name="花子", email="h@example.co.jp"), sender.person))


# --- where people come in -------------------------------------------------------------------------


def test_creating_an_envelope_refuses_a_participant_with_an_unmailable_name():
    world = fake_world()
    request = _request(
        {"name": "髙橋一郎", "email": "ichiro@takahashizaki.example"},
        {"name": HOSTILE_NAME, "email": "boss@takahashizaki.example"},
    )
    with pytest.raises(UnmailableParticipant) as refused:
        sending.create_envelope(world.svc, SENDER, request)
    assert refused.value.params["field"] == "participants[1].name"
    assert refused.value.params["participant"] == "boss@takahashizaki.example"
    assert not world.envelopes.envelopes and not world.documents.objects


def test_creating_an_envelope_refuses_a_non_ascii_local_part():
    world = fake_world()
    with pytest.raises(UnmailableParticipant) as refused:
        sending.create_envelope(
            world.svc, SENDER, _request({"name": "山田花子", "email": "花子@example.co.jp"})
        )
    assert refused.value.params["field"] == "participants[0].email"


def test_creating_an_envelope_refuses_a_sender_whose_name_cannot_be_mailed():
    world = fake_world()
    sender = SenderIdentity(sub="sub-x", email="x@tachiai-tech.example", name=HOSTILE_NAME)
    with pytest.raises(UnmailableParticipant) as refused:
        sending.create_envelope(world.svc, sender, _request({"name": "花子", "email": "h@example.co.jp"}))
    assert refused.value.params["field"] == "sender.name"


def test_forwarding_to_an_unmailable_person_is_refused_and_the_link_stays_usable():
    link = _link()
    session = _open(link)
    request = ForwardRequest(name=HOSTILE_NAME, email="boss@takahashizaki.example", reason="担当替え")
    with pytest.raises(UnmailableParticipant) as refused:
        recipient.forward(link.world.svc, link.token, request, _browser(session))
    assert refused.value.params["field"] == "name"
    assert len(link.envelope().participants) == 1
    link.world.clock.advance(timedelta(minutes=1))
    recipient.agree(link.world.svc, link.token, _browser(session))
