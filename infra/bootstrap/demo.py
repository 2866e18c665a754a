"""Demo data: a board with three schools and about thirty cases that use every event type.

Everything here is clearly fictitious ("Leerling Test-07", "Demo-mentor"): the demo must never
look like real children's data. Cases follow archetypes from the seed documents, from a report
that still waits for its intake to a complaint that went up to the bestuur.
"""

from __future__ import annotations

import dataclasses
import io
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from uuid import UUID, uuid5

from PIL import Image, ImageDraw

from services.access.roles import ROLE_LABELS_NL, Role
from services.attachments.service import AttachmentService
from services.casework import commands as c
from services.casework.domain import EVENT_TYPES
from services.casework.handlers import CaseService
from services.casework.seeding import HistorySeeder
from services.complaints import commands as k
from services.people.directory import PeopleStore
from services.people.domain import OPERATOR, ChangedBy, Person, Profile
from services.privacy.redaction import search_case
from services.reporting.service import PublicReport, PublicReports
from services.shared.actor import Actor
from services.shared.clock import SCHOOL_TZ, SeedClock

DEMO_BOARD = "Stichting Demo Onderwijs"
DEMO_SCHOOLS = ("Demo Basisschool De Regenboog", "Demo Kindcentrum Het Anker", "Demo College Zuid")
CASES_PER_SCHOOL = 10
#: Every demo school's complaints procedure (made up; the school configures its own).
DEMO_COMPLAINTS_PROCEDURE = {
    "text": (
        "Bent u het niet eens met hoe de school met het pesten omgaat? Praat er eerst over met "
        "het aanspreekpunt pesten of de directie. Komt u er samen niet uit, dan kunt u een "
        "klacht indienen bij het bestuur, of rechtstreeks bij de klachtencommissie. De "
        "vertrouwenspersoon helpt u daarbij (demo-tekst)."
    ),
    "confidential_advisor": "Demo-vertrouwenspersoon, 000-0000000, vertrouwenspersoon@demo.invalid",
    "committee": "Demo-klachtencommissie, Postbus 0000, 0000 AA Demostad, klachten@demo.invalid",
}


@dataclass(frozen=True)
class Staffing:
    """The demo users of one school, by role (``who.teacher``). Ids are opaque and fake."""

    slug: str

    def __getattr__(self, role: str) -> Actor:
        return demo_actor(self.slug, Role(role))


#: Namespace of the demo staff's person ids (stable, so a re-seeded demo names the same people).
DEMO_PEOPLE = UUID("de300000-0000-5000-8000-00000000d0c5")
#: Roles of the demo staff (one person each per school; the operator belongs to no school).
DEMO_STAFF_ROLES = tuple(r for r in Role if r is not Role.OPERATOR)


def demo_person_id(slug: str, role: Role) -> UUID:
    """The staff directory's id of the demo person of ``role`` at school ``slug``."""
    return uuid5(DEMO_PEOPLE, f"{slug}/{role.value}")


def demo_email(slug: str, role: Role) -> str:
    """The demo person's address: their userName, and the development provider's ``email``
    claim (``infra.entrypoints.web.auth.devidp.demo_users``), which links their first login to
    them."""
    return f"{role.value.replace('_', '-')}@{slug}.example"


def demo_actor(slug: str, role: Role) -> Actor:
    """The demo person of ``role`` at ``slug`` acting (aliased by their development login's
    subject, as a login would)."""
    return Actor(
        user_id=str(demo_person_id(slug, role)), role=role, aliases=(f"demo-{slug}-{role.value}",)
    )


def seed_staff(people: PeopleStore, school_id: UUID, slug: str) -> int:
    """Put the demo staff in the school's directory, as the school's directory would provision
    them (no login yet: their first login through the development provider is linked by
    e-mail). Returns how many were new."""
    by = ChangedBy("demo", "operator")
    new = 0
    for role in DEMO_STAFF_ROLES:
        person_id = demo_person_id(slug, role)
        if people.load(person_id) is not None:
            continue
        email = demo_email(slug, role)
        person = Person.register(
            school_id=school_id,
            profile=Profile(
                display_name=f"Demo {ROLE_LABELS_NL[role].lower()}", email=email, user_name=email
            ),
            roles=(role,),
            by=by,
            source=OPERATOR,
            person_id=person_id,
        )
        people.save(person)
        new += 1
    return new


