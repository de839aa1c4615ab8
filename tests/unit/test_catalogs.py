"""DESIGN.md "Text": every user-facing text is in one catalog per language (ja, en, zh), and the catalogs
agree with each other and with the code and templates that use them."""

from __future__ import annotations

import re
import string
from collections import Counter
from functools import cache
from pathlib import Path

import polib
import pytest
import tachiai
from tachiai import i18n

PACKAGE = Path(tachiai.__file__).parent
CATALOGS = PACKAGE / "i18n"
REFERENCE: i18n.Language = "ja"
TRANSLATIONS = [language for language in i18n.LANGUAGES if language != REFERENCE]

# A translation may leave out a value the reference shows, when its language does not say it: English
# greets a person by name only (no company line above it), and says "for you only" instead of naming
# the recipient. Anything not listed here must use exactly the reference's placeholders.
MAY_OMIT: dict[tuple[i18n.Language, str], frozenset[str]] = {
    ("en", "mail.greeting.with_organization"): frozenset({"organization"}),
    ("en", "mail.signing_request.note.personal"): frozenset({"name"}),
}


@cache
def _entries(language: i18n.Language) -> tuple[polib.POEntry, ...]:
    return tuple(
        e for e in polib.pofile(str(CATALOGS / f"{language}.po"), encoding="utf-8") if not e.obsolete
    )


def _messages(language: i18n.Language) -> dict[str, str]:
    return {e.msgid: e.msgstr for e in _entries(language)}


def _placeholders(message: str) -> set[str]:
    """The ``{names}`` of a message (``{{`` and ``}}`` are literal braces). :raises ValueError: malformed."""
    return {field for _, field, _, _ in string.Formatter().parse(message) if field is not None}


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_every_catalog_has_exactly_the_ids_of_the_japanese_one(language: i18n.Language) -> None:
    reference, translation = set(_messages(REFERENCE)), set(_messages(language))

    assert sorted(reference - translation) == [], f"missing in {language}.po"
    assert sorted(translation - reference) == [], f"only in {language}.po, not in {REFERENCE}.po"


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_no_catalog_has_an_id_twice(language: i18n.Language) -> None:
    # Helpers append to the catalogs at the same time: a second entry would silently win.
    counts = Counter(e.msgid for e in _entries(language))

    assert [msgid for msgid, count in counts.items() if count > 1] == []


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_no_message_is_empty(language: i18n.Language) -> None:
    # An empty msgstr means "untranslated" to gettext: the catalog would not have the id at all.
    assert [e.msgid for e in _entries(language) if not e.msgstr.strip()] == []


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_every_placeholder_is_a_plain_name(language: i18n.Language) -> None:
    # Not "{}" or "{0}" (the code passes names only), and not "{title.__class__}" or "{x[0]}": a
    # message must never reach into the objects it is given.
    for msgid, message in _messages(language).items():
        for name in _placeholders(message):
            assert re.fullmatch(r"[a-z_][a-z0-9_]*", name), (msgid, name)


@pytest.mark.parametrize("language", TRANSLATIONS)
def test_each_translation_has_the_placeholders_of_the_japanese_message(language: i18n.Language) -> None:
    reference = _messages(REFERENCE)
    wrong = {}
    for msgid, message in _messages(language).items():
        if msgid not in reference:
            continue  # reported by the ids test
        expected = _placeholders(reference[msgid]) - MAY_OMIT.get((language, msgid), frozenset())
        if _placeholders(message) != expected:
            wrong[msgid] = (sorted(_placeholders(message)), sorted(expected))

    assert wrong == {}


def test_the_allowed_omissions_are_still_omissions() -> None:
    # An entry of MAY_OMIT that the translation now does use is stale: drop it.
    for (language, msgid), names in MAY_OMIT.items():
        assert msgid in _messages(REFERENCE), msgid
        assert not names & _placeholders(_messages(language)[msgid]), (language, msgid)


# --- the ids the templates and the code use ---------------------------------------------------

_MESSAGE_ID = re.compile(r"""(?:\b|\b_)(?:t|i18n\.text)\(\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")
"""A literal id given to ``t(...)`` (templates, mail functions), the CLI's ``_t(...)`` or ``i18n.text(...)``."""
USERS = {
    "templates": sorted((PACKAGE / "templates").rglob("*.j2")),
    "mails": [PACKAGE / "mail" / "templates.py"],
    "page": [PACKAGE / "web" / "signing_page.py"],
    "cli": [PACKAGE / "cli.py", PACKAGE / "local" / "demo.py"],
}


@pytest.mark.parametrize("user", sorted(USERS))
def test_every_message_id_the_mails_the_page_and_the_cli_name_is_in_the_catalogs(user: str) -> None:
    used = {msgid for path in USERS[user] for msgid in _MESSAGE_ID.findall(path.read_text(encoding="utf-8"))}

    assert used, f"no message ids found in {user}: the pattern is stale"
    assert sorted(used - set(_messages(REFERENCE))) == []
