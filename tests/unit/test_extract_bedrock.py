"""The Bedrock engine: one Converse call forcing one tool, its answer validated and located in the text,
and Bedrock's failures turned into typed errors (botocore's Stubber on a real bedrock-runtime client)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from tachiai.domain.errors import (
    ExtractionError,
    ExtractionOutputInvalid,
    ExtractionRejected,
    ExtractionUnavailable,
)
from tachiai.extract.bedrock import TOOL_NAME, BedrockEngine, locate, tool_input_schema

MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0"
CONTRACT = (
    "業務委託契約書\n"
    "株式会社サンプル商事（以下「甲」という。）と合同会社ミナトデザイン（以下「乙」という。）は、"
    "次のとおり契約を締結する。\n"
    "第3条（委託料）本業務の委託料は、月額金四十五万円（消費税別）とする。\n"
    "第6条（契約期間）本契約の有効期間は、令和6年4月1日から令和7年3月31日までとする。"
    "期間満了の3か月前までに、甲乙いずれからも書面による別段の意思表示がないときは、"
    "本契約は同一条件でさらに1年間更新されるものとし、以後も同様とする。\n"
    "令和6年3月15日\n"
)


def _field(quote: str | None, value: Any, confidence: float = 0.9) -> dict[str, Any]:
    return {"quote": quote, "value": value, "confidence": confidence}


GOOD_INPUT: dict[str, Any] = {
    "parties": [
        {"quote": "株式会社サンプル商事", "name": "株式会社サンプル商事", "confidence": 0.98},
        {"quote": "合同会社ミナトデザイン", "name": "合同会社ミナトデザイン", "confidence": 0.97},
    ],
    "contract_date": _field("令和6年3月15日", "2024-03-15"),
    "start_date": _field("令和6年4月1日から", "2024-04-01"),
    "end_date": _field("令和7年3月31日までとする", "2025-03-31"),
    "auto_renewal": _field("同一条件でさらに1年間更新される", True),
    # A quote rejoined across the line break of the text: found by the whitespace-insensitive match.
    "notice_period": _field("期間満了の3か月前 までに", "3 months", 0.8),
    "amount": _field("月額金四十五万円", 450000),
    "currency": _field("金四十五万円", "JPY", 0.7),
}


def converse_response(tool_input: Any, stop_reason: str = "tool_use") -> dict[str, Any]:
    return {
        "output": {
            "message": {
                "role": "assistant",
                "content": [{"toolUse": {"toolUseId": "tooluse_1", "name": TOOL_NAME, "input": tool_input}}],
            }
        },
        "stopReason": stop_reason,
        "usage": {"inputTokens": 1200, "outputTokens": 300, "totalTokens": 1500},
        "metrics": {"latencyMs": 2100},
    }


@pytest.fixture
def client(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return boto3.client("bedrock-runtime", region_name="us-east-1")


@pytest.fixture
def stubber(client: Any) -> Iterator[Stubber]:
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def requests(client: Any) -> list[dict[str, Any]]:
    """The parameters of every Converse call the client makes."""
    seen: list[dict[str, Any]] = []
    client.meta.events.register(
        "before-parameter-build.bedrock-runtime.Converse", lambda params, **_: seen.append(params)
    )
    return seen


def test_the_request_forces_the_one_tool_and_carries_the_contract_text(client, stubber, requests):
    stubber.add_response("converse", converse_response(GOOD_INPUT))

    BedrockEngine(client, MODEL).extract(CONTRACT)

    (request,) = requests
    assert request["modelId"] == MODEL
    tool_config = request["toolConfig"]
    assert [t["toolSpec"]["name"] for t in tool_config["tools"]] == [TOOL_NAME]
    assert tool_config["tools"][0]["toolSpec"]["inputSchema"]["json"] == tool_input_schema()
    assert tool_config["toolChoice"] == {"tool": {"name": TOOL_NAME}}
    (message,) = request["messages"]
    assert message["role"] == "user"
    assert CONTRACT in message["content"][0]["text"]
    assert "甲" in request["system"][0]["text"]


def test_a_good_answer_becomes_the_metadata_with_the_computed_notice_deadline(client, stubber):
    stubber.add_response("converse", converse_response(GOOD_INPUT))

    metadata = BedrockEngine(client, MODEL).extract(CONTRACT)

    assert metadata.engine == f"bedrock:{MODEL}"
    assert metadata.parties == ["株式会社サンプル商事", "合同会社ミナトデザイン"]
    assert (metadata.contract_date, metadata.start_date, metadata.end_date) == (
        date(2024, 3, 15),
        date(2024, 4, 1),
        date(2025, 3, 31),
    )
    assert (metadata.auto_renewal, metadata.notice_period) == (True, "3 months")
    assert metadata.notice_deadline == date(2024, 12, 31)
    assert (metadata.amount, metadata.currency) == (450000, "JPY")


def test_evidence_points_at_the_quoted_words_in_the_text(client, stubber):
    stubber.add_response("converse", converse_response(GOOD_INPUT))

    metadata = BedrockEngine(client, MODEL).extract(CONTRACT)

    (amount,) = metadata.evidence_for("amount")
    assert amount.start is not None and amount.end is not None
    assert CONTRACT[amount.start : amount.end] == amount.text == "月額金四十五万円"
    assert amount.confidence == 0.9
    assert len(metadata.evidence_for("parties")) == 2


def test_a_quote_split_differently_by_whitespace_is_still_located():
    text = "期間満了の3か月\n前までに、書面で通知する。"

    assert locate(text, "期間満了の3か月前 までに") == (0, 13)


def test_a_quote_that_is_not_in_the_text_is_kept_without_offsets(client, stubber):
    answer = {**GOOD_INPUT, "amount": _field("四十五万円也", 450000)}
    stubber.add_response("converse", converse_response(answer))

    (amount,) = BedrockEngine(client, MODEL).extract(CONTRACT).evidence_for("amount")

    assert (amount.text, amount.start, amount.end) == ("四十五万円也", None, None)


def test_a_long_contract_is_sent_as_its_beginning_and_end(client, stubber, requests):
    stubber.add_response("converse", converse_response(GOOD_INPUT))
    text = "冒頭" + "あ" * 5000 + "末尾の署名欄"

    BedrockEngine(client, MODEL, max_chars=1000).extract(text)

    sent = requests[0]["messages"][0]["content"][0]["text"]
    assert "冒頭" in sent and "末尾の署名欄" in sent
    assert len(sent) < 1200


def test_throttling_is_a_retryable_unavailable_error(client, stubber):
    stubber.add_client_error(
        "converse",
        service_error_code="ThrottlingException",
        service_message="Too many requests",
        http_status_code=429,
    )

    with pytest.raises(ExtractionUnavailable) as raised:
        BedrockEngine(client, MODEL).extract(CONTRACT)

    assert raised.value.http_status == 503
    assert "ThrottlingException" in raised.value.detail


def test_no_access_to_the_model_is_rejected_not_retried(client, stubber):
    stubber.add_client_error(
        "converse",
        service_error_code="AccessDeniedException",
        service_message="You don't have access to the model with the specified model ID.",
        http_status_code=403,
    )

    with pytest.raises(ExtractionRejected):
        BedrockEngine(client, MODEL).extract(CONTRACT)


def test_a_model_that_cannot_be_forced_to_use_a_tool_is_rejected(client, stubber):
    stubber.add_client_error(
        "converse",
        service_error_code="ValidationException",
        service_message="This model doesn't support the toolConfig.toolChoice.tool field.",
        http_status_code=400,
    )

    with pytest.raises(ExtractionRejected):
        BedrockEngine(client, MODEL).extract(CONTRACT)


def test_an_unexpected_bedrock_error_is_an_extraction_error(client, stubber):
    stubber.add_client_error(
        "converse", service_error_code="ModelErrorException", service_message="boom", http_status_code=424
    )

    with pytest.raises(ExtractionError) as raised:
        BedrockEngine(client, MODEL).extract(CONTRACT)

    assert type(raised.value) is ExtractionError


def test_a_malformed_tool_input_is_invalid_output(client, stubber):
    answer = {**GOOD_INPUT, "end_date": _field("令和7年3月31日", "令和7年3月31日")}
    stubber.add_response("converse", converse_response(answer))

    with pytest.raises(ExtractionOutputInvalid) as raised:
        BedrockEngine(client, MODEL).extract(CONTRACT)

    assert "end_date.value" in raised.value.detail


def test_a_notice_period_not_of_the_required_form_is_invalid_output(client, stubber):
    answer = {**GOOD_INPUT, "notice_period": _field("3か月前", "3か月")}
    stubber.add_response("converse", converse_response(answer))

    with pytest.raises(ExtractionOutputInvalid):
        BedrockEngine(client, MODEL).extract(CONTRACT)


def test_an_answer_without_the_tool_call_is_invalid_output(client, stubber):
    response = converse_response(GOOD_INPUT)
    response["output"]["message"]["content"] = [{"text": "この契約書の締結日は令和6年3月15日です。"}]
    response["stopReason"] = "end_turn"
    stubber.add_response("converse", response)

    with pytest.raises(ExtractionOutputInvalid):
        BedrockEngine(client, MODEL).extract(CONTRACT)


def test_an_answer_cut_off_at_the_token_limit_is_invalid_output(client, stubber):
    stubber.add_response("converse", converse_response(GOOD_INPUT, stop_reason="max_tokens"))

    with pytest.raises(ExtractionOutputInvalid):
        BedrockEngine(client, MODEL).extract(CONTRACT)


def test_an_empty_text_gives_empty_metadata_without_calling_bedrock(client, stubber):
    metadata = BedrockEngine(client, MODEL).extract(" \n")

    assert metadata.parties == [] and metadata.contract_date is None
    assert metadata.engine == f"bedrock:{MODEL}"


def test_the_tool_schema_is_self_contained_and_asks_for_every_value_but_the_deadline():
    schema = tool_input_schema()

    assert "$defs" not in schema and "$ref" not in str(schema)
    assert set(schema["required"]) == {
        "parties",
        "contract_date",
        "start_date",
        "end_date",
        "auto_renewal",
        "notice_period",
        "amount",
        "currency",
    }
    assert set(schema["properties"]["amount"]["required"]) == {"quote", "value", "confidence"}