@dataclass
class SeedReport:
    cases: int = 0
    events: Counter[str] = field(default_factory=Counter)


def _participant(case_id: UUID, n: int, role: str) -> c.AddParticipant:
    return c.AddParticipant(
        case_id=case_id,
        role=role,
        pupil_ref=f"LL-{n:04d}",
        display_name=f"Leerling Test-{n:02d}",
        group="groep 7",
    )


def demo_screenshot() -> bytes:
    """A made-up "screenshot of a group chat": coloured speech bubbles, no text, no person."""
    image = Image.new("RGB", (360, 240), (236, 229, 221))
    draw = ImageDraw.Draw(image)
    for n, (left, colour) in enumerate(((16, (255, 255, 255)), (120, (220, 248, 198))) * 3):
        top = 16 + n * 36
        draw.rounded_rectangle((left, top, left + 220, top + 28), radius=8, fill=colour)
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def seed_school(
    service: CaseService,
    slug: str,
    *,
    people: PeopleStore,
    today: date | None = None,
    attachments: AttachmentService | None = None,
    public: PublicReports | None = None,
) -> SeedReport:
    """Create the demo staff and cases of one school through the real command handlers (every
    person a case names is checked against the directory, as for everyone); with
    ``attachments``, a made-up screenshot is added to a case as evidence; with ``public``, the
    first case comes in through the public report form, with a message each way."""
    seed_staff(people, service.school_id, slug)
    # The school's day from the service's clock: the days of what happened are checked against it.
    today = today or service.clock.today()
    who = Staffing(slug)
    cp = who.contact_person
    report = SeedReport()
    archetypes: list[Callable[[CaseService, Staffing, UUID, date], None]] = [
        _waiting_for_intake,
        _mapped,
        _steps_under_way,
        _consent_withdrawn,
        _criminal_offence,
        _resolved_and_closed,
        _referred,
        _complaint_to_board,
        _reopened,
        _aftercare_overdue,
    ]
    for n in range(CASES_PER_SCHOOL):
        make = archetypes[n % len(archetypes)]
        if n == 0 and public is not None:
            case_id = _public_report(service, who, public)
        else:
            case_id = service.report(
                who.teacher if n % 3 == 0 else cp,
                c.ReportCase(
                    reporter_kind=["parent", "target_pupil", "staff", "peer", "anonymous"][n % 5],
                    summary=f"Fictieve melding {n + 1}: demo-tekst, geen echte leerling.",
                    owner_id=cp.user_id,
                ),
            )
        make(service, who, case_id, today - timedelta(days=3 * n))
        if attachments is not None and make is _steps_under_way:
            attachments.add(
                cp,
                case_id,
                file_name="groepsapp-demo.png",
                content=demo_screenshot(),
                caption="Schermafbeelding van de klassenapp (demo, geen echte leerling).",
            )
        report.cases += 1
    return report


def _public_report(s: CaseService, who: Staffing, public: PublicReports) -> UUID:
    """A pupil reports through the school's form, anonymously; the contact person answers; the
    pupil writes back (nobody has picked it up yet: its signal shows)."""
    filed = public.file(
        PublicReport(
            reporter="pupil_target",
            anonymous=True,
            what="Fictief (demo): in de klassenapp lachen ze me uit.",
            where="Online",
            since="Sinds een paar weken",
        )
    )
    s.handle(
        who.contact_person,
        c.ReplyToReporter(case_id=filed.case_id, text="Dank je wel dat je het meldt (demo)."),
    )
    public.post(filed.code, "Fictief (demo): mag ik morgen langskomen?")
    return filed.case_id


def _intake(s: CaseService, who: Staffing, case_id: UUID, day: date, n: int) -> None:
    cp = who.contact_person
    s.handle(cp, _participant(case_id, n, "target"))
    s.handle(cp, _participant(case_id, n + 40, "actor"))
    s.handle(cp, _participant(case_id, n + 80, "bystander" if n % 2 else "supporter"))
    s.handle(cp, c.HoldIntake(case_id=case_id, held_on=day, summary="Intakegesprek (demo)."))
    s.handle(
        cp,
        c.MapSituation(
            case_id=case_id,
            forms=["verbal", "online"] if n % 2 else ["relational"],
            locations=["schoolyard", "online"],
            since=day - timedelta(days=30),
            frequency="weekly",
            impact="moderate",
            description="Demo-beschrijving.",
        ),
    )


