"""A small HTTP client for tachiai's API, as a sender's integration or a recipient's browser uses it.

Used by ``tachiai demo`` and the integration tests, against the local runtime or a deployed stack: it
knows nothing but URLs and JSON.
"""

from __future__ import annotations

import base64
import hashlib
import io
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests
import urllib3

from tachiai.names import UPLOAD_CHECKSUM_FIELD

INLINE_LIMIT = 4 * 1024 * 1024
"""Files up to this size travel base64 in the API request; larger ones through a presigned upload."""


def upload_fields(upload: Mapping[str, Any], data: bytes) -> dict[str, Any]:
    """A presigned upload's form fields as the API gave them, plus the file's checksum the policy
    requires (:data:`tachiai.names.UPLOAD_CHECKSUM_FIELD`: the MD5, base64), which only the uploader can
    compute: the bucket keeps every file under Object Lock, which takes no upload without one."""
    checksum = base64.b64encode(hashlib.md5(data, usedforsecurity=False).digest()).decode()
    return {**upload["fields"], UPLOAD_CHECKSUM_FIELD: checksum}


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


class _ProgressReader(io.BytesIO):
    """A request body that reports each block as the HTTP client reads it to send."""

    def __init__(self, body: bytes, progress: Callable[[int], None]) -> None:
        super().__init__(body)
        self.progress = progress

    def read(self, size: int | None = -1) -> bytes:
        block = super().read(size)
        self.progress(len(block))
        return block


