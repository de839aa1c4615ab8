"""The one error hierarchy of tachiai.

Every failure a caller can act on is a :class:`TachiaiError` subclass with

* ``code`` — a stable machine code (API responses, CLI JSON, logs; never change one once released),
* ``http_status`` — used by the single HTTP error mapper,
* ``message_ja`` / ``message_en`` — templates for the person reading it, formatted with the
  keyword arguments given when raising.

Step Functions Retry/Catch match errors by class name, so class names are part of the contract too.
No builtin exception from a library may escape a public entry point: wrap it in one of these with
``raise ... from e``.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TachiaiError(Exception):
    """Base of every error tachiai raises on purpose."""

    code: ClassVar[str] = "internal_error"
    http_status: ClassVar[int] = 500
    message_ja: ClassVar[str] = "内部エラーが発生しました。"
    message_en: ClassVar[str] = "An internal error occurred."

    def __init__(self, detail: str = "", **params: Any) -> None:
        self.detail = detail
        """Technical detail for logs and developers (never shown as the human message)."""
        self.params = params
        """Values the message templates are formatted with."""
        super().__init__(self.message("en") + (f" ({detail})" if detail else ""))

    def message(self, language: str = "ja") -> str:
        """The human message in ``language``: the catalog's ``error.<code>`` (:mod:`tachiai.i18n`).

        Transitional: a class whose code is not in the catalogs yet falls back to its ``message_ja`` /
        ``message_en`` attributes (to be removed when every message lives in the catalogs).
        """
        from tachiai import i18n  # the catalogs are read on first use, not when errors are imported

        lang = language if language in i18n.LANGUAGES else i18n.DEFAULT_LANGUAGE
        template = i18n.catalog(lang).get(f"error.{self.code}")
        if template is None:
            template = self.message_ja if lang == "ja" else self.message_en
        try:
            return template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return template

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the API and the CLI: the message in every catalog language."""
        from tachiai import i18n

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
    message_ja = "設定が不正です: {name}"
    message_en = "Configuration is missing or invalid: {name}"


class NotFound(TachiaiError):
    code = "not_found"
    http_status = 404
    message_ja = "見つかりません。"
    message_en = "Not found."


class Conflict(TachiaiError):
    code = "conflict"
    http_status = 409
    message_ja = "他の操作と競合しました。もう一度お試しください。"
    message_en = "This conflicts with another change. Please try again."


# --- documents (preflight) -------------------------------------------------------------------


class InvalidDocument(TachiaiError):
    """An uploaded file cannot be accepted as a contract document."""

    code = "invalid_document"
    http_status = 400
    message_ja = "このファイルは契約書として受け付けられません。"
    message_en = "This file cannot be accepted as a contract document."


class EmptyDocument(InvalidDocument):
    code = "document_empty"
    message_ja = "ファイルが空です。"
    message_en = "The file is empty."


class DocumentTooLarge(InvalidDocument):
    code = "document_too_large"
    http_status = 413
    message_ja = "ファイルサイズ（{size_mb} MB）が上限（{limit_mb} MB）を超えています。"
    message_en = "The file ({size_mb} MB) is larger than the limit ({limit_mb} MB)."


class NotPdf(InvalidDocument):
    code = "not_pdf"
    message_ja = "PDFファイルではありません。PDF形式のファイルをアップロードしてください。"
    message_en = "This is not a PDF file. Please upload a PDF."


class DamagedPdf(InvalidDocument):
    code = "pdf_damaged"
    message_ja = "PDFファイルが壊れているため読み込めません。元のアプリケーションから保存し直してください。"
    message_en = "The PDF is damaged and cannot be read. Please save it again from the original application."


class EncryptedPdf(InvalidDocument):
    code = "pdf_encrypted"
    message_ja = (
        "PDFにパスワードまたはセキュリティ設定がかかっています。"
        "PDFのセキュリティ設定を確認し、解除してからアップロードしてください。"
    )
    message_en = (
        "The PDF is protected by a password or security settings. "
        "Please check the PDF's security settings and remove them before uploading."
    )


class UnreadableDocument(InvalidDocument):
    """Neither a PDF nor UTF-8 text: no contract text can be read from it."""

    code = "document_unreadable"
    message_ja = "文書の文字を読み取れません。PDFまたはUTF-8のテキストファイルを指定してください。"
    message_en = "No text can be read from this file. Please give a PDF or a UTF-8 text file."


