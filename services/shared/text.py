"""Free text as Vangnet accepts it: one rule for every text a person types.

Every free-text field of a command (a note, a summary, a reason, an id typed by hand) passes
:func:`clean_text` in the domain, whatever sent it: the API, a form, the CLI or a job. The forms
call the same function to show a Dutch message beside the field (:class:`TextProblem` says
which), so the browser and the API can never disagree about what is allowed.

What is refused, and why:

- characters PostgreSQL cannot store or that no person types: NUL and the other C0 control
  characters except tab and newline, DEL, the C1 controls (U+0080-U+009F), and lone surrogates
  (they cannot be encoded as UTF-8). A NUL that reached the log once stopped a school's read
  side (issue #10); refusing it at the edge is the first of two defences, the read side's
  tolerance of what is already stored is the second;
- text longer than the field's limit, and empty text where text is required.

Line ends are normalised (``\\r\\n`` and a lone ``\\r`` become ``\\n``: browsers send CRLF from
a textarea) and surrounding whitespace is removed.
"""

from __future__ import annotations

import re
from enum import StrEnum

from services.shared.errors import InvalidInput

#: The longest free text a field takes (characters).
MAX_TEXT = 10_000

#: Characters refused in text: C0 controls except tab (\x09) and newline (\x0a), DEL, C1
#: controls, and UTF-16 surrogates (only reachable as lone surrogates, e.g. JSON "\ud800").
UNSAFE_CHARACTERS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# The same rule as JSON Schema patterns (ECMA 262 and Python alike), for the API's document.
# A carriage return is allowed there: it is a line end, normalised before the check. Lone
# surrogates cannot be written in a pattern; they are refused all the same.
_REFUSED_RAW = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
#: Text that may be empty.
TEXT_PATTERN = rf"^[^{_REFUSED_RAW}]*$"
#: Text that must say something (at least one character that is not white space).
REQUIRED_TEXT_PATTERN = rf"^[^{_REFUSED_RAW}]*[^\s{_REFUSED_RAW}][^{_REFUSED_RAW}]*$"


class TextProblem(StrEnum):
    """Why a text was refused (the forms show a Dutch sentence per problem)."""

    NOT_TEXT = "not_text"
    REQUIRED = "required"
    TOO_LONG = "too_long"
    UNSAFE_CHARACTERS = "unsafe_characters"


def text_problem(
    value: object, *, required: bool = True, max_len: int = MAX_TEXT
) -> tuple[str, TextProblem | None]:
    """The cleaned text and what is wrong with it (``None``: nothing)."""
    if not isinstance(value, str):
        return "", TextProblem.NOT_TEXT
    normalised = value.replace("\r\n", "\n").replace("\r", "\n")
    # Checked before stripping: str.strip() counts some controls (\x1c-\x1f, \x85) as white
    # space and would drop them silently at the ends instead of refusing them.
    if UNSAFE_CHARACTERS.search(normalised):
        return normalised.strip(), TextProblem.UNSAFE_CHARACTERS
    cleaned = normalised.strip()
    if required and not cleaned:
        return cleaned, TextProblem.REQUIRED
    if len(cleaned) > max_len:
        return cleaned, TextProblem.TOO_LONG
    return cleaned, None


def clean_text(value: object, field: str, *, required: bool = True, max_len: int = MAX_TEXT) -> str:
    """``value`` cleaned, or :class:`InvalidInput` naming ``field`` and what is wrong."""
    cleaned, problem = text_problem(value, required=required, max_len=max_len)
    if problem is None:
        return cleaned
    messages = {
        TextProblem.NOT_TEXT: f"{field} must be text",
        TextProblem.REQUIRED: f"{field} is required",
        TextProblem.TOO_LONG: f"{field} is longer than {max_len} characters",
        TextProblem.UNSAFE_CHARACTERS: (
            f"{field} contains a control character (such as NUL) or an invalid character: "
            "only printable text, tabs and line breaks are accepted"
        ),
    }
    raise InvalidInput(messages[problem], field=field, reason=problem.value)
