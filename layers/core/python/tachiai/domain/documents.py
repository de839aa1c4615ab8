"""Where each file of an envelope or a template is stored: the document key layout.

Layout, per envelope::

    envelopes/<envelope id>/documents/<document id>/original.pdf      as uploaded
    envelopes/<envelope id>/documents/<document id>/sealed-<n>.pdf     after the n-th seal
    envelopes/<envelope id>/documents/<document id>/final.pdf          with the document timestamp
    envelopes/<envelope id>/certificate.pdf                           the sealed certificate
    envelopes/<envelope id>/uploads/<document id>/<random>.pdf        where a presigned upload lands

Every version is its own key (never overwritten), so the hash chain of seals can be checked and the
bucket's Object Lock can keep each one immutable. The use cases name files by these keys; the document
store (:mod:`tachiai.adapters.s3`) keeps them in S3, the fakes of the tests in memory.
"""

from __future__ import annotations

from tachiai.domain.envelope import Document


def original_key(envelope_id: str, document_id: str) -> str:
    return f"envelopes/{envelope_id}/documents/{document_id}/original.pdf"


def sealed_key(envelope_id: str, document_id: str, seals: int) -> str:
    return f"envelopes/{envelope_id}/documents/{document_id}/sealed-{seals}.pdf"


def final_key(envelope_id: str, document_id: str) -> str:
    return f"envelopes/{envelope_id}/documents/{document_id}/final.pdf"


def current_key(envelope_id: str, document: Document) -> str:
    """Where the latest version of ``document`` is: finished, last sealed, or as uploaded."""
    if document.finalized:
        return final_key(envelope_id, document.id)
    if document.seals:
        return sealed_key(envelope_id, document.id, document.seals)
    return original_key(envelope_id, document.id)


def timestamp_key(envelope_id: str, document_id: str) -> str:
    """The RFC 3161 token (DER) taken over an imported document's bytes when it arrived."""
    return f"envelopes/{envelope_id}/documents/{document_id}/original.tsr"


def certificate_key(envelope_id: str) -> str:
    return f"envelopes/{envelope_id}/certificate.pdf"


def upload_key(envelope_id: str, document_id: str, nonce: str) -> str:
    """Where one presigned upload of a document lands (``nonce``: fresh and random for each URL)."""
    return f"envelopes/{envelope_id}/uploads/{document_id}/{nonce}.pdf"


def template_document_key(template_id: str, document_id: str) -> str:
    """A template's PDF (:mod:`tachiai.domain.templates`), kept once under the template and copied to
    each envelope created from it. Under ``envelopes/`` like every object tachiai stores (the functions'
    grants are scoped to that prefix); a replaced document gets a new id, so a key is never rewritten."""
    return f"envelopes/templates/{template_id}/documents/{document_id}/original.pdf"


def template_upload_key(template_id: str, document_id: str, nonce: str) -> str:
    """Where one presigned upload of a template's document lands (``nonce``: fresh for each URL)."""
    return f"envelopes/templates/{template_id}/uploads/{document_id}/{nonce}.pdf"
