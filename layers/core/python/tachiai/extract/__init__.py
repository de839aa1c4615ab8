"""Contract metadata extraction: the text of a document, and an engine that reads it.

``import tachiai.extract`` is cheap: PDFium is loaded when a PDF is first read, and the engines
(:class:`RuleEngine`, :class:`BedrockEngine`, which brings botocore) when they are first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tachiai.extract.engine import ExtractionEngine, engine_from_settings, extract_document
from tachiai.extract.model import (
    FIELD_NAMES,
    ContractMetadata,
    Evidence,
    FieldName,
    notice_deadline,
    subtract_period,
)
from tachiai.extract.text import PAGE_BREAK, document_text, pdf_text

if TYPE_CHECKING:
    from tachiai.extract.bedrock import BedrockEngine
    from tachiai.extract.rules import RuleEngine

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

_LAZY = {"BedrockEngine": "tachiai.extract.bedrock", "RuleEngine": "tachiai.extract.rules"}


def __getattr__(name: str) -> Any:
    """The engines, imported on first use (PEP 562)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