def _consent_and_step(s: CaseService, who: Staffing, case_id: UUID) -> UUID:
    cp = who.contact_person
    s.handle(
        cp,
        c.DiscussSolutions(
            case_id=case_id,
            desired="Dat het stopt.",
            possible="Gesprek, steungroep.",
            chosen_approach="Gesprek met pester en mentor inschakelen.",
        ),
    )
    s.handle(
        cp,
        c.GiveConsent(
            case_id=case_id,
            given_by="pupil_and_parents",
            covers=["talk_with_actor", "engage_colleague", "group_approach"],
        ),
    )
    step = c.PlanStep(case_id=case_id, kind="talk_with_actor", description="Gesprek met pester.")
    s.handle(cp, step)
    s.handle(
        cp,
        c.EngagePerson(
            case_id=case_id,
            step_id=step.step_id,
            user_id=who.teacher.user_id,
            staff_role="teacher",
            purpose="Gesprek voeren met de pester.",
        ),
    )
    return step.step_id


def _waiting_for_intake(s: CaseService, who: Staffing, case_id: UUID, _day: date) -> None:
    s.handle(who.contact_person, c.AddNote(case_id=case_id, text="Melding ontvangen (demo)."))


def _mapped(s: CaseService, who: Staffing, case_id: UUID, day: date) -> None:
    _intake(s, who, case_id, day, 2)
    # An offence was flagged; the police advice is still to be given (a signal for the APC).
    s.handle(
        who.contact_person,
        c.FlagCriminalOffence(case_id=case_id, description="Online bedreiging (demo)."),
    )
    # A serious incident the coordinator still has to report to the Inspectie (a signal).
    s.handle(who.contact_person, c.CategoriseIncident(case_id=case_id, categories=["threat"]))
    s.handle(who.coordinator, c.MarkSeriousIncident(case_id=case_id))


def _steps_under_way(s: CaseService, who: Staffing, case_id: UUID, day: date) -> None:
    _intake(s, who, case_id, day, 3)
    step = _consent_and_step(s, who, case_id)
    # The engaged mentor completes the step and leaves a note: engaged staff act on this case.
    s.handle(who.teacher, c.CompleteStep(case_id=case_id, step_id=step, outcome="Gesprek gevoerd."))
    group = c.PlanStep(case_id=case_id, kind="group_approach", description="Steungroep.")
    s.handle(who.contact_person, group)
    s.handle(
        who.contact_person,
        c.CancelStep(case_id=case_id, step_id=group.step_id, reason="Niet meer nodig."),
    )
    # The parents are phoned about it, the pupil at home with them (the contact log).
    s.handle(
        who.contact_person,
        c.RecordContact(
            case_id=case_id,
            with_whom="parents",
            channel="phone",
            held_on=day,
            discussed="Het gesprek met de pester en dat de steungroep niet meer nodig is (demo).",
            agreed="Over twee weken bellen we weer (demo).",
            pupil_present=True,
        ),
    )


def _consent_withdrawn(s: CaseService, who: Staffing, case_id: UUID, day: date) -> None:
    _intake(s, who, case_id, day, 4)
    consent = c.GiveConsent(case_id=case_id, given_by="pupil", covers=["inform_parents_of_actor"])
    s.handle(who.contact_person, consent)
    s.handle(
        who.contact_person,
        c.PlanStep(
            case_id=case_id, kind="inform_parents_of_actor", description="Ouders pester bellen."
        ),
    )
    # The pupil is not ready after all: the planned step now waits for consent again.
    s.handle(
        who.contact_person,
        c.WithdrawConsent(
            case_id=case_id,
            consent_id=consent.consent_id,
            reason="Leerling is er nog niet aan toe.",
        ),
    )


