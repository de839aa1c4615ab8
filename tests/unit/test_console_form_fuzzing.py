"""Hardening of the console (issue 12, K7 §4): hypothesis posts arbitrary forms to every POST route of
the console, signed in as an administrator with a valid CSRF token, on the in-memory fakes.

Whatever the fields, the files or the body, a page answers with a page (a redirect, the form again
with its errors, a refusal in the visitor's language): never a 5xx, never an exception escaping the
handler (which API Gateway would turn into a bare 502). The recipient's inputs are fuzzed the same way
in tests/unit/test_recipient_input_fuzzing.py and over HTTP in tests/integration/test_api_fuzzing.py.
"""

from __future__ import annotations

import functools
import importlib.util
import re
from pathlib import Path
from types import ModuleType
from typing import Any

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from tachiai import names

from tests.console_browser import ADMIN, MEMBER, ConsoleBrowser
from tests.fakes import SEAL_FUNCTION, FakeWorld, fake_world
from tests.fixtures.pdfs import simple_pdf

FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    max_examples=80,
)

NDA = simple_pdf(1, "Mutual Non-Disclosure Agreement")
ROOT = Path(__file__).resolve().parents[2]

# Every POST page of the console but the sign-out (it ends the session the next example needs; it
# takes only the CSRF field, which tests/unit/test_console_security.py covers).
POST_ROUTES = sorted(
    route.path
    for route in names.ROUTES
    if route.method == "POST" and route.path.startswith("/app") and route.path != "/app/sign-out"
)

# The names the console's forms use, so that the fuzz reaches each form's own checks and not only
# "missing field"; any other name is drawn too.
FIELD_NAMES = [
    "title", "message", "language", "expiry_days", "remind_days", "action", "upload", "draft_id",
    "template_id", "envelope_id", "document_name", "document_size", "reason", "role", "email", "name",
    "scope", "participant_id", "file_number", "counterparties", "amount", "currency", "end_date",
    "notice_deadline", "auto_renewal", "transaction_date", "note", "edit", "confirm",
    *(f"participants-{n}-{part}" for n in (0, 1, 99) for part in
      ("organization", "name", "email", "language", "code", "role", "order")),
]  # fmt: skip

