"""Issue 11 §4: the README's curl examples of the sender API run as written against a local runtime.

The section "The sender API with curl" of README.md is read as a newcomer reads it: its fenced blocks,
in order, run by bash (``set -euo pipefail``: every command must succeed) in an empty folder, with
``tachiai`` being this environment's. Only the first block's ``URL`` (the port of ``tachiai local``)
is pointed at the runtime of the test. So the README cannot drift from the API: a renamed field, a
changed status or a missing command fails here.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tachiai.local.runtime import LocalRuntime

from tests.conftest import require_tool

README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "### The sender API with curl"


def readme_blocks() -> list[str]:
    """The fenced sh/bash blocks of the README's curl section, in order."""
    text = README.read_text(encoding="utf-8")
    start = text.index(SECTION)
    following = re.search(r"\n#{2,3} ", text[start + len(SECTION) :])
    section = text[start : start + len(SECTION) + following.start()] if following else text[start:]
    return re.findall(r"```(?:sh|bash)\n(.*?)```", section, flags=re.DOTALL)


@pytest.fixture(scope="module")
def runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalRuntime]:
    with LocalRuntime(tmp_path_factory.mktemp("readme")) as running:
        yield running


def test_the_readme_has_a_curl_example_for_each_main_operation():
    script = "\n".join(readme_blocks())
    for operation in (
        'POST "$URL/v1/envelopes"',
        "/send",
        '"$URL/v1/envelopes/$ID"',
        "/remind",
        "/cancel",
        "/downloads",
        "ledger=true",
        "/v1/imports",
        ".uploads[0].url",
        "tachiai sample",
    ):
        assert operation in script, operation


def test_the_readme_curl_examples_run_as_written_against_the_local_runtime(runtime, tmp_path):
    require_tool("curl", "curl")
    require_tool("jq", "jq")
    require_tool("openssl", "openssl")  # the upload's Content-MD5
    blocks = readme_blocks()
    # The first block sets URL and TOKEN as for `tachiai local` on its default port and state folder.
    setup = blocks[0].replace("http://127.0.0.1:8080", runtime.url)
    setup = setup.replace(
        "$(.venv/bin/tachiai local token)", runtime.token("readme@tachiai.example", "Readme")
    )
    script = "\n".join([setup, *blocks[1:]]).replace(
        ".venv/bin/tachiai", str(Path(sys.executable).parent / "tachiai")
    )
    assert "8080" not in script
    result = subprocess.run(
        ["bash", "-c", "set -euo pipefail\n" + script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=240,
        env={**os.environ, "LANG": "C.UTF-8"},
        check=False,
    )
    assert result.returncode == 0, f"stdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert '"envelope_already_cancelled"' in result.stdout  # the refusal example shows its code
    assert (tmp_path / "nda.pdf").exists()
    downloaded = sorted(p.name for p in tmp_path.glob("*.pdf") if p.name != "nda.pdf")
    assert downloaded, result.stdout
