"""The optional Bedrock engine: a model reads the contract and answers through one forced tool call.

The Converse API is model-neutral; the tool's input schema is generated from :class:`ToolInput`, a
pydantic mirror of :class:`~tachiai.extract.model.ContractMetadata`'s values in which every value
comes with the words it was read from and a confidence. The answer is validated by the same model,
the quotes are located in the text to give :class:`~tachiai.extract.model.Evidence` offsets, and the
notice deadline is computed, never asked for.

``toolChoice`` naming one tool needs a model that supports it (Anthropic Claude 3 and later, Amazon
Nova, Mistral Large); other models answer ``ValidationException``, which becomes
:class:`~tachiai.domain.errors.ExtractionRejected`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import TYPE_CHECKING, Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tachiai.domain.errors import (
    ExtractionError,
    ExtractionOutputInvalid,
    ExtractionRejected,
    ExtractionUnavailable,
)
from tachiai.extract.model import NOTICE_PERIOD, ContractMetadata, Evidence, FieldName, notice_deadline

if TYPE_CHECKING:
    from mypy_boto3_bedrock_runtime import BedrockRuntimeClient
    from mypy_boto3_bedrock_runtime.type_defs import ConverseResponseTypeDef, ToolConfigurationTypeDef

TOOL_NAME = "record_contract_metadata"


def _quote() -> Any:
    return Field(
        description="The words the value was read from, copied exactly as they appear in the contract "
        "(a short span, at most about 200 characters); null when the value is null."
    )


def _confidence() -> Any:
    return Field(ge=0.0, le=1.0, description="How sure you are of the value, from 0 to 1.")


class _Cited(BaseModel):
    model_config = ConfigDict(extra="ignore")


class DateValue(_Cited):
    quote: str | None = _quote()
    value: date | None = Field(
        description="YYYY-MM-DD in the Gregorian calendar (Japanese era years converted); null if not stated."
    )
    confidence: float = _confidence()


class RenewalValue(_Cited):
    quote: str | None = _quote()
    value: bool | None = Field(
        description="true: the term renews automatically unless a party gives notice; false: the contract "
        "says it does not renew, or renews only by a new agreement; null: it says nothing."
    )
    confidence: float = _confidence()


class NoticePeriodValue(_Cited):
    quote: str | None = _quote()
    value: str | None = Field(
        pattern=NOTICE_PERIOD.pattern,
        description='How long before the end of the term notice must be given: "<n> days", "<n> weeks", '
        '"<n> months" or "<n> years" (always the plural word: "1 months"); null if none.',
    )
    confidence: float = _confidence()


class AmountValue(_Cited):
    quote: str | None = _quote()
    value: int | None = Field(
        ge=0, description="The contract amount as an integer in the currency's unit; null if none."
    )
    confidence: float = _confidence()


class CurrencyValue(_Cited):
    quote: str | None = _quote()
    value: str | None = Field(
        pattern=r"^[A-Z]{3}$", description="ISO 4217 code of the amount's currency; null if no amount."
    )
    confidence: float = _confidence()


class PartyValue(_Cited):
    quote: str | None = _quote()
    name: str = Field(min_length=1, description="The party's legal name exactly as written.")
    confidence: float = _confidence()


class ToolInput(BaseModel):
    """The ledger metadata of one contract: every value with the words it was read from and a confidence."""

    # ContractMetadata's values less the notice deadline, which is computed. The docstring above is the
    # schema's description, which the model reads.
    model_config = ConfigDict(extra="ignore")

    parties: list[PartyValue]
    contract_date: DateValue
    start_date: DateValue
    end_date: DateValue
    auto_renewal: RenewalValue
    notice_period: NoticePeriodValue
    amount: AmountValue
    currency: CurrencyValue


_Value = DateValue | RenewalValue | NoticePeriodValue | AmountValue | CurrencyValue

SYSTEM_PROMPT = """\
You read one contract, in Japanese or English, and record its ledger metadata by calling the tool \
record_contract_metadata once. Record only what the contract says; use null rather than guess.

