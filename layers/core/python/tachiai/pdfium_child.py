"""PDFium in a child process: the one way tachiai runs it (text extraction, page previews).

PDFium cannot be told to stop at a memory limit, and in the same process an allocation it cannot make
aborts the whole process -- a function invocation, or ``tachiai local`` with everything it serves. In a
child capped by ``RLIMIT_AS`` (set by the child module itself) that abort is one refused file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

from tachiai.domain.errors import DamagedPdf, PdfTooComplex, TachiaiError, error_from_report


def run_pdfium_child(
    module: str,
    arguments: Sequence[str],
    data: bytes,
    *,
    timeout_s: float,
    what: str,
    cannot_start: Callable[[str], TachiaiError],
) -> dict[str, Any]:
    """Run ``python -m <module> <arguments>`` with ``data`` on its stdin; its JSON answer.

    The child answers ``{"error": <TachiaiError report>}`` for a refusal it recognised, or its result.
    ``what`` names the work in the error details ("page 2", "the text").

    :raises PdfTooComplex: over ``timeout_s``, or stopped by a signal (out of memory at its cap).
    :raises DamagedPdf: the child died without an answer.
    :raises TachiaiError: the refusal the child reported, or ``cannot_start(reason)``.
    """
    command = [sys.executable, "-m", module, *arguments]
    # the child finds tachiai where this process did (an editable install, a layer, a test run)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}
    try:
        done = subprocess.run(  # noqa: S603 -- our own module, run by this interpreter; no shell
            command, input=data, capture_output=True, timeout=timeout_s, env=env, check=False
        )
    except subprocess.TimeoutExpired as e:
        raise PdfTooComplex(f"PDFium took more than {timeout_s} s for {what}") from e
    except OSError as e:
        raise cannot_start(str(e)) from e
    if done.returncode < 0:
        # SIGABRT (PDFium's allocator when an allocation fails) or SIGKILL: out of memory at the cap
        raise PdfTooComplex(f"PDFium stopped by {_signal_name(-done.returncode)} reading {what}")
    try:
        answer = json.loads(done.stdout)
    except ValueError as e:
        tail = done.stderr.decode("utf-8", "replace")[-300:]
        raise DamagedPdf(f"PDFium exited with status {done.returncode}: {tail}") from e
    if not isinstance(answer, dict):
        raise DamagedPdf(f"PDFium answered {type(answer).__name__} for {what}")
    if "error" in answer:
        raise error_from_report(answer["error"])
    return answer


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