def _segment(value: str) -> str:
    """One path segment: an email's ``@`` and anything else escaped, never a ``/``."""
    from urllib.parse import quote

    return quote(value, safe="")


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

    # --- for the command line (tachiai send, envelopes, resend, download) --------------------------

    def create_raw(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /v1/envelopes`` with the request as given (documents inline or to upload, a template,
        automatic reminders): the draft, with ``uploads`` for the documents sent without content."""
        result: dict[str, Any] = _json(
            self.session.post(self._url("/v1/envelopes"), json=dict(request)), [201]
        )
        return result

    def upload_with_progress(
        self, upload: Mapping[str, Any], file_name: str, data: bytes, progress: Callable[[int], None]
    ) -> None:
        """:meth:`upload`, calling ``progress(bytes)`` as the body goes out (the terminal's progress bar)."""
        fields: list[tuple[str, Any]] = [
            *upload_fields(upload, data).items(),
            ("file", (file_name, data, "application/pdf")),
        ]
        body, content_type = urllib3.encode_multipart_formdata(fields)
        # Not this session: the storage must not see the API's Authorization header.
        answer = requests.post(
            upload["url"],
            data=_ProgressReader(body, progress),
            headers={"Content-Type": content_type, "Content-Length": str(len(body))},
            timeout=300,
        )
        if answer.status_code not in (200, 201, 204):
            raise ApiError(answer.status_code, answer.text)

    def envelopes_page(
        self, status: str | None, limit: int = 50, cursor: str | None = None
    ) -> dict[str, Any]:
        """One page of the caller's envelopes (grouped by status, newest change first within each):
        ``{"envelopes": [...], "cursor"}``."""
        params: dict[str, str | int] = {"limit": limit, **({"status": status} if status else {})}
        if cursor:
            params["cursor"] = cursor
        result: dict[str, Any] = _json(self.session.get(self._url("/v1/envelopes"), params=params), [200])
        return result

    def all_envelopes(self, status: str | None = None) -> Iterator[dict[str, Any]]:
        """Every envelope of the caller (with ``status``), following the cursors."""
        cursor: str | None = None
        while True:
            page = self.envelopes_page(status, 100, cursor)
            yield from page["envelopes"]
            cursor = page.get("cursor")
            if not cursor:
                return

    def resend(self, envelope_id: str, *, send: bool = False, **overrides: Any) -> dict[str, Any]:
        """Correct and resend: a new draft prefilled from an ended envelope (sent at once with ``send``)."""
        response = self.session.post(
            self._url(f"/v1/envelopes/{envelope_id}/resend"), json={**overrides, "send": send}
        )
        result: dict[str, Any] = _json(response, [201])
        return result

    def create_template(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /v1/templates`` with the request as given: the template, with ``uploads`` for the
        documents sent without content."""
        response = self.session.post(self._url("/v1/templates"), json=dict(request))
        result: dict[str, Any] = _json(response, [201])
        return result

    def reissue(self, envelope_id: str, participant_id: str) -> dict[str, Any]:
        """Unlock a participant's locked link and mail them a fresh one."""
        path = f"/v1/envelopes/{_segment(envelope_id)}/participants/{_segment(participant_id)}/reissue"
        result: dict[str, Any] = _json(self.session.post(self._url(path)), [202])
        return result

    def templates(self) -> list[dict[str, Any]]:
        """The templates the caller may use (their own and the team's)."""
        body = _json(self.session.get(self._url("/v1/templates")), [200])
        return list(body["templates"] if isinstance(body, dict) else body)

    def template(self, template_id: str) -> dict[str, Any]:
        """One template the caller may use: roles, message, settings, documents."""
        response = self.session.get(self._url(f"/v1/templates/{_segment(template_id)}"))
        result: dict[str, Any] = _json(response, [200])
        return result

    def delete_template(self, template_id: str) -> None:
        """Delete a template (a team template: administrators only)."""
        _json(self.session.delete(self._url(f"/v1/templates/{_segment(template_id)}")), [204])

    def edit_draft(self, envelope_id: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """``PATCH /v1/envelopes/{id}``: change a draft (each field given replaces the draft's)."""
        response = self.session.patch(self._url(f"/v1/envelopes/{_segment(envelope_id)}"), json=dict(changes))
        result: dict[str, Any] = _json(response, [200])
        return result

    def delete_draft(self, envelope_id: str) -> None:
        """``DELETE /v1/envelopes/{id}``: delete a draft (a sent envelope is cancelled instead)."""
        _json(self.session.delete(self._url(f"/v1/envelopes/{_segment(envelope_id)}")), [204])

    def fetch(self, url: str, progress: Any = None) -> bytes:
        """A presigned download (``downloads()[i]["url"]``), streamed; ``progress`` (a
        :class:`tachiai.cli_envelopes.Progress`) learns the size and each chunk."""
        # Not this session: the storage must not see the API's Authorization header.
        with requests.get(url, stream=True, timeout=300) as response:
            if response.status_code != 200:
                raise ApiError(response.status_code, response.text[:500])
            if progress is not None:
                progress.total = max(int(response.headers.get("Content-Length") or 0), 1)
            chunks = []
            for chunk in response.iter_content(64 * 1024):
                chunks.append(chunk)
                if progress is not None:
                    progress.advance(len(chunk))
            return b"".join(chunks)

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
        """Bring a contract signed elsewhere into the ledger (timestamped, its extraction started); the
        envelope, as the API answered it (``metadata_status`` ``extracting`` until the extraction ends).

        Up to :data:`INLINE_LIMIT` the PDF travels in the request; a larger one (a scan) goes to the
        presigned upload the API answers with, and the import is then completed.
        """
        request: dict[str, Any] = {"title": title, "file_name": file_name}
        if metadata:
            request["metadata"] = dict(metadata)
        if len(data) <= INLINE_LIMIT:
            request["content_base64"] = base64.b64encode(data).decode()
        # 201 or 202 (accepted: the metadata extraction runs on its own, metadata_status "extracting").
        created: dict[str, Any] = _json(self.session.post(self._url("/v1/imports"), json=request), [201, 202])
        upload = created.get("upload")
        if upload is None:
            return created
        self.upload(upload, file_name, data)
        completed: dict[str, Any] = _json(
            self.session.post(self._url(f"/v1/imports/{created['id']}/complete")), [200, 202]
        )
        return completed

    def upload(self, upload: Mapping[str, Any], file_name: str, data: bytes) -> None:
        """POST a file to a presigned upload (``{"url", "fields"}`` as the API gives it)."""
        # Not this session: the storage must not see the API's Authorization header.
        answer = requests.post(
            upload["url"],
            data=upload_fields(upload, data),
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

    # --- who am I, and the staff (administrators) ---------------------------------------------------

    def me(self) -> dict[str, Any]:
        """``GET /v1/me``: username, email, name, groups."""
        result: dict[str, Any] = _json(self.session.get(self._url("/v1/me")), [200])
        return result

    def users(self) -> list[dict[str, Any]]:
        """Every staff member (administrators only)."""
        return list(_json(self.session.get(self._url("/v1/users")), [200])["users"])

    def invite_user(self, email: str, name: str, role: str = "member") -> dict[str, Any]:
        """Invite a staff member (the directory mails a temporary password)."""
        body = {"email": email, "name": name, "role": role}
        result: dict[str, Any] = _json(self.session.post(self._url("/v1/users"), json=body), [201])
        return result

    def disable_user(self, user: str) -> dict[str, Any]:
        response = self.session.post(self._url(f"/v1/users/{_segment(user)}/disable"))
        result: dict[str, Any] = _json(response, [200])
        return result

    def enable_user(self, user: str) -> dict[str, Any]:
        response = self.session.post(self._url(f"/v1/users/{_segment(user)}/enable"))
        result: dict[str, Any] = _json(response, [200])
        return result

    def set_user_role(self, user: str, role: str) -> dict[str, Any]:
        response = self.session.put(self._url(f"/v1/users/{_segment(user)}/role"), json={"role": role})
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
