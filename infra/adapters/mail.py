"""E-mail: the ``Mailer`` protocol, SMTP and log-only mailers, and the Dutch texts.

Privacy rule: an e-mail never carries a pupil's name or any text typed into a case. The text
builders below accept only ids, kinds (enums), levels and dates, and check that at runtime too,
so there is no parameter through which free text could reach a message. What happened is said in
general terms; the reader follows the link ``<public url>/cases/<case id>`` and logs in.

Settings (:mod:`infra.config.settings`): ``VANGNET_SMTP_HOST`` (unset: :class:`LogMailer`),
``VANGNET_SMTP_PORT``, ``VANGNET_SMTP_TLS`` (``none`` | ``starttls`` | ``ssl``),
``VANGNET_SMTP_USER`` / ``VANGNET_SMTP_PASSWORD``, ``VANGNET_MAIL_FROM``, ``VANGNET_PUBLIC_URL``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Protocol
from uuid import UUID

from infra.config.settings import Settings
from projections.notifications.projection import ReminderKind
from services.casework.vocabulary import LABELS_NL, ComplaintLevel
from tenants.registry import validate_slug

log = logging.getLogger(__name__)

SMTP_TIMEOUT_SECONDS = 30

MONTHS_NL = (
    "januari", "februari", "maart", "april", "mei", "juni",
    "juli", "augustus", "september", "oktober", "november", "december",
)  # fmt: skip


class Mailer(Protocol):
    """Sends one e-mail to a list of addresses (raises on failure)."""

    def send(self, to: list[str], subject: str, body: str) -> None: ...


# --- mailers ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmtpMailer:
    """SMTP via :mod:`smtplib`; one connection per message (messages are rare)."""

    host: str
    port: int
    tls: str  # none | starttls | ssl
    mail_from: str
    user: str | None = None
    password: str | None = None

    def __repr__(self) -> str:  # never show the password
        return f"SmtpMailer(host={self.host!r}, port={self.port}, tls={self.tls!r})"

    def send(self, to: list[str], subject: str, body: str) -> None:
        if not to:
            msg = "an e-mail needs at least one recipient"
            raise ValueError(msg)
        message = EmailMessage()
        message["From"] = self.mail_from
        message["To"] = ", ".join(to)
        message["Subject"] = subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(
            domain=parseaddr(self.mail_from)[1].rpartition("@")[2] or None
        )
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(body)
        context = ssl.create_default_context()
        smtp: smtplib.SMTP
        if self.tls == "ssl":
            smtp = smtplib.SMTP_SSL(
                self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS, context=context
            )
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=SMTP_TIMEOUT_SECONDS)
        try:
            if self.tls == "starttls":
                smtp.starttls(context=context)
            if self.user:
                smtp.login(self.user, self.password or "")
            smtp.send_message(message, to_addrs=to)
        finally:
            # Once the message is accepted, a failing QUIT must not look like a failed send
            # (the caller would release its claim and send the e-mail again).
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


class LogMailer:
    """Embedded/demo mode (no ``VANGNET_SMTP_HOST``): logs that a mail would go out.

    It logs the subject (a fixed phrase with the school slug, built from kinds only) and the
    number of recipients; never the addresses or the body.
    """

    def send(self, to: list[str], subject: str, body: str) -> None:  # noqa: ARG002 - not logged
        log.info("mail not sent (no SMTP host): %r to %d recipient(s)", subject, len(to))


def mailer_from_settings(settings: Settings) -> Mailer:
    """An :class:`SmtpMailer` if ``VANGNET_SMTP_HOST`` is set, else a :class:`LogMailer`."""
    if not settings.smtp_host:
        return LogMailer()
    return SmtpMailer(
        host=settings.smtp_host,
        port=settings.smtp_port,
        tls=settings.smtp_tls,
        mail_from=settings.mail_from,
        user=settings.smtp_user,
        password=settings.smtp_password,
    )


# --- texts ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class MailText:
    subject: str
    body: str


@dataclass(frozen=True)
class MailContext:
    """Where the links point: the public base URL and the school's slug (both validated)."""

    public_url: str
    school_slug: str

    def __post_init__(self) -> None:
        if not self.public_url.startswith(("http://", "https://")) or any(
            c.isspace() for c in self.public_url
        ):
            msg = "public_url must be an http(s) URL"
            raise ValueError(msg)
        validate_slug(self.school_slug)
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))

    def case_link(self, case_id: UUID) -> str:
        _require(case_id, UUID, "case_id")
        return f"{self.public_url}/cases/{case_id}"


def _require(value: object, kind: type, name: str) -> None:
    # bool is an int and datetime is a date: refuse those look-alikes too.
    if not isinstance(value, kind) or (kind is date and type(value) is not date):
        msg = f"{name} must be a {kind.__name__}, not {type(value).__name__}"
        raise TypeError(msg)


def dutch_date(day: date) -> str:
    """``date(2025, 3, 4)`` -> ``"4 maart 2025"`` (no locale needed)."""
    _require(day, date, "day")
    return f"{day.day} {MONTHS_NL[day.month - 1]} {day.year}"


