"""The local test PKI answers like a real one without redoing work: each key parsed once, a CRL signed
once per update period, an OCSP response pre-produced for a minute, and what it serves still makes
seals that verify as valid."""

from __future__ import annotations

import asyncio
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest import mock

import pytest
from asn1crypto import cms, crl, keys, ocsp, pem, tsp
from certomancer.registry import ServiceLabel
from certomancer.services import CRLBuilder, SimpleOCSPResponder
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from pyhanko.sign.timestamps import HTTPTimeStamper
from pyhanko_certvalidator.authority import CertTrustAnchor
from pyhanko_certvalidator.fetchers.common_utils import format_ocsp_request, process_ocsp_response_data
from tachiai.local import pki as local_pki
from tachiai.local.pki import ARCH, OCSP_REUSE_SECONDS, LocalPki
from tachiai.sealing.verify import Verdict, verify_pdf

from tests.fixtures.events import event
from tests.fixtures.pdfs import simple_pdf


@pytest.fixture
def pki(tmp_path: Path) -> Iterator[LocalPki]:
    # The seal key's public half only, as from KMS: the PKI never sees a seal private key.
    public = rsa.generate_private_key(public_exponent=65537, key_size=2048).public_key()
    der = public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    with LocalPki(tmp_path / "pki", keys.PublicKeyInfo.load(der)) as running:
        yield running


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as answer:
        body: bytes = answer.read()
    return body


def _post(url: str, body: bytes, content_type: str) -> bytes:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=10) as answer:
        response: bytes = answer.read()
    return response


def _stamp(pki: LocalPki, digest: bytes) -> cms.ContentInfo:
    token: cms.ContentInfo = asyncio.run(HTTPTimeStamper(pki.tsa_url).async_timestamp(digest, "sha256"))
    return token


def _ca_crl_url(pki: LocalPki) -> str:
    return f"{pki.url}/{ARCH}/crls/ca/latest.crl"


def _ocsp_request(pki: LocalPki) -> ocsp.OCSPRequest:
    issuer = CertTrustAnchor(pki.seal_chain[0]).authority
    return format_ocsp_request(pki.seal_cert, issuer, certid_hash_algo="sha256", request_nonces=True)


def _ask_ocsp(pki: LocalPki) -> tuple[ocsp.OCSPRequest, bytes]:
    request = _ocsp_request(pki)
    body = _post(f"{pki.url}/{ARCH}/ocsp/ca", request.dump(), "application/ocsp-request")
    return request, body


def test_each_private_key_is_parsed_once_not_per_signature(pki):
    # Given a running PKI (its keys possibly parsed already while it issued its certificates)
    load = mock.Mock(wraps=serialization.load_der_private_key)
    with mock.patch.object(serialization, "load_der_private_key", load):
        # When three time stamps are requested
        for n in range(3):
            _stamp(pki, bytes([n]) * 32)
    # Then the TSA's key was parsed at most once (certomancer parsed it for every signature)
    assert load.call_count <= 1


def test_time_stamp_tokens_are_made_per_request(pki):
    # Given two requests for the same digest (each with its own nonce)
    first, second = _stamp(pki, b"\x01" * 32), _stamp(pki, b"\x01" * 32)
    # Then each token answers its own request: a token is never reused
    nonces = {
        tsp.TSTInfo.load(token["content"]["encap_content_info"]["content"].parsed.dump())["nonce"].native
        for token in (first, second)
    }
    assert len(nonces) == 2


def test_a_crl_is_signed_once_per_update_period(pki):
    # When the issuing CA's CRL is fetched three times within its update period
    with mock.patch.object(CRLBuilder, "sign_crl", autospec=True, side_effect=CRLBuilder.sign_crl) as sign:
        answers = [_get(_ca_crl_url(pki)) for _ in range(3)]
    # Then it was signed once and every fetch got the same CRL
    assert sign.call_count == 1
    assert answers[0] == answers[1] == answers[2]


def test_the_crl_served_is_the_one_certomancer_makes_for_the_period(pki):
    # When the CRL is fetched (and kept for the period)
    served = crl.CertificateList.load(_get(_ca_crl_url(pki)))
    # Then it is certomancer's CRL for now: same number, period and signature, current at this moment
    expected = pki._arch.service_registry.get_crl(ServiceLabel("ca"), datetime.now(UTC))
    assert served.dump() == expected.dump()
    now = datetime.now(UTC)
    tbs = served["tbs_cert_list"]
    assert tbs["this_update"].native <= now < tbs["next_update"].native


def test_the_pem_crl_is_the_same_crl(pki):
    der = _get(_ca_crl_url(pki))
    armored = _get(f"{pki.url}/{ARCH}/crls/ca/latest.crl.pem")
    assert pem.unarmor(armored)[2] == der


def test_an_ocsp_response_is_pre_produced_for_the_same_certificate(pki):
    # When the seal certificate's status is asked twice, with different nonces
    with mock.patch.object(
        SimpleOCSPResponder,
        "assemble_simple_ocsp_responses",
        autospec=True,
        side_effect=SimpleOCSPResponder.assemble_simple_ocsp_responses,
    ) as assemble:
        (first_request, first), (second_request, second) = _ask_ocsp(pki), _ask_ocsp(pki)
    # Then one response was signed and served to both
    assert assemble.call_count == 1
    assert first == second
    # And it says "good", carries no nonce, and pyHanko's OCSP client accepts it for either request
    for request in (first_request, second_request):
        response = process_ocsp_response_data(second, ocsp_request=request, ocsp_url=pki.url)
        assert response.nonce_value is None
        single = response.basic_ocsp_response["tbs_response_data"]["responses"][0]
        assert single["cert_status"].name == "good"


def test_an_ocsp_response_is_made_afresh_after_the_reuse_window(pki, monkeypatch):
    # Given a response produced now
    _, first = _ask_ocsp(pki)
    # When the status is asked again after the reuse window
    later = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=OCSP_REUSE_SECONDS + 1)
    monkeypatch.setattr(local_pki._LocalAnimator, "at_time", lambda self, request: later)
    _, second = _ask_ocsp(pki)
    # Then a new response was produced, at the later time
    produced = ocsp.OCSPResponse.load(second).basic_ocsp_response["tbs_response_data"]["produced_at"].native
    assert second != first
    assert produced == later


def test_seals_made_with_a_reused_ocsp_response_and_crl_verify_as_valid(kit):
    # Given two seals and a finalize within the reuse window (the later ones get the kept responses)
    with mock.patch.object(
        SimpleOCSPResponder,
        "assemble_simple_ocsp_responses",
        autospec=True,
        side_effect=SimpleOCSPResponder.assemble_simple_ocsp_responses,
    ) as assemble:
        sealed = kit.sealer.seal_event(kit.sealer.seal_event(simple_pdf(), event()), event())
        finalized = kit.sealer.finalize(sealed)
    assert assemble.call_count == 1  # the seal certificate's status, signed once for all three seals
    # Then every signature is intact, trusted and LTV, and the verdict is valid
    report = verify_pdf(finalized, [kit.pki.root_cert], seal_certificates=[kit.pki.seal_cert])
    assert report.judge().verdict is Verdict.VALID
