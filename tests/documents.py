"""Small, valid test documents (made here, never real ones): a one-page PDF whose page content
carries a marker as a content-stream comment, so a test can find the marker in what is stored,
served or exported (the metadata cleaning writes the PDF afresh but keeps its page content)."""

from __future__ import annotations


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
