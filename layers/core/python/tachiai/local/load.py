"""Load on the local runtime, as a small team puts it there: many envelopes at once, over HTTP.

Used by the load tests (small N) and ``make bench`` (N = 25, and 200 double clicks on 50 envelopes).
Each envelope runs in its own thread the way people drive it: the sender creates and sends, each
party reads their mail in the outbox, opens and agrees; the envelope is done when the sender's
completion mail arrives. Afterwards every envelope is checked as evidence: its status, its seals
(verified against the test root, LTV included) and its audit chain.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

import requests

from tachiai.local.client import ApiError, Party, Recipient, SenderClient
from tachiai.local.samples import sample_nda_pdf

if TYPE_CHECKING:
    from tachiai.local.runtime import LocalRuntime

__all__ = ["DoubleClickResult", "LoadResult", "double_clicks", "run_envelopes"]

SENDER: Final = ("送信者", "load-sender@tachiai.example")
TERMINAL: Final = ("completed", "rejected", "cancelled", "expired", "failed")
WAIT_SECONDS: Final = 600.0
"""Per envelope, how long to wait for a mail (a loaded 2-core machine seals slowly, never this slowly)."""


@dataclass
class EnvelopeCheck:
    """What one envelope ended as."""

    envelope_id: str
    status: str
    seals_valid: bool = False
    signatures: int = 0
    audit_chain_valid: bool = False
    agreements: int = 0
    """``participant.agreed`` entries in its audit trail."""
    sealed_events: list[str] = field(default_factory=list)


@dataclass
class LoadResult:
    """N envelopes at once: how they ended and what went wrong on the way."""

    envelopes: list[EnvelopeCheck]
    seconds: float
    server_errors: list[str]
    """Every 5xx answer (method, path, status, code) the clients met."""
    failures: list[str]
    """Exceptions in the clients' threads (a mail that never came, a refused request...)."""
    moto_errors: int
    """Errors moto's server logged while handling requests (its thread-safety races among them)."""

    @property
    def completed(self) -> int:
        return sum(1 for e in self.envelopes if e.status == "completed")

    @property
    def all_evidence_valid(self) -> bool:
        return all(e.seals_valid and e.audit_chain_valid for e in self.envelopes)


