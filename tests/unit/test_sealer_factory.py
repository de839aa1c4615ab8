"""A fresh stack's seals validate with public TSAs: the seal function also trusts the Mozilla roots."""

from __future__ import annotations

from tachiai.services.sealer_factory import public_roots


def test_the_public_roots_anchor_the_default_tsas():
    names = {root.subject.native.get("common_name") for root in public_roots()}
    assert "DigiCert Trusted Root G4" in names  # DigiCert's timestamping service
    assert "USERTrust RSA Certification Authority" in names  # Sectigo's
