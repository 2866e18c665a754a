"""Whom a school's e-mails go to: the notification contacts, per role (the school's own
configuration, stored in the registry).

Addresses are trimmed, lowercased and de-duplicated; a bad one is refused by its position, never
echoed (an address is personal data).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from services.shared.errors import InvalidInput


class InvalidContacts(InvalidInput):
    """A notification-contacts configuration was refused; nothing was stored."""

    code = "invalid_contacts"


MAX_CONTACTS = 20
_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")


@dataclass(frozen=True)
class NotificationContacts:
    """Whom to notify about a school's cases and signals, per role (e-mail addresses)."""

    contact_person_emails: tuple[str, ...] = ()
    coordinator_emails: tuple[str, ...] = ()
    management_emails: tuple[str, ...] = ()
    board_emails: tuple[str, ...] = ()

    def to_json(self) -> dict[str, list[str]]:
        return {
            "contact_person_emails": list(self.contact_person_emails),
            "coordinator_emails": list(self.coordinator_emails),
            "management_emails": list(self.management_emails),
            "board_emails": list(self.board_emails),
        }


def validate_emails(addresses: Sequence[str], field: str) -> tuple[str, ...]:
    """Addresses trimmed, lowercased, de-duplicated (order kept); a bad one is refused by its
    position (the address itself is not echoed)."""
    if isinstance(addresses, str):
        addresses = [addresses]
    cleaned: list[str] = []
    for index, raw in enumerate(addresses, start=1):
        address = raw.strip().lower() if isinstance(raw, str) else ""
        if len(address) > 254 or not _EMAIL_RE.match(address):
            msg = f"{field}: address {index} is not a valid e-mail address"
            raise InvalidContacts(msg)
        if address not in cleaned:
            cleaned.append(address)
    if len(cleaned) > MAX_CONTACTS:
        msg = f"{field}: at most {MAX_CONTACTS} addresses"
        raise InvalidContacts(msg)
    return tuple(cleaned)


def validate_contacts(
    *,
    contact_person_emails: Sequence[str] = (),
    coordinator_emails: Sequence[str] = (),
    management_emails: Sequence[str] = (),
    board_emails: Sequence[str] = (),
) -> NotificationContacts:
    return NotificationContacts(
        contact_person_emails=validate_emails(contact_person_emails, "contact_person_emails"),
        coordinator_emails=validate_emails(coordinator_emails, "coordinator_emails"),
        management_emails=validate_emails(management_emails, "management_emails"),
        board_emails=validate_emails(board_emails, "board_emails"),
    )
