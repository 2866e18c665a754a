"""The platform registry of boards and schools, event-sourced in the ``platform`` schema.

DESIGN.md §5: one ``platform`` schema holds the tenant registry; each school's own data lives in
its own schema under its own data key. The registry is itself an eventsourcing application
(``name = "Platform"`` -> table ``platform.platform_events``), so who onboarded which school, and
when, is history like everything else. Its payloads are encrypted with a key derived from the
master key (the wrapped data keys are secrets even though they are wrapped).

Ids are deterministic (``uuid5`` of the slug), so "find by slug" is a repository get and a
duplicate slug is detected before anything is written (and, in a race, by the event table's
primary key). School slugs are unique across the platform, not only within a board: pass an
explicit slug (e.g. with the town) when two boards have a school of the same name.

Every event records the acting user id and role (:mod:`services.shared.actor`), so registry
commands must run inside ``acting_as(...)`` — typically ``SYSTEM`` or a platform operator.

An **offboarded** school (``School.Offboarded``, :mod:`tenants.offboarding`) stays in the log as a
fact, but its current state holds no data key and no login, and every lookup and listing treats
it as unknown unless asked with ``include_offboarded=True``. Its slug stays taken.
"""

from __future__ import annotations

import functools
import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import field
from typing import Any
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.domain import event as records
from eventsourcing.persistence import IntegrityError

from services.access.roles import Permission, has_permission
from services.casework.protocol import (
    DEFAULT_PROTOCOL,
    ProtocolChecklist,
    ProtocolStep,
    validate_protocol,
)
from services.shared.actor import (
    SYSTEM,
    Actor,
    acting_as,
    actor_id_now,
    actor_role_now,
    current_actor,
)
from services.shared.errors import (
    ConcurrencyConflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    SchoolNotFound,
)
from services.shared.text import clean_text
from tenants.complaints_procedure import ComplaintsProcedure, validate_procedure
from tenants.contacts import NotificationContacts, validate_contacts
from tenants.login import LoginConfig, LoginPolicy

#: Namespace of Vangnet's deterministic registry ids. Never change it: ids are stored everywhere.
NAMESPACE = UUID("5b0e6b0c-3f43-5d2a-9a55-7a6e67e7a001")

SLUG_MAX_LENGTH = 63
#: A slug: lowercase letters and digits joined by single hyphens, 2 to SLUG_MAX_LENGTH long.
SLUG_PATTERN = r"^[a-z0-9]+(?:-[a-z0-9]+)*$"
_SLUG_RE = re.compile(SLUG_PATTERN)
#: The longest name of a board or school.
NAME_MAX_LENGTH = 200


class BoardNotFound(NotFound):
    code = "board_not_found"


class DuplicateSlug(InvalidInput):
    """A board or school with this slug already exists."""

    code = "duplicate_slug"


#: Pupil data of a closed case is kept this long by default (two years after closing).
DEFAULT_RETENTION_DAYS = 730
#: An upper bound, so a typo cannot keep a child's data for a century.
MAX_RETENTION_DAYS = 3650


def slugify(name: str) -> str:
    """Derive a slug from a name: lowercase ASCII words joined by hyphens.

    Accents are folded (``"Basisschool Ó Één"`` -> ``"basisschool-o-een"``); anything else
    non-alphanumeric separates words. Raises :class:`InvalidInput` if nothing usable is left.
    """
    folded = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", folded.lower()).strip("-")
    slug = slug[:SLUG_MAX_LENGTH].rstrip("-")
    return validate_slug(slug)


def validate_slug(slug: str) -> str:
    """Check ``slug`` is 2-63 chars of ``a-z0-9`` words joined by single hyphens."""
    if not (2 <= len(slug) <= SLUG_MAX_LENGTH) or not _SLUG_RE.match(slug):
        msg = (
            "invalid slug: use 2-63 lowercase letters, digits and single hyphens "
            "(derive it from a name with letters or digits)"
        )
        raise InvalidInput(msg)
    return slug


def validate_name(name: str) -> str:
    """A board's or school's name as typed, cleaned by the one rule for text (at most
    :data:`NAME_MAX_LENGTH` characters)."""
    return clean_text(name, "name", max_len=NAME_MAX_LENGTH)


def board_id_for(slug: str) -> UUID:
    return uuid5(NAMESPACE, "board:" + slug)


