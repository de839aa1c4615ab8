"""The command line of templates, reissue and a draft's edit and delete: how each reads its arguments
(the roles in signing order with the options after each ``--role``, the participant to reissue by id,
number or address), and the usage errors named before any request is made."""

from __future__ import annotations

import pytest
from tachiai.cli import build_parser, main
from tachiai.cli_envelopes import EXIT_USAGE, CliError, participant_of
from tachiai.cli_templates import roles_of, template_request


def parse(*argv: str):
    return build_parser().parse_args(list(argv))


SAVE = ("templates", "save", "業務委託契約書.pdf", "--name", "業務委託")


# --- templates save: roles ---------------------------------------------------------------------------


def test_roles_come_in_signing_order_with_the_options_after_each_role():
    args = parse(
        *SAVE,
        *(
            "--role",
            "受託者",
            "--role",
            "承認者",
            "--to",
            "山﨑花子 <hanako@example.co.jp>",
            "--code-required",
        ),
        *("--role", "経理"),
    )
    assert roles_of(args) == [
        {"label": "受託者", "access_code_required": False},
        {
            "label": "承認者",
            "access_code_required": True,
            "name": "山﨑花子",
            "email": "hanako@example.co.jp",
        },
        {"label": "経理", "access_code_required": False},
    ]


def test_the_template_language_is_each_roles_language():
    args = parse(*SAVE, "--role", "Contractor", "--language", "en")
    assert roles_of(args) == [{"label": "Contractor", "access_code_required": False, "language": "en"}]


@pytest.mark.parametrize("option", [("--to", "A <a@example.jp>"), ("--code-required",)])
def test_a_role_option_before_any_role_is_a_usage_error_naming_it(option):
    args = parse(*SAVE, *option, "--role", "受託者")
    with pytest.raises(CliError) as refused:
        roles_of(args)
    assert refused.value.exit_status == EXIT_USAGE and refused.value.code == "usage"
    assert refused.value.messages["en"].startswith(f"{option[0]} applies to the --role before it")


def test_two_default_people_for_one_role_is_a_usage_error_naming_the_role():
    args = parse(*SAVE, "--role", "承認者", "--to", "A <a@example.jp>", "--to", "B <b@example.jp>")
    with pytest.raises(CliError) as refused:
        roles_of(args)
    assert "「承認者」" in refused.value.messages["ja"] and "--to" in refused.value.messages["ja"]


def test_a_template_without_roles_is_a_usage_error():
    with pytest.raises(CliError) as refused:
        roles_of(parse(*SAVE))
    assert "--role" in refused.value.messages["en"]


def test_a_bad_default_person_is_a_usage_error_naming_which_to():
    args = parse(*SAVE, "--role", "甲", "--to", "A <a@example.jp>", "--role", "乙", "--to", "山田太郎")
    with pytest.raises(CliError) as refused:
        roles_of(args)
    assert refused.value.messages["en"].startswith('--to number 2 "山田太郎"')


# --- templates save: the request ------------------------------------------------------------------------


def test_the_save_request_has_the_settings_given_and_no_others():
    args = parse(*SAVE, "--role", "受託者", "--expires", "2w", "--remind-every", "3", "--team")
    request = template_request(args, [("業務委託契約書.pdf", b"%PDF-1.7 ...")])
    assert request["scope"] == "team" and request["title"] == "業務委託契約書"
    assert request["link_validity_seconds"] == 14 * 86400 and request["auto_remind_every_days"] == 3
    assert request["documents"] == [{"name": "業務委託契約書.pdf", "content_base64": "JVBERi0xLjcgLi4u"}]
    assert "message" not in request and "language" not in request


def test_a_personal_template_is_the_default():
    request = template_request(parse(*SAVE, "--role", "受託者", "--title", "件名"), [("a.pdf", b"%PDF")])
    assert request["scope"] == "personal" and request["title"] == "件名"


