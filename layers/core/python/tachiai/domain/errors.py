"""The one error hierarchy of tachiai.

Every failure a caller can act on is a :class:`TachiaiError` subclass with

* ``code`` — a stable machine code (API responses, CLI JSON, logs; never change one once released),
* ``http_status`` — used by the single HTTP error mapper,
* its message for the person reading it: the catalog entry ``error.<code>`` in every language
  (:mod:`tachiai.i18n`, a leaf package the domain may import), formatted with the keyword arguments
  given when raising. No message lives in Python: a test checks that every code has its entry in
  every catalog, with the placeholders its raisers give.

Step Functions Retry/Catch match errors by class name, so class names are part of the contract too.
No builtin exception from a library may escape a public entry point: wrap it in one of these with
``raise ... from e``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from tachiai import i18n


class TachiaiError(Exception):
    """Base of every error tachiai raises on purpose."""

    code: ClassVar[str] = "internal_error"
    http_status: ClassVar[int] = 500

    text_params: ClassVar[frozenset[str]] = frozenset()
    """Parameters whose value is a message id (or a list of them), not a value: each is shown in the
    language of the message (a list joined by ``error.list_separator``), so that a raiser never has to
    pick a language, and :meth:`report` stays plain JSON."""

    def __init__(self, detail: str = "", **params: Any) -> None:
        self.detail = detail
        """Technical detail for logs and developers (never shown as the human message)."""
        self.params = params
        """Values the message templates are formatted with."""
        super().__init__(self._log_text())

    def _log_text(self) -> str:
        # str(error) is for logs: a message missing from the catalogs (the catalog tests fail on it)
        # must not turn the raising of this error into another error.
        try:
            text = self.message("en")
        except i18n.MissingMessage:
            text = f"[{self.code}]"
        return text + (f" ({self.detail})" if self.detail else "")

    def message(self, language: str = "ja") -> str:
        """The human message in ``language`` (the default language for one tachiai does not speak): the
        catalog's ``error.<code>`` filled with this error's parameters.

        :raises tachiai.i18n.MissingMessage: the catalog has no ``error.<code>``, or a placeholder of it
            was not given when raising (programming errors the catalog tests catch).
        """
        lang = language if language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
        values = {
            name: self._param_text(value, lang) if name in self.text_params else value
            for name, value in self.params.items()
        }
        return i18n.text(f"error.{self.code}", lang, **values)

    @staticmethod
    def _param_text(value: Any, language: i18n.Language) -> str:
        if isinstance(value, list | tuple):
            separator = i18n.text("error.list_separator", language)
            return separator.join(i18n.text(str(item), language) for item in value)
        return i18n.text(str(value), language)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the API and the CLI: the message in every catalog language."""
        return {
            "code": self.code,
            "message": {language: self.message(language) for language in i18n.LANGUAGES},
            **({"detail": self.detail} if self.detail else {}),
        }

    def report(self) -> dict[str, Any]:
        """What another process needs to raise this same error again (:func:`error_from_report`):
        how one function hands a typed failure to another through a synchronous Lambda invoke."""
        return {"type": type(self).__name__, "detail": self.detail, "params": self.params}


def error_from_report(report: dict[str, Any]) -> TachiaiError:
    """The error described by :meth:`TachiaiError.report`; an unknown type gives a plain TachiaiError."""
    wanted = str(report.get("type", ""))
    pending: list[type[TachiaiError]] = [TachiaiError]
    while pending:
        cls = pending.pop()
        if cls.__name__ == wanted:
            return cls(str(report.get("detail", "")), **dict(report.get("params") or {}))
        pending.extend(cls.__subclasses__())
    return TachiaiError(f"{wanted}: {report.get('detail', '')}")


class ConfigurationError(TachiaiError):
    """Required configuration is missing or malformed."""

    code = "configuration_error"


class NotFound(TachiaiError):
    code = "not_found"
    http_status = 404


class Conflict(TachiaiError):
    code = "conflict"
    http_status = 409


# --- documents (preflight) -------------------------------------------------------------------


class InvalidDocument(TachiaiError):
    """An uploaded file cannot be accepted as a contract document."""

    code = "invalid_document"
    http_status = 400


class EmptyDocument(InvalidDocument):
    code = "document_empty"


class DocumentTooLarge(InvalidDocument):
    code = "document_too_large"
    http_status = 413


class NotPdf(InvalidDocument):
    code = "not_pdf"