def school_id_for(slug: str) -> UUID:
    return uuid5(NAMESPACE, "school:" + slug)


def schema_name_for(school_id: UUID) -> str:
    """The school's PostgreSQL schema: ``school_<32 hex>`` (39 chars, a safe identifier)."""
    return "school_" + school_id.hex


@functools.lru_cache(maxsize=4096)
def _parsed_login(encoded: str) -> LoginConfig:
    return LoginConfig.from_json(json.loads(encoded))


class TenancyAggregate(Aggregate):
    """Base of the registry aggregates: every event carries who did it, in which role."""

    class Event(Aggregate.Event):
        actor_id: str = field(default_factory=actor_id_now, init=False)
        actor_role: str = field(default_factory=actor_role_now, init=False)


class Board(TenancyAggregate):
    """A school board (bestuur); the unit for cross-school statistics."""

    @staticmethod
    def create_id(slug: str) -> UUID:
        return board_id_for(slug)

    def __init__(self, name: str, slug: str) -> None:
        self.name = name
        self.slug = slug


class School(TenancyAggregate):
    """A school: its schema and its wrapped data key. ``created_on`` comes from the aggregate.

    Its configuration (:mod:`services.casework.protocol`): the anti-bullying protocol checklist
    (:data:`~services.casework.protocol.DEFAULT_PROTOCOL` until configured) and the notification
    contacts.
    """

    class ProtocolConfigured(TenancyAggregate.Event):
        steps: list[dict[str, Any]]

    class ContactsConfigured(TenancyAggregate.Event):
        contact_person_emails: list[str]
        coordinator_emails: list[str]
        management_emails: list[str]
        board_emails: list[str]

    class LoginConfigured(TenancyAggregate.Event):
        login: dict[str, Any]

    class ComplaintsProcedureConfigured(TenancyAggregate.Event):
        """The school's complaints procedure: its text and the contact details of the
        vertrouwenspersoon and the klachtencommissie (:mod:`tenants.complaints_procedure`)."""

        text: str
        confidential_advisor: str
        committee: str

    class RetentionConfigured(TenancyAggregate.Event):
        """How many days after closing a case its pupils' identifying data is kept."""

        days: int

    class ScimTokenSet(TenancyAggregate.Event):
        """The school's SCIM provisioning client has a new bearer token (its SHA-256 only:
        the token itself is shown once and never stored)."""

        token_sha256: str

    class ScimTokenRevoked(TenancyAggregate.Event):
        """The school's SCIM token no longer works (provisioning off)."""

    class Offboarded(TenancyAggregate.Event):
        """The school left the platform: its data was exported, its schema dropped and its data
        key destroyed. The event records which export was handed over, never a key."""

        export_sha256: str
        events_exported: int

    @staticmethod
    def create_id(slug: str) -> UUID:
        return school_id_for(slug)

    def __init__(
        self, board_id: UUID, name: str, slug: str, schema_name: str, wrapped_data_key: str
    ) -> None:
        self.board_id = board_id
        self.name = name
        self.slug = slug
        self.schema_name = schema_name
        self.wrapped_data_key = wrapped_data_key
        self.protocol_steps: list[dict[str, Any]] | None = None
        self.notification_contacts = NotificationContacts()
        self.login_json: dict[str, Any] | None = None
        self.offboarded = False
        self.offboard_export_sha256: str | None = None
        self.retention_days = DEFAULT_RETENTION_DAYS
        self.complaints_procedure_json: dict[str, Any] | None = None

    @property
    def protocol(self) -> ProtocolChecklist:
        """The school's protocol checklist (the default when never configured)."""
        if self.protocol_steps is None:
            return DEFAULT_PROTOCOL
        # Validated when configured; read back as stored so a later, stricter rule never makes
        # a school unreadable.
        return ProtocolChecklist(tuple(ProtocolStep(**step) for step in self.protocol_steps))

    @property
    def protocol_is_default(self) -> bool:
        return self.protocol_steps is None

    def configure_protocol(self, steps: Iterable[ProtocolStep | Mapping[str, Any]]) -> None:
        self._configure_protocol(steps=validate_protocol(steps).to_json())

    @records(ProtocolConfigured)
    def _configure_protocol(self, steps: list[dict[str, Any]]) -> None:
        self.protocol_steps = steps

    def configure_contacts(
        self,
        *,
        contact_person_emails: Sequence[str] = (),
        coordinator_emails: Sequence[str] = (),
        management_emails: Sequence[str] = (),
        board_emails: Sequence[str] = (),
    ) -> None:
        contacts = validate_contacts(
            contact_person_emails=contact_person_emails,
            coordinator_emails=coordinator_emails,
            management_emails=management_emails,
            board_emails=board_emails,
        )
        self._configure_contacts(**contacts.to_json())

    @property
    def complaints_procedure(self) -> ComplaintsProcedure | None:
        """The school's complaints procedure (``None``: not configured yet). ``getattr``: a
        school restored from a snapshot older than the procedure has no attribute yet."""
        data = getattr(self, "complaints_procedure_json", None)
        return None if data is None else ComplaintsProcedure.from_json(data)

    def configure_complaints_procedure(
        self, *, text: object, confidential_advisor: object, committee: object
    ) -> None:
        procedure = validate_procedure(
            text=text, confidential_advisor=confidential_advisor, committee=committee
        )
        self._configure_complaints_procedure(**procedure.to_json())

    @records(ComplaintsProcedureConfigured)
    def _configure_complaints_procedure(
        self, text: str, confidential_advisor: str, committee: str
    ) -> None:
        self.complaints_procedure_json = {
            "text": text, "confidential_advisor": confidential_advisor, "committee": committee,
        }  # fmt: skip

    @property
    def login(self) -> LoginConfig | None:
        """The school's OpenID provider and claim mapping (``None``: nobody can log in yet)."""
        if self.login_json is None:
            return None
        # Parsing validates every rule; bearer-token requests ask for it on every call.
        return _parsed_login(json.dumps(self.login_json, sort_keys=True))

    def configure_login(self, config: LoginConfig) -> None:
        """Replace the school's login configuration (validated again: it may be hand-built)."""
        self._configure_login(login=LoginConfig.from_json(config.to_json()).to_json())

    @records(LoginConfigured)
    def _configure_login(self, login: dict[str, Any]) -> None:
        self.login_json = login

    def configure_retention(self, days: int) -> None:
        """Keep closed cases' pupil data ``days`` days after closing (then it is erased)."""
        if isinstance(days, bool) or not isinstance(days, int) or days < 1:
            raise InvalidInput("the retention period must be a whole number of days, at least 1")
        if days > MAX_RETENTION_DAYS:
            msg = f"the retention period may be at most {MAX_RETENTION_DAYS} days"
            raise InvalidInput(msg)
        self._configure_retention(days=days)

    @records(RetentionConfigured)
    def _configure_retention(self, days: int) -> None:
        self.retention_days = days

    _scim_token_sha256: str | None

    @property
    def scim_token_sha256(self) -> str | None:
        """The SHA-256 (hex) of the school's SCIM token; ``None``: SCIM is off."""
        return getattr(self, "_scim_token_sha256", None)

    def set_scim_token(self, token_sha256: str) -> None:
        if not re.fullmatch(r"[0-9a-f]{64}", token_sha256):
            raise InvalidInput("token_sha256 must be a SHA-256 in lowercase hex")
        self._set_scim_token(token_sha256=token_sha256)

    @records(ScimTokenSet)
    def _set_scim_token(self, token_sha256: str) -> None:
        self._scim_token_sha256 = token_sha256

    def revoke_scim_token(self) -> None:
        if self.scim_token_sha256 is not None:
            self._revoke_scim_token()

    @records(ScimTokenRevoked)
    def _revoke_scim_token(self) -> None:
        self._scim_token_sha256 = None

    def offboard(self, *, export_sha256: str, events_exported: int) -> None:
        """Forget the data key (the current state keeps no key) and the login: nobody can log
        in to, or open the schema of, an offboarded school."""
        if self.offboarded:
            msg = f"school {self.slug} was already offboarded"
            raise InvalidInput(msg)
        if not re.fullmatch(r"[0-9a-f]{64}", export_sha256):
            raise InvalidInput("export_sha256 must be a SHA-256 in lowercase hex")
        self._offboard(export_sha256=export_sha256, events_exported=events_exported)

    @records(Offboarded)
    def _offboard(self, export_sha256: str, events_exported: int) -> None:
        self.offboarded = True
        self.offboard_export_sha256 = export_sha256
        self.wrapped_data_key = ""
        self.login_json = None
        self._scim_token_sha256 = None

    @records(ContactsConfigured)
    def _configure_contacts(
        self,
        contact_person_emails: list[str],
        coordinator_emails: list[str],
        management_emails: list[str],
        board_emails: list[str],
    ) -> None:
        self.notification_contacts = NotificationContacts(
            contact_person_emails=tuple(contact_person_emails),
            coordinator_emails=tuple(coordinator_emails),
            management_emails=tuple(management_emails),
            board_emails=tuple(board_emails),
        )


