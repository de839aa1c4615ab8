"""The command line's own parts: `--to` and `--expires` parsing, tables that line up Japanese text,
progress, and the exit status of each kind of failure."""

from __future__ import annotations

import io
import json

import pytest
from tachiai.cli import build_parser
from tachiai.cli_envelopes import (
    EXIT_REFUSED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    CliError,
    Progress,
    display_width,
    fit,
    parse_duration,
    parse_party,
    parties_of,
    table,
    whose_turn,
)

# --- --to ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "name", "email"),
    [
        ("山田太郎 <taro@example.co.jp>", "山田太郎", "taro@example.co.jp"),
        ("山田太郎＜taro@example.co.jp＞", "山田太郎", "taro@example.co.jp"),  # full-width brackets
        ("山田太郎 ＜taro＠example.co.jp＞", "山田太郎", "taro@example.co.jp"),  # and a full-width @
        ('"Yamada, Taro" <taro@example.co.jp>', "Yamada, Taro", "taro@example.co.jp"),
        ("山田 太郎 taro@example.co.jp", "山田 太郎", "taro@example.co.jp"),  # no brackets at all
        ("taro@example.co.jp", "taro@example.co.jp", "taro@example.co.jp"),  # the address is the name
    ],
)
def test_to_reads_a_name_and_an_address(value, name, email):
    party = parse_party(value, 1)
    assert (party.name, party.email) == (name, email)


@pytest.mark.parametrize("value", ["山田太郎", "山田 <taro>", "a, b <c@example.jp>", "<>", "taro@", ""])
def test_a_bad_to_is_a_usage_error_naming_which_one(value):
    with pytest.raises(CliError) as refused:
        parse_party(value, 3)
    assert refused.value.exit_status == EXIT_USAGE and refused.value.code == "usage"
    assert refused.value.messages["en"].startswith(f'--to number 3 "{value}"')
    assert refused.value.messages["ja"].startswith(f"3番目の --to「{value}」")


def test_participant_options_belong_to_the_to_before_them():
    args = build_parser().parse_args(
        [
            *("send", "a.pdf", "--to", "A <a@example.jp>", "--code", "4729", "--org", "甲社"),
            *("--to", "B <b@example.jp>", "--party-language", "en"),
        ]
    )
    first, second = parties_of(args)
    assert (first.access_code, first.organization, first.language) == ("4729", "甲社", None)
    assert (second.access_code, second.organization, second.language) == (None, None, "en")
    assert second.request("ja") == {"name": "B", "email": "b@example.jp", "language": "en"}
    assert first.request("ja")["language"] == "ja"


def test_a_participant_option_before_any_to_is_a_usage_error():
    args = build_parser().parse_args(["send", "a.pdf", "--code", "4729", "--to", "A <a@example.jp>"])
    with pytest.raises(CliError) as refused:
        parties_of(args)
    assert refused.value.exit_status == EXIT_USAGE and "--code" in refused.value.messages["en"]


# --- --expires ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"), [("14d", 14 * 86400), ("72h", 72 * 3600), ("2w", 14 * 86400), (" 3D ", 3 * 86400)]
)
def test_expires_reads_hours_days_and_weeks(value, seconds):
    assert parse_duration(value) == seconds


@pytest.mark.parametrize("value", ["14", "1.5d", "0d", "181d", "26w", "two weeks", "-3d"])
def test_a_bad_expires_is_a_usage_error(value):
    with pytest.raises(CliError) as refused:
        parse_duration(value)
    assert refused.value.exit_status == EXIT_USAGE and value in refused.value.messages["en"]


# --- Japanese-aware tables ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "columns"),
    [
        ("NDA", 3),
        ("秘密保持契約書", 14),  # wide: two columns each
        ("ＡＢＣ", 6),  # full-width Latin
        ("ｶﾀｶﾅ", 4),  # half-width katakana: one column each
        ("Cafe\u0301", 4),  # a combining accent takes no column
        ("契約書（第2版）", 15),
    ],
)
def test_display_width_counts_terminal_columns(text, columns):
    assert display_width(text) == columns


def test_fit_pads_to_the_width():
    assert fit("契約", 6) == "契約  "


def test_fit_cuts_with_an_ellipsis_never_half_a_wide_character():
    assert fit("秘密保持契約書", 7) == "秘密保…"
    assert fit("秘密保持契約書", 8) == "秘密保… "
    assert display_width(fit("秘密保持契約書", 8)) == 8


