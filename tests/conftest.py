"""Shared test helpers.

Tests that need an external tool (pdfsig, qpdf, softhsm2, chromium) call :func:`require_tool`: in CI
(``CI=true``) a missing tool FAILS the test, because `.ci/run` must install it; locally it skips with a
message saying what to install.
"""

from __future__ import annotations

import os
import shutil

import pytest


def require_tool(executable: str, debian_package: str) -> str:
    """Return the path of ``executable``, or fail (CI) / skip (locally) when it is not installed."""
    path = shutil.which(executable)
    if path:
        return path
    message = f"{executable} is not installed: apt-get install -y {debian_package}"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message} (.ci/run must install it)")
    pytest.skip(message)
