"""Issue 13, blocker 4: every presigned POST into the Object Lock bucket carries the file's Content-MD5.

S3 takes no upload into a bucket with Object Lock default retention without an integrity checksum, and
a presigned POST is a plain form (no SDK adds one): the policy requires the field, the uploaders add it,
and the local runtime's S3 refuses an upload without it, or with a wrong one, as S3 does (moto checks
neither: docs/operations/uploads.md).
"""

from __future__ import annotations

import base64
import hashlib
import json
import subprocess
from typing import Any

import boto3
import urllib3
from tachiai import names
from tachiai.adapters.s3 import DocumentStore
from tachiai.domain.documents import upload_key
from tachiai.local.client import upload_fields
from tachiai.local.guard import MotoGuard, ServiceLocks
from werkzeug.test import Client
from werkzeug.wrappers import Response

from infra import REPO_ROOT
from tests.conftest import require_tool

PORT = 8080
PDF = b"%PDF-1.7\r\n%\xe2\xe3\xcf\xd3\r\n1 0 obj\n<<>>\nendobj\r\n--not-a-boundary\r\n\x00\xff%%EOF\n"


def _md5(data: bytes) -> str:
    return base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()


def _post() -> dict[str, Any]:
    client = boto3.client(
        "s3", region_name="ap-northeast-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    return DocumentStore(client, "tachiai-documents").upload_url(
        upload_key("env1", "d1", "0" * 32), 600, 1024
    )


def _policy(post: dict[str, Any]) -> dict[str, Any]:
    policy: dict[str, Any] = json.loads(base64.b64decode(post["fields"]["policy"]))
    return policy


def test_a_presigned_posts_policy_requires_the_files_content_md5():
    conditions = _policy(_post())["conditions"]
    assert ["starts-with", "$Content-MD5", ""] in conditions
    assert names.UPLOAD_CHECKSUM_FIELD == "Content-MD5"


def test_the_checksum_is_left_to_the_uploader_who_has_the_file():
    assert names.UPLOAD_CHECKSUM_FIELD not in _post()["fields"]


def test_the_cli_adds_the_files_md5_to_the_fields_the_api_gave():
    post = _post()
    fields = upload_fields(post, PDF)
    assert fields[names.UPLOAD_CHECKSUM_FIELD] == _md5(PDF)
    assert {k: v for k, v in fields.items() if k != names.UPLOAD_CHECKSUM_FIELD} == post["fields"]


# --- the local runtime's S3 refuses as the deployed bucket does ------------------------------------


def _stored_app(reached: list[bytes]) -> Any:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        reached.append(environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0)))
        return Response("", status=204)(environ, start_response)

    return app


def _upload(fields: dict[str, str], data: bytes) -> tuple[Any, list[bytes]]:
    reached: list[bytes] = []
    guard = MotoGuard(_stored_app(reached), ServiceLocks())
    guard.port = PORT
    body, content_type = urllib3.encode_multipart_formdata(
        [*fields.items(), ("file", ("contract.pdf", data, "application/pdf"))]
    )
    response = Client(guard).post(
        "/tachiai-documents", data=body, headers={"Host": f"127.0.0.1:{PORT}", "Content-Type": content_type}
    )
    return response, reached


def test_local_s3_stores_an_upload_with_the_right_md5_untouched():
    response, reached = _upload({"key": "k", names.UPLOAD_CHECKSUM_FIELD: _md5(PDF)}, PDF)
    assert response.status_code == 204
    assert len(reached) == 1 and PDF in reached[0]  # moto gets the whole form, byte for byte


def test_local_s3_refuses_an_upload_without_a_checksum_as_object_lock_does():
    response, reached = _upload({"key": "k"}, PDF)
    assert response.status_code == 400 and b"<Code>InvalidRequest</Code>" in response.data
    assert reached == []


def test_local_s3_refuses_an_upload_whose_bytes_do_not_match_its_md5():
    response, reached = _upload({"key": "k", names.UPLOAD_CHECKSUM_FIELD: _md5(PDF + b"x")}, PDF)
    assert response.status_code == 400 and b"<Code>BadDigest</Code>" in response.data
    assert reached == []


# --- the console's script computes the same MD5 -------------------------------------------------------

UPLOAD_JS = REPO_ROOT / "layers/core/python/tachiai/templates/console/static/upload.js"


def _md5_in_the_consoles_script(samples: list[bytes]) -> list[str]:
    """The Content-MD5 upload.js's own MD5 computes for each sample, run by Node."""
    node = require_tool("node", "nodejs")
    script = UPLOAD_JS.read_text(encoding="utf-8")
    section = script[script.index("var MD5_K = [") : script.index("  function contentMd5(")]
    program = (
        section
        + "const samples = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        + "process.stdout.write(JSON.stringify(samples.map(function (s) {"
        + "  return Buffer.from(md5Digest(new Uint8Array(Buffer.from(s, 'base64'))), 'binary').toString('base64');"
        + "})));"
    )
    given = json.dumps([base64.b64encode(s).decode() for s in samples])
    done = subprocess.run([node, "-e", program], input=given, capture_output=True, text=True, check=True)
    answers: list[str] = json.loads(done.stdout)
    return answers


def test_the_consoles_upload_script_computes_the_md5_s3_checks():
    # Lengths around the 64-byte block and its 56-byte padding limit, and a few real-sized files.
    samples = [b"", b"a", PDF]
    samples += [bytes((i * 7 + n) % 256 for i in range(n)) for n in (55, 56, 57, 63, 64, 65, 1000, 300_001)]
    assert _md5_in_the_consoles_script(samples) == [_md5(s) for s in samples]
