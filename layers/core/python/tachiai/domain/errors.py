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
        """The human message in ``language`` ("ja" or "en")."""
        template = self.message_ja if language == "ja" else self.message_en
        try:
            return template.format(**self.params)
        except (KeyError, IndexError, ValueError):
            return template

    def to_dict(self) -> dict[str, Any]:
        """The JSON form used by the API and the CLI."""
        return {
            "code": self.code,
            "message": {"ja": self.message("ja"), "en": self.message("en")},
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
