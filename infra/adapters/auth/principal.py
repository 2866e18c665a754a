"""Who is making a request: resolved once at the edge, from the session or a bearer token.

A :class:`Principal` is the logged-in person as Vangnet sees them: their school (or none for
the platform operator), the roles their identity provider's claims map to at that school, and
the role they act in now. Handlers turn it into the domain's :class:`~services.shared.actor.Actor`.
Nothing here holds personal data beyond the display name shown in the page header.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any
from uuid import UUID

from services.access.roles import Permission, Role, has_permission
from services.shared.actor import Actor

#: When claims map to several roles, the one a person acts in first (most case work first).
ROLE_PRECEDENCE: tuple[Role, ...] = (
    Role.CONTACT_PERSON,
    Role.COORDINATOR,
    Role.CARE_COORDINATOR,
    Role.TEACHER,
    Role.SCHOOL_CONTACT,
    Role.CONFIDENTIAL_ADVISOR,
    Role.MANAGEMENT,
    Role.BOARD,
    Role.SAFETY_COORDINATOR,
    Role.AUDITOR,
    Role.DOMESTIC_VIOLENCE_OFFICER,
    Role.OPERATOR,
)


def first_role(roles: tuple[Role, ...]) -> Role:
    """The role a person with ``roles`` acts in unless they choose another."""
    return min(roles, key=ROLE_PRECEDENCE.index)


@dataclass(frozen=True)
class Principal:
    """A logged-in person (session) or API client (bearer token).

    ``school_id`` and ``board_id`` are ``None`` only for the platform operator. ``roles`` is never
    empty: a person whose claims map to no role is not let in at all.
    """

    user_id: str  # the person id in the school's staff directory (the operator: ``sub``)
    issuer: str
    display_name: str
    school_id: UUID | None
    school_slug: str | None
    board_id: UUID | None
    roles: tuple[Role, ...]
    role: Role
    #: The school's staff directory's person (``None`` until the login was resolved to one,
    #: and always for the operator, who belongs to no school).
    person_id: UUID | None = None
    #: The provider's ``sub`` (stable, not personal): what events before the directory hold.
    subject: str = ""

    def __post_init__(self) -> None:
        if not self.roles or self.role not in self.roles:
            msg = "a principal acts in one of its own roles"
            raise ValueError(msg)

    @property
    def actor(self) -> Actor:
        """The acting user of the commands this principal gives: the person id, with the login
        subject as an alias for what was recorded before the staff directory."""
        aliases = (self.subject,) if self.subject and self.subject != self.user_id else ()
        return Actor(user_id=self.user_id, role=self.role, aliases=aliases)

    @property
    def ids(self) -> tuple[str, ...]:
        """Every id this principal may be recorded under (see :attr:`actor`)."""
        return self.actor.ids

    def as_person(self, person_id: UUID, display_name: str | None = None) -> Principal:
        """The same login, resolved to the staff directory's person ``person_id``."""
        return replace(
            self,
            person_id=person_id,
            user_id=str(person_id),
            subject=self.subject or self.user_id,
            display_name=self.display_name if display_name is None else display_name,
        )

    def may(self, permission: Permission) -> bool:
        """Whether the active role has ``permission`` school-wide (case engagement aside)."""
        return has_permission(self.role, permission)

    def acting_as(self, role: Role) -> Principal:
        """The same person acting in another of their roles (``ValueError`` if not theirs)."""
        return replace(self, role=role)

    def to_session(self) -> dict[str, Any]:
        return {
            "user_id": self.user_id,
            "issuer": self.issuer,
            "display_name": self.display_name,
            "school_id": str(self.school_id) if self.school_id else None,
            "school_slug": self.school_slug,
            "board_id": str(self.board_id) if self.board_id else None,
            "roles": [str(r) for r in self.roles],
            "role": str(self.role),
            "person_id": str(self.person_id) if self.person_id else None,
            "subject": self.subject,
        }

    @classmethod
    def from_session(cls, data: dict[str, Any]) -> Principal:
        return cls(
            user_id=str(data["user_id"]),
            issuer=str(data["issuer"]),
            display_name=str(data.get("display_name") or ""),
            school_id=UUID(data["school_id"]) if data.get("school_id") else None,
            school_slug=data.get("school_slug"),
            board_id=UUID(data["board_id"]) if data.get("board_id") else None,
            roles=tuple(Role(r) for r in data["roles"]),
            role=Role(data["role"]),
            person_id=UUID(data["person_id"]) if data.get("person_id") else None,
            subject=str(data.get("subject") or ""),
        )
