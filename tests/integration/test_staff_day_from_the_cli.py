"""A staff member's day on the local runtime, every step a `tachiai` command run with the profile that
`tachiai login` cached — no token on the command line or in the environment: login is the door.

The first administrator signs in, invites a colleague, saves a template with two roles (the second
with a default person and an access code), sends from it, follows it, reminds, sees it rejected,
corrects and resends it, and downloads the sealed contract that `tachiai verify` accepts. Around that
day: cancelling twice, unlocking a participant locked by wrong access codes, a draft edited and deleted,
a member refused a team template, and a template deleted. The recipients act as people do: they read
the mail in the outbox and follow its link.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from tachiai.cli import main
from tachiai.local.client import ApiError, Recipient
from tachiai.local.runtime import LocalRuntime
from tachiai.local.samples import sample_nda_pdf

from tests.integration.test_login_and_users import browser_sign_in, printed_url

ADMIN = ("管理 太郎", "admin.day@tachiai-tech.example")
MEMBER = ("担当 花子", "hanako.day@tachiai-tech.example")
ICHIRO = ("髙橋一郎", "ichiro.day@takahashizaki.example")
APPROVER = ("山﨑花子", "yamazaki.day@takahashizaki.example")
CODE = "4729"


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("staff-day"), persist=False) as running:
        yield running


@pytest.fixture(scope="module")
def admin_password(runtime: LocalRuntime) -> str:
    password = runtime.ensure_first_admin(ADMIN[1], ADMIN[0])
    assert password is not None
    return password


@pytest.fixture(scope="module")
def config_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("config")


@pytest.fixture(scope="module")
def contract(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pdfs") / "秘密保持契約書.pdf"
    path.write_bytes(sample_nda_pdf())
    return path


@pytest.fixture(autouse=True)
def no_token(config_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the signed-in profile: no URL or token from the environment, English output."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config_home))
    monkeypatch.setenv("TACHIAI_LANGUAGE", "en")
    for name in ("TACHIAI_URL", "TACHIAI_TOKEN", "TACHIAI_PROFILE", "TACHIAI_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)


class Terminal:
    """`tachiai ...` typed by the staff member: the exit status, standard output and standard error."""

    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        status = main(list(args))
        captured = self.capsys.readouterr()
        return status, captured.out, captured.err

    def ok(self, *args: str) -> str:
        status, out, err = self(*args)
        assert status == 0, (args, out, err)
        return out

    def json(self, *args: str) -> dict:
        return json.loads(self.ok(*args, "--json"))  # type: ignore[no-any-return]

    def refused(self, code: str, *args: str, status: int = 1) -> str:
        """The command fails with one line ``error [code]: ...`` and the exit status."""
        got, out, err = self(*args)
        assert got == status, (args, out, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"error [{code}]: "), err
        return lines[0]


@pytest.fixture
def tachiai(capsys: pytest.CaptureFixture[str]) -> Terminal:
    return Terminal(capsys)


def sign_in(
    runtime: LocalRuntime,
    tachiai: Terminal,
    monkeypatch: pytest.MonkeyPatch,
    email: str,
    password: str,
    *profile: str,
) -> str:
    """``tachiai login --no-browser``: the person opens the printed URL, signs in, and pastes the
    address the browser was sent to. The command's output."""

    def paste(prompt: str = "") -> str:
        return browser_sign_in(printed_url(tachiai.capsys.readouterr().err), email, password)

    monkeypatch.setattr("builtins.input", paste)
    return tachiai.ok("login", "--no-browser", "--url", runtime.url, *profile)


