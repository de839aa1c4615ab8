"""Running the `tachiai` command as a user would, for the CLI tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def tachiai(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the `tachiai` command in a fresh interpreter, as a user would (text output, never raises)."""
    return subprocess.run(
        [sys.executable, "-m", "tachiai.cli", *args],
        cwd=cwd,
        env=env,
        input=stdin.decode("latin-1") if stdin else None,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