class SigningForbidden(InvalidDocument):
    code = "pdf_signing_forbidden"
    message_ja = "このPDFは署名を追加できない設定になっています（{reason_ja}）。"
    message_en = "This PDF does not allow signatures to be added ({reason_en})."


class SignedPdfModified(InvalidDocument):
    """The upload carries another party's signature, and the document was changed after it beyond
    signing (a form filled, an annotation added, a page changed). Validators report that signature as
    followed by changes, and so does the verdict finalize applies: refused at upload, not after every
    party agreed."""

    code = "signed_pdf_modified"
    message_ja = (
        "このPDFは署名された後に変更されています（フォームの入力、注釈の追加、ページの変更など）。"
        "署名した方から、署名された時点の元のファイルを入手してアップロードしてください。"
    )
    message_en = (
        "This PDF was changed after it was signed (a form filled in, an annotation added, a page "
        "changed, ...). Please ask the signer for the original signed file and upload that."
    )


class ExistingSignatureInvalid(InvalidDocument):
    """A signature already on the upload is broken: the signed bytes were altered (digest mismatch),
    its value does not verify, or it cannot be read. Sealing it would put the company's seal beside
    a signature every validator reports as invalid."""

    code = "existing_signature_invalid"
    message_ja = (
        "このPDFに付いている署名が壊れています（署名後に内容が改変されたか、署名を検証できません）。"
        "署名した方から、署名された時点の元のファイルを入手してアップロードしてください。"
    )
    message_en = (
        "A signature on this PDF is broken (the signed content was altered, or the signature cannot "
        "be verified). Please ask the signer for the original signed file and upload that."
    )


class PdfTooComplex(InvalidDocument):
    """The PDF decodes to more data (or needs more memory to read) than tachiai allows: typically a
    decompression bomb, a few kilobytes that expand to gigabytes. 422: the upload itself is small."""

    code = "pdf_too_complex"
    http_status = 422
    message_ja = (
        "このPDFは展開すると非常に大きなデータになるため処理できません。"
        "元のアプリケーションから保存し直すか、「PDFとして印刷」で作り直してからアップロードしてください。"
    )
    message_en = (
        "This PDF expands to too much data to be processed. Please save it again from the original "
        "application, or print it to a new PDF, and upload that."
    )


class ActiveContent(InvalidDocument):
    """The PDF carries something that runs or launches when it is opened or clicked (JavaScript, a
    Launch action, an embedded executable file). tachiai does not put the company's seal on a file
    that can act on the reader's machine, so it is refused before anything is stored or signed."""

    code = "active_content"
    message_ja = (
        "このPDFには実行される内容（{found_ja}）が含まれているため受け付けられません。"
        "元のアプリケーションで取り除いてから保存し直し、アップロードしてください。"
    )
    message_en = (
        "This PDF contains active content ({found_en}), which cannot be sealed. Please remove it in "
        "the original application, save the PDF again and upload that."
    )


# --- sealing ----------------------------------------------------------------------------------


class SealingError(TachiaiError):
    """Sealing could not produce a valid seal; nothing was stored."""

    code = "sealing_failed"
    message_ja = "電子署名の付与に失敗しました。"
    message_en = "The electronic seal could not be applied."


class KeyServiceError(SealingError):
    """The key service (KMS or the HSM) failed or refused; retryable when throttled."""

    code = "key_service_error"
    message_ja = "署名鍵サービスでエラーが発生しました。"
    message_en = "The signing key service failed."


class KeyServiceThrottled(KeyServiceError):
    code = "key_service_throttled"
    http_status = 503
    message_ja = "署名鍵サービスが混み合っています。しばらくしてから再試行してください。"
    message_en = "The signing key service is busy. Please retry shortly."


class SignatureMismatch(SealingError):
    """The raw signature does not verify against the seal certificate's public key."""

    code = "signature_mismatch"
    message_ja = "署名鍵と証明書が一致しません。"
    message_en = "The signing key does not match the seal certificate."


class TimestampUnavailable(SealingError):
    """No configured time-stamping authority answered with a valid token."""

    code = "timestamp_unavailable"
    http_status = 503
    message_ja = "タイムスタンプ局に接続できませんでした。"
    message_en = "No time-stamping authority could be reached."


