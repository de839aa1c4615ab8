"""Preflight: one typed error per kind of unusable upload, normalization of sloppy-but-complete files,
and nothing else ever escaping."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import subprocess
import zlib

import pikepdf
import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import signers
from pyhanko.sign.general import SigningError
from tachiai.domain.errors import (
    ActiveContent,
    DamagedPdf,
    DocumentTooLarge,
    EmptyDocument,
    EncryptedPdf,
    ExistingSignatureInvalid,
    NotPdf,
    SignedPdfModified,
    SigningForbidden,
    TachiaiError,
)
from tachiai.i18n import text
from tachiai.sealing.preflight import DEFAULT_MAX_BYTES, PreparedDocument, preflight

from tests.conftest import require_tool
from tests.fixtures.odd_pdfs import (
    hybrid_pdf,
    make_throwaway_identity,
    minimal_pdf,
    odd_pdf,
    save,
    text_document,
)


def refused(name: str, error: type[TachiaiError], **kwargs: int) -> TachiaiError:
    """Preflight the corpus file ``name``; assert it raises exactly ``error`` with usable messages."""
    with pytest.raises(TachiaiError) as caught:
        preflight(odd_pdf(name).data, **kwargs)
    e = caught.value
    assert type(e) is error, f"{name}: {e!r}"
    assert e.code == error.code
    ja, en = e.message("ja"), e.message("en")
    assert ja and en and ja != en
    assert "{" not in ja + en, "every message parameter is filled in"
    return e


def accepted(name: str) -> PreparedDocument:
    return preflight(odd_pdf(name).data)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --- one test per error -----------------------------------------------------------------------------


def test_refuses_an_empty_file():
    refused("empty", EmptyDocument)


def test_refuses_a_file_of_only_whitespace_as_empty():
    refused("whitespace_only", EmptyDocument)


def test_refuses_a_file_over_the_size_limit_before_parsing_it():
    e = refused("over_small_size_limit", DocumentTooLarge, max_bytes=500)
    assert e.params == {"size_mb": "0.00056", "limit_mb": "0.00048"}


def test_size_limit_message_never_shows_an_oversized_file_as_equal_to_the_limit():
    with pytest.raises(DocumentTooLarge) as caught:
        preflight(b"%PDF-1.7\n" + b"\0" * DEFAULT_MAX_BYTES)  # over by 9 bytes; not a valid PDF either
    assert caught.value.params == {"size_mb": "50.1", "limit_mb": "50"}
    assert "50.1 MB" in caught.value.message("ja") and "50 MB" in caught.value.message("en")


def test_a_file_exactly_at_the_size_limit_is_accepted():
    data = minimal_pdf()
    assert preflight(data, max_bytes=len(data)).pdf == data


@pytest.mark.parametrize(
    "name", ["png_image", "docx_zip", "html_page", "plain_text", "pdf_header_after_1024_bytes"]
)
def test_refuses_files_that_are_not_pdf(name):
    refused(name, NotPdf)


def test_refuses_a_docx_even_when_it_contains_a_pdf_header_in_its_first_kilobyte():
    data = odd_pdf("docx_zip").data
    assert b"%PDF-" in data[:1024]
    refused("docx_zip", NotPdf)


def test_refuses_a_pdf_with_a_garbage_object_as_damaged():
    e = refused("garbage_object", DamagedPdf)
    assert "object 5 0" in e.detail


def test_refuses_a_truncated_pdf_whose_trailer_is_lost_as_damaged():
    refused("truncated_before_xref", DamagedPdf)


def test_refuses_a_pdf_truncated_in_a_content_stream_as_damaged():
    refused("truncated_mid_stream", DamagedPdf)


def test_refuses_a_pdf_without_pages_as_damaged():
    e = refused("zero_pages", DamagedPdf)
    assert "no pages" in e.detail


def test_a_page_tree_loop_is_dropped_and_the_file_normalized():
    # Given a page tree whose /Kids lists the tree itself (qpdf: "Loop detected in /Pages")
    prepared = accepted("page_tree_cycle")
    # Then the back edge is gone, the one real page stays, and /Count says so
    assert prepared.normalized and prepared.pages == 1
    with pikepdf.open(io.BytesIO(prepared.pdf)) as pdf:
        assert len(pdf.pages) == 1 and pdf.Root.Pages.Count == 1
        assert b"Contract" in pdf.pages[0].Contents.read_bytes()
    assert PdfFileReader(io.BytesIO(prepared.pdf), strict=True).root["/Pages"]["/Count"] == 1


def test_a_loop_back_to_the_root_deeper_in_the_tree_keeps_every_page_and_what_it_inherits():
    prepared = accepted("page_tree_grandchild_points_back_to_the_root")
    assert prepared.normalized and prepared.pages == 2
    with pikepdf.open(io.BytesIO(prepared.pdf)) as pdf:
        inner = pdf.Root.Pages.Kids[0]
        assert len(inner.Kids) == 2 and inner.Count == 2 and pdf.Root.Pages.Count == 2
        # the pages still inherit their size and font from the inner node (nothing flattened away)
        assert [list(page.MediaBox) for page in pdf.pages] == [[0, 0, 595, 842]] * 2
        assert all("/F1" in page.Resources.Font for page in pdf.pages)


def test_a_page_tree_loop_in_a_signed_pdf_is_refused_since_repairing_it_breaks_the_signature():
    signed = _sign_with_throwaway_key(odd_pdf("page_tree_cycle").data, strict=False)
    with pytest.raises(SigningForbidden) as caught:
        preflight(signed)
    assert "page-tree loop" in caught.value.detail


@pytest.mark.parametrize(
    "name", ["object_stream_extends_chain", "object_stream_length_in_another_object_stream"]
)
def test_object_streams_that_depend_on_other_object_streams_are_sealed_as_uploaded(name):
    prepared = accepted(name)
    assert not prepared.normalized and prepared.pdf == odd_pdf(name).data


def test_an_object_stream_whose_length_is_inside_itself_is_refused_as_damaged():
    refused("object_stream_length_inside_itself", DamagedPdf)


def test_refuses_deeply_nested_arrays_without_a_recursion_error():
    refused("deeply_nested_arrays", DamagedPdf)


def test_refuses_encrypted_pdf_with_user_password():
    e = refused("encrypted_user_password_aes256", EncryptedPdf)
    assert "password" in e.detail


def test_refuses_encrypted_pdf_with_owner_password_only():
    refused("encrypted_owner_only_aes128", EncryptedPdf)


@pytest.mark.parametrize(
    "name", ["encrypted_user_password_rc4_128", "encrypted_owner_only_rc4_40", "encrypted_owner_only_aes256"]
)
def test_refuses_every_kind_of_standard_encryption(name):
    refused(name, EncryptedPdf)


def test_refuses_certificate_encryption_that_qpdf_cannot_open_as_encrypted_not_damaged():
    refused("encrypted_public_key_pubsec", EncryptedPdf)


def test_refuses_a_pdf_certified_with_no_changes_allowed():
    e = refused("certified_no_changes_p1", SigningForbidden)
    assert e.params["reason"] == "error.pdf_signing_forbidden.certified"
    assert "a certification signature forbids any change" in e.message("en")
    assert "作成者の証明署名により変更が一切禁止されています" in e.message("ja")


def test_refuses_a_pdf_with_usage_rights():
    e = refused("usage_rights_ur3", SigningForbidden)
    assert "usage-rights" in e.message("en")


def test_refuses_a_pdf_whose_signature_locks_the_whole_document():
    e = refused("signed_field_lock_all_p1", SigningForbidden)
    assert "locks the whole document" in e.message("en")


def test_refuses_a_pdf_whose_signature_locks_all_form_fields():
    e = refused("signed_field_lock_all_fields", SigningForbidden)
    assert "locks all form fields" in e.message("en")


def test_refuses_a_signed_pdf_that_would_need_normalization():
    e = refused("signed_hybrid_reference", SigningForbidden)
    assert "invalidate its existing signatures" in e.message("en")
    assert "hybrid" in e.detail


@pytest.mark.parametrize("name", ["certified_form_filling_p2", "certified_annotations_p3"])
def test_accepts_a_pdf_certified_to_allow_signing(name):
    prepared = accepted(name)
    assert not prepared.normalized and prepared.pdf == odd_pdf(name).data


# --- normalization ----------------------------------------------------------------------------------


def test_a_clean_pdf_is_not_normalized():
    data = odd_pdf("fpdf2_word_processor_text").data
    prepared = preflight(data)
    assert prepared.pdf is data
    assert not prepared.normalized and prepared.normalized_sha256 is None
    assert prepared.original_sha256 == prepared.sha256 == sha256(data)
    assert prepared.size == len(data) and prepared.pages == 5


def test_an_already_signed_pdf_is_accepted_without_rewriting_it():
    data = odd_pdf("already_signed_twice").data
    prepared = preflight(data)
    assert prepared.pdf is data and not prepared.normalized


def test_a_hybrid_reference_file_is_accepted_after_normalization():
    data = odd_pdf("hybrid_reference_word").data
    assert PdfFileReader(io.BytesIO(data), strict=True).xrefs.hybrid_xrefs_present

    prepared = preflight(data)

    assert prepared.normalized
    assert prepared.original_sha256 == sha256(data)
    assert prepared.normalized_sha256 == sha256(prepared.pdf) != prepared.original_sha256
    assert prepared.size == len(data) and prepared.pages == 1
    reader = PdfFileReader(io.BytesIO(prepared.pdf), strict=True)
    assert not reader.xrefs.hybrid_xrefs_present
    font = reader.root["/Pages"]["/Kids"][0]["/Resources"]["/Font"]["/F1"]
    assert font["/BaseFont"] == "/Helvetica", "the object from the object stream survived"


def test_pyhanko_refuses_to_sign_the_hybrid_file_as_uploaded_which_is_why_it_is_normalized():
    identity = make_throwaway_identity("hybrid check (throwaway)")

    def sign(pdf: bytes) -> bytes:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=True)
        meta = signers.PdfSignatureMetadata(field_name="Seal")
        return bytes(signers.PdfSigner(meta, signer=identity.signer).sign_pdf(writer).getvalue())

    data = odd_pdf("hybrid_reference_word").data
    with pytest.raises(SigningError, match="hybrid"):
        sign(data)
    assert sign(preflight(data).pdf).startswith(b"%PDF-")


@pytest.mark.tools
def test_normalized_output_passes_qpdf_check(tmp_path):
    qpdf = require_tool("qpdf", "qpdf")
    for name in (
        "hybrid_reference_word",
        "bad_xref_offsets",
        "wrong_stream_length",
        "leading_garbage_before_header",
    ):
        prepared = accepted(name)
        assert prepared.normalized, name
        path = tmp_path / f"{name}.pdf"
        path.write_bytes(prepared.pdf)
        result = subprocess.run([qpdf, "--check", str(path)], capture_output=True, check=False, timeout=60)
        assert result.returncode == 0, f"{name}: {result.stdout.decode()} {result.stderr.decode()}"
        assert b"No syntax or stream encoding errors found" in result.stdout


def test_refuses_a_hybrid_file_that_pdf_readers_read_differently():
    e = refused("hybrid_xrefstm_in_main_section", DamagedPdf)
    assert "7 0 R" in e.detail


def test_readers_are_compared_on_a_hybrid_file_even_when_it_needs_repair_for_other_reasons():
    data = hybrid_pdf(xrefstm_in_update_section=False) + b"\r\n--mime-boundary--\r\n" * 4
    with pytest.raises(DamagedPdf) as caught:
        preflight(data)
    assert "7 0 R" in caught.value.detail


def test_normalization_is_deterministic():
    data = odd_pdf("hybrid_reference_word").data
    first = preflight(data)
    second = preflight(bytes(bytearray(data)))
    assert first.pdf == second.pdf and first.normalized_sha256 == second.normalized_sha256


def test_a_normalized_file_needs_no_further_normalization():
    prepared = accepted("bad_xref_offsets")
    again = preflight(prepared.pdf)
    assert not again.normalized and again.pdf == prepared.pdf


@pytest.mark.parametrize(
    "name",
    [
        "trailing_garbage_after_eof",
        "leading_garbage_before_header",
        "missing_eof_marker",
        "wrong_stream_length",
        "one_wrong_object_offset",
        "wrong_startxref",
        "truncated_after_trailer",
        "page_count_mismatch",
    ],
)
def test_sloppy_but_complete_files_are_normalized(name):
    prepared = accepted(name)
    assert prepared.normalized
    assert prepared.pdf.startswith(b"%PDF-") and prepared.pdf.rstrip().endswith(b"%%EOF")
    assert prepared.pages == 1


def test_clean_pdfs_of_every_version_are_sealed_as_uploaded():
    for name in (
        "header_pdf_1_3",
        "header_pdf_1_4",
        "header_pdf_1_7",
        "header_pdf_2_0",
        "skia_object_streams",
    ):
        assert not accepted(name).normalized, name


# --- pages, speed -----------------------------------------------------------------------------------


def test_counts_3000_pages_without_rendering():
    prepared = accepted("many_pages_3000")
    assert prepared.pages == 3000 and not prepared.normalized


def test_a_10_mb_clean_pdf_is_accepted_as_uploaded():
    # (its preflight time is measured by `make bench`, never asserted here: this machine's timings are noisy)
    pdf = text_document(3)
    pdf.Root.Padding = pdf.make_stream(bytes(range(256)) * (10 * 4096))  # 10 MiB, stored uncompressed
    data = save(pdf, compress_streams=False)
    assert len(data) > 10 * 1024 * 1024
    prepared = preflight(data)
    assert not prepared.normalized and prepared.pages == 3 and prepared.pdf == data


# --- nothing but TachiaiError escapes ---------------------------------------------------------------


@pytest.mark.parametrize(
    "raised",
    [
        KeyError("/Root"),
        RecursionError("maximum recursion depth exceeded"),
        AssertionError(),
        NotImplementedError("LZW"),
        IndexError("list index out of range"),
        TypeError("unsupported operand"),
        ValueError("bad"),
        zlib.error("incorrect header check"),
        struct.error("unpack requires a buffer"),
        MemoryError(),
        pikepdf.PdfError("qpdf exploded"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_a_library_exception_becomes_damaged_pdf(monkeypatch, raised):
    def explode(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr(pikepdf, "open", explode)
    with pytest.raises(DamagedPdf) as caught:
        preflight(minimal_pdf())
    assert caught.value.__cause__ is raised


@pytest.mark.parametrize(
    "raised", [KeyError("/Size"), RecursionError(), AssertionError()], ids=lambda e: type(e).__name__
)
def test_a_strict_parser_failure_on_the_rewrite_too_becomes_damaged_pdf(monkeypatch, raised):
    import tachiai.sealing.preflight as module

    def explode(*args: object, **kwargs: object) -> None:
        raise raised

    monkeypatch.setattr(module, "PdfFileReader", explode)
    with pytest.raises(DamagedPdf) as caught:
        preflight(minimal_pdf())
    assert type(raised).__name__ in caught.value.detail


def test_keyboard_interrupt_is_not_swallowed(monkeypatch):
    def interrupt(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(pikepdf, "open", interrupt)
    with pytest.raises(KeyboardInterrupt):
        preflight(minimal_pdf())


# --- the result ---------------------------------------------------------------------------------------


def test_summary_is_json_without_the_bytes():
    prepared = accepted("hybrid_reference_word")
    summary = prepared.to_dict()
    assert json.loads(json.dumps(summary)) == {
        "size": prepared.size,
        "pages": 1,
        "original_sha256": prepared.original_sha256,
        "normalized_sha256": prepared.normalized_sha256,
        "normalized": True,
    }


# --- active content ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "found_en"),
    [
        ("javascript_open_action", "JavaScript"),
        ("javascript_behind_a_uri_link_next_chain", "JavaScript"),
        ("javascript_page_open_action", "JavaScript"),
        ("javascript_form_field_keystroke", "JavaScript"),
        ("launch_action_in_a_bookmark", "a Launch action that starts a program"),
        ("embedded_executable_by_name", "an embedded executable file"),
        ("embedded_executable_by_magic_number", "an embedded executable file"),
        ("embedded_elf_in_a_file_attachment_annotation", "an embedded executable file"),
    ],
)
def test_refuses_active_content_wherever_it_hides_and_names_it(name, found_en):
    e = refused(name, ActiveContent)
    assert found_en in e.message("en")
    assert all(text(found, "ja") in e.message("ja") for found in e.params["found"])


@pytest.mark.parametrize(
    "name", ["ordinary_attachments_pdf_and_xlsx", "uri_and_goto_links", "attachment_and_outline"]
)
def test_ordinary_attachments_and_links_are_not_active_content(name):
    assert accepted(name).pages >= 1


def test_an_endless_action_chain_is_walked_once():
    # Given a link whose /Next points back at itself
    pdf = text_document(1)
    action = pdf.make_indirect(
        pikepdf.Dictionary(S=pikepdf.Name.URI, URI=pikepdf.String("https://a.example/"))
    )
    action.Next = action
    link = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Link, Rect=[0, 0, 9, 9], A=action)
    )
    pdf.pages[0].obj.Annots = pikepdf.Array([link])
    # Then preflight ends, and a plain link is no active content
    assert not preflight(save(pdf)).normalized


def test_too_many_actions_to_inspect_count_as_active_content(monkeypatch):
    from tachiai.sealing import active_content

    monkeypatch.setattr(active_content, "MAX_NODES", 3)
    e = refused("uri_and_goto_links", ActiveContent)
    assert "too_complex_to_inspect" in e.detail


# --- what preflight accepts, sealing can finish ---------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "pdf_2_0_with_a_dangling_reference",
        "incremental_update_frees_a_referenced_object",
        "dangling_references_at_the_next_free_numbers",
    ],
)
def test_references_to_missing_objects_are_normalized_to_null(name):
    from tachiai.sealing.dangling import dangling_references

    # Given an upload referring to objects that do not exist (null for every reader, fatal for
    # pyHanko's strict validation of a later seal)
    prepared = accepted(name)
    # Then it is rewritten, and the rewrite refers to nothing missing
    assert prepared.normalized
    with pikepdf.open(io.BytesIO(prepared.pdf)) as pdf:
        assert dangling_references(prepared.pdf, pdf) == []


def test_finds_a_dangling_reference_numbered_where_the_seal_would_put_its_objects():
    from tachiai.sealing.dangling import dangling_references

    data = odd_pdf("dangling_references_at_the_next_free_numbers").data
    with pikepdf.open(io.BytesIO(data)) as pdf:
        assert dangling_references(data, pdf) == ["6 0 R", "7 0 R"]


def test_a_string_that_looks_like_a_reference_is_not_one():
    from tachiai.sealing.dangling import dangling_references

    pdf = text_document(1)
    pdf.docinfo[pikepdf.Name.Subject] = "see (clause 99 0 R) of the agreement"
    data = save(pdf)
    with pikepdf.open(io.BytesIO(data)) as opened:
        assert dangling_references(data, opened) == []


def test_a_direct_annotation_becomes_an_object_of_its_own():
    prepared = accepted("direct_annotation_dictionary")
    assert prepared.normalized
    with pikepdf.open(io.BytesIO(prepared.pdf)) as pdf:
        (note,) = pdf.pages[0].obj.Annots
        assert note.is_indirect and note.Contents == "check"


def test_a_form_whose_fields_entry_is_not_an_array_is_normalized_to_an_empty_form():
    prepared = accepted("acroform_fields_not_an_array")
    assert prepared.normalized
    with pikepdf.open(io.BytesIO(prepared.pdf)) as pdf:
        assert list(pdf.Root.AcroForm.Fields) == []


def test_a_wrongly_typed_form_is_refused_as_damaged_instead_of_crashing_the_seal():
    e = refused("acroform_wrongly_typed_entries", DamagedPdf)
    assert "AttributeError" in e.detail


def test_an_empty_field_named_like_tachiais_seal_is_accepted_as_uploaded():
    prepared = accepted("empty_fields_named_like_tachiais_own")
    assert not prepared.normalized


def test_preflight_rehearses_the_real_signing_path(monkeypatch):
    from tachiai.sealing import preflight as module

    # Given the signing path fails on a file (as pyHanko did with AttributeError on odd forms)
    def fails(pdf: bytes) -> None:
        raise AttributeError("'DictionaryObject' object has no attribute 'append'")

    monkeypatch.setattr(module, "rehearse_seal", fails)
    # Then preflight does not accept it
    with pytest.raises(DamagedPdf):
        preflight(minimal_pdf())


# --- uploads already signed by another party: finalize's verdict, decided at upload ---------------


def test_refuses_a_signed_pdf_whose_form_was_filled_after_signing():
    e = refused("signed_then_form_filled", SignedPdfModified)
    assert "Approver" in e.detail and "party_a" in e.detail
    assert "original signed file" in e.message("en") and "元のファイル" in e.message("ja")


@pytest.mark.parametrize(
    "name",
    [
        "signed_then_annotation_added",
        "signed_then_page_content_changed",
        "signed_then_empty_signature_field_added",
        "certified_form_filling_p2_then_form_filled",
    ],
)
def test_refuses_a_signed_pdf_changed_after_signing(name):
    refused(name, SignedPdfModified)


def test_refuses_a_signed_pdf_whose_signature_is_broken():
    e = refused("signed_with_a_broken_digest", ExistingSignatureInvalid)
    assert "digest mismatch" in e.detail


def test_refuses_a_signed_pdf_whose_signature_cannot_be_verified_as_invalid(monkeypatch):
    from tachiai.sealing import preflight as module
    from tachiai.sealing.verify import VerificationError

    def unverifiable(data: bytes) -> None:
        raise VerificationError("Approver: ValueError: malformed CMS")

    monkeypatch.setattr(module, "verify_pdf", unverifiable)
    with pytest.raises(ExistingSignatureInvalid) as caught:
        preflight(odd_pdf("already_signed_approval").data)
    assert "malformed CMS" in caught.value.detail


def test_refuses_a_signed_pdf_carrying_another_services_document_timestamp():
    e = refused("signed_with_a_document_timestamp_of_another_service", SigningForbidden)
    assert "document timestamp" in e.message("en") and "文書タイムスタンプ" in e.message("ja")


@pytest.mark.parametrize(
    "name",
    [
        "already_signed_approval",
        "already_signed_twice",
        "certified_form_filling_p2",
        "signed_with_a_signature_timestamp_of_another_service",
    ],
)
def test_accepts_another_partys_intact_signature_whose_trust_is_unknown(name):
    prepared = accepted(name)
    assert not prepared.normalized


def test_an_unsigned_upload_skips_the_signature_verdict(monkeypatch):
    from tachiai.sealing import preflight as module

    def not_expected(data: bytes) -> None:
        raise AssertionError("verify_pdf must not run for an unsigned upload")

    monkeypatch.setattr(module, "verify_pdf", not_expected)
    assert preflight(minimal_pdf()).pages == 1


def _sign_with_throwaway_key(data: bytes, *, strict: bool = True) -> bytes:
    writer = IncrementalPdfFileWriter(io.BytesIO(data), strict=strict)
    identity = make_throwaway_identity("signer of a looped page tree (throwaway)")
    signer = signers.PdfSigner(signers.PdfSignatureMetadata(field_name="Approver"), signer=identity.signer)
    return bytes(signer.sign_pdf(writer).getvalue())
