"""E2 (issue 13): no signing chain is started that could outlive its Step Functions execution.

A STANDARD execution lives at most one year; each participant's turn waits up to the link validity
(at most 180 days), so three participants at 180 days could be stopped mid-chain by Step Functions,
with no Catch to run and the envelope left in progress for ever. Sending refuses such an envelope,
before anything is sealed or started, with its own code and the longest validity that would fit.
"""

from __future__ import annotations

import base64
from datetime import timedelta

import pytest
from tachiai.domain.chain_lifetime import (
    EXECUTION_LIMIT,
    check_chain_lifetime,
    longest_link_validity,
    worst_case,
)
from tachiai.domain.envelope import MAX_LINK_VALIDITY, EnvelopeStatus
from tachiai.domain.errors import SigningChainTooLong
from tachiai.services import sending
from tachiai.services.sending import CreateEnvelopeRequest

from tests.unit.test_fault_injection import _PDF, HANAKO, ICHIRO, JIRO, SENDER, new_world

DAY = timedelta(days=1)


@pytest.mark.parametrize("turns", [1, 2, 3, 5, 12, 40])
def test_the_longest_validity_fits_and_one_day_more_does_not(turns):
    longest = longest_link_validity(turns)
    assert worst_case(turns, longest) <= EXECUTION_LIMIT
    assert worst_case(turns, longest + DAY) > EXECUTION_LIMIT
    check_chain_lifetime(turns, longest)
    with pytest.raises(SigningChainTooLong):
        check_chain_lifetime(turns, longest + DAY)


def test_two_participants_may_each_have_the_longest_link_validity():
    check_chain_lifetime(2, MAX_LINK_VALIDITY)


def test_the_refusal_says_how_many_days_per_link_would_fit_in_every_language():
    with pytest.raises(SigningChainTooLong) as refused:
        check_chain_lifetime(3, MAX_LINK_VALIDITY)
    error = refused.value
    assert error.code == "signing_chain_too_long" and 400 <= error.http_status < 500
    assert error.params["max_days"] == longest_link_validity(3).days == 121
    messages = error.to_dict()["message"]
    assert "121日" in messages["ja"] and "121 days" in messages["en"] and "121天" in messages["zh"]


def _draft(world, days: float, *emails: str) -> str:
    request = CreateEnvelopeRequest.model_validate(
        {
            "title": "業務委託契約書",
            "participants": [{"name": e.split("@")[0], "email": e} for e in emails],
            "documents": [{"name": "契約書.pdf", "content_base64": base64.b64encode(_PDF).decode()}],
            "link_validity_seconds": int(days * 86400),
        }
    )
    return sending.create_envelope(world.svc, SENDER, request).envelope.id


def test_sending_refuses_a_chain_that_could_outlive_its_execution_and_keeps_the_draft():
    world = new_world()
    envelope_id = _draft(world, 180, ICHIRO, HANAKO, JIRO)
    with pytest.raises(SigningChainTooLong):
        sending.send_envelope(world.svc, SENDER, envelope_id)
    # Nothing sealed, nothing started: the sender gives each link fewer days and sends again.
    assert world.envelopes.envelopes[envelope_id].status == EnvelopeStatus.DRAFT
    assert world.chain.executions == {}
    assert world.faults.calls["functions.call"] == 0


def test_sending_at_the_longest_validity_that_fits_starts_the_chain():
    world = new_world()
    envelope_id = _draft(world, longest_link_validity(3).days, ICHIRO, HANAKO, JIRO)
    sending.send_envelope(world.svc, SENDER, envelope_id)
    assert world.envelopes.envelopes[envelope_id].status == EnvelopeStatus.SENT
    assert envelope_id in world.chain.executions