def first_sign_in(authorize_url: str, email: str, temporary: str, chosen: str) -> str:
    """An invited colleague's first sign-in: the temporary password, then one of their own; the
    address the browser is sent to, with the code."""
    browser = requests.Session()
    page = browser.get(authorize_url, timeout=30)
    hidden = re.compile(r'<input type="hidden" name="(\w+)" value="([^"]*)">')
    login = authorize_url.split("/oauth2/")[0] + "/login"
    fields = dict(hidden.findall(page.text))
    challenge = browser.post(login, data={**fields, "username": email, "password": temporary}, timeout=30)
    assert challenge.status_code == 200 and "challenge" in challenge.text, challenge.text
    answer = browser.post(
        login, data={**dict(hidden.findall(challenge.text)), "new_password": chosen}, allow_redirects=False
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


@pytest.fixture
def admin(
    runtime: LocalRuntime, admin_password: str, tachiai: Terminal, monkeypatch: pytest.MonkeyPatch
) -> Terminal:
    """The administrator, signed in (the default profile)."""
    sign_in(runtime, tachiai, monkeypatch, ADMIN[1], admin_password)
    return tachiai


def link_for(runtime: LocalRuntime, address: str, title: str, count: int = 1) -> str:
    """The signing link of the ``count``-th mail to ``address`` about ``title``, once it arrived."""
    deadline = time.monotonic() + 60
    while True:
        mails = [
            m
            for m in runtime.outbox.to(address)
            if title in m.subject + m.text and any("/s/" in x for x in m.links)
        ]
        if len(mails) >= count:
            link = next(x for x in mails[count - 1].links if "/s/" in x)
            return link.split("/documents/")[0].split("/certificate")[0]
        assert time.monotonic() < deadline, f"no mail {count} to {address} about {title}"
        time.sleep(0.05)


def status_until(tachiai: Terminal, envelope_id: str, wanted: str) -> dict:
    """``tachiai status ID --json`` until the envelope is ``wanted`` (the workers run in the background)."""
    deadline = time.monotonic() + 60
    while True:
        envelope = tachiai.json("status", envelope_id)
        if envelope["status"] == wanted:
            return envelope
        assert time.monotonic() < deadline, f"{envelope_id} is {envelope['status']}, not {wanted}"
        time.sleep(0.1)


# --- the day --------------------------------------------------------------------------------------


def test_a_staff_members_day_from_sign_in_to_the_verified_contract(
    runtime, admin_password, contract, tachiai, monkeypatch, tmp_path
):
    # Sign in (the door), and see who the CLI acts as
    assert f"<{ADMIN[1]}>" in sign_in(runtime, tachiai, monkeypatch, ADMIN[1], admin_password)
    whoami = tachiai.ok("whoami")
    assert ADMIN[1] in whoami and "admin" in whoami

    # Invite a colleague
    assert MEMBER[1] in tachiai.ok("users", "add", MEMBER[1], "--name", MEMBER[0])
    assert len(runtime.outbox.to(MEMBER[1])) == 1

    # Save a template: the counterparty named at each send, then an approver by default, with a code
    name, title = "秘密保持契約（担当者の一日）", "秘密保持契約書（担当者の一日）"
    saved = tachiai.ok(
        *("templates", "save", str(contract), "--name", name, "--title", title),
        *("--message", "ご確認をお願いします。", "--expires", "14d"),
        *(
            "--role",
            "相手方",
            "--role",
            "承認者",
            "--to",
            f"{APPROVER[0]} <{APPROVER[1]}>",
            "--code-required",
        ),
    )
    assert re.match(rf'Saved template tpl_[0-9a-f]{{24}} "{name}" \(personal\)\.', saved), saved

    header, _, row = tachiai.ok("templates", "list").splitlines()[:3]
    assert header.split()[:6] == ["id", "name", "scope", "roles", "documents", "ready"]
    assert name in row and "personal" in row and "相手方, 承認者" in row and contract.name in row
    shown = tachiai.ok("templates", "show", name)
    assert f"Title:      {title}" in shown and "14d" in shown and "ご確認をお願いします。" in shown
    approver_row = next(line for line in shown.splitlines() if "承認者" in line)
    assert f"{APPROVER[0]} <{APPROVER[1]}>" in approver_row and "access code required" in approver_row
    assert shown.index("相手方") < shown.index("承認者")

    # Send from it to two parties: the counterparty, and the approver with the code the role requires
    sent = tachiai.json(
        *("send", "--template", name, "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>"),
        *("--to", f"{APPROVER[0]} <{APPROVER[1]}>", "--role", "承認者", "--code", CODE),
    )
    envelope_id = sent["id"]
    assert sent["status"] == "sent" and sent["title"] == title
    assert [(p["name"], p["email"]) for p in sent["participants"]] == [ICHIRO, APPROVER]
    assert sent["participants"][1]["auth_methods"] == ["email_link", "access_code"]
    link_for(runtime, ICHIRO[1], title)

    # Whose turn, then a reminder to them
    assert f"Whose turn: {ICHIRO[0]}" in tachiai.ok("status", envelope_id)
    assert tachiai.ok("remind", envelope_id).strip() == f"Reminded {ICHIRO[0]} <{ICHIRO[1]}> (reminder 1)."
    link_for(runtime, ICHIRO[1], title, count=2)

    # The counterparty rejects it through the link in their mail
    ichiro = Recipient(link_for(runtime, ICHIRO[1], title, count=2))
    ichiro.open()
    ichiro.reject("第5条の準拠法を明記してください。")
    status_until(tachiai, envelope_id, "rejected")
    report = tachiai.ok("status", envelope_id)
    assert "Status:     rejected" in report and "第5条の準拠法を明記してください。" in report

    # Correct and resend at once: a new envelope linked to the old one, the access code carried over
    resent = tachiai.json("resend", envelope_id, "--send", "--message", "第5条を修正しました。")
    assert resent["resent_from"] == envelope_id and resent["status"] == "sent"
    assert tachiai.json("status", envelope_id)["resent_as"] == resent["id"]

    # Both agree, the approver with the access code
    ichiro = Recipient(link_for(runtime, ICHIRO[1], title, count=3))
    ichiro.open()
    ichiro.agree()
    approver = Recipient(link_for(runtime, APPROVER[1], title))
    approver.open(access_code=CODE)
    approver.agree()
    status_until(tachiai, resent["id"], "completed")

    # Download the sealed contract and verify it against the local root
    tachiai.ok("download", resent["id"], "-o", str(tmp_path))
    assert tachiai("verify", str(tmp_path / contract.name), "--trust", str(runtime.root_pem))[0] == 0


# --- around the day -------------------------------------------------------------------------------


def test_cancelling_twice_is_refused_with_its_own_code(admin, runtime, contract):
    title = "秘密保持契約書（取消二回）"
    envelope = admin.json("send", str(contract), "--title", title, "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>")
    link_for(runtime, ICHIRO[1], title)  # the request is out: the signing chain waits for Ichiro
    assert admin.ok("cancel", envelope["id"], "--reason", "宛先誤り").strip() == (
        f'{envelope["id"]} "{title}" cancelled.'
    )
    admin.refused("envelope_already_cancelled", "cancel", envelope["id"])


def test_reissue_unlocks_a_participant_locked_by_five_wrong_codes(admin, runtime, contract):
    # Given a participant who typed a wrong access code five times: their link is locked
    title = "秘密保持契約書（ロック解除）"
    envelope = admin.json(
        *("send", str(contract), "--title", title),
        *("--to", f"{APPROVER[0]} <{APPROVER[1]}>", "--code", CODE),
    )
    old = Recipient(link_for(runtime, APPROVER[1], title))
    for _ in range(5):
        with pytest.raises(ApiError):
            old.open(access_code="0000")
    assert admin.json("status", envelope["id"])["participants"][0]["locked"] is True
    # A reminder would mail a dead link: refused, saying why
    admin.refused("participant_locked", "remind", envelope["id"])
    # When the sender reissues their link (the participant given by their email address, any case)
    done = admin.ok("reissue", envelope["id"], APPROVER[1].upper())
    assert done.startswith(f"Unlocked the link of {APPROVER[0]} <{APPROVER[1]}>")
    # Then the new link works with the right code, and the old one is dead
    fresh = Recipient(link_for(runtime, APPROVER[1], title, count=2))
    assert fresh.link != old.link
    fresh.open(access_code=CODE)
    with pytest.raises(ApiError) as dead:
        old.open(access_code=CODE)
    assert dead.value.code == "link_invalid"
    fresh.agree()
    status_until(admin, envelope["id"], "completed")


def test_reissue_of_a_participant_whose_link_is_not_locked_is_refused(admin, runtime, contract):
    title = "秘密保持契約書（ロックなし）"
    envelope = admin.json("send", str(contract), "--title", title, "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>")
    link_for(runtime, ICHIRO[1], title)
    admin.refused("participant_not_locked", "reissue", envelope["id"], "1")


def test_reissue_of_someone_not_in_the_envelope_is_a_usage_error(admin, contract):
    envelope = admin.json(
        "send", str(contract), "--title", "CLI再発行", "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>", "--draft"
    )
    line = admin.refused("usage", "reissue", envelope["id"], "nobody@example.jp", status=2)
    assert '"nobody@example.jp"' in line


def test_a_draft_is_edited_then_deleted(admin, contract):
    draft = admin.json(
        "send", str(contract), "--title", "下書き（編集前）", "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>", "--draft"
    )
    edited = admin.ok("edit", draft["id"], "--title", "下書き（編集後）", "--expires", "3d")
    assert edited.strip() == f'Changed the draft {draft["id"]} "下書き（編集後）".'
    shown = admin.json("status", draft["id"])
    assert shown["title"] == "下書き（編集後）" and shown["link_validity_seconds"] == 3 * 86400
    assert admin.ok("delete", draft["id"]).strip() == f"Deleted the draft {draft['id']}."
    admin.refused("not_found", "status", draft["id"])


def test_edit_without_a_change_is_a_usage_error(admin, contract):
    admin.refused("usage", "edit", "env_" + "0" * 24, status=2)


def test_a_sent_envelope_is_not_deleted(admin, contract):
    envelope = admin.json(
        "send", str(contract), "--title", "送信済み（削除不可）", "--to", f"{ICHIRO[0]} <{ICHIRO[1]}>"
    )
    admin.refused("envelope_not_draft", "delete", envelope["id"])


def test_a_member_uses_the_team_template_but_may_not_save_one(admin, runtime, contract, monkeypatch):
    # Given a team template the administrator saved, and a colleague they invited
    admin.ok("templates", "save", str(contract), "--name", "チーム雛形", "--role", "相手方", "--team")
    admin.ok("users", "add", "jiro.day@tachiai-tech.example", "--name", "担当 次郎")
    invitation = runtime.outbox.to("jiro.day@tachiai-tech.example")[-1].text
    temporary = re.search(r"(?:password|パスワード)[:：]\s*(\S+)", invitation, re.IGNORECASE)
    assert temporary, invitation

    # When the colleague signs in for the first time (choosing their own password), in their own profile
    def paste(prompt: str = "") -> str:
        url = printed_url(admin.capsys.readouterr().err)
        return first_sign_in(url, "jiro.day@tachiai-tech.example", temporary[1], "Jiro-own-password-9")

    monkeypatch.setattr("builtins.input", paste)
    admin.ok("login", "--no-browser", "--url", runtime.url, "--profile", "jiro")
    # Then they see the team's template, and saving one for the team is refused in one line
    listed = admin.ok("templates", "list", "--profile", "jiro")
    assert "チーム雛形" in listed and "team" in listed
    admin.refused(
        "template_admin_only",
        *("templates", "save", str(contract), "--name", "私のチーム雛形", "--role", "相手方", "--team"),
        *("--profile", "jiro"),
    )


def test_a_template_is_deleted_by_name(admin, contract):
    saved = admin.json("templates", "save", str(contract), "--name", "消す雛形", "--role", "相手方")
    assert (
        admin.ok("templates", "delete", "消す雛形").strip() == f"Deleted template {saved['id']} (消す雛形)."
    )
    assert "消す雛形" not in admin.ok("templates", "list")
    admin.refused("usage", "templates", "show", "消す雛形", status=2)


def test_sending_a_file_with_a_template_says_the_documents_come_from_the_template(admin, contract):
    admin.ok("templates", "save", str(contract), "--name", "書類つき雛形", "--role", "相手方")
    line = admin.refused(
        "usage",
        "send",
        str(contract),
        "--template",
        "書類つき雛形",
        "--to",
        f"{ICHIRO[0]} <{ICHIRO[1]}>",
        status=2,
    )
    assert "--template" in line