class DamagedPdf(InvalidDocument):
    code = "pdf_damaged"


class EncryptedPdf(InvalidDocument):
    code = "pdf_encrypted"


class UnreadableDocument(InvalidDocument):
    """Neither a PDF nor UTF-8 text: no contract text can be read from it."""

    code = "document_unreadable"


class SigningForbidden(InvalidDocument):
    """An existing signature forbids adding one; ``reason`` is the message id saying which
    (``error.pdf_signing_forbidden.<why>``)."""

    code = "pdf_signing_forbidden"
    text_params = frozenset({"reason"})


class SignedPdfModified(InvalidDocument):
    """The upload carries another party's signature, and the document was changed after it beyond
    signing (a form filled, an annotation added, a page changed). Validators report that signature as
    followed by changes, and so does the verdict finalize applies: refused at upload, not after every
    party agreed."""

    code = "signed_pdf_modified"


class ExistingSignatureInvalid(InvalidDocument):
    """A signature already on the upload is broken: the signed bytes were altered (digest mismatch),
    its value does not verify, or it cannot be read. Sealing it would put the company's seal beside
    a signature every validator reports as invalid."""

    code = "existing_signature_invalid"


class PdfTooComplex(InvalidDocument):
    """The PDF decodes to more data (or needs more memory to read) than tachiai allows: typically a
    decompression bomb, a few kilobytes that expand to gigabytes. 422: the upload itself is small."""

    code = "pdf_too_complex"
    http_status = 422


class ActiveContent(InvalidDocument):
    """The PDF carries something that runs or launches when it is opened or clicked (JavaScript, a
    Launch action, an embedded executable file). tachiai does not put the company's seal on a file
    that can act on the reader's machine, so it is refused before anything is stored or signed."""

    code = "active_content"
    text_params = frozenset({"found"})
    """``found``: the message ids of what was found (``error.active_content.<kind>``)."""


# --- sealing ----------------------------------------------------------------------------------


class SealingError(TachiaiError):
    """Sealing could not produce a valid seal; nothing was stored."""

    code = "sealing_failed"


class KeyServiceError(SealingError):
    """The key service (KMS or the HSM) failed or refused; retryable when throttled."""

    code = "key_service_error"


class KeyServiceThrottled(KeyServiceError):
    code = "key_service_throttled"
    http_status = 503


class SignatureMismatch(SealingError):
    """The raw signature does not verify against the seal certificate's public key."""

    code = "signature_mismatch"


class TimestampUnavailable(SealingError):
    """No configured time-stamping authority answered with a valid token."""

    code = "timestamp_unavailable"
    http_status = 503


class RevocationInfoUnavailable(SealingError):
    code = "revocation_info_unavailable"
    http_status = 503


class UntrustedChain(SealingError):
    """A certificate the seal relies on (the seal's own, or the TSA's) does not chain to the configured
    trust roots: a setup mistake that retrying cannot fix (add the root to the trust-roots parameter)."""

    code = "untrusted_chain"


class SealValidationFailed(SealingError):
    """A seal just produced did not validate; it is never stored."""

    code = "seal_validation_failed"


class DocumentChangedSinceLastSeal(SealingError):
    """The stored PDF is not the one the previous event produced (hash chain broken)."""

    code = "document_changed"
    http_status = 409


class CertificateError(TachiaiError):
    """A certificate or chain given as configuration is unusable."""

    code = "certificate_error"


class CertificateRenderError(TachiaiError):
    """The agreement certificate (合意締結証明書) PDF could not be rendered."""

    code = "certificate_render_failed"


# --- requests and turns -----------------------------------------------------------------------


class InvalidRequest(TachiaiError):
    """A request is well-formed JSON but asks for something that cannot be done as given."""

    code = "invalid_request"
    http_status = 400


class NotYourTurn(TachiaiError):
    """A participant acted before the people before them finished."""

    code = "not_your_turn"
    http_status = 409


class Forbidden(TachiaiError):
    """The caller is known but may not do this."""

    code = "forbidden"
    http_status = 403


class EmailNotVerified(Forbidden):
    """A staff member whose email address is not verified: it would be the sender named in mails,
    seals and the audit trail, so nothing is sent in its name until its owner proves it."""

    code = "email_not_verified"


class ForeignOrigin(Forbidden):
    """``tachiai local``: a request sent by a web page of another site (its ``Origin`` is not ours).

    A page the developer happens to visit could otherwise drive the local service from their browser.
    """

    code = "foreign_origin"


