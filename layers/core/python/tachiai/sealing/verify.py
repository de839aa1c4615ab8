"""The signature panel of a PDF, as Acrobat shows it, computed with pyhanko's validators, and the verdict.

For each signature: field, signer, reason, signing time, timestamp time and authority, intact / valid /
trusted, LTV, whether the expected seal certificate made it, and what was changed after it. For the
file: whether it is LTV-complete (every signature validates from the file alone, no network) and whether
anything was changed after the last signature.

:meth:`VerificationReport.judge` turns those facts into one :class:`Verdict` with the findings behind it.
It is the single place that decides: ``tachiai verify`` and :meth:`Sealer.finalize` both use it, so the
service never accepts a file the command would call untrusted, and the command never says "valid" when
the service would refuse.

Every sentence and label is a catalog entry (``verify.*``): a finding carries its message id and values,
and is worded in the reader's language only when shown (the panel) or in every language (JSON).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import unicodedata
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from enum import IntEnum, StrEnum
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

from tachiai import i18n
from tachiai.domain.errors import DamagedPdf, TachiaiError
from tachiai.domain.text import single_line

# Errors pyhanko raises on malformed structures (its own validation errors are ValueErrors). A damaged
# later revision must not hide the verdict on earlier signatures, so each signature is reported on its own.
_READ_ERRORS = (
    PdfError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    NotImplementedError,
    RecursionError,
)
_UNREADABLE = "UNREADABLE"


class VerificationError(TachiaiError):
    code = "verification_failed"
    http_status = 400


class Verdict(StrEnum):
    """What a file's signatures prove: one per file, INVALID over INCOMPLETE over VALID."""

    VALID = "valid"
    """Every signature intact, valid, trusted and LTV; nothing but later signatures and validation data
    added after each; the signer rule held."""
    INVALID = "invalid"
    """A signature is broken, or the document was changed after a signature beyond signing."""
    INCOMPLETE = "incomplete"
    """Intact, but not (or not shown to be) trusted, not LTV, signed by someone other than the expected
    seal, or not signed at all."""

    @property
    def exit_code(self) -> int:
        """``tachiai verify``'s exit status for this verdict (2 is "could not verify", not a verdict)."""
        return _EXIT_CODES[self]

    def meaning(self, language: i18n.Language = "en") -> str:
        """What this verdict (and its exit status) means, as ``tachiai verify --help`` says it."""
        return i18n.text(f"verify.exit_meaning.{self.value}", language)

    def label(self, language: i18n.Language = "en") -> str:
        """The verdict's name in the panel's last line."""
        return i18n.text(f"verify.verdict.{self.value}", language)


_EXIT_CODES = {Verdict.VALID: 0, Verdict.INVALID: 1, Verdict.INCOMPLETE: 3}


class Severity(IntEnum):
    """How much a finding weighs: the worst finding decides the verdict."""

    NOTE = 0
    """Said, but the file can still be valid (another party's signature accepted as what it is)."""
    INCOMPLETE = 1
    INVALID = 2


_VERDICT_OF = {
    Severity.NOTE: Verdict.VALID,
    Severity.INCOMPLETE: Verdict.INCOMPLETE,
    Severity.INVALID: Verdict.INVALID,
}


@dataclass(frozen=True)
class Finding:
    """One reason behind a verdict, about one signature (``field_name``) or the whole file (None)."""

    code: str
    """Stable machine code: ``altered``, ``signature_invalid``, ``changed_after``, ``untrusted``,
    ``timestamp_untrusted``, ``not_ltv``, ``not_by_seal``, ``other_signer``, ``trust_not_checked``,
    ``no_signatures``."""
    severity: Severity
    field_name: str | None
    message_id: str = ""
    """Its sentence in the catalogs; ``verify.finding.<code>`` when empty."""
    values: dict[str, str] = field(default_factory=dict, hash=False)
    """The sentence's placeholders."""
    texts: dict[str, str] = field(default_factory=dict, hash=False)
    """Placeholders that are themselves catalog messages (filled from :attr:`values` too), e.g. what
    changed after a signature: worded in the same language as the sentence."""

    def message(self, language: i18n.Language) -> str:
        """The finding in ``language``."""
        values = dict(self.values)
        values.update({name: i18n.text(msgid, language, **self.values) for name, msgid in self.texts.items()})
        return i18n.text(self.message_id or f"verify.finding.{self.code}", language, **values)

    @property
    def en(self) -> str:
        """In English (logs, :meth:`Judgement.summary`)."""
        return self.message("en")

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "severity": self.severity.name.lower(),
            "field": self.field_name,
            "message": {language: self.message(language) for language in i18n.LANGUAGES},
        }