def _criminal_offence(s: CaseService, who: Staffing, case_id: UUID, day: date) -> None:
    _intake(s, who, case_id, day, 5)
    cp = who.contact_person
    s.handle(cp, c.FlagCriminalOffence(case_id=case_id, description="Bedreiging (demo)."))
    s.handle(cp, c.AdvisePoliceReport(case_id=case_id, advised_to="parents", note="Demo."))


def _aftercare(s: CaseService, who: Staffing, case_id: UUID, day: date, *, stopped: bool) -> None:
    cp = who.contact_person
    s.handle(
        cp,
        c.RecordAgreement(
            case_id=case_id,
            text="Pester laat de gepeste leerling met rust.",
            parties="leerlingen en mentor",
            review_on=day + timedelta(days=14),
        ),
    )
    follow_up = c.ScheduleFollowUp(case_id=case_id, due_on=day + timedelta(days=14))
    s.handle(cp, follow_up)
    s.handle(
        cp,
        c.CompleteFollowUp(
            case_id=case_id,
            follow_up_id=follow_up.follow_up_id,
            agreements_kept=stopped,
            bullying_stopped=stopped,
            pupil_feels_safe=stopped,
            notes="Nazorggesprek (demo).",
        ),
    )


def _evaluate_and_close(s: CaseService, who: Staffing, case_id: UUID) -> None:
    cp = who.contact_person
    s.handle(
        cp,
        c.EvaluateCase(
            case_id=case_id,
            went_well="Snelle intake.",
            to_improve="Eerder ouders betrekken.",
            lessons=["Ouders van beide kanten eerder betrekken."],
        ),
    )
    s.handle(cp, c.ShareLessons(case_id=case_id, coordinator_id=who.coordinator.user_id))
    s.handle(cp, c.CloseCase(case_id=case_id, reason="resolved"))


def _resolved_and_closed(s: CaseService, who: Staffing, case_id: UUID, day: date) -> None:
    _intake(s, who, case_id, day, 6)
    _consent_and_step(s, who, case_id)
    _aftercare(s, who, case_id, day, stopped=True)
    _evaluate_and_close(s, who, case_id)


def _referred(s: CaseService, who: Staffing, case_id: UUID, day: date) -> None:
    _intake(s, who, case_id, day, 7)
    # A note names the pupil (fictitious, as every demo name).
    (pupil, *_) = s.app.get_case(case_id, s.school_id).participants.values()
    s.handle(
        who.contact_person,
        c.AddNote(case_id=case_id, text=f"Nagesprek met {pupil.display_name} gehad."),
    )
    s.handle(
        who.contact_person,
        c.CloseCase(case_id=case_id, reason="referred", explanation="Doorverwezen naar zorgteam."),
    )
    # The parents asked for their child's data to be erased: first the passages that name the
    # pupil are redacted, then the pupil fields (both read "[gewist]").
    found = search_case(s.app, s.school_id, who.contact_person, case_id)
    if found.found:  # none when the application seals no free text
        s.handle(
            who.contact_person,
            c.RedactPassages(
                case_id=case_id,
                passages=[f.passage.passage_id for f in found.found],
                reason="Verzoek van ouders (AVG art. 17).",
            ),
        )
    s.handle(
        who.contact_person,
        c.RequestErasure(case_id=case_id, reason="Verzoek van ouders (AVG art. 17)."),
    )


def _complaint_to_board(s: CaseService, who: Staffing, case_id: UUID, day: date) -> None:
    _intake(s, who, case_id, day, 8)
    _aftercare(s, who, case_id, day, stopped=False)
    s.handle(
        who.contact_person,
        k.ExplainComplaintProcedure(case_id=case_id, explained_to="ouders"),
    )
    complaint = k.FileComplaint(
        case_id=case_id, complainant="ouders", summary="Onvoldoende ingegrepen (demo)."
    )
    s.handle(who.school_contact, complaint)
    s.handle(
        who.school_contact,
        k.AssignComplaintSupport(
            case_id=case_id,
            complaint_id=complaint.complaint_id,
            user_id=who.confidential_advisor.user_id,
            support_role="confidential_advisor",
        ),
    )
    s.handle(
        who.management,
        k.DecideComplaint(
            case_id=case_id,
            complaint_id=complaint.complaint_id,
            outcome="rejected",
            summary="Directie: school heeft voldoende gedaan (demo).",
        ),
    )
    s.handle(
        who.confidential_advisor,
        k.EscalateComplaint(
            case_id=case_id,
            complaint_id=complaint.complaint_id,
            to_level="board",
            reason="Ouders niet tevreden met besluit directie.",
        ),
    )
    s.handle(
        who.board,
        k.DecideComplaint(
            case_id=case_id,
            complaint_id=complaint.complaint_id,
            outcome="partly_upheld",
            summary="Bestuur: deels gegrond (demo).",
        ),
    )
    second = k.FileComplaint(case_id=case_id, complainant="ouders", summary="Tweede klacht (demo).")
    s.handle(who.school_contact, second)
    s.handle(
        who.school_contact,
        k.WithdrawComplaint(case_id=case_id, complaint_id=second.complaint_id, reason="Opgelost."),
    )


