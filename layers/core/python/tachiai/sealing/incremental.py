"""How tachiai writes a seal into a PDF: the PDF side of sealing, shared by the sealer and preflight.

* **Fields of its own.** Every seal and document timestamp goes into a NEW signature field whose name
  no field of the document has (:func:`free_field_name`: ``TachiaiSeal1``, ``TachiaiSeal2``, ... with
  taken numbers skipped). An upload may carry an empty signature field named ``TachiaiSeal1`` with a
  lock dictionary, a seed value dictionary or a visible widget; pyHanko would sign INTO such a field
  (and apply its lock and seed values), so the uploader would choose where the stamp appears and what it
  locks. After sealing, :func:`signed_field_is_new` confirms the signed field object was created by
  this very update.
* **Metadata untouched.** pyHanko's writer appends itself to ``/Info /Producer``, sets ``/ModDate``
  and rewrites the XMP packet with a different Producer, so a PDF/A file ends up with Info and XMP
  that disagree. :class:`MetadataKeepingWriter` leaves both exactly as uploaded; the validation data
  (DSS) is written in the signature's own revision (:data:`SEAL_DSS`, :data:`TIMESTAMP_DSS`), so no
  revision is ever written by a pyHanko writer of its own.
* **The completion lock.** The seal that completes a document (:func:`completion_reason`) locks every
  form field (FieldMDP ``/All``) and the document (``/Lock /P 1``, DocMDP "no changes"): filling a
  field or adding an annotation afterwards makes validators report the seal as broken, while the DSS
  and document timestamps of PAdES B-LTA remain allowed.
* **The rehearsal.** :func:`rehearse_seal` runs this same path with a throwaway certificate and no
  network, so preflight can promise that what it accepts can be sealed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
from io import BytesIO

from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.fields import FieldMDPAction, FieldMDPSpec, MDPPerm, SigFieldSpec
from pyhanko.sign.signers.pdf_signer import (
    DSSContentSettings,
    SigDSSPlacementPreference,
    TimestampDSSContentSettings,
)
from pyhanko_certvalidator.registry import SimpleCertificateStore

from tachiai import i18n

__all__ = [
    "DOCUMENT_TIMESTAMP_FIELD",
    "SEAL_DSS",
    "SEAL_FIELD_PREFIX",
    "TIMESTAMP_DSS",
    "MetadataKeepingWriter",
    "completion_reason",
    "free_field_name",
    "rehearse_seal",
    "seal_field_spec",
    "signed_field_is_new",
    "writer_for",
]

SEAL_FIELD_PREFIX = "TachiaiSeal"
"""Seals are named ``TachiaiSeal<n>``; validators identify tachiai's seals by certificate, not name."""
DOCUMENT_TIMESTAMP_FIELD = "TachiaiDocumentTimestamp"


def completion_reason() -> str:
    """Reason of the seal that locks a completed document (shown by validators beside the lock): the
    catalog's ``seal.reason.completed`` in Japanese and English, as on the agreement certificate."""
    return " / ".join(i18n.text("seal.reason.completed", language) for language in ("ja", "en"))


MAX_FIELD_NODES = 10_000
"""Form-field nodes read at most when looking for taken names (the same bound as preflight's)."""

SEAL_DSS = DSSContentSettings(
    placement=SigDSSPlacementPreference.TOGETHER_WITH_SIGNATURE,
    # VRI entries need the signature value, which does not exist yet in the signature's own revision;
    # PAdES does not need them (validators look certificates up in the DSS by content).
    include_vri=False,
)
"""Validation data of a seal (its chain, the TSA's chain, OCSP/CRL) in the seal's own revision."""
TIMESTAMP_DSS = TimestampDSSContentSettings(update_before_ts=True, include_vri=False)
"""Validation data of a document timestamp in the timestamp's own revision."""

_THROWAWAY_CMS_BYTES = 8192
"""Room reserved for the signature in a rehearsal (never filled: nothing is signed)."""


class MetadataKeepingWriter(IncrementalPdfFileWriter):
    """An incremental writer that leaves ``/Info`` and the XMP metadata exactly as they are.

    pyHanko's writer updates both on every write (``/Producer`` gains "; pyHanko", ``/ModDate`` and
    ``xmp:ModifyDate`` become now, the XMP Producer becomes "pyHanko" alone), which breaks the Info/XMP
    agreement PDF/A requires. A seal changes nothing the metadata describes: the document, its title
    and its author stay what they were, and the time of each seal is in the seal itself.

    Overrides ``_update_meta``, pyHanko's one hook for this (pinned to pyHanko 0.38; the tests of
    sealing a PDF/A file fail if a new version moves it).
    """

    def _update_meta(self) -> None:
        return


def writer_for(pdf: bytes, reader: PdfFileReader | None = None) -> IncrementalPdfFileWriter:
    """The writer every seal and timestamp appends with (strict reading, metadata untouched)."""
    return MetadataKeepingWriter(BytesIO(pdf), prev=reader, strict=True)


