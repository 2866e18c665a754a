"""Documents without their metadata: what a PDF or an office file says about who wrote it, on
which computer, when, and what it once said, is not kept (issue 14 §1, like an image's EXIF).

- **PDF** (``pikepdf``, on qpdf): the document information dictionary (author, creator,
  producer, title, dates) and the XMP metadata streams of the document and its pages are
  removed, and so are the actions that run on opening (``/OpenAction``, ``/AA``, document
  JavaScript). The file is written afresh, so earlier revisions kept by incremental saves (an
  older text, an older author) are gone too. An encrypted PDF is refused: it cannot be checked.
  qpdf bounds neither the memory nor the time a hostile PDF takes (an object stream of a few
  hundred kilobytes can unpack to gigabytes, with Flate or LZW), so the cleaning runs in a child
  process with a memory, CPU and wall-clock limit (:data:`PDF_MEMORY`, :data:`PDF_SECONDS`);
  a PDF that exceeds them is refused as unreadable.
- **Office** (``.docx``/``.xlsx``, Office Open XML; ``.odt``/``.ods``, OpenDocument): both are
  ZIP packages. The property parts (``docProps/core.xml``, ``app.xml``, ``custom.xml``;
  ``meta.xml``) are replaced by empty ones, and in a Word document the author, initials and
  time of tracked changes and comments are blanked, as are the names and accounts (e-mail
  addresses) in Word's list of the people who commented (``word/people.xml``); in a
  spreadsheet, the authors of notes and the people of threaded comments; in an OpenDocument,
  the author and time of comments and tracked changes. The rest of the
  package is copied as it is (entry order and compression kept; an OpenDocument's
  ``mimetype`` stays first and stored).
  A package with too many entries or too large when unpacked is refused (a "ZIP bomb"); an
  entry is unpacked in small chunks and never past the size it declares, so an entry that lies
  about its size is refused by its checksum without ever being unpacked whole.

Not removed: what the text itself says, and names in comments' text or in a spreadsheet's
cells. Those are content; the contact person reads and redacts content.
"""

from __future__ import annotations

import contextlib
import io
import re
import resource
import subprocess
import sys
import zipfile
import zlib

import pikepdf

from services.shared.errors import InvalidInput

PDF = "application/pdf"
OOXML = frozenset(
    {
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    }
)
ODF = frozenset(
    {"application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet"}
)

#: The PDF cleaning's child process may use this much memory (address space) ...
PDF_MEMORY = 768 * 1024 * 1024
#: ... and this many seconds (of CPU, and of wall-clock time twice over).
PDF_SECONDS = 30
#: The child's exit codes besides 0 (cleaned; the PDF on its standard output).
_ENCRYPTED, _UNREADABLE = 3, 4

#: A package may hold at most this many entries ...
MAX_ENTRIES = 5_000
#: ... and unpack to at most this many bytes.
MAX_UNPACKED = 200 * 1024 * 1024

_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_EMPTY_PARTS: dict[str, bytes] = {
    "docProps/core.xml": (
        _XML + '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/'
        'metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:dcterms="http://purl.org/dc/terms/" xmlns:dcmitype="http://purl.org/dc/dcmitype/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"/>'
    ).encode(),
    "docProps/app.xml": (
        _XML + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'extended-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
        'docPropsVTypes"/>'
    ).encode(),
    "docProps/custom.xml": (
        _XML + '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'custom-properties" xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/'
        'docPropsVTypes"/>'
    ).encode(),
    "meta.xml": (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<office:document-meta '
        b'xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"><office:meta/>'
        b"</office:document-meta>"
    ),
}
#: Who made a tracked change or a comment in a Word document, and when (attributes in
#: ``word/*.xml``: ``w:author``, and in later Word versions' own prefixes ``w15:author`` and
#: ``w15:userId``, an account such as an e-mail address, in ``word/people.xml``, and
#: ``w16cex:dateUtc`` in ``word/commentsExtensible.xml``).
_WORD_PERSON = re.compile(rb'(\bw[0-9a-z]*:(?:author|initials|date|dateUtc|userId))="[^"]*"')
#: Who wrote a note in a spreadsheet (``xl/comments*.xml``: ``<author>`` elements) ...
_SHEET_AUTHOR = re.compile(rb"(<(?:\w+:)?author>)[^<]*(</(?:\w+:)?author>)")
#: ... and the people of threaded comments, their accounts and times (``xl/persons/*.xml``,
#: ``xl/threadedComments/*.xml``).
_SHEET_PERSON = re.compile(rb'(\b(?:displayName|userId|dT))="[^"]*"')
#: Who wrote a comment or made a tracked change in an OpenDocument, and when (elements in
#: ``content.xml`` and ``styles.xml``).
_ODF_PERSON = re.compile(rb"(<dc:(?:creator|date)>)[^<]*(</dc:(?:creator|date)>)")


def refuse(reason: str, message: str) -> InvalidInput:
    return InvalidInput(message, field="file", reason=reason)


def without_metadata(content: bytes, media_type: str) -> bytes:
    """The document without its metadata (other types are returned as they are)."""
    if media_type == PDF:
        return clean_pdf(content)
    if media_type in OOXML or media_type in ODF:
        return clean_package(content)
    return content