@dataclass(frozen=True)
class SignatureReport:
    """One line of the signature panel: the facts, no judgement (see :meth:`VerificationReport.judge`)."""

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
    """Technical details (pyhanko's words) behind the findings."""
    by_seal: bool | None = None
    """Made by one of the expected seal certificates; None when none were given (and for document
    timestamps, which a TSA makes)."""
    changed_after: str | None = None
    """What was changed after this signature beyond later signatures and validation data, as a code
    (``annotations``, ``form_fields``, ``form_unsigned``, ``docmdp``, ``seed_value``, ``unexplained``,
    ``unknown``, ``unreadable``; worded by the catalogs' ``verify.change.*``), or None when nothing else
    was. Signing a later signature field is not a change of what was signed."""
    changed_fields: list[str] = field(default_factory=list)
    """The form fields changed, for ``form_fields``."""
    timestamp_trusted: bool | None = None
    """Whether the signature timestamp chains to the trust anchors (None: no signature timestamp)."""

    @property
    def ok(self) -> bool:
        """Intact and cryptographically valid (integrity only: see :meth:`VerificationReport.judge`)."""
        return self.intact and self.valid


@dataclass(frozen=True)
class Judgement:
    """The verdict on a file and every finding behind it."""

    verdict: Verdict
    findings: list[Finding]

    @property
    def exit_code(self) -> int:
        return self.verdict.exit_code

    def for_signature(self, field_name: str) -> list[Finding]:
        return [f for f in self.findings if f.field_name == field_name]

    @property
    def reasons(self) -> list[Finding]:
        """The findings that decided the verdict (the worst severity), in file order."""
        worst = max((f.severity for f in self.findings), default=Severity.NOTE)
        return [f for f in self.findings if f.severity == worst and worst > Severity.NOTE]

    def headline(self, language: i18n.Language) -> str:
        """One sentence: what the verdict is and why (the reasons are listed beside it)."""
        codes = {f.code for f in self.reasons}
        if self.verdict is Verdict.VALID:
            return i18n.text("verify.headline.valid", language)
        if self.verdict is Verdict.INVALID:
            key = "changed_after" if codes == {"changed_after"} else "invalid"
        elif codes == {"no_signatures"}:
            key = "no_signatures"
        elif codes <= {"trust_not_checked", "not_ltv"} and "trust_not_checked" in codes:
            key = "trust_not_checked"
        else:
            key = "incomplete"
        return i18n.text(f"verify.headline.{key}", language)

    def summary(self) -> str:
        """One line for logs and errors: the verdict and each reason (English)."""
        reasons = "; ".join(f"{f.field_name}: {f.en}" if f.field_name else f.en for f in self.reasons)
        return f"{self.verdict.value}: {reasons}" if reasons else self.verdict.value

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict.value,
            "exit_code": self.exit_code,
            "exit_meaning": {language: self.verdict.meaning(language) for language in i18n.LANGUAGES},
            "headline": {language: self.headline(language) for language in i18n.LANGUAGES},
            "reasons": [f.to_dict() for f in self.reasons],
            "findings": [f.to_dict() for f in self.findings],
        }