def free_field_name(reader: PdfFileReader, base: str, *, numbered: bool) -> str:
    """The first of ``base1, base2, ...`` (or ``base, base2, ...`` when not ``numbered``) that no
    form field of the document is called.

    Every ``/T`` anywhere in the field tree counts (not only top-level names), whatever its field
    type: a name is never shared with a field tachiai did not create. Malformed entries (a ``/Fields``
    that is not an array, ``/Kids`` that is a dictionary, ...) are skipped, cycles followed once.

    :raises PdfReadError: an object the walk needs cannot be read (strict reader).
    """
    taken = _field_names(reader)
    number = 1
    while True:
        name = f"{base}{number}" if numbered or number > 1 else base
        if name not in taken:
            return name
        number += 1


def _field_names(reader: PdfFileReader) -> set[str]:
    acroform = _entry(reader.root, "/AcroForm")
    if not isinstance(acroform, generic.DictionaryObject):
        return set()
    top = _entry(acroform, "/Fields")
    if not isinstance(top, generic.ArrayObject):
        return set()
    names: set[str] = set()
    seen: set[generic.Reference] = set()
    stack = list(top)
    visited = 0
    while stack and visited < MAX_FIELD_NODES:
        entry = stack.pop()
        visited += 1
        if isinstance(entry, generic.IndirectObject):
            if entry.reference in seen:
                continue
            seen.add(entry.reference)
            entry = entry.get_object()
        if not isinstance(entry, generic.DictionaryObject):
            continue
        title = _entry(entry, "/T")
        if isinstance(title, generic.TextStringObject):
            names.add(str(title))
        elif isinstance(title, generic.ByteStringObject):
            names.add(bytes(title).decode("latin-1"))
        kids = _entry(entry, "/Kids")
        if isinstance(kids, generic.ArrayObject):
            stack.extend(kids)
    return names


def _entry(dictionary: generic.DictionaryObject, key: str) -> object:
    # DictionaryObject.get is dict.get: it returns indirect references unresolved
    value = dictionary.get(key)
    return value.get_object() if isinstance(value, generic.IndirectObject) else value


def seal_field_spec(name: str, *, lock: bool) -> SigFieldSpec:
    """The new, invisible field a seal goes into; with ``lock``, the completion lock (see module doc)."""
    if not lock:
        return SigFieldSpec(name)
    return SigFieldSpec(
        name,
        field_mdp_spec=FieldMDPSpec(FieldMDPAction.ALL),
        doc_mdp_update_value=MDPPerm.NO_CHANGES,
    )


def signed_field_is_new(reader: PdfFileReader, field_name: str, revisions_before: int) -> bool:
    """Whether exactly one filled signature field is called ``field_name`` and its field object was
    created after the first ``revisions_before`` revisions (that is, by the update just written)."""
    found = [
        field_ref
        for name, value, field_ref in fields.enumerate_sig_fields(reader, filled_status=True)
        if name == field_name and value is not None
    ]
    if len(found) != 1:
        return False
    reference = found[0].reference
    return bool(reader.xrefs.get_introducing_revision(reference) >= revisions_before)


def rehearse_seal(pdf: bytes, reader: PdfFileReader | None = None) -> None:
    """Run the PDF side of sealing on ``pdf`` without signing anything: read it strictly (or use
    ``reader``, a strict reader of ``pdf``), pick the field name, create the field and its widget,
    apply the completion lock (a superset of what an ordinary seal does), write the incremental
    update and hash it.

    Uses a throwaway certificate, no TSA and no network: the cost of one strict read of the
    structure signing touches plus one hash of the file. Whatever pyHanko raises on a file it cannot
    seal is raised as is (preflight classifies it).
    """
    reader = reader or PdfFileReader(BytesIO(pdf), strict=True)
    name = free_field_name(reader, SEAL_FIELD_PREFIX, numbered=True)
    metadata = signers.PdfSignatureMetadata(
        field_name=name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        docmdp_permissions=MDPPerm.NO_CHANGES,  # as the completion seal asks (its /Lock says /P 1)
    )
    signer = signers.PdfSigner(
        metadata, signer=_throwaway_signer(), new_field_spec=seal_field_spec(name, lock=True)
    )
    writer = writer_for(pdf, reader)
    asyncio.run(
        signer.async_digest_doc_for_signing(writer, bytes_reserved=_THROWAWAY_CMS_BYTES, output=BytesIO())
    )


@functools.cache
def _throwaway_signer() -> signers.ExternalSigner:
    # pyHanko wants a certificate to name the signer; no signature is ever made with it, so a fixed,
    # self-describing certificate without a real key is enough (built once per process).
    name = asn1_x509.Name.build({"common_name": "tachiai preflight rehearsal (never signs)"})
    public_key = asn1_keys.PublicKeyInfo(
        {
            "algorithm": {"algorithm": "ec", "parameters": ("named", "secp256r1")},
            "public_key": b"\x04" + bytes(range(1, 65)),
        }
    )
    now = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    tbs = asn1_x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": 1,
            "signature": {"algorithm": "sha256_ecdsa"},
            "issuer": name,
            "validity": {
                "not_before": asn1_x509.Time({"utc_time": now}),
                "not_after": asn1_x509.Time({"utc_time": now.replace(year=2049)}),
            },
            "subject": name,
            "subject_public_key_info": public_key,
        }
    )
    certificate = asn1_x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": "sha256_ecdsa"},
            "signature_value": b"\x00",
        }
    )
    return signers.ExternalSigner(
        signing_cert=certificate,
        cert_registry=SimpleCertificateStore.from_certs([certificate]),
        signature_value=bytes(64),
    )
