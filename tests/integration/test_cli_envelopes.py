"""S1, S5, S6: sending from the command line against the local runtime, as a sender would — `tachiai
send` (also from a template), `envelopes`, `status`, `remind`, `cancel`, `resend` after a rejection,
`download` (then `tachiai verify`), their `--json`, and every refusal as one line with its own code and
exit status.

The recipients act as people do: read the mail in the outbox and click its link.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from tachiai import cli
from tachiai.cli_envelopes import display_width
from tachiai.local.client import Recipient, SenderClient
from tachiai.local.runtime import LocalRuntime
from tachiai.local.samples import sample_nda_pdf

from tests.command import tachiai
from tests.fixtures.pdfs import padded_pdf

ICHIRO = ("髙橋一郎", "ichiro.cli@takahashizaki.example")
HANAKO = ("山﨑花子", "hanako.cli@takahashizaki.example")


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("cli-envelopes")) as running:
        yield running


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdfs") / "秘密保持契約書.pdf"
    path.write_bytes(sample_nda_pdf())
    return path


def environment(runtime: LocalRuntime, language: str = "en") -> dict[str, str]:
    return {
        **os.environ,
        "TACHIAI_URL": runtime.url,
        "TACHIAI_TOKEN": runtime.token("taro.cli@tachiai-tech.example", "山田太郎"),
        "TACHIAI_LANGUAGE": language,
    }


def run(runtime: LocalRuntime, *args: str, language: str = "en") -> subprocess.CompletedProcess[str]:
    return tachiai(*args, env=environment(runtime, language))


def background(runtime: LocalRuntime, *args: str) -> subprocess.Popen[str]:
    """The command running while the test acts as the recipients (``send --wait``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "tachiai.cli", *args],
        env=environment(runtime),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def send_json(runtime: LocalRuntime, contract: Path, title: str, *args: str) -> dict:
    result = run(runtime, "send", str(contract), "--title", title, "--json", *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def link_for(runtime: LocalRuntime, address: str, title: str, count: int = 1) -> str:
    deadline = time.monotonic() + 60
    while True:
        mails = [
            m
            for m in runtime.outbox.to(address)
            if title in m.subject + m.text and any("/s/" in link for link in m.links)
        ]
        if len(mails) >= count:
            link = next(link for link in mails[count - 1].links if "/s/" in link)
            return link.split("/documents/")[0].split("/certificate")[0]
        assert time.monotonic() < deadline, f"no mail to {address} about {title}"
        time.sleep(0.05)


def agree(runtime: LocalRuntime, address: str, title: str, access_code: str | None = None) -> None:
    person = Recipient(link_for(runtime, address, title))
    person.open(access_code=access_code)
    person.agree()


def one_line_refusal(result: subprocess.CompletedProcess[str], code: str) -> None:
    assert result.returncode == 1, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error [{code}]: "), result.stderr
    assert "Traceback" not in result.stderr


# --- send, status, remind -------------------------------------------------------------------------


def test_send_to_two_parties_in_order_with_an_access_code_for_the_second(runtime, contract):
    envelope = send_json(
        runtime,
        contract,
        "秘密保持契約書（CLI二者）",
        "--to",
        f"{ICHIRO[0]} <{ICHIRO[1]}>",
        "--org",
        "髙橋﨑商事株式会社",
        "--to",
        f"{HANAKO[0]}＜{HANAKO[1]}＞",  # full-width brackets, as a Japanese IME types them
        "--code",
        "4729",
        "--message",
        "ご確認をお願いします。",
        "--expires",
        "3d",
    )
    assert envelope["status"] == "sent" and envelope["link_validity_seconds"] == 3 * 86400
    people = [(p["order"], p["name"], p["email"], p["organization"]) for p in envelope["participants"]]
    assert people == [(1, *ICHIRO, "髙橋﨑商事株式会社"), (2, *HANAKO, None)]
    assert envelope["participants"][1]["auth_methods"] == ["email_link", "access_code"]
    # Only the first is asked; the code is never mailed
    link_for(runtime, ICHIRO[1], "秘密保持契約書（CLI二者）")
    assert not runtime.outbox.to(HANAKO[1])


def test_send_prints_the_id_and_how_to_follow_it_in_the_terminal_language(runtime, contract):
    result = run(
        runtime, "send", str(contract), "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>", "--draft", language="ja"
    )
    assert result.returncode == 0, result.stderr
    first, follow = result.stdout.strip().splitlines()
    envelope_id = first.split("「")[0]
    assert envelope_id.startswith("env_") and "「秘密保持契約書」を下書きとして保存しました" in first
    assert follow == f"状況の確認: tachiai status {envelope_id}"


def test_status_shows_participants_in_order_whose_turn_and_the_audit_trail(runtime, contract):
    title = "業務委託契約書（CLI状況）"
    envelope = send_json(
        runtime, contract, title, "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>", "--to", f"{HANAKO[0]} <{HANAKO[1]}>"
    )
    link_for(runtime, ICHIRO[1], title)
    result = run(runtime, "status", envelope["id"], language="ja")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.index(ICHIRO[0]) < text.index(HANAKO[0])
    assert f"手番:       {ICHIRO[0]} さん" in text and "依頼済み" in text and "順番待ち" in text
    assert "監査証跡:" in text and "envelope.created" in text and "envelope.sent" in text


def test_status_json_is_the_api_envelope_with_its_events(runtime, contract):
    envelope = send_json(runtime, contract, "CLI JSON", "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>", "--draft")
    shown = json.loads(run(runtime, "status", envelope["id"], "--json").stdout)
    assert shown["id"] == envelope["id"] and shown["status"] == "draft"
    assert [e["kind"] for e in shown["events"]] == ["envelope.created"]


def test_remind_mails_the_participant_whose_turn_it_is_again(runtime, contract):
    title = "秘密保持契約書（CLIリマインド）"
    envelope = send_json(runtime, contract, title, "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>")
    link_for(runtime, ICHIRO[1], title)
    result = run(runtime, "remind", envelope["id"])
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"Reminded {ICHIRO[0]} <{ICHIRO[1]}> (reminder 1)."
    link_for(runtime, ICHIRO[1], title, count=2)


def test_reminding_a_draft_is_refused_with_its_own_code(runtime, contract):
    envelope = send_json(runtime, contract, "CLI下書き", "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>", "--draft")
    one_line_refusal(run(runtime, "remind", envelope["id"]), "envelope_not_sent")


# --- cancel --------------------------------------------------------------------------------------


def test_cancel_then_cancel_again_is_refused_as_already_cancelled(runtime, contract):
    title = "秘密保持契約書（CLI取消）"
    envelope = send_json(runtime, contract, title, "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>")
    first = run(runtime, "cancel", envelope["id"], "--reason", "宛先誤り", language="ja")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == f"{envelope['id']}「{title}」を取り消しました。"
    again = run(runtime, "cancel", envelope["id"], language="ja")
    one_line_refusal(again, "envelope_already_cancelled")
    assert "この書類は既に取り消されています。" in again.stderr


def test_a_refusal_in_json_is_the_error_object_with_every_language(runtime, contract):
    envelope = send_json(runtime, contract, "CLI取消JSON", "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>", "--draft")
    assert run(runtime, "cancel", envelope["id"]).returncode == 0
    result = run(runtime, "cancel", envelope["id"], "--json")
    assert result.returncode == 1
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "envelope_already_cancelled"
    assert set(error["message"]) == {"ja", "en", "zh"}


def test_a_duplicate_participant_is_refused_naming_both(runtime, contract):
    result = run(
        runtime, "send", str(contract), "--to", f"A <{ICHIRO[1]}>", "--to", f"B <{ICHIRO[1].upper()}>"
    )
    one_line_refusal(result, "duplicate_participant")
    assert "Participants 1 and 2" in result.stderr


def test_an_unknown_envelope_is_refused_as_not_found(runtime):
    one_line_refusal(run(runtime, "status", "env_" + "0" * 24), "not_found")


# --- envelopes ----------------------------------------------------------------------------------


def test_envelopes_lists_a_japanese_title_aligned_in_its_column(runtime, contract):
    title = "賃貸借契約書（CLI一覧）"
    envelope = send_json(runtime, contract, title, "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>")
    link_for(runtime, ICHIRO[1], title)
    result = run(runtime, "envelopes", "--status", "in_progress", language="ja")
    assert result.returncode == 0, result.stderr
    header, rule, *rows = result.stdout.rstrip("\n").splitlines()
    row = next(r for r in rows if r.startswith(envelope["id"]))
    assert title in row and "署名待ち" in row and ICHIRO[0] in row
    # Every column starts at the same terminal column in the header, the rule and each row
    status_column = display_width(header[: header.index("状態")])
    assert display_width(row[: row.index("署名待ち")]) == status_column
    assert display_width(rule.split("  ")[0]) == len(envelope["id"])


def test_envelopes_json_has_the_envelopes_and_the_cursor(runtime, contract):
    send_json(runtime, contract, "CLI一覧JSON", "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>", "--draft")
    listed = json.loads(run(runtime, "envelopes", "--status", "draft", "--json").stdout)
    assert set(listed) == {"envelopes", "cursor"}
    assert "CLI一覧JSON" in [e["title"] for e in listed["envelopes"]]


# --- wait, download, verify ---------------------------------------------------------------------------


def test_send_wait_follows_the_envelope_until_completed_then_download_verifies(runtime, contract, tmp_path):
    title = "秘密保持契約書（CLI完了）"
    waiting = background(
        runtime,
        *("send", str(contract), "--title", title, "--wait", "--interval", "0.2"),
        *("--to", f"{ICHIRO[0]} <{ICHIRO[1]}>", "--to", f"{HANAKO[0]} <{HANAKO[1]}>", "--code", "4729"),
    )
    try:
        agree(runtime, ICHIRO[1], title)
        agree(runtime, HANAKO[1], title, access_code="4729")
        out, progress = waiting.communicate(timeout=120)
    finally:
        waiting.kill()
    assert waiting.returncode == 0, progress
    envelope_id, status = out.strip().split(": ")
    assert status == "completed"
    assert f"waiting for {HANAKO[0]} (1/2 agreed)" in progress
    result = run(runtime, "download", envelope_id, "-o", str(tmp_path), "--json")
    assert result.returncode == 0, result.stderr
    files = json.loads(result.stdout)["files"]
    assert all(f["checked"] for f in files)
    names = sorted(Path(f["path"]).name for f in files)
    assert names == sorted([contract.name, "合意締結証明書.pdf"])
    verified = tachiai("verify", str(tmp_path / contract.name), "--trust", str(runtime.root_pem))
    assert verified.returncode == 0, verified.stdout


def test_send_wait_exits_4_when_the_envelope_is_rejected(runtime, contract):
    title = "秘密保持契約書（CLI却下）"
    waiting = background(
        runtime,
        "send",
        str(contract),
        "--title",
        title,
        "--wait",
        "--json",
        "--interval",
        "0.2",
        "--to",
        f"{ICHIRO[0]} <{ICHIRO[1]}>",
    )
    try:
        person = Recipient(link_for(runtime, ICHIRO[1], title))
        person.open()
        person.reject("第5条の準拠法を明記してください。")
        out, _ = waiting.communicate(timeout=120)
    finally:
        waiting.kill()
    assert waiting.returncode == 4
    ended = json.loads(out)
    assert ended["status"] == "rejected" and ended["outcome_reason"] == "第5条の準拠法を明記してください。"
    # And sending it again is refused with a code that says why
    one_line_refusal(run(runtime, "send", ended["id"]), "envelope_not_sendable")


def test_a_draft_is_sent_later_by_its_id(runtime, contract):
    title = "秘密保持契約書（CLI下書き送信）"
    draft = send_json(runtime, contract, title, "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>", "--draft")
    assert not runtime.outbox.to(ICHIRO[1]) or all(
        title not in m.subject for m in runtime.outbox.to(ICHIRO[1])
    )
    result = run(runtime, "send", draft["id"], "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["status"] == "sent"
    link_for(runtime, ICHIRO[1], title)


def test_a_large_file_goes_through_the_presigned_upload(runtime, monkeypatch, capsys, tmp_path):
    # Given a file over the inline limit (lowered for the test: the path is the same)
    monkeypatch.setattr("tachiai.local.client.INLINE_LIMIT", 64 * 1024)
    path = tmp_path / "図面.pdf"
    path.write_bytes(padded_pdf(200 * 1024))
    for name, value in environment(runtime).items():
        if name.startswith("TACHIAI_"):
            monkeypatch.setenv(name, value)
    # When it is sent
    status = cli.main(["send", str(path), "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>", "--json"])
    # Then it was uploaded, checked and sent, and the progress went to standard error
    captured = capsys.readouterr()
    assert status == 0, captured.err
    envelope = json.loads(captured.out)
    assert envelope["status"] == "sent" and envelope["documents"][0]["size"] == len(path.read_bytes())
    assert "uploading 図面.pdf" in captured.err


# --- templates, correct and resend --------------------------------------------------------------------


def test_send_from_a_template_by_name_fills_its_open_role_with_the_to(runtime, contract):
    # Given a template whose second role has a default person and whose first is left open
    sender = SenderClient(runtime.url, environment(runtime)["TACHIAI_TOKEN"])
    template = sender.create_template(
        {
            "name": "秘密保持契約（CLI雛形）",
            "title": "秘密保持契約書（雛形から）",
            "message": "雛形からのご依頼です。",
            "roles": [{"label": "相手方"}, {"label": "承認者", "name": HANAKO[0], "email": HANAKO[1]}],
            "documents": [
                {"name": contract.name, "content_base64": base64.b64encode(contract.read_bytes()).decode()}
            ],
        }
    )
    # When it is sent by name, with only the open role's person given
    envelope = json.loads(
        run(
            runtime,
            "send",
            "--template",
            "秘密保持契約（CLI雛形）",
            "--to",
            f"{ICHIRO[0]} <{ICHIRO[1]}>",
            "--json",
        ).stdout
    )
    # Then the envelope is the template's, with the people in the roles' order, and is on its way
    assert envelope["template_id"] == template["id"] and envelope["status"] == "sent"
    assert envelope["title"] == "秘密保持契約書（雛形から）"
    assert [(p["name"], p["email"]) for p in envelope["participants"]] == [ICHIRO, HANAKO]
    assert [d["name"] for d in envelope["documents"]] == [contract.name]
    link_for(runtime, ICHIRO[1], "秘密保持契約書（雛形から）")


def test_send_with_an_unknown_template_name_is_a_usage_error(runtime):
    result = run(runtime, "send", "--template", "存在しない雛形", "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>")
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("error [usage]: ") and "存在しない雛形" in result.stderr


def test_a_rejected_envelope_is_corrected_and_resent_linked_to_the_old_one(runtime, contract):
    # Given an envelope the participant rejected
    title = "秘密保持契約書（CLI再送）"
    old = send_json(runtime, contract, title, "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>")
    person = Recipient(link_for(runtime, ICHIRO[1], title))
    person.open()
    person.reject("第5条の準拠法を明記してください。")
    SenderClient(runtime.url, environment(runtime)["TACHIAI_TOKEN"]).wait_for(old["id"], "rejected")
    # When the sender corrects the message and resends it at once
    result = run(runtime, "resend", old["id"], "--send", "--message", "第5条を修正しました。", language="ja")
    # Then a new envelope went out, linked both ways, and the participant is asked again
    assert result.returncode == 0, result.stderr
    new_id = re.findall(r"env_[0-9a-f]{24}", result.stdout)[-1]
    assert result.stdout.startswith(f"{old['id']} を修正して {new_id}「{title}」として送信しました。")
    new = json.loads(run(runtime, "status", new_id, "--json").stdout)
    assert new["resent_from"] == old["id"] and new["message"] == "第5条を修正しました。"
    assert json.loads(run(runtime, "status", old["id"], "--json").stdout)["resent_as"] == new_id
    link_for(runtime, ICHIRO[1], title, count=2)
    # And resending the same envelope twice is refused with its own code
    one_line_refusal(run(runtime, "resend", old["id"]), "envelope_already_resent")