def _reopened(s: CaseService, who: Staffing, case_id: UUID, day: date) -> None:
    _intake(s, who, case_id, day, 9)
    _aftercare(s, who, case_id, day, stopped=True)
    _evaluate_and_close(s, who, case_id)
    s.handle(
        who.contact_person,
        c.ReopenCase(case_id=case_id, reason="Het pesten is opnieuw begonnen (demo)."),
    )
    s.handle(
        who.contact_person, c.AssignOwner(case_id=case_id, owner_id=who.contact_person.user_id)
    )


def _aftercare_overdue(s: CaseService, who: Staffing, case_id: UUID, day: date) -> None:
    _intake(s, who, case_id, day, 10)
    s.handle(
        who.contact_person,
        c.ScheduleFollowUp(case_id=case_id, due_on=day - timedelta(days=7)),
    )


def event_names() -> set[str]:
    """Every event type of a case, by name (the demo must cover them all)."""
    return {t.__name__ for t in EVENT_TYPES}


# --- two school years of history (issue 15 §4) -----------------------------------------------
#
# Cases whose events happened over the last two school years, so the board's statistics, the
# trends and the signals have something to show. Seeded through
# :class:`~services.casework.seeding.HistorySeeder` on a SeedClock (the demo's and the tests'
# path; production commands stamp the real time), with a fixed random seed per school so every
# demo shows the same history relative to its day.

#: New cases per month by school (a school year has peaks in autumn and spring; none in summer).
HISTORY_CASES_PER_MONTH: dict[str, float] = {
    "Demo Basisschool De Regenboog": 6.5,
    "Demo Kindcentrum Het Anker": 5.5,
    "Demo College Zuid": 9.0,
}
#: Relative number of reports per calendar month (school holidays in July/August).
SEASON = {1: 1.0, 2: 0.9, 3: 1.2, 4: 1.0, 5: 1.0, 6: 0.8, 7: 0.2, 8: 0.1, 9: 1.1, 10: 1.3,
          11: 1.3, 12: 0.8}  # fmt: skip

#: The archetypes of the history and their weights.
HISTORY_ARCHETYPES: tuple[tuple[str, int], ...] = (
    ("resolved", 46),
    ("referred", 9),
    ("withdrawn", 3),
    ("continuing", 10),
    ("complaint", 9),
    ("police", 6),
    ("serious", 5),
    ("reopened", 4),
    ("stalled", 5),
    ("quiet", 4),
)
#: Reports of the last weeks are more often still waiting (no intake yet, or gone quiet), so
#: the demo's signals show what a coordinator meets on an ordinary Monday.
RECENT_DAYS = 45
RECENT_WAITING = 0.35


def history_start(today: date) -> date:
    """The first day of the school year two school years before ``today``'s."""
    year = today.year if today.month >= 8 else today.year - 1
    return date(year - 2, 9, 1)


Step = tuple[float, Actor, c.CaseCommand]