def clean_pdf(content: bytes) -> bytes:
    """The PDF written afresh without its information dictionary, XMP metadata and opening
    actions (``unreadable_document``, ``encrypted_document`` when it cannot be), by a child
    process within :data:`PDF_MEMORY` and :data:`PDF_SECONDS`."""
    try:
        done = subprocess.run(  # noqa: S603 - this interpreter, this module, no shell
            [sys.executable, "-m", __name__, str(PDF_MEMORY), str(PDF_SECONDS)],
            input=content,
            capture_output=True,
            timeout=2 * PDF_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as e:
        raise refuse("unreadable_document", "the document cannot be read in time") from e
    if done.returncode == _ENCRYPTED:
        raise refuse("encrypted_document", "an encrypted PDF cannot be checked")
    if done.returncode != 0:
        raise refuse("unreadable_document", "the document cannot be read")
    return done.stdout


def _clean_pdf_here(content: bytes) -> bytes:
    """What :func:`clean_pdf`'s child process does (no limits of its own)."""
    with pikepdf.open(io.BytesIO(content)) as pdf:
        if "/Info" in pdf.trailer:
            del pdf.trailer["/Info"]
        root = pdf.Root
        for name in ("/Metadata", "/OpenAction", "/AA", "/PieceInfo"):
            if name in root:
                del root[name]
        names = root.get("/Names")
        if isinstance(names, pikepdf.Dictionary) and "/JavaScript" in names:
            del names["/JavaScript"]
        for page in pdf.pages:
            for name in ("/Metadata", "/AA", "/PieceInfo"):
                if name in page.obj:
                    del page.obj[name]
        out = io.BytesIO()
        pdf.save(out, fix_metadata_version=False, deterministic_id=True, compress_streams=False)
    return out.getvalue()


def _limit(kind: int, value: int) -> None:
    """Lower the process's (soft) limit ``kind`` to ``value``, never above a hard limit already
    set (raising it would fail, and every PDF would be refused); where the system has no such
    limit, the wall-clock timeout of :func:`clean_pdf` remains."""
    _, hard = resource.getrlimit(kind)
    soft = value if hard == resource.RLIM_INFINITY else min(value, hard)
    with contextlib.suppress(ValueError, OSError):  # a system without this limit
        resource.setrlimit(kind, (soft, hard))


def _pdf_child(memory: int, seconds: int) -> int:
    """The child process: the PDF on standard input, the cleaned PDF on standard output."""
    _limit(resource.RLIMIT_AS, memory)
    _limit(resource.RLIMIT_CPU, seconds)
    # Flate streams are refused early, before the memory limit (qpdf has no such limit for LZW).
    pikepdf.settings.set_qpdf_limits(flate_max_memory=memory // 4)
    content = sys.stdin.buffer.read()
    try:
        cleaned = _clean_pdf_here(content)
    except pikepdf.PasswordError:
        return _ENCRYPTED
    except (pikepdf.PdfError, ValueError, RecursionError, MemoryError):
        return _UNREADABLE
    sys.stdout.buffer.write(cleaned)
    return 0


#: An entry is unpacked this many bytes at a time.
_CHUNK = 64 * 1024


def _read(source: zipfile.ZipFile, entry: zipfile.ZipInfo) -> bytes:
    """The entry's bytes, unpacked a chunk at a time. ``ZipFile.read`` would inflate all of the
    entry's compressed bytes in one call, however small the size it declares: 1.5 MB of deflated
    zeros that claim to be 10 bytes take 1.5 GB of memory before the checksum refuses them. In
    chunks, reading stops at the declared size (already counted against ``MAX_UNPACKED``)."""
    parts: list[bytes] = []
    with source.open(entry) as stream:
        while chunk := stream.read(_CHUNK):
            parts.append(chunk)
    return b"".join(parts)


def _without_people(name: str, data: bytes) -> bytes:
    """A part of a package without who commented or changed something, and when."""
    if not name.endswith(".xml"):
        return data
    if name.startswith("word/"):
        return _WORD_PERSON.sub(rb'\1=""', data)
    if name.startswith("xl/comments"):
        return _SHEET_AUTHOR.sub(rb"\1\2", data)
    if name.startswith(("xl/persons/", "xl/threadedComments/")):
        return _SHEET_PERSON.sub(rb'\1=""', data)
    if name in ("content.xml", "styles.xml"):
        return _ODF_PERSON.sub(rb"\1\2", data)
    return data


def clean_package(content: bytes) -> bytes:
    """The office package with empty property parts and, in Word, no authors of changes."""
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as source:
            entries = source.infolist()
            if len(entries) > MAX_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED:
                raise refuse("package_too_large", "the document unpacks to too much")
            out = io.BytesIO()
            with zipfile.ZipFile(out, "w") as target:
                for entry in entries:
                    data = _EMPTY_PARTS.get(entry.filename)
                    if data is None:
                        data = _read(source, entry)
                        data = _without_people(entry.filename, data)
                    info = zipfile.ZipInfo(entry.filename, date_time=(1980, 1, 1, 0, 0, 0))
                    info.compress_type = entry.compress_type
                    info.external_attr = 0o644 << 16
                    target.writestr(info, data)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, OSError, EOFError) as e:
        raise refuse("unreadable_document", "the document cannot be read") from e
    except ValueError as e:  # an offset before the file's start; a name that is not UTF-8
        raise refuse("unreadable_document", "the document cannot be read") from e
    except zlib.error as e:  # a damaged deflate stream
        raise refuse("unreadable_document", "the document cannot be read") from e
    except RuntimeError as e:  # an entry encrypted with a password (zipfile's own error)
        raise refuse("encrypted_document", "an encrypted document cannot be checked") from e
    return out.getvalue()


if __name__ == "__main__":
    sys.exit(_pdf_child(int(sys.argv[1]), int(sys.argv[2])))
