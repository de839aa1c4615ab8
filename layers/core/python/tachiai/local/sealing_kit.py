"""A complete sealing setup on one machine: a KMS key (moto, in process), the test PKI and its TSA.

Used by ``tachiai seal``, the demo and the tests, so all of them seal through the real KMS signer
path (``Sign`` with ``MessageType=RAW``) and a real TSA/OCSP/CRL over HTTP on loopback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from tachiai.adapters.kms import KmsSigner, kms_public_key
from tachiai.local.pki import LocalPki
from tachiai.sealing.seal import Sealer
from tachiai.sealing.timestamping import FailoverTimeStamper

KeySpec = Literal["RSA_2048", "ECC_NIST_P256"]


@dataclass(frozen=True)
class LocalSealingKit:
    sealer: Sealer
    pki: LocalPki
    key_id: str


@contextmanager
def local_sealing_kit(directory: Path, key_spec: KeySpec = "RSA_2048") -> Iterator[LocalSealingKit]:
    """A sealer backed by an in-process moto KMS key and a freshly started local PKI.

    Keys of the PKI are kept in ``directory`` (``root.pem`` there is the certificate to trust).
    """
    import boto3
    from moto import mock_aws

    saved = {
        k: os.environ.get(k) for k in ("AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    }
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    try:
        with mock_aws():
            kms = boto3.client("kms", region_name=os.environ["AWS_DEFAULT_REGION"])
            key_id = kms.create_key(
                KeyUsage="SIGN_VERIFY", KeySpec=key_spec, Description="tachiai local seal"
            )["KeyMetadata"]["KeyId"]
            with LocalPki(directory, kms_public_key(kms, key_id)) as pki:
                signer = KmsSigner(kms, key_id, pki.seal_cert, pki.seal_chain)
                sealer = Sealer(
                    signer=signer,
                    timestamper=FailoverTimeStamper([pki.tsa_url]),
                    trust_roots=[pki.root_cert],
                )
                yield LocalSealingKit(sealer=sealer, pki=pki, key_id=key_id)
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
