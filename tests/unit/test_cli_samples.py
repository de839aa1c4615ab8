"""Issue 11 §4: ``tachiai sample -o FILE.pdf`` gives a fresh clone the PDF the README's examples send."""

from __future__ import annotations

from tachiai.cli import main
from tachiai.sealing.preflight import preflight


def test_sample_writes_the_shipped_nda_which_preflight_accepts(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    out = tmp_path / "nda.pdf"
    assert main(["sample", "-o", str(out)]) == 0
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert preflight(data).pages == 2
    assert str(out) in capsys.readouterr().out
