"""One error hierarchy: stable codes, messages in Japanese and English, never a raw builtin."""

from __future__ import annotations

import inspect

import pytest
from tachiai.domain import errors
from tachiai.domain.errors import DocumentTooLarge, TachiaiError

ALL_ERRORS = [cls for _, cls in inspect.getmembers(errors, inspect.isclass) if issubclass(cls, TachiaiError)]


def test_every_error_code_is_unique():
    codes = [cls.code for cls in ALL_ERRORS]
    assert len(codes) == len(set(codes))


@pytest.mark.parametrize("cls", ALL_ERRORS, ids=lambda c: c.__name__)
def test_every_error_has_a_japanese_and_an_english_message(cls):
    error = cls("detail", size_mb=60, limit_mb=50, reason="x", reason_ja="x", reason_en="x", name="x")
    ja, en = error.message("ja"), error.message("en")
    assert ja and en and ja != en
    assert any(ord(ch) > 0x3000 for ch in ja)


def test_message_is_formatted_with_the_values_given():
    error = DocumentTooLarge(size_mb=61.2, limit_mb=50)
    assert error.message("en") == "The file (61.2 MB) is larger than the limit (50 MB)."
    assert "61.2 MB" in error.message("ja")


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
