"""Node.js versions: the CDK CLI and jsii run on Node.js 22 and 24; `make synth` and `make test` say so,
in one line, on any other version, and fail only when there is no Node.js at all.

The check runs the Makefile's own ``node-check`` target with a stand-in ``node`` first on the PATH.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from infra import REPO_ROOT
from tests.conftest import require_tool

SUPPORTED = ("22", "24")


def node_check(tmp_path: Path, version_output: str | None) -> subprocess.CompletedProcess[str]:
    """``make node-check`` with a ``node`` that prints ``version_output`` (None: a node that is missing)."""
    make = require_tool("make", "make")
    fake = tmp_path / "node"
    body = f"echo {version_output}" if version_output is not None else "exit 127"
    fake.write_text(f"#!/bin/sh\n{body}\n", encoding="ascii")
    fake.chmod(0o755)
    env = {**os.environ, "PATH": f"{tmp_path}:{os.environ['PATH']}"}
    return subprocess.run(
        [make, "-s", "--no-print-directory", "-C", str(REPO_ROOT), "node-check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_package_json_states_node_22_and_24() -> None:
    package = json.loads((REPO_ROOT / "package.json").read_text(encoding="utf-8"))
    lock = json.loads((REPO_ROOT / "package-lock.json").read_text(encoding="utf-8"))

    assert package["engines"] == {"node": "^22.0.0 || ^24.0.0"}
    assert lock["packages"][""]["engines"] == package["engines"]  # `npm ci` reads the lock


def test_makefile_checks_the_versions_package_json_states() -> None:
    makefile = (REPO_ROOT / "Makefile").read_text(encoding="utf-8")

    assert re.search(r"^NODE_SUPPORTED := 22 24$", makefile, re.MULTILINE)
    for target in ("test", "synth"):
        (rule,) = re.findall(rf"^{target}:(.*)$", makefile, re.MULTILINE)
        assert "node-check" in rule.split(), target


@pytest.mark.parametrize("major", SUPPORTED)
def test_a_supported_node_passes_silently(tmp_path: Path, major: str) -> None:
    result = node_check(tmp_path, f"v{major}.3.0")

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_node_20_warns_in_one_line_and_goes_on(tmp_path: Path) -> None:
    result = node_check(tmp_path, "v20.20.2")

    assert result.returncode == 0
    (line,) = result.stderr.splitlines()
    assert "v20.20.2" in line and "end-of-life" in line and "22 24" in line


def test_a_newer_untested_node_warns_without_calling_it_end_of_life(tmp_path: Path) -> None:
    result = node_check(tmp_path, "v26.0.0")

    assert result.returncode == 0
    assert "not a supported version" in result.stderr and "end-of-life" not in result.stderr


def test_no_node_fails_with_what_to_install(tmp_path: Path) -> None:
    result = node_check(tmp_path, None)

    assert result.returncode != 0
    assert "Node.js not found" in result.stderr and "22 24" in result.stderr
