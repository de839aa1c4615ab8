"""E5: the `tachiai` command — seal a file locally, print the signature panel, refuse bad input cleanly."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.command import tachiai
from tests.fixtures.pdfs import simple_pdf


@pytest.fixture(scope="module")
def sealed_file(tmp_path_factory) -> tuple[Path, Path]:
    work = tmp_path_factory.mktemp("cli")
    source = work / "contract.pdf"
    source.write_bytes(simple_pdf(pages=2))
    out = work / "sealed.pdf"
    result = tachiai(
        "seal", str(source), "-o", str(out), "--pki-dir", str(work / "pki"), "--name", "佐藤一郎"
    )
    assert result.returncode == 0, result.stderr
    assert "tachiai verify" in result.stdout
    return out, work / "pki" / "root.pem"


def test_seal_then_verify_with_the_test_root_passes(sealed_file):
    out, root = sealed_file
    result = tachiai("verify", str(out), "--trust", str(root), env={**os.environ, "TACHIAI_LANGUAGE": "en"})
    assert result.returncode == 0, result.stdout
    assert "Signed and all signatures are valid." in result.stdout
    assert "LTV enabled (no network needed): yes" in result.stdout
    # the seal's reason is the document's own words (sealed in Japanese), whatever the terminal speaks
    assert "佐藤一郎 (local-seal@example.com) が " in result.stdout


@pytest.mark.parametrize(
    ("language", "headline"),
    [("ja", "すべての署名が有効です"), ("zh", "所有签名均有效"), ("en", "all signatures are valid")],
)
def test_verify_prints_the_panel_in_the_terminals_language(sealed_file, language, headline):
    out, root = sealed_file
    result = tachiai(
        "verify", str(out), "--trust", str(root), env={**os.environ, "TACHIAI_LANGUAGE": language}
    )
    assert result.returncode == 0 and headline in result.stdout, result.stdout


def test_verify_json_lists_each_signature(sealed_file):
    out, root = sealed_file
    report = json.loads(tachiai("verify", str(out), "--trust", str(root), "--json").stdout)
    assert report["ok"] is True and report["ltv_complete"] is True
    # the seal, the completion seal that locks the document, the document timestamp
    assert [s["kind"] for s in report["signatures"]] == ["signature", "signature", "document_timestamp"]
    assert all(s["trusted"] for s in report["signatures"])


def test_verify_without_trust_anchor_checks_integrity_but_not_trust(sealed_file):
    # Intact is not valid: without a trust anchor the verdict is "untrusted or incomplete" (3)
    out, _ = sealed_file
    result = tachiai("verify", str(out))
    assert result.returncode == 3
    assert "not checked (use --trust ROOT.pem)" in result.stdout


def test_verify_of_a_tampered_file_exits_1_and_names_the_broken_signature(sealed_file, tmp_path):
    out, root = sealed_file
    data = bytearray(out.read_bytes())
    data[200] = ord("Z") if data[200] != ord("Z") else ord("Y")
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(bytes(data))
    result = tachiai("verify", str(tampered), "--trust", str(root))
    assert result.returncode == 1
    assert "TachiaiSeal1" in result.stdout and "intact:             NO" in result.stdout
    assert "Traceback" not in result.stderr


def test_verify_of_something_that_is_not_a_pdf_is_refused_without_traceback(tmp_path):
    path = tmp_path / "note.txt"
    path.write_text("hello")
    result = tachiai("verify", str(path))
    assert result.returncode == 2
    assert "error [" in result.stderr and "Traceback" not in result.stderr


def test_missing_file_is_a_clear_error(tmp_path):
    result = tachiai("verify", str(tmp_path / "nope.pdf"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr and "Traceback" not in result.stderr


def test_preflight_prints_json_and_exits_0_for_a_good_pdf(tmp_path):
    path = tmp_path / "ok.pdf"
    path.write_bytes(simple_pdf(pages=3))
    result = tachiai("preflight", str(path))
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["accepted"] is True and data["pages"] == 3 and len(data["original_sha256"]) == 64


def test_preflight_refuses_with_code_and_exit_2(tmp_path):
    path = tmp_path / "image.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    result = tachiai("preflight", str(path))
    assert result.returncode == 2
    data = json.loads(result.stdout)
    assert data["accepted"] is False and data["code"] == "not_pdf"
    assert data["message"]["ja"] and data["message"]["en"]


def test_preflight_reads_standard_input():
    result = tachiai("preflight", "-", stdin=simple_pdf())
    assert result.returncode == 0, result.stderr


def test_seal_works_with_the_default_relative_pki_directory(tmp_path):
    (tmp_path / "contract.pdf").write_bytes(simple_pdf())
    result = tachiai("seal", "contract.pdf", "-o", "sealed.pdf", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / ".tachiai" / "pki" / "root.pem").exists()
    verified = tachiai("verify", "sealed.pdf", "--trust", ".tachiai/pki/root.pem", cwd=tmp_path)
    assert verified.returncode == 0, verified.stdout


def test_local_token_prints_a_sender_token_the_local_runtime_accepts(tmp_path):
    from tachiai.local.local_auth import LocalTokens, load_or_create_secret

    result = tachiai(
        "local", "token", "--state-dir", str(tmp_path), "--email", "hanako@example.jp", "--name", "山田花子"
    )
    assert result.returncode == 0, result.stderr
    claims = LocalTokens(load_or_create_secret(tmp_path / "token-secret")).verify(result.stdout.strip())
    assert claims is not None
    assert claims["email"] == "hanako@example.jp" and claims["name"] == "山田花子"


def test_local_serves_the_api_until_interrupted(tmp_path):
    import re
    import signal
    import urllib.request

    process = subprocess.Popen(
        [sys.executable, "-m", "tachiai.cli", "local", "--state-dir", str(tmp_path), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if line.startswith("curl "):
                break
        url = re.search(r"API:\s+(http://\S+)/v1/envelopes", "".join(lines))
        assert url, "".join(lines)
        token = next(
            line.split("=", 1)[1].strip() for line in lines if line.startswith("export TACHIAI_TOKEN=")
        )
        request = urllib.request.Request(
            f"{url[1]}/v1/envelopes", headers={"Authorization": f"Bearer {token}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert json.load(response) == {"envelopes": [], "cursor": None}
        # The variables it prints are what `tachiai search` and `tachiai local alerts` need
        exported = dict(
            line.removeprefix("export ").strip().split("=", 1) for line in lines if line.startswith("export ")
        )
        assert exported["TACHIAI_URL"] == url[1]
        environment = {**os.environ, **exported}
        search = subprocess.run(
            [sys.executable, "-m", "tachiai.cli", "search"], env=environment, capture_output=True, text=True
        )
        assert search.returncode == 0 and "No contract matches" in search.stdout, search.stderr
        alerts = subprocess.run(
            [sys.executable, "-m", "tachiai.cli", "local", "alerts"],
            env=environment,
            capture_output=True,
            text=True,
        )
        assert alerts.returncode == 0 and "0 alert(s) sent" in alerts.stdout, alerts.stderr
        assert any("Deadline alerts: daily at 00:00 UTC" in line for line in lines)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    assert process.returncode == 0
