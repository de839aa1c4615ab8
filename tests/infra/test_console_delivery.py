"""What a deployed stack needs for the console to reach a browser whole (issue 12, K7 §2 and §3):

* page previews are PNGs the send function answers base64-encoded; API Gateway turns them back into
  bytes only when the FIRST media type of the request's ``Accept`` matches a binary media type, and a
  browser asks for an ``<img>`` with ``image/avif,...`` or ``image/webp,...`` first;
* the new-envelope page uploads to the documents bucket from script (a presigned POST whose progress it
  reads): the bucket's CORS rule must allow POST from the console's origins, and nothing more.

The synth runs cdk-nag (build_app attaches it): an unacknowledged finding fails the fixture.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Stack
from tachiai import names

from infra.app import build_app
from infra.stack import TachiaiStack
from tests.infra.helpers import BASE_CONFIG, cdk_context, references, resources

PUBLIC_URL = "https://sign.example.co.jp/prod"

# The Accept header each browser sends for an <img> (as of 2024/2025 releases).
IMAGE_ACCEPT = {
    "chrome": "image/avif,image/webp,image/apng,image/svg+xml,image/*,*/*;q=0.8",
    "firefox": "image/avif,image/webp,image/png,image/svg+xml,image/*;q=0.8,*/*;q=0.5",
    "safari": "image/webp,image/avif,image/jxl,image/heic,image/heic-sequence,video/*;q=0.8,image/png,"
    "image/svg+xml,image/*;q=0.8,*/*;q=0.5",
}


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory: pytest.TempPathFactory) -> tuple[TachiaiStack, dict[str, Any]]:
    config = {**BASE_CONFIG, "public_url": PUBLIC_URL}
    app, stack = build_app(cdk_context(config), outdir=str(tmp_path_factory.mktemp("cdk.out")))
    assembly = app.synth()  # runs cdk-nag too: any unacknowledged finding fails here
    return stack, assembly.get_stack_by_name(stack.stack_name).template


def _gateway_decodes_binary(accept: str, binary_media_types: list[str]) -> bool:
    """API Gateway's rule for a Lambda proxy answer with ``isBase64Encoded``: bytes to the client when
    the first media type of ``Accept`` matches a binary media type (``*`` a wildcard), else the text."""
    first = accept.split(",", 1)[0].split(";", 1)[0].strip().lower()
    return any(fnmatchcase(first, pattern.lower()) for pattern in binary_media_types)


def _rest_api(template: dict[str, Any]) -> dict[str, Any]:
    (api,) = resources(template, "AWS::ApiGateway::RestApi").values()
    return api


@pytest.mark.parametrize("browser", sorted(IMAGE_ACCEPT))
def test_a_browsers_image_request_gets_the_preview_png_as_bytes(
    synthesized: tuple[TachiaiStack, dict[str, Any]], browser: str
) -> None:
    binary = _rest_api(synthesized[1])["Properties"]["BinaryMediaTypes"]

    assert _gateway_decodes_binary(IMAGE_ACCEPT[browser], binary)


def test_json_and_form_bodies_stay_text_for_the_functions(
    synthesized: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    # A request body of a binary media type reaches the function base64-encoded: JSON and urlencoded
    # forms must not be one (no catch-all */*).
    binary = _rest_api(synthesized[1])["Properties"]["BinaryMediaTypes"]

    for text_type in ("application/json", "application/x-www-form-urlencoded", "text/html"):
        assert not _gateway_decodes_binary(text_type, binary), text_type


def _documents_bucket(stack: TachiaiStack, template: dict[str, Any]) -> dict[str, Any]:
    element = stack.storage.documents_bucket.node.default_child
    logical_id = Stack.of(stack).resolve(element.logical_id)  # type: ignore[union-attr]
    return template["Resources"][logical_id]  # type: ignore[no-any-return]


def test_documents_bucket_lets_the_consoles_origins_post_presigned_forms_and_nothing_else(
    synthesized: tuple[TachiaiStack, dict[str, Any]],
) -> None:
    stack, template = synthesized
    bucket = _documents_bucket(stack, template)

    (rule,) = bucket["Properties"]["CorsConfiguration"]["CorsRules"]

    assert rule["AllowedMethods"] == list(names.UPLOAD_CORS_METHODS) == ["POST"]
    assert rule["MaxAge"] == names.UPLOAD_CORS_MAX_AGE_S
    assert "AllowedHeaders" not in rule and "ExposedHeaders" not in rule
    custom, stage = rule["AllowedOrigins"]
    assert custom == "https://sign.example.co.jp"  # the origin: no path, no trailing slash
    # the same console at the stage's own address: https://<rest api id>.execute-api.<region>.<suffix>
    (rest_api_id,) = resources(template, "AWS::ApiGateway::RestApi")
    assert rest_api_id in references(stage)
    parts = stage["Fn::Join"][1]
    assert (
        parts[0] == "https://"
        and ".execute-api." in parts
        and not any(isinstance(p, str) and p.startswith("/") for p in parts)
    )
    assert "*" not in rule["AllowedOrigins"]


def test_the_cors_rule_names_no_wildcard_origin_without_a_custom_domain(tmp_path: Path) -> None:
    app, stack = build_app(cdk_context(BASE_CONFIG), outdir=str(tmp_path))
    template = app.synth().get_stack_by_name(stack.stack_name).template

    (rule,) = _documents_bucket(stack, template)["Properties"]["CorsConfiguration"]["CorsRules"]

    (stage,) = rule["AllowedOrigins"]
    assert isinstance(stage, dict) and "Fn::Join" in stage