@dataclass(frozen=True)
class VerificationReport:
    sha256: str
    signatures: list[SignatureReport]
    ltv_complete: bool
    modified_after_last_signature: bool
    trust_anchors: str
    """``given`` (--trust), or ``embedded`` (the file's own roots: integrity only, not trust)."""
    seal_certificates_given: bool = False
    """Whether :attr:`SignatureReport.by_seal` was checked (``seal_certificates`` given)."""

    @property
    def ok(self) -> bool:
        """The strict verdict is :attr:`Verdict.VALID` (trust and LTV included: never kinder than
        :meth:`judge`)."""
        return self.judge().verdict is Verdict.VALID

    def verdict(self, *, accept_earlier_signers: bool = False) -> Verdict:
        """Shorthand for ``judge(...).verdict``."""
        return self.judge(accept_earlier_signers=accept_earlier_signers).verdict

    def judge(self, *, accept_earlier_signers: bool = False) -> Judgement:
        """The verdict and its findings.

        Every signature must be intact and valid and be followed only by later signatures and
        validation data (else INVALID). Every signature and document timestamp must chain to the given
        trust anchors and be LTV, and, when seal certificates were given, every signature must be made
        by one of them (else INCOMPLETE). With ``accept_earlier_signers`` (what finalize does), a
        signature by anyone else that comes before the first seal is accepted as what it is -- another
        party's signature on the uploaded document -- when it is intact, valid and followed only by
        signing; its trust is then reported, not required.
        """
        findings: list[Finding] = []
        if not self.signatures:
            findings.append(Finding("no_signatures", Severity.INCOMPLETE, None))
        elif self.trust_anchors != "given":
            findings.append(Finding("trust_not_checked", Severity.INCOMPLETE, None))
        # "Before the first seal" needs a seal: a file no seal of ours signed accepts no one.
        first_seal = next((i for i, s in enumerate(self.signatures) if s.by_seal), -1)
        for index, sig in enumerate(self.signatures):
            accepted_other = (
                accept_earlier_signers
                and sig.kind == "signature"
                and sig.by_seal is False
                and index < first_seal
            )
            findings.extend(self._integrity_findings(sig, is_last=index == len(self.signatures) - 1))
            if accepted_other:
                findings.append(_other_signer(sig))
            else:
                findings.extend(self._trust_findings(sig))
        verdict = _VERDICT_OF[max((f.severity for f in findings), default=Severity.NOTE)]
        return Judgement(verdict=verdict, findings=findings)

    def judge_integrity(self) -> Judgement:
        """The verdict on integrity alone, decided as :meth:`judge` decides it for every signature:
        intact, valid, and followed only by later signatures and validation data (else INVALID).

        Trust, LTV and who signed are not judged. This is what preflight asks of the signatures
        already on an upload: finalize later accepts them as other parties' signatures
        (``accept_earlier_signers``) when, and only when, they pass this.
        """
        last = len(self.signatures) - 1
        findings = [
            finding
            for index, sig in enumerate(self.signatures)
            for finding in self._integrity_findings(sig, is_last=index == last)
        ]
        verdict = _VERDICT_OF[max((f.severity for f in findings), default=Severity.NOTE)]
        return Judgement(verdict=verdict, findings=findings)

    @staticmethod
    def _integrity_findings(sig: SignatureReport, *, is_last: bool) -> list[Finding]:
        name = sig.field_name
        if not sig.intact:
            return [Finding("altered", Severity.INVALID, name)]
        if not sig.valid:
            return [Finding("signature_invalid", Severity.INVALID, name)]
        if sig.changed_after is not None:
            return [
                Finding(
                    "changed_after",
                    Severity.INVALID,
                    name,
                    "verify.finding.changed_after_last" if is_last else "verify.finding.changed_after",
                    {"fields": ", ".join(sig.changed_fields)},
                    {"change": f"verify.change.{sig.changed_after}"},
                )
            ]
        return []

    def _trust_findings(self, sig: SignatureReport) -> list[Finding]:
        name = sig.field_name
        findings: list[Finding] = []
        if sig.by_seal is False and sig.kind == "signature":
            findings.append(Finding("not_by_seal", Severity.INCOMPLETE, name, values={"signer": sig.signer}))
        if self.trust_anchors == "given" and not sig.trusted:
            findings.append(
                Finding(
                    "untrusted",
                    Severity.INCOMPLETE,
                    name,
                    f"verify.finding.untrusted_{sig.kind}",
                    {"signer": sig.signer},
                )
            )
        elif self.trust_anchors == "given" and sig.timestamp_trusted is False:
            findings.append(
                Finding(
                    "timestamp_untrusted",
                    Severity.INCOMPLETE,
                    name,
                    values={"authority": str(sig.timestamp_authority)},
                )
            )
        if not sig.ltv and not any(f.code == "untrusted" for f in findings):
            # pyhanko's technical reason (the AdES indication) is in the signature's problems
            findings.append(Finding("not_ltv", Severity.INCOMPLETE, name))
        return findings

    def to_dict(self, *, accept_earlier_signers: bool = False) -> dict[str, Any]:
        """The report, the verdict, and each signature with its own findings (for ``--json``)."""
        judgement = self.judge(accept_earlier_signers=accept_earlier_signers)
        data = asdict(self)
        for sig, entry in zip(self.signatures, data["signatures"], strict=True):
            entry["findings"] = [f.to_dict() for f in judgement.for_signature(sig.field_name)]
        data["ok"] = judgement.verdict is Verdict.VALID
        data.update(judgement.to_dict())
        return data


