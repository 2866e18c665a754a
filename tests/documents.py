"""Small, valid test documents (made here, never real ones): a one-page PDF whose page content
carries a marker as a content-stream comment, so a test can find the marker in what is stored,
served or exported (the metadata cleaning writes the PDF afresh but keeps its page content)."""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Callable

import pikepdf


def pdf(marker: str = "", *, info: str = "") -> bytes:
    """A one-page PDF; ``marker`` in its page content, ``info`` as its author and title."""
    content = b"% " + marker.encode() + b"\nBT /F1 12 Tf 72 720 Td (test) Tj ET\n"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
    ]
    if info:
        objects.append(b"<< /Author (%s) /Title (%s) >>" % (info.encode(), info.encode()))
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    trailer = b"<< /Size %d /Root 1 0 R" % (len(objects) + 1)
    if info:
        trailer += b" /Info %d 0 R" % len(objects)
    out += b"trailer\n" + trailer + b" >>\nstartxref\n%d\n%%%%EOF\n" % xref
    return bytes(out)


def lzw_bomb(prefix: bytes, cycles: int) -> bytes:
    """PDF LZW (``/LZWDecode``, early change) of ``prefix`` followed by runs of ``a`` that unpack
    to about 7.3 MB per cycle from 5 KB (each code one ``a`` longer than the one before)."""
    out = bytearray()
    acc = bits = 0

    def emit(code: int, next_code: int) -> None:
        nonlocal acc, bits
        width = max(9, min(12, (next_code + 1).bit_length()))
        acc, bits = (acc << width) | code, bits + width
        while bits >= 8:
            bits -= 8
            out.append((acc >> bits) & 0xFF)
        acc &= (1 << bits) - 1

    emit(256, 258)  # clear
    next_code = 257  # the first code after a clear adds no entry
    for byte in prefix:
        emit(byte, next_code)
        next_code += 1
        if next_code >= 4000:
            emit(256, next_code)
            next_code = 257
    for _ in range(cycles):
        emit(256, next_code)
        emit(ord("a"), 257)
        next_code = 258
        while next_code < 4094:
            emit(next_code, next_code)
            next_code += 1
    emit(256, next_code)
    emit(257, 257)  # end of data
    if bits:
        out.append((acc << (8 - bits)) & 0xFF)
    return bytes(out)


def lying_package(unpacked_mb: int, declared: int) -> bytes:
    """A Word-like package whose one entry inflates to ``unpacked_mb`` MB of zeros while the
    central directory says it holds ``declared`` bytes."""
    out = io.BytesIO()
    entry = zipfile.ZipInfo("word/document.xml")
    entry.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(out, "w") as package:
        package.writestr("[Content_Types].xml", "<Types/>")
        with package.open(entry, "w") as stream:
            for _ in range(unpacked_mb):
                stream.write(bytes(1 << 20))
    raw = bytearray(out.getvalue())
    central = raw.rfind(b"PK\x01\x02")
    struct.pack_into("<I", raw, central + 24, declared)  # the uncompressed size
    return bytes(raw)


def object_stream_pdf(unpack: Callable[[bytes], tuple[bytes, bytes]]) -> bytes:
    """A valid PDF whose objects sit in an object stream, that stream's bytes and filter
    replaced by ``unpack(objects)``: (new bytes, filter name)."""
    with pikepdf.open(io.BytesIO(pdf("OBJSTM", info="Fictieve Auteur"))) as source:
        out = io.BytesIO()
        source.save(out, object_stream_mode=pikepdf.ObjectStreamMode.generate)
    raw = out.getvalue()
    found = re.search(rb"<<[^>]*/Type /ObjStm[^>]*>>\s*stream\r?\n", raw)
    assert found is not None
    header, start = found.group(0), found.end()
    length = int(re.search(rb"/Length (\d+)", header).group(1))  # type: ignore[union-attr]
    data, name = unpack(zlib.decompress(raw[start : start + length]))
    header = header.replace(b"/Length %d" % length, b"/Length %d" % len(data))
    header = header.replace(b"/FlateDecode", name)
    return raw[: found.start()] + header + data + raw[start + length :]