def test_a_bad_expiry_is_a_usage_error():
    with pytest.raises(CliError) as refused:
        template_request(parse(*SAVE, "--role", "受託者", "--expires", "1y"), [])
    assert refused.value.messages["en"].startswith('--expires "1y"')


# --- templates: list, show, delete ---------------------------------------------------------------------


def test_templates_alone_lists_them():
    assert parse("templates").func.__name__ == "cmd_list"
    assert parse("templates", "list").func.__name__ == "cmd_list"


def test_json_before_the_action_is_kept():
    args = parse("templates", "--json", "list")
    assert args.json is True and args.func.__name__ == "cmd_list"


def test_show_and_delete_take_a_name_or_an_id():
    shown = parse("templates", "show", "業務委託", "--json")
    deleted = parse("templates", "delete", "tpl_" + "0" * 24, "--profile", "work")
    assert (shown.func.__name__, shown.template, shown.json) == ("cmd_show", "業務委託", True)
    assert (deleted.func.__name__, deleted.template, deleted.profile) == (
        "cmd_delete",
        "tpl_" + "0" * 24,
        "work",
    )


# --- reissue: which participant -------------------------------------------------------------------------

ENVELOPE = {
    "id": "env_" + "1" * 24,
    "participants": [
        {"id": "p1", "order": 1, "email": "ichiro@example.co.jp", "status": "agreed"},
        {"id": "p2", "order": 2, "email": "hanako@example.co.jp", "status": "forwarded"},
        {"id": "p3", "order": 3, "email": "hanako@example.co.jp", "status": "notified"},
    ],
}


@pytest.mark.parametrize(
    ("which", "found"), [("p1", "p1"), ("1", "p1"), ("3", "p3"), ("ICHIRO@example.co.jp", "p1")]
)
def test_a_participant_is_given_by_id_number_or_address(which, found):
    assert participant_of(ENVELOPE, which)["id"] == found


def test_of_two_with_one_address_the_one_still_in_the_order_is_reissued():
    assert participant_of(ENVELOPE, "hanako@example.co.jp")["id"] == "p3"


@pytest.mark.parametrize("which", ["p9", "4", "0", "nobody@example.co.jp", "hanako"])
def test_someone_not_in_the_envelope_is_a_usage_error(which):
    with pytest.raises(CliError) as refused:
        participant_of(ENVELOPE, which)
    assert refused.value.exit_status == EXIT_USAGE
    assert f'"{which}"' in refused.value.messages["en"] and ENVELOPE["id"] in refused.value.messages["en"]


def test_reissue_edit_and_delete_read_their_arguments():
    reissue = parse("reissue", "env_x", "2")
    edit = parse("edit", "env_x", "--title", "新しい件名", "--expires", "3d")
    assert (reissue.envelope_id, reissue.participant) == ("env_x", "2")
    assert (edit.title, edit.message, edit.expires) == ("新しい件名", None, "3d")
    assert parse("delete", "env_x", "--json").json is True


# --- usage errors before any request ----------------------------------------------------------------------


def test_edit_without_a_change_is_a_usage_error_before_any_request(capsys, monkeypatch):
    monkeypatch.setenv("TACHIAI_LANGUAGE", "en")
    assert main(["edit", "env_x", "--url", "http://127.0.0.1:1", "--token", "t"]) == EXIT_USAGE
    assert capsys.readouterr().err.startswith("error [usage]: Give what to change: --title")


def test_send_with_files_and_a_template_is_a_usage_error_before_any_request(capsys, monkeypatch):
    monkeypatch.setenv("TACHIAI_LANGUAGE", "en")
    status = main(
        [
            *("send", "a.pdf", "--template", "業務委託", "--to", "A <a@example.jp>"),
            *("--url", "http://127.0.0.1:1", "--token", "t"),
        ]
    )
    err = capsys.readouterr().err
    assert status == EXIT_USAGE and err.count("\n") == 1
    assert err.startswith('error [usage]: The documents come from the template "業務委託"')