def _other_signer(sig: SignatureReport) -> Finding:
    trust = "verify.other_signer.trusted" if sig.trusted else "verify.other_signer.trust_not_checked"
    return Finding(
        "other_signer", Severity.NOTE, sig.field_name, values={"signer": sig.signer}, texts={"trust": trust}
    )


def _name(cert: x509.Certificate | None) -> str:
    if cert is None:
        return "?"
    subject = cert.subject.native
    cn = subject.get("common_name")
    org = subject.get("organization_name")
    # names come from certificates anyone can make: cleaned like every other text that reaches a terminal
    return single_line(", ".join(str(x) for x in (cn, org) if x) or cert.subject.human_friendly)


def _embedded_roots(reader: PdfFileReader, sigs: Sequence[EmbeddedPdfSignature]) -> list[x509.Certificate]:
    """Self-signed certificates carried by the file: used to check LTV completeness when no trust
    anchor is given. This proves the validation data is there, not that the signer is trusted."""
    candidates: list[x509.Certificate] = []
    for sig in sigs:
        with contextlib.suppress(*_READ_ERRORS):
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
    # Revocation info is required and never fetched: what is not in the file does not count. With no
    # DSS (an unsigned file, another tool's signature) the context holds no CRL or OCSP response at all;
    # pyhanko refuses "require" without them unless told they are empty rather than absent.
    kwargs: dict[str, Any] = {
        "trust_roots": list(roots),
        "allow_fetching": False,
        "revocation_mode": "require",
    }
    try:
        return DocumentSecurityStore.read_dss(reader).as_validation_context(kwargs)
    except (NoDSSFoundError, *_READ_ERRORS):
        return ValidationContext(**kwargs, crls=[], ocsps=[])


_Change = tuple[str, list[str]]
"""What changed after a signature beyond signing: a ``verify.change.*`` code, and the fields it names."""


def _modification(status: ModificationInfo, later_fields: set[str]) -> tuple[str, _Change | None, list[str]]:
    """The modification level after a signature, what changed beyond signing (None: nothing), and
    pyhanko's technical words for it.

    After a signature, a file may gain later signatures (their fields, widgets and values) and
    validation data (DSS, document timestamps). Anything else -- a form field filled, an annotation,
    an object signing does not explain, a change the signature's DocMDP forbids -- changed the
    document the signer saw."""
    if status.diff_result is None:
        return _UNREADABLE, ("unreadable", []), ["a revision after this signature could not be read"]
    if isinstance(status.diff_result, SuspiciousModification):
        return (
            "OTHER",
            ("unexplained", []),
            [f"suspicious change after signing: {status.diff_result}"],
        )
    level = status.modification_level
    if level is None:
        return "UNKNOWN", ("unknown", []), []
    other_fields = sorted(set(status.diff_result.changed_form_fields) - later_fields)
    changed: _Change | None = None
    if level >= ModificationLevel.ANNOTATIONS:
        changed = ("annotations", [])
    elif other_fields:
        changed = ("form_fields", other_fields)
    elif level == ModificationLevel.FORM_FILLING and not later_fields:
        changed = ("form_unsigned", [])
    if changed is None and getattr(status, "docmdp_ok", None) is False:
        changed = ("docmdp", [])
    return str(level.name), changed, ([f"changed after signing ({level.name})"] if changed else [])


