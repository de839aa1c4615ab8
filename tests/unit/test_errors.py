"""One error hierarchy: stable codes, every message in the catalogs (ja, en, zh), never a raw builtin."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
import string
from pathlib import Path

import pytest
import tachiai
from tachiai import i18n
from tachiai.domain.errors import ActiveContent, DocumentTooLarge, NotFound, SigningForbidden, TachiaiError
from tachiai.sealing.active_content import ActiveKind, active_content_text

REPO = Path(__file__).resolve().parents[2]
PACKAGE = Path(tachiai.__file__).parent


def _all_errors() -> list[type[TachiaiError]]:
    """Every TachiaiError subclass the package defines, wherever it lives (adapters and services too)."""
    for module in pkgutil.walk_packages(tachiai.__path__, "tachiai."):
        importlib.import_module(module.name)
    found: list[type[TachiaiError]] = []
    pending: list[type[TachiaiError]] = [TachiaiError]
    while pending:
        cls = pending.pop()
        if cls.__module__.startswith("tachiai.") and cls not in found:
            found.append(cls)
        pending.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.code)


ALL_ERRORS = _all_errors()


def _placeholders(message: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(message) if name}


def _sample_values(cls: type[TachiaiError]) -> dict[str, object]:
    """A value for every placeholder of ``cls``'s message (a message id for a text parameter)."""
    values: dict[str, object] = {}
    for name in _placeholders(i18n.text(f"error.{cls.code}", "ja")):
        values[name] = "error.list_separator" if name in cls.text_params else f"<{name}>"
    return values


def test_every_error_code_is_unique():
    codes = [cls.code for cls in ALL_ERRORS]
    assert len(codes) == len(set(codes))


def test_errors_are_found_beyond_the_errors_module():
    # Given the adapters' own errors (e.g. storage_unavailable in adapters/dynamodb.py)
    # Then the catalog checks below cover them too.
    assert {"storage_unavailable", "verification_failed", "audit_chain_broken"} <= {
        c.code for c in ALL_ERRORS
    }


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_has_its_message_in_every_catalog(cls):
    lacking = [
        f"{language}.po" for language in i18n.LANGUAGES if f"error.{cls.code}" not in i18n.catalog(language)
    ]
    assert lacking == [], f"error.{cls.code}"


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_message_has_the_same_placeholders_in_every_language(cls):
    expected = _placeholders(i18n.text(f"error.{cls.code}", "ja"))
    for language in i18n.LANGUAGES:
        assert _placeholders(i18n.text(f"error.{cls.code}", language)) == expected, language


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_message_reads_in_its_own_language(cls):
    error = cls("detail", **_sample_values(cls))
    ja, en, zh = (error.message(language) for language in ("ja", "en", "zh"))
    assert len({ja, en, zh}) == 3
    assert re.search(r"[\u3040-\u30ff]", ja), "Japanese has kana"
    assert not re.search(r"[\u3040-\u30ff]", zh), "Simplified Chinese has no kana"
    assert re.search(r"[\u4e00-\u9fff]", zh)
    assert not re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", en.replace("<", "").replace(">", ""))


def test_no_error_class_carries_its_message_in_python():
    carriers = [c.__name__ for c in ALL_ERRORS if {"message_ja", "message_en"} & set(vars(c))]
    assert carriers == []


def _error_calls() -> list[tuple[str, int, type[TachiaiError], set[str]]]:
    """Every ``SomeError(..., name=value)`` written in the package or the Lambda handlers."""
    by_name = {cls.__name__: cls for cls in ALL_ERRORS}
    calls = []
    for path in [*PACKAGE.rglob("*.py"), *(REPO / "functions").rglob("*.py")]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = (
                func.id
                if isinstance(func, ast.Name)
                else func.attr
                if isinstance(func, ast.Attribute)
                else ""
            )
            keywords = {k.arg for k in node.keywords}
            if name in by_name and None not in keywords:  # **values: checked where they are built
                calls.append((str(path.relative_to(REPO)), node.lineno, by_name[name], keywords))
    return calls


def test_every_raise_gives_the_placeholders_its_message_needs():
    calls = _error_calls()
    assert len(calls) > 50  # the scan sees the raisers (it would pass vacuously otherwise)
    missing = [
        f"{path}:{line} {cls.__name__} lacks {sorted(need - given)}"
        for path, line, cls, given in calls
        # (an error without a catalog entry fails the test above)
        if not (need := _placeholders(i18n.catalog("ja").get(f"error.{cls.code}", ""))) <= given
    ]
    assert missing == []


def test_a_missing_catalog_entry_is_an_error_not_a_silent_fallback(monkeypatch):
    # Given an error whose code has no catalog entry
    monkeypatch.setattr(NotFound, "code", "no_such_code_in_any_catalog")
    error = NotFound("detail")
    # Then asking for its message fails loudly, while its log text still names it
    with pytest.raises(i18n.MissingMessage):
        error.message("ja")
    assert str(error) == "[no_such_code_in_any_catalog] (detail)"


def test_message_is_formatted_with_the_values_given():
    error = DocumentTooLarge(size_mb=61.2, limit_mb=50)
    assert error.message("en") == "The file (61.2 MB) is larger than the limit (50 MB)."
    assert "61.2 MB" in error.message("ja")
    assert "61.2 MB" in error.message("zh")


def test_a_language_tachiai_does_not_speak_gets_the_default_language():
    assert NotFound().message("fr") == NotFound().message("ja")


def test_text_parameters_are_shown_in_the_language_of_the_message():
    # Given what preflight found, as message ids (no language chosen by the raiser)
    error = ActiveContent(
        "javascript, launch",
        found=[active_content_text(ActiveKind.JAVASCRIPT), active_content_text(ActiveKind.LAUNCH)],
    )
    # Then each language lists them in its own words, joined its own way
    assert "(JavaScript, a Launch action that starts a program)" in error.message("en")
    assert "（JavaScript、外部プログラムを起動するアクション（Launch））" in error.message("ja")
    assert "（JavaScript、启动外部程序的操作（Launch））" in error.message("zh")


def test_a_text_parameter_survives_the_report_to_another_process():
    from tachiai.domain.errors import error_from_report

    error = SigningForbidden("certified", reason="error.pdf_signing_forbidden.certified")
    again = error_from_report(error.report())
    assert again.message("en") == error.message("en")
    assert "certification signature forbids any change" in again.message("en")


def test_json_form_has_code_messages_and_detail():
    assert DocumentTooLarge("too big", size_mb=1, limit_mb=0).to_dict() == {
        "code": "document_too_large",
        "message": {
            "ja": "ファイルサイズ（1 MB）が上限（0 MB）を超えています。",
            "en": "The file (1 MB) is larger than the limit (0 MB).",
            "zh": "文件大小（1 MB）超过了上限（0 MB）。",
        },
        "detail": "too big",
    }


def test_the_catalogs_are_a_leaf_package_the_domain_may_import():
    # The domain reads its messages from tachiai.i18n: that is only sound while i18n imports nothing of
    # tachiai and no AWS library (the domain never imports boto3).
    tree = ast.parse((PACKAGE / "i18n" / "__init__.py").read_text(encoding="utf-8"))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not {name for name in imported if name.split(".")[0] in {"tachiai", "boto3", "botocore"}}
