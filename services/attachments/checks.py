"""What an uploaded file must be before it is stored: the checks of issue 14 §1.

- not empty and at most the configured size (``VANGNET_ATTACHMENT_MAX_BYTES``);
- its type judged from its content (``filetype``: magic numbers, never the name or the browser's
  content type) and on the allow-list :data:`ALLOWED`;
- an image is decoded and encoded afresh (Pillow), so nothing but its pixels survives: no EXIF
  (location, camera, time), no comments, no trailing bytes after the image.

- a PDF or an office document is written afresh without its metadata (author, software, dates,
  earlier revisions; :mod:`services.attachments.documents`). They are opened by the reader's
  own program, never rendered by Vangnet.
"""

from __future__ import annotations

import io
import re
import unicodedata
import warnings
from dataclasses import dataclass

import filetype
from PIL import Image, ImageOps, UnidentifiedImageError

from services.attachments.documents import without_metadata
from services.shared.errors import InvalidInput

#: Media type -> the file name extension Vangnet gives it. Office formats: the XML-based ones
#: (no legacy .doc/.xls with their macros).
ALLOWED: dict[str, str] = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "xlsx",
    "application/vnd.oasis.opendocument.text": "odt",
    "application/vnd.oasis.opendocument.spreadsheet": "ods",
}

#: Images are re-encoded: JPEG stays JPEG, the others become PNG (lossless).
IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})

#: The most pixels an image may have (a 50-megapixel photo; a "decompression bomb" is refused).
MAX_PIXELS = 50_000_000

#: The default size limit (bytes): 20 MB.
DEFAULT_MAX_BYTES = 20 * 1024 * 1024

#: The longest file name kept (characters, extension included).
MAX_NAME = 120


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed the checks: what is stored."""

    media_type: str
    file_name: str
    content: bytes


def refuse(reason: str, message: str) -> InvalidInput:
    return InvalidInput(message, field="file", reason=reason)


def detect(content: bytes) -> str | None:
    """The media type the content shows (``None``: not recognised)."""
    kind = filetype.guess(content)
    return None if kind is None else str(kind.mime)


def safe_name(name: str, extension: str) -> str:
    """The uploaded name as a plain download name: no path, no control or quoting characters,
    bounded, and always the extension of the type found in the content."""
    base = name.replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFC", base)
    stem = base.rsplit(".", 1)[0] if "." in base else base
    stem = re.sub(r"[^\w\- ]+", "_", stem, flags=re.UNICODE).strip(" ._") or "bijlage"
    return f"{stem[: MAX_NAME - len(extension) - 1]}.{extension}"


def reencode_image(content: bytes, media_type: str) -> tuple[bytes, str]:
    """The image's pixels in a fresh file (JPEG stays JPEG, the rest becomes PNG), upright
    (EXIF orientation applied), without any metadata."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(content)) as opened:
                if opened.width * opened.height > MAX_PIXELS:
                    raise refuse("image_too_large", "the image has too many pixels")
                opened.load()
                image = ImageOps.exif_transpose(opened)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            Image.DecompressionBombWarning) as e:  # fmt: skip
        raise refuse("unreadable_image", "the image cannot be read") from e
    if media_type == "image/jpeg":
        mode, fmt, out_type = "RGB", "JPEG", "image/jpeg"
    else:
        mode = image.mode if image.mode in ("RGB", "RGBA", "L", "LA") else "RGBA"
        fmt, out_type = "PNG", "image/png"
    converted = image.convert(mode)
    # A new image from the pixels alone: Pillow would carry ``info`` (comments, ICC, EXIF).
    pixels = Image.frombytes(mode, converted.size, converted.tobytes())
    out = io.BytesIO()
    if fmt == "JPEG":
        pixels.save(out, format=fmt, quality=90, optimize=True)
    else:
        pixels.save(out, format=fmt, optimize=True)
    return out.getvalue(), out_type


def check_file(content: bytes, name: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> CheckedFile:
    """The file as it will be stored, or :class:`InvalidInput` (``field="file"``) naming why not:
    ``empty``, ``too_large``, ``type_not_allowed``, ``image_too_large``, ``unreadable_image``,
    ``unreadable_document``, ``encrypted_document``, ``package_too_large``."""
    if not content:
        raise refuse("empty", "the file is empty")
    if len(content) > max_bytes:
        raise refuse("too_large", f"the file is larger than {max_bytes} bytes")
    media_type = detect(content)
    if media_type not in ALLOWED:
        allowed = ", ".join(sorted(ALLOWED.values()))
        raise refuse("type_not_allowed", f"this kind of file is not accepted (allowed: {allowed})")
    if media_type in IMAGE_TYPES:
        content, media_type = reencode_image(content, media_type)
    else:
        content = without_metadata(content, media_type)
    return CheckedFile(media_type, safe_name(name, ALLOWED[media_type]), content)