def _status_problems(status: SignatureStatus, *, trusted_given: bool) -> list[str]:
    problems: list[str] = []
    if not status.intact:
        problems.append("the document was altered after this signature (digest mismatch)")
    elif not status.valid:
        problems.append("the signature value does not verify")
    if trusted_given and not status.trusted:
        problems.append("signer certificate is not trusted by the given anchors")
    return problems


def verify_pdf(
    pdf: bytes,
    trust_roots: Sequence[x509.Certificate] = (),
    *,
    seal_certificates: Sequence[x509.Certificate] = (),
) -> VerificationReport:
    """The signature panel for ``pdf``; :meth:`VerificationReport.judge` gives the verdict.

    ``trust_roots``: the anchors every signer must chain to (none: trust is not checked, the file's own
    roots are used to tell whether its validation data is complete). ``seal_certificates``: when given,
    each signature is marked ``by_seal`` when one of these certificates made it.

    :raises DamagedPdf: the file cannot be read as a PDF.
    :raises VerificationError: a signature is malformed beyond reporting.
    """
    try:
        reader = PdfFileReader(BytesIO(pdf), strict=False)
        sigs = list(reader.embedded_signatures)
    except _READ_ERRORS as e:
        raise DamagedPdf(f"cannot read PDF: {e}") from e

    roots = list(trust_roots) or _embedded_roots(reader, sigs)
    seals = {cert.sha256 for cert in seal_certificates}
    # One context for every signature: the DSS is the file's (the newest revision's) and reading it
    # (every certificate, OCSP response and CRL it holds) is most of the cost of building one.
    context = _dss_context(reader, roots)
    reports: list[SignatureReport] = []
    for index, sig in enumerate(sigs):
        later_fields = {s.field_name for s in sigs[index + 1 :]}
        try:
            reports.append(
                _report(
                    sig,
                    context,
                    roots,
                    trusted_given=bool(trust_roots),
                    seals=seals,
                    later_fields=later_fields,
                )
            )
        except _READ_ERRORS as e:
            raise VerificationError(f"{sig.field_name}: {type(e).__name__}: {e}") from e

    modified_after_last = bool(reports) and _changed_after(reports[-1])
    return VerificationReport(
        sha256=hashlib.sha256(pdf).hexdigest(),
        signatures=reports,
        ltv_complete=bool(reports) and all(r.ltv for r in reports),
        modified_after_last_signature=modified_after_last,
        trust_anchors="given" if trust_roots else "embedded",
        seal_certificates_given=bool(seals),
    )


def _changed_after(last: SignatureReport) -> bool:
    return (
        last.modification_level not in ("NONE", "LTA_UPDATES")
        or last.changed_after is not None
        or not last.intact
    )


def _report(
    sig: EmbeddedPdfSignature,
    context: ValidationContext,
    roots: Sequence[x509.Certificate],
    *,
    trusted_given: bool,
    seals: set[bytes],
    later_fields: set[str],
) -> SignatureReport:
    if sig.sig_object_type == "/DocTimeStamp":
        try:
            ts_status = validate_pdf_timestamp(sig, validation_context=context)
        except _READ_ERRORS:
            ts_status = validate_pdf_timestamp(sig, validation_context=context, skip_diff=True)
        level, changed, problems = _modification(ts_status, later_fields)
        return SignatureReport(
            field_name=single_line(sig.field_name),
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
            problems=_status_problems(ts_status, trusted_given=trusted_given) + problems,
            changed_after=changed[0] if changed else None,
            changed_fields=changed[1] if changed else [],
        )

    try:
        status = validate_pdf_signature(sig, signer_validation_context=context, ts_validation_context=context)
    except _READ_ERRORS:
        status = validate_pdf_signature(
            sig, signer_validation_context=context, ts_validation_context=context, skip_diff=True
        )
    level, changed, problems = _modification(status, later_fields)
    problems = _status_problems(status, trusted_given=trusted_given) + problems
    if not status.seed_value_ok and changed is None:
        changed = ("seed_value", [])
    ltv, ltv_problem = _lta_ok(sig, roots) if status.intact and status.valid else (False, None)
    if ltv_problem:
        problems.append(ltv_problem)
    ts = status.timestamp_validity
    signer_cert = status.signing_cert
    return SignatureReport(
        field_name=single_line(sig.field_name),
        kind="signature",
        signer=_name(signer_cert),
        reason=_text(sig.sig_object.get("/Reason")),
        signing_time=status.signer_reported_dt,
        timestamp_time=ts.timestamp if ts else None,
        timestamp_authority=_name(ts.signing_cert) if ts else None,
        intact=status.intact,
        valid=status.valid,
        trusted=status.trusted and trusted_given,
        modification_level=level,
        ltv=ltv,
        problems=problems,
        by_seal=(signer_cert is not None and signer_cert.sha256 in seals) if seals else None,
        changed_after=changed[0] if changed else None,
        changed_fields=changed[1] if changed else [],
        timestamp_trusted=(ts.trusted if ts else None) if trusted_given else None,
    )