class UnsignedRequest(Forbidden):
    """``tachiai local``: a request to the local AWS stand-in (moto) without an AWS SDK signature.

    The SDK always signs; a browser cannot (a cross-origin ``Authorization`` header needs a CORS
    preflight, which gets no answer), so this keeps moto out of a web page's reach.
    """

    code = "unsigned_request"


class MisdirectedRequest(TachiaiError):
    """``tachiai local``: a ``Host`` that is not the loopback address the service listens on.

    A DNS-rebinding page reaches 127.0.0.1 under its own host name; refusing foreign hosts stops it.
    """

    code = "misdirected_request"
    http_status = 421


# --- recipient links ----------------------------------------------------------------------------


class LinkInvalid(NotFound):
    """Unknown, malformed or dead link (which of these is never said)."""

    code = "link_invalid"


class LinkExpired(TachiaiError):
    """The participant's link passed its validity; the envelope expires with it.

    Also the error name of the state machine's Fail state when a ``Notify`` task times out."""

    code = "link_expired"
    http_status = 410


class LinkLocked(TachiaiError):
    """Too many wrong access codes: the link is locked and the sender has been told."""

    code = "link_locked"
    http_status = 423


class WrongAccessCode(TachiaiError):
    code = "access_code_wrong"
    http_status = 403


class AuthenticationRequired(TachiaiError):
    """The participant must give the access code on this client (browser) first: an authentication
    holds for the client that passed it, and only for a while — not for whoever holds the URL."""

    code = "authentication_required"
    http_status = 401


class TermsNotAccepted(InvalidRequest):
    code = "terms_not_accepted"


class NotOpened(Conflict):
    code = "not_opened"


# --- envelope outcomes (also Step Functions error names: the state machine routes on them) -----


class EnvelopeRejected(Conflict):
    code = "envelope_rejected"


class EnvelopeCancelled(Conflict):
    code = "envelope_cancelled"


class EnvelopeClosed(Conflict):
    """The envelope ended (completed, expired, failed): nothing more can be done through a link."""

    code = "envelope_closed"


class TooManyReminders(Conflict):
    code = "too_many_reminders"


class DocumentNotUploaded(InvalidRequest):
    code = "document_not_uploaded"


class InvalidCursor(InvalidRequest):
    """A ``cursor`` that is not one this search handed out (garbage, edited, another query's or
    another caller's)."""

    code = "invalid_cursor"


class DocumentIntegrityError(TachiaiError):
    """A stored file is not the one its envelope records (its SHA-256 differs): it is not served."""

    code = "document_integrity_failed"
    http_status = 500


# --- the sender's refusals: each says what is wrong; retrying cannot fix them ----------------------
# 409 like every state conflict, but never the code ``conflict``, which promises that a retry may help.


class EnvelopeAlreadyCancelled(Conflict):
    """Cancelling an envelope that was cancelled already."""

    code = "envelope_already_cancelled"


class EnvelopeAlreadyEnded(Conflict):
    """Cancelling or reminding an envelope that ended otherwise (completed, rejected, expired, failed:
    ``status``)."""

    code = "envelope_already_ended"


class EveryoneAgreed(Conflict):
    """Cancelling an envelope every participant agreed to: the contract stands and is being finished."""

    code = "envelope_everyone_agreed"


class EnvelopeNotSendable(Conflict):
    """Sending an envelope that has ended (``status``): a new envelope (correct and resend) is the way."""

    code = "envelope_not_sendable"


class SigningChainTooLong(InvalidRequest):
    """Sending would start a signing chain that could outlive a Step Functions execution (one year):
    ``participants`` turns of ``days`` days each. ``max_days`` is the longest link validity that fits;
    nothing was sent (the envelope stays a draft)."""

    code = "signing_chain_too_long"


class EnvelopeNotSent(Conflict):
    """Reminding a draft: nobody has been asked yet."""

    code = "envelope_not_sent"


class ReminderNotReady(Conflict):
    """Reminding while the link of the participant whose turn it is is still being mailed (just sent, or
    between two participants): the one refusal here that a retry in a moment does fix."""

    code = "reminder_not_ready"


class DuplicateParticipant(InvalidRequest):
    """The same address for two participants (``first`` and ``second``, counted from 1)."""

    code = "duplicate_participant"


# --- mail -------------------------------------------------------------------------------------


