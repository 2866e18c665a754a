"""Documents lose their metadata before they are stored (issue 14 §1): a PDF's author, title,
XMP and earlier revisions, an office file's properties and the authors of tracked changes. The
documents are made here, with clearly fake names."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import tracemalloc
import zipfile
import zlib

import pikepdf
import pytest

from services.attachments import documents
from services.attachments.checks import check_file
from services.attachments.documents import MAX_ENTRIES, clean_package, clean_pdf
from services.shared.errors import InvalidInput
from tests.documents import lying_package, lzw_bomb, object_stream_pdf, pdf

AUTHOR = "Fictieve Auteur Zonder Bestaan"
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
ODT = "application/vnd.oasis.opendocument.text"


def _unpacked(content: bytes) -> bytes:
    with zipfile.ZipFile(io.BytesIO(content)) as package:
        return b"".join(package.read(name) for name in package.namelist())


def test_a_pdf_loses_its_information_xmp_and_opening_actions_but_keeps_its_page() -> None:
    with pikepdf.open(io.BytesIO(pdf("PAGINATEKST", info=AUTHOR))) as source:
        with source.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:creator"] = [AUTHOR]
        source.Root.OpenAction = pikepdf.Dictionary(
            S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)")
        )
        out = io.BytesIO()
        source.save(out, compress_streams=False)
    raw = out.getvalue()
    assert AUTHOR.encode() in raw

    checked = check_file(raw, "verslag.pdf")

    assert checked.media_type == "application/pdf"
    assert AUTHOR.encode() not in checked.content
    assert b"app.alert" not in checked.content
    assert b"PAGINATEKST" in checked.content
    with pikepdf.open(io.BytesIO(checked.content)) as cleaned:
        assert dict(cleaned.docinfo) == {}
        assert "/Metadata" not in cleaned.Root
        assert "/OpenAction" not in cleaned.Root
        assert len(cleaned.pages) == 1


def test_an_earlier_revision_of_a_pdf_is_not_kept() -> None:
    first = pdf("OUDE TEKST")
    newer = b"% NIEUWE TEKST\n"
    start = len(first)
    update = b"4 0 obj\n<< /Length %d >>\nstream\n" % len(newer) + newer + b"\nendstream\nendobj\n"
    xref = start + len(update)
    prev = int(first.rsplit(b"startxref\n", 1)[1].split(b"\n", 1)[0])
    update += b"xref\n4 1\n%010d 00000 n \n" % start
    update += b"trailer\n<< /Size 5 /Root 1 0 R /Prev %d >>\nstartxref\n%d\n%%%%EOF\n" % (
        prev,
        xref,
    )
    revised = first + update
    assert b"OUDE TEKST" in revised

    cleaned = clean_pdf(revised)

    assert b"NIEUWE TEKST" in cleaned
    assert b"OUDE TEKST" not in cleaned


def test_an_encrypted_or_broken_pdf_is_refused() -> None:
    out = io.BytesIO()
    with pikepdf.open(io.BytesIO(pdf("x"))) as source:
        source.save(out, encryption=pikepdf.Encryption(user="geheim", owner="geheimer"))
    with pytest.raises(InvalidInput) as refused:
        check_file(out.getvalue(), "slot.pdf")
    assert (refused.value.field, refused.value.reason) == ("file", "encrypted_document")
    with pytest.raises(InvalidInput) as broken:
        check_file(b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "kapot.pdf")
    assert broken.value.reason == "unreadable_document"


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        package.writestr(
            "docProps/core.xml",
            f"<cp:coreProperties><dc:creator>{AUTHOR}</dc:creator></cp:coreProperties>",
        )
        package.writestr(
            "docProps/app.xml", f"<Properties><Company>{AUTHOR}</Company></Properties>"
        )
        package.writestr(
            "word/document.xml",
            f'<w:document><w:ins w:id="1" w:author="{AUTHOR}" w:date="2026-01-01T10:00:00Z">'
            "<w:r><w:t>DOCUMENTTEKST</w:t></w:r></w:ins></w:document>",
        )
        package.writestr(
            "word/comments.xml",
            f'<w:comments><w:comment w:id="0" w:author="{AUTHOR}" w:initials="FA">'
            "<w:p>OPMERKING</w:p></w:comment></w:comments>",
        )
    return out.getvalue()


def test_a_word_document_loses_its_properties_and_the_authors_of_changes() -> None:
    raw = _docx()
    assert AUTHOR.encode() in _unpacked(raw)

    checked = check_file(raw, "verslag.docx")

    assert checked.media_type == DOCX
    unpacked = _unpacked(checked.content)
    assert AUTHOR.encode() not in unpacked
    assert b"2026-01-01T10:00:00Z" not in unpacked
    assert b"DOCUMENTTEKST" in unpacked
    assert b"OPMERKING" in unpacked  # what a comment says is content, kept


def test_an_opendocument_loses_its_meta_and_keeps_its_mimetype_first_and_stored() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("mimetype", ODT, compress_type=zipfile.ZIP_STORED)
        package.writestr(
            "meta.xml",
            f"<office:document-meta><meta:initial-creator>{AUTHOR}</meta:initial-creator>"
            "</office:document-meta>",
            compress_type=zipfile.ZIP_DEFLATED,
        )
        package.writestr("content.xml", "<office:document-content>TEKST</office:document-content>")

    checked = check_file(out.getvalue(), "verslag.odt")

    assert checked.media_type == ODT
    with zipfile.ZipFile(io.BytesIO(checked.content)) as cleaned:
        first = cleaned.infolist()[0]
        assert (first.filename, first.compress_type) == ("mimetype", zipfile.ZIP_STORED)
        assert cleaned.read("mimetype") == ODT.encode()
        assert AUTHOR.encode() not in cleaned.read("meta.xml")
        assert b"TEKST" in cleaned.read("content.xml")


def test_a_package_with_too_many_entries_or_no_package_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        for n in range(MAX_ENTRIES + 1):
            package.writestr(f"word/{n}.xml", "")
    with pytest.raises(InvalidInput) as refused:
        clean_package(out.getvalue())
    assert refused.value.reason == "package_too_large"
    with pytest.raises(InvalidInput) as broken:
        clean_package(b"PK\x03\x04" + b"\x00" * 40)
    assert broken.value.reason == "unreadable_document"


def test_a_package_entry_that_lies_about_its_size_is_refused_without_being_unpacked() -> None:
    raw = lying_package(unpacked_mb=200, declared=10)
    assert len(raw) < 1024 * 1024  # well within the upload limit
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInput) as refused:
            clean_package(raw)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.value.reason == "unreadable_document"
    assert peak < 20 * 1024 * 1024, peak


def test_a_pdf_whose_object_stream_unpacks_to_too_much_is_refused_within_the_limits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The child process that cleans a PDF gets a small memory limit here; the object stream
    # unpacks to about 290 MB (LZW: qpdf has no limit of its own for it) or 256 MB (Flate).
    monkeypatch.setattr(documents, "PDF_MEMORY", 128 * 1024 * 1024)
    normal = object_stream_pdf(lambda objects: (zlib.compress(objects), b"/FlateDecode"))
    with pikepdf.open(io.BytesIO(clean_pdf(normal))) as cleaned:
        assert len(cleaned.pages) == 1
        assert "/Info" not in cleaned.trailer
    lzw = object_stream_pdf(lambda objects: (lzw_bomb(objects + b" ", 40), b"/LZWDecode"))
    packer = zlib.compressobj(9)
    zeros = b"".join(packer.compress(bytes(1 << 20)) for _ in range(256))
    flate = object_stream_pdf(
        lambda objects: (packer.compress(objects + b" ") + zeros + packer.flush(), b"/FlateDecode")
    )
    for bomb in (lzw, flate):
        assert len(bomb) < 1024 * 1024
        with pytest.raises(InvalidInput) as refused:
            clean_pdf(bomb)
        assert refused.value.reason == "unreadable_document"


def test_a_package_with_an_encrypted_or_damaged_entry_is_refused() -> None:
    raw = _docx()
    encrypted = bytearray(raw)
    central = encrypted.rfind(b"PK\x01\x02")  # the last entry: word/comments.xml
    flags = struct.unpack_from("<H", encrypted, central + 8)[0]
    struct.pack_into("<H", encrypted, central + 8, flags | 0x1)  # "encrypted"
    damaged = bytearray(raw)
    local = damaged.rfind(b"PK\x03\x04")
    name_length, extra_length = struct.unpack_from("<HH", damaged, local + 26)
    data = local + 30 + name_length + extra_length
    damaged[data : data + 4] = b"\xff\xff\xff\xff"  # not a deflate stream
    assert check_file(raw, "verslag.docx").media_type == DOCX
    for package, reason in ((encrypted, "encrypted_document"), (damaged, "unreadable_document")):
        with pytest.raises(InvalidInput) as refused:
            check_file(bytes(package), "verslag.docx")
        assert refused.value.reason == reason


def test_a_package_with_a_lying_directory_is_refused() -> None:
    raw = _docx()
    end = raw.rfind(b"PK\x05\x06")
    # The end record says the central directory starts later than it does: an entry's offset
    # then points before the start of the file.
    shifted = bytearray(raw)
    start = struct.unpack_from("<I", shifted, end + 16)[0]
    struct.pack_into("<I", shifted, end + 16, start + 0x10000)
    # An entry's name flagged as UTF-8 that is not.
    misnamed = bytearray(raw)
    central = misnamed.rfind(b"PK\x01\x02")
    flags = struct.unpack_from("<H", misnamed, central + 8)[0]
    struct.pack_into("<H", misnamed, central + 8, flags | 0x800)
    misnamed[central + 46] = 0xFF
    for package in (shifted, misnamed):
        with pytest.raises(InvalidInput) as refused:
            clean_package(bytes(package))
        assert refused.value.reason == "unreadable_document"


def test_a_word_documents_list_of_people_loses_their_names_and_accounts() -> None:
    """Word (2013 and later) lists who commented or changed something in ``word/people.xml``:
    the name and the account (an e-mail address) in attributes of its own prefix (``w15:``),
    and the time of a comment in ``word/commentsExtensible.xml`` (``w16cex:dateUtc``)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("word/document.xml", "<w:document><w:t>TEKST</w:t></w:document>")
        package.writestr(
            "word/people.xml",
            f'<w15:people><w15:person w15:author="{AUTHOR}"><w15:presenceInfo '
            'w15:providerId="AD" w15:userId="S::fictief.persoon@school.invalid::0f0f"/>'
            "</w15:person></w15:people>",
        )
        package.writestr(
            "word/commentsExtensible.xml",
            '<w16cex:commentsExtensible><w16cex:commentExtensible w16cex:durableId="1A2B" '
            'w16cex:dateUtc="2026-01-01T10:00:00Z"/></w16cex:commentsExtensible>',
        )
    checked = check_file(out.getvalue(), "verslag.docx")
    unpacked = _unpacked(checked.content)
    assert AUTHOR.encode() not in unpacked
    assert b"fictief.persoon@school.invalid" not in unpacked
    assert b"2026-01-01T10:00:00Z" not in unpacked
    assert b'w16cex:durableId="1A2B"' in unpacked  # an id, not a person: kept