class _ErrorCounter(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.startswith(("werkzeug", "moto", "flask")):
            self.count += 1


@contextmanager
def _counting_server_errors() -> Iterator[_ErrorCounter]:
    counter = _ErrorCounter()
    root = logging.getLogger()
    root.addHandler(counter)
    try:
        yield counter
    finally:
        root.removeHandler(counter)


class _Session(requests.Session):
    """Records every 5xx it receives."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__()
        self._errors = errors

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", 300)
        response = super().request(method, url, *args, **kwargs)
        if response.status_code >= 500:
            self._errors.append(f"{method!s} {url!s}: {response.status_code} {response.text[:200]}")
        return response


def _link(runtime: LocalRuntime, address: str, title: str, completed: bool = False) -> str:
    """The tachiai link of the mail to ``address`` about ``title`` (the completion mail if asked)."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        for mail in runtime.outbox.to(address):
            if title in mail.subject and ("完了" in mail.subject) == completed:
                return str(next(link for link in mail.links if "/s/" in link)).split("/documents/")[0]
        time.sleep(0.1)
    raise TimeoutError(f"no mail to {address} about {title}")


def _check(runtime: LocalRuntime, sender: SenderClient, envelope_id: str) -> EnvelopeCheck:
    """The envelope's end as evidence: status, verified seals, audit chain."""
    from tachiai.adapters.dynamodb import EnvelopeRepository
    from tachiai.domain.audit import AuditKind, verify_chain
    from tachiai.domain.errors import TachiaiError
    from tachiai.local.runtime import TABLE
    from tachiai.sealing.verify import verify_pdf

    assert runtime.aws is not None and runtime.pki is not None
    envelope = sender.get(envelope_id)
    check = EnvelopeCheck(envelope_id, envelope["status"], sealed_events=list(envelope["sealed_events"]))
    trail = EnvelopeRepository(runtime.aws.client("dynamodb"), TABLE).audit_trail(envelope_id)
    try:
        verify_chain(trail)
        check.audit_chain_valid = True
    except TachiaiError:
        check.audit_chain_valid = False
    check.agreements = sum(1 for entry in trail if entry.kind == AuditKind.PARTICIPANT_AGREED)
    if check.status == "completed":
        download = sender.downloads(envelope_id)[0]["url"]
        report = verify_pdf(requests.get(download, timeout=60).content, [runtime.pki.root_cert])
        check.seals_valid = report.ok and report.ltv_complete
        check.signatures = len(report.signatures)
    return check


def run_envelopes(runtime: LocalRuntime, count: int, parties: int = 2) -> LoadResult:
    """``count`` envelopes of ``parties`` signers each, all at once; how they ended.

    Each party answers as soon as their mail arrives, so every envelope is in the service at once.
    """
    nda = sample_nda_pdf()
    errors: list[str] = []
    failures: list[str] = []
    token = runtime.token(SENDER[1], SENDER[0])
    ids: list[str | None] = [None] * count

    def one(index: int) -> None:
        sender = SenderClient(runtime.url, token, _Session(errors))
        title = f"負荷試験 {index:03d} {time.monotonic_ns()}"
        people = [Party(f"署名者{n}", f"load{index}-{n}@example.jp") for n in range(parties)]
        created = sender.create(title, people, [("nda.pdf", nda)])
        ids[index] = created["id"]
        sender.send(created["id"])
        for person in people:
            recipient = Recipient(_link(runtime, person.email, title), _Session(errors))
            recipient.open()
            recipient.agree()
        _link(runtime, SENDER[1], title, completed=True)

    with _counting_server_errors() as counter:
        began = time.perf_counter()
        _run_all(count, one, failures)
        seconds = time.perf_counter() - began
    checker = SenderClient(runtime.url, token, _Session(errors))
    checks = [_check(runtime, checker, envelope_id) for envelope_id in ids if envelope_id is not None]
    return LoadResult(checks, seconds, errors, failures, counter.count)


def _run_all(count: int, job: Callable[[int], None], failures: list[str]) -> None:
    def guarded(index: int) -> None:
        try:
            job(index)
        except (ApiError, TimeoutError, requests.RequestException) as e:
            failures.append(f"#{index}: {type(e).__name__}: {e}")

    with ThreadPoolExecutor(max_workers=max(1, count), thread_name_prefix="load") as pool:
        list(pool.map(guarded, range(count)))


@dataclass
class DoubleClickResult:
    """``clicks`` agree requests, all at once, spread over single-party envelopes."""

    envelopes: list[EnvelopeCheck]
    answers: Counter[int]
    """HTTP status of every click."""
    server_errors: list[str]
    failures: list[str]
    moto_errors: int


def double_clicks(runtime: LocalRuntime, envelopes: int, clicks: int) -> DoubleClickResult:
    """Open ``envelopes`` one-party envelopes, then send ``clicks`` agree requests at the same moment
    (``clicks / envelopes`` per link, as impatient people click); wait for every envelope to end."""
    nda = sample_nda_pdf()
    errors: list[str] = []
    failures: list[str] = []
    token = runtime.token(SENDER[1], SENDER[0])
    sender = SenderClient(runtime.url, token, _Session(errors))
    prepared: list[tuple[str, str, str]] = []
    for index in range(envelopes):
        title = f"二度押し {index:03d} {time.monotonic_ns()}"
        person = Party(f"署名者{index}", f"click{index}@example.jp")
        created = sender.create(title, [person], [("nda.pdf", nda)])
        sender.send(created["id"])
        prepared.append((created["id"], title, person.email))
    links = []
    for _, title, email in prepared:
        link = _link(runtime, email, title)
        Recipient(link, _Session(errors)).open()
        links.append(link)
    answers: Counter[int] = Counter()
    barrier = threading.Barrier(clicks)
    lock = threading.Lock()

    def click(index: int) -> None:
        session = _Session(errors)
        barrier.wait()
        response = session.post(f"{links[index % envelopes]}/agree", json={})
        with lock:
            answers[response.status_code] += 1

    with _counting_server_errors() as counter:
        _run_all(clicks, click, failures)
        for envelope_id, _, _ in prepared:
            try:
                sender.wait_for(envelope_id, *TERMINAL, timeout=WAIT_SECONDS)
            except (TimeoutError, ApiError) as e:
                failures.append(str(e))
    checks = [_check(runtime, sender, envelope_id) for envelope_id, _, _ in prepared]
    return DoubleClickResult(checks, answers, errors, failures, counter.count)