class MailError(TachiaiError):
    """A mail could not be built or sent."""

    code = "mail_error"


class InvalidMailAddress(MailError):
    """An address that cannot be put in a mail header (malformed, or not 7-bit ASCII as SES requires)."""

    code = "invalid_mail_address"
    http_status = 400


class InvalidDisplayName(MailError):
    """A display name that a mail header cannot carry as the name of its one address: written and
    parsed back, it reads as another address, several, or none (quotes, angle brackets, backslashes,
    encoded-word look-alikes)."""

    code = "invalid_display_name"
    http_status = 400


class UnmailableParticipant(InvalidRequest):
    """A person given in a request whom no mail could ever reach as given: refused at the request
    (envelope creation, a forward) with the rule the mailer uses, so the envelope never fails at
    its first mail because of it."""

    code = "participant_not_mailable"


class InvalidMailContent(MailError):
    """A value a mail template cannot use (a link that is not http(s), a time without a zone)."""

    code = "invalid_mail_content"


class MailServiceError(MailError):
    """The mail service (SES) failed for a reason not known to be temporary."""

    code = "mail_service_error"
    http_status = 502


class MailServiceThrottled(MailServiceError):
    """SES is throttling, over its sending quota or briefly unavailable: retry later."""

    code = "mail_service_throttled"
    http_status = 503


class MailRejected(MailServiceError):
    """SES refused this mail or this account (rejected content, paused or suspended sending,
    unverified sender): retrying will not help."""

    code = "mail_rejected"


class MailSandboxRefused(MailRejected):
    """SES is still in its sandbox for this account and region, where it sends only to verified
    addresses, and the recipient is not one (SES answers MessageRejected "Email address is not
    verified" naming the recipient, or an AccessDenied on the recipient's identity): retrying will not
    help until the address is verified or the account has production access."""

    code = "mail_sandbox_refused"


# --- metadata extraction ------------------------------------------------------------------------


class ExtractionError(TachiaiError):
    """Contract metadata could not be extracted by the configured engine."""

    code = "extraction_failed"
    http_status = 502


class ExtractionUnavailable(ExtractionError):
    """The extraction model is throttled, over quota, not ready or briefly down: retry later."""

    code = "extraction_unavailable"
    http_status = 503


class ExtractionRejected(ExtractionError):
    """The model service refused the request (no access to the model, unknown model id, invalid
    request): a setup problem that retrying cannot fix."""

    code = "extraction_rejected"


class ExtractionOutputInvalid(ExtractionError):
    """The model answered, but not with metadata of the required form."""

    code = "extraction_output_invalid"


class ExtractionNotRetryable(Conflict):
    """Extraction was asked to start again for an envelope whose extraction succeeded, or one not
    completed (``status`` is its ``metadata_status``): correct its fields instead, or wait for it."""

    code = "extraction_not_retryable"


# --- templates, drafts, correct-and-resend, reissue ---------------------------------------------


class EnvelopeNotDraft(Conflict):
    """Editing or deleting an envelope that was already sent: only a draft can change."""

    code = "envelope_not_draft"


class DraftDocumentUnknown(NotFound):
    """Removing a document a draft does not have (removed already, or never there)."""

    code = "draft_document_unknown"


class TooManyDocuments(InvalidRequest):
    """Adding documents to a draft beyond what one envelope may hold."""

    code = "too_many_documents"


class EnvelopeNotResendable(Conflict):
    """Correct-and-resend of an envelope that did not end in a rejection, an expiry or a cancellation."""

    code = "envelope_not_resendable"


class EnvelopeNotCompleted(Conflict):
    """Asking for what only a completed envelope has (its signature panel) of one that is not
    (``status``): nothing final to verify until every participant agreed and it was finalized."""

    code = "envelope_not_completed"


class EnvelopeAlreadyResent(Conflict):
    """The envelope was corrected and resent already (``resent_as`` names the new one)."""

    code = "envelope_already_resent"


class ParticipantLocked(Conflict):
    """The participant's link is locked after too many wrong codes: a reminder would mail a dead link;
    the sender unlocks and reissues it instead."""

    code = "participant_locked"


class ParticipantNotLocked(Conflict):
    """Reissue asked for a participant whose link is not locked (a reminder is what they need)."""

    code = "participant_not_locked"


class TemplateRoleUnfilled(InvalidRequest):
    """Creating from a template, a role without a default person got nobody."""

    code = "template_role_unfilled"


