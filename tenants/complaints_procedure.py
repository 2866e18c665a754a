"""The school's complaints procedure (klachtenregeling), as the school configures it: its own
text, and how to reach the vertrouwenspersoon and the klachtencommissie (issue 14 §2). Shown to
staff when the complaints route is explained, and printable as a letter for pupil and parents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.shared.text import clean_text

#: The longest part of the procedure (characters).
MAX_PROCEDURE_TEXT = 5000


@dataclass(frozen=True)
class ComplaintsProcedure:
    """The procedure's own text and two blocks of contact details (name, phone, e-mail, address:
    as the school writes them)."""

    text: str
    confidential_advisor: str
    committee: str

    def to_json(self) -> dict[str, Any]:
        return {
            "text": self.text,
            "confidential_advisor": self.confidential_advisor,
            "committee": self.committee,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ComplaintsProcedure:
        return cls(str(data["text"]), str(data["confidential_advisor"]), str(data["committee"]))


def validate_procedure(
    *, text: object, confidential_advisor: object, committee: object
) -> ComplaintsProcedure:
    """The procedure cleaned; :class:`~services.shared.errors.InvalidInput` names the field."""
    return ComplaintsProcedure(
        text=clean_text(text, "text", max_len=MAX_PROCEDURE_TEXT),
        confidential_advisor=clean_text(
            confidential_advisor, "confidential_advisor", max_len=MAX_PROCEDURE_TEXT
        ),
        committee=clean_text(committee, "committee", max_len=MAX_PROCEDURE_TEXT),
    )
