"""`tachiai extract`: a contract's metadata as JSON from a text file, a PDF or standard input; anything
else refused with the one-line typed error and exit status 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from tachiai.extract import ContractMetadata
from tachiai.extract.rules import RuleEngine
from tachiai.extract.text import pdf_text

from tests.fixtures.contracts import DIRECTORY, contract_pdf, contract_text

NAME = "ja_02_himitsu_hoji"
"""A contract whose parties are 株式会社髙橋製作所 and 山﨑工業株式会社."""


ENVIRONMENT = {
    **{k: v for k, v in os.environ.items() if k != "TACHIAI_BEDROCK_MODEL_ID"},
    "TACHIAI_EXTRACTION_ENGINE": "rules",
}
"""The developer's environment, with the default engine whatever it chooses."""


def tachiai(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "tachiai.cli", *args],
        input=stdin,
        capture_output=True,
        check=False,
        timeout=120,
        env=ENVIRONMENT,
    )


def _printed(result: subprocess.CompletedProcess[bytes]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr.decode()
    data: dict[str, Any] = json.loads(result.stdout.decode("utf-8"))
    return data


@pytest.fixture(scope="module")
def pdf_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("extract") / "nda.pdf"
    path.write_bytes(contract_pdf(NAME))
    return path


def test_a_text_contract_prints_what_the_rule_engine_reads():
    result = tachiai("extract", str(DIRECTORY / f"{NAME}.txt"))

    printed = _printed(result)
    assert ContractMetadata.model_validate(printed).engine == "rules"
    assert printed == RuleEngine().extract(contract_text(NAME)).model_dump(mode="json")


def test_japanese_is_printed_as_it_is_not_escaped():
    result = tachiai("extract", str(DIRECTORY / f"{NAME}.txt"))

    assert "髙橋" in result.stdout.decode("utf-8")
    assert b"\\u" not in result.stdout


def test_a_pdf_contract_is_read_through_its_text(pdf_file):
    result = tachiai("extract", str(pdf_file))

    assert _printed(result) == RuleEngine().extract(pdf_text(pdf_file.read_bytes())).model_dump(mode="json")


def test_a_text_contract_can_come_on_standard_input():
    result = tachiai("extract", "-", stdin=contract_text(NAME).encode("utf-8"))

    assert _printed(result) == RuleEngine().extract(contract_text(NAME)).model_dump(mode="json")


def test_a_pdf_can_come_on_standard_input(pdf_file):
    from_file = _printed(tachiai("extract", str(pdf_file)))

    assert _printed(tachiai("extract", "-", stdin=pdf_file.read_bytes())) == from_file


def test_a_binary_that_is_not_a_pdf_is_refused_with_exit_2_and_no_traceback(tmp_path):
    path = tmp_path / "scan.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00")

    result = tachiai("extract", str(path))

    assert result.returncode == 2
    stderr = result.stderr.decode("utf-8")
    assert stderr.startswith("error [document_unreadable]: ")
    assert "Traceback" not in stderr
    assert result.stdout == b""


def test_an_encrypted_pdf_is_refused_with_exit_2(tmp_path):
    from tests.fixtures import odd_pdfs

    build = next(b for case, _, _, b in odd_pdfs._BUILDERS if case == "encrypted_user_password_aes256")
    path = tmp_path / "locked.pdf"
    path.write_bytes(build())

    result = tachiai("extract", str(path))

    assert result.returncode == 2
    assert result.stderr.decode("utf-8").startswith("error [pdf_encrypted]: ")


def test_bedrock_without_a_model_id_is_refused_naming_the_variable():
    result = tachiai("extract", str(DIRECTORY / f"{NAME}.txt"), "--engine", "bedrock")

    assert result.returncode == 2
    assert "TACHIAI_BEDROCK_MODEL_ID" in result.stderr.decode("utf-8")
