"""Everything a tenant keeps, copied out over the API (FEATURES L5, "export all before leaving").

``tachiai export DIR`` writes, for every contract the caller can read (an administrator: the whole
ledger; a member: their own):

* ``ledger.csv`` — the ledger (UTF-8 with BOM, as ``tachiai search --format csv`` writes it);
* ``<envelope id>/envelope.json`` — the envelope with its hash-chained audit trail;
* ``<envelope id>/<file>`` — the current (sealed, timestamped) version of each document, the agreement
  certificate, and an import's RFC 3161 arrival token (``<name>.tsr``);
* ``manifest.json`` — every file with its SHA-256 and size.

Each document and certificate is checked against the hash the envelope records for it, twice: the
service refuses to hand out a file whose stored bytes differ (``document_integrity_failed``), and the
export checks what it downloaded. Such a file is reported and not written (a file that is not the one
signed must not pass for it in the archive); the export goes on with the others. Files already
exported with the right hash are not downloaded again: an interrupted export goes on where it stopped.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from tachiai.domain.text import single_line
from tachiai.ledger_listing import to_csv

if TYPE_CHECKING:
    from tachiai.local.client import SenderClient

INTEGRITY_FAILED = "document_integrity_failed"

MANIFEST = "manifest.json"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')


@dataclass
class ExportReport:
    directory: Path
    contracts: int = 0
    files: int = 0
    bytes: int = 0
    reused: int = 0
    """Files already there with the right hash (an export that went on after an interruption)."""
    missing: list[str] = field(default_factory=list)
    """Files the storage did not have (e.g. a draft whose document was never uploaded)."""
    mismatched: list[str] = field(default_factory=list)
    """Files whose hash is not the one the envelope records (not written, named here), or the
    envelope's folder with the service's reason when it refused to hand them out."""


def safe_file_name(name: str) -> str:
    """``name`` usable as one file name on any system (no separators, no control characters, and no
    bidi override that would show ``invoice\u202efdp.exe`` as ``invoiceexe.pdf``)."""
    cleaned = _UNSAFE.sub("_", single_line(name)).strip().lstrip(".")
    return cleaned or "document"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def export_ledger(client: SenderClient, directory: Path) -> ExportReport:
    """Copy every readable contract into ``directory`` (see the module docstring).

    :raises ApiError: the API refused (e.g. an expired token); what was written so far stays.
    :raises requests.RequestException: the API or the storage could not be reached.
    """
    from tachiai.local.client import ApiError

    directory.mkdir(parents=True, exist_ok=True)
    report = ExportReport(directory)
    previous = _previous_manifest(directory)
    contracts = list(client.search_all({}))
    (directory / "ledger.csv").write_text(to_csv(contracts), encoding="utf-8-sig", newline="")
    manifest: dict[str, Any] = {
        "exported_at": datetime.now(UTC).isoformat(),
        "api": client.base_url,
        "contracts": [],
    }
    for contract in contracts:
        envelope_id = contract["envelope_id"]
        folder = directory / safe_file_name(envelope_id)
        folder.mkdir(exist_ok=True)
        envelope = client.get(envelope_id)
        (folder / "envelope.json").write_text(
            json.dumps(envelope, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        entry: dict[str, Any] = {"envelope_id": envelope_id, "title": contract["title"], "files": []}
        used: set[str] = {"envelope.json"}
        try:
            downloads = client.downloads(envelope_id)
        except ApiError as e:
            if e.code != INTEGRITY_FAILED:
                raise
            message = e.body["error"]["message"]["en"] if isinstance(e.body, dict) else INTEGRITY_FAILED
            report.mismatched.append(f"{folder.name}/ ({message})")
            manifest["contracts"].append(entry)
            report.contracts += 1
            continue
        for download in downloads:
            name = safe_file_name(download["name"])
            while name in used:  # two documents of one envelope with the same name
                name = f"_{name}"
            used.add(name)
            target = folder / name
            relative = f"{folder.name}/{name}"
            expected = download.get("sha256")
            exported = previous.get(relative)
            # Reused only when the envelope still records what was exported (a later seal makes a new file).
            data = _reuse(target, exported) if not expected or exported == expected else None
            if data is not None:
                report.reused += 1
            else:
                response = requests.get(download["url"], timeout=300)
                if response.status_code in (403, 404):
                    report.missing.append(relative)
                    continue
                response.raise_for_status()
                data = response.content
                if expected and _sha256(data) != expected:
                    report.mismatched.append(relative)  # not written: it is not the file signed
                    continue
                target.write_bytes(data)
            digest = _sha256(data)
            entry["files"].append({"name": name, "sha256": digest, "size": len(data)})
            report.files += 1
            report.bytes += len(data)
        manifest["contracts"].append(entry)
        report.contracts += 1
    (directory / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    return report


def _previous_manifest(directory: Path) -> dict[str, str]:
    """``envelope/file`` → SHA-256 from an earlier export into the same directory."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {
        f"{safe_file_name(c['envelope_id'])}/{f['name']}": f["sha256"]
        for c in manifest.get("contracts", [])
        for f in c.get("files", [])
    }


def _reuse(target: Path, sha256: str | None) -> bytes | None:
    """The file already exported, if it is there with the hash the last export recorded."""
    if sha256 is None or not target.is_file():
        return None
    data = target.read_bytes()
    return data if _sha256(data) == sha256 else None
