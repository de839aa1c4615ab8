"""Contract metadata extraction: the text of a document, and an engine that reads it.

``import tachiai.extract`` (and so ``import tachiai.extract.model``, which the envelope's domain model
needs for :class:`ContractMetadata`) is cheap: everything here is imported on first use (PEP 562) —
the text reader and its PDF limits, PDFium when a PDF is first read, and the engines
(:class:`RuleEngine`, :class:`BedrockEngine`, which brings botocore). The send and agree functions'
cold start pays for none of it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tachiai.extract.bedrock import BedrockEngine
    from tachiai.extract.engine import ExtractionEngine, engine_from_settings, extract_document
    from tachiai.extract.model import (
        FIELD_NAMES,
        ContractMetadata,
        Evidence,
        FieldName,
        notice_deadline,
        subtract_period,
    )
    from tachiai.extract.rules import RuleEngine
    from tachiai.extract.text import PAGE_BREAK, document_text, pdf_text

__all__ = [
    "FIELD_NAMES",
    "PAGE_BREAK",
    "BedrockEngine",
    "ContractMetadata",
    "Evidence",
    "ExtractionEngine",
    "FieldName",
    "RuleEngine",
    "document_text",
    "engine_from_settings",
    "extract_document",
    "notice_deadline",
    "pdf_text",
    "subtract_period",
]

_LAZY = {
    "BedrockEngine": "tachiai.extract.bedrock",
    "RuleEngine": "tachiai.extract.rules",
    "ExtractionEngine": "tachiai.extract.engine",
    "engine_from_settings": "tachiai.extract.engine",
    "extract_document": "tachiai.extract.engine",
    "FIELD_NAMES": "tachiai.extract.model",
    "ContractMetadata": "tachiai.extract.model",
    "Evidence": "tachiai.extract.model",
    "FieldName": "tachiai.extract.model",
    "notice_deadline": "tachiai.extract.model",
    "subtract_period": "tachiai.extract.model",
    "PAGE_BREAK": "tachiai.extract.text",
    "document_text": "tachiai.extract.text",
    "pdf_text": "tachiai.extract.text",
}


def __getattr__(name: str) -> Any:
    """Everything, imported on first use (PEP 562)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
