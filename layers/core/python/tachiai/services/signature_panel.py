"""The signature panel of a completed envelope, as ``tachiai verify`` shows it, for the console.

The send function must not load pyHanko (DESIGN.md's import budget), so the panel is computed by the
seal function (task ``verify``, :func:`verify_envelope`): the same :func:`~tachiai.sealing.verify.verify_pdf`
and :meth:`~tachiai.sealing.verify.VerificationReport.judge` as the command and as finalize, on the
stored files (every document's current version and the agreement certificate), with the tenant's trust
roots and the seal certificate. The send side (:func:`signature_panel`) asks for it through the
synchronous invoker and keeps the answer for the process's life: a completed envelope's files never
change, and the cache key holds the SHA-256 the envelope records for each of them, so a file the
envelope records differently is never answered from the cache.

The panel travels as plain JSON (:class:`SignaturePanel`): every sentence in every catalog language,
so the console shows it in the visitor's language without loading the verifier's catalogs of findings.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, ValidationError

from tachiai import i18n
from tachiai.domain.documents import certificate_key, current_key
from tachiai.domain.envelope import Envelope, EnvelopeStatus
from tachiai.domain.errors import ConfigurationError, EnvelopeNotCompleted, FunctionUnavailable
from tachiai.domain.events import Language
from tachiai.services.context import Services

if TYPE_CHECKING:
    from asn1crypto import x509

    from tachiai.services.sending import SenderIdentity

VerdictName = Literal["valid", "invalid", "incomplete"]
_SEVERITY: dict[str, int] = {"valid": 0, "incomplete": 1, "invalid": 2}


class _Panel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class PanelFinding(_Panel):
    """One reason behind a verdict (``tachiai verify``'s finding), worded in every language."""

    code: str
    message: dict[Language, str]


class PanelSignature(_Panel):
    """One line of the panel: a signature or the document timestamp, with its facts."""

    field_name: str
    kind: Literal["signature", "document_timestamp"]
    signer: str
    reason: str | None
    signing_time: AwareDatetime | None
    """The time the signer's clock claims (informative only)."""
    timestamp_time: AwareDatetime | None
    """The time a TSA asserts."""
    timestamp_authority: str | None
    intact: bool
    valid: bool
    trusted: bool
    by_seal: bool | None
    """Made by the tenant's seal certificate (None: not asked, e.g. an imported contract)."""
    ltv: bool
    modification_level: str
    findings: list[PanelFinding]


class PanelFile(_Panel):
    """The panel of one stored file: a document's current version, or the agreement certificate."""

    kind: Literal["document", "certificate"]
    document_id: str | None
    name: str
    sha256: str
    """SHA-256 of the bytes verified."""
    recorded_sha256: str | None
    """What the envelope records for this file."""
    verdict: VerdictName
    headline: dict[Language, str]
    reasons: list[PanelFinding]
    signatures: list[PanelSignature]
    ltv_complete: bool
    modified_after_last_signature: bool

    @property
    def matches_record(self) -> bool:
        """The verified bytes are the file the envelope records."""
        return self.recorded_sha256 is not None and self.sha256 == self.recorded_sha256


class SignaturePanel(_Panel):
    """Every file's panel, and one verdict over them all."""

    envelope_id: str
    files: list[PanelFile]

    @property
    def verdict(self) -> VerdictName:
        """The worst file's verdict; a file that is not the one the envelope records is ``invalid``
        whatever its signatures say (it is not the contract that was signed)."""
        worst: VerdictName = "valid"
        for file in self.files:
            verdict: VerdictName = file.verdict if file.matches_record else "invalid"
            if _SEVERITY[verdict] > _SEVERITY[worst]:
                worst = verdict
        return worst


# --- the seal function's side ------------------------------------------------------------------------


def verify_envelope(svc: Services, envelope_id: str) -> SignaturePanel:
    """The panel of a completed envelope's stored files (the seal function's ``verify`` task).

    Each file is judged as finalize judges it (``accept_earlier_signers``: a signature another party
    made on the upload before the first seal is reported as what it is), against the sealer's trust
    roots and its seal certificate; an imported contract's files carry no seal of ours and are judged
    on trust and LTV alone.

    :raises NotFound: no such envelope.
    :raises EnvelopeNotCompleted: the envelope is not completed.
    :raises ConfigurationError: the sealer is not the real sealing engine (no trust roots to judge by).
    :raises DamagedPdf / VerificationError: a stored file cannot be read or judged at all.
    """
    # Imported here: only the seal function runs this (it loads pyHanko); and the sender's use cases
    # (mail, validation of addresses) are not loaded by a seal function that only verifies.
    from tachiai.sealing.seal import Sealer
    from tachiai.services.sending import certificate_file_name

    envelope = svc.envelopes.get(envelope_id)
    _require_completed(envelope)
    sealer = svc.sealer
    if not isinstance(sealer, Sealer):
        raise ConfigurationError("the verify task needs the sealing engine", name="sealer")
    imported = envelope.origin == "imported"
    seals: list[x509.Certificate] = [] if imported else [sealer.signer.signing_cert]
    files: list[PanelFile] = []
    for document in envelope.documents:
        data = svc.documents.get(current_key(envelope_id, document))
        files.append(
            _judge_file(
                data,
                sealer.trust_roots,
                seals,
                kind="document",
                document_id=document.id,
                name=document.name,
                recorded_sha256=document.current_sha256,
            )
        )
    if envelope.certificate_sha256:
        data = svc.documents.get(certificate_key(envelope_id))
        files.append(
            _judge_file(
                data,
                sealer.trust_roots,
                seals,
                kind="certificate",
                document_id=None,
                name=certificate_file_name(envelope),
                recorded_sha256=envelope.certificate_sha256,
            )
        )
    return SignaturePanel(envelope_id=envelope_id, files=files)


def _judge_file(
    data: bytes,
    trust_roots: Sequence[x509.Certificate],
    seals: Sequence[x509.Certificate],
    *,
    kind: Literal["document", "certificate"],
    document_id: str | None,
    name: str,
    recorded_sha256: str | None,
) -> PanelFile:
    from tachiai.sealing.verify import verify_pdf

    report = verify_pdf(data, trust_roots, seal_certificates=seals)
    judgement = report.judge(accept_earlier_signers=True)
    return PanelFile(
        kind=kind,
        document_id=document_id,
        name=name,
        sha256=hashlib.sha256(data).hexdigest(),
        recorded_sha256=recorded_sha256,
        verdict=judgement.verdict.value,
        headline={language: judgement.headline(language) for language in i18n.LANGUAGES},
        reasons=[PanelFinding(code=f.code, message=f.to_dict()["message"]) for f in judgement.reasons],
        signatures=[
            PanelSignature(
                field_name=sig.field_name,
                kind=sig.kind,  # type: ignore[arg-type]
                signer=sig.signer,
                reason=sig.reason,
                signing_time=sig.signing_time,
                timestamp_time=sig.timestamp_time,
                timestamp_authority=sig.timestamp_authority,
                intact=sig.intact,
                valid=sig.valid,
                trusted=sig.trusted,
                by_seal=sig.by_seal,
                ltv=sig.ltv,
                modification_level=sig.modification_level,
                findings=[
                    PanelFinding(code=f.code, message=f.to_dict()["message"])
                    for f in judgement.for_signature(sig.field_name)
                ],
            )
            for sig in report.signatures
        ],
        ltv_complete=report.ltv_complete,
        modified_after_last_signature=report.modified_after_last_signature,
    )


def _require_completed(envelope: Envelope) -> None:
    """:raises EnvelopeNotCompleted: nothing final to verify yet (or the envelope ended unsigned)."""
    if envelope.status != EnvelopeStatus.COMPLETED:
        raise EnvelopeNotCompleted(envelope.id, status=envelope.status.value)


# --- the send function's side ------------------------------------------------------------------------

_CACHE_SIZE = 128
_cache: OrderedDict[tuple[str, ...], SignaturePanel] = OrderedDict()
_cache_lock = threading.Lock()  # the local runtime serves pages from several threads


def _cache_key(envelope: Envelope) -> tuple[str, ...]:
    return (
        envelope.id,
        *(d.current_sha256 or "" for d in envelope.documents),
        envelope.certificate_sha256 or "",
    )


def signature_panel(svc: Services, sender: SenderIdentity, envelope_id: str) -> SignaturePanel:
    """The panel of a completed envelope the caller may read, from the seal function (once per process
    and file versions: see the module's note).

    :raises NotFound: not readable by the caller.
    :raises EnvelopeNotCompleted: the envelope is not completed.
    :raises FunctionUnavailable: the seal function could not be reached, or answered something that
        is not a panel.
    :raises TachiaiError: what the seal function's task raised (DamagedPdf, VerificationError ...).
    """
    from tachiai.services.sending import readable_envelope

    envelope = readable_envelope(svc, sender, envelope_id)
    _require_completed(envelope)
    key = _cache_key(envelope)
    with _cache_lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
            return cached
    answer = svc.functions.call(
        svc.settings.require("seal_function"), {"task": "verify", "envelopeId": envelope_id}
    )
    try:
        panel = SignaturePanel.model_validate(answer)
    except ValidationError as e:
        raise FunctionUnavailable("the seal function's verify answer is not a panel") from e
    with _cache_lock:
        _cache[key] = panel
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return panel


def forget_panels() -> None:
    """Empty the process's cache of panels (tests)."""
    with _cache_lock:
        _cache.clear()