class RevocationInfoUnavailable(SealingError):
    code = "revocation_info_unavailable"
    http_status = 503
    message_ja = "証明書の失効情報（OCSP/CRL）を取得できませんでした。"
    message_en = "Certificate revocation information (OCSP/CRL) could not be fetched."


class UntrustedChain(SealingError):
    """A certificate the seal relies on (the seal's own, or the TSA's) does not chain to the configured
    trust roots: a setup mistake that retrying cannot fix (add the root to the trust-roots parameter)."""

    code = "untrusted_chain"
    message_ja = "署名またはタイムスタンプの証明書が、設定された信頼済みルート証明書につながりません。"
    message_en = "The seal or timestamp certificate does not chain to the configured trust roots."


class SealValidationFailed(SealingError):
    """A seal just produced did not validate; it is never stored."""

    code = "seal_validation_failed"
    message_ja = "付与した電子署名の検証に失敗しました。"
    message_en = "The seal just applied did not validate."


class DocumentChangedSinceLastSeal(SealingError):
    """The stored PDF is not the one the previous event produced (hash chain broken)."""

    code = "document_changed"
    http_status = 409
    message_ja = "前回の署名以降に文書が変更されています。"
    message_en = "The document was changed after the previous seal."


class CertificateError(TachiaiError):
    """A certificate or chain given as configuration is unusable."""

    code = "certificate_error"
    message_ja = "証明書が不正です: {reason}"
    message_en = "The certificate is invalid: {reason}"


class CertificateRenderError(TachiaiError):
    """The agreement certificate (合意締結証明書) PDF could not be rendered."""

    code = "certificate_render_failed"
    message_ja = "合意締結証明書を作成できませんでした。"
    message_en = "The certificate of agreement could not be created."


# --- requests and turns -----------------------------------------------------------------------


class InvalidRequest(TachiaiError):
    """A request is well-formed JSON but asks for something that cannot be done as given."""

    code = "invalid_request"
    http_status = 400
    message_ja = "入力内容が正しくありません（{field}）。"
    message_en = "The request is invalid ({field})."


class NotYourTurn(TachiaiError):
    """A participant acted before the people before them finished."""

    code = "not_your_turn"
    http_status = 409
    message_ja = "まだあなたの順番ではありません。前の方の手続きが終わるとメールでお知らせします。"
    message_en = "It is not your turn yet. You will get an email when the people before you have finished."


class Forbidden(TachiaiError):
    """The caller is known but may not do this."""

    code = "forbidden"
    http_status = 403
    message_ja = "この操作は許可されていません。"
    message_en = "You are not allowed to do this."


class EmailNotVerified(Forbidden):
    """A staff member whose email address is not verified: it would be the sender named in mails,
    seals and the audit trail, so nothing is sent in its name until its owner proves it."""

    code = "email_not_verified"
    message_ja = "メールアドレスの確認が済んでいません。確認を済ませてから、もう一度お試しください。"
    message_en = "Your email address has not been verified. Please verify it, then try again."


class ForeignOrigin(Forbidden):
    """``tachiai local``: a request sent by a web page of another site (its ``Origin`` is not ours).

    A page the developer happens to visit could otherwise drive the local service from their browser.
    """

    code = "foreign_origin"
    message_ja = "他のサイトから送られたリクエストは受け付けません（Origin: {origin}）。"
    message_en = "Requests sent from another site are refused (Origin: {origin})."


class UnsignedRequest(Forbidden):
    """``tachiai local``: a request to the local AWS stand-in (moto) without an AWS SDK signature.

    The SDK always signs; a browser cannot (a cross-origin ``Authorization`` header needs a CORS
    preflight, which gets no answer), so this keeps moto out of a web page's reach.
    """

    code = "unsigned_request"
    message_ja = "署名のないリクエストは受け付けません（AWS SDK の署名が必要です）。"
    message_en = "Unsigned requests are refused (an AWS SDK signature is required)."


