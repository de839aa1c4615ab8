"""The signature panel of a PDF, as Acrobat shows it, computed with pyhanko's validators.

For each signature: field, signer, reason, signing time, timestamp time and authority, intact / valid /
trusted, and what was changed after it. For the file: whether it is LTV-complete (every signature
validates from the file alone, no network) and whether anything was changed after the last signature.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from io import BytesIO
from typing import Any

from asn1crypto import x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESPassed
from pyhanko.sign.diff_analysis import ModificationLevel, SuspiciousModification
from pyhanko.sign.validation import (
    DocumentSecurityStore,
    EmbeddedPdfSignature,
    validate_pdf_signature,
    validate_pdf_timestamp,
)
from pyhanko.sign.validation.ades import ades_lta_validation
from pyhanko.sign.validation.errors import NoDSSFoundError
from pyhanko.sign.validation.policy_decl import (
    PdfSignatureValidationSpec,
    RevinfoOnlineFetchingRule,
    RevocationInfoGatheringSpec,
    SignatureValidationSpec,
)
from pyhanko.sign.validation.status import ModificationInfo, SignatureStatus
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.context import CertValidationPolicySpec
from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
from pyhanko_certvalidator.registry import SimpleTrustManager

from tachiai.domain.errors import DamagedPdf, TachiaiError

# Errors pyhanko raises on malformed structures. A damaged later revision must not hide the verdict on
# earlier signatures, so each signature is reported on its own.
_READ_ERRORS = (PdfError, ValueError, KeyError, IndexError, TypeError, RecursionError)
_UNREADABLE = "UNREADABLE"


class VerificationError(TachiaiError):
    code = "verification_failed"
    http_status = 400
    message_ja = "PDFの署名を検証できませんでした。"
    message_en = "The PDF's signatures could not be verified."


@dataclass(frozen=True)
class SignatureReport:
    """One line of the signature panel."""

    field_name: str
    kind: str
    """``signature`` or ``document_timestamp``."""
    signer: str
    reason: str | None
    signing_time: datetime | None
    """Time the signer claims (from the signer's clock: informative only)."""
    timestamp_time: datetime | None
    """Time asserted by a TSA: the signature timestamp, or the document timestamp itself."""
    timestamp_authority: str | None
    intact: bool
    valid: bool
    trusted: bool
    modification_level: str
    """What changed after this signature: NONE, LTA_UPDATES (validation data only), FORM_FILLING, ..."""
    ltv: bool
    """Validates from the file alone with no network (AdES LTA for signatures)."""
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.intact and self.valid


@dataclass(frozen=True)
class VerificationReport:
    sha256: str
    signatures: list[SignatureReport]
    ltv_complete: bool
    modified_after_last_signature: bool
    trust_anchors: str
    """``given`` (--trust), or ``embedded`` (the file's own roots: integrity only, not trust)."""

    @property
    def ok(self) -> bool:
        """Every signature intact and valid, and nothing changed after the last one."""
        return (
            bool(self.signatures)
            and all(s.ok for s in self.signatures)
            and not self.modified_after_last_signature
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data


def _name(cert: x509.Certificate | None) -> str:
    if cert is None:
        return "?"
    subject = cert.subject.native
    cn = subject.get("common_name")
    org = subject.get("organization_name")
    return ", ".join(str(x) for x in (cn, org) if x) or cert.subject.human_friendly


def _embedded_roots(reader: PdfFileReader, sigs: Sequence[EmbeddedPdfSignature]) -> list[x509.Certificate]:
    """Self-signed certificates carried by the file: used to check LTV completeness when no trust
    anchor is given. This proves the validation data is there, not that the signer is trusted."""
    candidates: list[x509.Certificate] = []
    for sig in sigs:
        candidates.extend(sig.other_embedded_certs)
        if sig.signer_cert is not None:
            candidates.append(sig.signer_cert)
    with contextlib.suppress(NoDSSFoundError, *_READ_ERRORS):
        candidates.extend(DocumentSecurityStore.read_dss(reader).load_certs())
    roots = {c.sha256: c for c in candidates if c.self_signed == "maybe" or c.self_signed == "yes"}
    return list(roots.values())


def _lta_ok(sig: EmbeddedPdfSignature, roots: Sequence[x509.Certificate]) -> tuple[bool, str | None]:
    spec = PdfSignatureValidationSpec(
        SignatureValidationSpec(
            cert_validation_policy=CertValidationPolicySpec(
                trust_manager=SimpleTrustManager.build(trust_roots=list(roots)),
                revinfo_policy=CertRevTrustPolicy(revocation_checking_policy=REQUIRE_REVINFO),
            ),
            revinfo_gathering_policy=RevocationInfoGatheringSpec(RevinfoOnlineFetchingRule.LOCAL_ONLY),
        )
    )
    try:
        result = asyncio.run(ades_lta_validation(sig, spec))
    except _READ_ERRORS as e:
        return False, f"LTV: cannot evaluate ({type(e).__name__})"
    if result.ades_subindic == AdESPassed.OK:
        return True, None
    return False, f"LTV: {result.ades_subindic}"


def _dss_context(reader: PdfFileReader, roots: Sequence[x509.Certificate]) -> ValidationContext:
    kwargs: dict[str, Any] = {
        "trust_roots": list(roots),
        "allow_fetching": False,
        "revocation_mode": "require",
    }
    try:
        return DocumentSecurityStore.read_dss(reader).as_validation_context(kwargs)
    except (NoDSSFoundError, *_READ_ERRORS):
        return ValidationContext(**kwargs)


def _modification(status: ModificationInfo) -> tuple[str, list[str]]:
    problems: list[str] = []
    if status.diff_result is None:
        return _UNREADABLE, ["a revision after this signature could not be read"]
    if isinstance(status.diff_result, SuspiciousModification):
        problems.append(f"suspicious change after signing: {status.diff_result}")
        return "OTHER", problems
    level = status.modification_level
    if level is None:
        return "UNKNOWN", problems
    if level > ModificationLevel.FORM_FILLING:
        problems.append(f"changed after signing ({level.name})")
    return str(level.name), problems


def _status_problems(status: SignatureStatus) -> list[str]:
    problems: list[str] = []
    if not status.intact:
        problems.append("the document was altered after this signature (digest mismatch)")
    elif not status.valid:
        problems.append("the signature value does not verify")
    if not status.trusted:
        problems.append("signer certificate is not trusted by the given anchors")
    return problems


def verify_pdf(pdf: bytes, trust_roots: Sequence[x509.Certificate] = ()) -> VerificationReport:
    """The signature panel for ``pdf``.

    :raises DamagedPdf: the file cannot be read as a PDF.
    :raises VerificationError: a signature is malformed beyond reporting.
    """
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        sigs = list(reader.embedded_signatures)
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as e:
        raise DamagedPdf(f"cannot read PDF: {e}") from e

    roots = list(trust_roots) or _embedded_roots(reader, sigs)
    # One context for every signature: the DSS is the file's (the newest revision's) and reading it
    # (every certificate, OCSP response and CRL it holds) is most of the cost of building one.
    context = _dss_context(reader, roots)
    reports: list[SignatureReport] = []
    for sig in sigs:
        try:
            reports.append(_report(sig, context, roots, trusted_given=bool(trust_roots)))
        except (PdfError, ValueError, KeyError, IndexError, TypeError) as e:
            raise VerificationError(f"{sig.field_name}: {type(e).__name__}: {e}") from e

    modified_after_last = bool(reports) and _changed_after(reports[-1])
    return VerificationReport(
        sha256=hashlib.sha256(pdf).hexdigest(),
        signatures=reports,
        ltv_complete=bool(reports) and all(r.ltv for r in reports),
        modified_after_last_signature=modified_after_last,
        trust_anchors="given" if trust_roots else "embedded",
    )


def _changed_after(last: SignatureReport) -> bool:
    return last.modification_level not in ("NONE", "LTA_UPDATES") or not last.intact


def _report(
    sig: EmbeddedPdfSignature,
    context: ValidationContext,
    roots: Sequence[x509.Certificate],
    *,
    trusted_given: bool,
) -> SignatureReport:
    if sig.sig_object_type == "/DocTimeStamp":
        try:
            ts_status = validate_pdf_timestamp(sig, validation_context=context)
        except _READ_ERRORS:
            ts_status = validate_pdf_timestamp(sig, validation_context=context, skip_diff=True)
        level, problems = _modification(ts_status)
        problems = _status_problems(ts_status) + problems
        return SignatureReport(
            field_name=sig.field_name,
            kind="document_timestamp",
            signer=_name(ts_status.signing_cert),
            reason=None,
            signing_time=None,
            timestamp_time=ts_status.timestamp,
            timestamp_authority=_name(ts_status.signing_cert),
            intact=ts_status.intact,
            valid=ts_status.valid,
            trusted=ts_status.trusted and trusted_given,
            modification_level=level,
            # Trusted against a context built only from the DSS, with revocation required = LTV.
            ltv=ts_status.trusted,
            problems=[p for p in problems if trusted_given or "not trusted" not in p],
        )

    try:
        status = validate_pdf_signature(sig, signer_validation_context=context, ts_validation_context=context)
    except _READ_ERRORS:
        status = validate_pdf_signature(
            sig, signer_validation_context=context, ts_validation_context=context, skip_diff=True
        )
    level, problems = _modification(status)
    problems = _status_problems(status) + problems
    ltv, ltv_problem = _lta_ok(sig, roots) if status.intact and status.valid else (False, None)
    if ltv_problem:
        problems.append(ltv_problem)
    ts = status.timestamp_validity
    return SignatureReport(
        field_name=sig.field_name,
        kind="signature",
        signer=_name(status.signing_cert),
        reason=_text(sig.sig_object.get("/Reason")),
        signing_time=status.signer_reported_dt,
        timestamp_time=ts.timestamp if ts else None,
        timestamp_authority=_name(ts.signing_cert) if ts else None,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted and trusted_given,
        modification_level=level,
        ltv=ltv,
        problems=[p for p in problems if trusted_given or "not trusted" not in p],
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _mark(flag: bool) -> str:
    return "yes" if flag else "NO"


def format_panel(report: VerificationReport) -> str:
    """A human panel, like Acrobat's (署名パネル)."""
    lines: list[str] = []
    if report.ok:
        lines.append("署名済みであり、すべての署名が有効です。 / Signed and all signatures are valid.")
    elif not report.signatures:
        lines.append("署名がありません。 / The document has no signatures.")
    else:
        lines.append("無効な署名があります。 / At least one signature is INVALID.")
    lines.append(f"SHA-256: {report.sha256}")
    for number, sig in enumerate(report.signatures, start=1):
        kind = (
            "文書タイムスタンプ / document timestamp"
            if sig.kind == "document_timestamp"
            else "署名 / signature"
        )
        lines.append("")
        lines.append(f"バージョン {number} / Revision {number}: {sig.signer} により署名済み ({kind})")
        lines.append(f"  field:              {sig.field_name}")
        if sig.reason:
            lines.append(f"  reason:             {sig.reason}")
        if sig.signing_time:
            lines.append(f"  signing time:       {sig.signing_time.isoformat()} (signer's clock)")
        if sig.timestamp_time:
            lines.append(
                f"  timestamp:          {sig.timestamp_time.isoformat()} by {sig.timestamp_authority}"
            )
        trusted = (
            _mark(sig.trusted) if report.trust_anchors == "given" else "not checked (use --trust ROOT.pem)"
        )
        lines.append(f"  intact:             {_mark(sig.intact)}")
        lines.append(f"  valid:              {_mark(sig.valid)}")
        lines.append(f"  trusted:            {trusted}")
        lines.append(f"  changed after:      {sig.modification_level}")
        lines.append(f"  LTV:                {_mark(sig.ltv)}")
        lines.extend(f"  ! {p}" for p in sig.problems)
    lines.append("")
    lines.append(f"LTV enabled (no network needed): {_mark(report.ltv_complete)}")
    lines.append(
        f"Changed after the last signature: {'YES' if report.modified_after_last_signature else 'no'}"
    )
    return "\n".join(lines)
