"""Envelopes in every state, on the in-memory fakes, for the tests of the envelope's page and its
signature panel: sent, in progress, completed (through the real signing chain's order of tasks,
``tests/chain_driver.py``), rejected, with a locked link.

The seal function is the real handler (``functions/seal/handler.py``) on the same fakes, so the send
side's synchronous calls (``prepare``, ``verify``) go through its task parsing; with the ``kit``'s
sealer every seal is a real one.
"""

from __future__ import annotations

import base64
import contextlib
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from tachiai.domain.envelope import MAX_ACCESS_CODE_ATTEMPTS
from tachiai.domain.errors import LinkLocked, WrongAccessCode
from tachiai.domain.ledger import record_extraction_failure
from tachiai.mail.templates import MailKind
from tachiai.services import recipient, sending
from tachiai.services.changes import save_change
from tachiai.services.recipient import Visit
from tachiai.services.sending import CreateEnvelopeRequest, SenderIdentity

from tests.chain_driver import ChainDriver
from tests.fakes import EXTRACT_FUNCTION, SEAL_FUNCTION, FakeWorld, fake_world
from tests.fixtures.pdfs import simple_pdf

ROOT = Path(__file__).resolve().parents[1]
TARO = SenderIdentity(sub="sub-taro", email="taro.yamada@tachiai-tech.example", name="山田太郎")
"""A member who sends."""
JIRO = SenderIdentity(sub="sub-jiro", email="jiro.sato@tachiai-tech.example", name="佐藤次郎")
"""Another member."""
KEIKO = SenderIdentity(
    sub="sub-keiko", email="keiko.admin@tachiai-tech.example", name="管理恵子", groups=("admin",)
)
"""An administrator."""
ICHIRO = "ichiro@takahashizaki.example"
HANAKO = "hanako@takahashizaki.example"
_TOKEN = re.compile(r"/s/([A-Za-z0-9_-]{43})")


def _handler(function: str) -> ModuleType:
    path = ROOT / "functions" / function / "handler.py"
    spec = importlib.util.spec_from_file_location(f"tachiai_story_handler_{function}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SEAL_HANDLER = _handler("seal")


def story_world(sealer: Any = None) -> FakeWorld:
    """The fakes, with the seal function answering through its real handler."""
    world = fake_world(sealer=sealer)
    world.functions.routes[SEAL_FUNCTION] = lambda event: SEAL_HANDLER.run(world.svc, event)
    world.functions.routes[EXTRACT_FUNCTION] = lambda event: {"fields": []}
    return world


def sent(
    world: FakeWorld,
    *emails: str,
    sender: SenderIdentity = TARO,
    title: str = "秘密保持契約書",
    access_code_for: str | None = None,
) -> str:
    """A sent envelope (one document), the signing chain started; nobody mailed yet."""
    pdf = base64.b64encode(simple_pdf()).decode()
    request = CreateEnvelopeRequest.model_validate(
        {
            "title": title,
            "participants": [
                {
                    "name": e.split("@")[0],
                    "email": e,
                    **({"access_code": "sakura-2025"} if e == access_code_for else {}),
                }
                for e in emails
            ],
            "documents": [{"name": "契約書.pdf", "content_base64": pdf}],
        }
    )
    envelope_id = sending.create_envelope(world.svc, sender, request).envelope.id
    sending.send_envelope(world.svc, sender, envelope_id)
    return envelope_id


def link_of(world: FakeWorld, email: str) -> str:
    """The token of the last signing link mailed to ``email``."""
    mails = [m for m in world.mailer.to(email) if m.kind in (MailKind.SIGNING_REQUEST, MailKind.REMINDER)]
    assert mails, f"no signing link was mailed to {email}"
    found = _TOKEN.search(mails[-1].text)
    assert found, mails[-1].text
    return found.group(1)


class _People:
    """Each participant opens and agrees, except those ``plan`` names: ``reject`` or ``wait`` (leave
    the chain waiting: the envelope stays in progress)."""

    def __init__(self, world: FakeWorld, plan: dict[str, str]) -> None:
        self.world, self.plan = world, plan

    def __call__(self, envelope_id: str, participant_id: str) -> None:
        svc = self.world.svc
        email = self.world.envelopes.envelopes[envelope_id].participant(participant_id).person.email
        action = self.plan.get(email, "agree")
        token = link_of(self.world, email)
        if action == "wait":
            raise _Waiting(envelope_id)
        recipient.open_documents(svc, token, accept_terms=True, access_code=None, visit=_visit())
        if action == "agree":
            recipient.agree(svc, token, _visit())
        elif action == "reject":
            recipient.reject(svc, token, "金額が違います", _visit())


class _Waiting(BaseException):
    """Stops the chain driver where a participant has not answered yet (not an error)."""


def _visit() -> Visit:
    return Visit(ip="203.0.113.7", user_agent="Mozilla/5.0 (story)")


def _no_extraction(world: FakeWorld) -> Any:
    def extract(envelope_id: str) -> dict[str, Any]:
        def change(envelope: Any) -> Any:
            changed, entry = record_extraction_failure(envelope, "not_read_in_this_test", world.clock())
            return changed, [entry]

        save_change(world.svc, world.envelopes.get(envelope_id), change)
        return {"envelopeId": envelope_id, "fields": []}

    return extract


def run_chain(world: FakeWorld, envelope_id: str, **plan: str) -> None:
    """Run the signing chain of a sent envelope; ``plan`` (``**{address: action}``) maps an address
    to ``reject`` or ``wait`` (the chain stops there, the envelope in progress)."""
    driver = ChainDriver(world, _People(world, plan), extract=_no_extraction(world))
    with contextlib.suppress(_Waiting):
        driver.run(envelope_id)


def completed(
    world: FakeWorld, *emails: str, sender: SenderIdentity = TARO, title: str = "秘密保持契約書"
) -> str:
    """An envelope every participant agreed to, finalized (certificate issued)."""
    envelope_id = sent(world, *emails, sender=sender, title=title)
    run_chain(world, envelope_id)
    return envelope_id


def rejected(world: FakeWorld, *emails: str, sender: SenderIdentity = TARO) -> str:
    """An envelope its last participant rejected ("金額が違います")."""
    envelope_id = sent(world, *emails, sender=sender)
    run_chain(world, envelope_id, **{emails[-1]: "reject"})
    return envelope_id


def waiting_for(
    world: FakeWorld, email: str, *before: str, sender: SenderIdentity = TARO, **options: Any
) -> str:
    """An envelope in progress: everyone in ``before`` agreed, ``email`` was mailed their link."""
    envelope_id = sent(world, *before, email, sender=sender, **options)
    run_chain(world, envelope_id, **{email: "wait"})
    return envelope_id


def lock_link(world: FakeWorld, email: str) -> None:
    """``email`` gives a wrong access code until their link locks."""
    token = link_of(world, email)
    for _ in range(MAX_ACCESS_CODE_ATTEMPTS - 1):
        with contextlib.suppress(WrongAccessCode):
            recipient.open_documents(world.svc, token, accept_terms=True, access_code="wrong", visit=_visit())
    try:
        recipient.open_documents(world.svc, token, accept_terms=True, access_code="wrong", visit=_visit())
    except LinkLocked:
        return
    raise AssertionError(f"the link of {email} did not lock")