def test_a_spreadsheets_comment_authors_and_people_lose_their_names_and_accounts() -> None:
    """Excel names who wrote a note (``xl/comments1.xml``: ``<author>``), lists the people of
    threaded comments with their accounts (``xl/persons/person.xml``) and when they wrote
    (``xl/threadedComments/*.xml``: ``dT``). What a note says is content: kept."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        package.writestr("xl/workbook.xml", "<workbook/>")
        package.writestr(
            "xl/comments1.xml",
            f"<comments><authors><author>{AUTHOR}</author></authors><commentList>"
            '<comment ref="A1" authorId="0"><text><t>NOTITIE</t></text></comment>'
            "</commentList></comments>",
        )
        package.writestr(
            "xl/persons/person.xml",
            f'<personList><person displayName="{AUTHOR}" id="{{0F0F}}" '
            'userId="fictief.persoon@school.invalid" providerId="AD"/></personList>',
        )
        package.writestr(
            "xl/threadedComments/threadedComment1.xml",
            '<ThreadedComments><threadedComment ref="A1" dT="2026-01-01T10:00:00.00" '
            'personId="{0F0F}" id="{1A1A}"><text>DRAADJE</text></threadedComment>'
            "</ThreadedComments>",
        )
    checked = check_file(out.getvalue(), "lijst.xlsx")
    assert checked.media_type == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    unpacked = _unpacked(checked.content)
    assert AUTHOR.encode() not in unpacked
    assert b"fictief.persoon@school.invalid" not in unpacked
    assert b"2026-01-01T10:00:00" not in unpacked
    assert b"NOTITIE" in unpacked
    assert b"DRAADJE" in unpacked


def test_an_opendocuments_comments_and_changes_lose_their_author_and_time() -> None:
    """OpenDocument names who wrote a comment or made a tracked change, and when, in the
    content itself (``<dc:creator>``, ``<dc:date>`` in ``content.xml``)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("mimetype", ODT, compress_type=zipfile.ZIP_STORED)
        package.writestr(
            "content.xml",
            "<office:document-content><office:text><text:p>TEKST<office:annotation>"
            f"<dc:creator>{AUTHOR}</dc:creator><dc:date>2026-01-01T10:00:00</dc:date>"
            "<text:p>OPMERKING</text:p></office:annotation></text:p><text:tracked-changes>"
            f"<text:changed-region><text:insertion><office:change-info><dc:creator>{AUTHOR}"
            "</dc:creator><dc:date>2026-01-01T10:00:00</dc:date></office:change-info>"
            "</text:insertion></text:changed-region></text:tracked-changes></office:text>"
            "</office:document-content>",
        )
    checked = check_file(out.getvalue(), "verslag.odt")
    assert checked.media_type == ODT
    unpacked = _unpacked(checked.content)
    assert AUTHOR.encode() not in unpacked
    assert b"2026-01-01T10:00:00" not in unpacked
    assert b"TEKST" in unpacked
    assert b"OPMERKING" in unpacked


def test_a_pdf_is_cleaned_under_a_lower_memory_limit_set_by_the_system() -> None:
    """A container or ``ulimit`` may already cap the address space below the cleaning's own
    limit; the child must not try to raise it (that fails, and every PDF was refused)."""
    below = documents.PDF_MEMORY - 64 * 1024 * 1024
    script = (
        "import resource\n"
        f"resource.setrlimit(resource.RLIMIT_AS, ({below}, {below}))\n"
        "from services.attachments.documents import clean_pdf\n"
        "from tests.documents import pdf\n"
        "print(clean_pdf(pdf('ONDER')).startswith(b'%PDF-'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "True"
