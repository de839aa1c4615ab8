"""Which engine extracts a contract's metadata, and extraction from a document's bytes.

The deterministic rules are the default: no AWS call, no cost, the same answer every time. Bedrock is
chosen with ``TACHIAI_EXTRACTION_ENGINE=bedrock`` and ``TACHIAI_BEDROCK_MODEL_ID``. Each engine's
module is imported only when it is chosen, so a function that never extracts pays nothing for it.
"""

from __future__ import annotations

from typing import Protocol

from tachiai import names
from tachiai.config import Settings, settings
from tachiai.domain.errors import ConfigurationError
from tachiai.extract.model import ContractMetadata
from tachiai.extract.text import document_text


class ExtractionEngine(Protocol):
    """Reads a contract's text and returns its metadata (evidence offsets are into that text)."""

    def extract(self, text: str) -> ContractMetadata: ...


def engine_from_settings(config: Settings | None = None) -> ExtractionEngine:
    """The engine the settings choose (the process's settings when none are given).

    :raises ConfigurationError: the Bedrock engine is chosen but no model id is set.
    """
    if config is None:
        config = settings()
    if config.extraction_engine == "bedrock":
        if not config.bedrock_model_id:
            raise ConfigurationError(
                f"{names.ENV_EXTRACTION_ENGINE}=bedrock needs {names.ENV_BEDROCK_MODEL_ID}"
                " (a Bedrock model or inference profile id)",
                name=names.ENV_BEDROCK_MODEL_ID,
            )
        from tachiai.adapters.aws import bedrock_runtime_client
        from tachiai.extract.bedrock import BedrockEngine

        return BedrockEngine(bedrock_runtime_client(), config.bedrock_model_id)
    from tachiai.extract.rules import RuleEngine

    return RuleEngine()


def extract_document(data: bytes, engine: ExtractionEngine | None = None) -> ContractMetadata:
    """The metadata of a contract file (a PDF or UTF-8 text), by ``engine`` or the configured one.

    :raises EmptyDocument: the file is empty.
    :raises UnreadableDocument: it is neither a PDF nor UTF-8 text.
    :raises EncryptedPdf: it is an encrypted PDF.
    :raises DamagedPdf: it is a PDF that cannot be read.
    :raises ConfigurationError: no engine is given and the configured one lacks its settings.
    :raises ExtractionError: the engine failed (Bedrock: ExtractionUnavailable, ExtractionRejected,
        ExtractionOutputInvalid).
    """
    text = document_text(data)
    return (engine or engine_from_settings()).extract(text)