def _at_school_hours(day: date, rng: random.Random) -> datetime:
    """A moment on ``day`` (moved to the next weekday) between 8:30 and 16:30, Dutch time."""
    while day.weekday() >= 5:
        day += timedelta(days=1)
    minutes = rng.randrange(8 * 60 + 30, 16 * 60 + 30)
    return datetime.combine(day, time(minutes // 60, minutes % 60), SCHOOL_TZ)


def _forms(rng: random.Random, progress: float) -> list[str]:
    """One or two forms; online bullying grows over the two years (a trend to show)."""
    weights = {
        "verbal": 30, "relational": 22, "physical": 14, "online": 10 + 20 * progress,
        "material": 6, "discriminatory": 5, "sexual": 3,
    }  # fmt: skip
    names = list(weights)
    picked = {rng.choices(names, [weights[n] for n in names])[0] for _ in range(rng.choice((1, 2)))}
    return sorted(picked)


def _categories(forms: list[str], rng: random.Random) -> list[str]:
    by_form = {
        "physical": rng.choice(("violence_without_injury", "violence_with_injury")),
        "discriminatory": "discrimination",
        "sexual": "sexual_misconduct",
        "online": rng.choice(("online_shaming", "severe_bullying", "threat")),
        "material": "vandalism_theft",
    }
    found = {by_form[f] for f in forms if f in by_form}
    return sorted(found or {"severe_bullying"})


def _history_case(  # noqa: PLR0915 - one script per archetype, read top to bottom
    kind: str,
    case_id: UUID,
    who: Staffing,
    n: int,
    rng: random.Random,
    progress: float,
    *,
    complaint_top: str | None = None,
) -> Iterator[Step]:
    """The steps of one history case: (days after the previous step, who, command);
    ``complaint_top``: the level a complaint ends at (chosen at random when None)."""
    cp = who.contact_person
    # Time to intake improves in the second year (the protocol's deadline is kept better).
    yield (
        rng.randint(1, 9) if progress < 0.5 else rng.randint(0, 4),
        cp,
        c.AddParticipant(
            case_id=case_id, role="target", pupil_ref=f"LL-H{n:04d}",
            display_name=f"Leerling Test-H{n:03d}", group="groep 6",
        ),
    )  # fmt: skip
    yield (
        0,
        cp,
        c.AddParticipant(
            case_id=case_id, role="actor", pupil_ref=f"LL-H{n + 5000:04d}",
            display_name=f"Leerling Test-H{n + 5000:03d}", group="groep 6",
        ),
    )  # fmt: skip
    if kind == "stalled":
        # No intake: overdue and inactive while recent; weeks later the report is withdrawn.
        yield (
            rng.randint(30, 50), cp,
            c.CloseCase(case_id=case_id, reason="withdrawn", explanation="Melder reageert niet."),
        )  # fmt: skip
        return
    yield 0, cp, _HistoryIntake(case_id)
    forms = _forms(rng, progress)
    yield (
        rng.randint(0, 3),
        cp,
        c.MapSituation(
            case_id=case_id, forms=forms, locations=[rng.choice(("schoolyard", "classroom",
            "online", "corridor", "way_to_school"))], frequency=rng.choice(("weekly", "daily",
            "sometimes")), impact=rng.choice(("low", "moderate", "high")),
        ),
    )  # fmt: skip
    if rng.random() < 0.35 or kind in {"serious", "police"}:
        yield 1, cp, c.CategoriseIncident(case_id=case_id, categories=_categories(forms, rng))
    if kind == "quiet":
        # After the intake nothing more happens: inactive for weeks, later referred.
        yield (
            rng.randint(60, 90), cp,
            c.CloseCase(case_id=case_id, reason="referred", explanation="Naar het zorgteam."),
        )  # fmt: skip
        return
    if kind == "withdrawn":
        yield (
            rng.randint(2, 10), cp,
            c.CloseCase(case_id=case_id, reason="withdrawn", explanation="Melding ingetrokken."),
        )  # fmt: skip
        return
    if kind == "referred":
        yield (
            rng.randint(3, 20), cp,
            c.CloseCase(case_id=case_id, reason="referred", explanation="Naar het zorgteam."),
        )  # fmt: skip
        return
    if kind == "serious":
        yield (
            0,
            who.coordinator,
            c.CategoriseIncident(
                case_id=case_id,
                categories=[rng.choice(("violence_with_injury", "weapon", "threat"))],
            ),
        )
        yield 0, who.coordinator, c.MarkSeriousIncident(case_id=case_id)
        yield (
            rng.randint(0, 2), who.coordinator,
            c.RecordInspectieReport(
                case_id=case_id, reported_on=_TODAY, channel="inspectie_portal",
                reference=f"DEMO-{n:05d}",
            ),
        )  # fmt: skip
    if kind in {"police", "serious"}:
        yield 0, cp, c.FlagCriminalOffence(case_id=case_id, description="Fictief strafbaar feit.")
        yield rng.randint(0, 3), cp, c.AdvisePoliceReport(case_id=case_id, advised_to="parents")
    consent = c.GiveConsent(
        case_id=case_id, given_by="pupil_and_parents", covers=["talk_with_actor", "group_approach"]
    )
    yield rng.randint(1, 5), cp, consent
    step = c.PlanStep(case_id=case_id, kind="talk_with_actor", description="Gesprek met pester.")
    yield 0, cp, step
    yield (
        rng.randint(1, 7),
        cp,
        c.CompleteStep(case_id=case_id, step_id=step.step_id, outcome="Gesprek gevoerd."),
    )
    yield (
        0,
        cp,
        c.RecordAgreement(
            case_id=case_id, text="Pester laat de gepeste leerling met rust.", parties="leerlingen"
        ),
    )
    follow_up = c.ScheduleFollowUp(case_id=case_id, due_on=_IN_14_DAYS)
    yield 0, cp, follow_up
    stopped = kind != "continuing"
    yield 14, cp, _done(case_id, follow_up.follow_up_id, stopped=stopped)
    if not stopped:
        again = c.ScheduleFollowUp(case_id=case_id, due_on=_IN_14_DAYS)
        yield rng.randint(1, 5), cp, again
        if rng.random() < 0.3:
            # Still going on: handed to the care team rather than closed as resolved.
            yield 14, cp, _done(case_id, again.follow_up_id, stopped=False)
            yield (
                rng.randint(1, 5),
                cp,
                c.CloseCase(
                    case_id=case_id, reason="referred", explanation="Pesten gaat door: zorgteam."
                ),
            )
            return
        yield 14, cp, _done(case_id, again.follow_up_id, stopped=True)
    if kind == "complaint":
        yield from _history_complaint(case_id, who, rng, top=complaint_top)
    yield rng.randint(1, 10), cp, c.EvaluateCase(
        case_id=case_id, went_well="Snel gehandeld.", to_improve="Ouders eerder betrekken.",
        lessons=["Ouders van beide kanten eerder betrekken."] if rng.random() < 0.3 else [],
    )  # fmt: skip
    yield 0, cp, c.CloseCase(case_id=case_id, reason="resolved", open_complaints_acknowledged=True)
    if kind == "reopened":
        yield rng.randint(10, 40), cp, c.ReopenCase(case_id=case_id, reason="Opnieuw gepest.")
        again = c.ScheduleFollowUp(case_id=case_id, due_on=_IN_14_DAYS)
        yield 1, cp, again
        yield 14, cp, _done(case_id, again.follow_up_id, stopped=True)
        yield 2, cp, c.EvaluateCase(case_id=case_id, went_well="Snel heropend.")
        yield 0, cp, c.CloseCase(case_id=case_id, reason="resolved")


#: The levels a complaint goes up, in order.
COMPLAINT_LEVELS = ("management", "board", "committee")


def _history_complaint(
    case_id: UUID, who: Staffing, rng: random.Random, *, top: str | None = None
) -> Iterator[Step]:
    """A complaint that ends at directie, bestuur or the klachtencommissie (``top``; at random
    when None)."""
    complaint = k.FileComplaint(
        case_id=case_id, complainant="ouders", summary="Fictieve klacht over de aanpak."
    )
    yield rng.randint(1, 10), who.school_contact, complaint
    cid = complaint.complaint_id
    decide = {"management": who.management, "board": who.board, "committee": who.board}
    if top is None:
        top = rng.choice(("management", "management", "board", "committee"))
    for level in COMPLAINT_LEVELS:
        outcome = "rejected" if level != top else rng.choice(("upheld", "partly_upheld", "settled"))
        yield (
            rng.randint(5, 25),
            decide[level],
            k.DecideComplaint(
                case_id=case_id, complaint_id=cid, outcome=outcome, summary="Fictief besluit."
            ),
        )
        if level == top:
            return
        nxt = "board" if level == "management" else "committee"
        yield (
            rng.randint(2, 10),
            who.confidential_advisor,
            k.EscalateComplaint(
                case_id=case_id, complaint_id=cid, to_level=nxt, reason="Klager niet tevreden."
            ),
        )


# Placeholders resolved against the clock when the step runs (the day is only known then).
_TODAY = date.min
_IN_14_DAYS = date.max


def _HistoryIntake(case_id: UUID) -> c.HoldIntake:  # noqa: N802 - reads as a command
    return c.HoldIntake(case_id=case_id, held_on=_TODAY, summary="Intakegesprek (demo).")


def _done(case_id: UUID, follow_up_id: UUID, *, stopped: bool) -> c.CompleteFollowUp:
    return c.CompleteFollowUp(
        case_id=case_id, follow_up_id=follow_up_id, agreements_kept=stopped,
        bullying_stopped=stopped, pupil_feels_safe=stopped, notes="Nazorg (demo).",
    )  # fmt: skip


def _on_day(command: c.CaseCommand, day: date) -> c.CaseCommand:
    """The command with its placeholder dates set from the clock's day."""
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(command):
        value = getattr(command, f.name)
        if value is _TODAY:
            changes[f.name] = day
        elif value is _IN_14_DAYS:
            changes[f.name] = day + timedelta(days=14)
    return dataclasses.replace(command, **changes) if changes else command


def seed_history(
    service: CaseService, slug: str, *, name: str, people: PeopleStore, today: date
) -> SeedReport:
    """Two school years of cases of one school, with their events at the times they happened
    (until the day before ``today``; a case whose next step would lie later stays open there,
    so recent cases wait for their intake, their aftercare or any activity at all)."""
    seed_staff(people, service.school_id, slug)
    rng = random.Random(f"vangnet-demo-history/{slug}")  # noqa: S311 - demo data, not a secret
    who = Staffing(slug)
    start = history_start(today)
    end = _at_school_hours(today, rng).replace(hour=0, minute=0)  # nothing from today on
    clock = SeedClock(_at_school_hours(start, rng))
    seeder = HistorySeeder(service, clock)
    report = SeedReport()
    kinds = [k for k, _ in HISTORY_ARCHETYPES]
    weights = [w for _, w in HISTORY_ARCHETYPES]
    span = (today - start).days
    n = 0
    complaints = 0
    month = start
    while month < today:
        expected = HISTORY_CASES_PER_MONTH.get(name, 4.0) * SEASON[month.month]
        count = int(expected) + (rng.random() < expected - int(expected))
        for _ in range(count):
            n += 1
            reported = _at_school_hours(month + timedelta(days=rng.randrange(28)), rng)
            if reported >= end:
                continue
            clock.set(reported)
            reporter = rng.choice((who.contact_person, who.teacher, who.coordinator))
            case_id = seeder.report(
                reporter,
                c.ReportCase(
                    reporter_kind=rng.choice(("parent", "target_pupil", "staff", "peer",
                                              "anonymous", "parent")),
                    summary=f"Fictieve melding H{n}: demo-geschiedenis, geen echte leerling.",
                    owner_id=who.contact_person.user_id,
                ),
            )  # fmt: skip
            report.events["CaseReported"] += 1
            progress = (reported.date() - start).days / span
            kind = rng.choices(kinds, weights)[0]
            if (end - reported).days <= RECENT_DAYS and rng.random() < RECENT_WAITING:
                kind = rng.choice(("stalled", "quiet"))
            # The first complaints end at each level in turn, so every school's history shows
            # all three (the rest end at random).
            top = None
            if kind == "complaint":
                top = COMPLAINT_LEVELS[complaints] if complaints < len(COMPLAINT_LEVELS) else None
                complaints += 1
            steps = _history_case(kind, case_id, who, n, rng, progress, complaint_top=top)
            for days, actor, command in steps:
                moment = _at_school_hours(clock.moment.date() + timedelta(days=days), rng)
                if days == 0:
                    moment = clock.moment + timedelta(minutes=rng.randrange(5, 40))
                if moment >= end:
                    break  # the rest of this case has not happened yet
                clock.set(moment)
                seeder.handle(actor, _on_day(command, clock.today()))
                report.events[type(command).__name__] += 1
            report.cases += 1
        month = (month + timedelta(days=32)).replace(day=1)
    seeder.save()
    return report
