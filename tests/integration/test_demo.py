"""`make demo`: the whole service on this machine, one envelope over HTTP, as a person would."""

from __future__ import annotations

from io import BytesIO

from pypdf import PdfReader
from tachiai.local.demo import run_demo
from tachiai.sealing.verify import verify_pdf


def test_the_demo_drives_one_envelope_over_http_and_writes_a_verified_contract(tmp_path, capsys):
    # When the demo runs
    assert run_demo(tmp_path) == 0
    out = capsys.readouterr().out
    # Then it printed the panel and the time of each step, the whole envelope included
    assert "LTV enabled (no network needed): yes" in out
    assert "the whole envelope, create → completion mail" in out
    # And the sealed contract has sent + 2 agreements + the completion lock + the document timestamp,
    # the 2nd with its code
    report = verify_pdf((tmp_path / "nda-sealed.pdf").read_bytes())
    assert [s.kind for s in report.signatures] == ["signature"] * 4 + ["document_timestamp"]
    assert "アクセスコード" in (report.signatures[2].reason or "")
    # And the certificate names every party, and the root to trust is there
    certificate = PdfReader(BytesIO((tmp_path / "agreement-certificate.pdf").read_bytes()))
    text = "".join(page.extract_text() for page in certificate.pages)
    for name in ("山田太郎", "髙橋一郎", "山﨑花子"):
        assert name in text
    assert (tmp_path / "root.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
