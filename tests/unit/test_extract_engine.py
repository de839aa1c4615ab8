"""The engine is chosen by configuration (rules unless Bedrock is asked for), and a document's bytes
reach the engine as its text."""

from __future__ import annotations

import pytest
from tachiai import names
from tachiai.adapters.aws import reset_clients
from tachiai.config import settings_from
from tachiai.domain.errors import ConfigurationError, UnreadableDocument
from tachiai.extract import ContractMetadata, engine_from_settings, extract_document

from tests.fixtures.contracts import text_pdf


class RecordingEngine:
    """An engine that remembers the text it was given."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def extract(self, text: str) -> ContractMetadata:
        self.texts.append(text)
        return ContractMetadata(engine="recording")


@pytest.fixture
def aws_region(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    reset_clients()
    yield
    reset_clients()


def test_the_rule_engine_is_the_default():
    from tachiai.extract.rules import RuleEngine

    assert isinstance(engine_from_settings(settings_from({})), RuleEngine)


def test_bedrock_is_chosen_with_its_model_id(aws_region):
    from tachiai.extract.bedrock import BedrockEngine

    config = settings_from(
        {names.ENV_EXTRACTION_ENGINE: "bedrock", names.ENV_BEDROCK_MODEL_ID: "amazon.nova-pro-v1:0"}
    )

    engine = engine_from_settings(config)

    assert isinstance(engine, BedrockEngine)
    assert engine.engine == "bedrock:amazon.nova-pro-v1:0"
    assert engine.client.meta.service_model.service_name == "bedrock-runtime"


def test_bedrock_without_a_model_id_is_a_configuration_error_naming_the_variable():
    config = settings_from({names.ENV_EXTRACTION_ENGINE: "bedrock"})

    with pytest.raises(ConfigurationError) as missing:
        engine_from_settings(config)

    assert names.ENV_BEDROCK_MODEL_ID in missing.value.message("en")


def test_an_unknown_engine_name_is_refused_naming_its_variable():
    with pytest.raises(ConfigurationError) as bad:
        settings_from({names.ENV_EXTRACTION_ENGINE: "gpt"})

    assert names.ENV_EXTRACTION_ENGINE in bad.value.message("en")


def test_a_text_document_reaches_the_engine_as_its_text():
    engine = RecordingEngine()

    metadata = extract_document("秘密保持契約書\r\n株式会社髙橋製作所".encode(), engine)

    assert engine.texts == ["秘密保持契約書\n株式会社髙橋製作所"]
    assert metadata.engine == "recording"


def test_a_pdf_document_reaches_the_engine_as_its_text():
    engine = RecordingEngine()

    extract_document(text_pdf("売買基本契約書\n山﨑工業株式会社"), engine)

    assert engine.texts == ["売買基本契約書\n山﨑工業株式会社"]


def test_an_unreadable_document_is_refused_before_the_engine_sees_it():
    engine = RecordingEngine()

    with pytest.raises(UnreadableDocument):
        extract_document(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", engine)

    assert engine.texts == []