- parties: every contracting party by its legal name exactly as written (株式会社サンプル商事, \
合同会社ミナト, 山田太郎, Acme Corporation). Never a defined role or label (甲, 乙, 丙, 委託者, 受託者, \
貸主, "Licensor", "the Company", "Party A"), never the representative who signs for a company \
(代表取締役 山田太郎 signs for the company: the company is the party), never an address, a witness or \
a company merely mentioned.
- contract_date: the day the contract is concluded (締結日, 契約日, the date above the signatures, \
"made and entered into as of", "dated"). null when the date is left blank (令和　　年　　月　　日).
- start_date and end_date: the first and the last day of the term; for a term that renews, of the \
first term. "本契約締結日から1年間" or "for one (1) year from the Effective Date": start is that day \
and end is the day before the same date one year later. "まで" / "through" / "until" names the last day.
- Dates are YYYY-MM-DD in the Gregorian calendar. Convert Japanese era years: 令和N年 = 2018+N, \
平成N年 = 1988+N, 昭和N年 = 1925+N, and 元年 is year 1 (令和元年 = 2019). Read full-width digits \
(２０２４) and kanji numerals (二〇二四, 十二, 壱, 弐, 参, 拾) as numbers.
- auto_renewal: true when the term renews by itself unless a party gives notice (自動更新, \
"同一条件でさらに1年間更新され", "shall automatically renew"); false when the contract says it does \
not renew or renews only by a new agreement (協議のうえ更新, 更新しない); null when it says nothing.
- notice_period: how long before the end of the term a party must give notice to stop it (更新拒絶 \
or 解約の申入れ: "期間満了の3か月前までに" → "3 months"; "at least ninety (90) days prior to the \
expiration" → "90 days"). Always "<n> days", "<n> weeks", "<n> months" or "<n> years", plural even \
for one ("1 months"). null when no such notice is required.
- amount: the contract price as an integer in the currency's unit, as written (金四十五万円 → 450000, \
金壱百弐拾万円 → 1200000, 金1,280万円 → 12800000, US$125,000 → 125000), tax as the contract states \
it. When the price is only stated per month (月額, monthly fee, rent), the monthly amount. Not deposits, \
late fees, penalties or liability caps. null when there is no price.
- currency: ISO 4217 (円, ¥, 日本円 → JPY; US$, USD, $ → USD; €, EUR → EUR). null when there is no amount.
- quote: copy the contract's own words the value comes from (full-width characters and line breaks as \
they are); confidence: 0 to 1.
"""

_RETRYABLE_CODES = frozenset(
    {
        "ThrottlingException",
        "ServiceQuotaExceededException",
        "ServiceUnavailableException",
        "ModelNotReadyException",
        "ModelTimeoutException",
        "InternalServerException",
    }
)
"""Bedrock error codes that say "later": the request itself was fine."""
_REFUSED_CODES = frozenset(
    {
        "AccessDeniedException",
        "ValidationException",
        "ResourceNotFoundException",
        "UnrecognizedClientException",
    }
)
"""Codes that retrying cannot fix: no access to the model, an unknown model id, an invalid request."""
_NETWORK_ERRORS = (EndpointConnectionError, ConnectionClosedError, ConnectTimeoutError, ReadTimeoutError)


def tool_input_schema() -> dict[str, Any]:
    """The JSON schema of the tool's input, with its ``$defs`` inlined (not every Bedrock model
    resolves ``$ref``)."""
    schema = ToolInput.model_json_schema()
    definitions = schema.pop("$defs", {})
    return dict(_inline(schema, definitions))


def _inline(node: Any, definitions: Mapping[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline(definitions[ref.removeprefix("#/$defs/")], definitions)
        return {key: _inline(value, definitions) for key, value in node.items()}
    if isinstance(node, list):
        return [_inline(item, definitions) for item in node]
    return node


class BedrockEngine:
    """Extraction by a Bedrock model through the Converse API (one forced tool call)."""

    def __init__(self, client: BedrockRuntimeClient, model_id: str, max_chars: int = 60_000) -> None:
        """``client``: a ``bedrock-runtime`` client; ``model_id``: a model or inference profile id;
        ``max_chars``: longer texts are sent as their beginning and end (the parties, term and price
        are near the start, the date and the signatures at the end)."""
        self.client = client
        self.model_id = model_id
        self.max_chars = max_chars
        self.engine = f"bedrock:{model_id}"
        self._tool_config: ToolConfigurationTypeDef = {
            "tools": [
                {
                    "toolSpec": {
                        "name": TOOL_NAME,
                        "description": "Record the ledger metadata of the contract.",
                        "inputSchema": {"json": tool_input_schema()},
                    }
                }
            ],
            "toolChoice": {"tool": {"name": TOOL_NAME}},
        }

    def extract(self, text: str) -> ContractMetadata:
        """The contract's metadata as the model reads it; evidence offsets are into ``text``.

        An empty (or whitespace) text gives empty metadata without calling the model.

        :raises ExtractionUnavailable: Bedrock is throttling, over quota, not ready or unreachable.
        :raises ExtractionRejected: Bedrock refused the request (model access, model id, request).
        :raises ExtractionOutputInvalid: the model did not answer with valid tool input.
        :raises ExtractionError: any other Bedrock failure.
        """
        if not text.strip():
            return ContractMetadata(engine=self.engine)
        response = self._converse(text)
        return self._metadata(text, _tool_input(response))

    def _converse(self, text: str) -> ConverseResponseTypeDef:
        try:
            return self.client.converse(
                modelId=self.model_id,
                system=[{"text": SYSTEM_PROMPT}],
                messages=[
                    {
                        "role": "user",
                        "content": [
                            {
                                "text": "Record the metadata of this contract.\n\n<contract>\n"
                                f"{_clip(text, self.max_chars)}\n</contract>"
                            }
                        ],
                    }
                ],
                toolConfig=self._tool_config,
                # Deterministic reading; the tool input of a long contract fits well within 4k tokens.
                inferenceConfig={"maxTokens": 4096, "temperature": 0.0},
            )
        except ClientError as e:
            error = e.response.get("Error", {})
            code = str(error.get("Code", ""))
            detail = f"{code}: {error.get('Message', '')}"
            if code in _RETRYABLE_CODES:
                raise ExtractionUnavailable(detail) from e
            if code in _REFUSED_CODES:
                raise ExtractionRejected(detail) from e
            raise ExtractionError(detail) from e
        except _NETWORK_ERRORS as e:
            raise ExtractionUnavailable(str(e)) from e
        except BotoCoreError as e:
            raise ExtractionError(str(e)) from e

    def _metadata(self, text: str, answer: ToolInput) -> ContractMetadata:
        evidence: list[Evidence] = []

        def cite(field: FieldName, quote: str | None, confidence: float) -> None:
            if quote and quote.strip():
                evidence.append(_evidence(text, field, quote, confidence))

        parties: list[str] = []
        for party in answer.parties:
            name = party.name.strip()
            if name and name not in parties:
                parties.append(name)
                cite("parties", party.quote, party.confidence)
        cited: list[tuple[FieldName, _Value]] = [
            ("contract_date", answer.contract_date),
            ("start_date", answer.start_date),
            ("end_date", answer.end_date),
            ("auto_renewal", answer.auto_renewal),
            ("notice_period", answer.notice_period),
            ("amount", answer.amount),
            ("currency", answer.currency),
        ]
        for field, value in cited:
            if value.value is not None:
                cite(field, value.quote, value.confidence)
        try:
            deadline = notice_deadline(answer.end_date.value, answer.notice_period.value)
        except (ValueError, OverflowError):  # an end date so early that the deadline falls before year 1
            deadline = None
        try:
            return ContractMetadata(
                contract_date=answer.contract_date.value,
                start_date=answer.start_date.value,
                end_date=answer.end_date.value,
                parties=parties,
                auto_renewal=answer.auto_renewal.value,
                notice_period=answer.notice_period.value,
                notice_deadline=deadline,
                amount=answer.amount.value,
                currency=answer.currency.value,
                evidence=evidence,
                engine=self.engine,
            )
        except ValidationError as e:
            raise ExtractionOutputInvalid(_validation_detail(e)) from e


def _tool_input(response: ConverseResponseTypeDef) -> ToolInput:
    """The validated input of the model's call of our tool.

    :raises ExtractionOutputInvalid: there is no such call, or its input does not validate.
    """
    stop = response.get("stopReason")
    content = response.get("output", {}).get("message", {}).get("content", [])
    calls = [block["toolUse"] for block in content if "toolUse" in block]
    call = next((c for c in calls if c.get("name") == TOOL_NAME), None)
    if call is None:
        raise ExtractionOutputInvalid(f"the model did not call {TOOL_NAME} (stopReason {stop})")
    if stop == "max_tokens":  # the tool input was cut short
        raise ExtractionOutputInvalid("the answer was cut off at the token limit")
    try:
        return ToolInput.model_validate(call.get("input"))
    except ValidationError as e:
        raise ExtractionOutputInvalid(_validation_detail(e)) from e


def _validation_detail(error: ValidationError) -> str:
    # Field paths and messages only: pydantic's default text repeats the input (contract text).
    return "; ".join(f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()[:5])


def _clip(text: str, max_chars: int) -> str:
    """``text``, or when longer than ``max_chars`` its first three quarters and last quarter of that."""
    if len(text) <= max_chars:
        return text
    head = max_chars * 3 // 4
    tail = max_chars - head
    omitted = len(text) - head - tail
    return f"{text[:head]}\n[… {omitted} characters omitted …]\n{text[len(text) - tail :]}"


_MAX_EVIDENCE = 500
"""Evidence.text's limit."""


def _evidence(text: str, field: FieldName, quote: str, confidence: float) -> Evidence:
    """Evidence for ``quote``: the span of ``text`` it matches, or the quote alone when it is not there."""
    span = locate(text, quote)
    if span is None:
        return Evidence(field=field, text=quote[:_MAX_EVIDENCE], confidence=confidence)
    start, end = span
    end = min(end, start + _MAX_EVIDENCE)
    return Evidence(field=field, text=text[start:end], start=start, end=end, confidence=confidence)


def locate(text: str, quote: str) -> tuple[int, int] | None:
    """The ``(start, end)`` of ``quote`` in ``text``: an exact match first, else a match that ignores
    whitespace (models rejoin words that a line or page break splits, or trim indentation); None when
    neither is found."""
    quote = quote.strip()
    if not quote:
        return None
    found = text.find(quote)
    if found >= 0:
        return found, found + len(quote)
    characters = [ch for ch in quote[: 2 * _MAX_EVIDENCE] if not ch.isspace()]
    pattern = r"\s*".join(re.escape(ch) for ch in characters)
    match = re.search(pattern, text)
    return (match.start(), match.end()) if match else None