@contextmanager
def _as_config_manager(actor: Actor | None) -> Iterator[Actor]:
    """Like :func:`tenants.operator.as_operator`: the given actor, else the current one, else
    SYSTEM;
    refused unless the role may manage tenants or (the coordinator) the school's protocol.

    The role is checked here; that a coordinator configures only their own school is decided at
    the edge, where the user's school is resolved (as for every school-bound command).
    """
    chosen = actor or current_actor.get() or SYSTEM
    if not (
        has_permission(chosen.role, Permission.TENANTS_MANAGE)
        or has_permission(chosen.role, Permission.PROTOCOL_MANAGE)
    ):
        msg = f"role '{chosen.role}' may not configure a school's protocol or contacts"
        raise PermissionDenied(msg)
    with acting_as(chosen) as acting:
        yield acting


class Registry(Application[UUID]):
    """Boards and schools. Construct with the env built by :mod:`infra.bootstrap.container`."""

    name = "Platform"

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        super().__init__(env=env)
        # Schools by login issuer, caught up from the notification log on each lookup (see
        # schools_for_issuer). Guarded by a lock: web requests call the registry from threads.
        self._login_lock = threading.Lock()
        self._login_last_id = 0
        self._login_aggregates: dict[UUID, Any] = {}
        self._login_index: dict[str, list[School]] | None = None

    # --- commands (run inside acting_as(...)) -------------------------------------------------

    def register_board(self, name: str, slug: str) -> Board:
        name = validate_name(name)
        validate_slug(slug)
        if board_id_for(slug) in self.repository:
            raise DuplicateSlug(f"a board with slug '{slug}' already exists")
        board = Board(name=name, slug=slug)
        self._save_new(board, "board", slug)
        return board

    def register_school(
        self, board_id: UUID, name: str, slug: str, wrapped_data_key: str
    ) -> School:
        name = validate_name(name)
        validate_slug(slug)
        self.board(board_id)  # raises BoardNotFound
        school_id = school_id_for(slug)
        if school_id in self.repository:
            raise DuplicateSlug(f"a school with slug '{slug}' already exists")
        school = School(
            board_id=board_id,
            name=name,
            slug=slug,
            schema_name=schema_name_for(school_id),
            wrapped_data_key=wrapped_data_key,
        )
        self._save_new(school, "school", slug)
        return school

    def configure_protocol(
        self,
        school_id: UUID,
        steps: Iterable[ProtocolStep | Mapping[str, Any]],
        *,
        actor: Actor | None = None,
    ) -> School:
        """Set the school's protocol checklist (``InvalidProtocol`` names what is wrong)."""
        with _as_config_manager(actor):
            school = self.school(school_id)
            school.configure_protocol(steps)
            self._save_config(school)
        return school

    def configure_contacts(
        self,
        school_id: UUID,
        *,
        contact_person_emails: Sequence[str] = (),
        coordinator_emails: Sequence[str] = (),
        management_emails: Sequence[str] = (),
        board_emails: Sequence[str] = (),
        actor: Actor | None = None,
    ) -> School:
        """Replace the school's notification contacts (all four lists at once)."""
        with _as_config_manager(actor):
            school = self.school(school_id)
            school.configure_contacts(
                contact_person_emails=contact_person_emails,
                coordinator_emails=coordinator_emails,
                management_emails=management_emails,
                board_emails=board_emails,
            )
            self._save_config(school)
        return school

    def configure_complaints_procedure(
        self,
        school_id: UUID,
        *,
        text: object,
        confidential_advisor: object,
        committee: object,
        actor: Actor | None = None,
    ) -> School:
        """Replace the school's complaints procedure (text, vertrouwenspersoon, commissie)."""
        with _as_config_manager(actor):
            school = self.school(school_id)
            school.configure_complaints_procedure(
                text=text, confidential_advisor=confidential_advisor, committee=committee
            )
            self._save_config(school)
        return school

    def configure_login(
        self,
        school_id: UUID,
        config: LoginConfig,
        *,
        policy: LoginPolicy,
        actor: Actor | None = None,
    ) -> School:
        """Set the school's OpenID provider and claim mapping (platform operator only).

        Coordinators may change their protocol, not who can log in: a wrong rule could let
        anyone with an address at the school's domain read cases. ``policy`` (the deployment's,
        ``Settings.login_policy``) decides where the issuer and the secret reference may point;
        it is checked here whatever the caller checked before.
        """
        chosen = actor or current_actor.get() or SYSTEM
        if not has_permission(chosen.role, Permission.TENANTS_MANAGE):
            msg = f"role '{chosen.role}' may not configure a school's login"
            raise PermissionDenied(msg)
        policy.check(config)
        with acting_as(chosen):
            school = self.school(school_id)
            school.configure_login(config)
            self._save_config(school)
        return school

    def configure_retention(
        self, school_id: UUID, days: int, *, actor: Actor | None = None
    ) -> School:
        """Set how long closed cases keep pupil data (platform operator only)."""
        chosen = actor or current_actor.get() or SYSTEM
        if not has_permission(chosen.role, Permission.TENANTS_MANAGE):
            msg = f"role '{chosen.role}' may not configure a school's retention period"
            raise PermissionDenied(msg)
        with acting_as(chosen):
            school = self.school(school_id)
            school.configure_retention(days)
            self._save_config(school)
        return school

    def set_scim_token(
        self, school_id: UUID, token_sha256: str | None, *, actor: Actor | None = None
    ) -> School:
        """Set (a SHA-256 hex) or revoke (``None``) the school's SCIM token (platform operator
        only: the token lets the school's directory provision its staff)."""
        chosen = actor or current_actor.get() or SYSTEM
        if not has_permission(chosen.role, Permission.TENANTS_MANAGE):
            msg = f"role '{chosen.role}' may not set a school's SCIM token"
            raise PermissionDenied(msg)
        with acting_as(chosen):
            school = self.school(school_id)
            if token_sha256 is None:
                school.revoke_scim_token()
            else:
                school.set_scim_token(token_sha256)
            self._save_config(school)
        return school

    def offboard_school(
        self,
        school_id: UUID,
        *,
        export_sha256: str,
        events_exported: int,
        actor: Actor | None = None,
    ) -> School:
        """Record that the school left the platform (platform operator only).

        Called by :func:`tenants.offboarding.offboard_school` after the export was verified and
        before the schema is dropped: from this event on, lookups treat the school as unknown.
        """
        chosen = actor or current_actor.get() or SYSTEM
        if not has_permission(chosen.role, Permission.TENANTS_MANAGE):
            msg = f"role '{chosen.role}' may not offboard a school"
            raise PermissionDenied(msg)
        with acting_as(chosen):
            school = self.school(school_id)
            school.offboard(export_sha256=export_sha256, events_exported=events_exported)
            self._save_config(school)
        return school

    def _save_config(self, school: School) -> None:
        try:
            self.save(school)
        except IntegrityError:
            msg = f"school {school.slug} was changed by someone else at the same time: retry"
            raise ConcurrencyConflict(msg) from None

    def _save_new(self, aggregate: TenancyAggregate, kind: str, slug: str) -> None:
        try:
            self.save(aggregate)
        except IntegrityError:
            # Someone registered the same slug between our check and our save.
            raise DuplicateSlug(f"a {kind} with slug '{slug}' already exists") from None

    # --- queries -------------------------------------------------------------------------------

    def board(self, board_id: UUID) -> Board:
        try:
            board: object = self.repository.get(board_id)
        except AggregateNotFoundError:
            raise BoardNotFound(f"board not found: {board_id}") from None
        if not isinstance(board, Board):
            raise BoardNotFound(f"board not found: {board_id}")
        return board

    def board_by_slug(self, slug: str) -> Board:
        try:
            return self.board(board_id_for(slug))
        except BoardNotFound:
            raise BoardNotFound(f"board not found: {slug}") from None

    def school(self, school_id: UUID, *, include_offboarded: bool = False) -> School:
        """The school; an offboarded one is "not found" (its schema and key are gone) unless
        ``include_offboarded``."""
        try:
            school: object = self.repository.get(school_id)
        except AggregateNotFoundError:
            raise SchoolNotFound(f"school not found: {school_id}") from None
        if not isinstance(school, School) or (school.offboarded and not include_offboarded):
            raise SchoolNotFound(f"school not found: {school_id}")
        return school

    def school_by_slug(self, slug: str, *, include_offboarded: bool = False) -> School:
        try:
            return self.school(school_id_for(slug), include_offboarded=include_offboarded)
        except SchoolNotFound:
            raise SchoolNotFound(f"school not found: {slug}") from None

    def list_boards(self) -> list[Board]:
        """All boards, ordered by slug."""
        boards = [a for a in self._replay_all() if isinstance(a, Board)]
        return sorted(boards, key=lambda b: b.slug)

    def list_schools(
        self, board_id: UUID | None = None, *, include_offboarded: bool = False
    ) -> list[School]:
        """All schools (of one board if given), ordered by slug; offboarded schools only with
        ``include_offboarded`` (nothing may open their schema)."""
        schools = [
            a
            for a in self._replay_all()
            if isinstance(a, School)
            and (board_id is None or a.board_id == board_id)
            and (include_offboarded or not a.offboarded)
        ]
        return sorted(schools, key=lambda s: s.slug)

    def schools_for_issuer(self, issuer: str) -> list[School]:
        """The schools whose login configuration names ``issuer``, ordered by slug.

        Called on every bearer-token request, so it keeps an index and only reads the events
        recorded since the last call (one small query when nothing changed). Reading the log,
        rather than invalidating on our own saves, also sees changes made by other processes
        (e.g. ``vangnet tenants set-login`` while the web app runs). The returned schools are
        shared: read them, never change them.
        """
        with self._login_lock:
            return list(self._login_catch_up().get(issuer, ()))

    def schools_with_login(self) -> list[School]:
        """Every school someone can log in to (login configured), ordered by slug.

        From the same incrementally kept index as :meth:`schools_for_issuer` (the login page
        asks on every view). Read the returned schools, never change them.
        """
        with self._login_lock:
            index = self._login_catch_up()
            schools = [school for schools in index.values() for school in schools]
        return sorted(schools, key=lambda s: s.slug)

    def _login_catch_up(self) -> dict[str, list[School]]:
        """Apply the events recorded since the last call; the schools by login issuer."""
        changed = False
        for notification_id, event in self._events_since(self._login_last_id + 1):
            previous = self._login_aggregates.get(event.originator_id)
            self._login_aggregates[event.originator_id] = event.mutate(previous)
            self._login_last_id = notification_id
            changed = True
        if changed or self._login_index is None:
            index: dict[str, list[School]] = {}
            for aggregate in self._login_aggregates.values():
                if (
                    isinstance(aggregate, School)
                    and aggregate.login_json is not None
                    and not aggregate.offboarded
                ):
                    index.setdefault(aggregate.login_json["issuer"], []).append(aggregate)
            for schools in index.values():
                schools.sort(key=lambda s: s.slug)
            self._login_index = index
        return self._login_index

    def _replay_all(self) -> list[Any]:
        """Rebuild every registry aggregate from the notification log, in recorded order.

        One sequential read of the whole log (thousands of small events) instead of one
        repository get per school; any later event types are applied too.
        """
        aggregates: dict[UUID, Any] = {}
        for event in self._all_events():
            aggregates[event.originator_id] = event.mutate(aggregates.get(event.originator_id))
        return [a for a in aggregates.values() if a is not None]

    def _all_events(self, page_size: int = 1000) -> Iterator[Any]:
        start = 1
        while True:
            notifications = self.recorder.select_notifications(start=start, limit=page_size)
            for notification in notifications:
                yield self.mapper.to_domain_event(notification)
            if len(notifications) < page_size:
                return
            start = notifications[-1].id + 1

    def _events_since(self, start: int, page_size: int = 1000) -> Iterator[tuple[int, Any]]:
        """(notification id, domain event) from notification ``start`` on, in recorded order."""
        while True:
            notifications = self.recorder.select_notifications(start=start, limit=page_size)
            for notification in notifications:
                yield notification.id, self.mapper.to_domain_event(notification)
            if len(notifications) < page_size:
                return
            start = notifications[-1].id + 1