def test_a_table_lines_up_japanese_and_latin_rows():
    text = table(
        ["ID", "件名", "状態"],
        [["env_1", "秘密保持契約書", "署名待ち"], ["env_2", "NDA", "completed"]],
        limits=[0, 30, 0],
    )
    header, rule, first, second = text.splitlines()
    starts = [
        display_width(line[: line.index(cell)]) for line, cell in ((header, "状態"), (first, "署名待ち"))
    ]
    assert starts[0] == starts[1] == display_width(second[: second.index("completed")])
    assert rule.startswith("-----  ----")


def test_a_long_title_is_cut_at_its_column_limit():
    text = table(["件名", "状態"], [["業務委託基本契約書（ソフトウェア開発）", "下書き"]], limits=[20, 0])
    row = text.splitlines()[2]
    # nine wide characters and the ellipsis take 19 columns: one space pads it to 20, then the gap
    assert row.startswith("業務委託基本契約書…   下書き")


# --- whose turn, progress ----------------------------------------------------------------------------


def _participant(order: int, status: str) -> dict[str, object]:
    return {"id": f"p{order}", "order": order, "name": f"署名者{order}", "status": status}


def test_whose_turn_is_the_first_who_has_not_agreed_while_under_way():
    envelope = {
        "status": "in_progress",
        "participants": [_participant(2, "waiting"), _participant(1, "agreed")],
    }
    assert whose_turn(envelope)["id"] == "p2"  # type: ignore[index]
    assert whose_turn({**envelope, "status": "rejected"}) is None


class _Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_redraws_a_bar_on_a_terminal():
    stream = _Terminal()
    progress = Progress("uploading a.pdf", 2048, stream)
    progress.advance(1024)
    assert "\ruploading a.pdf [###############---------------]  50% 1.0 KB/2.0 KB" in stream.getvalue()


def test_progress_writes_one_line_when_not_on_a_terminal():
    stream = io.StringIO()
    progress = Progress("uploading a.pdf", 2048, stream)
    progress.advance(2048)
    progress.finish()
    assert stream.getvalue() == "uploading a.pdf 2.0 KB\n"


# --- exit status -------------------------------------------------------------------------------------


def test_an_unreachable_api_exits_3_with_one_line(monkeypatch, capsys):
    from tachiai.cli import main

    monkeypatch.setenv("TACHIAI_LANGUAGE", "en")
    status = main(["status", "env_" + "0" * 24, "--url", "http://127.0.0.1:9", "--token", "t"])
    err = capsys.readouterr().err
    assert status == EXIT_UNREACHABLE
    assert err.startswith("error [unreachable]: Cannot reach the API: http://127.0.0.1:9/v1/envelopes/")
    assert err.count("\n") == 1


def test_a_refusal_by_the_api_exits_1_and_json_gets_the_error_object(monkeypatch, capsys):
    from tachiai import cli
    from tachiai.local.client import ApiError

    body = {
        "error": {
            "code": "envelope_already_cancelled",
            "message": {"ja": "既に", "en": "Already", "zh": "已"},
        }
    }

    class Refusing:
        def cancel(self, envelope_id: str, reason: str | None) -> dict[str, object]:
            raise ApiError(409, body)

    monkeypatch.setattr(cli, "_sender_client", lambda args: Refusing())
    assert cli.main(["cancel", "env_x", "--json"]) == EXIT_REFUSED
    assert json.loads(capsys.readouterr().out) == body


def test_no_api_or_sign_in_is_a_usage_error(monkeypatch, capsys):
    from tachiai.cli import main

    monkeypatch.delenv("TACHIAI_URL", raising=False)
    monkeypatch.delenv("TACHIAI_TOKEN", raising=False)
    monkeypatch.setenv("HOME", "/nonexistent-home-for-the-test")
    monkeypatch.setenv("XDG_CONFIG_HOME", "/nonexistent-home-for-the-test")
    assert main(["envelopes"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.startswith("error [") and err.count("\n") == 1


@pytest.mark.parametrize(("language", "heading"), [("en", "exit status:"), ("ja", "終了ステータス:")])
def test_help_documents_the_exit_statuses_in_the_terminal_language(monkeypatch, capsys, language, heading):
    monkeypatch.setenv("TACHIAI_LANGUAGE", language)
    with pytest.raises(SystemExit):
        build_parser().parse_args(["send", "--help"])
    epilog = capsys.readouterr().out.split(heading)[1]
    assert [line.split()[0] for line in epilog.strip().splitlines()] == ["0", "1", "2", "3", "4"]