FOOTER = (
    "Om de privacy van leerlingen te beschermen staat in deze e-mail geen inhoud van de zaak.\n"
    "Log in op Vangnet om de zaak te bekijken.\n"
    "\n"
    "Dit is een automatisch bericht van Vangnet; u kunt er niet op antwoorden."
)


def _compose(ctx: MailContext, case_id: UUID, subject: str, lines: list[str]) -> MailText:
    body = "\n".join(
        [
            "Beste collega,",
            "",
            *lines,
            "",
            f"School: {ctx.school_slug}",
            f"Zaak: {ctx.case_link(case_id)}",
            "",
            FOOTER,
            "",
        ]
    )
    return MailText(subject=f"[Vangnet {ctx.school_slug}] {subject}", body=body)


def new_report_text(ctx: MailContext, case_id: UUID) -> MailText:
    """To the contact persons: a new report (melding) was registered."""
    _require(case_id, UUID, "case_id")
    return _compose(
        ctx,
        case_id,
        "Nieuwe melding van pesten",
        [
            "Er is in Vangnet een nieuwe melding van pesten geregistreerd.",
            "Wilt u de melding bekijken en de intake plannen?",
        ],
    )


WITH_ARTICLE: dict[ComplaintLevel, str] = {
    ComplaintLevel.MANAGEMENT: "de directie",
    ComplaintLevel.BOARD: "het bestuur",
    ComplaintLevel.COMMITTEE: "de klachtencommissie",
}


def complaint_text(
    ctx: MailContext, case_id: UUID, level: ComplaintLevel, *, escalated: bool
) -> MailText:
    """To the level's addresses: a complaint was filed at, or escalated to, ``level``.

    A complaint for the klachtencommissie goes to the school's management, who forward it to the
    committee the school is affiliated with.
    """
    _require(case_id, UUID, "case_id")
    _require(level, ComplaintLevel, "level")
    _require(escalated, bool, "escalated")
    label = LABELS_NL[level]
    if escalated:
        subject = f"Klacht doorgezet naar {label}"
        first = (
            f"Een klacht over de aanpak van een pestzaak is doorgezet naar {WITH_ARTICLE[level]}."
        )
    else:
        subject = f"Nieuwe klacht bij {label}"
        first = (
            f"Er is een klacht over de aanpak van een pestzaak ingediend bij {WITH_ARTICLE[level]}."
        )
    lines = [first]
    if level is ComplaintLevel.COMMITTEE:
        lines.append(
            "Wilt u als directie de klacht doorsturen naar de klachtencommissie waarbij de school "
            "is aangesloten?"
        )
    else:
        lines.append("Wilt u de klacht in behandeling nemen?")
    return _compose(ctx, case_id, subject, lines)


def reminder_text(
    ctx: MailContext, case_id: UUID, kind: ReminderKind, due_on: date, *, today: date
) -> MailText:
    """To the person whose date it is: an aftercare moment or agreement review is coming up (the
    case owner), or a step's due date (its assignee)."""
    _require(case_id, UUID, "case_id")
    _require(kind, ReminderKind, "kind")
    _require(due_on, date, "due_on")
    _require(today, date, "today")
    days = (due_on - today).days
    when = {0: "vandaag", 1: "morgen"}.get(days, f"over {days} dagen")
    what = {
        ReminderKind.FOLLOW_UP: "een nazorgmoment",
        ReminderKind.AGREEMENT_REVIEW: "de evaluatie van gemaakte afspraken",
        ReminderKind.STEP: "de uiterste datum van een stap",
    }[kind]
    subject = {
        ReminderKind.FOLLOW_UP: "Herinnering: nazorg",
        ReminderKind.AGREEMENT_REVIEW: "Herinnering: afspraken evalueren",
        ReminderKind.STEP: "Herinnering: stap",
    }[kind]
    where = (
        "In een pestzaak waarin u een stap uitvoert"
        if kind is ReminderKind.STEP
        else "In een pestzaak waarvan u eigenaar bent"
    )
    return _compose(
        ctx,
        case_id,
        f"{subject} op {dutch_date(due_on)}",
        [
            f"{where}, staat {when} ({dutch_date(due_on)}) {what} gepland.",
            "Wilt u dit voorbereiden en de uitkomst daarna in Vangnet vastleggen?",
        ],
    )


def overdue_text(ctx: MailContext, case_id: UUID, due_on: date) -> MailText:
    """To the anti-bullying coordinator: an aftercare moment passed without a recorded result."""
    _require(case_id, UUID, "case_id")
    _require(due_on, date, "due_on")
    return _compose(
        ctx,
        case_id,
        "Nazorg te laat",
        [
            f"In een pestzaak was op {dutch_date(due_on)} een nazorgmoment gepland, maar de "
            "uitkomst is nog niet vastgelegd.",
            "Wilt u als anti-pestcoördinator nagaan of de nazorg heeft plaatsgevonden?",
        ],
    )