class MisdirectedRequest(TachiaiError):
    """``tachiai local``: a ``Host`` that is not the loopback address the service listens on.

    A DNS-rebinding page reaches 127.0.0.1 under its own host name; refusing foreign hosts stops it.
    """

    code = "misdirected_request"
    http_status = 421
    message_ja = "このサーバーは {host} 宛てのリクエストに応答しません。{expected} を使用してください。"
    message_en = "This server does not answer requests for {host}. Use {expected}."


# --- recipient links ----------------------------------------------------------------------------


class LinkInvalid(NotFound):
    """Unknown, malformed or dead link (which of these is never said)."""

    code = "link_invalid"
    message_ja = "このリンクは無効です。メールに記載された最新のリンクをご利用ください。"
    message_en = "This link is not valid. Please use the latest link from your email."


class LinkExpired(TachiaiError):
    """The participant's link passed its validity; the envelope expires with it.

    Also the error name of the state machine's Fail state when a ``Notify`` task times out."""

    code = "link_expired"
    http_status = 410
    message_ja = "このリンクの有効期限が切れています。送信者にお問い合わせください。"
    message_en = "This link has expired. Please contact the sender."


class LinkLocked(TachiaiError):
    """Too many wrong access codes: the link is locked and the sender has been told."""

    code = "link_locked"
    http_status = 423
    message_ja = (
        "アクセスコードの誤入力が続いたため、このリンクはロックされました。送信者にお問い合わせください。"
    )
    message_en = "This link is locked after too many wrong access codes. Please contact the sender."


class WrongAccessCode(TachiaiError):
    code = "access_code_wrong"
    http_status = 403
    message_ja = "アクセスコードが違います（あと{remaining}回でロックされます）。"
    message_en = "The access code is wrong ({remaining} more tries before the link is locked)."


class AuthenticationRequired(TachiaiError):
    """The participant must give the access code on this client (browser) first: an authentication
    holds for the client that passed it, and only for a while — not for whoever holds the URL."""

    code = "authentication_required"
    http_status = 401
    message_ja = (
        "このブラウザでは本人確認が済んでいないか、有効期限が切れています。アクセスコードを入力してください。"
    )
    message_en = (
        "This browser has not been verified for this link, or the verification has expired. "
        "Please enter the access code."
    )


class TermsNotAccepted(InvalidRequest):
    code = "terms_not_accepted"
    message_ja = "書類を開くには利用規約への同意が必要です。"
    message_en = "Please accept the terms of use to open the documents."


class NotOpened(Conflict):
    code = "not_opened"
    message_ja = "同意の前に書類を開いて内容をご確認ください。"
    message_en = "Please open and read the documents before agreeing."


# --- envelope outcomes (also Step Functions error names: the state machine routes on them) -----


class EnvelopeRejected(Conflict):
    code = "envelope_rejected"
    message_ja = "この書類は却下されました。"
    message_en = "This envelope was declined."


class EnvelopeCancelled(Conflict):
    code = "envelope_cancelled"
    message_ja = "この書類は送信者により取り消されました。"
    message_en = "The sender cancelled this envelope."


class EnvelopeClosed(Conflict):
    """The envelope ended (completed, expired, failed): nothing more can be done through a link."""

    code = "envelope_closed"
    message_ja = "この書類の手続きは終了しています。"
    message_en = "This envelope is closed."


class TooManyReminders(Conflict):
    code = "too_many_reminders"
    message_ja = "リマインドの送信回数が上限（{limit}回）に達しています。"
    message_en = "The reminder limit ({limit}) has been reached."


class DocumentNotUploaded(InvalidRequest):
    code = "document_not_uploaded"
    message_ja = "書類「{name}」がまだアップロードされていません。"
    message_en = 'The document "{name}" has not been uploaded yet.'


class InvalidCursor(InvalidRequest):
    """A ``cursor`` that is not one this search handed out (garbage, edited, another query's or
    another caller's)."""

    code = "invalid_cursor"
    message_ja = "ページの指定（cursor）が正しくありません。最初のページから検索し直してください。"
    message_en = "The page cursor is not valid. Please search again from the first page."


class DocumentIntegrityError(TachiaiError):
    """A stored file is not the one its envelope records (its SHA-256 differs): it is not served."""

    code = "document_integrity_failed"
    http_status = 500
    message_ja = (
        "保存されているファイル「{name}」は記録と一致しないため提供できません。管理者にご連絡ください。"
    )
    message_en = (
        'The stored file "{name}" does not match what this envelope records, so it is not served. '
        "Please contact an administrator."
    )


