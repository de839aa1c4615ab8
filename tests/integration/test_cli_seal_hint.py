"""`tachiai seal` ends with the command that checks the result strictly: the hint pasted as printed
verifies the file as tachiai's own seals (--seal-cert), not merely as signed under the root."""

from __future__ import annotations

import shlex
import subprocess
import sys

from tests.fixtures.pdfs import simple_pdf


def test_the_printed_check_names_the_seal_certificate_and_passes_as_printed(tmp_path):
    (tmp_path / "contract.pdf").write_bytes(simple_pdf())
    sealed = subprocess.run(
        [sys.executable, "-m", "tachiai.cli", "seal", "contract.pdf", "-o", "sealed.pdf", "--pki-dir", "pki"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert sealed.returncode == 0, sealed.stderr
    hint = next(line for line in sealed.stdout.splitlines() if line.startswith("check with:"))
    command = shlex.split(hint.removeprefix("check with:"))
    assert command[1:] == [
        "verify",
        "sealed.pdf",
        "--trust",
        "pki/root.pem",
        "--seal-cert",
        "pki/seal-chain.pem",
    ]
    checked = subprocess.run(
        [sys.executable, "-m", "tachiai.cli", *command[1:]],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "by the seal:        yes" in checked.stdout
