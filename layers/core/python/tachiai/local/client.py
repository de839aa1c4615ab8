"""A small HTTP client for tachiai's API, as a sender's integration or a recipient's browser uses it.

Used by ``tachiai demo`` and the integration tests, against the local runtime or a deployed stack: it
knows nothing but URLs and JSON.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

INLINE_LIMIT = 4 * 1024 * 1024
"""Files up to this size travel base64 in the API request; larger ones through a presigned upload."""


class ApiError(Exception):
    """A response other than the one expected; ``code`` is tachiai's error code when there is one."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body
        error = body.get("error", {}) if isinstance(body, dict) else {}
        self.code: str | None = error.get("code")
        super().__init__(f"HTTP {status}: {self.code or body}")


def _json(response: requests.Response, expected: Iterable[int]) -> Any:
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code not in expected:
        raise ApiError(response.status_code, body)
    return body


@dataclass(frozen=True)
class Party:
    name: str
    email: str
    organization: str | None = None
    language: str = "ja"
    access_code: str | None = None

    def request(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


class SenderClient:
    """The sender REST API with a bearer token (a Cognito ID token, or ``tachiai local token``)."""

    def __init__(self, base_url: str, token: str, session: requests.Session | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.session = session or requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"

    def _url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def create(
        self,
        title: str,
        parties: Sequence[Party],
        documents: Sequence[tuple[str, bytes]],
        *,
        message: str = "",
        language: str = "ja",
        link_validity_seconds: int | None = None,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "title": title,
            "message": message,
            "language": language,
            "participants": [p.request() for p in parties],
            "documents": [
                {"name": name, "content_base64": base64.b64encode(data).decode()} for name, data in documents
            ],
        }
        if link_validity_seconds is not None:
            request["link_validity_seconds"] = link_validity_seconds
        result: dict[str, Any] = _json(self.session.post(self._url("/v1/envelopes"), json=request), [201])
        return result

    def send(self, envelope_id: str) -> dict[str, Any]:
        result: dict[str, Any] = _json(
            self.session.post(self._url(f"/v1/envelopes/{envelope_id}/send")), [202]
        )
        return result

    def get(self, envelope_id: str) -> dict[str, Any]:
        result: dict[str, Any] = _json(self.session.get(self._url(f"/v1/envelopes/{envelope_id}")), [200])
        return result

    def list_envelopes(self, status: str | None = None) -> dict[str, Any]:
        params = {"status": status} if status else {}
        result: dict[str, Any] = _json(self.session.get(self._url("/v1/envelopes"), params=params), [200])
        return result

    def remind(self, envelope_id: str) -> dict[str, Any]:
        result: dict[str, Any] = _json(
            self.session.post(self._url(f"/v1/envelopes/{envelope_id}/remind")), [202]
        )
        return result

    def cancel(self, envelope_id: str, reason: str | None = None) -> dict[str, Any]:
        response = self.session.post(
            self._url(f"/v1/envelopes/{envelope_id}/cancel"), json={"reason": reason}
        )
        result: dict[str, Any] = _json(response, [200])
        return result

    def downloads(self, envelope_id: str) -> list[dict[str, Any]]:
        body = _json(self.session.get(self._url(f"/v1/envelopes/{envelope_id}/downloads")), [200])
        return list(body["downloads"])

    # --- the contract ledger ----------------------------------------------------------------------

    def search(
        self, conditions: Mapping[str, str | int | None], cursor: str | None = None, limit: int = 50
    ) -> dict[str, Any]:
        """One page of the ledger: ``{"contracts": [...], "cursor": ...}``.

        ``conditions``: ``date_from``, ``date_to``, ``counterparty``, ``amount_min``, ``amount_max``,
        ``title``, ``status`` (``None`` values are left out); none at all lists the whole ledger.
        """
        params: dict[str, str | int] = {k: v for k, v in conditions.items() if v is not None}
        params.update({"ledger": "true", "limit": limit})
        if cursor:
            params["cursor"] = cursor
        result: dict[str, Any] = _json(self.session.get(self._url("/v1/envelopes"), params=params), [200])
        return result

    def search_all(
        self, conditions: Mapping[str, str | int | None], page_size: int = 100
    ) -> Iterator[dict[str, Any]]:
        """Every contract matching ``conditions``, following the cursors."""
        cursor: str | None = None
        while True:
            page = self.search(conditions, cursor, page_size)
            yield from page["contracts"]
            cursor = page.get("cursor")
            if not cursor:
                return

    def import_contract(
        self, title: str, file_name: str, data: bytes, metadata: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """Bring a contract signed elsewhere into the ledger (timestamped, extracted); the envelope.

        Up to :data:`INLINE_LIMIT` the PDF travels in the request; a larger one (a scan) goes to the
        presigned upload the API answers with, and the import is then completed.
        """
        request: dict[str, Any] = {"title": title, "file_name": file_name}
        if metadata:
            request["metadata"] = dict(metadata)
        if len(data) <= INLINE_LIMIT:
            request["content_base64"] = base64.b64encode(data).decode()
        created: dict[str, Any] = _json(self.session.post(self._url("/v1/imports"), json=request), [201])
        upload = created.get("upload")
        if upload is None:
            return created
        self.upload(upload, file_name, data)
        completed: dict[str, Any] = _json(
            self.session.post(self._url(f"/v1/imports/{created['id']}/complete")), [200]
        )
        return completed

    def upload(self, upload: Mapping[str, Any], file_name: str, data: bytes) -> None:
        """POST a file to a presigned upload (``{"url", "fields"}`` as the API gives it)."""
        # Not this session: the storage must not see the API's Authorization header.
        answer = requests.post(
            upload["url"],
            data=upload["fields"],
            files={"file": (file_name, data, "application/pdf")},
            timeout=300,
        )
        if answer.status_code not in (200, 201, 204):
            raise ApiError(answer.status_code, answer.text)

    def correct_metadata(self, envelope_id: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """Correct ledger fields (each change is audited); the envelope."""
        response = self.session.patch(self._url(f"/v1/envelopes/{envelope_id}/metadata"), json=dict(values))
        result: dict[str, Any] = _json(response, [200])
        return result

    def wait_for(self, envelope_id: str, *statuses: str, timeout: float = 60.0) -> dict[str, Any]:
        """Poll until the envelope reaches one of ``statuses``.

        :raises TimeoutError: it did not, within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            envelope = self.get(envelope_id)
            if envelope["status"] in statuses:
                return envelope
            if time.monotonic() > deadline:
                raise TimeoutError(f"{envelope_id} is {envelope['status']} after {timeout}s, not {statuses}")
            time.sleep(0.05)


class Recipient:
    """What a recipient's browser does with the emailed link (JSON flavour of the same routes)."""

    def __init__(self, link: str, session: requests.Session | None = None) -> None:
        self.link = link.rstrip("/")
        self.session = session or requests.Session()

    def page(self, **params: str) -> requests.Response:
        return self.session.get(self.link, params=params)

    def _post(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = _json(self.session.post(f"{self.link}/{action}", json=body), [200])
        return result

    def open(self, access_code: str | None = None, accept_terms: bool = True) -> dict[str, Any]:
        body: dict[str, Any] = {"accept_terms": "yes" if accept_terms else "no"}
        if access_code is not None:
            body["access_code"] = access_code
        return self._post("open", body)

    def agree(self) -> dict[str, Any]:
        return self._post("agree", {})

    def reject(self, reason: str) -> dict[str, Any]:
        return self._post("reject", {"reason": reason})

    def forward(self, name: str, email: str, reason: str) -> dict[str, Any]:
        return self._post("forward", {"name": name, "email": email, "reason": reason})

    def document(self, document_id: str) -> bytes:
        return self._download(f"{self.link}/documents/{document_id}")

    def certificate(self) -> bytes:
        return self._download(f"{self.link}/certificate")

    def _download(self, url: str) -> bytes:
        response = self.session.get(url, allow_redirects=True)
        if response.status_code != 200 or not response.content.startswith(b"%PDF-"):
            raise ApiError(response.status_code, response.text[:500])
        return response.content
