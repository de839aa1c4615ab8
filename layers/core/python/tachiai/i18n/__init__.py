"""Every user-facing text, by message id, in every language tachiai speaks: one gettext catalog per
language (``ja.po``, ``en.po``, ``zh.po`` beside this module), read once per process with polib.

The code holds message ids (``mail.signing_request.subject``), never sentences. A message may carry
named ``{placeholders}`` (Python brace format), filled from keyword arguments. Adding a language is one
catalog file plus its code in :data:`LANGUAGES`; a test checks that every catalog has exactly the ids of
the Japanese one (the reference) and the same placeholders in each message.

Japanese is the tenant default; a message missing from a catalog is a programming error
(:class:`MissingMessage`), caught by the tests, never shown as an id to a person.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Final, Literal, cast, get_args

import polib

__all__ = [
    "DEFAULT_LANGUAGE",
    "LANGUAGES",
    "Language",
    "MissingMessage",
    "catalog",
    "from_environment",
    "negotiate",
    "text",
    "texts",
]

Language = Literal["ja", "en", "zh"]
LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)
DEFAULT_LANGUAGE: Final[Language] = "ja"
_CATALOG_DIR: Final = Path(__file__).parent


class MissingMessage(LookupError):
    """A message id absent from a catalog, or a placeholder not given (a programming error)."""


@cache
def catalog(language: Language) -> Mapping[str, str]:
    """The messages of ``language``: id → text. :raises MissingMessage: no catalog for it."""
    path = _CATALOG_DIR / f"{language}.po"
    if not path.is_file():
        raise MissingMessage(f"no catalog for language {language!r}")
    return {
        entry.msgid: entry.msgstr
        for entry in polib.pofile(str(path), encoding="utf-8")
        if not entry.obsolete and entry.msgstr
    }


def text(msgid: str, language: Language, /, **values: object) -> str:
    """The message ``msgid`` in ``language`` with its placeholders filled from ``values``.

    :raises MissingMessage: the id is not in the catalog, or a placeholder has no value.
    """
    try:
        template = catalog(language)[msgid]
    except KeyError:
        raise MissingMessage(f"{language}: no message {msgid!r}") from None
    if not values:
        return template
    try:
        return template.format_map(values)
    except (KeyError, IndexError) as e:
        raise MissingMessage(f"{language}: message {msgid!r} needs {e}") from e


def texts(msgid: str, /, **values: object) -> dict[Language, str]:
    """The message in every language (JSON error bodies carry them all). :raises MissingMessage:"""
    return {language: text(msgid, language, **values) for language in LANGUAGES}


_RANGE: Final = re.compile(r"\s*([A-Za-z]{1,8})(?:-[A-Za-z0-9]{1,8})*\s*(?:;\s*q\s*=\s*([0-9.]+))?\s*")


def negotiate(accept_language: str | None, default: Language = DEFAULT_LANGUAGE) -> Language:
    """The best of :data:`LANGUAGES` for an ``Accept-Language`` header (RFC 9110 §12.5.4), else ``default``.

    Only the primary subtag counts (``zh-CN``, ``zh-Hans``, ``zh-TW`` → ``zh``; ``en-GB`` → ``en``); ``q=0``
    refuses a language; a malformed entry (``q=abc``, ``q=2``) is skipped, never an error.
    """
    best: tuple[float, int, Language] | None = None
    for position, item in enumerate((accept_language or "")[:1000].split(",")):
        match = _RANGE.fullmatch(item)
        if not match:
            continue
        try:
            quality = float(match.group(2)) if match.group(2) is not None else 1.0
        except ValueError:
            continue
        primary = match.group(1).lower()
        if not 0 < quality <= 1 or primary not in LANGUAGES:  # a qvalue is 0..1 (RFC 9110): else malformed
            continue
        if best is None or (quality, -position) > best[:2]:
            best = (quality, -position, cast(Language, primary))
    return best[2] if best else default


def from_environment(environ: Mapping[str, str] | None = None) -> Language:
    """The language of a terminal session (the CLI): ``TACHIAI_LANGUAGE``, else the POSIX locale
    (``LC_ALL``, ``LC_MESSAGES``, ``LANG``: ``ja_JP.UTF-8`` → ja), else English (a ``C``/``POSIX`` locale,
    or one tachiai does not speak)."""
    env = os.environ if environ is None else environ
    for name in ("TACHIAI_LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "").strip()
        if not value:
            continue
        primary = re.split(r"[_.@-]", value, maxsplit=1)[0].lower()
        return cast(Language, primary) if primary in LANGUAGES else "en"
    return "en"
