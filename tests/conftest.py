"""Shared test helpers.

Tests that need an external tool (pdfsig, qpdf, softhsm2, chromium) call :func:`require_tool`: in CI
(``CI=true``) a missing tool FAILS the test, because `.ci/run` must install it; locally it skips with a
message saying what to install.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from tachiai.local.sealing_kit import LocalSealingKit, local_sealing_kit


def require_tool(executable: str, debian_package: str) -> str:
    """Return the path of ``executable``, or fail (CI) / skip (locally) when it is not installed."""
    path = shutil.which(executable)
    if path:
        return path
    message = f"{executable} is not installed: apt-get install -y {debian_package}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (.ci/run must install it)")
    pytest.skip(message)


@pytest.fixture(autouse=True, scope="session")
def cli_speaks_english() -> Iterator[None]:
    """The CLI speaks the terminal's language (``TACHIAI_LANGUAGE``, then ``LC_ALL``/``LANG``): tests
    assert English words, whatever the developer's locale, unless a test chooses another language."""
    previous = os.environ.get("TACHIAI_LANGUAGE")
    os.environ["TACHIAI_LANGUAGE"] = "en"
    yield
    if previous is None:
        os.environ.pop("TACHIAI_LANGUAGE", None)
    else:
        os.environ["TACHIAI_LANGUAGE"] = previous


@pytest.fixture(scope="session")
def pki_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pki")


@pytest.fixture(scope="module")
def kit(pki_dir: Path) -> Iterator[LocalSealingKit]:
    """The real sealing engine: a moto KMS key (RSA 2048), the local test PKI and TSA on loopback.

    One per module (about a second to start): its moto mock must not outlive the module, or tests
    with their own ``mock_aws`` would share its state instead of starting clean.
    """
    with local_sealing_kit(pki_dir, key_spec="RSA_2048") as sealing_kit:
        yield sealing_kit