# --- mail -------------------------------------------------------------------------------------


class MailError(TachiaiError):
    """A mail could not be built or sent."""

    code = "mail_error"
    message_ja = "メールを作成または送信できませんでした。"
    message_en = "The email could not be prepared or sent."


class InvalidMailAddress(MailError):
    """An address that cannot be put in a mail header (malformed, or not 7-bit ASCII as SES requires)."""

    code = "invalid_mail_address"
    http_status = 400
    message_ja = "メールアドレスが正しくありません: {address}"
    message_en = "The email address is not valid: {address}"


class InvalidDisplayName(MailError):
    """A display name that a mail header cannot carry as the name of its one address: written and
    parsed back, it reads as another address, several, or none (quotes, angle brackets, backslashes,
    encoded-word look-alikes)."""

    code = "invalid_display_name"
    http_status = 400
    message_ja = "この名前はメールの宛名に使えません（{address}）。"
    message_en = "This name cannot be used as the name on an email ({address})."


class UnmailableParticipant(InvalidRequest):
    """A person given in a request whom no mail could ever reach as given: refused at the request
    (envelope creation, a forward) with the rule the mailer uses, so the envelope never fails at
    its first mail because of it."""

    code = "participant_not_mailable"
    message_ja = (
        '{participant} の {field} はメールの送信に使えません。名前の記号（" < > \\ など）や、'
        "メールアドレスの @ より前の全角文字・記号を見直してください。"
    )
    message_en = (
        "The {field} of {participant} cannot be used to send email. Check the name for symbols "
        '(" < > \\ ...) and the part of the address before the @ for non-ASCII characters.'
    )


class InvalidMailContent(MailError):
    """A value a mail template cannot use (a link that is not http(s), a time without a zone)."""

    code = "invalid_mail_content"
    message_ja = "メールの内容が正しくありません（{reason}）。"
    message_en = "The email content is invalid ({reason})."


class MailServiceError(MailError):
    """The mail service (SES) failed for a reason not known to be temporary."""

    code = "mail_service_error"
    http_status = 502
    message_ja = "メール送信サービスでエラーが発生しました。"
    message_en = "The mail service failed."


class MailServiceThrottled(MailServiceError):
    """SES is throttling, over its sending quota or briefly unavailable: retry later."""

    code = "mail_service_throttled"
    http_status = 503
    message_ja = "メール送信サービスが混み合っています。しばらくしてから再試行してください。"
    message_en = "The mail service is busy. Please retry shortly."


class MailRejected(MailServiceError):
    """SES refused this mail or this account (rejected content, paused or suspended sending,
    unverified sender): retrying will not help."""

    code = "mail_rejected"
    message_ja = "メール送信サービスが送信を受け付けませんでした。"
    message_en = "The mail service refused to send the email."


# --- metadata extraction ------------------------------------------------------------------------


class ExtractionError(TachiaiError):
    """Contract metadata could not be extracted by the configured engine."""

    code = "extraction_failed"
    http_status = 502
    message_ja = "契約書から契約情報を抽出できませんでした。"
    message_en = "The contract details could not be extracted from the document."


class ExtractionUnavailable(ExtractionError):
    """The extraction model is throttled, over quota, not ready or briefly down: retry later."""

    code = "extraction_unavailable"
    http_status = 503
    message_ja = "契約情報の抽出サービスが混み合っています。しばらくしてから再試行してください。"
    message_en = "The contract extraction service is busy. Please retry shortly."


class ExtractionRejected(ExtractionError):
    """The model service refused the request (no access to the model, unknown model id, invalid
    request): a setup problem that retrying cannot fix."""

    code = "extraction_rejected"
    message_ja = (
        "契約情報の抽出サービスが要求を受け付けませんでした。"
        "モデルへのアクセス権とモデルIDの設定を確認してください。"
    )
    message_en = (
        "The contract extraction service refused the request. Check the model access and the model id."
    )


class ExtractionOutputInvalid(ExtractionError):
    """The model answered, but not with metadata of the required form."""

    code = "extraction_output_invalid"
    message_ja = "契約情報の抽出結果が所定の形式ではありませんでした。"
    message_en = "The extraction model did not answer in the required form."
