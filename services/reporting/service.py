"""A school's public report form and the reporter's follow-up (issue 14 §3).

Nobody logs in here. A report is filed as a new case (``ReportCase``'s data, ``Case.report``)
by :data:`PUBLIC_REPORTER`, a technical actor like ``system``: the staff permission table
(:mod:`services.access.roles`) is not asked, because the public form itself is the authority
for a report, and the follow-up code for everything after it. What the code opens is narrow on
purpose: the status in plain words and the messages with the school, never anything else of the
case (no participants, steps or notes; nothing of other pupils).

Messages are case events (``ReporterMessagePosted``: free text, like notes); the contact person
answers with the case command ``ReplyToReporter`` through the normal handler.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from uuid import UUID, uuid4

from services.casework.application import CaseworkApplication
from services.casework.commands import ReportCase
from services.casework.domain import Case
from services.casework.handlers import CASE_LOCKS, CaseLocks
from services.casework.vocabulary import CaseStatus, ReporterKind
from services.reporting.codes import ParsedCode, code_hash, code_matches, new_code, parse_code
from services.shared.actor import PUBLIC_REPORTER, acting_as
from services.shared.errors import CaseNotFound, InvalidInput
from services.shared.text import clean_text

#: Bounds of the form's free-text fields (the summary they make stays under the text limit).
FIELD_MAX = {"what": 3000, "where": 500, "since": 200, "who": 1000, "name": 200, "contact": 300}


class ReporterRole(StrEnum):
    """Who fills in the form (the form's first question)."""

    PUPIL_TARGET = "pupil_target"  # ik word zelf gepest
    PUPIL_WITNESS = "pupil_witness"  # ik zie dat iemand anders gepest wordt
    PARENT = "parent"  # ik ben ouder of verzorger


REPORTER_KINDS: dict[ReporterRole, ReporterKind] = {
    ReporterRole.PUPIL_TARGET: ReporterKind.TARGET_PUPIL,
    ReporterRole.PUPIL_WITNESS: ReporterKind.PEER,
    ReporterRole.PARENT: ReporterKind.PARENT,
}

REPORTER_LABELS_NL: dict[ReporterRole, str] = {
    ReporterRole.PUPIL_TARGET: "leerling (wordt zelf gepest)",
    ReporterRole.PUPIL_WITNESS: "leerling (ziet het bij een ander)",
    ReporterRole.PARENT: "ouder of verzorger",
}


class PublicStatus(StrEnum):
    RECEIVED = "ontvangen"
    IN_PROGRESS = "in behandeling"
    DONE = "afgerond"


@dataclass(frozen=True)
class PublicReport:
    """What the form sent (raw; checked by :func:`summary_of`)."""

    reporter: str
    anonymous: bool
    what: str
    where: str = ""
    since: str = ""
    who: str = ""
    name: str = ""
    contact: str = ""


@dataclass(frozen=True)
class Filed:
    case_id: UUID
    code: str  # shown once, stored nowhere


@dataclass(frozen=True)
class ReporterView:
    """All a follow-up code shows: the status and the messages (sender, text), oldest first."""

    status: PublicStatus
    messages: tuple[tuple[str, str], ...]
    open: bool


class CodeRefused(Exception):
    """The code does not open a case of this school. ``reason`` is for the log: ``malformed``,
    ``unknown`` (no such case) or ``mismatch`` (a case, another code); the visitor is told the
    same thing in every case."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def summary_of(report: PublicReport) -> tuple[ReporterKind, str]:
    """The case's reporter kind and summary from the form (every field cleaned, bounded and
    named when refused)."""
    try:
        role = ReporterRole(report.reporter)
    except ValueError:
        msg = f"reporter must be one of {', '.join(r.value for r in ReporterRole)}"
        raise InvalidInput(msg, field="reporter", reason="unknown_choice") from None
    fields = {
        name: clean_text(
            getattr(report, name), name, required=name == "what", max_len=FIELD_MAX[name]
        )
        for name in FIELD_MAX
    }
    who_reports = REPORTER_LABELS_NL[role]
    if report.anonymous or not fields["name"]:
        head = f"Melding via het meldformulier, anoniem, door een {who_reports}."
    else:
        head = f"Melding via het meldformulier door een {who_reports}: {fields['name']}."
    lines = [head, f"Wat: {fields['what']}"]
    for name, label in (("where", "Waar"), ("since", "Sinds wanneer"), ("who", "Wie")):
        if fields[name]:
            lines.append(f"{label}: {fields[name]}")
    if fields["contact"] and not report.anonymous:
        lines.append(f"Contact: {fields['contact']}")
    return REPORTER_KINDS[role], "\n".join(lines)


def public_status(case: Case) -> PublicStatus:
    if case.status == CaseStatus.CLOSED:
        return PublicStatus.DONE
    if case.status == CaseStatus.REPORTED and not case.owner_id:
        return PublicStatus.RECEIVED
    return PublicStatus.IN_PROGRESS


class PublicReports:
    """One school's public form and follow-up. ``key``: the code key
    (:func:`services.reporting.codes.code_key`); ``on_saved`` as for ``CaseService``."""

    def __init__(
        self,
        app: CaseworkApplication,
        school_id: UUID,
        key: bytes,
        on_saved: Callable[[UUID], None] | None = None,
        locks: CaseLocks = CASE_LOCKS,
    ) -> None:
        self.app = app
        self.school_id = school_id
        self._key = key
        self._on_saved = on_saved
        self._locks = locks

    def _saved(self) -> None:
        if self._on_saved is not None:
            self._on_saved(self.school_id)

    def file(self, report: PublicReport) -> Filed:
        """File the report as a new case with its follow-up code; nothing is stored when a
        field is refused."""
        kind, summary = summary_of(report)
        command = ReportCase(reporter_kind=kind.value, summary=summary)
        case_id, code = self._fresh_code()
        parsed = self.parse(code)
        assert parsed is not None  # a fresh code always parses
        with acting_as(PUBLIC_REPORTER):
            case = Case.report(
                school_id=self.school_id,
                reporter_kind=command.reporter_kind,
                summary=command.summary,
                owner_id=None,
                case_id=case_id,
            )
            case.issue_reporter_access(code_hash=code_hash(self._key, self.school_id, parsed))
        self.app.save_case(case)
        self._saved()
        return Filed(case.id, code)

    def _fresh_code(self) -> tuple[UUID, str]:
        """A code whose handle names no case yet (a second draw is already a one in 2⁴⁰ event)."""
        for _ in range(5):
            case_id, code = new_code(self._key, self.school_id)
            try:
                self.app.get_case(case_id, self.school_id)
            except CaseNotFound:
                return case_id, code
        msg = "no free follow-up code found"  # pragma: no cover - would take 5 collisions
        raise RuntimeError(msg)  # pragma: no cover

    def parse(self, code: str) -> ParsedCode | None:
        """The case and secret a typed code names in this school (``None``: not a code)."""
        return parse_code(code, self._key, self.school_id)

    def _open(self, code: str) -> Case:
        parsed = self.parse(code)
        if parsed is None:
            raise CodeRefused("malformed")
        try:
            case = self.app.get_case(parsed.case_id, self.school_id)
        except CaseNotFound:
            # Hash anyway, so an unknown case takes as long as a wrong secret.
            code_matches(self._key, self.school_id, parsed, None)
            raise CodeRefused("unknown") from None
        if not code_matches(self._key, self.school_id, parsed, case.reporter_code_hash):
            raise CodeRefused("mismatch")
        return case

    def view(self, code: str) -> ReporterView:
        """The status and messages the code opens (:class:`CodeRefused` otherwise)."""
        case = self._open(code)
        status = public_status(case)
        return ReporterView(status, tuple(case.reporter_messages), status is not PublicStatus.DONE)

    def post(self, code: str, text: str) -> ReporterView:
        """The reporter writes to the school (the code must open the case; the case must be
        open; the text is cleaned like all free text)."""
        case = self._open(code)
        with self._locks.turn(case.id):
            case = self.app.get_case(case.id, self.school_id)
            with acting_as(PUBLIC_REPORTER):
                case.post_reporter_message(message_id=uuid4(), sender="reporter", text=text)
            self.app.save_case(case)
        self._saved()
        return self.view(code)