class TemplateRoleUnknown(InvalidRequest):
    """A participant of a request names a role the template does not have (or names it twice)."""

    code = "template_role_unknown"


class TemplateAccessCodeMissing(InvalidRequest):
    """A template role requires an access code and the request gave none for it (a template never
    stores a code: the sender sets one per envelope)."""

    code = "template_access_code_missing"


class TemplateAdminOnly(Forbidden):
    """A member tried to create, change or delete a team template: administrators manage them."""

    code = "template_admin_only"


# --- staff users and sign-in (``tachiai users``, ``tachiai login``) ------------------------------


class AdminOnly(Forbidden):
    """A member (or an API integration) asked for what only an administrator may do: manage users."""

    code = "forbidden_admin_only"


class UnknownUser(NotFound):
    """No staff member by that username or email in the user directory."""

    code = "user_not_found"


class UserExists(TachiaiError):
    """An invitation for an address that already has an account (a retry cannot help)."""

    code = "user_exists"
    http_status = 409


class CannotDisableSelf(TachiaiError):
    """An administrator tried to disable their own account (they would lock themselves out)."""

    code = "cannot_disable_self"
    http_status = 409


class LastAdmin(TachiaiError):
    """Disabling or demoting the only enabled administrator would leave nobody to manage users."""

    code = "last_admin"
    http_status = 409


class DirectoryRefused(TachiaiError):
    """The user directory refused a value (an address it cannot take, a name too long)."""

    code = "directory_refused"
    http_status = 400


class NotSignedIn(TachiaiError):
    """The CLI has no tokens for the profile (never signed in, or signed out)."""

    code = "not_signed_in"
    http_status = 401


class SessionExpired(TachiaiError):
    """The profile's refresh token was refused (expired, revoked, the user disabled): sign in again."""

    code = "session_expired"
    http_status = 401


class LoginFailed(TachiaiError):
    """The sign-in did not complete: the login service answered with an error, or no code came back."""

    code = "login_failed"
    http_status = 401


class LoginStateMismatch(LoginFailed):
    """The redirect carried another ``state`` than the one this sign-in sent: not our sign-in (a forged
    or stale redirect), so its code is not exchanged."""

    code = "login_state_mismatch"


class LoginPortInUse(TachiaiError):
    """The loopback port the login service redirects to is taken by another program."""

    code = "login_port_in_use"
    http_status = 409


class ProfileUrlMismatch(TachiaiError):
    """A signed-in profile's token would be sent to another API than the one it was issued for."""

    code = "profile_url_mismatch"
    http_status = 400


# --- the outside world did not answer (503: the caller may retry) -------------------------------


class FunctionUnavailable(TachiaiError):
    """Lambda did not answer a synchronous call (throttled, or failed to run)."""

    code = "function_unavailable"
    http_status = 503


class DirectoryUnavailable(TachiaiError):
    """The user directory (Cognito, or the local user store) did not answer."""

    code = "directory_unavailable"
    http_status = 503


class WorkflowUnavailable(TachiaiError):
    """The signing chain (Step Functions) did not answer."""

    code = "workflow_unavailable"
    http_status = 503


class DocumentStoreUnavailable(TachiaiError):
    """The document store (S3) did not answer."""

    code = "document_store_unavailable"
    http_status = 503


class StorageUnavailable(TachiaiError):
    """The envelope store (DynamoDB) did not answer."""

    code = "storage_unavailable"
    http_status = 503


# --- the sender console (tachiai.console) ----------------------------------------------------------


class SignInRequired(TachiaiError):
    """A console page was asked for without a live session (never signed in, signed out, idle for too
    long or past the session's absolute lifetime): the browser is sent to the sign-in."""

    code = "sign_in_required"
    http_status = 401


class CsrfRefused(Forbidden):
    """A console form was posted without the session's CSRF token, or from another site's page (its
    ``Origin`` or ``Referer`` is not the console's own): nothing of it was done."""

    code = "csrf_refused"


class ConsoleSignInMismatch(LoginFailed):
    """The login service sent the browser back with a ``state`` this browser did not start (a forged
    or replayed redirect, or a sign-in begun too long ago or in another browser): its code is not
    exchanged."""

    code = "console_sign_in_mismatch"
    http_status = 400


class LoginUnavailable(TachiaiError):
    """The login service (Cognito's OAuth endpoints, or the local sign-in) did not answer."""

    code = "login_unavailable"
    http_status = 503
