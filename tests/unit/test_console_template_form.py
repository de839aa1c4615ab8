"""The console's template form without a browser: what a POST becomes, what it refuses (in the visitor's
language, at the field), and the role editor's add / remove / move buttons."""

from __future__ import annotations

import pytest
from tachiai.console.templates_page import RoleRow, TemplateForm, apply_role_action
from tachiai.domain.errors import InvalidRequest
from tachiai.domain.templates import MAX_ROLES, TemplateScope


def _fields(**rows: str) -> dict[str, list[str]]:
    base = {"name": ["業務委託"], "title": ["業務委託契約書"], "expiry_days": ["14"], "scope": ["personal"]}
    return {**base, **{k.replace("_", "-"): [v] for k, v in rows.items()}}


def test_rows_are_read_by_their_index_so_an_unticked_checkbox_does_not_shift_the_others():
    # Given the second row's checkbox ticked and the first's not (an unticked box sends nothing)
    fields = _fields(roles_0_label="甲", roles_1_label="乙", roles_1_code="1")
    # When the form is read
    form = TemplateForm.parse(fields)
    # Then the tick belongs to the second role
    assert [(r.label, r.code_required) for r in form.roles] == [("甲", False), ("乙", True)]


def test_a_valid_form_becomes_the_service_request_with_roles_in_order_and_blank_rows_ignored():
    fields = _fields(
        roles_0_label="受託者",
        roles_1_label="",
        roles_2_label="承認者",
        roles_2_name="山﨑花子",
        roles_2_email="hanako@example.co.jp",
        roles_2_organization="髙橋﨑商事",
        roles_2_language="en",
    )
    request = TemplateForm.parse(fields).request("ja")
    assert request.name == "業務委託" and request.title == "業務委託契約書"
    assert request.link_validity_seconds == 14 * 86400 and request.scope == TemplateScope.PERSONAL
    assert request.roles is not None
    assert [(r.label, r.name, r.email, r.organization, r.language) for r in request.roles] == [
        ("受託者", None, None, None, "ja"),
        ("承認者", "山﨑花子", "hanako@example.co.jp", "髙橋﨑商事", "en"),
    ]


def test_half_a_default_person_is_refused_at_the_missing_field_in_the_visitors_language():
    form = TemplateForm.parse(_fields(roles_0_label="甲", roles_0_name="山田太郎"))
    with pytest.raises(InvalidRequest):
        form.request("en")
    assert form.errors == {"roles-0-email": "A default person needs both a name and an email address."}


def test_a_role_name_twice_and_a_malformed_address_are_each_shown_at_their_row():
    form = TemplateForm.parse(
        _fields(
            roles_0_label="甲", roles_1_label="甲", roles_2_label="乙", roles_2_name="乙", roles_2_email="x@"
        )
    )
    with pytest.raises(InvalidRequest):
        form.request("ja")
    assert set(form.errors) == {"roles-1-label", "roles-2-email"}
    assert form.errors["roles-2-email"] == "メールアドレスの形式が正しくありません。"


def test_the_same_default_address_for_two_roles_is_refused_at_the_second():
    form = TemplateForm.parse(
        _fields(
            roles_0_label="甲",
            roles_0_name="山田",
            roles_0_email="yamada@example.jp",
            roles_1_label="乙",
            roles_1_name="山田",
            roles_1_email="YAMADA@example.jp",
        )
    )
    with pytest.raises(InvalidRequest):
        form.request("zh")
    assert list(form.errors) == ["roles-1-email"]


def test_missing_name_title_roles_and_a_bad_validity_are_all_reported_at_once():
    form = TemplateForm.parse({"name": [" "], "title": [""], "expiry_days": ["0"]})
    with pytest.raises(InvalidRequest):
        form.request("ja")
    assert set(form.errors) == {"name", "title", "roles", "expiry_days"}
    assert form.errors["name"] == "入力してください。"


def test_a_name_over_its_limit_says_the_limit():
    form = TemplateForm.parse({**_fields(roles_0_label="甲"), "name": ["あ" * 101]})
    with pytest.raises(InvalidRequest):
        form.request("en")
    assert form.errors == {"name": "Please use at most 100 characters."}


def test_an_unknown_scope_or_language_falls_back_instead_of_failing():
    fields = {**_fields(roles_0_label="甲", roles_0_language="xx"), "scope": ["everyone"]}
    request = TemplateForm.parse(fields).request("ja")
    assert request.scope == TemplateScope.PERSONAL
    assert request.roles is not None and request.roles[0].language == "ja"


ROWS = [RoleRow(label="甲"), RoleRow(label="乙"), RoleRow(label="丙")]


@pytest.mark.parametrize(
    ("action", "labels"),
    [
        ("add", ["甲", "乙", "丙", ""]),
        ("remove-1", ["甲", "丙"]),
        ("up-2", ["甲", "丙", "乙"]),
        ("down-0", ["乙", "甲", "丙"]),
        ("up-0", ["甲", "乙", "丙"]),  # the first cannot go higher
        ("down-2", ["甲", "乙", "丙"]),  # nor the last lower
        ("remove-7", ["甲", "乙", "丙"]),  # a stale form's row: nothing happens
        ("explode", ["甲", "乙", "丙"]),
    ],
)
def test_the_role_editor_buttons(action, labels):
    assert [r.label for r in apply_role_action(ROWS, action)] == labels
    assert [r.label for r in ROWS] == ["甲", "乙", "丙"]  # the rows given are not changed


def test_no_more_rows_than_a_template_may_have_roles():
    full = [RoleRow(label=str(i)) for i in range(MAX_ROLES)]
    assert len(apply_role_action(full, "add")) == MAX_ROLES
    form = TemplateForm.parse({f"roles-{i}-label": [str(i)] for i in range(MAX_ROLES + 5)})
    assert len(form.roles) == MAX_ROLES