def _text(value: object) -> str | None:
    return None if value is None else single_line(str(value))


def _mark(flag: bool, language: i18n.Language) -> str:
    return i18n.text("verify.panel.yes" if flag else "verify.panel.no", language)


_LABEL_COLUMNS = 20
"""Where the panel's values start (in terminal columns: a Japanese character takes two)."""


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _row(label_id: str, value: str, language: i18n.Language) -> str:
    label = i18n.text(label_id, language)
    return f"  {label}{' ' * max(1, _LABEL_COLUMNS - _columns(label))}{value}"


def format_panel(
    report: VerificationReport, judgement: Judgement | None = None, language: i18n.Language = "en"
) -> str:
    """A human panel in ``language``, like Acrobat's (署名パネル): the verdict and why first, then each
    signature. Every word is the catalogs' ``verify.*``."""
    judgement = judgement or report.judge()
    lines = [judgement.headline(language)]
    for finding in judgement.reasons:
        if finding.code == "no_signatures":
            continue  # the headline says it all
        where = f"{finding.field_name}: " if finding.field_name else ""
        lines.append(f"  - {where}{finding.message(language)}")
    lines.append(f"SHA-256: {report.sha256}")
    for number, sig in enumerate(report.signatures, start=1):
        kind = i18n.text(f"verify.panel.kind.{sig.kind}", language)
        lines.append("")
        lines.append(
            i18n.text("verify.panel.revision", language, number=number, signer=sig.signer, kind=kind)
        )
        lines.append(_row("verify.panel.field", sig.field_name, language))
        if sig.reason:
            lines.append(_row("verify.panel.reason", sig.reason, language))
        if sig.signing_time:
            signed = i18n.text("verify.panel.signers_clock", language, time=sig.signing_time.isoformat())
            lines.append(_row("verify.panel.signing_time", signed, language))
        if sig.timestamp_time:
            stamped = i18n.text(
                "verify.panel.timestamped_by",
                language,
                time=sig.timestamp_time.isoformat(),
                authority=sig.timestamp_authority,
            )
            lines.append(_row("verify.panel.timestamp", stamped, language))
        trusted = (
            _mark(sig.trusted, language)
            if report.trust_anchors == "given"
            else i18n.text("verify.panel.trust_not_checked", language)
        )
        lines.append(_row("verify.panel.intact", _mark(sig.intact, language), language))
        lines.append(_row("verify.panel.valid", _mark(sig.valid, language), language))
        lines.append(_row("verify.panel.trusted", trusted, language))
        if sig.by_seal is not None:
            lines.append(_row("verify.panel.by_seal", _mark(sig.by_seal, language), language))
        lines.append(_row("verify.panel.changed_after", sig.modification_level, language))
        lines.append(_row("verify.panel.ltv", _mark(sig.ltv, language), language))
        lines.extend(f"  ! {f.message(language)}" for f in judgement.for_signature(sig.field_name))
    changed = (
        "verify.panel.changed_yes" if report.modified_after_last_signature else "verify.panel.changed_no"
    )
    lines.append("")
    lines.append(
        i18n.text("verify.panel.ltv_complete", language, answer=_mark(report.ltv_complete, language))
    )
    lines.append(i18n.text("verify.panel.changed_after_last", language, answer=i18n.text(changed, language)))
    lines.append(
        i18n.text(
            "verify.panel.verdict",
            language,
            verdict=judgement.verdict.label(language),
            exit_code=judgement.exit_code,
        )
    )
    return "\n".join(lines)
