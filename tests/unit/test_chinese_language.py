"""Issue 11 §5: Chinese (Simplified) is a language like the other two wherever a language is chosen —
the sender's request for an envelope and each participant, and the CLI's local seal. (The mails and
the page in Chinese are tested in test_mail_templates.py and test_signing_page.py; a whole Chinese
envelope, sealed, in tests/e2e/test_recipient_page_in_chromium.py.)"""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from tachiai import i18n
from tachiai.cli import build_parser
from tachiai.services.sending import CreateEnvelopeRequest

PDF_BASE64 = "JVBERi0xLjcK"


def _request(language: str, participant_language: str) -> CreateEnvelopeRequest:
    return CreateEnvelopeRequest.model_validate(
        {
            "title": "保密协议",
            "language": language,
            "participants": [
                {"name": "王小明", "email": "wang@example.cn", "language": participant_language}
            ],
            "documents": [{"name": "保密协议.pdf", "content_base64": PDF_BASE64}],
        }
    )


def test_an_envelope_and_its_participant_may_be_in_chinese() -> None:
    request = _request("zh", "zh")

    assert request.language == "zh"
    assert request.participants[0].language == "zh"


def test_a_language_without_a_catalog_is_refused() -> None:
    with pytest.raises(ValidationError):
        _request("zh", "fr")


@pytest.mark.parametrize("language", i18n.LANGUAGES)
def test_the_local_seal_command_takes_every_catalog_language(language: str) -> None:
    args = build_parser().parse_args(["seal", "in.pdf", "-o", "out.pdf", "--language", language])

    assert args.language == language
