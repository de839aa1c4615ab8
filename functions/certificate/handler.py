"""The seal certificate custom resource: a freshly deployed stack gets a self-issued certificate.

CDK ``custom_resources.Provider`` onEvent handler. Create and Update make sure the chain parameter
holds a certificate over the KMS key (issuing a self-issued one when it does not; an imported CA
chain is left alone); Delete keeps both parameters, so a chain the tenant imported outlives the stack.

ResourceProperties: ``KeyId``, ``ChainParameter``, ``RootsParameter``, ``Subject`` and optionally
``TsaRoots`` (PEM of the TSAs' roots, stored beside the certificate in the roots parameter).
Loads no pyhanko: asn1crypto, cryptography and boto3 only.
"""

from __future__ import annotations

from typing import Any

from tachiai import cold_start, observability  # cold_start first: no garbage collection while this loads
from tachiai.adapters.aws import kms_client, ssm_client
from tachiai.domain.errors import ConfigurationError
from tachiai.sealing.certificates import load_certificates
from tachiai.sealing.self_issued import ensure_seal_certificate

cold_start.finished()


def _required(properties: dict[str, Any], name: str) -> str:
    value = str(properties.get(name) or "").strip()
    if not value:
        raise ConfigurationError(f"ResourceProperties.{name} is missing", name=name)
    return value


@observability.lambda_handler("certificate")
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    properties: dict[str, Any] = event.get("ResourceProperties") or {}
    if event.get("RequestType") == "Delete":
        # Never fails: a failed Delete would leave a rollback (after a failed Create) stuck.
        return {"PhysicalResourceId": event.get("PhysicalResourceId", "none"), "Data": {"Issued": "false"}}
    chain_parameter = _required(properties, "ChainParameter")
    tsa_roots = str(properties.get("TsaRoots") or "").strip()
    issued = ensure_seal_certificate(
        kms_client(),
        ssm_client(),
        _required(properties, "KeyId"),
        chain_parameter,
        _required(properties, "RootsParameter"),
        _required(properties, "Subject"),
        extra_roots=load_certificates(tsa_roots.encode()) if tsa_roots else (),
    )
    # Named after the parameter: a new parameter name replaces the resource (the old Delete is a no-op).
    physical_id = f"tachiai-seal-certificate:{chain_parameter}"
    return {"PhysicalResourceId": physical_id, "Data": {"Issued": "true" if issued else "false"}}
