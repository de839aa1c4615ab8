"""``tachiai demo``: one envelope through the whole service on this machine, over HTTP, as people do it.

The local runtime starts (moto as AWS, the signing chain on Step Functions' interpreter, the Lambda
handlers in process, the test PKI and TSA on loopback). Then a sender creates and sends the sample NDA
to two parties in order — the second with an access code — each party reads their link in the outbox
(``/_local/outbox.json``), opens the documents and agrees, the chain seals each agreement and finishes
with the document timestamp and the certificate, and everyone is mailed. The sealed PDF and the
agreement certificate are downloaded through the completion mail's link and verified.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from tachiai import i18n
from tachiai.local.client import Party, Recipient, SenderClient
from tachiai.local.runtime import LocalRuntime
from tachiai.local.samples import sample_nda_pdf
from tachiai.sealing.verify import format_panel, verify_pdf

T = TypeVar("T")

SENDER_NAME, SENDER_EMAIL = "山田太郎", "taro.yamada@tachiai-tech.example"
TITLE = "秘密保持契約書（相互）"
PARTIES = (
    Party("髙橋一郎", "ichiro.takahashi@takahashizaki.example", "髙橋﨑商事株式会社"),
    Party("山﨑花子", "hanako.yamasaki@takahashizaki.example", "髙橋﨑商事株式会社", access_code="4729"),
)


class _Clock:
    def __init__(self) -> None:
        self.steps: list[tuple[str, float]] = []

    def step(self, name: str, action: Callable[[], T]) -> T:
        start = time.perf_counter()
        result = action()
        self.steps.append((name, time.perf_counter() - start))
        return result


def _outbox_link(base_url: str, address: str, subject_has: str, timeout: float = 60.0) -> str:
    """Poll the outbox page (as a person refreshes their inbox) for a mail's tachiai link."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        mails: list[dict[str, Any]] = requests.get(f"{base_url}/_local/outbox.json", timeout=10).json()
        for mail in mails:
            if address in mail["to"] and TITLE in mail["subject"] and subject_has in mail["subject"]:
                link = next(link for link in mail["links"] if "/s/" in link)
                return str(link).split("/documents/")[0].split("/certificate")[0]
        time.sleep(0.05)
    raise TimeoutError(f"no mail to {address} about {TITLE!r} within {timeout}s")


def _open_and_agree(link: str, access_code: str | None) -> None:
    person = Recipient(link)
    person.open(access_code=access_code)
    person.agree()


def run_demo(out: Path, command: str = "tachiai") -> int:
    """Run the demo into ``out``; return the exit status (0 when every signature verifies).

    ``command`` is how the user invokes tachiai, for the hint printed at the end.
    """
    out.mkdir(parents=True, exist_ok=True)
    language = i18n.from_environment()

    def t(msgid: str, **values: object) -> str:
        return i18n.text(msgid, language, **values)

    clock = _Clock()
    nda = sample_nda_pdf()
    runtime = clock.step(
        t("demo.step.start"),
        lambda: LocalRuntime(out / ".local").start(),
    )
    try:
        print(t("demo.running", url=runtime.url))
        sender = SenderClient(runtime.url, runtime.token(SENDER_EMAIL, SENDER_NAME))
        began = time.perf_counter()
        created = clock.step(
            t("demo.step.create"),
            lambda: sender.create(
                TITLE,
                PARTIES,
                [("秘密保持契約書.pdf", nda)],
                message="ご確認のほど、よろしくお願いいたします。",
            ),
        )
        envelope_id = created["id"]
        clock.step(t("demo.step.send"), lambda: sender.send(envelope_id))
        for party in PARTIES:
            link = clock.step(
                t("demo.step.request_arrives", name=party.name),
                partial(_outbox_link, runtime.url, party.email, "署名依頼"),
            )
            how = "demo.step.open_with_code_and_agree" if party.access_code else "demo.step.open_and_agree"
            clock.step(t(how, name=party.name), partial(_open_and_agree, link, party.access_code))
        clock.step(
            t("demo.step.chain"),
            lambda: sender.wait_for(envelope_id, "completed"),
        )
        done = clock.step(
            t("demo.step.completion_mail"), lambda: _outbox_link(runtime.url, SENDER_EMAIL, "完了")
        )
        envelope_seconds = time.perf_counter() - began
        contract = Recipient(done)
        sealed = clock.step(t("demo.step.download_sealed"), lambda: contract.document("d1"))
        certificate = clock.step(t("demo.step.download_certificate"), contract.certificate)
        shutil.copyfile(runtime.root_pem, out / "root.pem")
        assert runtime.pki is not None
        roots = [runtime.pki.root_cert]
        # The demo's data stays in its state directory: `tachiai local --port` serves it again on the
        # same port (the URL printed), and the sender can sign in to the console and look at what the
        # demo just did.
        console_url, console_password = runtime.console_url, runtime.console_admin(SENDER_EMAIL, SENDER_NAME)
    finally:
        runtime.stop()

    report = clock.step(t("demo.step.verify"), lambda: verify_pdf(sealed, roots))
    cert_report = verify_pdf(certificate, roots)
    sealed_path, certificate_path, root_path = (
        out / "nda-sealed.pdf",
        out / "agreement-certificate.pdf",
        out / "root.pem",
    )
    sealed_path.write_bytes(sealed)
    certificate_path.write_bytes(certificate)
    (out / "nda-original.pdf").write_bytes(nda)

    print(format_panel(report, language=language))
    print()
    print(t("demo.steps"))
    for name, seconds in clock.steps:
        print(f"  {seconds * 1000:8.0f} ms  {name}")
    print(f"  {envelope_seconds * 1000:8.0f} ms  {t('demo.whole_envelope')}")
    print()
    print(
        t(
            "demo.sealed_contract",
            path=sealed_path,
            size=f"{len(sealed):,}",
            signatures=len(report.signatures),
        )
    )
    verdict = "verify.verdict.valid" if cert_report.ok else "verify.verdict.invalid"
    print(t("demo.certificate", path=certificate_path, verdict=t(verdict)))
    print(t("demo.root", path=root_path))
    print(t("demo.check", command=command, sealed=sealed_path, root=root_path))
    print(t("demo.run_yourself", command=command))
    print()
    print(
        t(
            "demo.console",
            command=command,
            state_dir=out / ".local",
            port=urlsplit(console_url).port,
            url=console_url,
            email=SENDER_EMAIL,
            password=console_password,
        )
    )
    return 0 if report.ok and report.ltv_complete and cert_report.ok else 1