TEXT = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=60)
"""Any text a browser can send in a form (a lone surrogate cannot be encoded as UTF-8 at all)."""
VALUES = st.one_of(
    TEXT,
    st.sampled_from(["", "0", "-1", "99999999999999999999", "send", "draft", "template", "add-0",
                     "remove-99", "up-1", "presigned", "admin", "member", "ja", "en", "zh", "xx",
                     "2025-02-30", "1e309", "NaN", "\x00", "../../etc/passwd", "<script>"]),
)  # fmt: skip
FIELDS = st.dictionaries(
    st.one_of(st.sampled_from(FIELD_NAMES), TEXT.filter(bool)),
    st.lists(VALUES, min_size=1, max_size=3),
    max_size=12,
)
FILES = st.dictionaries(
    st.sampled_from(["documents", "file", "document", "pdf", "import"]),
    st.lists(
        st.tuples(
            TEXT,
            st.one_of(st.binary(max_size=300), st.just(NDA), st.just(NDA[: len(NDA) // 2])),
            st.sampled_from(["application/pdf", "application/octet-stream", "text/plain", "image/png"]),
        ),
        min_size=1,
        max_size=2,
    ),
    max_size=2,
)


@functools.cache
def _seal_handler() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "tachiai_fuzz_console_seal", ROOT / "functions/seal/handler.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@functools.cache
def _world() -> tuple[FakeWorld, dict[str, str]]:
    """One world for every example: an administrator's draft, a member of the team, a template."""
    world = fake_world()
    # the seal function in process (its preflight of each uploaded document), as the real send path has
    world.functions.routes[SEAL_FUNCTION] = lambda event: _seal_handler().run(world.svc, event)
    admin = ConsoleBrowser(world, ADMIN)
    ConsoleBrowser(world, MEMBER)  # the member exists in the directory: a target of /app/members/...
    admin.get("/app/new")
    admin.post(
        "/app/new",
        {
            "title": "業務委託契約書",
            "language": "ja",
            "expiry_days": "14",
            "participants-0-name": "髙橋 一郎",
            "participants-0-email": "ichiro@takahashi.example.jp",
            "participants-0-language": "ja",
            "action": "draft",
        },
        files={"documents": [("a.pdf", NDA)]},
    )
    envelope_id = next(iter(world.envelopes.envelopes), "env_missing")
    template_id = next(iter(world.templates.templates), "tpl_missing")
    return world, {
        "envelope_id": envelope_id,
        "template_id": template_id,
        "participant_id": "p1",
        "username": MEMBER.username,
    }


def _path(template: str, known: dict[str, str], unknown: bool) -> str:
    return re.sub(r"{(\w+)}", lambda m: "zz-unknown" if unknown else known[m.group(1)], template)


def _assert_a_page(page: Any, path: str) -> None:
    assert page.status < 500, f"POST {path}: {page.status} {page.body[:300]}"


@FUZZ
@given(route=st.sampled_from(POST_ROUTES), fields=FIELDS, unknown_ids=st.booleans())
@example(route="/app/new", fields={"action": ["send"], "participants-0-email": ["x"]}, unknown_ids=False)
@example(route="/app/members", fields={"email": ["a@b"], "role": ["root"]}, unknown_ids=False)
def test_any_urlencoded_form_gets_a_page_never_a_server_error(
    route: str, fields: dict[str, list[str]], unknown_ids: bool
) -> None:
    world, known = _world()
    browser = ConsoleBrowser(world, ADMIN)
    path = _path(route, known, unknown_ids)

    _assert_a_page(browser.post(path, fields), path)


@FUZZ
@given(route=st.sampled_from(POST_ROUTES), fields=FIELDS, files=FILES)
@example(  # a form that reaches the seal function's preflight of the upload
    route="/app/new",
    fields={
        "title": ["NDA"],
        "participants-0-name": ["髙橋 一郎"],
        "participants-0-email": ["ichiro@takahashi.example.jp"],
        "action": ["draft"],
    },
    files={"documents": [("a.pdf", NDA, "application/pdf")]},
)
def test_any_multipart_form_with_files_gets_a_page_never_a_server_error(
    route: str, fields: dict[str, list[str]], files: dict[str, list[tuple[str, bytes, str]]]
) -> None:
    world, known = _world()
    browser = ConsoleBrowser(world, ADMIN)
    path = _path(route, known, unknown=False)

    _assert_a_page(browser.post(path, fields, files=files or {"documents": [("a.pdf", NDA)]}), path)


@FUZZ
@given(
    route=st.sampled_from(POST_ROUTES),
    body=st.binary(max_size=400),
    content_type=st.sampled_from(
        [
            "multipart/form-data; boundary=x",
            "multipart/form-data",
            "multipart/form-data; boundary=",
            "multipart/mixed; boundary=x",
            "application/x-www-form-urlencoded",
            "application/x-www-form-urlencoded; charset=latin-1",
            "application/json",
            "text/plain",
            "",
        ]
    ),
)
@example(
    route="/app/new",
    body=b"--x\r\nContent-Disposition: form-data\r\n\r\nv\r\n--x--",
    content_type="multipart/form-data; boundary=x",
)
@example(route="/app/new", body=b"\xff\xfe=\xff", content_type="application/x-www-form-urlencoded")
def test_any_raw_body_gets_a_page_never_a_server_error(route: str, body: bytes, content_type: str) -> None:
    world, known = _world()
    browser = ConsoleBrowser(world, ADMIN)
    path = _path(route, known, unknown=False)
    headers = {"Origin": browser.own_origin}
    if content_type:
        headers["Content-Type"] = content_type

    _assert_a_page(browser.request("POST", path, body=body, headers=headers, binary=True), path)
